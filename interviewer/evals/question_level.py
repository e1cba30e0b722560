"""Does a score mean the same thing from one question to the next?

One Pearson's r over a whole dataset mixes two things a reader should see apart:

- **within a question**: among the answers to one question, does the scorer rank them as the
  graders did? (Pearson's r of each answer's distance from its question's mean, pooled.)
- **between questions**: does the scorer's average on a question follow the graders' average
  there? (Pearson's r of the per-question means.) A scorer can rank every question's answers
  well and still say "weak" on average where graders said "good", question after question.
- **level spread**: how far a question's average score sits from the graders' average on it,
  after the dataset-wide difference is taken out: the standard deviation of those per-question
  offsets, on the dataset's scale. Zero means every question is scored at the graders' level.
  For scale, ``graders_spread`` is how much the graders' own question averages differ: what
  the level spread of a scorer giving every answer the same score would be.

Intervals come from a bootstrap over questions (a question's answers are resampled together),
because answers to one question are not independent of each other.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

MIN_QUESTIONS = 3
"""Fewer questions than this have no between-question figures."""

FIGURES = {
    "within_question": "within a question",
    "between_questions": "between questions",
    "level_spread": "level spread",
}
"""The per-question figures and the names reports give them."""

NUMBERS = ("questions", "graders_spread", *FIGURES)
"""The single numbers ``question_level`` returns (a suite's thresholds may name them)."""

HELP = (
    "*Within a question*: Pearson's r of answers against their own question's mean (ranking "
    "inside a question). *Between questions*: Pearson's r of the per-question means (does a "
    "question the graders scored higher get a higher average?). *Level spread*: standard "
    "deviation, on the dataset's scale, of how far each question's mean score sits from the "
    "graders' mean there (0: every question scored at the graders' level; the *graders' "
    "spread*, how much the graders' own question means differ, is what a scorer giving every "
    "answer the same score would show). 95% intervals resample whole questions."
)
"""What the figures mean, as every report says it."""


def too_few(level: Mapping[str, Any]) -> str:
    """Why a result has no per-question figures (too few questions), or "" when it has them."""
    count = int(level.get("questions", 0))
    if count >= MIN_QUESTIONS:
        return ""
    return (
        f"Within and between questions need answers to {MIN_QUESTIONS} or more questions; "
        f"this set has {count}."
    )


def figure_cell(level: Mapping[str, Any], key: str, interval: bool = True) -> str:
    """One figure of a ``question_level`` result with its interval (without: three decimals,
    for a narrow terminal table), "-" where there is none."""
    if level.get(key) is None:
        return "-"
    if not interval:
        return f"{level[key]:.3f}"
    low, high = level[f"{key}_ci"]
    return f"{level[key]:.2f} [{low:.2f}, {high:.2f}]"


def _means(values: np.ndarray, index: np.ndarray, count: int) -> np.ndarray:
    """The mean of ``values`` for each group id in ``index``."""
    sums = np.bincount(index, weights=values, minlength=count)
    sizes = np.bincount(index, minlength=count)
    return np.asarray(sums / np.maximum(sizes, 1), dtype=float)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r, NaN where either side is constant."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.corrcoef(x, y)[0, 1])


def _figures(y: np.ndarray, p: np.ndarray, index: np.ndarray, count: int) -> dict[str, float]:
    """Within, between and level spread for answers grouped by ``index`` (ids 0..count-1)."""
    y_mean, p_mean = _means(y, index, count), _means(p, index, count)
    present = np.bincount(index, minlength=count) > 0
    offset = (p_mean - y_mean)[present]
    return {
        "within_question": _pearson(p - p_mean[index], y - y_mean[index]),
        "between_questions": _pearson(p_mean[present], y_mean[present]),
        "level_spread": float(np.std(offset - offset.mean())),
    }


def question_level(
    human: Sequence[float],
    predicted: Sequence[float],
    groups: Sequence[str],
    bootstrap: int = 500,
    seed: int = 0,
) -> dict[str, object]:
    """Within-question and between-question agreement, and the spread of per-question level.

    ``predicted`` is on the human scale; ``groups`` names each answer's question. Each figure
    comes with a 95% interval from resampling whole questions.
    """
    y = np.asarray(human, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if not len(y) == len(p) == len(groups):
        raise ValueError("human, predicted and groups must be the same length")
    names, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    count = len(names)
    result: dict[str, object] = {"questions": count}
    if count < MIN_QUESTIONS:
        return result
    figures = _figures(y, p, index, count)
    result["graders_spread"] = round(float(np.std(_means(y, index, count))), 4)
    members = [np.flatnonzero(index == g) for g in range(count)]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in figures}
    for _ in range(bootstrap):
        picked = rng.integers(0, count, count)
        rows = np.concatenate([members[g] for g in picked])
        # each drawn question becomes a group of its own, even when drawn twice
        relabel = np.repeat(np.arange(count), [len(members[g]) for g in picked])
        for name, value in _figures(y[rows], p[rows], relabel, count).items():
            if not np.isnan(value):
                draws[name].append(value)
    for name, value in figures.items():
        low, high = np.percentile(draws[name], [2.5, 97.5]) if draws[name] else (np.nan, np.nan)
        result[name] = round(value, 4)
        result[f"{name}_ci"] = [round(float(low), 4), round(float(high), 4)]
    return result


def question_means(
    human: Sequence[float], predicted: Sequence[float], groups: Sequence[str]
) -> list[dict[str, object]]:
    """Each question's answer count and mean grade and score, furthest from level first.

    ``offset`` is how far the question's mean score sits from the graders' mean there, less the
    dataset-wide offset: the questions at the top are those a candidate would misread most.
    """
    y = np.asarray(human, dtype=float)
    p = np.asarray(predicted, dtype=float)
    names, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    count = len(names)
    y_mean, p_mean = _means(y, index, count), _means(p, index, count)
    sizes = np.bincount(index, minlength=count)
    offset = p_mean - y_mean
    offset -= float(np.average(offset, weights=sizes))
    rows: list[dict[str, object]] = [
        {
            "question": str(names[g]),
            "n": int(sizes[g]),
            "human": round(float(y_mean[g]), 3),
            "scorer": round(float(p_mean[g]), 3),
            "offset": round(float(offset[g]), 3),
        }
        for g in range(count)
    ]
    return sorted(rows, key=lambda r: -abs(cast(float, r["offset"])))
