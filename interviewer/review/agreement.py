"""How graders agree with each other and with the scorers, per criterion and overall.

Pairs (grader with grader, grader with the offline scorer, grader with the LLM judge) get
quadratic weighted kappa and Pearson's r with 95% bootstrap intervals (``evals.metrics``);
several graders together get Krippendorff's alpha (the ``krippendorff`` package, ordinal) with
an interval from resampling items. Items where the graders' mean and a scorer part most are
listed, each with its key so the page can open it. A grader's key-point marks are set against
the offline scorer's ticks (kappa, precision, recall over the points they marked).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np

from interviewer.domain import AnswerScore
from interviewer.evals.datasets import Scale
from interviewer.evals.key_points import PointAgreement, agreement_of
from interviewer.evals.metrics import METRICS, on_resamples
from interviewer.review.grades import Grade
from interviewer.review.queue import ReviewItem

OVERALL = "overall"
OFFLINE, JUDGE = "offline scorer", "LLM judge"
RUBRIC_SCALE = Scale(min=1, max=5)
MIN_PAIRS = 2  # fewer shared items say nothing
BOOTSTRAP = 500


@dataclass(frozen=True)
class PairRow:
    """Agreement of two raters (graders or scorers) on one target."""

    target: str
    first: str
    second: str
    n: int
    qwk: float
    qwk_ci: tuple[float, float]
    pearson: float
    pearson_ci: tuple[float, float]


@dataclass(frozen=True)
class AlphaRow:
    """Krippendorff's alpha of every grader on one target."""

    target: str
    graders: int
    items: int
    alpha: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class Disagreement:
    """An item where the graders and a scorer part."""

    key: str
    label: str
    question: str
    human: float
    scorer: str
    scored: float

    @property
    def gap(self) -> float:
        """Scorer minus graders' mean (positive: the scorer was kinder)."""
        return round(self.scored - self.human, 2)


@dataclass(frozen=True)
class PointRow:
    """One grader's key-point marks against the offline scorer's ticks, over the points they
    marked."""

    grader: str
    agreement: PointAgreement


@dataclass(frozen=True)
class AgreementReport:
    """Everything the agreement view shows."""

    graders: list[str]
    items_graded: int
    grades: int
    pairs: list[PairRow]
    alphas: list[AlphaRow]
    disagreements: list[Disagreement]
    points: list[PointRow]


def _value(score: AnswerScore, target: str) -> float | None:
    if target == OVERALL:
        return score.overall
    return next((float(c.score) for c in score.criteria if c.id == target), None)


def _grade_value(grade: Grade, target: str) -> float | None:
    if target == OVERALL:
        return grade.overall
    value = grade.criteria.get(target)
    return None if value is None else float(value)


