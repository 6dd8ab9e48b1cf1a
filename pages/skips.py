"""Skip connections: concatenate the encoder's map onto the decoder's, and get detail back."""

import streamlit as st

from pages._common import tour_nav
from pages._input import image_input
from pages._share import ImageLink, choice, integer, share_view
from unetviz.figures import heatmap_row
from unetviz.skipdemo import ENCODER_FILTERS, skip_demo

POOLS = ["max", "average"]

st.title("Skip connections")
share_view("skips", [integer("skips_channels", 3, 1, len(ENCODER_FILTERS)),
                     choice("skips_pool", "max", POOLS)], image=ImageLink())
st.markdown("Pooling makes the maps small, so the deep layers see the whole picture, but the "
            "exact position of thin lines and corners is gone. A **skip connection** copies an "
            "encoder map across the U and stacks it onto the decoder map of the same size.")
image = image_input("skips")
c1, c2 = st.columns(2)
channels = c1.slider("Encoder channels", 1, len(ENCODER_FILTERS), 3, key="skips_channels",
                     help="Channel 1 is the image itself; the others are edge and blur filters.")
pool = c2.radio("Pooling", POOLS, horizontal=True, key="skips_pool")
try:
    demo = skip_demo(image, channels=channels, pool=pool)
except ValueError as exc:
    st.error(f"{exc} Choose a bigger grid size.")
    tour_nav("pages/skips.py")
    st.stop()
if demo.cropped:
    st.info(f"The grid has an odd size, so its last row and column are dropped "
            f"({demo.shape_text(demo.image)}): pooling 2x2 and up-sampling 2x must give back the "
            "same size before two maps can be stacked. Real U-Nets crop or pad the same way.")
names = list(ENCODER_FILTERS)[:channels]
enc, dec, merged = (demo.shape_text(a) for a in (demo.encoder, demo.decoder, demo.merged))

st.header("Concatenation stacks channels")
dec_tex, enc_tex, merged_tex = (t.replace("x", r" \times ") for t in (dec, enc, merged))
st.latex(rf"\underbrace{{{enc_tex}}}_{{\text{{encoder (skip)}}}} + "
         rf"\underbrace{{{dec_tex}}}_{{\text{{decoder (up-sampled)}}}} \;\to\; {merged_tex}")
st.markdown(f"Height and width must match; the channels simply pile up. The next convolution "
            f"sees a **{merged}** map and its filters get one channel for each of the "
            f"{demo.merged.shape[2]}.")
st.plotly_chart(heatmap_row([demo.encoder[:, :, c] for c in range(channels)], height=230,
                            titles=[f"encoder: {n}" for n in names], show_values=False),
                key="skips_encoder_row")
st.plotly_chart(heatmap_row([demo.decoder[:, :, c] for c in range(channels)], height=230,
                            titles=[f"decoder: {n}" for n in names], show_values=False),
                key="skips_decoder_row")

st.header("Why it brings the detail back")
st.markdown(f"Follow channel 1 (the image itself) down and up the U. {pool.capitalize()} "
            "pooling keeps one number per 2x2 block; up-sampling copies it back, so lines and "
            "corners return as blocks.")
st.plotly_chart(heatmap_row([demo.image, demo.pooled[:, :, 0], demo.decoder[:, :, 0]],
                            titles=[f"encoder {demo.shape_text(demo.image)}",
                                    f"pooled {demo.shape_text(demo.pooled[:, :, 0])}",
                                    f"up-sampled {demo.shape_text(demo.decoder[:, :, 0])}"],
                            shared_scale=True, height=300, show_values=False),
                key="skips_path_fig")
st.markdown("Now suppose the decoder's next layer is one 3x3 convolution that should redraw "
            "the input. We fit its best possible weights (least squares, the target training "
            "aims at), once from the decoder map alone and once from the concatenation.")
st.plotly_chart(heatmap_row([demo.image, demo.rebuilt_without, demo.rebuilt_with],
                            titles=["target: the input",
                                    f"without skip: error {demo.error_without:.3f}",
                                    f"with skip: error {demo.error_with:.3f}"],
                            zrange=demo.value_range, height=300, show_values=False),
                key="skips_rebuilt_fig")
st.markdown(f"Without the skip the best filter still leaves a mean error of "
            f"**{demo.error_without:.3f}** per pixel: the detail is not in its input. With the "
            f"skip it reaches **{demo.error_with:.3f}**, because the encoder's full-resolution "
            "map is right there. In a trained U-Net the decoder uses both: the deep path says "
            "*what* is in the image, the skip says exactly *where*.")
tour_nav("pages/skips.py")
