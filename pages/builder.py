"""Build a U-Net."""

import streamlit as st

from pages._common import tour_nav

st.title("Build a U-Net")
st.info("Choose a preset and see its layers."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/builder.py")
