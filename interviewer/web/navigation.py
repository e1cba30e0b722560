"""Which pages a person sees: everything in single-user mode; by role with accounts on."""

from __future__ import annotations

from typing import Any

import streamlit as st

from interviewer.accounts.access import Role, Viewer
from interviewer.web.bank_page import bank_page
from interviewer.web.history_page import history_page
from interviewer.web.interview_page import interview_page
from interviewer.web.links_page import links_page
from interviewer.web.model_page import model_page
from interviewer.web.review_page import review_page
from interviewer.web.team_page import team_page


def pages_for(viewer: Viewer, candidates_see_bank: bool = True) -> list[Any]:
    """The pages of the navigation for ``viewer`` (each page checks the role again)."""
    interview = st.Page(
        interview_page, title="Interview", icon=":material/record_voice_over:", default=True
    )
    st.session_state["interview_page"] = interview
    pages = [
        interview,
        st.Page(history_page, title="History", url_path="history", icon=":material/insights:"),
    ]
    if candidates_see_bank or viewer.can(Role.REVIEWER):
        pages.append(
            st.Page(bank_page, title="Question bank", url_path="bank", icon=":material/menu_book:")
        )
    if viewer.can(Role.REVIEWER):
        pages.append(
            st.Page(review_page, title="Review", url_path="review", icon=":material/rate_review:")
        )
    if viewer.can(Role.REVIEWER) and not viewer.is_local:
        pages.append(st.Page(links_page, title="Links", url_path="links", icon=":material/link:"))
    if viewer.can(Role.ADMIN) and not viewer.is_local:
        pages.append(st.Page(team_page, title="People", url_path="people", icon=":material/group:"))
    if viewer.can(Role.ADMIN):
        pages.append(
            st.Page(model_page, title="Model", url_path="model", icon=":material/smart_toy:")
        )
    return pages
