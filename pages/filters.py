"""Filters."""

import streamlit as st

from pages._common import tour_nav

st.title("Filters")
st.info("A filter is a pattern detector."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/filters.py")
