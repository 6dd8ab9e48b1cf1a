"""The inspector's view window, layer by layer: activations, filters, one pixel's receptive field,
and which input pixels drove a region of the output. Each section is an ``st.fragment``."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from pages._inspect_grad import local_gradient
from pages._inspect_source import digest, shown
from pages._inspect_views import (
    IMAGE_BYTES,
    LAYER_BYTES,
    PNG,
    SMALL,
    Inputs,
    channels_chart,
    output_kind,
    timed,
)
from unetviz.attribution import region_gradient, region_mask_box, region_mask_class, seg_grad_cam
from unetviz.figures import unet_diagram
from unetviz.inspect_figures import channel_tiling, filters_figure, image_figure, overlay_figure
from unetviz.inspection import ReceptiveField, gradient_summary

ABOUT = {"MaxPooling2D": "keeps the largest value of every block, shrinking the map",
         "AveragePooling2D": "averages every block, shrinking the map",
         "UpSampling2D": "repeats (or interpolates) every pixel, enlarging the map",
         "InputLayer": "is the image itself"}
BOX, CLASS = "A box", "One class's predicted pixels"


@st.cache_data(max_entries=64, show_spinner=False)
def _u_figure(specs, name: str):
    return unet_diagram(specs, highlight=name, height=300)  # many shapes: slow to build


def _pick_layer() -> None:
    """U-diagram click callback: the clicked box's layer becomes the one shown."""
    points = st.session_state["inspector_u"].selection.points
    custom = points[0].get("customdata") if points else None
    if custom:
        st.session_state["inspector_layer"] = custom[0]


def _clicked(chart_key: str) -> None:
    """Chart-click callback: make the clicked pixel the one whose receptive field is shown."""
    points = st.session_state[chart_key].selection.points
    if points:
        st.session_state["inspector_rf_row"] = int(points[0]["y"])
        st.session_state["inspector_rf_col"] = int(points[0]["x"])



@st.fragment
def layer_section(inputs: Inputs) -> None:
    """Pick a layer; see its channels, its filters and what one of its pixels can see."""
    ins, win = inputs.chosen.ins, inputs.win
    st.subheader("Activations, layer by layer")
    st.markdown("Each layer turns the image into channels: one map per filter. Near the input they "
                "look like the image with some edges or tones picked out; further down the U they "
                "are smaller and harder to name, because each is a mix of mixes. Pooling, "
                "up-sampling and concatenation have no weights, yet their maps show exactly what "
                "they do to the data.")
    acts = inputs.acts
    if (win.h, win.w) != tuple(win.out):
        st.caption(f"This model gives back less than it takes (valid convolutions): the "
                   f"{win.w}x{win.h} input window gives a {win.out[1]}x{win.out[0]} output, the "
                   f"centre of the window ({win.offset[0]} pixels in from the top, {win.offset[1]} "
                   "from the left).")
    names = [v.name for v in ins.layers if acts.get(v.name) is not None and acts[v.name].ndim == 3]
    if st.session_state.get("inspector_layer") not in names:
        st.session_state["inspector_layer"] = names[min(1, len(names) - 1)]
    name = st.selectbox("Layer, in the order of the U", names, key="inspector_layer",
                        format_func=lambda n: ins.layer(n).label)
    view = ins.layer(name)
    specs = ins.specs({n: a.shape for n, a in acts.items()})
    if specs is not None:
        st.plotly_chart(_u_figure(specs, name), key="inspector_u", config=SMALL,
                        selection_mode="points", on_select=_pick_layer)
        st.caption("Click a box of the U to look at that layer.")
    act = acts[name]
    pages = channel_tiling(act.shape, max_bytes=LAYER_BYTES).pages
    page = st.slider(f"Page of channels (1 to {pages})", 1, pages, 1, key=f"inspector_page_{name}") \
        if pages > 1 else 1
    tiling = channel_tiling(act.shape, page=page - 1, max_bytes=LAYER_BYTES)
    title = (f"{name}: channels {tiling.start} to {tiling.start + tiling.count - 1} of {act.shape[-1]}, "
             f"{act.shape[0]}x{act.shape[1]} each")
    with timed("channels figure"):
        fig = channels_chart((inputs.chosen.key, inputs.x_key, name, page - 1), title, "ch", act)
    st.plotly_chart(fig, key="inspector_acts", config=PNG)
    if tiling.step > 1:
        st.caption(f"The maps are larger than the screen: 1 pixel in {tiling.step} along each side "
                   "is shown. Hover for the exact value of each pixel shown.")
    st.caption(view.caption() or view.description)
    if view.skips_to:
        st.caption(f"This map is also copied across the U into {', '.join(view.skips_to)} "
                   "(a skip connection).")
    _filters(ins, name, view)
    _pixel(inputs, name, act)


