"""The data every part of Interviewer shares: corpus questions and their parts.

Every file format is a pydantic model with unknown fields rejected, so a typo in a
YAML key is an error that names the field instead of a silently ignored value.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SEED_SOURCE = r"^[0-9]{3}_[0-9a-f]{16}\.txt$"

Slug = Annotated[str, StringConstraints(pattern=SLUG, min_length=2, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Level(StrEnum):
    """Seniority of the candidate; ordered junior < mid < senior."""

    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"

    @property
    def rank(self) -> int:
        """0 for junior, 1 for mid, 2 for senior."""
        return list(Level).index(self)


class Category(StrEnum):
    """The kind of question, which decides the rubric it is scored with."""

    TECHNICAL = "technical"
    SYSTEM_DESIGN = "system_design"
    BEHAVIORAL = "behavioral"
    SOFT_SKILLS = "soft_skills"


class Strict(BaseModel):
    """Base for file formats: unknown fields are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyPoint(Strict):
    """One thing a good answer covers."""

    id: Slug = Field(description="Short slug, unique within the question; follow-ups refer to it.")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=400)]
    weight: int = Field(ge=1, le=3, description="1 nice to have, 2 expected, 3 essential.")
    level: Level = Field(description="The lowest level at which this point is expected.")


class FollowUp(Strict):
    """A probing question the interviewer can ask after the main answer."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=400)]
    probes: list[Slug] = Field(min_length=1, description="Ids of the key points it probes.")


class Question(Strict):
    """A curated interview question with everything needed to ask, probe and score it."""

    id: Slug = Field(description="Stable, unique across the whole corpus; never reused.")
    role: Slug
    levels: list[Level] = Field(min_length=1, description="Levels this question suits.")
    category: Category
    topic: Slug
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=15, max_length=600)
    ]
    key_points: list[KeyPoint] = Field(min_length=3)
    reference_answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    follow_ups: list[FollowUp] = Field(min_length=2)
    red_flags: list[Text] = Field(
        default_factory=list, description="Common misconceptions or warning signs."
    )
    tags: list[Slug] = Field(default_factory=list)
    source: str = Field(description='A seed document file name, or "original".')

    @model_validator(mode="after")
    def _check_consistency(self) -> Question:
        problems: list[str] = []
        if len(set(self.levels)) != len(self.levels):
            problems.append("levels: a level is listed twice")
        kp_ids = [kp.id for kp in self.key_points]
        if len(set(kp_ids)) != len(kp_ids):
            problems.append("key_points: key point ids must be unique within the question")
        top = max(level.rank for level in self.levels)
        low = min(level.rank for level in self.levels)
        for kp in self.key_points:
            if kp.level.rank > top:
                problems.append(
                    f"key_points.{kp.id}.level: '{kp.level}' is above every level the "
                    "question is asked at"
                )
        if all(kp.level.rank > low for kp in self.key_points):
            problems.append(
                "key_points: no key point is expected at the question's lowest level "
                f"'{list(Level)[low]}'"
            )
        for i, follow_up in enumerate(self.follow_ups):
            for probe in follow_up.probes:
                if probe not in kp_ids:
                    problems.append(
                        f"follow_ups.{i}.probes: '{probe}' is not a key point id of this question"
                    )
        words = len(self.reference_answer.split())
        if not 50 <= words <= 320:
            problems.append(f"reference_answer: {words} words; write between 50 and 320")
        needs_flags = self.category in (Category.TECHNICAL, Category.SYSTEM_DESIGN)
        if needs_flags and not self.red_flags:
            problems.append("red_flags: technical and system design questions need at least one")
        if self.source != "original" and not re.match(SEED_SOURCE, self.source):
            problems.append(
                f"source: '{self.source}' is neither 'original' nor a seed file name "
                "such as '000_706a1b6b71759c5a.txt'"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def expected_at(self, level: Level) -> list[KeyPoint]:
        """Key points a candidate of ``level`` is expected to cover."""
        return [kp for kp in self.key_points if kp.level.rank <= level.rank]

    def listed_at(self, points: list[KeyPointResult], level: Level) -> list[KeyPointResult]:
        """The results a report lists at ``level``: the points expected there, and any point
        above it that the answer made (one it did not make is not held against it)."""
        expected = {kp.id for kp in self.expected_at(level)}
        return [kp for kp in points if kp.covered or kp.id in expected]

    def search_text(self) -> str:
        """The text embedded for retrieval: the question, its topic and its tags.

        Key points are left out on purpose: they triple the tokens (and the ingest time) while
        the tags already carry the vocabulary a job description or a query uses.
        """
        tags = " ".join(tag.replace("-", " ") for tag in self.tags)
        return f"{self.question}\n{self.topic.replace('-', ' ')}: {tags}"

    def content_hash(self) -> str:
        """A stable hash of the item's content; the index re-embeds only when it changes."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


