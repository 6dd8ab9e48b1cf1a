"""The inspector's sections, each an ``st.fragment`` so that its widgets re-run only itself.

- :func:`prediction_section`: the whole image's prediction (threshold, classes, scores, TTA);
- :func:`layer_section`: layer by layer, the view window's activations, filters and what one
  pixel can see;
- :func:`region_section`: which input pixels drove a region of the output.

Everything slow is computed once and kept: the prediction per (model, image, input range,
TTA), the activations by the Inspector per window, figures per layer and page. A threshold
change never runs the model.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st

from pages._inspect_source import Chosen, Picture, Window, shown
from unetviz.inspect_figures import (
    channel_tiling,
    channels_figure,
    class_figure,
    errors_figure,
    image_figure,
)
from unetviz.inspection import membrane_errors
from unetviz.metrics import class_scores, segmentation_scores
from unetviz.predict import Prediction, predict_image, to_model_range

log = logging.getLogger("unetviz.inspector")
PNG = {"displayModeBar": True, "displaylogo": False, "toImageButtonOptions": {"scale": 2}}
# Narrow columns: only the PNG, reset and full-screen buttons, so the bar does not cover the title.
SMALL = {**PNG, "modeBarButtonsToRemove": ["zoom", "pan", "zoomIn", "zoomOut", "autoScale", "lasso",
                                           "toggleSpikelines"]}
# Bytes of figure data per chart: the charts of one screen together stay under about 1.5 MB.
IMAGE_BYTES, CLICK_BYTES, LAYER_BYTES = 100_000, 200_000, 900_000


@contextmanager
def timed(what: str):
    """Log how long a step took (``logging.getLogger("unetviz.inspector")`` at DEBUG)."""
    t0 = time.perf_counter()
    yield
    log.debug("%s: %.1f ms", what, (time.perf_counter() - t0) * 1e3)


@dataclass(frozen=True)
class Inputs:
    """What every section shares: the model, the image and the window, in the model's range."""

    chosen: Chosen
    pic: Picture
    win: Window
    scale: float  # the [0, 1] image is multiplied by this before the model sees it
    x: np.ndarray  # (h, w) or (h, w, C): the window in the model's range
    x_key: str  # names x, for caches
    acts: dict  # name -> (h, w, c): every layer's activations for x


@st.cache_resource(max_entries=2, show_spinner="Passing the window through the model...")
def activations(model_key: str, x_key: str, _ins, _x) -> dict:
    """Every layer's activations for the window, once per (model and weights, window).

    Kept here as well as in the Inspector's memo, whose input gradients can push them out.
    """
    return _ins.activations(_x)


def output_kind(ins) -> str:
    """"classes" (softmax over C >= 2), "binary" (one sigmoid channel) or "maps" (anything else)."""
    if ins.out_channels >= 2 and ins.out_activation == "softmax":
        return "classes"
    if ins.out_channels == 1 and ins.out_activation == "sigmoid":
        return "binary"
    return "maps"


def label_classes(label: np.ndarray, n_classes: int) -> np.ndarray:
    """A label image in [0, 1] as int class indices: pixel values 0..n-1 (of 255), or black/white
    for two classes. ValueError when it holds other values."""
    v = np.round(np.asarray(label, np.float32) * 255).astype(np.int64)
    if v.max() < n_classes:
        return v
    if n_classes == 2 and set(np.unique(v).tolist()) <= {0, 255}:
        return v // 255
    raise ValueError(f"The label holds pixel values up to {int(v.max())}; for {n_classes} classes "
                     f"they must be 0 to {n_classes - 1} (or black and white for two classes).")


# ---------------------------------------------------------------- cached work


@st.cache_resource(max_entries=6, show_spinner="Predicting the whole image...")
def _predicted(model_key: str, image_key: str, scale: float, tta: bool, _ins, _image):
    return predict_image(_ins.model, to_model_range(_image, scale), tta=tta)