def _pair(
    target: str, first: str, second: str, xs: list[float], ys: list[float], seed: int = 0
) -> PairRow:
    """QWK and Pearson's r with 95% percentile-bootstrap intervals (vectorised resamples)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(x), (BOOTSTRAP, len(x)))
    values: dict[str, tuple[float, tuple[float, float]]] = {}
    for name in ("qwk", "pearson"):
        draws = on_resamples(name, x, y, RUBRIC_SCALE, samples)
        finite = draws[np.isfinite(draws)]
        low, high = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
        values[name] = (METRICS[name](x, y, RUBRIC_SCALE), (float(low), float(high)))
    return PairRow(target, first, second, len(x), *values["qwk"], *values["pearson"])


def _alpha(
    matrix: np.ndarray, seed: int = 0, draws: int = 300
) -> tuple[float, tuple[float, float]]:
    """Ordinal alpha of a graders x items matrix (NaN: not graded), with a bootstrap interval
    over items."""

    def alpha(m: np.ndarray) -> float:
        # a resample where every grade is the same has no variance: alpha is undefined (NaN)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore")
            try:
                return float(
                    krippendorff.alpha(
                        reliability_data=m,
                        level_of_measurement="ordinal",
                        value_domain=[1, 2, 3, 4, 5],
                    )
                )
            except (ValueError, ZeroDivisionError):
                return float("nan")

    value = alpha(matrix)
    rng = np.random.default_rng(seed)
    n = matrix.shape[1]
    samples = [alpha(matrix[:, rng.integers(0, n, n)]) for _ in range(draws)]
    finite = [s for s in samples if math.isfinite(s)]
    low, high = np.percentile(finite, [2.5, 97.5]) if finite else (np.nan, np.nan)
    return value, (float(low), float(high))


def agreement_report(
    items: Sequence[ReviewItem], grades: Sequence[Grade], top: int = 10
) -> AgreementReport:
    """Agreement on the items that have grades (grades of items not in ``items`` are left out:
    a filtered queue gives a filtered view)."""
    by_key = {item.key: item for item in items}
    graded: dict[str, dict[str, Grade]] = defaultdict(dict)
    for g in grades:
        if g.item_key in by_key:
            graded[g.item_key][g.grader] = g
    names = sorted({grader for per in graded.values() for grader in per})
    targets = [OVERALL, *sorted({c.id for key in graded for c in by_key[key].rubric.criteria})]
    pairs: list[PairRow] = []
    alphas: list[AlphaRow] = []
    for target in targets:
        keys = [
            k
            for k in graded
            if target == OVERALL or any(c.id == target for c in by_key[k].rubric.criteria)
        ]
        for a, b in itertools.combinations(names, 2):
            shared = [
                (_grade_value(graded[k][a], target), _grade_value(graded[k][b], target))
                for k in keys
                if a in graded[k] and b in graded[k]
            ]
            xs = [x for x, y in shared if x is not None and y is not None]
            ys = [y for x, y in shared if x is not None and y is not None]
            if len(xs) >= MIN_PAIRS:
                pairs.append(_pair(target, a, b, xs, ys))
        for name in names:
            for scorer in (OFFLINE, JUDGE):
                xs, ys = [], []
                for k in keys:
                    grade = graded[k].get(name)
                    score = by_key[k].offline if scorer == OFFLINE else by_key[k].judge
                    if grade is None or score is None:
                        continue
                    x, y = _grade_value(grade, target), _value(score, target)
                    if x is not None and y is not None:
                        xs.append(x)
                        ys.append(y)
                if len(xs) >= MIN_PAIRS:
                    pairs.append(_pair(target, name, scorer, xs, ys))
        if len(names) >= 2 and keys:
            matrix = np.full((len(names), len(keys)), np.nan)
            for j, k in enumerate(keys):
                for i, name in enumerate(names):
                    grade = graded[k].get(name)
                    value = _grade_value(grade, target) if grade else None
                    if value is not None:
                        matrix[i, j] = round(value)
            if (np.sum(~np.isnan(matrix), axis=0) >= 2).sum() >= MIN_PAIRS:
                alpha, ci = _alpha(matrix)
                alphas.append(AlphaRow(target, len(names), len(keys), alpha, ci))
    return AgreementReport(
        graders=names,
        items_graded=len(graded),
        grades=sum(len(per) for per in graded.values()),
        pairs=pairs,
        alphas=alphas,
        disagreements=_disagreements(by_key, graded, top),
        points=_point_rows(by_key, graded, names),
    )


def _point_rows(
    by_key: dict[str, ReviewItem], graded: dict[str, dict[str, Grade]], names: list[str]
) -> list[PointRow]:
    rows: list[PointRow] = []
    for name in names:
        marks: list[int] = []
        ticked: list[bool] = []
        for key, per in graded.items():
            grade, score = per.get(name), by_key[key].offline
            if grade is None or score is None:
                continue
            for point in score.key_points:
                if point.id in grade.points:
                    marks.append(grade.points[point.id])
                    ticked.append(point.covered)
        if len(marks) >= MIN_PAIRS:
            rows.append(PointRow(name, agreement_of(np.array(marks), np.array(ticked))))
    return rows


def _disagreements(
    by_key: dict[str, ReviewItem], graded: dict[str, dict[str, Grade]], top: int
) -> list[Disagreement]:
    rows: list[Disagreement] = []
    for key, per in graded.items():
        item = by_key[key]
        human = float(np.mean([g.overall for g in per.values()]))
        for name, score in ((OFFLINE, item.offline), (JUDGE, item.judge)):
            if score is not None:
                rows.append(
                    Disagreement(
                        key,
                        item.label,
                        item.question.question,
                        round(human, 2),
                        name,
                        score.overall,
                    )
                )
    rows.sort(key=lambda d: abs(d.gap), reverse=True)
    return rows[:top]
