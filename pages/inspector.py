"""Look inside any U-Net: its prediction of a whole image, every layer's activations and filters,
what one pixel can see, and which input pixels drove a region of the output."""

import streamlit as st

from pages._common import tour_nav

st.title("Look inside")

from pages._inspect_layers import layer_section, region_section  # noqa: E402 - imports Keras
from pages._inspect_source import choose_image, choose_model, choose_window, digest  # noqa: E402
from pages._inspect_views import Inputs, activations, prediction_section  # noqa: E402
from unetviz.predict import to_model_range  # noqa: E402

RANGES = {"0 to 1": 1.0, "0 to 255": 255.0}

st.markdown("Pick a model and an image. The model predicts the whole image at its own size. Every "
            "layer's output (its **activations**) comes from one pass of a view window of the "
            "image through the model; the **filters** are the weights it learned. Hover over any "
            "map for exact values; the camera icon at the top right of each figure saves it as a "
            "PNG.")
chosen = choose_model()
pic = choose_image(chosen) if chosen is not None else None
win = choose_window(chosen, pic) if pic is not None else None
if win is not None:
    detected = "0 to 255" if chosen.ins.input_scale == 255.0 else "0 to 1"
    scale = RANGES[st.radio(
        "Pixel values the model expects", RANGES, index=list(RANGES).index(detected),
        horizontal=True, key=f"inspector_range_{chosen.key}",
        help=f"Detected: {detected}" + (" (the model rescales its input by 1/255 itself)"
                                        if detected == "0 to 255" else "") +
        ". An image fed in the wrong range looks almost black (or white) to the model.")]
    x = to_model_range(win.crop(pic.image), scale)
    x_key = digest(pic.key, win, scale)
    try:
        acts = activations(chosen.key, x_key, chosen.ins, x)
    except ValueError as exc:
        st.error(f"{chosen.name} could not look at {pic.name}: {exc}")
    else:
        inputs = Inputs(chosen, pic, win, scale, x, x_key, acts)
        prediction_section(inputs)
        layer_section(inputs)
        region_section(inputs)
tour_nav("pages/inspector.py")