def _filters(ins, name: str, view) -> None:
    st.subheader("Filters")
    st.markdown("The numbers the layer learned. On their own they often look like noise: an "
                "activation map usually says more about what a filter does than its weights do.")
    weights = ins.kernels(name) if view.has_filters else {}
    kernels = {k: v for k, v in weights.items() if v.ndim == 4}
    if not kernels:
        what = ABOUT.get(view.kind, "reshapes or combines what it receives")
        st.info(f"{name} is a {view.kind} layer: it has no weights, so no filters. "
                + (f"It {what}." if view.kind in ABOUT else view.description))
        return
    mode = st.radio("Colours", ["layer", "zero"], horizontal=True, key="inspector_filter_mode",
                    format_func={"layer": "Whole layer scaled to 0..1 (the tutorial's view)",
                                 "zero": "Zero-centred: white = 0, red > 0, blue < 0"}.get)
    for i, (kname, kernel) in enumerate(kernels.items()):
        f, g, n_ch, n_f = kernel.shape
        suffix = "" if i == 0 else f"_{kname}"
        c1, c2 = st.columns(2)
        ch0 = c1.slider("First input channel", 0, n_ch - 1, 0, 4, key=f"inspector_fch_{name}{suffix}") \
            if n_ch > 4 else 0
        f0 = c2.slider("First filter", 0, n_f - 1, 0, 16, key=f"inspector_ff_{name}{suffix}") \
            if n_f > 16 else 0
        st.plotly_chart(filters_figure(kernel, mode=mode, channel_start=ch0, filter_start=f0),
                        key=f"inspector_filters{suffix}", config=PNG)
        if kname == "depthwise_kernel":
            st.caption(f"Depthwise weights: {n_ch} input channels, {n_f} filter(s) of {f}x{g} each; "
                       "each filter reads one channel only.")
        elif kname == "pointwise_kernel":
            st.caption(f"Pointwise weights: {n_f} filters of 1x1x{n_ch} mix the depthwise results "
                       "into the output channels.")
        elif view.kind == "Conv2DTranspose":
            st.caption(f"{n_ch} filters of {f}x{g}: Keras stores a transposed convolution's weights "
                       f"as (f, f, output channels, input channels), so each block here is an output "
                       f"channel and tile fk reads input channel k.")
        else:
            st.caption(f"{n_f} filters of {f}x{g}x{n_ch}. Each block is one input channel; in it, "
                       "tile fk is the part of filter k that reads that channel. The blocks of "
                       "filter k together make output channel k.")


