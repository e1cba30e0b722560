"""The question bank page: search the curated questions with filters."""

from __future__ import annotations

import streamlit as st

from interviewer.domain import Category, Level, Question
from interviewer.embeddings import MINILM_KEY, embeddings_key
from interviewer.errors import InterviewerError
from interviewer.retrieval import CLOSE_MATCH_AT, Filters
from interviewer.untrusted import model_markdown, plain_markdown
from interviewer.web.resources import services


def show_question(q: Question) -> None:
    """One result card: the question up front, the interviewer's notes folded away."""
    levels = " · ".join(level.value for level in q.levels)
    with st.container(border=True):
        st.markdown(f"**{_plain(q.question)}**")
        st.caption(
            f"{_plain(q.role)} · {q.category.value.replace('_', ' ')} · {_plain(q.topic)} · "
            f"{levels} · {_plain(q.id)}"
        )
        with st.expander("What a good answer covers"):
            for kp in q.key_points:
                st.markdown(
                    f"- {_plain(kp.text)}  \n  *expected from {kp.level.value}, weight {kp.weight}*"
                )
        with st.expander("Follow-ups and red flags"):
            for follow_up in q.follow_ups:
                st.markdown(f"- {_plain(follow_up.text)}")
            if q.red_flags:
                st.markdown("**Red flags**")
                for flag in q.red_flags:
                    st.markdown(f"- {_plain(flag)}")
        with st.expander("Model answer"):
            st.markdown(model_markdown(q.reference_answer))


def _plain(text: str) -> str:
    """Corpus, pack and error text shown literally (see interviewer.untrusted)."""
    return plain_markdown(text, inline=True)


def bank_page() -> None:
    """The question bank page."""
    try:
        svc = services()
    except InterviewerError as exc:
        st.error(_plain(str(exc)))
        st.stop()
    for notice in svc.notices:
        st.toast(_plain(notice))

    st.title("Question bank")
    mode = svc.settings.mode
    if mode == "offline":
        st.caption(
            "Mode: **offline** (local embeddings and curated questions). "
            "Set `INTERVIEWER_MODEL`, e.g. `openai:gpt-4o-mini`, to use an LLM."
        )
    else:
        st.caption(f"Mode: LLM **{_plain(mode)}**")

    topics = sorted({q.topic for q in svc.corpus.questions})
    roles = sorted({q.role for q in svc.corpus.questions})
    with st.sidebar:
        st.header("Filters")
        role = st.selectbox("Role", [None, *roles], format_func=lambda v: v or "any")
        level = st.selectbox("Level", [None, *Level], format_func=lambda v: v or "any")
        category = st.selectbox(
            "Category", [None, *Category], format_func=lambda v: v.replace("_", " ") if v else "any"
        )
        topic = st.selectbox("Topic", [None, *topics], format_func=lambda v: v or "any")
        k = st.slider("Results", 1, 20, 6)
        st.divider()
        st.caption(
            f"{len(svc.corpus.questions)} curated questions · index "
            f"{_plain(svc.index.name)} ({svc.index.count()} items)"
        )

    query = st.text_input(
        "Search the question bank",
        value=st.query_params.get("q", ""),
        placeholder="e.g. database isolation levels",
        max_chars=2000,
    )
    filters = Filters(role=role, level=level, category=category, topic=topic)
    results, closeness = svc.retriever.search_closeness(query, k=k, filters=filters)
    if not results:
        st.info("No question matches these filters.")
    elif (
        query.strip()
        and embeddings_key(svc.settings) == MINILM_KEY  # the threshold is MiniLM's
        and closeness < CLOSE_MATCH_AT
    ):
        st.info("No question is close to this search; these are the nearest.")
    for q in results:
        show_question(q)
