"""The interview page: setup, the chat itself, and the report once it is over.

The session id lives in the URL (``?session=…``), so a refresh or a second tab reopens the same
interview from the store; nothing about an interview is kept in server memory between reruns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import streamlit as st

from interviewer.domain import Level, Phase, Session, Speaker, TurnKind
from interviewer.engine import Command, Interview
from interviewer.errors import InterviewerError
from interviewer.packs import Pack, counted
from interviewer.progress import session_progress
from interviewer.redact import redact_url
from interviewer.report import at_level
from interviewer.services import Services, may_answer
from interviewer.store import StoreUnavailableError
from interviewer.turn_runner import UNREACHABLE, Outcome, Submission, TurnRunner
from interviewer.untrusted import model_markdown, plain_markdown
from interviewer.web.auth import viewer
from interviewer.web.report_view import show_report

REDRAW_S = 0.5
"""How often a reply on its way is drawn again while nothing new has come in."""

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
    packs = services.catalog.packs  # checked for edits once per render
    problems = services.pack_problems(viewer())
    if problems:
        with st.expander(
            f"{len(problems)} pack problem(s): a pack, a question or a folder left out",
            icon=":material/warning:",
        ):
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
                f"{_cell(f.description)} ({f.minutes} min, {counted(f.question_count, 'question')})"
                for f in formats.values()
            ],
        )
    accounts = services.settings.accounts
    with st.expander("Optional: a job description" + ("" if accounts else " and a profile")):
        job = st.text_area(
            "Job description",
            height=120,
            max_chars=20_000,
            help="Steers which questions are chosen.",
        )
        profile = (
            ""
            if accounts  # signed in: history follows the account
            else st.text_input(
                "Profile name",
                max_chars=60,
                help="Keeps your history and avoids repeating recent questions.",
            )
        )
    coaching = st.toggle("Coaching mode: show each answer's score right away", value=False)
    if st.button("Start interview", type="primary", width="stretch"):
        with st.spinner("Choosing your questions…"):
            interview = services.new_interview(
                pack_id, level or Level.MID, fmt or "phone-screen", profile, job, viewer=viewer()
            )
            interview.start()
        st.session_state["coaching"] = coaching
        st.query_params["session"] = interview.session.id
        st.rerun()


def _elapsed(started_at: str) -> str:
    start = datetime.fromisoformat(started_at)
    minutes = int((datetime.now(UTC) - start).total_seconds() // 60)
    return f"{minutes} min"


def transcript(interview: Interview, coaching: bool, upto: int | None = None) -> None:
    """Every turn so far (the first ``upto``), as chat messages; notices inline; scores if
    coaching."""
    scores = dict(interview.session.scores)
    turns = interview.session.turns[:upto]
    last_answer: dict[str, int] = {}
    for i, turn in enumerate(turns):
        if turn.kind is TurnKind.ANSWER and turn.question_id:
            last_answer[turn.question_id] = i
    for i, turn in enumerate(turns):
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
                q = interview.questions.get(score.question_id)
                listed = at_level(score, q, interview.session.level) if q else score
                st.caption(
                    f"Score so far: **{score.overall:.1f}/5** · "
                    f"{len(listed.covered())} of {len(listed.key_points)} key points · "
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


TAB = "tab"  # this tab's messages on their way (a Tab)
NOTICE = "submission-notice"  # what the candidate was last told about a message not used
NOTICE_FOR = "submission-notice-session"  # the interview that notice is about
INPUT_GENERATION = "input-generation"  # bumped to draw a new input holding a refused text
RESTORE = "submission-restore"  # that text, until the candidate sends something
CUT_SHORT = (
    "Your message was not sent: a click or another message came in right after it, before it "
    "could be taken."
)


@dataclass
class Tab:
    """This tab's messages on their way, in a plain object fetched once per run.

    Streamlit cuts a run short for a newer request (a click, a second message) at any
    ``st.session_state`` access or drawing call, never inside plain Python code; so what must
    not be lost between taking a message and handing it over lives here, not in session state.
    """

    unsent: list[str] = field(default_factory=list)  # typed, not handed over yet
    mine: tuple[Submission, bool] | None = None  # the latest submission; was it typed
    fresh: bool = False  # this run put a text back in the box: a new message keeps it there


def _tab() -> Tab:
    tab = st.session_state.get(TAB)
    if not isinstance(tab, Tab):
        tab = Tab()
        st.session_state[TAB] = tab
    return tab


def _input_key() -> str:
    return f"chat-input-{st.session_state.get(INPUT_GENERATION, 0)}"


def chat(
    interview: Interview,
    runner: TurnRunner,
    typed: str | None,
    carried: str,
    tab: Tab,
    cut_short: list[str],
) -> None:
    """The running interview. Every message ends up stored, or refused on screen with its text
    given back; replies are produced by ``runner`` off this thread and followed here.

    ``typed`` is the message this run carries, read from the input before the interview was
    loaded, and it is handed to ``runner`` before anything is drawn: Streamlit cuts a run short
    for a newer rerun request (a click, a second message) at a drawing call or a session-state
    access, and a message whose run was cut short before the hand-over would be gone without a
    word. ``cut_short`` are such messages (kept by the input's callback in ``tab``): they go
    back into the box.
    """
    session = interview.session
    token = len(session.turns)  # what this run shows: the transcript as loaded
    seen_key = f"seen-{session.id}"
    seen = st.session_state.get(seen_key)  # how many turns this tab showed last time
    clicked, stale = _clicked_commands(token)
    pending = typed if typed is not None else clicked
    sub: Submission | None = None
    if pending is not None:
        # Plain Python from here to the runner: nothing can cut in between.
        if typed is not None and tab.unsent and tab.unsent[-1] == typed:
            tab.unsent.pop()
        sub = runner.submit(interview, pending, seen)
        tab.mine = (sub, typed is not None)
        if not tab.fresh:  # the candidate sent this instead of the text put back earlier
            st.session_state.pop(NOTICE, None)
            st.session_state.pop(RESTORE, None)
    if cut_short:
        _give_back(session.id, cut_short, CUT_SHORT)
        del tab.unsent[: len(cut_short)]  # only once they are back in the box
    refused = sub is not None and sub.outcome is Outcome.REFUSED
    if refused or (pending is None and cut_short):
        st.rerun()  # the next run says why and puts the text back in the box
    header = st.container()
    transcript(interview, bool(st.session_state.get("coaching", False)), upto=token)
    if carried and pending is None:  # about an earlier message: gone once another is sent
        st.warning(plain_markdown(carried), icon=":material/warning:")
    for command in stale:
        st.warning(
            f"'{command}' was not used: the interview had moved on when it arrived.",
            icon=":material/warning:",
        )
    running = runner.in_flight(session.id)
    last = session.turns[token - 1] if token else None
    if sub is not None and pending is not None:
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


def _outcome_of_last_submission(session_id: str, tab: Tab, ended: bool = False) -> str:
    """What to tell the candidate about this tab's last message; a refused text goes back into
    the input once (this must run before the input is drawn). The words stay on screen until
    the candidate sends something else, whatever reruns come in between."""
    sub, typed = tab.mine if tab.mine is not None else (None, False)
    tab.fresh = False
    if sub is not None and sub.session_id == session_id and sub.finished and not sub.reported:
        if ended and typed and not sub.stored and sub.text.strip():
            _notice(
                session_id,
                f"This interview has ended, so your last message was not used: {sub.text}",
            )
        elif typed and not sub.stored and sub.text.strip():
            _give_back(session_id, [sub.text], sub.reason)
            tab.fresh = True
        elif sub.outcome is not Outcome.HANDLED:
            _notice(session_id, sub.reason)
        sub.reported = True  # only now: a run cut short above does this again next time
    if st.session_state.get(NOTICE_FOR) != session_id:
        return ""  # what was said concerns another interview
    if RESTORE in st.session_state and not st.session_state.get(_input_key()):
        # Pushed on every run until the candidate sends something (not in the run that
        # carries a new message): the browser may redraw the input from scratch on a later run.
        st.session_state[_input_key()] = st.session_state[RESTORE]
    notice: str = st.session_state.get(NOTICE, "")
    return notice


def _notice(session_id: str, text: str) -> None:
    """What to tell the candidate about a message of this interview that was not used."""
    st.session_state[NOTICE] = text
    st.session_state[NOTICE_FOR] = session_id


def _give_back(session_id: str, texts: list[str], reason: str) -> None:
    """Put messages that were not used back into the input (after any text already waiting
    there), with the reason; a new input widget is drawn holding them."""
    waiting = st.session_state.get(RESTORE) or ""
    texts = [t for t in texts if t.strip() and t not in waiting.split("\n\n")]
    if not texts:
        return
    st.session_state[RESTORE] = "\n\n".join([*([waiting] if waiting else []), *texts])
    # A new input widget, created holding the text: an input that already exists may have
    # cleared itself after the send, after the text was put back.
    st.session_state[INPUT_GENERATION] = st.session_state.get(INPUT_GENERATION, 0) + 1
    _notice(
        session_id, f"{reason} It is back in the box below: send it again if you still want to."
    )


def _keep_unsent(key: str) -> None:
    """The input's on_submit callback: it runs before the page's code, so a message is kept
    here until a run hands it over, even when its own run is cut short first."""
    text = st.session_state.get(key)
    if isinstance(text, str):
        _tab().unsent.append(text)


def _cut_short(tab: Tab, typed: str | None) -> list[str]:
    """Messages typed in runs that were cut short before handing them over (this run's own
    message, ``typed``, is not one of them)."""
    unsent = list(tab.unsent)
    if typed is not None and unsent and unsent[-1] == typed:
        unsent.pop()
    return unsent


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
    drawn_at = 0.0
    while True:
        done = sub.wait(0.05)
        text = sub.reply_so_far()
        # Drawn again at least every REDRAW_S even when unchanged: each drawing call is where
        # Streamlit takes a click or a page change (fast reruns are off, .streamlit/config.toml),
        # so a model slow to its first word does not hold them up.
        if text != shown or time.monotonic() - drawn_at >= REDRAW_S:
            placeholder.markdown(model_markdown(text) or "…")
            shown, drawn_at = text, time.monotonic()
        if done:
            break
    st.rerun()


ASK_END = "ask-end"  # the End button while questions remain: it asks before ending


def _command_buttons(session: Session, disabled: bool) -> None:
    """Hint, Skip, Repeat and End. While questions remain, End asks first: one stray click
    must not end an interview (typing "end" is deliberate and ends it at once)."""
    token = "busy" if disabled else str(len(session.turns))
    asking = session.phase is Phase.QUESTION
    cols = st.columns(4)
    for col, (command, label) in zip(cols, COMMAND_LABELS.items(), strict=True):
        ask_first = asking and command is Command.END
        col.button(
            label,
            key=f"{ASK_END}-{token}" if ask_first else f"cmd-{command.value}-{token}",
            width="stretch",
            disabled=disabled
            or (session.phase is not Phase.QUESTION and command is not Command.END),
        )
    if asking and not disabled and st.session_state.get(f"{ASK_END}-{token}") is True:
        _confirm_end(session, token)


def _confirm_end(session: Session, token: str) -> None:
    unasked = max(0, len(session.plan) - session.current - 1)
    left = (
        f"{counted(unasked, 'more question')} will not be asked"
        if unasked
        else "This is the last question"
    )
    with st.container(border=True):
        st.markdown(
            f"**End the interview now?** {left}; the report covers the answers you have given."
        )
        end, keep = st.columns(2)
        end.button(
            ":material/stop: End now", key=f"cmd-end-{token}", type="primary", width="stretch"
        )
        keep.button(":material/play_arrow: Keep going", key=f"keep-going-{token}", width="stretch")


def interview_page() -> None:
    """Setup, chat or report, depending on the session in the URL; errors become messages."""
    from interviewer.web.resources import guarded

    guarded(_interview_page)


ENDED_SEEN = "ended-sessions"  # the sessions this tab has seen ended (for the input's wording)


def _interview_page() -> None:
    services = _services()
    session_id = st.query_params.get("session")
    code = st.query_params.get("link")
    if code and not session_id:
        _from_link(services, code)
        return
    if not session_id:
        setup(services)
        return
    tab = _tab()
    seen_ended: set[str] = st.session_state.setdefault(ENDED_SEEN, set())
    was_ended = session_id in seen_ended
    carried = _outcome_of_last_submission(session_id, tab, ended=was_ended)  # may refill it
    # The input comes first, before the interview is read, and chat() hands its message over
    # before drawing anything else: the window in which a newer request can cut this run
    # short with the message not taken is as small as it can be, and a message caught in it
    # stays in ``tab.unsent`` for the next run to give back.
    typed = _message_input(ended=was_ended)
    cut_short = _cut_short(tab, typed)
    held = [*cut_short, *([typed] if typed else [])]  # what this run must not lose
    try:
        interview = services.open_interview(session_id, viewer=viewer())
    except StoreUnavailableError as exc:
        tab.unsent.clear()
        _database_down(exc, session_id, "\n\n".join(held) or None, carried, tab)
        return
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))  # it quotes the URL's session value
        for text in held:
            st.warning(plain_markdown(f"Your message was not used: {text}"))
        tab.unsent.clear()
        if st.button("Start a new interview"):
            st.query_params.clear()
            st.rerun()
        return
    runner = services.turns
    if not may_answer(viewer(), interview.session):
        for text in held:
            st.warning(plain_markdown(f"Only the candidate can answer; not sent: {text}"))
        tab.unsent.clear()
        _read_only(services, interview)
        return
    if interview.session.phase is Phase.DONE and runner.in_flight(session_id) is None:
        if not was_ended:
            seen_ended.add(session_id)
            if typed is None:
                st.rerun()  # draw the input again, saying the interview has ended
        tab.unsent.clear()
        _ended("\n\n".join(held) or None, carried)
        mine = session_progress(
            services.store, services.corpus.by_id(), interview.session, viewer=viewer()
        )
        show_report(services.report(interview.session), interview, mine)
        if st.button("Start another interview", type="primary"):
            st.query_params.clear()
            st.rerun()
        return
    seen_ended.discard(session_id)
    chat(interview, runner, typed, carried, tab, cut_short)


def _read_only(services: Services, interview: Interview) -> None:
    """Someone else's interview (a reviewer's or an admin's view): its report when finished,
    else the transcript so far; no input."""
    session = interview.session
    if session.phase is Phase.DONE:
        show_report(services.report(session), interview, own=False)
        return
    answered = sum(1 for s in session.plan if s.answers or s.skipped)
    st.info(
        f"This interview is in progress ({answered} of {len(session.plan)} questions answered). "
        "Only the candidate can answer; its report appears here when it is over."
    )
    transcript(interview, coaching=False)


def _from_link(services: Services, code: str) -> None:
    """Open the interview an interview link stands for (a new one, or this person's unfinished
    one from the same link), then show it under its own session URL."""
    try:
        with st.spinner("Preparing your interview…"):
            interview = services.interview_from_link(code, viewer())
            if not interview.session.turns:
                interview.start()
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return
    st.query_params.clear()
    st.query_params["session"] = interview.session.id
    st.rerun()


def _message_input(ended: bool) -> str | None:
    """The chat input, and the message it carries in this run, if any.

    Once the interview has ended it stays enabled: a disabled widget hands the script no value,
    so a message sent just before it was disabled would vanish without a word.
    """
    key = _input_key()
    if ended:
        return st.chat_input(
            "This interview has ended: Start another interview is above",
            key=key,
            on_submit=_keep_unsent,
            args=(key,),
        )
    return st.chat_input(
        "Type your answer (or hint, skip, repeat, end)",
        key=key,
        submit_mode="disable",
        on_submit=_keep_unsent,
        args=(key,),
    )


def _ended(typed: str | None, carried: str) -> None:
    """A message sent as the interview ended (from another tab, say) is named, not dropped."""
    if typed:
        carried = f"This interview has ended, so your last message was not used: {typed}"
    if carried:
        st.warning(plain_markdown(carried), icon=":material/warning:")


DATABASE_DOWN = (
    "Your interview is safe up to the last reply you saw, but the database that holds it "
    "cannot be reached just now, so nothing can be sent or saved. Try again in a moment."
)


def _database_down(
    exc: StoreUnavailableError, session_id: str, typed: str | None, carried: str, tab: Tab
) -> None:
    """The session database is down: say so, and keep what the candidate types.

    A message sent meanwhile is refused like one that came too late: its text goes back into
    the input, and stays there until the database answers again and the candidate sends it.
    """
    if typed:
        tab.mine = (Submission.refused(session_id, typed, UNREACHABLE), True)
        st.rerun()  # the next run says so and puts the text back in the box
    st.warning(DATABASE_DOWN, icon=":material/cloud_off:")
    if carried:
        st.warning(plain_markdown(carried), icon=":material/warning:")
    st.caption(f"For whoever runs this server: {plain_markdown(str(exc), inline=True)}")
    st.button("Try again", icon=":material/refresh:")  # a click reruns the page


def _services() -> Services:
    from interviewer.web.resources import services

    return services()