def _pixel(inputs: Inputs, name: str, act: np.ndarray) -> None:
    ins, x = inputs.chosen.ins, inputs.x
    st.subheader("What one pixel can see")
    limits = {"inspector_rf_ch": (act.shape[-1], "Channel"), "inspector_rf_row": (act.shape[0], "Row"),
              "inspector_rf_col": (act.shape[1], "Column")}
    if st.session_state.get("inspector_rf_image") != inputs.pic.key:  # a new image: its centre
        for key in ("inspector_rf_row", "inspector_rf_col"):
            st.session_state.pop(key, None)
        st.session_state["inspector_rf_image"] = inputs.pic.key
    picked = []
    for column, (key, (n, text)) in zip(st.columns(3), limits.items()):
        st.session_state[key] = min(st.session_state.get(key, 0 if key == "inspector_rf_ch" else n // 2),
                                    n - 1)
        picked.append(int(column.number_input(text, 0, n - 1, key=key)))
    c, r, col = picked
    try:
        field = ins.receptive_field(name, r, col, size=x.shape[:2])
        with timed("input gradient"):
            grad = local_gradient(ins, x, name, r, col, channel=c, field=field)
    except ValueError as exc:  # a layer the receptive-field rules do not know
        st.warning(f"No receptive field for this pixel: {exc}")
        return
    stats = gradient_summary(grad, field)
    st.markdown(f"Channel {c}, row {r}, column {col} of **{name}** (click a pixel of the map on the "
                "left or of the output above, or type its numbers). In theory it depends on a "
                f"**{field.rows}x{field.cols}** window of the input ({stats['window']} pixels inside "
                f"the image, outlined in red). For this image, **{stats['used']}** input pixels change "
                "it at all: that is its effective receptive field. The right-hand map is the gradient "
                "of the pixel with respect to every input pixel (zoomed in on the window when it is "
                "small): red raises the pixel, blue lowers it.")
    st.latex(r"r_{\text{out}} = r_{\text{in}} + (k - 1)\,j, \qquad j \to 2j \text{ after each pooling}")
    x01 = shown(inputs.win.crop(inputs.pic.image))
    c0, c1, c2 = st.columns(3)
    c0.plotly_chart(image_figure(act[..., c], title=f"{name} ch {c}: click", diverging=None,
                                 colorbar="value", marker=(r, col), clickable=True,
                                 max_bytes=IMAGE_BYTES * 2),
                    key="inspector_pick", config=SMALL, selection_mode="points",
                    on_select=partial(_clicked, "inspector_pick"))
    c1.plotly_chart(image_figure(x01, title="Input, window", zmin=0, zmax=1, box=field,
                                 max_bytes=IMAGE_BYTES), key="inspector_rf_in", config=SMALL)
    c2.plotly_chart(image_figure(grad, title="Gradient", diverging=True, colorbar="d pixel / d input",
                                 box=field, focus=field if field.rows * 3 < x.shape[0] else None,
                                 max_bytes=IMAGE_BYTES), key="inspector_rf_grad", config=SMALL)


# ---------------------------------------------------------------- region attribution


@st.cache_resource(max_entries=4, show_spinner="Following the region back to the input...")
def _drivers(key: tuple, _ins, _x, _mask, channel: int, layer: str):
    grad = region_gradient(_ins.model, _x, _mask, channel=channel)  # (H, W)
    cam = seg_grad_cam(_ins.tap([layer, _ins.output_name]), _x, _mask, channel=channel)  # (H, W)
    return grad, cam


def _region_mask(inputs: Inputs, out: np.ndarray):
    """The chosen region as an (oh, ow) mask of the window's output and the score's channel."""
    ins, win = inputs.chosen.ins, inputs.win
    kind, n = output_kind(ins), out.shape[-1]
    how = st.radio("Region", (BOX, CLASS), horizontal=True, key="inspector_region_how")
    if kind == "classes":
        channel = int(st.selectbox("Score of class", range(n), key="inspector_region_class"))
    elif n > 1:
        channel = int(st.selectbox("Score of output channel", range(n), key="inspector_region_class"))
    else:
        channel = 0
    if how == CLASS:
        if kind == "classes":
            k = channel
        else:
            k = int(st.radio("Class", (1, 0), horizontal=True, key="inspector_region_binary",
                             format_func={1: "1: at or above the threshold",
                                          0: "0: below the threshold"}.get))
        threshold = float(st.session_state.get("inspector_threshold", 0.5))
        return region_mask_class(out if n > 1 else out[..., 0], k, threshold=threshold), channel
    oy, ox = win.top + win.offset[0], win.left + win.offset[1]  # output (0, 0) in image pixels
    (oh, ow) = win.out
    defaults = {"top": oy + oh * 3 // 8, "left": ox + ow * 3 // 8,
                "bottom": oy + oh * 5 // 8 + 1, "right": ox + ow * 5 // 8 + 1}
    frame = (oy, ox, oh, ow)
    if st.session_state.get("inspector_region_frame") != frame:  # another model or window
        st.session_state["inspector_region_frame"] = frame
        if not st.session_state.pop("inspector_region_dragged", False):
            st.session_state.update({f"inspector_region_{k}": v for k, v in defaults.items()})
    values = {}
    for column, (side, default) in zip(st.columns(4), defaults.items()):
        st.session_state.setdefault(f"inspector_region_{side}", default)  # a drag may set it
        values[side] = int(column.number_input(
            f"{side.capitalize()} {'row' if side in ('top', 'bottom') else 'column'}"
            + (" (excluded)" if side in ("bottom", "right") else ""), 0, 100_000,
            key=f"inspector_region_{side}"))
    st.caption(f"Image pixels; the model's output for the view window covers rows {oy} to "
               f"{oy + oh - 1} and columns {ox} to {ox + ow - 1}. Or drag a box on the output above "
               "(with \"Drag: pick a region\" chosen there).")
    top, bottom = max(values["top"] - oy, 0), min(values["bottom"] - oy, oh)
    left, right = max(values["left"] - ox, 0), min(values["right"] - ox, ow)
    return region_mask_box((oh, ow), top, left, bottom, right), channel


@st.fragment
def region_section(inputs: Inputs) -> None:
    """The gradient of a region's mean score w.r.t. the input, and Seg-Grad-CAM for one layer."""
    ins, x = inputs.chosen.ins, inputs.x
    st.subheader("Which pixels drove this region")
    st.markdown("Pick a region of the output. The **gradient** of its mean score with respect to "
                "every input pixel says which pixels, made brighter, would raise it (red) or lower "
                "it (blue). **Seg-Grad-CAM** (Vinogradova et al. 2020) asks a chosen layer instead: "
                "it weighs the layer's channels by how much the region's score depends on them.")
    acts = inputs.acts
    out = acts[ins.output_name]  # (oh, ow, C)
    try:
        mask, channel = _region_mask(inputs, out)
    except ValueError as exc:
        st.error(f"{exc}")
        return
    spatial = [v.name for v in ins.layers[1:-1] if acts[v.name].ndim == 3]
    # Of the smallest maps, the one with the most channels, the last of those: the bottleneck's
    # output, not the pooling that enters it nor a one-channel attention map beside it.
    deepest = min(reversed(spatial), key=lambda n: (acts[n].shape[0] * acts[n].shape[1],
                                                    -acts[n].shape[-1])) if spatial else None
    if deepest is None:
        st.info("This model has no inner layer for Grad-CAM.")
        return
    layer = st.selectbox("Layer for Grad-CAM", spatial, index=spatial.index(deepest),
                         key="inspector_cam_layer", format_func=lambda n: ins.layer(n).label)
    key = (inputs.chosen.key, inputs.x_key, digest(np.packbits(mask).tobytes(), mask.shape),
           channel, layer)
    clicked = st.button("Show which pixels drove it", key="inspector_region_go", type="primary")
    st.caption(f"The region has {int(mask.sum())} output pixels. The answer takes about two passes "
               "through the model.")
    if not clicked and st.session_state.get("inspector_region_key") != key:
        return
    st.session_state["inspector_region_key"] = key
    try:
        grad, cam = _drivers(key, ins, x, mask, channel, layer)
    except ValueError as exc:
        st.error(f"{inputs.chosen.name}: {exc}")
        return
    x01 = shown(inputs.win.crop(inputs.pic.image))
    rows, cols = np.nonzero(mask)
    oy, ox = inputs.win.offset
    top, left, bottom, right = rows.min() + oy, cols.min() + ox, rows.max() + oy, cols.max() + ox
    box = ReceptiveField(int(top), int(left), int(bottom), int(right), int(bottom - top + 1),
                         int(right - left + 1))  # the region's outline, in window pixels
    c1, c2 = st.columns(2)
    c1.plotly_chart(image_figure(grad, title="Gradient of the region's mean score", diverging=True,
                                 colorbar="d score / d input", box=box, max_bytes=IMAGE_BYTES),
                    key="inspector_region_grad", config=SMALL)
    c2.plotly_chart(overlay_figure(x01, cam, title=f"Seg-Grad-CAM at {layer}", colorbar="weight",
                                   box=box, max_bytes=IMAGE_BYTES),
                    key="inspector_region_cam", config=SMALL)
    st.caption("The red outline holds the region (in input pixels). Grad-CAM maps are as coarse as "
               "the layer: a deep layer gives a blurry but meaningful map.")

