"""The report: overall and per-criterion chart, progress since earlier interviews, per-question
cards, study plan, downloads."""

from __future__ import annotations

import streamlit as st

from interviewer.domain import Flag
from interviewer.engine import Interview
from interviewer.packs import counted
from interviewer.progress import SessionProgress, progress_text
from interviewer.report import (
    OWN_WORDS_NOTE,
    TOUCHED_HEADING,
    TOUCHED_NOTE,
    QuestionReport,
    Report,
    to_html,
    to_json,
    to_markdown,
)
from interviewer.untrusted import inline_markdown, model_markdown, plain_markdown
from interviewer.web.charts import criteria_chart, progress_chart
from interviewer.web.resources import services

METRICS_PER_ROW = 3
"""Criterion scores per row in a question's card: wide enough for a whole criterion name."""


def _extremes(report: Report) -> str:
    """The strongest criterion and the one to work on; one line when all are level (no
    criterion is both the best and the worst)."""
    strongest = max(report.criteria, key=lambda c: c.score)
    weakest = min(report.criteria, key=lambda c: c.score)
    if strongest.score <= weakest.score:
        return f"**Every criterion:** {strongest.score:.1f}"
    return (
        f"**Strongest:** {_safe(strongest.name)} ({strongest.score:.1f})  \n"
        f"**Work on:** {_safe(weakest.name)} ({weakest.score:.1f})"
    )


def show_report(
    report: Report,
    interview: Interview | None = None,
    progress: SessionProgress | None = None,
    *,
    own: bool = True,
) -> None:
    """Render a report; candidate and model text is shown as text, never as HTML. With
    ``progress`` (the candidate's own view), how it compares with their earlier interviews;
    ``own=False`` (a reviewer's or an admin's view) speaks of the candidate, not to them."""
    st.title("Your interview report" if own else "Interview report")
    st.caption(
        f"{_safe(services().format_name(report.pack, report.format))} · {report.level.value} · "
        f"{counted(len(report.questions), 'question')} · scored by {_safe(report.scored_by)} · "
        f"pack {_safe(report.pack)} {_safe(report.pack_version)}"
    )
    if report.overall is None:
        st.info("No question was answered, so there is nothing to score.")
        return
    left, right = st.columns([1, 2])
    with left:
        _overall(report.overall, progress.previous if progress is not None else None)
        st.markdown(_extremes(report))
    with right:
        st.altair_chart(criteria_chart(report), width="stretch")
    name = f"interview-{report.session_id[:8]}"
    d1, d2, d3, _ = st.columns([1, 1, 1, 3])
    d1.download_button(
        ":material/download: Markdown",
        to_markdown(report),
        f"{name}.md",
        mime="text/markdown",
        width="stretch",
    )
    d2.download_button(
        ":material/download: JSON",
        to_json(report),
        f"{name}.json",
        mime="application/json",
        width="stretch",
    )
    d3.download_button(
        ":material/download: HTML",
        to_html(report),
        f"{name}.html",
        mime="text/html",
        width="stretch",
    )
    if progress is not None:
        _progress(progress)
    if report.study_plan:
        st.subheader("What to study next")
        for i, item in enumerate(report.study_plan, 1):
            st.markdown(f"{i}. {inline_markdown(item)}")
    if report.questions_to_ask:
        with st.expander("Good questions to ask your next interviewer"):
            for ask in report.questions_to_ask:
                st.markdown(f"- {_safe(ask)}")
    for notice in report.notices:
        st.info(_safe(notice), icon=":material/info:")
    st.subheader("Question by question")
    for i, r in enumerate(report.questions, 1):
        with st.container(border=True):
            flags = [f.value.replace("_", " ") for f in r.score.flags]
            st.markdown(f"**{i}.** {inline_markdown(r.question)}")
            st.caption(
                f"{_safe(r.category.replace('_', ' '))} · {_safe(r.topic)} · "
                f"**{r.score.overall:.1f}/5**" + (f" · {', '.join(flags)}" if flags else "")
            )
            # three to a row: five in one row cut names such as "Trade-offs and judgement"
            crits = r.score.criteria
            for start in range(0, len(crits), METRICS_PER_ROW):
                cols = st.columns(METRICS_PER_ROW)
                for col, c in zip(cols, crits[start : start + METRICS_PER_ROW], strict=False):
                    col.metric(_safe(c.name), f"{c.score}/5", help=_safe(c.reason))
            if Flag.SKIPPED not in r.score.flags:
                with st.expander("Your answer" if own else "The candidate's answer"):
                    st.text(r.answer)
            _key_points(r, own)
            for flag in r.score.red_flags:
                st.warning(f"Misconception to revisit: {inline_markdown(flag)}")
            with st.expander("Model answer"):
                st.markdown(model_markdown(r.reference_answer))


def _key_points(r: QuestionReport, own: bool) -> None:
    """The points an answer covered, each with its quote, those it touched on, and those it
    missed (or, for an answer told in the candidate's own words, those not found in it)."""
    covered, touched, missed = r.score.covered(), r.score.touched(), r.score.untouched()
    if covered:
        st.markdown("**Covered**")
        for kp in covered:
            st.markdown(f"- :green[:material/check_circle:] {inline_markdown(kp.text)}")
            if kp.evidence:
                said = "You said" if own else "They said"
                st.caption(f"{said}: “{_safe(kp.evidence)}”")
    if touched:
        st.markdown(f"**{TOUCHED_HEADING}**")
        st.caption(TOUCHED_NOTE)
        for kp in touched:
            st.markdown(f"- :orange[:material/contrast:] {inline_markdown(kp.text)}")
    if missed:
        st.markdown(f"**{r.missed_heading}**")
        if r.own_words:
            st.caption(OWN_WORDS_NOTE)
        for kp in missed:
            st.markdown(f"- :gray[:material/radio_button_unchecked:] {inline_markdown(kp.text)}")


def _overall(overall: float, since: float | None) -> None:
    """The overall score, with its change since the last interview when there was one."""
    moved = None if since is None else round(overall - since, 1)
    st.metric(
        "Overall",
        f"{overall:.1f} / 5",
        delta=None if moved is None else f"{moved:+.1f}",
        delta_description=None if moved is None else "since last time",  # a first interview: none
        delta_color="normal" if moved else "off",  # no green arrow for no change
        delta_arrow="auto" if moved else "off",
    )


def _progress(progress: SessionProgress) -> None:
    """How this interview compares with the candidate's earlier ones, with their trend."""
    st.subheader("Your progress")
    st.markdown(_safe(progress_text(progress)))
    if progress.previous is not None:
        st.altair_chart(progress_chart(progress.points), width="stretch")


def _safe(text: str) -> str:
    """Text from candidates, packs or models, shown literally (see interviewer.untrusted)."""
    return plain_markdown(text, inline=True)
