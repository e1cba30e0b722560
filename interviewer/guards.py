"""Checks on every model reply before a candidate sees it (docs/guards.md).

A conductor reply from a model goes through ``ReplyGuard`` in one place
(``interviewer.guarded.GuardedConductor``). Each check returns a ``GuardCheck``:

- ``clean``: something to say, prose rather than JSON, no links, images, HTML or escape
  sequences, and a stream that ended within bounds;
- ``one_question``: one question (or as many as the prepared text asks), no list, bounded length
  (``bounded`` for replies to the candidate's own questions: length only);
- ``no_grading``: no verdict on the candidate's answer ("correct", "great answer", "you missed");
- ``no_leak``: no sentence close to a key point, a red flag or a reference-answer sentence;
- ``asked``: the question posed is the one retrieved: close in meaning, with every number and
  named constraint kept.

Thresholds are ``GuardParams``, read from the pack's ``guards.json`` (fitted on the corpus by
``interviewer eval guards``), with defaults when a pack has none.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer.domain import FollowUp, GuardCheck, Question
from interviewer.errors import InterviewerError
from interviewer.scoring.text import sentences

GRADING_PHRASES = (
    # a verdict on the answer; plain words like "wrong" or "correct" are left alone, since
    # questions ask what could go wrong or whether a result stays correct
    "that's correct",
    "that is correct",
    "that's right",
    "that is right",
    "you're right",
    "you are right",
    "that's wrong",
    "that is wrong",
    "that's incorrect",
    "that is incorrect",
    "not quite right",
    "good answer",
    "great answer",
    "excellent answer",
    "nice answer",
    "perfect answer",
    "excellent",
    "perfect",
    "well done",
    "nice job",
    "good job",
    "great job",
    "spot on",
    "exactly right",
    "nailed it",
    "you missed",
    "you forgot",
    "you didn't mention",
    "you did not mention",
    "you left out",
    "you overlooked",
    "your answer is",
    "your answer was",
)


class GuardFit(BaseModel):
    """How the thresholds were fitted, and what they cost on the corpus (the justification)."""

    model_config = ConfigDict(extra="forbid")

    corpus_questions: int
    curated_follow_ups: int
    follow_ups_flagged: dict[str, float] = Field(
        description="Share of curated follow-ups each check would wrongly stop, by check."
    )
    questions_flagged: dict[str, float] = Field(
        description="Share of curated questions (with a pack transition) each check would stop."
    )
    leaks_caught: float = Field(description="Share of planted key points / reference sentences.")
    paraphrased_leaks_caught: float = Field(
        description="The same, caught only through the other secrets (a reworded leak)."
    )
    drift_caught: float = Field(description="Share of neighbouring questions asked instead.")
    constraint_drops_caught: float = Field(
        description="Share of questions with a number or named constraint removed."
    )
    judge_gap_basis: str = ""


class GuardParams(BaseModel):
    """Thresholds of the reply guards and the judge check: data with defaults."""

    model_config = ConfigDict(extra="forbid")

    asked_at: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Least similarity of the posed question to the prepared one.",
    )
    leak_at: float = Field(
        default=0.8, ge=0, le=1, description="Similarity to a secret at which a sentence leaks."
    )
    said_back_at: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="A sentence this close to the question or a curated follow-up says it back.",
    )
    lead_in_chars: int = Field(default=220, ge=0, description="Room for a lead-in sentence.")
    reply_chars: int = Field(default=900, ge=50, description="Longest reply to a candidate.")
    stream_chars: int = Field(default=4000, ge=100, description="Reading stops here.")
    stream_seconds: float = Field(default=60.0, gt=0, description="Reading stops after this.")
    judge_gap: float = Field(
        default=2.0,
        ge=0,
        le=4,
        description="A judge score this far above the offline one needs quoted evidence.",
    )
    grading_phrases: list[str] = Field(default_factory=lambda: list(GRADING_PHRASES))
    fit: GuardFit | None = None

    @classmethod
    def load(cls, path: Path | None) -> GuardParams:
        """The pack's ``guards.json``, or the defaults when there is none."""
        if path is None or not path.is_file():
            return cls()
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError, OSError) as exc:
            raise GuardParamsError(
                f"{path}: not a valid guards file ({str(exc).splitlines()[0]}). Refit it with "
                "`interviewer eval guards --write`, or delete it to use the defaults."
            ) from None


class GuardParamsError(InterviewerError):
    """A pack's guards.json cannot be read."""


@dataclass(frozen=True)
class Verdict:
    """A reply after the guards: what to show, the checks, and whether it was replaced."""

    text: str
    checks: list[GuardCheck]
    replaced: bool = False
    notice: str = ""

    @property
    def failed(self) -> list[GuardCheck]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]


