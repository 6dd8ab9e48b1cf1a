"""Channels: many filters stack into channels; a multi-channel filter convolves each and sums."""

import streamlit as st

from pages._common import tour_nav
from pages._input import image_input
from pages._share import ImageLink, choices, integer, share_view
from unetviz import channels as ch
from unetviz.figures import conv_2d_vs_3d, heatmap_row

EXAMPLE = "worked example 9x9"
FILTERS = list(ch.EXAMPLE_FILTERS)

st.title("Channels")
# Defaults of None follow other settings on the page, so the link always carries them.
share_view("channels", [choices("channels_filters", FILTERS, FILTERS), integer("channels_f", 3, 1, 7),
                        integer("channels_c", None, 1, 256), integer("channels_k", 3, 1, 256),
                        integer("channels_depth", 5, 1, 8), integer("channels_fdepth", None, 1, 8)],
           image=ImageLink(extras=[EXAMPLE], default_sample=EXAMPLE))
st.markdown("One filter turns an image into one new map. A layer uses many filters, and "
            "their maps are **stacked** like the red, green and blue channels of a photo: "
            "each channel says something different about the same pixels.")
image = image_input("channels", extras={EXAMPLE: ch.EXAMPLE_IMAGE}, default_sample=EXAMPLE)
names = st.multiselect("Filters in the first layer", FILTERS, default=FILTERS, key="channels_filters",
                       help="Each filter you keep adds one channel to the layer's output.")
if not names:
    st.warning("Choose at least one filter: a layer with no filters has no output.")
    tour_nav("pages/channels.py")
    st.stop()
filters = [ch.EXAMPLE_FILTERS[n] for n in names]
maps = ch.feature_maps(image, filters)  # (H, W, K)
shape_in = f"{image.shape[0]}x{image.shape[1]}x1"
shape_out = "x".join(str(n) for n in maps.shape)

st.header("Many filters make many channels")
st.plotly_chart(heatmap_row(filters, titles=names, diverging=True, height=170),
                key="channels_filter_row")
st.plotly_chart(heatmap_row([maps[:, :, k] for k in range(maps.shape[2])], titles=names,
                            diverging=True, height=220, show_values=False),
                key="channels_map_row")
st.markdown(f"The {shape_in} image went through {len(names)} filter(s) and came out as a "
            f"**{shape_out}** stack: one channel per filter. Red is positive and blue negative "
            "(each map has its own range; hover for the numbers). Zero padding keeps every map "
            "the input's size.")

st.header("A filter with one channel per input channel")
st.markdown(f"The next layer sees a {len(names)}-channel image, so each of its filters has "
            f"{len(names)} channels too. Channel *c* of the filter slides over channel *c* of "
            "the image, and the results are **added** into a single map.")
multi = ch.EXAMPLE_MULTI_FILTER[:, :, [list(ch.EXAMPLE_FILTERS).index(n) for n in names]]
parts = ch.channel_parts(maps, multi)
c1, c2, _ = st.columns([1, 1, 2])
r = c1.number_input("Pixel row", 0, parts.total.shape[0] - 1, 0, key="channels_row")
c = c2.number_input("Pixel column", 0, parts.total.shape[1] - 1, 0, key="channels_col")
pixel = [(r, c, 1, 1)] * multi.shape[2]
st.plotly_chart(heatmap_row([multi[:, :, i] for i in range(multi.shape[2])],
                            titles=[f"filter channel {i + 1}" for i in range(multi.shape[2])],
                            diverging=True, height=170), key="channels_multi_row")
st.plotly_chart(heatmap_row([parts.parts[:, :, i] for i in range(parts.parts.shape[2])],
                            titles=[f"channel {i + 1} result" for i in range(multi.shape[2])],
                            diverging=True, height=220, show_values=False, windows=pixel),
                key="channels_parts_row")
left, right = st.columns([2, 3])
left.plotly_chart(heatmap_row([parts.total], titles=["sum: the filter's one output map"],
                              diverging=True, height=300, colorbar=True, show_values=False,
                              windows=[(r, c, 1, 1)]),
                  key="channels_total")
with right:
    st.markdown(f"At the outlined pixel ({r}, {c}) the channel results add up to the output:")
    st.latex(" + ".join(f"({v:g})" for v in parts.parts[r, c]) + f" = {parts.total[r, c]:g}")
    st.markdown("Stacking keeps different filters' findings apart; adding makes the channels "
                "of one filter work together on one question. So a layer's output has **one "
                "channel per filter**, whatever its input had.")

st.header("Counting the numbers a layer learns")
st.markdown("Each filter holds f x f x C weights (C = input channels) and one bias; a layer "
            "with K filters has:")
c1, c2, c3 = st.columns(3)
f = c1.slider("Filter size f", 1, 7, 3, key="channels_f")
cin = c2.slider("Input channels C", 1, 256, len(names), key="channels_c")
k = c3.slider("Filters K", 1, 256, 3, key="channels_k")
st.latex(rf"f \cdot f \cdot C \cdot K + K = {f} \cdot {f} \cdot {cin} \cdot {k} + {k}"
         rf" = {ch.conv_params(f, cin, k):,}".replace(",", r"{,}"))

st.header("2D with channels, or 3D?")
st.markdown("A multi-channel filter is as deep as its input, so it can only slide across "
            "and down. A 3D filter is usually shallower than its volume, so it slides along "
            "the depth too, and its output is a volume.")
c1, c2 = st.columns(2)
depth = c1.slider("Channels / depth of the input", 1, 8, 5, key="channels_depth")
if st.session_state.get("channels_fdepth", 1) > depth:  # a shared link may ask for more
    st.session_state["channels_fdepth"] = depth
fdepth = c2.slider("Depth of the 3D filter", 1, depth, min(3, depth), key="channels_fdepth")
out_depth = ch.conv3d_output_depth(depth, fdepth)
st.plotly_chart(conv_2d_vs_3d(depth, fdepth, out_depth), key="channels_3d")
st.markdown(f"The 3D filter fits **{out_depth}** position(s) along the depth "
            f"({depth} - {fdepth} + 1)." + (
                " With the filter as deep as the volume it cannot move along depth, and does "
                "exactly what the 2D multi-channel filter does." if out_depth == 1 else
                " Make it as deep as the input to see the two become the same."))
tour_nav("pages/channels.py")
