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


def _state(default_sample: str | None = None) -> dict:
    return st.session_state.setdefault(
        STATE, {"source": "Sample", "sample": default_sample or "letter", "size": 16,
                "drawn": None, "drawing": None, "uploaded": None, "uploaded_name": None,
                "canvas_gen": 0})


def _remember(field: str, widget_key: str) -> None:
    _state()[field] = st.session_state[widget_key]


def image_input(page: str, *, default_size: int | None = None, min_size: int = 5,
                max_size: int = 64, extras: dict[str, np.ndarray] | None = None,
                default_sample: str | None = None) -> np.ndarray:
    """Show the input controls; return the chosen image as an (n, n) float32 grid in [0, 1].

    ``page`` makes the widget keys unique per page; the choice itself is shared.
    ``extras`` adds fixed images to this page's sample list (for example the tutorial's
    worked 5x5 example); one of them is returned exactly as given, whatever the grid size.
    ``default_sample`` is the sample shown when no page has set up the input yet.
    """
    extras = extras or {}
    s = _state(default_sample)
    if default_size is not None and "size_set" not in s:
        s["size"] = default_size
    size = int(np.clip(s["size"], min_size, max_size))
    fixed = s["source"] == "Sample" and s["sample"] in extras
    with st.container(border=True):
        c1, c2 = st.columns([3, 2])
        c1.radio("Input image", SOURCES, index=SOURCES.index(s["source"]), horizontal=True,
                 key=f"{page}_source", on_change=_remember, args=("source", f"{page}_source"))
        c2.slider("Grid size (pixels per side)", min_size, max_size, size, key=f"{page}_size",
                  on_change=_size_changed, args=(f"{page}_size",), disabled=fixed,
                  help="The image is averaged down to this many pixels per side."
                  + (" The worked example keeps its own size." if fixed else ""))
        s = _state()
        grid_size = int(np.clip(s["size"], min_size, max_size))
        full = _source_image(page, s, extras, grid_size)
    if s["source"] == "Sample" and s["sample"] in extras:
        return np.array(extras[s["sample"]], dtype=np.float32)
    return to_grid(full, grid_size)


def canvas_key(page: str) -> str:
    """The session-state key of ``page``'s drawing canvas (it changes when the drawing is cleared)."""
    return f"{page}_canvas_{_state().get('canvas_gen', 0)}"


def _size_changed(widget_key: str) -> None:
    s = _state()
    s["size"] = st.session_state[widget_key]
    s["size_set"] = True


def _preview(where, full: np.ndarray, size: int) -> None:
    """The grid the pages will use, blown up with square pixels (cheap: no Plotly)."""
    grid = to_grid(full, size)
    rep = max(1, CANVAS_PX // size)
    where.image(np.kron(grid, np.ones((rep, rep), np.float32)), clamp=True,
                caption=f"What the pages use: {size}x{size} pixels")


def _source_image(page: str, s: dict, extras: dict[str, np.ndarray], size: int) -> np.ndarray:
    if s["source"] == "Draw":
        draw, preview = st.columns([3, 2])  # the 256-pixel canvas needs the wider one
        with draw:
            result = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000",
                               height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
                               initial_drawing=s["drawing"], return_image_data=True,
                               key=canvas_key(page))
            st.caption("Draw with the mouse (white ink on black). The drawing is kept when you "
                       "switch pages.")
            clear = st.button("Clear drawing", key=f"{page}_clear")
        data = result.image_data
        if data is not None and result.json_data and result.json_data.get("objects"):
            s["drawn"] = rgba_to_gray(data)
            s["drawing"] = result.json_data
        if clear:
            # A new canvas key drops the old canvas's remembered strokes too.
            s["drawn"], s["drawing"] = None, None
            s["canvas_gen"] = s.get("canvas_gen", 0) + 1
            st.rerun()
        if s["drawn"] is None:
            preview.caption("Nothing drawn yet: showing a blank image.")
            return np.zeros((CANVAS_PX, CANVAS_PX), np.float32)
        _preview(preview, s["drawn"], size)
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
            st.caption("No image uploaded yet: showing a sample instead.")
            return sample_image(s["sample"] if s["sample"] in SAMPLES else SAMPLES[0], 64)
        st.caption(f"Using {s['uploaded_name']} ({s['uploaded'].shape[1]}x"
                   f"{s['uploaded'].shape[0]} pixels), centre-cropped to a square.")
        return s["uploaded"]
    options = [*extras, *SAMPLES]
    # An extra chosen on another page is not offered here: show the first sample instead,
    # and keep the shared choice so the other page still finds it.
    current = s["sample"] if s["sample"] in options else SAMPLES[0]
    st.selectbox("Sample", options, index=options.index(current), key=f"{page}_sample",
                 on_change=_remember, args=("sample", f"{page}_sample"))
    name = _state()["sample"] if _state()["sample"] in options else SAMPLES[0]
    if name in extras:
        return np.asarray(extras[name], dtype=np.float32)
    return sample_image(name, 64)
