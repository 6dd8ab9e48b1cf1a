"""Pooling & up-sampling: shrink a map window by window, then grow it back three ways."""

import streamlit as st

from pages._common import tour_nav
from pages._input import image_input
from pages._share import ImageLink, choice, flag, integer, share_view
from unetviz import ops, steps
from unetviz.figures import heatmap_row, heatmap_row_animation

EXAMPLE = "worked example 6x6"
UP_SOURCES = ["worked example 3x3", "the max-pooled map above"]
MAX_STEPS = 64 * 64  # the most windows or pixels any step slider can have


def shape(a) -> str:
    return "x".join(str(n) for n in a.shape)


def _nudge(key: str, by: int, total: int) -> None:
    st.session_state[key] = min(max(st.session_state.get(key, 1) + by, 1), total)


def step_slider(label: str, total: int, key: str) -> int:
    """A 1..total step slider with Back/Next buttons; survives ``total`` shrinking."""
    if st.session_state.get(key, 1) > total:
        st.session_state[key] = total
    if total == 1:
        st.caption(f"{label}: 1 of 1")
        return 1
    k = st.slider(f"{label} ({total} in all)", 1, total, key=key)
    with st.container(horizontal=True):
        st.button("Back", icon=":material/arrow_back:", key=f"{key}_back",
                  on_click=_nudge, args=(key, -1, total))
        st.button("Next", icon=":material/arrow_forward:", key=f"{key}_next",
                  on_click=_nudge, args=(key, 1, total))
    return k


st.title("Pooling & up-sampling")
share_view("pooling", [integer("pooling_pool_size", 2, 1, 4), integer("pooling_pool_stride", 2, 1, 4),
                       flag("pooling_play"), integer("pooling_step", 1, 1, MAX_STEPS),
                       choice("pooling_up_source", UP_SOURCES[0], UP_SOURCES),
                       integer("pooling_up_step", 1, 1, MAX_STEPS),
                       choice("pooling_tfilter", next(iter(steps.TRANSPOSE_FILTERS)),
                              list(steps.TRANSPOSE_FILTERS)),
                       integer("pooling_t_step", 1, 1, MAX_STEPS)],
           image=ImageLink(extras=[EXAMPLE], default_sample=EXAMPLE))
st.markdown("The encoder half of a U-Net **pools**: it shrinks each map, keeping one number per "
            "window. The decoder half **up-samples** to grow the maps back to full size.")
image = image_input("pooling", extras={EXAMPLE: steps.POOL_EXAMPLE}, default_sample=EXAMPLE)

st.header("Max and average pooling")
c1, c2 = st.columns(2)
size = c1.slider("Pool size", 1, 4, 2, key="pooling_pool_size")
stride = c2.slider("Stride", 1, 4, 2, key="pooling_pool_stride",
                   help="Stride = size is usual: the windows then tile the map without overlap.")
try:
    total = steps.pool_step_count(image, size=size, stride=stride)
except ValueError as exc:
    st.error(str(exc))
    tour_nav("pages/pooling.py")
    st.stop()
play = st.toggle("Play all the windows as an animation", key="pooling_play")
if play:
    frames = steps.pool_frames(image, size=size, stride=stride)
    result = frames[-1].max_so_far
    st.plotly_chart(heatmap_row_animation(
        [[image, f.max_so_far, f.avg_so_far] for f in frames], animated=[1, 2], cell_font=11,
        windows=[[(f.step.top, f.step.left, size, size), (f.step.row, f.step.col, 1, 1),
                  (f.step.row, f.step.col, 1, 1)] for f in frames],
        labels=[str(f.done) for f in frames],
        titles=[f"input {shape(image)}", f"max pool {shape(result)}",
                f"average pool {shape(result)}"]), key="pooling_anim")
    st.caption("Press Play under the figure. Switch the animation off to step one window at a "
               "time and read its numbers.")
