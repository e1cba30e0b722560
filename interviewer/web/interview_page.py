"""The interview page: setup, the chat itself, and the report once it is over.

The session id lives in the URL (``?session=…``), so a refresh or a second tab reopens the same
interview from the store; nothing about an interview is kept in server memory between reruns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import streamlit as st

from interviewer.domain import Level, Phase, Speaker, Turn, TurnKind
from interviewer.engine import Command, Interview, Stream
from interviewer.errors import InterviewerError
from interviewer.packs import Pack
from interviewer.redact import redact_url
from interviewer.services import Services
from interviewer.web.report_view import show_report

LEVELS = {
    Level.JUNIOR: "Fundamentals: what things are and when to use them.",
    Level.MID: "Mechanics and choices: how things behave and how you pick between options.",
    Level.SENIOR: "Trade-offs at scale, failure modes, migrations and what you would measure.",
}
AVATARS = {
    Speaker.INTERVIEWER: ":material/record_voice_over:",
    Speaker.CANDIDATE: ":material/person:",
}


def mode_line(services: Services) -> None:
    """Which mode is on, and how to switch the LLM on."""
    if services.settings.model:
        base_url = services.settings.base_url
        st.caption(
            f"Mode: **LLM** `{services.settings.model}`"
            + (f" at `{redact_url(base_url)}`" if base_url else "")
            + ". Any model failure falls back to offline behaviour with a notice."
        )
    else:
        st.caption(
            "Mode: **offline**: curated questions and follow-ups, local scoring. "
            "To use an LLM, set `INTERVIEWER_MODEL` (e.g. `openai:gpt-4o-mini`) and "
            "`INTERVIEWER_API_KEY`, or `INTERVIEWER_BASE_URL` for a local server."
        )


def rubric_tables(pack: Pack) -> None:
    """Each category's criteria, weights and what a 3 and a 5 look like."""
    tabs = st.tabs([c.value.replace("_", " ").title() for c in pack.spec.rubrics])
    for tab, rubric in zip(tabs, pack.spec.rubrics.values(), strict=True):
        with tab:
            rows = [
                f"| {c.name} | {c.weight:g} | {_cell(c.anchors[3])} | {_cell(c.anchors[5])} |"
                for c in rubric.criteria
            ]
            st.markdown(
                "| criterion | weight | a 3 means | a 5 means |\n| --- | --- | --- | --- |\n"
                + "\n".join(rows)
            )


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def setup(services: Services) -> None:
    """Choose pack, level and format; optionally a job description and a profile."""
    st.title("Mock interview")
    mode_line(services)
    catalog = services.catalog  # checked for edits once per render
    packs, problems = catalog.packs, catalog.problems
    if problems:
        with st.expander(f"⚠️ {len(problems)} pack problem(s): some packs were not loaded"):
            st.code("\n\n".join(problems), language=None)
    pack_id = st.selectbox("Interview pack", list(packs), format_func=lambda p: packs[p].spec.name)
    pack = packs[pack_id]
    st.caption(
        f"{pack.spec.description} · interviewer: {pack.spec.persona.name}, "
        f"{pack.spec.persona.title} · version {pack.spec.version}"
        + (f" · builds on {pack.spec.extends}" if pack.spec.extends else "")
    )
    with st.expander("How answers are scored in this pack"):
        rubric_tables(pack)
    left, right = st.columns(2)
    with left:
        level = st.radio(
            "Level",
            list(Level),
            index=1,
            format_func=lambda v: v.value.title(),
            captions=[LEVELS[v] for v in Level],
            horizontal=False,
        )
    with right:
        formats = pack.spec.formats
        fmt = st.radio(
            "Format",
            list(formats),
            format_func=lambda f: formats[f].name,
            captions=[
                f"{f.description} ({f.minutes} min, {f.question_count} questions)"
                for f in formats.values()
            ],
        )
    with st.expander("Optional: a job description and a profile"):
        job = st.text_area(
            "Job description",
            height=120,
            max_chars=20_000,
            help="Steers which questions are chosen.",
        )
        profile = st.text_input(
            "Profile name",
            max_chars=60,
            help="Keeps your history and avoids repeating recent questions.",
        )
    coaching = st.toggle("Coaching mode: show each answer's score right away", value=False)
    if st.button("Start interview", type="primary", width="stretch"):
        with st.spinner("Choosing your questions…"):
            interview = services.new_interview(
                pack_id, level or Level.MID, fmt or "phone-screen", profile, job
            )
            interview.start()
        st.session_state["coaching"] = coaching
        st.query_params["session"] = interview.session.id
        st.rerun()


