"""The one image-input widget every operation page shares: draw, upload or pick a sample.

What the learner chose (and drew, or uploaded) lives in ``st.session_state["image_input"]``,
so a drawing made on one page is still there on the others.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from unetviz.images import ImageInputError, load_image, rgba_to_gray, to_grid
from unetviz.samples import SAMPLES, sample_image

STATE = "image_input"
SOURCES = ("Sample", "Draw", "Upload")
CANVAS_PX = 256
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"]


def _state() -> dict:
    return st.session_state.setdefault(
        STATE, {"source": "Sample", "sample": "letter", "size": 16, "drawn": None,
                "drawing": None, "uploaded": None, "uploaded_name": None})


def _remember(field: str, widget_key: str) -> None:
    _state()[field] = st.session_state[widget_key]


def image_input(page: str, *, default_size: int | None = None, min_size: int = 5,
                max_size: int = 64) -> np.ndarray:
    """Show the input controls; return the chosen image as an (n, n) float32 grid in [0, 1].

    ``page`` makes the widget keys unique per page; the choice itself is shared.
    """
    s = _state()
    if default_size is not None and "size_set" not in s:
        s["size"] = default_size
    size = int(np.clip(s["size"], min_size, max_size))
    with st.container(border=True):
        c1, c2 = st.columns([3, 2])
        c1.radio("Input image", SOURCES, index=SOURCES.index(s["source"]), horizontal=True,
                 key=f"{page}_source", on_change=_remember, args=("source", f"{page}_source"))
        c2.slider("Grid size (pixels per side)", min_size, max_size, size, key=f"{page}_size",
                  on_change=_size_changed, args=(f"{page}_size",),
                  help="The image is averaged down to this many pixels per side.")
        s = _state()
        full = _source_image(page, s)
    return to_grid(full, int(np.clip(s["size"], min_size, max_size)))


def _size_changed(widget_key: str) -> None:
    s = _state()
    s["size"] = st.session_state[widget_key]
    s["size_set"] = True


def _source_image(page: str, s: dict) -> np.ndarray:
    if s["source"] == "Draw":
        st.caption("Draw with the mouse (white ink on black). The drawing is kept when you "
                   "switch pages.")
        result = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000",
                           height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
                           initial_drawing=s["drawing"], return_image_data=True,
                           key=f"{page}_canvas")
        data = result.image_data
        if data is not None and result.json_data and result.json_data.get("objects"):
            s["drawn"] = rgba_to_gray(data)
            s["drawing"] = result.json_data
        if st.button("Clear drawing", key=f"{page}_clear"):
            s["drawn"], s["drawing"] = None, None
            st.rerun()
        if s["drawn"] is None:
            st.caption("Nothing drawn yet: showing a blank image.")
            return np.zeros((CANVAS_PX, CANVAS_PX), np.float32)
        return s["drawn"]
    if s["source"] == "Upload":
        up = st.file_uploader("PNG, JPEG, TIFF, BMP or GIF", type=UPLOAD_TYPES,
                              key=f"{page}_upload")
        if up is not None and up.name != s["uploaded_name"]:
            try:
                s["uploaded"] = load_image(up.getvalue())
                s["uploaded_name"] = up.name
            except ImageInputError as exc:
                st.error(f"{up.name}: {exc}")
        if s["uploaded"] is None:
            st.caption("No image uploaded yet: showing the sample instead.")
            return sample_image(s["sample"], 64)
        st.caption(f"Using {s['uploaded_name']} ({s['uploaded'].shape[1]}x"
                   f"{s['uploaded'].shape[0]} pixels), centre-cropped to a square.")
        return s["uploaded"]
    st.selectbox("Sample", SAMPLES, index=SAMPLES.index(s["sample"]), key=f"{page}_sample",
                 on_change=_remember, args=("sample", f"{page}_sample"))
    return sample_image(_state()["sample"], 64)