# --- text-only checks ---------------------------------------------------------------------

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[[^\]]+\]\([^)]+\)|\bhttps?://|\bwww\.\S", re.IGNORECASE)
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")
_ESCAPES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LIST_LINE = re.compile(r"^\s*(?:[-*\u2022+]|\d{1,2}[.)])\s+\S", re.MULTILINE)
_CODE_FENCE = re.compile(r"^\s*```", re.MULTILINE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAMED = re.compile(
    r"`([^`]+)`"  # code names
    r"|\"([^\"]{2,40})\""  # quoted terms
    r"|\b([A-Z]{2,}[A-Za-z0-9]*|[A-Za-z]+[0-9][A-Za-z0-9]*|[A-Za-z][a-z]+[A-Z][A-Za-z0-9]*)\b"
)
_PROPER = re.compile(r"(?<=[a-z,;:(] )([A-Z][a-z]+(?:[A-Z][a-z]+)*)\b")


def _is_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return stripped.endswith(("}", "]"))
    return True


_URL = re.compile(r"\bhttps?://[^\s)]+|\bwww\.[^\s)]+", re.IGNORECASE)


def clean_check(text: str, base: str = "", *, cut_short: bool = False) -> GuardCheck:
    """Prose a candidate can read: not empty, not JSON, no markup, links or escape codes
    (an address the prepared text itself contains may be repeated)."""
    for url in {u.rstrip(".,;:!?") for u in _URL.findall(text)}:
        if url in base:
            text = text.replace(url, "")
    problem = ""
    if cut_short:
        problem = "the reply did not end within the length or time allowed"
    elif not text.strip():
        problem = "the reply was empty"
    elif _is_json(text) or _CODE_FENCE.search(text):
        problem = "the reply was data or code, not prose"
    elif _IMAGE.search(text):
        problem = "the reply contained an image"
    elif _LINK.search(text):
        problem = "the reply contained a link"
    elif _HTML.search(text):
        problem = "the reply contained HTML"
    elif _ESCAPES.search(text):
        problem = "the reply contained control or escape characters"
    return GuardCheck(name="clean", passed=not problem, detail=problem)


def shape_check(text: str, base: str, max_chars: int) -> GuardCheck:
    """One question (no more than ``base`` asks), no list, at most ``max_chars``."""
    allowed = max(1, base.count("?"))
    asked = text.count("?")
    problem = ""
    if asked > allowed:
        problem = f"it asked {asked} questions"
    elif _LIST_LINE.search(text) and not _LIST_LINE.search(base):
        problem = "it was a list"
    elif len(text) > max_chars:
        problem = f"it ran to {len(text)} characters"
    return GuardCheck(name="one_question", passed=not problem, detail=problem)


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![a-z])(?:{alternatives})(?![a-z])", re.IGNORECASE)


def grading_check(text: str, base: str, phrases: Sequence[str]) -> GuardCheck:
    """No verdict on the answer; a phrase the prepared text itself uses is allowed."""
    pattern = _phrase_pattern(phrases)
    own = {m.group(0).lower() for m in pattern.finditer(base)}
    said = [m.group(0) for m in pattern.finditer(text) if m.group(0).lower() not in own]
    return GuardCheck(
        name="no_grading",
        passed=not said,
        detail=f"it graded the answer ('{said[0]}')" if said else "",
    )


def constraints(text: str) -> set[str]:
    """The numbers and named terms of a question, as they must reappear when it is asked."""
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    for match in _NAMED.finditer(text):
        term = next(g for g in match.groups() if g)
        found.add(term.lower())
    found.update(m.group(1).lower() for m in _PROPER.finditer(text))  # Redis, Kafka mid-sentence
    return found


def dropped_constraints(asked: str, prepared: str) -> list[str]:
    """Numbers and named terms of ``prepared`` that ``asked`` leaves out."""
    have = asked.lower().replace(",", "")
    return sorted(term for term in constraints(prepared) if term.replace(",", "") not in have)


# --- the guard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Vectors:
    question: np.ndarray  # the question whole and sentence by sentence
    allowed: np.ndarray  # question and curated follow-ups, whole and by sentence
    secrets: np.ndarray  # key points, red flags, reference sentences