else:
    k = step_slider("Pooling step", total, "pooling_step")
    pmax = steps.pool_progress(image, k, size=size, stride=stride, mode="max")
    pavg = steps.pool_progress(image, k, size=size, stride=stride, mode="average")
    win, result = pmax.step, pmax.result
    cell = (win.row, win.col, 1, 1)
    st.plotly_chart(heatmap_row([image, pmax.so_far, pavg.so_far], shared_scale=True,
                                height=300, cell_font=11,
                                titles=[f"input {shape(image)}", f"max pool {shape(result)}",
                                        f"average pool {shape(pavg.result)}"],
                                windows=[(win.top, win.left, size, size), cell, cell]),
                    key="pooling_pool_fig")
    st.markdown(f"Window {k} of {total} (rows {win.top}-{win.bottom}, columns "
                f"{win.left}-{win.right}): max = **{pmax.step.value:.4g}**, "
                f"average = **{pavg.step.value:.4g}**.")
st.markdown(f"The map shrinks from {shape(image)} to **{shape(result)}**.")
st.latex(rf"\lfloor ({image.shape[0]} - {size}) / {stride} \rfloor + 1 = "
         rf"{ops.output_size(image.shape[0], size, s=stride)}"
         r"\quad\text{outputs per side}")
st.caption("Max pooling keeps the strongest response in each window; average pooling blurs. "
           "Either way the map has fewer pixels, so later layers cost less and each pixel "
           "sees more of the image.")

st.header("Up-sampling back")
src_name = st.radio("Map to up-sample", UP_SOURCES, horizontal=True, key="pooling_up_source")
src = steps.UPSAMPLE_EXAMPLE if src_name == UP_SOURCES[0] else result
nearest_tab, bilinear_tab, transpose_tab = st.tabs(
    ["Nearest: copying", "Bilinear: blending", "Transposed convolution"])
with nearest_tab:
    j = step_slider("Copy step", src.size, "pooling_up_step")
    up = steps.upsample_progress(src, j, factor=2)
    s = up.step
    st.plotly_chart(heatmap_row([src, up.so_far], shared_scale=True, height=320, cell_font=11,
                                titles=[f"input {shape(src)}", f"nearest 2x {shape(up.result)}"],
                                windows=[(s.row, s.col, 1, 1), (s.top, s.left, 2, 2)]),
                    key="pooling_up_fig")
    st.markdown(f"Pixel ({s.row}, {s.col}) = **{s.value:.4g}** is copied into the 2x2 block at "
                f"rows {s.top}-{s.bottom}, columns {s.left}-{s.right}. "
                f"{shape(src)} becomes **{shape(up.result)}**: four times the pixels, no new detail.")
with bilinear_tab:
    nearest, bilinear = ops.upsample(src, 2), ops.upsample(src, 2, "bilinear")
    st.plotly_chart(heatmap_row([src, nearest, bilinear],
                                titles=[f"input {shape(src)}", f"nearest {shape(nearest)}",
                                        f"bilinear {shape(bilinear)}"],
                                shared_scale=True, height=320, cell_font=10),
                    key="pooling_bilinear_fig")
    st.markdown("Bilinear up-sampling blends each new pixel from its nearest neighbours, so "
                "blocks become smooth ramps. Neither method can invent detail the small map "
                "lost; both have no weights to learn.")
with transpose_tab:
    fname = st.selectbox("Filter", list(steps.TRANSPOSE_FILTERS), key="pooling_tfilter")
    kern = steps.TRANSPOSE_FILTERS[fname]
    t = step_slider("Scatter step", src.size, "pooling_t_step")
    tp = steps.conv_transpose_progress(src, kern, t, stride=2)
    s = tp.step
    fh, fw = kern.shape
    st.plotly_chart(heatmap_row([src, s.contribution, tp.so_far], height=320, cell_font=10,
                                show_values=True if src.size <= 9 else None,
                                titles=[f"input {shape(src)}", f"pixel x filter ({fh}x{fw})",
                                        f"output so far {shape(tp.result)}"],
                                windows=[(s.row, s.col, 1, 1), None, (s.top, s.left, fh, fw)]),
                    key="pooling_t_fig")
    st.markdown(f"Pixel ({s.row}, {s.col}) = **{s.value:.4g}** multiplies the filter and the "
                f"product is **added** at rows {s.top}-{s.bottom}, columns "
                f"{s.left}-{s.right}; the next pixel lands 2 further on (stride 2), so "
                "bigger filters overlap and their numbers add up. A U-Net learns this filter.")
    st.latex(rf"({src.shape[0]} - 1) \cdot 2 + {fh} = {tp.result.shape[0]}"
             r"\quad\text{pixels per side}")
tour_nav("pages/pooling.py")
