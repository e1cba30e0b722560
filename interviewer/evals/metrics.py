"""Agreement metrics between a scorer and human grades, with bootstrap confidence intervals.

Everything is computed on the dataset's human scale: predictions in 1..5 are mapped linearly
onto it first. Correlations come from scipy, kappa and the confusion matrix from scikit-learn.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.evals.datasets import Scale

Metric = Callable[[np.ndarray, np.ndarray, Scale], float]


def _stats() -> Any:
    """``scipy.stats``, imported on first use: with scikit-learn it is 1.3 s of every app
    server's and command's start, and most never compute a metric."""
    from scipy import stats

    return stats


def _kappa(*args: Any, **kwargs: Any) -> Any:
    """scikit-learn's ``cohen_kappa_score``, imported on first use."""
    from sklearn.metrics import cohen_kappa_score as kappa

    return kappa(*args, **kwargs)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (an undefined metric) replaced by None, so
    it is written as strict JSON (``null``, not ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write_json(path: Path, document: Any) -> None:
    """``document`` as indented strict JSON (undefined metrics as ``null``)."""
    path.write_text(json.dumps(finite(document), indent=2, allow_nan=False) + "\n")


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
    "pearson": lambda y, p, s: _safe(lambda: _stats().pearsonr(y, p)[0]),
    "spearman": lambda y, p, s: _safe(lambda: _stats().spearmanr(y, p)[0]),
    "kendall": lambda y, p, s: _safe(lambda: _stats().kendalltau(y, p)[0]),
    "qwk": lambda y, p, s: _safe(lambda: _kappa(_bins(y, s), _bins(p, s), weights="quadratic")),
    "mae": lambda y, p, s: float(np.mean(np.abs(y - p))),
    "rmse": lambda y, p, s: float(np.sqrt(np.mean((y - p) ** 2))),
    "exact": lambda y, p, s: float(np.mean(_bins(y, s) == _bins(p, s))),
    "within_one": lambda y, p, s: float(np.mean(np.abs(_bins(y, s) - _bins(p, s)) <= 1)),
}


FIGURES = ("n", *METRICS)
"""The single numbers ``agreement`` returns (a suite's thresholds may name them)."""