def predicted(inputs: Inputs, tta: bool) -> Prediction:
    """The whole image's prediction. When the view window is the whole image and the model gives
    back its size, that is the output layer's activations: no second pass through the model."""
    pic, win, ins = inputs.pic, inputs.win, inputs.chosen.ins
    h, w = pic.image.shape[:2]
    if not tta and (win.h, win.w) == (h, w) == tuple(win.out):
        return Prediction(prob=inputs.acts[ins.output_name], method="whole", tile=(h, w), tiles=1,
                          tta=False, note=f"Predicted in one pass at {h}x{w}.")
    return _predicted(inputs.chosen.key, pic.key, inputs.scale, tta, ins, pic.image)


@st.cache_resource(max_entries=16, show_spinner=False)
def _input_figure(image_key: str, _image):
    return image_figure(shown(_image), title="Input", zmin=0, zmax=1, max_bytes=IMAGE_BYTES)


# What the mouse does on the output chart. Streamlit turns a click into a selection only while
# the chart's dragmode is not "select" (it then forces clickmode "event"), so one chart cannot
# take both a click and a box: the learner chooses.
CLICK, DRAG = "Click: pick a pixel", "Drag: pick a region"


def _dragmode(mouse: str) -> str:
    return "select" if mouse == DRAG else "pan"


def _output_title(what: str, mouse: str) -> str:
    return f"{what}: {'drag a box' if mouse == DRAG else 'click a pixel'}"


@st.cache_resource(max_entries=16, show_spinner=False)
def _prob_figure(pred_key: tuple, title: str, _prob, mouse: str = CLICK):
    fig = image_figure(_prob, title=title, colorbar="output", zmin=0, zmax=1, clickable=True,
                       max_bytes=CLICK_BYTES)
    return fig.update_layout(dragmode=_dragmode(mouse))


@st.cache_resource(max_entries=16, show_spinner=False)
def _class_figure(pred_key: tuple, _classes, n: int, mouse: str = CLICK):
    fig = class_figure(_classes, n, title=_output_title("Arg-max class", mouse),
                       clickable=True, max_bytes=CLICK_BYTES)
    return fig.update_layout(dragmode=_dragmode(mouse))


@st.cache_resource(max_entries=32, show_spinner=False)
def channels_chart(key: tuple, title: str, label: str, _act):
    """The tiled figure of page ``key[-1]`` of ``_act`` (H, W, C), built once per key."""
    tiling = channel_tiling(_act.shape, page=key[-1], max_bytes=LAYER_BYTES)
    return channels_figure(_act, tiling, title=title, label=label)


@st.cache_data(max_entries=64, show_spinner=False)
def _membrane_scores(pred_key: tuple, threshold: float, _prob, _label):
    return segmentation_scores(_prob, _label, threshold=threshold)


# ---------------------------------------------------------------- prediction


