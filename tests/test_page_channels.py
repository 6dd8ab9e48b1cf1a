"""AppTests for the Channels page: filters to channels, per-channel sums, parameter counts, 2D vs 3D."""

import numpy as np

from apptest_support import chart_maps, open_page, page_text

PAGE = "pages/channels.py"


def test_five_filters_stack_into_five_channels():
    at = open_page(PAGE)
    assert at.selectbox(key="channels_sample").value == "worked example 9x9"
    assert "came out as a **9x9x5** stack" in page_text(at)
    maps = chart_maps(at, "channels_map_row")
    assert len(maps) == 5 and all(m.shape == (9, 9) for m in maps)
    assert maps[1][:2, :2].tolist() == [[13, 17], [20, 27]]  # the blur filter, hand-worked


def test_fewer_filters_fewer_channels_and_the_per_channel_sum():
    at = open_page(PAGE)
    at.multiselect(key="channels_filters").set_value(["blur"]).run()
    assert "came out as a **9x9x1** stack" in page_text(at)
    assert len(chart_maps(at, "channels_parts_row")) == 1
    # Filter channel [[2,-1,2],[2,1,2],[2,0,2]] at (0, 0) sees [[13, 17], [20, 27]] through
    # its lower-right corner [[1, 2], [0, 2]]: 13 + 34 + 0 + 54.
    assert "(101) = 101" in page_text(at)
    at.multiselect(key="channels_filters").set_value(["diagonal", "blur"]).run()
    assert "came out as a **9x9x2** stack" in page_text(at)
    parts = chart_maps(at, "channels_parts_row")
    (total,) = chart_maps(at, "channels_total")
    np.testing.assert_allclose(parts[0] + parts[1], total)
    assert "(101) = " in page_text(at)


def test_pixel_picker_moves_the_worked_sum():
    at = open_page(PAGE)
    at.multiselect(key="channels_filters").set_value(["blur"]).run()
    at.number_input(key="channels_row").set_value(8).run()
    at.number_input(key="channels_col").set_value(8).run()
    (total,) = chart_maps(at, "channels_total")
    assert f"= {total[8, 8]:g}" in page_text(at)


def test_no_filters_gives_a_warning_not_a_traceback():
    at = open_page(PAGE)
    at.multiselect(key="channels_filters").set_value([]).run()
    assert not at.exception
    assert "at least one filter" in at.warning[0].value


def test_parameter_count_is_live():
    at = open_page(PAGE)
    assert r"3 \cdot 3 \cdot 5 \cdot 3 + 3 = 138" in page_text(at)
    at.slider(key="channels_c").set_value(64).run()
    at.slider(key="channels_k").set_value(128).run()
    assert r"3 \cdot 3 \cdot 64 \cdot 128 + 128 = 73{,}856" in page_text(at)
    at.slider(key="channels_f").set_value(1).run()
    assert r"1 \cdot 1 \cdot 64 \cdot 128 + 128 = 8{,}320" in page_text(at)


def test_3d_filter_as_deep_as_the_volume_is_the_2d_case():
    at = open_page(PAGE)
    assert "fits **3** position(s) along the depth (5 - 3 + 1)" in page_text(at)
    at.slider(key="channels_fdepth").set_value(5).run()
    assert "fits **1** position(s)" in page_text(at)
    assert "does exactly what the 2D multi-channel filter does" in page_text(at)
    at.slider(key="channels_depth").set_value(2).run()
    assert not at.exception
    assert at.slider(key="channels_fdepth").value <= 2


def test_a_sample_image_at_32_pixels():
    at = open_page(PAGE)
    at.selectbox(key="channels_sample").set_value("shapes").run()
    at.slider(key="channels_size").set_value(32).run()
    assert not at.exception
    assert "came out as a **32x32x5** stack" in page_text(at)
