"""AppTests for the Pooling & up-sampling page: step through, change settings, read what it shows."""

import base64
import json

import numpy as np

from apptest_support import chart_maps, open_page, page_text

PAGE = "pages/pooling.py"


def test_worked_6x6_max_and_average_pool_stepping():
    at = open_page(PAGE)
    assert at.selectbox(key="pooling_sample").value == "worked example 6x6"
    assert "Window 1 of 9 (rows 0-1, columns 0-1): max = **5**, average = **2.5**" in page_text(at)
    at.slider(key="pooling_step").set_value(2).run()
    assert "max = **6**, average = **4.25**" in page_text(at)
    image, mx, avg = chart_maps(at, "pooling_pool_fig")
    assert mx[0, :2].tolist() == [5, 6] and np.isnan(mx[0, 2]) and np.isnan(mx[1:]).all()
    at.slider(key="pooling_step").set_value(9).run()
    _, mx, avg = chart_maps(at, "pooling_pool_fig")
    assert mx.tolist() == [[5, 6, 2], [5, 6, 4], [3, 5, 3]]
    assert avg.tolist() == [[2.5, 4.25, 1.25], [2.5, 2.5, 3], [1.75, 4, 1]]
    assert "rows 4-5, columns 4-5): max = **3**, average = **1**" in page_text(at)
    assert "shrinks from 6x6 to **3x3**" in page_text(at)


def test_back_and_next_buttons_step():
    at = open_page(PAGE)
    at.button(key="pooling_step_next").click().run()
    at.button(key="pooling_step_next").click().run()
    assert at.slider(key="pooling_step").value == 3
    assert "Window 3 of 9 (rows 0-1, columns 4-5): max = **2**" in page_text(at)
    at.button(key="pooling_step_back").click().run()
    assert "Window 2 of 9" in page_text(at)
    for _ in range(3):
        at.button(key="pooling_step_back").click().run()
    assert at.slider(key="pooling_step").value == 1  # stops at the first window
    at.button(key="pooling_t_step_next").click().run()
    assert "Pixel (0, 1) = **3** multiplies the filter" in page_text(at)


def _z(z: dict) -> np.ndarray:
    shape = tuple(int(n) for n in str(z["shape"]).split(","))
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.float32).reshape(shape)


def test_play_as_an_animation():
    at = open_page(PAGE)
    at.toggle(key="pooling_play").set_value(True).run()
    assert not at.exception
    assert not [s for s in at.slider if s.key == "pooling_step"]  # stepping is replaced
    (el,) = [e for e in at.get("plotly_chart") if "pooling_anim" in e.proto.id]
    spec = json.loads(el.proto.spec)
    assert len(spec["frames"]) == 9 and spec["frames"][0]["traces"] == [1, 2]
    first_max = _z(spec["frames"][0]["data"][0]["z"])
    assert first_max[0, 0] == 5 and np.isnan(first_max[0, 1])
    assert _z(spec["frames"][-1]["data"][0]["z"]).tolist() == [[5, 6, 2], [5, 6, 4], [3, 5, 3]]
    assert _z(spec["frames"][-1]["data"][1]["z"])[0].tolist() == [2.5, 4.25, 1.25]
    assert "shrinks from 6x6 to **3x3**" in page_text(at)
    at.radio(key="pooling_up_source").set_value("the max-pooled map above").run()
    at.slider(key="pooling_up_step").set_value(2).run()
    assert "Pixel (0, 1) = **6** is copied" in page_text(at)


def test_pool_size_and_stride_change_the_output():
    at = open_page(PAGE)
    at.slider(key="pooling_step").set_value(9).run()
    at.slider(key="pooling_pool_size").set_value(3).run()
    at.slider(key="pooling_pool_stride").set_value(3).run()
    assert not at.exception
    # The step slider was at 9 but only 4 windows remain: it is clamped, not an error.
    assert at.slider(key="pooling_step").value == 4
    _, mx, avg = chart_maps(at, "pooling_pool_fig")
    assert mx.tolist() == [[6, 3], [6, 5]]
    assert r"\lfloor (6 - 3) / 3 \rfloor + 1 = 2" in page_text(at)
    at.slider(key="pooling_step").set_value(1).run()
    assert "average = **2.778**" in page_text(at)  # 25 / 9


def test_nearest_upsampling_copies_the_worked_3x3():
    at = open_page(PAGE)
    at.slider(key="pooling_up_step").set_value(5).run()
    assert "Pixel (1, 1) = **5** is copied into the 2x2 block at rows 2-3, columns 2-3" in page_text(at)
    at.slider(key="pooling_up_step").set_value(9).run()
    src, up = chart_maps(at, "pooling_up_fig")
    assert src.tolist() == [[1, 3, 6], [2, 5, 6], [2, 4, 3]]
    assert up.tolist() == [[1, 1, 3, 3, 6, 6], [1, 1, 3, 3, 6, 6], [2, 2, 5, 5, 6, 6],
                           [2, 2, 5, 5, 6, 6], [2, 2, 4, 4, 3, 3], [2, 2, 4, 4, 3, 3]]
    assert "3x3 becomes **6x6**" in page_text(at)
    _, nearest, bilinear = chart_maps(at, "pooling_bilinear_fig")
    assert nearest.shape == bilinear.shape == (6, 6)
    assert bilinear[0, 0] == 1 and bilinear[0, 1] == 1.5  # 0.75 * 1 + 0.25 * 3


def test_upsampling_the_pooled_map():
    at = open_page(PAGE)
    at.radio(key="pooling_up_source").set_value("the max-pooled map above").run()
    at.slider(key="pooling_up_step").set_value(2).run()
    assert "Pixel (0, 1) = **6** is copied" in page_text(at)


def test_transposed_convolution_steps_and_shapes():
    at = open_page(PAGE)
    at.selectbox(key="pooling_tfilter").set_value("2x2 uneven [[1, 2], [3, 4]]").run()
    at.slider(key="pooling_t_step").set_value(2).run()
    src, contribution, so_far = chart_maps(at, "pooling_t_fig")
    assert contribution.tolist() == [[3, 6], [9, 12]]  # pixel 3 x filter
    assert so_far[:2, :4].tolist() == [[1, 2, 3, 6], [3, 4, 9, 12]]
    assert "added** at rows 0-1, columns 2-3" in page_text(at)
    assert r"(3 - 1) \cdot 2 + 2 = 6" in page_text(at)
    at.selectbox(key="pooling_tfilter").set_value("3x3 tent (overlaps blend)").run()
    at.slider(key="pooling_t_step").set_value(9).run()
    _, _, out = chart_maps(at, "pooling_t_fig")
    assert out.shape == (7, 7)
    assert out[0, 2] == 0.25 * 1 + 0.25 * 3  # the two first-row filters overlap at column 2
    assert r"(3 - 1) \cdot 2 + 3 = 7" in page_text(at)


def test_a_drawn_or_sampled_image_also_works():
    at = open_page(PAGE)
    at.selectbox(key="pooling_sample").set_value("checkerboard").run()
    at.slider(key="pooling_size").set_value(32).run()
    assert not at.exception
    assert "shrinks from 32x32 to **16x16**" in page_text(at)
    at.slider(key="pooling_step").set_value(256).run()
    _, mx, _ = chart_maps(at, "pooling_pool_fig")
    assert mx.shape == (16, 16) and np.isfinite(mx).all()
