"""Skip connections."""

import streamlit as st

from pages._common import tour_nav

st.title("Skip connections")
st.info("A skip connection stacks the encoder's map onto the decoder's."
        " This page is being built: the full version arrives with the next issue.")
tour_nav("pages/skips.py")
