"""unetviz: learn how a U-Net works by touching every part of one.

Run with ``streamlit run app.py`` (or ``make run``).
"""

import streamlit as st

from pages._common import TOUR

st.set_page_config(page_title="unetviz: U-Nets, hands on", page_icon=":material/schema:",
                   layout="wide")

sections: dict[str, list] = {}
for stop in TOUR:
    sections.setdefault(stop.section, []).append(
        st.Page(stop.path, title=stop.title, icon=stop.icon, default=stop.path == TOUR[0].path)
    )
st.navigation(sections).run()
