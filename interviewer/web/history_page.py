"""Past sessions of a profile: scores over time, reopen a report, resume an interview."""

from __future__ import annotations

import streamlit as st

from interviewer.domain import to_minute
from interviewer.progress import ProgressPoint, in_group, progress, trend_groups
from interviewer.untrusted import plain_markdown
from interviewer.web.auth import viewer
from interviewer.web.charts import progress_chart
from interviewer.web.goto import open_interview
from interviewer.web.resources import guarded, services


def history_page() -> None:
    """The history page; errors (a broken database) become a message."""
    guarded(_history)


def _history() -> None:
    svc, who = services(), viewer()
    st.title("History")
    if who.is_local:
        profile = st.text_input(
            "Profile name", value=st.query_params.get("profile", ""), max_chars=60
        ).strip()
        if profile:
            st.query_params["profile"] = profile
            empty = f"No interviews for “{plain_markdown(profile, inline=True)}” yet."
        else:  # interviews started without a name are this machine's too
            st.query_params.pop("profile", None)
            st.caption(
                "Interviews started without a profile name. Enter the name you gave when "
                "starting interviews to see that profile's."
            )
            empty = "No interviews yet: start one on the Interview page."
        rows, points = progress(svc.store, svc.corpus.by_id(), profile, viewer=who)
    else:  # signed in: your own interviews, whatever your role
        rows, points = progress(
            svc.store, svc.corpus.by_id(), None, viewer=who, owner_id=who.user_id
        )
        empty = "No interviews yet: start one on the Interview page."
    if not rows:
        st.info(empty)
        return
    if points:
        _trend(points)
    else:
        st.caption("Finish an interview to see your scores over time.")
    for row in rows:
        with st.container(border=True):
            a, b, c = st.columns([3, 1, 1])
            a.markdown(
                f"**{plain_markdown(svc.format_name(row.pack_id, row.format), inline=True)}** · "
                f"{plain_markdown(row.pack_id, inline=True)} · "
                f"{plain_markdown(row.level, inline=True)} · "
                f"{to_minute(row.started_at)}"
            )
            b.markdown(f"{row.overall:.1f}/5" if row.overall is not None else "unfinished")
            label = "Open report" if row.phase == "done" else "Resume"
            if c.button(label, key=f"open-{row.id}", width="stretch"):
                open_interview(row.id)


def _trend(points: list[ProgressPoint]) -> None:
    """Scores over time in one pack at one level (the latest by default; a choice when the
    profile has interviews in several), by category or by criterion."""
    groups = trend_groups(points)
    counts = {g: len({p.session_id for p in in_group(points, g)}) for g in groups}
    group = groups[0]
    if len(groups) > 1:
        group = st.selectbox(
            "Trend for",
            groups,
            format_func=lambda g: f"{g[0]} · {g[1]} ({counts[g]} finished)",
            help="Scores are compared within one pack at one level, as in the report.",
        )
    by = st.segmented_control("Trend by", ["category", "criterion"], default="category")
    st.altair_chart(progress_chart(in_group(points, group), by or "category"), width="stretch")
