"""AppTests for the Skip connections page: channel counts and the detail the skip brings back."""

import re

from streamlit.testing.v1 import AppTest

from apptest_support import open_page, page_text

PAGE = "pages/skips.py"


def errors(at: AppTest) -> tuple[float, float]:
    m = re.search(r"mean error of \*\*([\d.]+)\*\*.*reaches \*\*([\d.]+)\*\*", page_text(at))
    return float(m.group(1)), float(m.group(2))


def test_concatenation_adds_channel_counts():
    at = open_page(PAGE)
    at.slider(key="skips_size").set_value(8).run()
    assert r"8 \times 8 \times 3}_{\text{encoder (skip)}} + \underbrace{8 \times 8 \times 3}" \
        in page_text(at)
    assert r"\;\to\; 8 \times 8 \times 6" in page_text(at)
    assert "sees a **8x8x6** map" in page_text(at)
    at.slider(key="skips_channels").set_value(1).run()
    assert r"\;\to\; 8 \times 8 \times 2" in page_text(at)


def test_the_skip_restores_a_one_pixel_checkerboard():
    at = open_page(PAGE)
    at.selectbox(key="skips_sample").set_value("checkerboard").run()
    at.slider(key="skips_size").set_value(16).run()  # 4-pixel squares at 64 become 1-pixel squares
    at.slider(key="skips_channels").set_value(1).run()
    at.radio(key="skips_pool").set_value("average").run()
    without, with_skip = errors(at)
    assert without > 0.45  # every 2x2 block averages to 0.5: the pattern is gone
    assert with_skip == 0.0
    assert "Average pooling keeps one number per 2x2 block" in page_text(at)


def test_odd_grid_is_cropped_with_a_note():
    at = open_page(PAGE)
    at.slider(key="skips_size").set_value(9).run()
    assert not at.exception
    assert "odd size" in at.info[0].value and "(8x8)" in at.info[0].value
    assert "sees a **8x8x6** map" in page_text(at)
