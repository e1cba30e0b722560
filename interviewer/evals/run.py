"""Run a scorer over a dataset: per-item results as they finish, then metrics and a report.

Results are appended to ``results.jsonl`` as each item is scored and a re-run skips items that
are already there, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from tqdm import tqdm

from interviewer.domain import Question
from interviewer.evals.datasets import Dataset
from interviewer.evals.items import as_request
from interviewer.evals.metrics import agreement, confusion, to_human_scale
from interviewer.evals.report import write_reports
from interviewer.evals.robustness import robustness
from interviewer.evals.suite import check_thresholds
from interviewer.packs import Pack
from interviewer.scoring.base import Scorer


def run_dataset(
    dataset: Dataset,
    scorer: Scorer,
    corpus: Mapping[str, Question],
    pack: Pack,
    out: Path,
    progress: bool = True,
    on_item: Callable[[dict[str, object]], None] | None = None,
    robustness_sample: int = 60,
    thresholds: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Score every item (resuming), write results.jsonl and metrics.json; return the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    done: dict[str, dict[str, object]] = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            if line.strip():
                stored = json.loads(line)
                done[str(stored["id"])] = stored
    todo = [item for item in dataset.items if item.id not in done]
    with results_path.open("a") as sink:
        for item in tqdm(todo, desc=f"scoring {dataset.info.name}", disable=not progress):
            score = scorer.score(as_request(item, corpus, pack))
            row: dict[str, object] = {
                "id": item.id,
                "category": item.category.value,
                "level": item.level.value,
                "human": item.human_score,
                "predicted_1_5": score.overall,
                "predicted": float(to_human_scale([score.overall], dataset.info.scale)[0]),
                "scorer": score.scorer,
                "flags": [f.value for f in score.flags],
            }
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            done[item.id] = row
            if on_item is not None:
                on_item(row)
    rows = [done[item.id] for item in dataset.items]
    human = [float(r["human"]) for r in rows]  # type: ignore[arg-type]
    predicted = [float(r["predicted"]) for r in rows]  # type: ignore[arg-type]
    metrics = agreement(human, predicted, dataset.info.scale)
    by_category: dict[str, object] = {}
    for category in sorted({str(r["category"]) for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["category"] == category]
        if len(idx) >= 5:
            by_category[category] = agreement(
                [human[i] for i in idx],
                [predicted[i] for i in idx],
                dataset.info.scale,
                bootstrap=200,
            )
    metrics.update(
        {
            "dataset": dataset.info.name,
            "scale": [dataset.info.scale.min, dataset.info.scale.max],
            "scorer": rows[0]["scorer"] if rows else "",
            "pack": pack.id,
            "pack_version": pack.spec.version,
            "pack_hash": pack.content_hash,
            "per_category": by_category,
            "confusion": confusion(human, predicted, dataset.info.scale),
        }
    )
    if robustness_sample > 0:
        baseline = {str(r["id"]): float(cast(float, r["predicted_1_5"])) for r in rows}
        metrics["robustness"] = robustness(
            dataset, scorer, corpus, pack, robustness_sample, baseline=baseline
        )
    if thresholds:
        metrics["thresholds"] = check_thresholds(metrics, dict(thresholds))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_reports(out, metrics)
    return metrics
