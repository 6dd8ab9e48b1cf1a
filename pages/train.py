"""Train."""

import streamlit as st

from pages._common import tour_nav

st.title("Train")
st.info("Train a U-Net live."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/train.py")
