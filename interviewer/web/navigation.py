"""Which pages a person sees: everything in single-user mode; by role with accounts on."""

from __future__ import annotations

from collections.abc import Callable
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

#: Pages for some roles only: (title, url path, icon, page, the role it needs, accounts only).
RESTRICTED: list[tuple[str, str, str, Callable[[], None], Role, bool]] = [
    ("Review", "review", ":material/rate_review:", review_page, Role.REVIEWER, False),
    ("Links", "links", ":material/link:", links_page, Role.REVIEWER, True),
    ("People", "people", ":material/group:", team_page, Role.ADMIN, True),
    ("Model", "model", ":material/smart_toy:", model_page, Role.ADMIN, False),
]


def pages_for(viewer: Viewer, candidates_see_bank: bool = True) -> list[Any]:
    """The pages of the navigation for ``viewer`` (each page checks the role again). A page
    the viewer may not use is still there, out of the menu, saying so: opened by its address,
    it refuses instead of falling back to the interview page without a word."""
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
    for title, path, icon, page, role, accounts_only in RESTRICTED:
        if accounts_only and viewer.is_local:
            continue
        # A page the role may not use stays reachable by its address, out of the menu, and
        # refuses there itself (`auth.allowed`): no silent fallback to the interview page.
        pages.append(
            st.Page(
                page,
                title=title,
                url_path=path,
                icon=icon,
                visibility="visible" if viewer.can(role) else "hidden",
            )
        )
    return pages
