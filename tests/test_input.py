"""AppTest for the shared image input (pages/_input.py), seen through the pages that use it."""

import base64
import io

import numpy as np
from PIL import Image

from apptest_support import open_page


def drawing(rows: slice) -> dict:
    """What the canvas sends after a stroke: white ink on black in ``rows`` of a 256x256 canvas."""
    rgba = np.zeros((256, 256, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[rows, :, :3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    raw = {"version": "5.3.0", "objects": [{"type": "path", "path": [["M", 0, 128], ["L", 255, 128]]}]}
    return {"drawing": {"raw": raw, "data": url}, "backgroundFit": None}


def caption(at, start: str) -> str:
    return next(c.value for c in at.caption if c.value.startswith(start))


def test_the_worked_example_is_offered_only_where_a_page_adds_it():
    at = open_page("pages/convolution.py")
    assert at.selectbox(key="conv_sample").value == "tutorial's 5x5 example"
    assert at.slider(key="conv_size").disabled  # the worked example keeps its 5x5 size
    at.switch_page("pages/filters.py").run()
    assert "tutorial's 5x5 example" not in at.selectbox(key="filters_sample").options
    assert at.selectbox(key="filters_sample").value == "shapes"
    at.switch_page("pages/convolution.py").run()  # the choice survived the visit
    assert at.selectbox(key="conv_sample").value == "tutorial's 5x5 example"


def test_a_drawing_made_on_one_page_is_used_on_another():
    at = open_page("pages/convolution.py")
    at.radio(key="conv_source").set_value("Draw").run()
    at.slider(key="conv_size").set_value(8).run()
    assert any("Nothing drawn yet" in c.value for c in at.caption)
    assert caption(at, "Output map").startswith("Output map: 6x6, values from 0 to 0.")
    at.session_state["conv_canvas_0"] = drawing(slice(96, 160))  # rows 3 and 4 of the 8x8 grid
    at.run()
    # Filter A on a bright band two grid rows thick: rows 1..4 of the output see one of its rows
    # in the window's top or bottom row (3 bright pixels), none sees both.
    assert caption(at, "Output map").startswith("Output map: 6x6, values from 0 to 3.")
    at.switch_page("pages/filters.py").run()
    assert at.radio(key="filters_source").value == "Draw"
    assert not any("Nothing drawn yet" in c.value for c in at.caption)
    # A flat band: horizontal edges of +-4 at its two borders, vertical edges only where the
    # zero padding meets its ends (+-3).
    assert caption(at, "Horizontal edges").startswith(
        "Horizontal edges from -4 to 4; vertical edges from -3 to 3.")


def test_clear_drawing_goes_back_to_a_blank_image():
    at = open_page("pages/filters.py")
    at.radio(key="filters_source").set_value("Draw").run()
    at.session_state["filters_canvas_0"] = drawing(slice(0, 128))
    at.run()
    assert not caption(at, "Horizontal edges").startswith("Horizontal edges from 0 to 0;")
    at.button(key="filters_clear").click().run()
    assert any("Nothing drawn yet" in c.value for c in at.caption)
    assert caption(at, "Horizontal edges").startswith(
        "Horizontal edges from 0 to 0; vertical edges from 0 to 0.")


def test_grid_size_is_shared_between_pages():
    at = open_page("pages/filters.py")
    at.slider(key="filters_size").set_value(12).run()
    at.switch_page("pages/convolution.py").run()
    at.selectbox(key="conv_sample").set_value("gradient").run()
    assert at.slider(key="conv_size").value == 12
    assert caption(at, "Output map").startswith("Output map: 10x10")


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((a * 255).astype(np.uint8), "L").save(buf, "PNG")
    return buf.getvalue()


def test_an_uploaded_image_is_used_and_a_broken_one_is_refused():
    at = open_page("pages/filters.py")
    at.radio(key="filters_source").set_value("Upload").run()
    assert any("No image uploaded yet" in c.value for c in at.caption)
    at.slider(key="filters_size").set_value(8).run()
    half = np.zeros((48, 32))
    half[:16] = 1.0  # 48 rows: the centre square is rows 8..39, bright in its top quarter
    at.file_uploader(key="filters_upload").upload("half.png", png(half), "image/png").run()
    assert not at.exception
    assert any("Using half.png (32x48 pixels)" in c.value for c in at.caption)
    # Grid rows 0-1 are bright: +4 under them (light above), -4 along the padded top border.
    assert caption(at, "Horizontal edges").startswith("Horizontal edges from -4 to 4;")
    at.file_uploader(key="filters_upload").set_value(("notes.png", b"not an image", "image/png")).run()
    assert not at.exception
    assert any("notes.png: This file is not an image we can read" in e.value for e in at.error)
    assert any("Using half.png" in c.value for c in at.caption)  # the last good image stays
