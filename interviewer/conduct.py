"""Conductors: the interviewer's voice. Offline from pack lines and curated follow-ups; LLM on top.

Every conductor method returns the text to say as an iterator of chunks, so an LLM reply can be
streamed while an offline reply arrives in one piece. A model's conductor is always wrapped in
``interviewer.guarded.GuardedConductor``, which checks each reply and, on any failure (timeout,
rate limit, a reply that fails a guard), says the offline line instead and records a notice: the
interview never stops because a model did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from interviewer.domain import FollowUp, GuardCheck, KeyPoint, Level, Question
from interviewer.packs import Format, Pack, counted
from interviewer.scoring.text import is_non_answer


@dataclass(frozen=True)
class Context:
    """What a conductor knows about the interview it is running."""

    pack: Pack
    fmt: Format
    level: Level
    job_description: str = ""
    questions: tuple[Question, ...] = ()
    """The interview's planned questions (what a reply must not give away)."""


@dataclass(frozen=True)
class Checked:
    """The guard checks behind one reply, and the model's own words when they were replaced."""

    checks: list[GuardCheck] = field(default_factory=list)
    model_text: str | None = None


class Conductor(Protocol):
    """Says things in the interviewer's voice."""

    name: str

    def greet(self, ctx: Context) -> Iterator[str]:
        """Opening words."""
        ...

    def ask(self, ctx: Context, q: Question, position: int, total: int) -> Iterator[str]:
        """Pose a question."""
        ...

    def follow_up(
        self,
        ctx: Context,
        q: Question,
        answers: Sequence[str],
        missed: Sequence[KeyPoint],
        suggested: FollowUp,
    ) -> Iterator[str]:
        """Probe what the answer missed."""
        ...

    def reply(self, ctx: Context, candidate_question: str) -> Iterator[str]:
        """Answer one of the candidate's own questions."""
        ...

    def close(self, ctx: Context) -> Iterator[str]:
        """Closing words."""
        ...

    def take_checks(self) -> Checked:
        """The checks behind the reply just said (none for fixed lines)."""
        ...


_INFLECTIONS = r"(?:s|es|d|ed|ing)?"


def _mentions(text: str, keyword: str) -> bool:
    """Whether ``text`` says ``keyword`` as words of its own, or inflected ("mentored" says
    "mentor", "deploying" "deploy"): "underscore" does not say "score"."""
    pattern = rf"(?<!\w){re.escape(keyword.lower())}{_INFLECTIONS}(?!\w)"
    return re.search(pattern, text) is not None


def _pick(lines: Sequence[str], index: int) -> str:
    return lines[index % len(lines)]


class OfflineConductor:
    """Speaks with the pack's lines and the corpus's curated follow-ups; no model needed."""

    name = "offline"

    def greet(self, ctx: Context) -> Iterator[str]:
        """The pack's greeting template, with the number of questions this interview plans
        (a link's fixed list may differ from the format's plan)."""
        persona = ctx.pack.spec.persona
        count = len(ctx.questions) or ctx.fmt.question_count
        yield ctx.pack.render(
            "greeting",
            persona_name=persona.name,
            persona_title=persona.title,
            level=ctx.level.value,
            format_name=ctx.fmt.name,
            question_count=count,
            question_phrase=counted(count, "question"),
            minutes=ctx.fmt.minutes,
        )

    def ask(self, ctx: Context, q: Question, position: int, total: int) -> Iterator[str]:
        """A transition line (after the first question) and the question itself."""
        lines = ctx.pack.spec.offline
        lead = "" if position == 1 else _pick(lines.transitions, position) + " "
        yield f"{lead}{q.question}"

    def follow_up(
        self,
        ctx: Context,
        q: Question,
        answers: Sequence[str],
        missed: Sequence[KeyPoint],
        suggested: FollowUp,
    ) -> Iterator[str]:
        """An acknowledgement and the curated follow-up. A deepening probe after the answer to
        a follow-up steps back from it instead ("Where does that approach stop working?" is not
        about the follow-up's narrow point); a first "I don't know" is no such answer."""
        lines = ctx.pack.spec.offline
        n = len(answers)
        deepening = suggested.text in lines.deepening.get(q.category, [])
        answered_twice = sum(not is_non_answer(a) for a in answers) > 1
        intro = (
            lines.back_to_question
            if deepening and answered_twice
            else _pick(lines.follow_up_intros, n)
        )
        yield f"{_pick(lines.acknowledgements, n)} {intro} {suggested.text}"

    def reply(self, ctx: Context, candidate_question: str) -> Iterator[str]:
        """The pack reply whose keywords best match the candidate's question."""
        lines = ctx.pack.spec.offline
        text = candidate_question.lower()
        best = max(lines.replies, key=lambda r: sum(_mentions(text, k) for k in r.keywords))
        if not any(_mentions(text, k) for k in best.keywords):
            yield lines.default_reply
            return
        yield best.reply

    def close(self, ctx: Context) -> Iterator[str]:
        """The pack's closing template."""
        yield ctx.pack.render(
            "closing", persona_name=ctx.pack.spec.persona.name, level=ctx.level.value
        )

    def take_checks(self) -> Checked:
        """Fixed lines are not checked."""
        return Checked()


def describe_failure(exc: BaseException) -> str:
    """A short, key-free description of why a model call failed."""
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return "timed out"
    if "RateLimit" in name or getattr(exc, "status_code", None) == 429:
        return "rate limited"
    if "Authentication" in name or getattr(exc, "status_code", None) == 401:
        return "the API key was refused"
    if "Connection" in name:
        return "the endpoint could not be reached"
    if "OutputParser" in name or "ValidationError" in name or "JSON" in name:
        return "it returned a malformed reply"
    status = getattr(exc, "status_code", None)
    return f"error {status}" if status else name
