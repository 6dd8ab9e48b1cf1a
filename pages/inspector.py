"""Look inside."""

import streamlit as st

from pages._common import tour_nav

st.title("Look inside")
st.info("Look at every layer's filters and activations."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/inspector.py")