def _jump_from_output(chart_key: str, inputs: Inputs) -> None:
    """Output-chart callback: a click picks that pixel of the output layer (moving the window to
    it if needed); a drag makes the dragged box the region whose drivers are shown."""
    sel = st.session_state[chart_key].selection
    win, ins = inputs.win, inputs.chosen.ins
    boxes = sel.get("box") or []
    if boxes:
        (x0, x1), (y0, y1) = sorted(boxes[0]["x"]), sorted(boxes[0]["y"])
        st.session_state.update({"inspector_region_top": max(int(np.ceil(y0)), 0),
                                 "inspector_region_left": max(int(np.ceil(x0)), 0),
                                 "inspector_region_bottom": int(np.floor(y1)) + 1,
                                 "inspector_region_right": int(np.floor(x1)) + 1,
                                 "inspector_region_how": "A box", "inspector_region_dragged": True})
        st.session_state["inspector_rerun"] = True
        return
    points = sel.get("points") or []
    if not points:
        return
    r, c = int(points[0]["y"]), int(points[0]["x"])
    h, w = inputs.pic.image.shape[:2]
    (oy, ox), (oh, ow) = win.offset, win.out
    top, left = win.top, win.left
    if not (top + oy <= r < top + oy + oh and left + ox <= c < left + ox + ow):
        top = int(np.clip(r - win.h // 2, 0, h - win.h)) // 8 * 8
        left = int(np.clip(c - win.w // 2, 0, w - win.w)) // 8 * 8
        st.session_state["inspector_win_top"], st.session_state["inspector_win_left"] = top, left
    st.session_state.update({
        "inspector_layer": ins.output_name, "inspector_rf_ch": 0,
        "inspector_rf_row": int(np.clip(r - top - oy, 0, oh - 1)),
        "inspector_rf_col": int(np.clip(c - left - ox, 0, ow - 1)), "inspector_rerun": True})


@st.fragment
def prediction_section(inputs: Inputs) -> None:
    """The whole image's prediction, by the kind of output the model gives."""
    if st.session_state.pop("inspector_rerun", False):
        st.rerun(scope="app")  # a click here changes the sections below too
    chosen, pic = inputs.chosen, inputs.pic
    ins = chosen.ins
    st.subheader("What the model predicts")
    tta = st.toggle("Test-time augmentation: average the prediction over the 8 rotations and flips "
                    "(8 times slower)", key="inspector_tta")
    try:
        with timed("predict"):
            pred = predicted(inputs, tta)
    except ValueError as exc:
        st.error(f"{chosen.name} could not predict {pic.name}: {exc}")
        return
    h, w = pic.image.shape[:2]
    st.caption(f"{pred.note} The prediction covers the whole {w}x{h} image.")
    pred_key = (chosen.key, pic.key, inputs.scale, tta)
    kind = output_kind(ins)
    mouse = st.radio("The mouse on the output", (CLICK, DRAG), horizontal=True, key="inspector_mouse",
                     help="Click a pixel of the output to see what it depends on (below, under "
                          "'What one pixel can see'); drag a box over it to ask which input pixels "
                          "drove that region (at the bottom of the page).")
    c1, c2, c3 = st.columns([1, 1.1, 1.3])
    with timed("input figure"):
        c1.plotly_chart(_input_figure(pic.key, pic.image), key="inspector_in", config=SMALL)
    on_select = partial(_jump_from_output, "inspector_prob", inputs)
    if kind == "classes":
        _classes_view(pred, pred_key, pic, (c2, c3), on_select, mouse)
    elif kind == "binary":
        _binary_view(pred, pred_key, inputs, (c2, c3), on_select, mouse)
    else:
        c2.plotly_chart(_prob_figure(pred_key + (0,), _output_title("Output channel 0", mouse),
                                     pred.prob[..., 0], mouse), key="inspector_prob", config=SMALL,
                        selection_mode=_selection_mode(mouse), on_select=on_select)
        if ins.out_channels > 1:
            _output_maps(pred, pred_key, "Every output channel", "ch")


def _output_maps(pred, pred_key: tuple, title: str, label: str) -> None:
    """Every channel of the prediction, a page at a time (a slider when there are several)."""
    pages = channel_tiling(pred.prob.shape, max_bytes=LAYER_BYTES).pages
    page = st.slider(f"Page of {label}es" if label == "class" else "Page of output channels",
                     1, pages, 1, key="inspector_out_page") if pages > 1 else 1
    fig = channels_chart(pred_key + ("out", page - 1), title, label, pred.prob)
    st.plotly_chart(fig, key="inspector_out_maps", config=PNG)


def _selection_mode(mouse: str) -> tuple[str, ...]:
    return ("box",) if mouse == DRAG else ("points",)


def _binary_view(pred, pred_key, inputs: Inputs, columns, on_select, mouse: str = CLICK) -> None:
    c2, c3 = columns
    prob = pred.prob[..., 0]
    membrane = inputs.chosen.task == "membrane"
    fig = _prob_figure(pred_key, _output_title("Output", mouse), prob, mouse)
    c2.plotly_chart(fig, key="inspector_prob", config=SMALL, selection_mode=_selection_mode(mouse),
                    on_select=on_select)
    text = ("Threshold: below it a pixel counts as membrane (label 0)" if membrane else
            "Threshold: at or above it a pixel counts as 1 (white)")
    threshold = st.slider(text, 0.05, 0.95, 0.5, 0.05, key="inspector_threshold")
    label = inputs.pic.label
    if membrane and label is not None:
        with timed("errors figure"):
            c3.plotly_chart(errors_figure(membrane_errors(prob, label, threshold=threshold),
                                          max_bytes=IMAGE_BYTES), key="inspector_errors", config=SMALL)
        st.caption("Red: membrane the model missed. Blue: membrane it saw where the label has cell.")
        with timed("scores"):
            s = _membrane_scores(pred_key, threshold, prob, label)
        m = st.columns(4)
        m[0].metric("Pixel error", f"{s.pixel_error:.3f}", help="Share of pixels in the wrong class.")
        m[1].metric("Membrane Dice", f"{s.dice:.3f}", help="2|P∩T| / (|P| + |T|) for membrane pixels.")
        m[2].metric("Membrane IoU", f"{s.iou:.3f}", help="|P∩T| / |P∪T| for membrane pixels.")
        m[3].metric("V_rand", f"{s.v_rand:.3f}", help="The ISBI 2012 challenge's score: how well the "
                    "cells the membranes enclose match the true cells (1 = perfectly).")
        return
    white = "white = cell" if membrane else "white = 1"
    c3.plotly_chart(image_figure((prob >= threshold).astype(np.float32), zmin=0, zmax=1,
                                 title=f"Output thresholded ({white})", max_bytes=IMAGE_BYTES),
                    key="inspector_mask", config=SMALL)
    if membrane:
        st.caption("No label for this input: pick the membrane sample or an ISBI slice for scores.")
    elif inputs.chosen.task == "inversion":
        x01 = inputs.pic.image if inputs.pic.image.ndim == 2 else inputs.pic.image.mean(axis=-1)
        err = float(np.abs(prob - (1.0 - x01)).mean())
        st.caption(f"This model learned to turn 8x8 black-and-white images into their negative: "
                   f"its output should be 1 − input. Here it is off by {err:.3f} on average.")
    elif label is not None:
        _class_table(prob >= threshold, label, 2)


def _classes_view(pred, pred_key, pic: Picture, columns, on_select, mouse: str = CLICK) -> None:
    c2, c3 = columns
    n = pred.prob.shape[-1]
    classes = np.argmax(pred.prob, axis=-1)  # (H, W)
    c2.plotly_chart(_class_figure(pred_key, classes, n, mouse), key="inspector_prob", config=SMALL,
                    selection_mode=_selection_mode(mouse), on_select=on_select)
    if pic.label is not None:
        with c3:
            _class_table(classes, pic.label, n)
    else:
        c3.caption("No label for this image, so no per-class Dice and IoU: with an image file, "
                   "upload its label beside it (class numbers as pixel values).")
    _output_maps(pred, pred_key, "Probability of each class", "class")


def _class_table(pred_classes, label, n: int) -> None:
    try:
        rows = class_scores(np.asarray(pred_classes, np.int64), label_classes(label, n), n)
    except ValueError as exc:
        st.error(f"The label: {exc}")
        return
    st.markdown("**Per-class scores against the label**")
    st.dataframe([{"class": r["class"], "Dice": round(r["dice"], 3), "IoU": round(r["iou"], 3),
                   "predicted px": r["predicted"], "true px": r["true"]} for r in rows],
                 hide_index=True)
