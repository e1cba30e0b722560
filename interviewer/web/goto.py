"""Moving between pages with a session: the session id travels in the new page's address."""

from __future__ import annotations

from typing import NoReturn

import streamlit as st


def open_interview(session_id: str) -> NoReturn:
    """Show ``session_id`` on the Interview page: its report, or the interview where it
    stopped. The id goes through ``switch_page`` itself, which replaces the address's query
    (setting ``st.query_params`` first is lost in the switch)."""
    st.switch_page(st.session_state["interview_page"], query_params={"session": session_id})