def _elapsed(started_at: str) -> str:
    start = datetime.fromisoformat(started_at)
    minutes = int((datetime.now(UTC) - start).total_seconds() // 60)
    return f"{minutes} min"


def transcript(interview: Interview, coaching: bool) -> None:
    """Every turn so far, as chat messages; notices inline; scores if coaching."""
    scores = interview.session.scores
    last_answer: dict[str, int] = {}
    for i, turn in enumerate(interview.session.turns):
        if turn.kind is TurnKind.ANSWER and turn.question_id:
            last_answer[turn.question_id] = i
    for i, turn in enumerate(interview.session.turns):
        if turn.speaker is Speaker.SYSTEM:
            st.info(turn.text, icon=":material/info:")
            continue
        role = "assistant" if turn.speaker is Speaker.INTERVIEWER else "user"
        with st.chat_message(role, avatar=AVATARS[turn.speaker]):
            if turn.kind is TurnKind.COMMAND:
                st.markdown(f"*{turn.text}*")
            else:
                st.text(turn.text) if role == "user" else st.markdown(turn.text)
            score = scores.get(turn.question_id or "")
            if coaching and score and last_answer.get(turn.question_id or "") == i:
                st.caption(
                    f"Score so far: **{score.overall:.1f}/5** · "
                    f"{len(score.covered())} of {len(score.key_points)} key points · "
                    + " · ".join(f"{c.name} {c.score}" for c in score.criteria)
                )


def _streamed_reply(run: Callable[[Stream], list[Turn]]) -> list[Turn]:
    """Run an engine step, showing the interviewer's words as they arrive."""
    with st.chat_message("assistant", avatar=AVATARS[Speaker.INTERVIEWER]):
        placeholder = st.empty()
        shown: list[str] = []

        def stream(chunk: str) -> None:
            shown.append(chunk)
            placeholder.markdown("".join(shown))

        return run(stream)


COMMAND_LABELS = {
    Command.HINT: ":material/lightbulb: Hint",
    Command.SKIP: ":material/skip_next: Skip",
    Command.REPEAT: ":material/replay: Repeat",
    Command.END: ":material/stop: End",
}


def _header(interview: Interview) -> None:
    session = interview.session
    total = len(session.plan)
    a, b = st.columns([3, 1])
    if session.phase is Phase.QUESTION:
        position = min(session.current + 1, total)
        a.progress(session.current / max(total, 1), text=f"Question {position} of {total}")
    else:
        a.progress(1.0, text="Your questions for the interviewer")
    b.caption(
        f":material/timer: {_elapsed(session.started_at)} elapsed · "
        f"{session.level.value} · {interview.fmt.name}"
    )


def chat(interview: Interview) -> None:
    """The running interview, in one script run per message (no second rerun)."""
    session = interview.session
    header = st.container()
    token = len(session.turns)
    seen_key = f"seen-{session.id}"
    seen = st.session_state.get(seen_key)  # how many turns this tab showed last time
    typed = st.chat_input("Type your answer (or hint, skip, repeat, end)")
    clicked = next(
        (c.value for c in COMMAND_LABELS if st.session_state.get(f"cmd-{c.value}-{token}")), None
    )
    pending = typed if typed is not None else clicked
    transcript(interview, bool(st.session_state.get("coaching", False)))
    if pending is not None and seen is not None and seen != token:
        st.warning(
            "The interview moved on (another tab, a double click, or a message sent "
            "while the interviewer was still replying), so that input was not used. "
            "Here is the interview as it stands; send it again if you still want to."
        )
    elif pending is not None:
        if pending.strip():
            with st.chat_message("user", avatar=AVATARS[Speaker.CANDIDATE]):
                st.text(pending)
            new = _streamed_reply(lambda stream: interview.handle(pending, stream))
        else:  # a blank message gets the engine's notice, and no empty bubble on either side
            new = interview.handle(pending)
        for turn in new:
            if turn.speaker is Speaker.SYSTEM:
                st.info(turn.text, icon=":material/info:")
        if session.phase is Phase.DONE:
            st.rerun()  # on to the report
    st.session_state[seen_key] = len(session.turns)
    with header:
        _header(interview)
    token = len(session.turns)
    cols = st.columns(4)
    for col, (command, label) in zip(cols, COMMAND_LABELS.items(), strict=True):
        col.button(
            label,
            key=f"cmd-{command.value}-{token}",
            width="stretch",
            disabled=session.phase is not Phase.QUESTION and command is not Command.END,
        )


def interview_page() -> None:
    """Setup, chat or report, depending on the session in the URL; errors become messages."""
    from interviewer.web.resources import guarded

    guarded(_interview_page)


def _interview_page() -> None:
    services = _services()
    session_id = st.query_params.get("session")
    if not session_id:
        setup(services)
        return
    try:
        interview = services.open_interview(session_id)
    except InterviewerError as exc:
        st.error(str(exc))
        if st.button("Start a new interview"):
            st.query_params.clear()
            st.rerun()
        return
    turns = interview.session.turns
    if (
        turns
        and turns[-1].speaker is Speaker.CANDIDATE
        and interview.session.phase is not Phase.DONE
    ):
        # The last message was saved but its reply never finished (a refresh or a crash
        # mid-reply): finish it now, then show the interview as usual.
        transcript(interview, bool(st.session_state.get("coaching", False)))
        _streamed_reply(interview.resume)
        st.rerun()
    if interview.session.phase is Phase.DONE:
        show_report(services.report(interview.session), interview)
        if st.button("Start another interview", type="primary"):
            st.query_params.clear()
            st.rerun()
        return
    chat(interview)


def _services() -> Services:
    from interviewer.web.resources import services

    return services()
