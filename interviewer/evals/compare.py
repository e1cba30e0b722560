"""Compare two eval runs: metric deltas with bootstrap confidence intervals.

When both runs scored the same items (the usual case: one dataset, two pack versions or two
models), the bootstrap resamples items *paired*, so the interval reflects the difference
between scorers rather than the luck of the sample. Runs over different items are resampled
independently. A delta whose interval excludes zero is marked as a real difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from interviewer.evals.datasets import Scale
from interviewer.evals.metrics import METRICS, on_resamples
from interviewer.evals.results import read_results

LOWER_IS_BETTER = {"mae", "rmse"}
MIN_ITEMS = 10
"""Fewer scored items than this in either run: deltas are shown, no verdict is given."""


class RunInfo(BaseModel):
    """What compare reads of ``metrics.json``; any metric may be ``null`` (undefined)."""

    model_config = ConfigDict(extra="allow")

    dataset: str | None = None
    scorer: str | None = None
    pack: str | None = None
    pack_version: str | None = None
    pack_hash: str | None = None
    scale: tuple[float, float] = (1.0, 5.0)


@dataclass(frozen=True)
class Run:
    """One finished run folder: its metrics and its scored items."""

    path: Path
    metrics: dict[str, Any]
    human: dict[str, float]
    predicted: dict[str, float]

    @property
    def label(self) -> str:
        """Scorer and pack version, e.g. ``offline · backend-developer 1.2.0 (ab12cd)``."""
        m = self.metrics
        return (
            f"{m.get('scorer') or '?'} · {m.get('pack') or '?'} {m.get('pack_version') or ''} "
            f"({str(m.get('pack_hash') or '')[:6]})"
        )

    @property
    def scale(self) -> Scale:
        low, high = self.metrics.get("scale", [1, 5])
        return Scale(min=low, max=high)


class CompareError(ValueError):
    """A run folder that cannot be compared, with the reason."""


def load_run(path: Path) -> Run:
    """Read ``metrics.json`` and ``results.jsonl`` from a run folder."""
    metrics_file, results_file = path / "metrics.json", path / "results.jsonl"
    if not metrics_file.is_file() or not results_file.is_file():
        raise CompareError(f"{path}: not a finished run (needs metrics.json and results.jsonl)")
    try:
        metrics = json.loads(metrics_file.read_bytes().decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise CompareError(
            f"{metrics_file}:{exc.lineno}: not JSON ({exc.msg}); run the eval again into {path}"
        ) from None
    try:
        info = RunInfo.model_validate(metrics)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(map(str, err["loc"])) or "(file)"
        raise CompareError(
            f"{metrics_file}: field {field}: {err['msg']}; run the eval again into {path}"
        ) from None
    rows, problems = read_results(results_file)
    if problems:
        more = f" (and {len(problems) - 1} more line(s))" if len(problems) > 1 else ""
        raise CompareError(f"{problems[0]}{more}; run the eval again into {path} to rescore it")
    human: dict[str, float] = {}
    predicted: dict[str, float] = {}
    for _, row, _ in rows:
        if row.error is None and row.predicted is not None:
            human[row.id] = row.human
            predicted[row.id] = row.predicted
    return Run(path, info.model_dump(), human, predicted)


def compare(a: Run, b: Run, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Every metric for A and B, B - A, and a 95% interval for the difference."""
    if a.scale != b.scale:
        raise CompareError(
            f"the runs use different human scales ({a.scale.min:g}..{a.scale.max:g} and "
            f"{b.scale.min:g}..{b.scale.max:g}); compare runs on the same dataset"
        )
    scale = a.scale
    shared = sorted(set(a.predicted) & set(b.predicted))
    paired = len(shared) >= 3
    rng = np.random.default_rng(seed)
    if paired:
        y = np.array([a.human[i] for i in shared])
        pa = np.array([a.predicted[i] for i in shared])
        pb = np.array([b.predicted[i] for i in shared])
        ya, yb = y, y
    else:
        ya, pa = np.array(list(a.human.values())), np.array(list(a.predicted.values()))
        yb, pb = np.array(list(b.human.values())), np.array(list(b.predicted.values()))
    notes = _notes(a, b, len(shared), paired)
    few = min(len(pa), len(pb)) < MIN_ITEMS
    rows = []
    for name, metric in METRICS.items():
        va, vb = metric(ya, pa, scale), metric(yb, pb, scale)
        rows_a, rows_b = [], []
        for _ in range(bootstrap):
            ia = rng.integers(0, len(ya), len(ya))
            rows_a.append(ia)
            rows_b.append(ia if paired else rng.integers(0, len(yb), len(yb)))
        draws = on_resamples(name, yb, pb, scale, np.asarray(rows_b, dtype=int)) - on_resamples(
            name, ya, pa, scale, np.asarray(rows_a, dtype=int)
        )
        finite = [float(d) for d in draws if not np.isnan(d)]
        low, high = np.percentile(finite, [2.5, 97.5]) if finite else (np.nan, np.nan)
        delta = vb - va
        better = -delta if name in LOWER_IS_BETTER else delta
        significant = bool(finite) and (low > 0 or high < 0)
        rows.append(
            {
                "metric": name,
                "a": round(va, 4),
                "b": round(vb, 4),
                "delta": round(delta, 4),
                "ci": [round(float(low), 4), round(float(high), 4)],
                "verdict": "too few items"
                if few
                else ("better" if better > 0 else "worse")
                if significant
                else "no change",
            }
        )
    return {
        "a": {"path": str(a.path), "label": a.label, "n": len(a.predicted)},
        "b": {"path": str(b.path), "label": b.label, "n": len(b.predicted)},
        "paired": paired,
        "n": len(shared) if paired else None,
        "notes": notes,
        "metrics": rows,
    }


def _notes(a: Run, b: Run, shared: int, paired: bool) -> list[str]:
    """What a reader must know before trusting the verdicts."""
    notes = []
    if not paired:
        notes.append(
            f"The runs share {shared} scored item(s), so each is resampled on its own: a delta "
            "mixes the difference between the scorers with the difference between the answers."
        )
        names = (a.metrics.get("dataset"), b.metrics.get("dataset"))
        if all(names) and names[0] != names[1]:
            notes.append(f"They scored different datasets: {names[0]} and {names[1]}.")
    if paired and shared < MIN_ITEMS:
        notes.append(
            f"The runs share {shared} scored item(s): too few for a verdict (at least {MIN_ITEMS})."
        )
    for key, run in (("A", a), ("B", b)):
        if not paired and len(run.predicted) < MIN_ITEMS:
            notes.append(
                f"{key} has {len(run.predicted)} scored item(s): too few for a verdict "
                f"(at least {MIN_ITEMS})."
            )
    return notes
