"""Channels."""

import streamlit as st

from pages._common import tour_nav

st.title("Channels")
st.info("Many filters stack into channels."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/channels.py")
