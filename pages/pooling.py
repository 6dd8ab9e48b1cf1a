"""Pooling & up-sampling."""

import streamlit as st

from pages._common import tour_nav

st.title("Pooling & up-sampling")
st.info("Pooling shrinks an image; up-sampling grows it back."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/pooling.py")
