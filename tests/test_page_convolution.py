"""AppTest for the Convolution page: change its controls, check the numbers it shows.

The expected numbers are worked by hand from the tutorial's 5x5 example and filter A
(each output pixel is the sum of the top and bottom rows of its window).
"""

from apptest_support import open_page

PAGE = "pages/convolution.py"


def texts(at) -> str:
    return " | ".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                      + [i.value for i in at.info] + [e.value for e in at.error])


def step_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Step "))


def test_opens_on_the_worked_example_with_the_dot_product():
    at = open_page(PAGE)
    assert at.title[0].value == "Convolution"
    assert at.selectbox(key="conv_sample").value == "tutorial's 5x5 example"
    assert at.selectbox(key="conv_preset").value == "tutorial A (rows of ones)"
    assert "= 17" in at.latex[0].value
    assert "= 3" in at.latex[1].value and r"\frac{5 + 2 \cdot 0 - 3}{1}" in at.latex[1].value
    assert "as big as the input" not in texts(at)
    assert "(0, 0) = sum of window x filter = **12**" in step_line(at)
    assert "Output map: 3x3, values from 12 to 29" in texts(at)


def test_next_back_and_the_step_slider_move_the_window():
    at = open_page(PAGE)
    at.button(key="conv_next").click().run()
    assert "(0, 1) = sum of window x filter = **13**" in step_line(at)
    at.slider(key="conv_step").set_value(5).run()
    assert "(1, 1) = sum of window x filter = **29**" in step_line(at)
    at.button(key="conv_back").click().run()
    assert "Step 4: output pixel (1, 0)" in step_line(at) and "**24**" in step_line(at)
    at.slider(key="conv_step").set_value(9).run()
    at.button(key="conv_next").click().run()  # already at the end: stays there
    assert "Step 9: output pixel (2, 2)" in step_line(at)


def test_padding_keeps_the_size_and_bias_relu_zeroes_the_dim_pixels():
    at = open_page(PAGE)
    at.slider(key="conv_padding").set_value(1).run()
    assert r"\frac{5 + 2 \cdot 1 - 3}{1}" in at.latex[1].value and "= 5" in at.latex[1].value
    assert "Output map: 5x5, values from 4 to 29" in texts(at)
    assert "as big as the input" in texts(at)
    at.slider(key="conv_step").set_value(13).run()
    assert "(2, 2) = sum of window x filter = **29**" in step_line(at)
    at.slider(key="conv_step").set_value(1).run()
    assert "(0, 0) = sum of window x filter = **7**" in step_line(at)  # rows 0 + 1 of the padded image
    at.button(key="conv_tutorial_bias").click().run()
    assert at.selectbox(key="conv_act").value == "ReLU"
    assert at.slider(key="conv_bias_30").value == -10
    # Padded output rows: [7 13 14 10 4], [6 12 13 14 8], [12 24 29 24 12], [10 13 12 13 10],
    # [5 11 15 14 8]; nine of them are at most 10.
    assert "After ReLU: values from 0 to 19; 9 of 25 pixels are exactly 0." in texts(at)


def test_bias_and_activation_controls():
    at = open_page(PAGE)
    at.slider(key="conv_bias_30").set_value(-20).run()
    at.selectbox(key="conv_act").set_value("ReLU").run()
    # 12..29 minus 20: only 24, 29, 24 stay positive.
    assert "After ReLU: values from 0 to 9; 6 of 9 pixels are exactly 0." in texts(at)
    at.selectbox(key="conv_act").set_value("tanh").run()
    assert "After tanh: values from -1 to 1;" in texts(at)  # tanh(-8), tanh(9) to 4 digits
    at.selectbox(key="conv_act").set_value("sigmoid").run()
    assert "After sigmoid: values from 0.0003354 to 0.9999" in texts(at)  # 1 / (1 + e^8), 1 / (1 + e^-9)


def test_stride_that_does_not_divide_evenly_is_explained():
    at = open_page(PAGE)
    at.slider(key="conv_stride").set_value(3).run()
    assert r"\frac{5 + 2 \cdot 0 - 3}{3}" in at.latex[1].value and "= 1" in at.latex[1].value
    info = " ".join(i.value for i in at.info)
    assert "2 (how far the window can travel) is not a multiple of the stride 3" in info
    assert "last 2 row(s)" in info
    assert "Output map: 1x1, values from 12 to 12" in texts(at)


def test_filter_size_dilation_and_a_filter_that_does_not_fit():
    at = open_page(PAGE)
    at.select_slider(key="conv_fsize").set_value(5).run()
    # Filter A centred in a 5x5 filter sees the middle 3x3 of the image: 29.
    assert "Output map: 1x1, values from 29 to 29" in texts(at)
    at.select_slider(key="conv_fsize").set_value(3).run()
    at.slider(key="conv_dilation").set_value(2).run()
    # Dilated by 2, filter A reads rows 0 and 4, columns 0, 2, 4: 0+6+3 + 4+3+3.
    assert r"f_{\text{eff}}" in at.latex[1].value and "= 1" in at.latex[1].value
    assert "Output map: 1x1, values from 19 to 19" in texts(at)
    at.slider(key="conv_dilation").set_value(3).run()
    assert any("does not fit" in e.value for e in at.error)
    assert not at.exception


def test_presets_and_the_cross_correlation_comparison():
    at = open_page(PAGE)
    assert "Same result" in texts(at)  # filter A looks the same turned around
    at.selectbox(key="conv_preset").set_value("horizontal edges (Sobel)").run()
    assert "Different results" in texts(at)
    # Window rows 0 and 2 of the image: (0 + 6 + 6) - (1 + 4 + 0).
    assert "(0, 0) = sum of window x filter = **7**" in step_line(at)
    at.selectbox(key="conv_preset").set_value("identity").run()
    assert "Output map: 3x3, values from 0 to 6" in texts(at)
    assert "Same result" in texts(at)
    at.select_slider(key="conv_fsize").set_value(2).run()
    assert any("odd filter size" in i.value for i in at.info)


def test_a_generated_sample_and_the_animation():
    at = open_page(PAGE)
    at.selectbox(key="conv_sample").set_value("checkerboard").run()
    at.slider(key="conv_size").set_value(8).run()
    # The 64-pixel checkerboard of 4-pixel squares averages to 0.5 in 8-pixel cells.
    at.selectbox(key="conv_preset").set_value("box blur").run()
    assert "Output map: 6x6, values from 0.5 to 0.5" in texts(at)
    at.toggle(key="conv_play").set_value(True).run()
    assert not at.exception
    assert at.get("plotly_chart")
