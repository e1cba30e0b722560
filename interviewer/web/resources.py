"""Resources shared by every browser session of one server process, loaded once."""

from __future__ import annotations

import streamlit as st

from interviewer.services import Services


@st.cache_resource(show_spinner="Loading the question bank and the embedding model…")
def services() -> Services:
    """Corpus, index, model, packs and store: built once per server process."""
    return Services.start()
