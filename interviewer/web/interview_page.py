"""The interview page: setup, the chat itself, and the report once it is over.

The session id lives in the URL (``?session=…``), so a refresh or a second tab reopens the same
interview from the store; nothing about an interview is kept in server memory between reruns.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from interviewer.domain import Level, Phase, Session, Speaker, TurnKind
from interviewer.engine import Command, Interview
from interviewer.errors import InterviewerError
from interviewer.packs import Pack
from interviewer.redact import redact_url
from interviewer.services import Services
from interviewer.store import StoreUnavailableError
from interviewer.turn_runner import UNREACHABLE, Outcome, Submission, TurnRunner
from interviewer.untrusted import model_markdown, plain_markdown
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
            f"Mode: **LLM** {_cell(services.settings.model)}"
            + (f" at {_cell(redact_url(base_url))}" if base_url else "")
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
                f"| {_cell(c.name)} | {c.weight:g} | "
                f"{_cell(c.anchors[3])} | {_cell(c.anchors[5])} |"
                for c in rubric.criteria
            ]
            st.markdown(
                "| criterion | weight | a 3 means | a 5 means |\n| --- | --- | --- | --- |\n"
                + "\n".join(rows)
            )


def _cell(text: str) -> str:
    """Pack or settings text shown literally, on one line (safe in a Markdown table cell)."""
    return plain_markdown(text, inline=True)


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
        f"{_cell(pack.spec.description)} · interviewer: {_cell(pack.spec.persona.name)}, "
        f"{_cell(pack.spec.persona.title)} · version {_cell(pack.spec.version)}"
        + (f" · builds on {_cell(pack.spec.extends)}" if pack.spec.extends else "")
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
            format_func=lambda f: _cell(formats[f].name),
            captions=[
                f"{_cell(f.description)} ({f.minutes} min, {f.question_count} questions)"
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
            st.info(plain_markdown(turn.text), icon=":material/info:")
            continue
        role = "assistant" if turn.speaker is Speaker.INTERVIEWER else "user"
        with st.chat_message(role, avatar=AVATARS[turn.speaker]):
            if turn.kind is TurnKind.COMMAND:
                st.markdown(f"*{plain_markdown(turn.text, inline=True)}*")
            else:
                st.text(turn.text) if role == "user" else st.markdown(model_markdown(turn.text))
            score = scores.get(turn.question_id or "")
            if coaching and score and last_answer.get(turn.question_id or "") == i:
                st.caption(
                    f"Score so far: **{score.overall:.1f}/5** · "
                    f"{len(score.covered())} of {len(score.key_points)} key points · "
                    + " · ".join(
                        f"{plain_markdown(c.name, inline=True)} {c.score}" for c in score.criteria
                    )
                )


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
        f"{session.level.value} · {plain_markdown(interview.fmt.name, inline=True)}"
    )


MINE = "submission"  # this tab's latest submission and whether it was typed (not a command)
NOTICE = "submission-notice"  # what the candidate was last told about a message not used
INPUT_GENERATION = "input-generation"  # bumped to draw a new input holding a refused text
RESTORE = "submission-restore"  # that text, until the candidate sends something


def _input_key() -> str:
    return f"chat-input-{st.session_state.get(INPUT_GENERATION, 0)}"


def chat(interview: Interview, runner: TurnRunner) -> None:
    """The running interview. Every message ends up stored, or refused on screen with its text
    given back; replies are produced by ``runner`` off this thread and followed here."""
    session = interview.session
    header = st.container()
    token = len(session.turns)
    seen_key = f"seen-{session.id}"
    seen = st.session_state.get(seen_key)  # how many turns this tab showed last time
    carried = _outcome_of_last_submission(session.id)  # before the input: may refill it
    typed = st.chat_input(
        "Type your answer (or hint, skip, repeat, end)", key=_input_key(), submit_mode="disable"
    )
    clicked, stale = _clicked_commands(token)
    transcript(interview, bool(st.session_state.get("coaching", False)))
    if carried:
        st.warning(plain_markdown(carried), icon=":material/warning:")
    for command in stale:
        st.warning(
            f"'{command}' was not used: the interview had moved on when it arrived.",
            icon=":material/warning:",
        )
    pending = typed if typed is not None else clicked
    running = runner.in_flight(session.id)
    last = session.turns[-1] if session.turns else None
    if pending is not None:
        st.session_state.pop(NOTICE, None)
        st.session_state.pop(RESTORE, None)
        sub = runner.submit(interview, pending, seen)
        st.session_state[MINE] = (sub, typed is not None)
        if sub.outcome is Outcome.REFUSED:
            st.rerun()  # the next run says why and puts the text back in the box
        _follow(sub, session, show_words=bool(pending.strip()))
    elif running is not None:
        _follow(running, session, show_words=not _already_shown(running, session))
    elif last is not None and last.speaker is Speaker.CANDIDATE and session.phase is not Phase.DONE:
        # The last message was saved but its reply never finished (a crash, or a server
        # restart mid-reply): finish it now.
        _follow(runner.resume(interview), session, show_words=False)
    st.session_state[seen_key] = len(session.turns)
    with header:
        _header(interview)
    _command_buttons(session, disabled=False)


def _outcome_of_last_submission(session_id: str, ended: bool = False) -> str:
    """What to tell the candidate about this tab's last message; a refused text goes back into
    the input once (this must run before the input is drawn). The words stay on screen until
    the candidate sends something else, whatever reruns come in between."""
    mine = st.session_state.get(MINE)
    if mine is None or mine[0].session_id != session_id:
        return ""
    sub, typed = mine
    if sub.finished and not sub.reported:
        sub.reported = True
        if ended and typed and not sub.stored and sub.text.strip():
            st.session_state[NOTICE] = (
                f"This interview has ended, so your last message was not used: {sub.text}"
            )
        elif typed and not sub.stored and sub.text.strip():
            # A new input widget, created holding the text: an input that already exists
            # may have cleared itself after the send, after the text was put back.
            st.session_state[INPUT_GENERATION] = st.session_state.get(INPUT_GENERATION, 0) + 1
            st.session_state[RESTORE] = sub.text
            st.session_state[NOTICE] = (
                f"{sub.reason} It is back in the box below: send it again if you still want to."
            )
        elif sub.outcome is not Outcome.HANDLED:
            st.session_state[NOTICE] = sub.reason
    if RESTORE in st.session_state and not st.session_state.get(_input_key()):
        # Pushed on every run until the candidate sends something (not in the run that
        # carries a new message): the browser may redraw the input from scratch on a later run.
        st.session_state[_input_key()] = st.session_state[RESTORE]
    notice: str = st.session_state.get(NOTICE, "")
    return notice


def _clicked_commands(token: int) -> tuple[str | None, list[str]]:
    """The command button clicked on the buttons drawn for this state of the interview, and
    any clicked on an older set (those come too late to use)."""
    current: str | None = None
    stale: list[str] = []
    for key, value in list(st.session_state.items()):
        if not (isinstance(key, str) and key.startswith("cmd-") and value is True):
            continue
        _, command, at = key.split("-", 2)
        if at == str(token) and current is None:
            current = command
        else:
            stale.append(command)
    return current, stale


def _already_shown(sub: Submission, session: Session) -> bool:
    last = session.turns[-1] if session.turns else None
    return sub.resuming or (
        last is not None and last.speaker is Speaker.CANDIDATE and last.text == sub.text.strip()
    )


def _follow(sub: Submission, session: Session, show_words: bool) -> None:
    """Show a message in flight and the reply as it streams in, then redraw from the store."""
    if show_words:
        with st.chat_message("user", avatar=AVATARS[Speaker.CANDIDATE]):
            st.text(sub.text)
    with st.chat_message("assistant", avatar=AVATARS[Speaker.INTERVIEWER]):
        placeholder = st.empty()
    _command_buttons(session, disabled=True)
    shown: str | None = None
    while True:
        done = sub.wait(0.05)
        text = sub.reply_so_far()
        if text != shown:
            placeholder.markdown(model_markdown(text) or "…")
            shown = text
        if done:
            break
    st.rerun()


def _command_buttons(session: Session, disabled: bool) -> None:
    token = "busy" if disabled else str(len(session.turns))
    cols = st.columns(4)
    for col, (command, label) in zip(cols, COMMAND_LABELS.items(), strict=True):
        col.button(
            label,
            key=f"cmd-{command.value}-{token}",
            width="stretch",
            disabled=disabled
            or (session.phase is not Phase.QUESTION and command is not Command.END),
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
    except StoreUnavailableError as exc:
        _database_down(exc)
        return
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))  # it quotes the URL's session value
        if st.button("Start a new interview"):
            st.query_params.clear()
            st.rerun()
        return
    runner = services.turns
    if interview.session.phase is Phase.DONE and runner.in_flight(session_id) is None:
        _ended_input()
        show_report(services.report(interview.session), interview)
        if st.button("Start another interview", type="primary"):
            st.query_params.clear()
            st.rerun()
        return
    chat(interview, runner)


def _ended_input() -> None:
    """A message sent as the interview ended (from another tab, say) is named, not dropped.

    The input stays enabled: a disabled widget hands the script no value, so a message sent
    just before it was disabled would vanish without a word.
    """
    carried = _outcome_of_last_submission(st.query_params.get("session", ""), ended=True)
    late = st.chat_input("This interview has ended: start another one below", key=_input_key())
    if late:
        carried = f"This interview has ended, so your last message was not used: {late}"
    if carried:
        st.warning(plain_markdown(carried), icon=":material/warning:")


DATABASE_DOWN = (
    "Your interview is safe up to the last reply you saw, but the database that holds it "
    "cannot be reached just now, so nothing can be sent or saved. Try again in a moment."
)


def _database_down(exc: StoreUnavailableError) -> None:
    """The session database is down: say so, and keep what the candidate types.

    A message sent meanwhile is refused like one that came too late: its text goes back into
    the input, and stays there until the database answers again and the candidate sends it.
    """
    session_id = st.query_params.get("session", "")
    carried = _outcome_of_last_submission(session_id)  # puts a refused text back in the box
    st.warning(DATABASE_DOWN, icon=":material/cloud_off:")
    if carried:
        st.warning(plain_markdown(carried), icon=":material/warning:")
    st.caption(f"For whoever runs this server: {plain_markdown(str(exc), inline=True)}")
    st.button("Try again", icon=":material/refresh:")  # a click reruns the page
    typed = st.chat_input(
        "Type your answer (or hint, skip, repeat, end)", key=_input_key(), submit_mode="disable"
    )
    if typed:
        st.session_state[MINE] = (
            Submission.refused(session_id, typed, UNREACHABLE),
            True,
        )
        st.rerun()


def _services() -> Services:
    from interviewer.web.resources import services

    return services()
