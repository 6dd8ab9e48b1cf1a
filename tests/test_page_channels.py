"""AppTests for the Channels page: filters to channels, per-channel sums, parameter counts, 2D vs 3D."""

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

PAGE = "pages/channels.py"


def goto() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_maps(at: AppTest, key: str) -> list[np.ndarray]:
    """The z arrays of a heatmap chart, found by its widget key."""
    (el,) = [e for e in at.get("plotly_chart") if key in e.proto.id]
    out = []
    for trace in json.loads(el.proto.spec)["data"]:
        z = trace["z"]
        shape = tuple(int(n) for n in str(z["shape"]).split(","))
        out.append(np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.float32).reshape(shape))
    return out


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(x.value for x in at.latex)


def test_five_filters_stack_into_five_channels():
    at = goto()
    assert at.selectbox(key="channels_sample").value == "worked example 9x9"
    assert "came out as a **9x9x5** stack" in text(at)
    maps = chart_maps(at, "channels_map_row")
    assert len(maps) == 5 and all(m.shape == (9, 9) for m in maps)
    assert maps[1][:2, :2].tolist() == [[13, 17], [20, 27]]  # the blur filter, hand-worked


def test_fewer_filters_fewer_channels_and_the_per_channel_sum():
    at = goto()
    at.multiselect(key="channels_filters").set_value(["blur"]).run()
    assert "came out as a **9x9x1** stack" in text(at)
    assert len(chart_maps(at, "channels_parts_row")) == 1
    # Filter channel [[2,-1,2],[2,1,2],[2,0,2]] at (0, 0) sees [[13, 17], [20, 27]] through
    # its lower-right corner [[1, 2], [0, 2]]: 13 + 34 + 0 + 54.
    assert "(101) = 101" in text(at)
    at.multiselect(key="channels_filters").set_value(["diagonal", "blur"]).run()
    assert "came out as a **9x9x2** stack" in text(at)
    parts = chart_maps(at, "channels_parts_row")
    (total,) = chart_maps(at, "channels_total")
    np.testing.assert_allclose(parts[0] + parts[1], total)
    assert "(101) = " in text(at)


def test_pixel_picker_moves_the_worked_sum():
    at = goto()
    at.multiselect(key="channels_filters").set_value(["blur"]).run()
    at.number_input(key="channels_row").set_value(8).run()
    at.number_input(key="channels_col").set_value(8).run()
    (total,) = chart_maps(at, "channels_total")
    assert f"= {total[8, 8]:g}" in text(at)


def test_no_filters_gives_a_warning_not_a_traceback():
    at = goto()
    at.multiselect(key="channels_filters").set_value([]).run()
    assert not at.exception
    assert "at least one filter" in at.warning[0].value


def test_parameter_count_is_live():
    at = goto()
    assert r"3 \cdot 3 \cdot 5 \cdot 3 + 3 = 138" in text(at)
    at.slider(key="channels_c").set_value(64).run()
    at.slider(key="channels_k").set_value(128).run()
    assert r"3 \cdot 3 \cdot 64 \cdot 128 + 128 = 73{,}856" in text(at)
    at.slider(key="channels_f").set_value(1).run()
    assert r"1 \cdot 1 \cdot 64 \cdot 128 + 128 = 8{,}320" in text(at)


def test_3d_filter_as_deep_as_the_volume_is_the_2d_case():
    at = goto()
    assert "fits **3** position(s) along the depth (5 - 3 + 1)" in text(at)
    at.slider(key="channels_fdepth").set_value(5).run()
    assert "fits **1** position(s)" in text(at)
    assert "does exactly what the 2D multi-channel filter does" in text(at)
    at.slider(key="channels_depth").set_value(2).run()
    assert not at.exception
    assert at.slider(key="channels_fdepth").value <= 2


def test_a_sample_image_at_32_pixels():
    at = goto()
    at.selectbox(key="channels_sample").set_value("shapes").run()
    at.slider(key="channels_size").set_value(32).run()
    assert not at.exception
    assert "came out as a **32x32x5** stack" in text(at)
