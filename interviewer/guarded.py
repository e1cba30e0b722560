"""The one place a model's reply is checked before anything is shown or saved.

``GuardedConductor`` wraps the LLM conductor. It reads the model's whole reply (stopping an
endless one at a length and time bound), runs the ``ReplyGuard`` checks for that kind of reply,
and says either the model's words or the offline line, with a notice naming what was caught.
A model that fails (timeout, rate limit, bad reply) is one more reason to say the offline line.
The checks and, when replaced, the model's own words are kept on the turn (``take_checks``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

from interviewer.conduct import Checked, Conductor, Context, describe_failure
from interviewer.domain import FollowUp, GuardCheck, KeyPoint, Question
from interviewer.guards import ReplyGuard

log = logging.getLogger(__name__)


def _reasons(checks: Sequence[GuardCheck]) -> str:
    return "; ".join(c.detail or c.name for c in checks if not c.passed)


class GuardedConductor:
    """The model first, every reply checked; the offline conductor when it fails a check."""

    def __init__(
        self,
        primary: Conductor,
        fallback: Conductor,
        guard: ReplyGuard,
        notify: Callable[[str], None],
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.guard = guard
        self.notify = notify
        self.name = primary.name
        self._checked = Checked()

    def take_checks(self) -> Checked:
        """The checks behind the reply just said (then forgotten)."""
        checked, self._checked = self._checked, Checked()
        return checked

    def _read(self, chunks: Iterator[str]) -> tuple[str, bool]:
        """The model's whole reply, and whether it had to be cut off."""
        params = self.guard.params
        parts: list[str] = []
        size = 0
        deadline = time.monotonic() + params.stream_seconds
        try:
            for chunk in chunks:
                parts.append(chunk)
                size += len(chunk)
                if size > params.stream_chars or time.monotonic() > deadline:
                    return "".join(parts).strip(), True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # an endless stream is not read on
        return "".join(parts).strip(), False

    def _run(
        self,
        what: str,
        instead: tuple[str, str],
        make: Callable[[Conductor], Iterator[str]],
        check: Callable[[str, bool], list[GuardCheck]],
        rescue: Callable[[str, list[GuardCheck]], str] | None = None,
    ) -> Iterator[str]:
        try:
            text, cut = self._read(make(self.primary))
        except Exception as exc:  # any model failure degrades, never ends the interview
            reason = describe_failure(exc)
            log.warning("LLM %s failed: %s", what, reason)
            self._checked = Checked([GuardCheck(name="model", passed=False, detail=reason)])
            self.notify(f"The language model could not {what} ({reason}); continuing offline.")
            yield from make(self.fallback)
            return
        checks = check(text, cut)
        failed = [c for c in checks if not c.passed]
        if not failed:
            self._checked = Checked(checks)
            yield text
            return
        self._checked = Checked(checks, model_text=text[: self.guard.params.stream_chars])
        rescued = rescue(text, checks) if rescue else ""
        self.notify(f"The model's {instead[0]} was not used ({_reasons(checks)}); {instead[1]}.")
        if rescued:
            yield rescued
            return
        yield from make(self.fallback)

    # -- the conductor methods --

    def greet(self, ctx: Context) -> Iterator[str]:
        """The pack's greeting (no model involved)."""
        return self.fallback.greet(ctx)

    def ask(self, ctx: Context, q: Question, position: int, total: int) -> Iterator[str]:
        """The model's wording of the question, if it passes; else the prepared question."""

        def rescue(text: str, checks: list[GuardCheck]) -> str:
            # Only the wording drifted: keep the model's lead-in, ask the prepared question.
            if any(not c.passed and c.name != "asked" for c in checks):
                return ""
            lead = self.guard.lead_in(text, q)
            return f"{lead} {q.question}" if lead else ""

        return self._run(
            "ask the question",
            ("question", "the prepared question is asked instead"),
            lambda c: c.ask(ctx, q, position, total),
            lambda text, cut: self.guard.check_ask(text, q, cut),
            rescue,
        )

    def follow_up(
        self,
        ctx: Context,
        q: Question,
        answers: Sequence[str],
        missed: Sequence[KeyPoint],
        suggested: FollowUp,
    ) -> Iterator[str]:
        """The model's follow-up, if it passes; else the curated one."""
        return self._run(
            "ask a follow-up",
            ("follow-up", "the prepared follow-up is asked instead"),
            lambda c: c.follow_up(ctx, q, answers, missed, suggested),
            lambda text, cut: self.guard.check_follow_up(text, q, suggested, cut),
        )

    def reply(self, ctx: Context, candidate_question: str) -> Iterator[str]:
        """The model's answer to the candidate's question, if it passes; else the pack's."""
        return self._run(
            "answer your question",
            ("reply", "a prepared reply is given instead"),
            lambda c: c.reply(ctx, candidate_question),
            lambda text, cut: self.guard.check_reply(text, ctx.questions, cut),
        )

    def close(self, ctx: Context) -> Iterator[str]:
        """The pack's closing (no model involved)."""
        return self.fallback.close(ctx)
