"""Streamlit shell: page setup and navigation only; the pages live in ``interviewer.web``."""

from __future__ import annotations

import streamlit as st

from interviewer.web.bank_page import bank_page
from interviewer.web.history_page import history_page
from interviewer.web.interview_page import interview_page
from interviewer.web.model_page import model_page
from interviewer.web.resources import PAGE_ICON
from interviewer.web.review_page import review_page

# The tab icon ships with the package: a Material icon here would be fetched from a font CDN.
st.set_page_config(page_title="Interviewer", page_icon=str(PAGE_ICON), layout="wide")

pages = {
    "interview": st.Page(
        interview_page, title="Interview", icon=":material/record_voice_over:", default=True
    ),
    "history": st.Page(
        history_page, title="History", url_path="history", icon=":material/insights:"
    ),
    "bank": st.Page(bank_page, title="Question bank", url_path="bank", icon=":material/menu_book:"),
    "review": st.Page(
        review_page, title="Review", url_path="review", icon=":material/rate_review:"
    ),
    "model": st.Page(model_page, title="Model", url_path="model", icon=":material/smart_toy:"),
}
st.session_state["interview_page"] = pages["interview"]
st.navigation(list(pages.values())).run()