class ReplyGuard:
    """Checks model replies against the retrieved question; embeddings cached per question."""

    def __init__(
        self,
        embeddings: Embeddings,
        params: GuardParams | None = None,
        question_embeddings: Embeddings | None = None,
    ) -> None:
        """``question_embeddings`` embeds question texts only (see ``EmbeddingScorer``); a
        model's replies go to ``embeddings``."""
        self.embeddings = embeddings
        self.question_embeddings = question_embeddings or embeddings
        self.params = params or GuardParams()
        self._cache: OrderedDict[str, _Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def _vectors(self, q: Question) -> _Vectors:
        key = q.content_hash()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        asked = [q.question, *sentences(q.question)]
        follow = [t for f in q.follow_ups for t in (f.text, *sentences(f.text))]
        secret_texts = [
            *(kp.text for kp in q.key_points),
            *q.red_flags,
            *sentences(q.reference_answer),
        ]
        vecs = self._embed([*asked, *follow, *secret_texts], self.question_embeddings)
        a, f = len(asked), len(follow)
        entry = _Vectors(vecs[:a], vecs[: a + f], vecs[a + f :])
        with self._lock:
            self._cache[key] = entry
            if len(self._cache) > 256:
                self._cache.popitem(last=False)
        return entry

    def _embed(self, texts: Sequence[str], embeddings: Embeddings | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        vectors = (embeddings or self.embeddings).embed_documents(list(texts))
        return np.asarray(vectors, dtype=np.float32)

    # -- checks that need embeddings --

    def leak_check(self, text: str, questions: Sequence[Question]) -> GuardCheck:
        """No sentence restates a key point, red flag or reference sentence of ``questions``.

        A sentence that says the question or a curated follow-up back is not a leak.
        """
        spoken = sentences(text)
        if not spoken or not questions:
            return GuardCheck(name="no_leak", passed=True)
        vecs = self._embed(spoken)
        worst = 0.0
        for q in questions:
            qv = self._vectors(q)
            if not len(qv.secrets):
                continue
            said_back = (vecs @ qv.allowed.T).max(axis=1) >= self.params.said_back_at
            sims = vecs @ qv.secrets.T
            sims[said_back] = 0.0
            worst = max(worst, float(sims.max()))
        leaked = worst >= self.params.leak_at
        # The notice a candidate reads is built from the detail: it must not quote the secret.
        detail = "it gave away part of the expected answer" if leaked else ""
        return GuardCheck(name="no_leak", passed=not leaked, detail=detail, value=round(worst, 3))

    def asked_check(self, text: str, q: Question) -> GuardCheck:
        """The question posed is the prepared one: similar in meaning, constraints kept.

        The reply may open with a lead-in, so every tail of it (dropping leading sentences)
        is compared with the question; the closest counts.
        """
        spoken = sentences(text) or [text]
        tails = [" ".join(spoken[i:]) for i in range(len(spoken))]
        vecs = self._embed(tails)
        similarity = float((vecs @ self._vectors(q).question[:1].T).max())
        dropped = dropped_constraints(text, q.question)
        problem = ""
        if similarity < self.params.asked_at:
            problem = "it drifted from the prepared question"
        elif dropped:
            problem = f"it left out {', '.join(repr(d) for d in dropped[:3])}"
        return GuardCheck(
            name="asked", passed=not problem, detail=problem, value=round(similarity, 3)
        )

    # -- per kind of reply --

    def _common(
        self, text: str, base: str, shape: GuardCheck, questions: Sequence[Question], cut: bool
    ) -> list[GuardCheck]:
        """clean, the reply's shape check, no_grading and (for readable text) no_leak."""
        clean = clean_check(text, base, cut_short=cut)
        checks = [clean, shape, grading_check(text, base, self.params.grading_phrases)]
        if clean.passed:
            checks.append(self.leak_check(text, questions))
        return checks

    def _question_shape(self, text: str, base: str) -> GuardCheck:
        return shape_check(text, base, len(base) + self.params.lead_in_chars)

    def check_ask(self, text: str, q: Question, cut: bool = False) -> list[GuardCheck]:
        """Checks on a model's wording of the retrieved question."""
        shape = self._question_shape(text, q.question)
        checks = self._common(text, q.question, shape, [q], cut)
        if checks[0].passed:
            checks.append(self.asked_check(text, q))
        return checks

    def check_follow_up(
        self, text: str, q: Question, suggested: FollowUp, cut: bool = False
    ) -> list[GuardCheck]:
        """Checks on a model's follow-up."""
        shape = self._question_shape(text, suggested.text)
        return self._common(text, suggested.text, shape, [q], cut)

    def check_reply(
        self, text: str, questions: Sequence[Question], cut: bool = False
    ) -> list[GuardCheck]:
        """Checks on a reply to the candidate's own question (no verdicts, no answers given
        away for any question of the interview); its shape is only its length."""
        too_long = len(text) > self.params.reply_chars
        bounded = GuardCheck(
            name="bounded",
            passed=not too_long,
            detail=f"it ran to {len(text)} characters" if too_long else "",
        )
        return self._common(text, "", bounded, questions, cut)

    def lead_in(self, text: str, q: Question) -> str:
        """The model's opening sentence, if it can stand before the prepared question: a short
        statement (not a question) that passes every other check."""
        spoken = sentences(text)
        if len(spoken) < 2:
            return ""
        first = spoken[0]
        if "?" in first or len(first) > 160 or not first.rstrip().endswith((".", "!", ":")):
            return ""
        checks = [
            clean_check(first, q.question),
            grading_check(first, q.question, self.params.grading_phrases),
            self.leak_check(first, [q]),
        ]
        if not all(c.passed for c in checks):
            return ""
        if constraints(first) - constraints(q.question):
            return ""  # it brings terms of its own: technical content the question lacks
        return first