class CorpusFile(Strict):
    """One topic file, ``corpus/<role>/<topic>.yaml``."""

    questions: list[Question] = Field(min_length=1)


class CandidateQuestion(Strict):
    """A good question for the candidate to ask the interviewer at the end."""

    id: Slug
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=15, max_length=400)]
    why: Annotated[str, StringConstraints(strip_whitespace=True, min_length=15, max_length=600)]
    levels: list[Level] = Field(min_length=1)
    theme: Literal["team", "engineering", "product", "growth", "process", "role"]


class CandidateQuestionsFile(Strict):
    """``corpus/<role>/closing/candidate-questions.yaml``."""

    questions: list[CandidateQuestion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CandidateQuestionsFile:
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError("questions: ids must be unique")
        return self


class CoverageCell(Strict):
    """A topic x level x category cell that a real interview uses."""

    topic: Slug
    category: Category
    levels: list[Level] = Field(min_length=1)
    minimum: int = Field(default=2, ge=1, description="Questions needed in each level.")


class CoverageFile(Strict):
    """``corpus/<role>/closing/coverage.yaml``: the cells the bank must fill."""

    cells: list[CoverageCell] = Field(min_length=1)


# --- Interview sessions and scores -------------------------------------------------------------


class Flag(StrEnum):
    """Something notable about an answer, shown in the report."""

    EMPTY = "empty"
    NO_ANSWER = "no_answer"
    OFF_TOPIC = "off_topic"
    INJECTION_SUSPECTED = "injection_suspected"
    TRUNCATED = "truncated"
    SKIPPED = "skipped"
    HINTED = "hinted"
    RED_FLAG = "red_flag"
    WORDS_OUT_OF_ORDER = "words_out_of_order"


class Record(BaseModel):
    """Base for stored records: unknown fields rejected, but mutable."""

    model_config = ConfigDict(extra="forbid")


class CriterionScore(Record):
    """One rubric criterion's score for an answer, with the evidence behind it."""

    id: str
    name: str
    score: int = Field(ge=1, le=5)
    evidence: str = ""
    reason: str = ""


class KeyPointResult(Record):
    """Whether an answer covered a key point, and the sentence that did."""

    id: str
    text: str
    weight: int
    covered: bool
    similarity: float = 0.0
    evidence: str = ""
    touched: bool = Field(
        default=False,
        description="Not covered, but said in part: a sentence came as close to it as to a "
        "covered point (offline scorer only).",
    )


OFFLINE_SCORER = "offline"  # ``AnswerScore.scorer`` of the offline scorer
STRONG_ANSWER_AT = 3.5  # a score from which an answer is pushed further rather than probed


class AnswerScore(Record):
    """The score of everything a candidate said about one question."""

    question_id: str
    criteria: list[CriterionScore]
    overall: float = Field(ge=1, le=5)
    key_points: list[KeyPointResult] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    scorer: str = Field(description="Which scorer produced this: 'offline' or 'llm:<model>'.")
    notice: str = ""
    key_points_by: str = Field(
        default="",
        description="Who ticked the key points, when not the scorer itself: 'offline' where an "
        "LLM judge named no covered point and the offline scorer's ticks stand.",
    )
    follow_up_closeness: list[float] = Field(
        default_factory=list,
        description="Per curated follow-up of the question, in order: the MiniLM cosine of the "
        "answer sentence closest to it. Offline, on questions told in the candidate's own "
        "words only; empty otherwise.",
    )

    def covered(self) -> list[KeyPointResult]:
        """Key points the answer covered."""
        return [kp for kp in self.key_points if kp.covered]

    def missed(self) -> list[KeyPointResult]:
        """Key points the answer missed (touched on or not)."""
        return [kp for kp in self.key_points if not kp.covered]

    def touched(self) -> list[KeyPointResult]:
        """Key points the answer touched on without making them."""
        return [kp for kp in self.key_points if not kp.covered and kp.touched]

    def untouched(self) -> list[KeyPointResult]:
        """Key points the answer did not even touch on."""
        return [kp for kp in self.key_points if not kp.covered and not kp.touched]

    @property
    def ticked_offline(self) -> bool:
        """Whether the key points were ticked by the offline scorer (its own score, or an LLM
        judge's that named no covered point)."""
        return OFFLINE_SCORER in (self.scorer, self.key_points_by)

    def misses_in_doubt(self, told_in_own_words: bool) -> bool:
        """Whether the points this score missed were likely made all the same: a strong answer
        (``STRONG_ANSWER_AT``) in the candidate's own words, ticked offline. The offline ticks
        find fewer than half the points a story makes, and on the labelled stories that scored
        3.5 or more the curated follow-up chosen probed a point the grader saw made 5 times in
        5 (key-points-v1). Such misses are neither probed nor studied."""
        return told_in_own_words and self.ticked_offline and self.overall >= STRONG_ANSWER_AT


class Speaker(StrEnum):
    """Who said a turn."""

    INTERVIEWER = "interviewer"
    CANDIDATE = "candidate"
    SYSTEM = "system"


class TurnKind(StrEnum):
    """What a turn is."""

    GREETING = "greeting"
    QUESTION = "question"
    FOLLOW_UP = "follow_up"
    ANSWER = "answer"
    HINT = "hint"
    COMMAND = "command"
    NOTICE = "notice"
    CANDIDATE_QUESTION = "candidate_question"
    REPLY = "reply"
    CLOSING = "closing"


class GuardCheck(Record):
    """One check a model's reply went through before the candidate saw it."""

    name: str = Field(description="asked, no_leak, one_question, no_grading or clean.")
    passed: bool
    detail: str = ""
    value: float | None = Field(default=None, description="The measured similarity, if any.")


class Turn(Record):
    """One message in the interview."""

    speaker: Speaker
    kind: TurnKind
    text: str
    question_id: str | None = None
    at: str = Field(description="ISO 8601 UTC time.")
    checks: list[GuardCheck] = Field(
        default_factory=list,
        description="The guards a model's reply passed or failed (empty for fixed lines).",
    )
    model_text: str | None = Field(
        default=None, description="What the model said, when a guard replaced it."
    )


class Phase(StrEnum):
    """Where the interview is."""

    QUESTION = "question"
    CANDIDATE_QUESTIONS = "candidate_questions"
    DONE = "done"


class QuestionState(Record):
    """Progress on one planned question."""

    question_id: str
    answers: list[str] = Field(default_factory=list)
    follow_ups_asked: list[int] = Field(default_factory=list)
    deepened: str = ""  # the pack's deepening probe asked after a strong answer, if any
    hints: int = 0
    skipped: bool = False
    finished: bool = False
    truncated: bool = False  # an answer to it was cut to the length limit


class Session(Record):
    """A whole interview: its settings, plan, transcript and scores."""

    id: str
    pack_id: str
    pack_version: str
    pack_hash: str
    level: Level
    format: str
    profile: str | None = None
    # With accounts on: who took it, their team, and the interview link it came from.
    owner_id: str | None = None
    team: str | None = None
    link_id: str | None = None
    job_description: str = ""
    mode: str = "offline"
    phase: Phase = Phase.QUESTION
    plan: list[QuestionState] = Field(default_factory=list)
    current: int = 0
    candidate_questions_asked: int = 0
    turns: list[Turn] = Field(default_factory=list)
    scores: dict[str, AnswerScore] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    started_at: str
    ended_at: str | None = None
    # The stored revision this copy was read at (0: never stored). Kept out of the saved state:
    # the store's own column is the truth, and a save from an older revision is refused.
    _revision: int = PrivateAttr(default=0)

    @property
    def revision(self) -> int:
        """The stored revision this copy was read at or last saved as (0: never stored)."""
        return self._revision

    @property
    def active(self) -> QuestionState | None:
        """The question being asked, if any."""
        if self.phase is Phase.QUESTION and 0 <= self.current < len(self.plan):
            return self.plan[self.current]
        return None


def utc_now(timespec: str = "seconds") -> str:
    """The current UTC time as stored everywhere: ISO 8601, to the second unless ``timespec``
    says otherwise."""
    return datetime.now(UTC).isoformat(timespec=timespec)


def to_minute(timestamp: str) -> str:
    """A stored UTC timestamp (ISO 8601) as people read it: ``2026-12-06 00:03``."""
    return timestamp[:16].replace("T", " ")
