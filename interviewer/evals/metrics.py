"""Agreement metrics between a scorer and human grades, with bootstrap confidence intervals.

Everything is computed on the dataset's human scale: predictions in 1..5 are mapped linearly
onto it first. Correlations come from scipy, kappa and the confusion matrix from scikit-learn.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from interviewer.evals.datasets import Scale

Metric = Callable[[np.ndarray, np.ndarray, Scale], float]


def _bins(values: np.ndarray, scale: Scale) -> np.ndarray:
    """Whole-point bins on the human scale (0..5 -> 0..5, 1..5 -> 1..5)."""
    binned: np.ndarray = np.clip(np.rint(values), np.ceil(scale.min), np.floor(scale.max))
    return binned.astype(int)


def _safe(fn: Callable[[], float]) -> float:
    """NaN, quietly, where a metric is undefined (a constant bootstrap sample, say)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(fn())
        except (ValueError, FloatingPointError):
            return float("nan")


METRICS: dict[str, Metric] = {
    "pearson": lambda y, p, s: _safe(lambda: stats.pearsonr(y, p)[0]),
    "spearman": lambda y, p, s: _safe(lambda: stats.spearmanr(y, p)[0]),
    "kendall": lambda y, p, s: _safe(lambda: stats.kendalltau(y, p)[0]),
    "qwk": lambda y, p, s: _safe(
        lambda: cohen_kappa_score(_bins(y, s), _bins(p, s), weights="quadratic")
    ),
    "mae": lambda y, p, s: float(np.mean(np.abs(y - p))),
    "rmse": lambda y, p, s: float(np.sqrt(np.mean((y - p) ** 2))),
    "exact": lambda y, p, s: float(np.mean(_bins(y, s) == _bins(p, s))),
    "within_one": lambda y, p, s: float(np.mean(np.abs(_bins(y, s) - _bins(p, s)) <= 1)),
}


def to_human_scale(predictions: Sequence[float], scale: Scale) -> np.ndarray:
    """Scores on 1..5 mapped linearly onto the dataset's scale."""
    unit = (np.asarray(predictions, dtype=float) - 1.0) / 4.0
    return np.asarray([scale.from_unit(u) for u in unit])


def agreement(
    human: Sequence[float],
    predicted: Sequence[float],
    scale: Scale,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, object]:
    """Every metric with a 95% percentile-bootstrap interval; ``predicted`` on the human scale."""
    y = np.asarray(human, dtype=float)
    p = np.asarray(predicted, dtype=float)
    result: dict[str, object] = {"n": len(y)}
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(bootstrap)] if len(y) > 2 else []
    for name, metric in METRICS.items():
        value = metric(y, p, scale)
        draws = [metric(y[idx], p[idx], scale) for idx in samples]
        draws = [d for d in draws if not np.isnan(d)]
        low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
        result[name] = round(value, 4)
        result[f"{name}_ci"] = [round(float(low), 4), round(float(high), 4)]
    return result


def confusion(
    human: Sequence[float], predicted: Sequence[float], scale: Scale
) -> dict[str, object]:
    """Confusion matrix over whole-point bins (rows: human, columns: scorer)."""
    labels = list(range(int(np.ceil(scale.min)), int(np.floor(scale.max)) + 1))
    matrix = confusion_matrix(
        _bins(np.asarray(human), scale), _bins(np.asarray(predicted), scale), labels=labels
    )
    return {"labels": labels, "matrix": matrix.tolist()}
