"""Look inside: every layer's activations and filters, and what one pixel of it can see."""

import gc
from functools import partial
from pathlib import Path

import streamlit as st

from pages._common import tour_nav
from pages._input import image_input

st.title("Look inside")

from unetviz.data import DataError, read_isbi_folder  # noqa: E402
from unetviz.figures import unet_diagram  # noqa: E402
from unetviz.inspect_figures import (  # noqa: E402
    channel_tiling,
    channels_figure,
    errors_figure,
    filters_figure,
    image_figure,
)
from unetviz.inspection import Inspector, gradient_summary, membrane_errors, sample_label  # noqa: E402
from unetviz.metrics import segmentation_scores  # noqa: E402
from unetviz.model import ModelLoadError, load_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED = {"Pretrained: membrane": ROOT / "pretrained" / "membrane.keras",
              "Pretrained: inversion": ROOT / "pretrained" / "inversion.keras"}
SOURCES = (*PRETRAINED, "Trained on the Train page", "Upload a .keras file")
ISBI = ROOT.parent / "shared" / "data" / "isbi2012-membrane"
PNG = {"displayModeBar": True, "displaylogo": False, "toImageButtonOptions": {"scale": 2}}
# Narrow columns: only the PNG, reset and full-screen buttons, so the bar does not cover the title.
SMALL = {**PNG, "modeBarButtonsToRemove": ["zoom", "pan", "zoomIn", "zoomOut", "autoScale", "select",
                                           "lasso", "toggleSpikelines"]}
ABOUT = {"MaxPooling2D": "keeps the largest value of every 2x2 block, halving the size",
         "UpSampling2D": "repeats every pixel into a 2x2 block, doubling the size",
         "Concatenate": "stacks the channels of its inputs: the skip's channels come first",
         "InputLayer": "is the image itself"}


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def pretrained(path: str, mtime: float) -> Inspector:
    ins = Inspector(load_model(path))  # mtime: a rewritten checkpoint is loaded again
    # Streamlit clears the Keras session after every run, with a full gc.collect() over
    # TensorFlow's millions of objects (about 0.4 s); frozen objects are skipped.
    gc.freeze()
    return ins


@st.cache_data(max_entries=64, show_spinner=False)
def u_figure(specs, name: str):
    return unet_diagram(specs, highlight=name, height=300)  # many shapes: slow to build


@st.cache_data(max_entries=8, show_spinner=False)
def isbi_slice(folder: str, index: int):
    d = read_isbi_folder(folder, [index])
    return d.images[0], d.labels[0]


def choose_model():
    """The Inspector for the chosen model and the epoch weights to use, or None with a message."""
    source = st.radio("Model", SOURCES, horizontal=True, key="inspector_model")
    if source in PRETRAINED:
        path = PRETRAINED[source]
        if not path.is_file():
            st.warning(f"{path.name} is not there yet: run `python -m unetviz.pretrain "
                       f"{path.stem}` to make it, or pick another model.")
            return None
        card = path.with_suffix(".md")
        if card.is_file():
            with st.expander("Model card"):
                st.markdown(card.read_text())
        try:
            return pretrained(str(path), path.stat().st_mtime)
        except ModelLoadError as exc:
            st.error(f"{path.name}: {exc}")
            return None
    if source == "Upload a .keras file":
        up = st.file_uploader("A Keras 3 model saved with model.save('name.keras')", type=["keras"],
                              key="inspector_upload")
        if up is None:
            st.info("Upload a .keras file to look inside it. Only Keras' own layers are loaded; "
                    "no code in the file is ever run.")
            return None
        held = st.session_state.get("inspector_uploaded")
        if held is None or held[0] != (up.name, up.size):
            try:
                held = ((up.name, up.size), Inspector(load_model(up.getvalue())))
            except ModelLoadError as exc:
                st.error(f"{up.name}: {exc}")
                return None
            st.session_state["inspector_uploaded"] = held
        return held[1]
    job = st.session_state.get("train_job")
    if job is None or not hasattr(job, "weights_copy"):
        st.info("No model has been trained in this session yet: train one on the Train page, "
                "then come back to watch its layers change over the epochs.")
        return None
    snaps = list(getattr(job, "snapshots", []) or [])
    held = st.session_state.get("inspector_job")
    if held is None or held[0] != (id(job), len(snaps), snaps[-1][0] if snaps else None):
        held = ((id(job), len(snaps), snaps[-1][0] if snaps else None), Inspector(job.weights_copy()))
        st.session_state["inspector_job"] = held
    ins = held[1]
    st.caption(f"Training status: {getattr(job, 'status', '?')}, {getattr(job, 'epoch', 0)} epochs.")
    if len(snaps) > 1:
        epochs = [e for e, _ in snaps]
        epoch = st.select_slider("Weights after epoch", epochs, value=epochs[-1], key="inspector_epoch",
                                 help="Slide to watch the filters and activations change as it learned.")
        ins.set_weights(dict(snaps)[epoch])
    return ins


