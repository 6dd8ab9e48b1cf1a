"""Home: what a U-Net is, why it exists, and the tour."""

import streamlit as st

from pages._common import TOUR, tour_nav
from unetviz.config import PRESETS, layer_specs
from unetviz.figures import matrix_heatmap, unet_diagram
from unetviz.samples import membrane_pair

st.title("What is a U-Net?")
st.markdown(
    "Most convolutional networks you meet first are **classifiers**: they take an image and "
    "squeeze it down to a single answer, such as *cat* or *a scan of a stomach*. Many problems "
    "want a different kind of answer: **an image of the same size**, with a decision for every "
    "pixel. Which pixels are cell membrane? Where is the tumour? What does this photo look like "
    "without noise?"
)
st.markdown(
    "A **U-Net** is a convolutional network built for exactly that. It first shrinks the image "
    "to understand *what* is in it, then grows it back to say *where*, and along the way it "
    "passes fine detail straight across from the shrinking half to the growing half."
)

image, mask = membrane_pair(64, seed=3)
left, right = st.columns(2)
left.plotly_chart(matrix_heatmap(image, title="In: a (generated) electron micrograph",
                                 height=300), key="home_in")
right.plotly_chart(matrix_heatmap(mask, title="Out: membrane (black) or cell (white) per pixel",
                                  height=300), key="home_out")
st.caption("Both images are drawn by this app's own code. Later you can train a U-Net to turn "
           "the left kind of image into the right kind, on these or on real EM slices.")

st.subheader("Why it is shaped like a U")
specs = layer_specs(PRESETS["seed-simple"])
st.plotly_chart(unet_diagram(specs), key="home_u")
st.markdown(
    "Each box is one layer's output; its height shows the image size and its width the number "
    "of channels. Read it left to right: the **encoder** goes down the left arm, the "
    "**decoder** comes up the right arm, and the dashed arrow is a **skip connection**. This "
    f"is the tutorial's smallest U-Net: {sum(s.params for s in specs):,} learnable numbers "
    "that learn to invert an 8x8 black-and-white image."
)
cols = st.columns(4)
for col, (name, text) in zip(cols, [
    ("Convolution", "Each output pixel is a weighted sum of a small window of input pixels. "
                    "Many filters give many channels."),
    ("Pooling", "Keep the largest value of each 2x2 block: half the width, half the height, "
                "the strongest signals kept."),
    ("Up-sampling", "Copy each pixel into a 2x2 block to grow the image back, then convolve."),
    ("Concatenation", "Stack the encoder's detailed map onto the decoder's coarse one, so "
                      "fine detail survives."),
]):
    col.markdown(f"**{name}**  \n{text}")

st.subheader("The tour")
st.markdown("Each page lets you change something and watch what happens. Go in order, or jump "
            "to what you need.")
for i, stop in enumerate(TOUR[1:], start=2):
    st.page_link(stop.path, label=f"{i}. {stop.title}: {stop.blurb}", icon=stop.icon)

tour_nav("pages/home.py")