def _pearson_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pearson's r of each row pair (NaN where a row is constant), as scipy computes it."""
    yc = y - y.mean(axis=1, keepdims=True)
    pc = p - p.mean(axis=1, keepdims=True)
    den = np.sqrt((yc * yc).sum(axis=1) * (pc * pc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r: np.ndarray = np.asarray((yc * pc).sum(axis=1) / den, dtype=float)
    r[den == 0] = np.nan
    return np.asarray(np.clip(r, -1.0, 1.0))


def _spearman_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair: Pearson's r of the average ranks."""
    rank = _stats().rankdata
    return _pearson_rows(rank(y, axis=1), rank(p, axis=1))


def _qwk_rows(y: np.ndarray, p: np.ndarray, scale: Scale) -> np.ndarray:
    """Quadratic weighted kappa of each row pair, exactly as scikit-learn defines it.

    scikit-learn weighs by the distance between the positions of the labels that occur in
    either row (not their values), so a label missing from a bootstrap sample closes the gap.
    """
    low = int(np.ceil(scale.min))
    yb, pb = _bins(y, scale) - low, _bins(p, scale) - low
    rows, n = yb.shape
    k = int(np.floor(scale.max)) - low + 1
    flat = (np.arange(rows)[:, None] * k + yb) * k + pb
    counts = np.bincount(flat.ravel(), minlength=rows * k * k).reshape(rows, k, k).astype(float)
    present = (counts.sum(axis=2) + counts.sum(axis=1)) > 0
    position = np.cumsum(present, axis=1) - 1
    weights = (position[:, :, None] - position[:, None, :]).astype(float) ** 2
    expected = counts.sum(axis=2)[:, :, None] * counts.sum(axis=1)[:, None, :] / n
    observed_cost = (weights * counts).sum(axis=(1, 2))
    expected_cost = (weights * expected).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa: np.ndarray = np.asarray(1.0 - observed_cost / expected_cost, dtype=float)
    kappa[expected_cost == 0] = np.nan
    return kappa


KENDALL_PAIRWISE_MAX = 300
"""Up to this many answers, Kendall's tau is computed from every pair of every resample at
once; above it, resample by resample with scipy, whose O(n log n) algorithm is then faster."""

KENDALL_CHUNK_CELLS = 4_000_000
"""How many answer pairs one step of the vectorised Kendall's tau holds (about 16 MB)."""


def _signs(x: np.ndarray) -> np.ndarray:
    """sign(x_i - x_j) of every pair in each row, as int8."""
    a, b = x[:, :, None], x[:, None, :]
    return np.asarray((a > b).view(np.int8) - (a < b).view(np.int8))


def _kendall_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair, as scipy computes it: concordant minus discordant
    pairs over the square root of the pairs untied in each row (NaN where a row is constant)."""
    rows, n = y.shape
    if n > KENDALL_PAIRWISE_MAX:
        return np.asarray([METRICS["kendall"](a, b, Scale()) for a, b in zip(y, p, strict=True)])
    out = np.empty(rows, dtype=float)
    step = max(1, KENDALL_CHUNK_CELLS // max(1, n * n))
    for start in range(0, rows, step):
        sy, sp = _signs(y[start : start + step]), _signs(p[start : start + step])
        both = (sy * sp).sum(axis=(1, 2), dtype=np.int64)
        untied = np.count_nonzero(sy, axis=(1, 2)) * np.count_nonzero(sp, axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = both / np.sqrt(untied.astype(float))
    out[~np.isfinite(out)] = np.nan
    return np.asarray(np.clip(out, -1.0, 1.0))


# The bootstrap computes these on all resamples at once (the same numbers as the library
# functions above, thousands of times faster).
VECTORIZED: dict[str, Callable[[np.ndarray, np.ndarray, Scale], np.ndarray]] = {
    "pearson": lambda y, p, s: _pearson_rows(y, p),
    "spearman": lambda y, p, s: _spearman_rows(y, p),
    "kendall": lambda y, p, s: _kendall_rows(y, p),
    "qwk": _qwk_rows,
    "mae": lambda y, p, s: np.mean(np.abs(y - p), axis=1),
    "rmse": lambda y, p, s: np.sqrt(np.mean((y - p) ** 2, axis=1)),
    "exact": lambda y, p, s: np.mean(_bins(y, s) == _bins(p, s), axis=1),
    "within_one": lambda y, p, s: np.mean(np.abs(_bins(y, s) - _bins(p, s)) <= 1, axis=1),
}


def on_resamples(
    name: str, y: np.ndarray, p: np.ndarray, scale: Scale, samples: np.ndarray
) -> np.ndarray:
    """One metric on every resample (a row of indices in ``samples``), NaN where undefined."""
    if not len(samples):
        return np.zeros(0)
    if name in VECTORIZED:
        return np.asarray(VECTORIZED[name](y[samples], p[samples], scale), dtype=float)
    return np.asarray([METRICS[name](y[idx], p[idx], scale) for idx in samples], dtype=float)


def bootstrap_draws(
    name: str, y: np.ndarray, p: np.ndarray, scale: Scale, samples: np.ndarray
) -> list[float]:
    """One metric on every bootstrap resample, NaNs dropped."""
    return [float(d) for d in on_resamples(name, y, p, scale, samples) if not np.isnan(d)]


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
    samples = np.asarray(
        [rng.integers(0, len(y), len(y)) for _ in range(bootstrap)] if len(y) > 2 else [],
        dtype=int,
    )
    for name, metric in METRICS.items():
        value = metric(y, p, scale)
        draws = bootstrap_draws(name, y, p, scale, samples)
        low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
        result[name] = round(value, 4)
        result[f"{name}_ci"] = [round(float(low), 4), round(float(high), 4)]
    return result


def confusion(
    human: Sequence[float], predicted: Sequence[float], scale: Scale
) -> dict[str, object]:
    """Confusion matrix over whole-point bins (rows: human, columns: scorer)."""
    labels = list(range(int(np.ceil(scale.min)), int(np.floor(scale.max)) + 1))
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(
        _bins(np.asarray(human), scale), _bins(np.asarray(predicted), scale), labels=labels
    )
    return {"labels": labels, "matrix": matrix.tolist()}