def choose_input(ins: Inspector):
    """The model-ready (n, n) image and its 0/1 label (None when there is none)."""
    folder = str(ISBI) if ISBI.is_dir() else ""
    kinds = ["Sample, drawing or upload", "ISBI slice"] if ins.input_size in (None, 64) else []
    kind = st.radio("Input from", kinds, horizontal=True, key="inspector_input_kind") if kinds else ""
    if kind == "ISBI slice":
        folder = st.text_input("ISBI folder (train/image/N.png, train/label/N.png)", folder,
                               key="inspector_isbi_folder")
        c1, c2, c3, c4 = st.columns(4)
        index = c1.number_input("Slice", 0, 999, 25, key="inspector_isbi_slice")
        try:
            image, label = isbi_slice(folder, int(index))
        except DataError as exc:
            st.error(str(exc))
            return None, None
        side = min(image.shape)
        sizes = [n for n in (64, 128, 256, 512) if n <= side] or [side]
        crop = ins.input_size or (c2.select_slider("Crop size", sizes, sizes[0], key="inspector_isbi_crop")
                                  if len(sizes) > 1 else sizes[0])
        if crop > side:
            st.error(f"This model takes {crop}x{crop} images; the slice is only {side} pixels wide.")
            return None, None
        corner = []
        for column, text, n in ((c3, "Top", image.shape[0]), (c4, "Left", image.shape[1])):
            corner.append(column.slider(text, 0, n - crop, min(192, n - crop), 8,
                                        key=f"inspector_isbi_{text.lower()}_{crop}") if n > crop else 0)
        box = (slice(corner[0], corner[0] + crop), slice(corner[1], corner[1] + crop))
        return ins.prepare(image[box]), ins.prepare(label[box])
    grid = image_input("inspector", default_size=ins.input_size or 64, min_size=8, max_size=64,
                       default_sample="membrane")
    state = st.session_state.get("image_input", {})
    invert = st.checkbox("Invert: dark lines on a light background, as membranes look in the "
                         "micrographs", value=state.get("source") == "Draw",
                         key=f"inspector_invert_{state.get('source')}")
    x = ins.prepare(grid, invert=invert)
    if x.shape != grid.shape:
        st.caption(f"Resized from {grid.shape[0]}x{grid.shape[0]} to {x.shape[0]}x{x.shape[0]}, "
                   "a size this model accepts.")
    return x, sample_label(state.get("sample"), x.shape[0]) if state.get("source") == "Sample" else None


def pick_layer():
    """U-diagram click callback: the clicked box's layer becomes the one shown."""
    points = st.session_state["inspector_u"].selection.points
    custom = points[0].get("customdata") if points else None
    if custom:
        st.session_state["inspector_layer"] = custom[0]


def clicked(chart_key: str, layer: str | None = None):
    """Chart-click callback: make the clicked pixel the one whose receptive field is shown."""
    points = st.session_state[chart_key].selection.points
    if not points:
        return
    if layer is not None:  # the output map: switch to the output layer
        st.session_state["inspector_layer"], st.session_state["inspector_rf_ch"] = layer, 0
    st.session_state["inspector_rf_row"] = int(points[0]["y"])
    st.session_state["inspector_rf_col"] = int(points[0]["x"])


