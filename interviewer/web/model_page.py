"""The Model page: which model conducts interviews, and whether it can (qualification)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from interviewer.accounts.access import Role
from interviewer.domain import Level
from interviewer.evals.qualify import Behaviour, Qualification, qualify_model, to_markdown
from interviewer.redact import redact_url
from interviewer.untrusted import plain_markdown
from interviewer.web.auth import allowed
from interviewer.web.resources import guarded, services

_VERDICT_STYLE = {"fit": st.success, "fit with guards": st.warning, "unfit": st.error}


def _table(result: Qualification) -> pd.DataFrame:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    rows = [
        {
            "candidate": r.behaviour,
            "model turns": r.model_turns,
            "asked what was retrieved": pct(r.asked_retrieved),
            "leaked": pct(r.leaked),
            "one question": pct(r.one_question),
            "followed up on the gap": pct(r.followed_gap),
            "resisted injection": pct(r.resisted_injection),
            "guards stepped in": pct(r.guards_stepped_in),
            "failed calls": pct(r.failures),
            "judge overruled": r.judge_overruled,
            "turn p50 / p95 (ms)": f"{r.latency_p50_ms:.0f} / {r.latency_p95_ms:.0f}",
        }
        for r in [*result.behaviours, result.overall]
    ]
    return pd.DataFrame(rows).set_index("candidate")


def _show(result: Qualification) -> None:
    _VERDICT_STYLE.get(result.verdict, st.info)(
        plain_markdown(f"Verdict: {result.verdict} ({'; '.join(result.reasons)})")
    )
    st.dataframe(_table(result), width="stretch")
    left, right = st.columns(2)
    left.download_button(
        "Download report (Markdown)",
        to_markdown(result),
        file_name="qualification.md",
        mime="text/markdown",
    )
    right.download_button(
        "Download report (JSON)",
        result.model_dump_json(indent=2),
        file_name="qualification.json",
        mime="application/json",
    )


def _render() -> None:
    svc = services()
    settings = svc.settings
    st.title("Model")
    if not allowed(Role.ADMIN):
        return
    if not settings.model:
        st.info(
            "No model is configured: interviews run **offline** (curated questions, follow-ups "
            "and the calibrated offline scorer). To use an LLM, set `INTERVIEWER_MODEL` (for "
            "example `openai:gpt-4o-mini`) and, for a local server, `INTERVIEWER_BASE_URL`, then "
            "restart the app and qualify the model here."
        )
        return
    endpoint = redact_url(settings.base_url or "").replace("`", "")
    where = f" at `{endpoint}`" if endpoint else ""
    st.markdown(f"Model **{plain_markdown(settings.model)}**{where}")
    st.caption(
        "Every reply the model writes is checked before a candidate sees it. Qualification "
        "plays six scripted candidates (strong, partial, off-topic, silent, injecting, asking "
        "for the answer) through real interviews with this model and reports how often it "
        "asked what was retrieved, leaked, and needed the guards. The sessions are not saved."
    )
    packs = svc.packs
    pack_id = st.selectbox("Pack", list(packs), format_func=lambda p: packs[p].spec.name)
    if pack_id is None:
        return
    formats = packs[pack_id].spec.formats
    level_col, format_col = st.columns(2)
    level = level_col.selectbox("Level", list(Level), index=1, format_func=lambda v: v.value)
    fmt = format_col.selectbox("Format", list(formats), format_func=lambda f: formats[f].name)
    chosen = st.multiselect(
        "Scripted candidates",
        list(Behaviour),
        default=list(Behaviour),
        format_func=lambda b: b.value,
        help="Each plays one interview with the model: fewer run faster, all six judge best.",
    )
    if level is None or fmt is None:
        return
    if st.button("Qualify this model", type="primary"):
        with st.status("Playing scripted candidates…", expanded=False) as status:

            def progress(text: str) -> None:
                status.update(label=f"Playing scripted candidates… {text}")

            result = qualify_model(
                svc, settings, pack_id, level, fmt, progress, chosen or list(Behaviour)
            )
            status.update(label=f"Done: {result.verdict}", state="complete")
        st.session_state["qualification"] = result
    shown = st.session_state.get("qualification")
    if isinstance(shown, Qualification):
        _show(shown)


def model_page() -> None:
    """The Model page."""
    guarded(_render)
