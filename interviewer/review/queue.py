"""What there is to grade: answers from finished interviews, or an imported dataset's items."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, partial

from interviewer.accounts.access import Viewer
from interviewer.domain import AnswerScore, Category, Level, Phase, Question
from interviewer.evals.datasets import EvalItem, Scale
from interviewer.evals.items import as_question, as_request
from interviewer.packs import Pack, Rubric
from interviewer.review.grades import GradeStore, dataset_key, interview_key, rubric_hash
from interviewer.scoring.base import Scorer, ScoringRequest
from interviewer.store import SessionStore, same_profile

MAX_SESSIONS = 2000


@dataclass(frozen=True)
class ReviewItem:
    """One answer to grade, with everything a grader needs and what the scorers said."""

    key: str
    source: str  # "interview" or "dataset"
    label: str
    question: Question
    level: Level
    answer: str
    rubric: Rubric
    rubric_hash: str
    pack_id: str
    score_offline: Callable[[], AnswerScore | None] = field(
        default=lambda: None, repr=False, compare=False
    )
    """How to get the offline scorer's reading: the interview's own, or scored when first
    asked for (only graded items are, so a long queue builds at once)."""
    judge: AnswerScore | None = None
    rubric_changed: bool = False
    profile: str | None = None
    format: str = ""
    started_at: str = ""
    human_scale: Scale | None = None  # the imported dataset's scale

    @cached_property
    def offline(self) -> AnswerScore | None:
        """The offline scorer's reading of the answer (computed once)."""
        return self.score_offline()

    @property
    def category(self) -> Category:
        """The question's category (its rubric)."""
        return self.question.category


@dataclass(frozen=True)
class Filters:
    """Which finished interviews to grade."""

    pack: str | None = None
    level: Level | None = None
    format: str | None = None
    profile: str | None = None
    since: date | None = None
    until: date | None = None

    def admit(self, pack: str, level: str, fmt: str, profile: str | None, started: str) -> bool:
        """True when a session with these fields is in the queue."""
        day = date.fromisoformat(started[:10])
        return (
            (self.pack is None or pack == self.pack)
            and (self.level is None or level == self.level.value)
            and (self.format is None or fmt == self.format)
            and (self.profile is None or same_profile(profile or "", self.profile))
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )


def interview_items(
    store: SessionStore,
    packs: Mapping[str, Pack],
    corpus: Mapping[str, Question],
    offline: Mapping[str, Scorer],
    filters: Filters = Filters(),
    *,
    viewer: Viewer,
) -> list[ReviewItem]:
    """Every answered (not skipped) question of the finished interviews the filters admit,
    oldest interview first. ``offline``: the offline scorer per pack id, to score an answer
    the interview's LLM judge scored (so graders are compared with both)."""
    items: list[ReviewItem] = []
    rows = [
        r
        for r in store.list_sessions(limit=MAX_SESSIONS, viewer=viewer)
        if r.phase == Phase.DONE.value
        and filters.admit(r.pack_id, r.level, r.format, r.profile, r.started_at)
    ]
    for row in reversed(rows):
        session = store.load(row.id, viewer=viewer)
        pack = packs.get(session.pack_id)
        if pack is None:
            continue  # a pack no longer installed: nothing to show its rubric with
        for n, state in enumerate(session.plan, start=1):
            q = corpus.get(state.question_id)
            score = session.scores.get(state.question_id)
            if q is None or not state.answers or state.skipped or score is None:
                continue
            rubric = pack.rubric(q.category)
            answer = "\n\n".join(state.answers)
            judged = score.scorer.startswith("llm:")
            request = ScoringRequest(q, answer, session.level, rubric, state.hints)
            items.append(
                ReviewItem(
                    key=interview_key(session.id, q.id),
                    source="interview",
                    label=f"{session.started_at[:10]} · {session.format} · question {n}",
                    question=q,
                    level=session.level,
                    answer=answer,
                    rubric=rubric,
                    rubric_hash=rubric_hash(rubric),
                    pack_id=pack.id,
                    score_offline=_offline(score, judged, offline.get(pack.id), request),
                    judge=score if judged else None,
                    rubric_changed=session.pack_hash != pack.content_hash,
                    profile=session.profile,
                    format=session.format,
                    started_at=session.started_at,
                )
            )
    return items


def _offline(
    stored: AnswerScore, judged: bool, scorer: Scorer | None, request: ScoringRequest
) -> Callable[[], AnswerScore | None]:
    """The interview's own score when it was scored offline; else the offline scorer's, later."""
    if not judged:
        return lambda: stored
    if scorer is None:
        return lambda: None
    return partial(scorer.score, request)


def dataset_items(
    grades: GradeStore,
    name: str,
    pack: Pack,
    corpus: Mapping[str, Question],
    offline: Scorer,
    *,
    viewer: Viewer,
) -> list[ReviewItem]:
    """An imported dataset's items ``viewer`` may grade, each scored offline with ``pack``'s
    rubric."""
    found = grades.dataset_items(name, viewer)
    return [
        _dataset_item(key, item, scale, name, pack, corpus, offline) for key, item, scale in found
    ]


def _dataset_item(
    key: str,
    item: EvalItem,
    scale: Scale,
    name: str,
    pack: Pack,
    corpus: Mapping[str, Question],
    offline: Scorer,
) -> ReviewItem:
    q = as_question(item, corpus)
    rubric = pack.rubric(q.category)
    return ReviewItem(
        key=key or dataset_key(name, item.id),
        source="dataset",
        label=f"{name} · {item.id}",
        question=q,
        level=item.level,
        answer=item.answer,
        rubric=rubric,
        rubric_hash=rubric_hash(rubric),
        pack_id=pack.id,
        score_offline=partial(offline.score, as_request(item, corpus, pack)),
        human_scale=scale,
    )