st.markdown("Pick a model and an image. Every layer's output (its **activations**) comes from one "
            "pass of the image through the model; the **filters** are the weights it learned. "
            "Hover over any map for exact values; the camera icon at the top right of each figure "
            "saves it as a PNG.")
ins = choose_model()
if ins is not None:
    x, label = choose_input(ins)
if ins is not None and x is not None:
    acts = ins.activations(x)
    out_name = ins.layers[-1].name
    prob = acts[out_name][..., 0]
    st.subheader("What the model predicts")
    threshold = st.slider("Threshold: below it a pixel counts as membrane (label 0)", 0.05, 0.95, 0.5,
                          0.05, key="inspector_threshold")
    c1, c2, c3 = st.columns([1, 1.1, 1.3])
    c1.plotly_chart(image_figure(x, title="Input", zmin=0, zmax=1), key="inspector_in", config=SMALL)
    c2.plotly_chart(image_figure(prob, title="Output: click a pixel", colorbar="output",
                                 zmin=0, zmax=1, clickable=True), key="inspector_prob", config=SMALL,
                    selection_mode="points", on_select=partial(clicked, "inspector_prob", out_name))
    if label is not None:
        c3.plotly_chart(errors_figure(membrane_errors(prob, label, threshold=threshold)),
                        key="inspector_errors", config=SMALL)
        st.caption("Red: membrane the model missed. Blue: membrane it saw where the label has cell.")
        s = segmentation_scores(prob, label, threshold=threshold)
        m1, m2, m3 = st.columns(3)
        m1.metric("Pixel error", f"{s.pixel_error:.3f}", help="Share of pixels in the wrong class.")
        m2.metric("Membrane Dice", f"{s.dice:.3f}", help="2|P∩T| / (|P| + |T|) for membrane pixels.")
        m3.metric("Membrane IoU", f"{s.iou:.3f}", help="|P∩T| / |P∪T| for membrane pixels.")
    else:
        c3.plotly_chart(image_figure((prob >= threshold).astype("float32"), zmin=0, zmax=1,
                                     title="Output thresholded (white = cell)"), key="inspector_mask",
                        config=SMALL)
        st.caption("No label for this input: pick the membrane sample or an ISBI slice for scores.")

    st.subheader("Activations, layer by layer")
    st.markdown("Each layer turns the image into channels: one map per filter. Near the input they "
                "look like the image with some edges or tones picked out; further down the U they "
                "are smaller and harder to name, because each is a mix of mixes. Pooling, "
                "up-sampling and concatenation have no weights, yet their maps show exactly what "
                "they do to the data.")
    names = [v.name for v in ins.layers]
    if st.session_state.get("inspector_layer") not in names:
        st.session_state["inspector_layer"] = names[1]
    name = st.selectbox("Layer, in the order of the U", names, key="inspector_layer",
                        format_func=lambda n: ins.layer(n).label)
    view = ins.layer(name)
    specs = ins.specs({n: a.shape for n, a in acts.items()})
    if specs is not None:
        st.plotly_chart(u_figure(specs, name), key="inspector_u", config=SMALL, selection_mode="points",
                        on_select=pick_layer)
        st.caption("Click a box of the U to look at that layer.")
    act = acts[name]
    pages = channel_tiling(act.shape).pages
    page = st.slider("Page of channels", 1, pages, 1, key=f"inspector_page_{name}") if pages > 1 else 1
    tiling = channel_tiling(act.shape, page=page - 1)
    st.plotly_chart(channels_figure(act, tiling, title=f"{name}: channels {tiling.start} to "
                                    f"{tiling.start + tiling.count - 1} of {act.shape[-1]}, "
                                    f"{act.shape[0]}x{act.shape[1]} each"),
                    key="inspector_acts", config=PNG)
    if view.skip_to:
        st.caption(f"This map is also copied across the U into {view.skip_to} (a skip connection).")
    if view.skip_from:
        st.caption(f"Its first {acts[view.skip_from].shape[-1]} channels are {view.skip_from}, copied "
                   "across the U; the rest come up from below.")

    st.subheader("Filters")
    st.markdown("The numbers the layer learned. On their own they often look like noise: an "
                "activation map usually says more about what a filter does than its weights do.")
    if view.has_filters:
        kernel, _ = ins.kernel(name)
        f, _, n_ch, n_f = kernel.shape
        mode = st.radio("Colours", ["layer", "zero"], horizontal=True, key="inspector_filter_mode",
                        format_func={"layer": "Whole layer scaled to 0..1 (the tutorial's view)",
                                     "zero": "Zero-centred: white = 0, red > 0, blue < 0"}.get)
        c1, c2 = st.columns(2)
        ch0 = c1.slider("First input channel", 0, n_ch - 1, 0, 4, key=f"inspector_fch_{name}") \
            if n_ch > 4 else 0
        f0 = c2.slider("First filter", 0, n_f - 1, 0, 16, key=f"inspector_ff_{name}") if n_f > 16 else 0
        st.plotly_chart(filters_figure(kernel, mode=mode, channel_start=ch0, filter_start=f0),
                        key="inspector_filters", config=PNG)
        st.caption(f"{n_f} filters of {f}x{f}x{n_ch}. Each block is one input channel; in it, tile fk "
                   "is the part of filter k that reads that channel. The blocks of filter k together "
                   "make output channel k.")
    else:
        st.info(f"{name} is a {view.kind} layer: it has no weights, so no filters. It "
                f"{ABOUT.get(view.kind, 'reshapes what it receives')}.")

    st.subheader("What one pixel can see")
    limits = {"inspector_rf_ch": (act.shape[-1], "Channel"), "inspector_rf_row": (act.shape[0], "Row"),
              "inspector_rf_col": (act.shape[1], "Column")}
    picked = []
    for column, (key, (n, text)) in zip(st.columns(3), limits.items()):
        st.session_state[key] = min(st.session_state.get(key, 0 if key == "inspector_rf_ch" else n // 2),
                                    n - 1)
        picked.append(int(column.number_input(text, 0, n - 1, key=key)))
    c, r, col = picked
    try:
        field = ins.receptive_field(name, r, col, size=x.shape)
        grad = ins.input_gradient(x, name, r, col, channel=c)
    except ValueError as exc:  # a layer the receptive-field rules do not know
        field = None
        st.warning(f"No receptive field for this pixel: {exc}")
    if field is not None:
        stats = gradient_summary(grad, field)
        st.markdown(f"Channel {c}, row {r}, column {col} of **{name}** (click a pixel of the map on the "
                    "left or of the output above, or type its numbers). In theory it depends on a "
                    f"**{field.rows}x{field.cols}** window of the input ({stats['window']} pixels inside "
                    f"the image, outlined in red). For this image, **{stats['used']}** input pixels change "
                    "it at all: that is its effective receptive field. The right-hand map is the gradient "
                    "of the pixel with respect to every input pixel (zoomed in on the window when it is "
                    "small): red raises the pixel, blue lowers it.")
        st.latex(r"r_{\text{out}} = r_{\text{in}} + (k - 1)\,j, \qquad j \to 2j \text{ after each pooling}")
        c0, c1, c2 = st.columns(3)
        c0.plotly_chart(image_figure(act[..., c], title=f"{name} ch {c}: click", diverging=None,
                                     colorbar="value", marker=(r, col), clickable=True),
                        key="inspector_pick", config=SMALL, selection_mode="points",
                        on_select=partial(clicked, "inspector_pick"))
        c1.plotly_chart(image_figure(x, title="Input, window", zmin=0, zmax=1,
                                     box=field), key="inspector_rf_in", config=SMALL)
        c2.plotly_chart(image_figure(grad, title="Gradient", diverging=True,
                                     colorbar="d pixel / d input", box=field,
                                     focus=field if field.rows * 3 < x.shape[0] else None),
                        key="inspector_rf_grad", config=SMALL)
tour_nav("pages/inspector.py")
