"""Resources shared by every browser session of one server process, loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from interviewer.errors import InterviewerError
from interviewer.services import Services
from interviewer.untrusted import plain_markdown

PAGE_ICON = Path(__file__).with_name("icon.png")  # shipped: the app makes no outside request


@st.cache_resource(show_spinner="Loading the question bank and the embedding model…")
def services() -> Services:
    """Corpus, index, model, packs and store: built once per server process."""
    return Services.start()


def guarded(render: Callable[[], None]) -> None:
    """Render a page; a user-facing error (a broken database, an unknown session) becomes a
    message on the page instead of a traceback. Notices of the session store (an empty database
    file replaced) are shown once, at the top of the page that first opened it."""
    top = st.container()
    try:
        render()
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))  # it may quote the URL
        return
    for notice in services().store_notices():  # the page got its services: they are cached
        top.warning(plain_markdown(notice), icon=":material/warning:")
