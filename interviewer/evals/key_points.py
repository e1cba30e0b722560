"""Key-point labels: which of a curated question's key points an answer covers, as a grader
reads it, and how far the offline scorer's covered / missed agrees.

The scorer's covered points are what the report ticks, what the interviewer stops probing and
what a hint skips, so they are measured on their own, apart from the overall score.

JSONL: an optional header line ``{"dataset": {"name": ..., "description": ...}}``, then one
``PointItem`` per line: a corpus question id, the level, the answer and a label per key point
id (2 covered, 1 partly, 0 not covered or said wrongly). The scorer is judged against
"covered" (2): a partly made point is one the interviewer should still probe. Any scorer can be
measured: the offline one, or an LLM judge (its ``covered_key_points``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer.conduct import describe_failure
from interviewer.domain import AnswerScore, Level, Question
from interviewer.evals.datasets import DatasetError
from interviewer.evals.judging import nothing_judged, score_all
from interviewer.packs import Pack
from interviewer.scoring.base import Scorer, ScoringRequest


class PointsInfo(BaseModel):
    """The optional header line."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""


class PointItem(BaseModel):
    """One answer with a grader's label for each key point of its question."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1, description="A corpus question id.")
    level: Level
    answer: str
    points: dict[str, Literal[0, 1, 2]] = Field(
        min_length=1, description="Key point id -> 2 covered, 1 partly, 0 not covered."
    )
    source: str = ""
    why: dict[str, str] = Field(default_factory=dict, description="A grader's note per point.")


@dataclass(frozen=True)
class PointsFile:
    """A read key-point label file."""

    info: PointsInfo
    items: list[PointItem]
    source: str


def load_points(path: Path, questions: Mapping[str, Question]) -> PointsFile:
    """Read and check a label file: every question and key point id must exist, every key
    point of the question must be labelled, and ids must be unique."""
    info = PointsInfo()
    items: list[PointItem] = []
    lines: dict[str, list[int]] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
        try:
            if number == 1 and isinstance(data, dict) and set(data) == {"dataset"}:
                info = PointsInfo.model_validate(data["dataset"])
                continue
            item = PointItem.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(map(str, first["loc"])) or "line"
            raise DatasetError(f"{where}: field {field}: {first['msg']}") from None
        _check(item, questions, where)
        items.append(item)
        lines.setdefault(item.id, []).append(number)
    if not items:
        raise DatasetError(f"{path}: no labelled answers")
    twice = [f"{i} (lines {', '.join(map(str, n))})" for i, n in lines.items() if len(n) > 1]
    if twice:  # as eval run refuses them: an answer counted twice
        raise DatasetError(f"{path}: duplicate item ids: {'; '.join(twice[:10])}")
    return PointsFile(info, items, str(path))


def _check(item: PointItem, questions: Mapping[str, Question], where: str) -> None:
    q = questions.get(item.question)
    if q is None:
        raise DatasetError(f"{where}: field question: no corpus question '{item.question}'")
    ids = [kp.id for kp in q.key_points]
    unknown = [k for k in item.points if k not in ids]
    if unknown:
        raise DatasetError(
            f"{where}: field points: {', '.join(unknown)} not a key point of {q.id} "
            f"(its points: {', '.join(ids)})"
        )
    missing = [k for k in ids if k not in item.points]
    if missing:
        raise DatasetError(f"{where}: field points: no label for {', '.join(missing)}")


@dataclass(frozen=True)
class PointAgreement:
    """The scorer's covered / missed against the labels, over some labelled points."""

    points: int
    labelled_covered: float
    """Share of points the labels call covered (2)."""
    called_covered: float
    """Share of points the scorer calls covered."""
    precision: float
    """Of the points the scorer ticks, the share the labels call covered."""
    recall: float
    """Of the points the labels call covered, the share the scorer ticks."""
    kappa: float
    """Cohen's kappa of the two, covered against not."""

    HEADERS = ("points", "labelled covered", "ticked", "precision", "recall", "kappa")
    """Column names for ``cells``, in the same order."""

    def cells(self) -> list[str]:
        """The figures in the order above, as tables show them."""
        return [
            str(self.points),
            f"{self.labelled_covered:.0%}",
            f"{self.called_covered:.0%}",
            f"{self.precision:.2f}",
            f"{self.recall:.2f}",
            f"{self.kappa:.2f}",
        ]


def agreement_of(labels: np.ndarray, called: np.ndarray) -> PointAgreement:
    """Ticks (``called``) against labels (2 covered, 1 partly, 0 not)."""
    from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

    truth = labels == 2
    if len(set(truth)) > 1 or len(set(called)) > 1:
        kappa = float(cohen_kappa_score(truth, called))
    else:  # both say one thing throughout: kappa is undefined; agreeing is 1, not 0
        kappa = 1.0 if bool(truth[0]) == bool(called[0]) else 0.0
    return PointAgreement(
        points=len(labels),
        labelled_covered=float(truth.mean()),
        called_covered=float(called.mean()),
        precision=float(precision_score(truth, called, zero_division=0.0)),
        recall=float(recall_score(truth, called, zero_division=0.0)),
        kappa=kappa,
    )


@dataclass(frozen=True)
class PointRun:
    """A scorer's ticks against the labels: over all points (key ``all``) and per question
    category; how many answers were scored, and how many the scorer could not score itself
    (an LLM judge that still failed after its retries: those answers are left out)."""

    agreement: dict[str, PointAgreement]
    answers: int
    failed: int
    silent: int = 0
    """Answers on which the judge named no covered point (counted as the judge's own
    reading, every point missed, not as the offline ticks the interview shows instead)."""


def point_agreement(
    items: Sequence[PointItem],
    scorer: Scorer,
    questions: Mapping[str, Question],
    pack: Pack,
    concurrency: int = 4,
    progress: str | None = None,
    name: str = "the labels",
) -> PointRun:
    """Score every labelled answer as the interview would (the pack's rubric, the item's level)
    and set the key points the scorer calls covered against the labels. None judged (every
    call failed): ``NothingJudgedError`` naming ``name`` and the first error."""
    requests = [
        ScoringRequest(q, item.answer, item.level, pack.rubric(q.category))
        for item in items
        for q in [questions[item.question]]
    ]
    scored: dict[int, AnswerScore] = {}
    errors: list[str] = []

    def keep(index: int, result: AnswerScore | BaseException) -> None:
        if isinstance(result, BaseException):
            errors.append(describe_failure(result))
        elif result.scorer == scorer.name:
            scored[index] = result
        else:
            errors.append(f"it was scored by {result.scorer}, not {scorer.name}")

    score_all(requests, scorer, keep, concurrency=concurrency, progress=progress)
    if not scored:
        raise nothing_judged(name, len(items), errors[0] if errors else "no answer to judge")
    labels: list[int] = []
    called: list[bool] = []
    categories: list[str] = []
    silent = 0
    for index, result in sorted(scored.items()):
        item = items[index]
        theirs = result.key_points_by in ("", scorer.name)
        silent += not theirs
        for point in result.key_points:
            labels.append(item.points[point.id])
            called.append(point.covered and theirs)
            categories.append(questions[item.question].category.value)
    y, c, cat = np.array(labels), np.array(called), np.array(categories)
    out = {"all": agreement_of(y, c)}
    for category in sorted(set(categories)):
        out[category] = agreement_of(y[cat == category], c[cat == category])
    return PointRun(out, len(scored), len(items) - len(scored), silent)
