"""Convolution: a filter slides over an image, one window at a time."""

import pandas as pd
import streamlit as st

from pages._common import tour_nav
from pages._input import image_input
from pages._share import ImageLink, choice, flag, integer, share_view
from unetviz import filters as flt
from unetviz import ops
from unetviz.animation import conv_animation
from unetviz.figures import matrix_heatmap, partial_heatmap

BUILDERS = {"matrix_heatmap": matrix_heatmap, "partial_heatmap": partial_heatmap,
            "conv_animation": conv_animation}


@st.cache_resource(max_entries=120, ttl=900, show_spinner=False)  # bounded: shared by all sessions
def fig(builder: str, *args, **kwargs):
    """A figure built once per distinct input; Streamlit copies it before sending, never mutates it."""
    return BUILDERS[builder](*args, **kwargs)


st.title("Convolution")
WORKED = "tutorial's 5x5 example"
ACTIVATIONS = {"none": None, "ReLU": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
share_view("conv", [choice("conv_preset", next(iter(flt.PRESETS)), list(flt.PRESETS)),
                    choice("conv_fsize", 3, range(1, 8)), integer("conv_padding", 0, 0, 3),
                    integer("conv_stride", 1, 1, 3), integer("conv_dilation", 1, 1, 3),
                    integer("conv_step", 1, 1, 70 * 70), flag("conv_play"),
                    choice("conv_act", "none", list(ACTIVATIONS))],
           image=ImageLink(extras=[WORKED], default_sample=WORKED))

st.subheader("One window: multiply, then add")
st.markdown("A filter is a small table of weights. Lay it over a patch of the image the same "
            "size, multiply each pair of cells, and add the products: one number comes out.")
dot = ops.conv2d_step_at(flt.TUTORIAL_B, flt.TUTORIAL_A, 0)
c1, c2, c3 = st.columns(3)
c1.plotly_chart(fig("matrix_heatmap", flt.TUTORIAL_A, title="Filter A", height=220), key="conv_dot_a")
c2.plotly_chart(fig("matrix_heatmap", flt.TUTORIAL_B, title="Patch B", height=220), key="conv_dot_b")
c3.plotly_chart(fig("matrix_heatmap", dot.product[:, :, 0, 0], title="A x B, cell by cell", height=220),
                key="conv_dot_ab")
st.latex(r"A \cdot B = \sum_{i,j} A_{ij} B_{ij} = " + f"{dot.value[0]:g}")

st.subheader("Slide the filter over an image")
image = image_input("conv", extras={WORKED: flt.TUTORIAL_IMAGE}, default_sample=WORKED)
left, right = st.columns([3, 2])
with left:
    a, b = st.columns([3, 2])
    preset = a.selectbox("Filter preset", list(flt.PRESETS), key="conv_preset")
    size = b.select_slider("Filter size f", [1, 2, 3, 4, 5, 6, 7], value=3, key="conv_fsize")
    st.caption(flt.PRESETS[preset].blurb + " Edit any cell of the filter below.")
    table = st.data_editor(pd.DataFrame(flt.preset_kernel(preset, size)),
                           key=f"conv_filter_{preset}_{size}", hide_index=True)
with right:
    padding = st.slider("Padding p (zeros around the image)", 0, 3, 0, key="conv_padding")
    stride = st.slider("Stride s (pixels per move)", 1, 3, 1, key="conv_stride")
    dilation = st.slider("Dilation d (gaps inside the filter)", 1, 3, 1, key="conv_dilation")
try:
    kernel = flt.check_kernel(table.to_numpy())
    parts = ops.output_size_parts(image.shape[0], size, padding, stride, dilation)
except ValueError as exc:
    st.error(str(exc))
    tour_nav("pages/convolution.py")
    st.stop()
settings = {"stride": stride, "padding": padding, "dilation": dilation}

st.markdown("**How big is the output?** With the filter's span "
            r"$f_{\text{eff}} = d(f-1)+1$:")
st.latex(r"n_{\text{out}} = \left\lfloor \frac{n + 2p - f_{\text{eff}}}{s} \right\rfloor + 1"
         rf"= \left\lfloor \frac{{{parts.n} + 2 \cdot {parts.p} - {parts.f_eff}}}{{{parts.s}}}"
         rf"\right\rfloor + 1 = {parts.out}")
if parts.out == parts.n and parts.s == 1:
    st.caption("The output is as big as the input: with stride 1, padding "
               "p = (f_eff - 1) / 2 does that. Keras calls it padding='same'.")
if parts.leftover:
    st.info(f"{parts.room} (how far the window can travel) is not a multiple of the stride "
            f"{parts.s}, so the division is rounded down: the last {parts.leftover} row(s) and "
            "column(s) are never the start of a window. Change the padding or the stride to "
            "use every pixel.")

out = ops.conv2d(image, kernel, **settings)
total = out.size
st.session_state.setdefault("conv_step", 1)
st.session_state.conv_step = min(st.session_state.conv_step, total)


def _move(delta: int) -> None:
    st.session_state.conv_step = min(max(st.session_state.conv_step + delta, 1), total)


play = st.session_state.get("conv_play", False)
if total > 1 and not play:
    st.slider(f"Step: which output pixel to compute ({total} in all)", 1, total, key="conv_step")
with st.container(horizontal=True, vertical_alignment="center"):
    if not play:
        st.button("Back", key="conv_back", on_click=_move, args=(-1,), icon=":material/arrow_back:")
        st.button("Next", key="conv_next", on_click=_move, args=(1,), icon=":material/arrow_forward:")
    st.toggle("Play the whole slide as an animation", key="conv_play")
if play:
    st.plotly_chart(fig("conv_animation", image, kernel, **settings), key="conv_anim",
                    config={"displayModeBar": False})
    st.caption("Press Play under the figure. Switch the animation off to step one window at a "
               "time and see the numbers inside it.")
else:
    k = st.session_state.conv_step
    step = ops.conv2d_step_at(image, kernel, k - 1, **settings)
    padded = ops.conv2d_padded_input(image, kernel, **settings)
    signed = bool(out.min() < 0)
    lo, hi = float(padded.min()), float(padded.max())
    g1, g2 = st.columns(2)
    g1.plotly_chart(fig("matrix_heatmap", padded, height=380,
                        title="Image" + (" (padded with zeros)" if padding else ""),
                        window=(step.top, step.left, parts.f_eff, parts.f_eff)), key="conv_image")
    g2.plotly_chart(fig("partial_heatmap", ops.partial_output(out, k), title="Output so far",
                        height=380, diverging=signed, zmin=None if signed else float(out.min()),
                        zmax=None if signed else float(out.max())), key="conv_out")
    h1, h2, h3 = st.columns(3)
    h1.plotly_chart(fig("matrix_heatmap", step.region[:, :, 0], title="Window", height=240,
                        zmin=lo, zmax=hi), key="conv_win")
    h2.plotly_chart(fig("matrix_heatmap", kernel, title="Filter", diverging=True, height=240),
                    key="conv_k")
    h3.plotly_chart(fig("matrix_heatmap", step.product[:, :, 0, 0], title="Window x filter",
                        diverging=True, height=240), key="conv_prod")
    st.markdown(f"Step {k}: output pixel ({step.row}, {step.col}) = sum of window x filter = "
                f"**{step.value[0]:.4g}**")
summary = flt.summarize(out)
st.caption(f"Output map: {out.shape[0]}x{out.shape[1]}, values from {summary.low:.4g} to "
           f"{summary.high:.4g}. The red outline is the window"
           + (", every d-th pixel of it is used." if dilation > 1 else ".")
           + " On red/blue maps, red is positive, blue negative and white 0.")

st.subheader("Bias and activation")
st.markdown("A convolution layer then adds one number, the bias, to every pixel, and passes "
            "each pixel through an activation function. ReLU keeps positive values and turns "
            "negative ones into 0.")
limit, step_size = flt.slider_range(out)


def _tutorial_bias() -> None:
    st.session_state[f"conv_bias_{limit:g}"] = max(flt.TUTORIAL_BIAS, -limit)
    st.session_state.conv_act = "ReLU"


b1, b2 = st.columns([3, 2], vertical_alignment="bottom")
st.session_state.setdefault(f"conv_bias_{limit:g}", 0.0)
bias = b1.slider("Bias b", -limit, limit, step=step_size, key=f"conv_bias_{limit:g}")
act = b2.selectbox("Activation", list(ACTIVATIONS), key="conv_act")
st.button("Use the tutorial's choice: b = -10, then ReLU", key="conv_tutorial_bias",
          on_click=_tutorial_bias)
biased = ops.conv2d(image, kernel, bias=bias, **settings)
activated = ops.activate(biased, ACTIVATIONS[act])
m = flt.nice_limit([out, biased])
m_act = m if act in ("none", "ReLU") else 1.0  # sigmoid and tanh squash into (-1, 1)
m1, m2, m3 = st.columns(3)
m1.plotly_chart(fig("matrix_heatmap", out, title="Convolution", diverging=True, zmin=-m, zmax=m,
                    height=280), key="conv_map_raw")
m2.plotly_chart(fig("matrix_heatmap", biased, title=f"+ bias ({bias:g})", diverging=True,
                    zmin=-m, zmax=m, height=280), key="conv_map_bias")
m3.plotly_chart(fig("matrix_heatmap", activated, diverging=True, zmin=-m_act, zmax=m_act, height=280,
                    title="no activation" if act == "none" else f"after {act}"), key="conv_map_act")
after = flt.summarize(activated)
st.caption(f"After {act}: values from {after.low:.4g} to {after.high:.4g}; "
           f"{after.zeros} of {after.size} pixels are exactly 0.")

st.subheader("Convolution or cross-correlation?")
st.markdown("In mathematics a convolution turns the filter by 180 degrees before sliding it. "
            "CNN libraries skip the turn (strictly, that is *cross-correlation*); since the "
            "network learns its filters, the turn makes no difference to what it can learn. "
            "`scipy.ndimage.convolve` does turn the filter, so the two disagree unless the "
            "filter looks the same upside down. Both below pad with zeros to keep the size.")
try:
    cmp = flt.flip_comparison(image, kernel)
except ValueError as exc:
    st.info(str(exc))
else:
    x1, x2, x3 = st.columns(3)
    x1.plotly_chart(fig("matrix_heatmap", cmp.correlation, title="CNN (no turn)", diverging=True,
                        height=280), key="conv_corr")
    x2.plotly_chart(fig("matrix_heatmap", cmp.convolution, title="scipy (turned)",
                        diverging=True, height=280), key="conv_true")
    x3.plotly_chart(fig("matrix_heatmap", cmp.flipped, title="The turned filter", diverging=True,
                        height=280),
                    key="conv_flipped")
    st.caption("Same result: this filter looks the same turned around." if cmp.same else
               "Different results: try the identity or box blur, which look the same turned.")
tour_nav("pages/convolution.py")
