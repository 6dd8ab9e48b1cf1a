"""Build a U-Net: controls for its shape; the layer table, formulas and the U follow live."""

import pandas as pd
import streamlit as st

from pages._common import tour_nav
from pages._share import choice, flag, integer, share_view
from unetviz.config import (
    ACTIVATIONS,
    FILTER_GROWTHS,
    MAX_DEPTH,
    OUT_ACTIVATIONS,
    PRESETS,
    UPSAMPLING_KINDS,
    UNetConfigError,
    builder_config,
    builder_controls,
    count_params,
    explain_layer,
    formula_latex,
    layer_specs,
    param_totals,
    preset_name,
    summary_table,
)
from unetviz.figures import unet_diagram

st.title("Build a U-Net")

COPY = "builder_controls"  # widget values are dropped when the page is left; this copy is not
FIELDS = ["input_size", "depth", "first_filters", "growth", "convs_per_block", "decoder_convs",
          "upsampling", "up_kernel", "skips", "activation", "out_activation", "batch_norm",
          "head_filters", "out_kernel"]
KERNELS = [f"builder_kernel{i}" for i in range(MAX_DEPTH + 1)]
BIG = 5_000_000  # parameters above which training on a CPU gets slow
PRESET_LABELS = {"seed-simple": "The tutorial's first U-Net: it inverts 8x8 images",
                 "seed-membrane": "The tutorial's membrane U-Net, for 64x64 electron-microscope tiles",
                 "membrane-bn": "The membrane U-Net with batch norm after every convolution and a "
                                "plain 1x1 sigmoid head (the pretrained membrane-bn model)"}
UP_LABELS = {"upsample_conv": "copy, then conv", "transpose": "transposed conv"}


def load(controls: dict) -> None:
    """Make ``controls`` (as :func:`builder_controls` gives them) the page's values."""
    copy = {f"builder_{name}": controls[name] for name in FIELDS}
    st.session_state[COPY] = copy | dict(zip(KERNELS, controls["kernel_sizes"]))


def remember(key: str) -> None:
    st.session_state[COPY][key] = st.session_state[key]


if COPY not in st.session_state:
    load(builder_controls(PRESETS["seed-simple"]))
SEED = builder_controls(PRESETS["seed-simple"])
share_view("builder", [  # after the copy exists, before it is copied into the widgets
    *[integer(f"builder_{name}", SEED[name], lo, hi) for name, (lo, hi) in {
        "input_size": (1, 512), "depth": (0, MAX_DEPTH), "convs_per_block": (1, 3),
        "first_filters": (1, 64), "decoder_convs": (0, 3), "head_filters": (0, 16)}.items()],
    *[choice(f"builder_{name}", SEED[name], options) for name, options in {
        "growth": FILTER_GROWTHS, "activation": ACTIVATIONS, "upsampling": UPSAMPLING_KINDS,
        "out_activation": OUT_ACTIVATIONS, "up_kernel": (1, 2, 3, 4, 5), "out_kernel": (1, 3, 5)}.items()],
    flag("builder_skips", SEED["skips"]), flag("builder_batch_norm", SEED["batch_norm"]),
    *[choice(key, size, (1, 3, 5, 7)) for key, size in zip(KERNELS, SEED["kernel_sizes"])]], store=COPY)
for key, value in st.session_state[COPY].items():  # widgets start from the copy, every run
    st.session_state[key] = value


def kw(key: str) -> dict:
    """A control's key, and a callback that copies its new value into the copy."""
    return {"key": key, "on_change": remember, "args": (key,)}


st.markdown(
    "A U-Net is a **contracting path** that convolves and pools its way down to a small, "
    "many-channel summary (the bottom of the U), and an **expanding path** that up-samples its "
    "way back to full size. At each level the decoder **concatenates** the encoder's map of "
    "the same size, so fine detail skips the journey through the bottom."
)
st.markdown("Change the shape below; the diagram, the parameter count and the layer table "
            "follow at once. The model you end with is the one the **Train** page trains.")

st.markdown("**Start from one of the tutorial's two models**, or the membrane model with batch "
            "norm, then change anything:")
for col, key in zip(st.columns(len(PRESETS)), PRESETS):
    n = count_params(PRESETS[key])
    col.button(f"{key} ({n:,})", key=f"builder_preset_{key}",
               help=f"{PRESET_LABELS.get(key, key)}; {n:,} parameters.", on_click=load,
               args=(builder_controls(PRESETS[key]),),
               icon=":material/restart_alt:", width="stretch")

