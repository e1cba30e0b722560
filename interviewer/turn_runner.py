"""One message at a time per interview, each handled on its own thread.

The browser page hands a candidate's message to ``TurnRunner.submit`` and shows the reply as it
streams in. Within one server process an interview has at most one message in flight: a message
that arrives meanwhile (a second tab, a double click, a command clicked mid-reply) is refused
with a reason, so the page can say so and give the text back. Across processes the store's
revision check refuses a stale writer in the same way (``SessionConflictError``).

The work runs off the page's script thread, so a page rerun (another click, a refresh) never cuts
a reply short, and the page's thread stays free to take the next message at once: the next run
finds the message still in flight and follows it. Every submission ends in exactly one outcome:
handled (stored), refused (nothing stored, the text to give back), or failed (with a reason).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from interviewer.domain import Turn
from interviewer.engine import Interview, Stream
from interviewer.errors import InterviewerError
from interviewer.store import SessionConflictError, StoreUnavailableError

log = logging.getLogger(__name__)

BUSY = (
    "The interviewer was still replying to an earlier message (from this tab or another one), "
    "so this one was not sent."
)
MOVED_ON = (
    "The interview had moved on when this message arrived (a reply came in first, or another "
    "tab or window was used), so it was not sent."
)
UNREACHABLE = "Your message was not sent: the interview's database could not be reached."
REPLY_UNSAVED = (
    "Your message was saved, but the database went away before the reply was; the reply "
    "follows once the database is back (reload the page)."
)
REPLY_REPLACED = (
    "Your message was saved, but the interview changed in another tab or window while the "
    "reply was being written; here it is as it stands now."
)


class Outcome(StrEnum):
    """Where a submission ended up."""

    RUNNING = "running"
    HANDLED = "handled"  # stored, and the reply with it
    REFUSED = "refused"  # nothing stored: the text goes back to the candidate
    FAILED = "failed"  # an error; ``stored`` says whether the words themselves were saved


@dataclass
class Submission:
    """One message on its way through the engine."""

    session_id: str
    text: str
    outcome: Outcome = Outcome.RUNNING
    reason: str = ""
    stored: bool = False  # the candidate's words are in the store
    resuming: bool = False  # finishing a message stored earlier, not a new one
    chunks: list[str] = field(default_factory=list)
    reported: bool = False  # the page has told the candidate how it ended
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def refused(cls, session_id: str, text: str, reason: str) -> Submission:
        """A message refused before it reached any interview (the page could not load it)."""
        sub = cls(session_id, text)
        sub._end(Outcome.REFUSED, reason)
        return sub

    @property
    def finished(self) -> bool:
        """Whether the outcome is final."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until finished or ``timeout`` seconds pass; True when finished."""
        return self._done.wait(timeout)

    def reply_so_far(self) -> str:
        """The interviewer's words streamed so far."""
        return "".join(list(self.chunks))

    def _end(self, outcome: Outcome, reason: str = "") -> None:
        self.outcome, self.reason = outcome, reason
        self._done.set()


class TurnRunner:
    """Runs each interview's messages one at a time, off the caller's thread."""

    def __init__(self, start: Callable[[Callable[[], None]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._busy: dict[str, Submission] = {}
        self._start = start or _thread

    def in_flight(self, session_id: str) -> Submission | None:
        """The message being handled for that interview, if any."""
        with self._lock:
            return self._busy.get(session_id)

    def submit(self, interview: Interview, text: str, seen: int | None = None) -> Submission:
        """Handle ``text`` as the candidate's next message, unless it must be refused.

        ``seen`` is how many turns the page showed when the message was typed: when the
        interview has moved past that, the message answers a question no longer asked.
        """
        sub = Submission(interview.session.id, text)
        with self._lock:
            if sub.session_id in self._busy:
                sub._end(Outcome.REFUSED, BUSY)
                return sub
            if seen is not None and seen != len(interview.session.turns):
                sub._end(Outcome.REFUSED, MOVED_ON)
                return sub
            self._busy[sub.session_id] = sub
        self._start(lambda: self._run(sub, interview, lambda s: interview.handle(text, s)))
        return sub

    def resume(self, interview: Interview) -> Submission:
        """Finish a message that was saved but never answered (a crash or a refresh
        mid-reply); follows the one in flight instead when there is one."""
        sub = Submission(interview.session.id, "", stored=True, resuming=True)
        with self._lock:
            running = self._busy.get(sub.session_id)
            if running is not None:
                return running
            self._busy[sub.session_id] = sub
        self._start(lambda: self._run(sub, interview, interview.resume))
        return sub

    def _run(
        self, sub: Submission, interview: Interview, work: Callable[[Stream], list[Turn]]
    ) -> None:
        before = interview.saved_turns
        outcome, reason = Outcome.HANDLED, ""
        try:
            work(sub.chunks.append)
        except SessionConflictError:
            if sub.resuming:
                pass  # resuming: another tab or process answered that message first
            elif interview.saved_turns > before:
                outcome, reason = Outcome.FAILED, REPLY_REPLACED
            else:
                outcome, reason = Outcome.REFUSED, MOVED_ON  # another process wrote first
        except StoreUnavailableError as exc:  # the database went away: a server restart
            log.warning("session %s not saved: %s", sub.session_id, exc)
            if interview.saved_turns > before or sub.resuming:
                outcome, reason = Outcome.FAILED, REPLY_UNSAVED
            else:
                outcome, reason = Outcome.REFUSED, UNREACHABLE
        except InterviewerError as exc:
            outcome, reason = Outcome.FAILED, str(exc)
        except Exception as exc:  # the page must hear of it: never a silent loss
            log.exception("handling a message for session %s failed", sub.session_id)
            outcome = Outcome.FAILED
            reason = f"Something went wrong while replying ({type(exc).__name__})."
        sub.stored = sub.stored or outcome is Outcome.HANDLED or interview.saved_turns > before
        with self._lock:  # free the interview before anyone hears the outcome
            if self._busy.get(sub.session_id) is sub:
                del self._busy[sub.session_id]
        sub._end(outcome, reason)


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="interview-turn", daemon=True).start()
