"""Streamlit shell: page setup, the sign-in gate and navigation; the pages live in
``interviewer.web``."""

from __future__ import annotations

import streamlit as st

from interviewer.web.auth import gate
from interviewer.web.navigation import pages_for
from interviewer.web.resources import PAGE_ICON, services

# The tab icon ships with the package: a Material icon here would be fetched from a font CDN.
st.set_page_config(page_title="Interviewer", page_icon=str(PAGE_ICON), layout="wide")

viewer = gate()  # with accounts on and nobody signed in, this renders the sign-in page
if viewer is not None:
    st.navigation(pages_for(viewer, services().settings.candidates_see_bank)).run()