with st.container(border=True):
    a, b, c = st.columns(3)
    a.number_input("Input size (pixels a side)", 1, 512, **kw("builder_input_size"),
                   help="Each pooling halves it, so it must divide by 2 once per pooling.")
    a.slider("Depth (poolings)", 0, MAX_DEPTH, **kw("builder_depth"))
    a.slider("Convolutions per block", 1, 3, **kw("builder_convs_per_block"))
    b.number_input("Filters at level 1", 1, 64, **kw("builder_first_filters"))
    b.selectbox("Filters grow per level by", FILTER_GROWTHS, **kw("builder_growth"),
                help="x2 doubles the filters at every level down; +1 adds one.")
    b.selectbox("Activation", ACTIVATIONS, **kw("builder_activation"))
    c.radio("Up-sampling", UPSAMPLING_KINDS, format_func=UP_LABELS.get, **kw("builder_upsampling"),
            help="The tutorial copies each pixel into 2x2 (UpSampling2D), then convolves; a "
                 "transposed convolution learns the up-sampling in one layer.")
    c.selectbox("Output activation", OUT_ACTIVATIONS, **kw("builder_out_activation"))
    c.toggle("Skips", **kw("builder_skips"),
             help="Skip connections: concatenate each encoder level's output into the decoder.")
    c.toggle("Batch norm", **kw("builder_batch_norm"),
             help="Batch normalisation: conv (no bias) -> BatchNormalization -> activation.")
    depth = st.session_state[COPY]["builder_depth"]
    st.markdown("**Kernel size per level** (the decoder reuses its level's size)")
    for i, col in enumerate(st.columns(MAX_DEPTH + 1)):
        if i <= depth:
            label = "Bottom" if i == depth else f"Level {i + 1}"
            col.selectbox(label, (1, 3, 5, 7), **kw(KERNELS[i]))
    with st.expander("More: decoder convolutions, up-convolution and output kernels"):
        e, f = st.columns(2)
        e.slider("Convolutions after each concatenation", 0, 3, **kw("builder_decoder_convs"))
        e.slider("Filters of an extra 3x3 conv before the output", 0, 16,
                 **kw("builder_head_filters"), help="The membrane model has 2; 0 leaves it out.")
        f.selectbox("Up-convolution kernel", (1, 2, 3, 4, 5), **kw("builder_up_kernel"))
        f.selectbox("Output kernel", (1, 3, 5), **kw("builder_out_kernel"))

copy = st.session_state[COPY]
controls = {name: copy[f"builder_{name}"] for name in FIELDS}
controls["kernel_sizes"] = tuple(copy[key] for key in KERNELS)

try:
    config = builder_config(**controls)
    specs = layer_specs(config)
except UNetConfigError as err:
    st.error(f"**This combination cannot make a U-Net.** {err}", icon=":material/block:")
    kept = st.session_state.get("unet_config")
    if kept is not None:
        st.info(f"The Train page keeps the last U-Net that worked: {count_params(kept):,} "
                f"parameters for {kept.input_size}x{kept.input_size} inputs.")
else:
    st.session_state["unet_config"] = config
    totals = param_totals(specs)
    preset = preset_name(config)
    m1, m2 = st.columns(2)
    m1.metric("Parameters", f"{totals['total']:,}",
              help=f"{totals['trainable']:,} trained, {totals['non_trainable']:,} running statistics")
    m2.metric("Layers", len(specs))
    if totals["total"] > BIG:
        st.warning("A model this big trains slowly on a CPU; the Train page will take a while "
                   "per epoch. Fewer filters or a shallower U train much faster.")
    if preset:
        st.success(f"These settings give exactly the tutorial's **{preset}** model.",
                   icon=":material/check_circle:")
    diagram = st.container()  # drawn once the layer to highlight is known

    st.subheader("One layer, up close")
    st.markdown("Only convolutions (and batch normalisation) learn anything: each filter has a "
                "weight for every pixel of its window in every input channel, plus one bias. "
                "Pooling, up-sampling and concatenation just move numbers around. The image size "
                "never enters the count: try another input size and watch the total stay put.")
    names = [s.name for s in specs]
    if st.session_state.get("builder_layer") not in names:
        wanted = st.session_state.get("builder_layer_copy")
        st.session_state["builder_layer"] = wanted if wanted in names else names[1]
    layer = st.columns(2)[0].selectbox(
        "Layer", names, key="builder_layer",
        help="It is outlined in black in the diagram and shaded in the table.")
    st.session_state["builder_layer_copy"] = layer
    spec = specs[names.index(layer)]
    if spec.params:
        st.latex(formula_latex(spec))
    else:
        st.markdown(f"**{layer}** ({spec.kind}) has no parameters to learn.")
    st.markdown(explain_layer(specs, layer))
    diagram.plotly_chart(unet_diagram(specs, highlight=layer), key="builder_u")
    diagram.caption("Rows are the levels of the U, labelled with their image size; a box's width "
                    "grows with its channels. Hover a box for its shape and parameter formula.")

    st.subheader("Layer table")
    st.caption("The same columns as Keras' `model.summary()`; the chosen layer is shaded.")
    shade = "background-color: rgba(76, 120, 168, 0.25)"
    rows = pd.DataFrame(summary_table(specs)).style.apply(
        lambda r: [shade if r.name == names.index(layer) else ""] * len(r), axis=1)
    st.dataframe(rows, hide_index=True, key="builder_table", height=min(38 + 35 * len(specs), 600),
                 column_config={"Layer (type)": st.column_config.TextColumn(width=190),
                                "Output shape": st.column_config.TextColumn(width=140),
                                "Param #": st.column_config.NumberColumn(format="localized", width=90)})
    st.markdown(f"**Total params: {totals['total']:,}** (trainable {totals['trainable']:,}, "
                f"non-trainable {totals['non_trainable']:,})")

tour_nav("pages/builder.py")
