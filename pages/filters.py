"""Filters: an edge detector on a real image, and why it gives what it gives."""

import pandas as pd
import streamlit as st

from pages._common import tour_nav
from pages._input import image_input
from pages._share import ImageLink, choice, share_view
from unetviz import filters as flt
from unetviz import ops
from unetviz.figures import edge_map, matrix_heatmap

BUILDERS = {"matrix_heatmap": matrix_heatmap, "edge_map": edge_map}


@st.cache_resource(max_entries=120, ttl=900, show_spinner=False)  # bounded: shared by all sessions
def fig(builder: str, *args, **kwargs):
    """A figure built once per distinct input; Streamlit copies it before sending, never mutates it."""
    return BUILDERS[builder](*args, **kwargs)


st.title("Filters")
share_view("filters", [choice("filters_patch", next(iter(flt.EDGE_PATCHES)),
                              [*flt.EDGE_PATCHES, "my own patch"])], image=ImageLink())
H = flt.PRESETS["horizontal edges (Sobel)"].kernel
V = flt.PRESETS["vertical edges (Sobel)"].kernel
st.markdown("A filter answers one question about every window of an image: *how much does "
            "this patch look like me?* The horizontal edge detector has a row of positive "
            "weights, a row of zeros and a row of negative weights, so it compares the row "
            "above each pixel with the row below.")
f1, f2 = st.columns(2)
f1.plotly_chart(fig("matrix_heatmap", H, title="Horizontal edge detector", diverging=True, height=240),
                key="filters_h")
f2.plotly_chart(fig("matrix_heatmap", V, title="Vertical edge detector (turned on its side)",
                               diverging=True, height=240), key="filters_v")

st.subheader("Edges in your image")
image = image_input("filters", default_size=32)
horizontal = ops.conv2d(image, H, padding="same")
vertical = ops.conv2d(image, V, padding="same")
limit = flt.nice_limit([horizontal, vertical])
g1, g2, g3 = st.columns(3)
g1.plotly_chart(fig("matrix_heatmap", image, title="Image", height=360), key="filters_image")
g2.plotly_chart(fig("edge_map", horizontal, title="Horizontal edges", positive="lighter above",
                         negative="lighter below", limit=limit), key="filters_hmap")
g3.plotly_chart(fig("edge_map", vertical, title="Vertical edges", positive="lighter left",
                         negative="lighter right", limit=limit), key="filters_vmap")
st.markdown("Red and blue show the **direction** of an edge, not only where it is. On the "
            "horizontal map the bottom edge of a bright shape is red (light above, dark below) "
            "and its top edge is blue. Flat areas, bright or dark, are white: 0. Perfectly "
            "vertical edges vanish from the horizontal map, while slanted ones show on both.")
hs, vs = flt.summarize(horizontal), flt.summarize(vertical)
st.caption(f"Horizontal edges from {hs.low:.3g} to {hs.high:.3g}; vertical "
           f"edges from {vs.low:.3g} to {vs.high:.3g}. Zero padding keeps the "
           "size, so a bright shape touching the border also gives an edge there.")

st.subheader("Why some patches give 0")
st.markdown("On one 3x3 patch the detector gives a single number. Pick a patch, or type your "
            "own below.")
names = [*flt.EDGE_PATCHES, "my own patch"]
choice = st.radio("Patch", names, horizontal=True, key="filters_patch")
patch = flt.EDGE_PATCHES.get(choice, flt.EDGE_PATCHES["horizontal edge"])
if choice == "my own patch":
    typed = st.data_editor(pd.DataFrame(patch), key="filters_own", hide_index=True)
    try:
        patch = flt.check_kernel(typed.to_numpy())
        if patch.shape != (3, 3):
            raise ValueError("The patch must be 3x3, like the filter.")
    except ValueError as exc:
        st.error(str(exc))
        tour_nav("pages/filters.py")
        st.stop()
one = ops.conv2d_step_at(patch, H, 0)
p1, p2, p3 = st.columns(3)
p1.plotly_chart(fig("matrix_heatmap", patch, title="Patch", diverging=True, height=240), key="filters_p")
p2.plotly_chart(fig("matrix_heatmap", H, title="Filter", diverging=True, height=240), key="filters_pf")
p3.plotly_chart(fig("matrix_heatmap", one.product[:, :, 0, 0], title="Patch x filter", diverging=True,
                               height=240), key="filters_pp")
st.markdown(f"Sum of patch x filter: **{round(float(one.value[0]), 9):g}**")  # no 1e-16 noise
st.markdown("The filter's bottom row is its top row with the sign flipped, and its middle row "
            "is zero. So whenever a patch's top row equals its bottom row, whatever they hold, "
            "the two cancel:")
st.latex(r"\begin{bmatrix}1&2&1\\0&0&0\\-1&-2&-1\end{bmatrix} \cdot"
         r"\begin{bmatrix}a&b&c\\x&y&z\\a&b&c\end{bmatrix} = (a + 2b + c) - (a + 2b + c) = 0")
st.markdown("That is why flat regions, vertical edges and even a line through the centre of "
            "the patch give 0: the middle row never counts.")

st.subheader("A line one pixel thick")
line = flt.single_pixel_line(9)
response = ops.conv2d(line, H, padding="same")
s1, s2 = st.columns(2)
s1.plotly_chart(fig("matrix_heatmap", line, title="A one-pixel line", height=340), key="filters_line")
s2.plotly_chart(fig("edge_map", response, title="Horizontal edges", positive="lighter above",
                         negative="lighter below", height=340), key="filters_line_map")
st.markdown(f"Centred on the line, the window gives 0 (the middle row does not count). One row "
            f"up, the line sits in the window's bottom row: **{response[3, 4]:g}**. One row "
            f"down, it sits in the top row: **{response[5, 4]:g}**. A thin line comes out as "
            "two signed rows: a dark-to-light edge and a light-to-dark edge.")
tour_nav("pages/filters.py")
