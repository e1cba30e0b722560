"""Run a scorer over a dataset: per-item results as they finish, then metrics and a report.

Results are appended to ``results.jsonl`` as each item is scored and a re-run skips items that
are already there, made by the same scorer from the same item, so an interrupted run resumes
where it stopped and a changed item or scorer is scored again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from langchain_core.embeddings import Embeddings

from interviewer.conduct import describe_failure
from interviewer.domain import AnswerScore, Question
from interviewer.evals.baselines import baseline_agreement
from interviewer.evals.datasets import Dataset, Scale
from interviewer.evals.items import as_request, check_references
from interviewer.evals.judging import ScoreCache, nothing_judged, score_all
from interviewer.evals.metrics import agreement, confusion, to_human_scale, write_json
from interviewer.evals.question_level import question_level, question_means
from interviewer.evals.report import write_reports
from interviewer.evals.results import fingerprint, read_results, scorer_identity
from interviewer.evals.robustness import probes_not_run, robustness
from interviewer.evals.suite import check_thresholds
from interviewer.packs import Pack
from interviewer.scoring.base import Scorer


def _reusable(
    path: Path, prints: Mapping[str, str], say: Callable[[str], None]
) -> dict[str, dict[str, object]]:
    """The stored rows whose fingerprint is the item's current one (scored, not failed)."""
    if not path.exists():
        return {}
    rows, problems = read_results(path)
    for problem in problems:
        say(f"{problem}: skipped, its item is scored again")
    return {
        row.id: data
        for _, row, data in rows
        if row.error is None
        and row.predicted_1_5 is not None
        and row.fingerprint
        and prints.get(row.id) == row.fingerprint
    }


def _rewrite(path: Path, rows: list[dict[str, object]]) -> None:
    """``path`` holding only ``rows``, replaced in one step (an interruption leaves the old)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(json.dumps(row) + "\n" for row in rows))
    partial.replace(path)


def _by_category(
    rows: list[dict[str, object]], human: list[float], predicted: list[float], scale: Scale
) -> dict[str, object]:
    """Agreement per question category, for categories with 5 or more scored items."""
    by_category: dict[str, object] = {}
    for category in sorted({str(r["category"]) for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["category"] == category]
        if len(idx) >= 5:
            by_category[category] = agreement(
                [human[i] for i in idx], [predicted[i] for i in idx], scale, bootstrap=200
            )
    return by_category


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
    concurrency: int = 4,
    cache: ScoreCache | None = None,
    embeddings: Embeddings | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """Score every item (resuming), write results.jsonl and metrics.json; return the metrics.

    Items whose scoring failed after every retry are written with their error and scored
    again by the next run; metrics cover the items that were scored. With ``embeddings``, the
    plain baselines (MiniLM and tf-idf cosine) are scored on the same answers beside it.

    An item with nothing to be scored against is refused (``DatasetError``) before any is
    scored. A stored row is reused only when its fingerprint matches (the same item, scale and
    scorer); the others, and lines an interrupted write left unreadable, are dropped from the
    file and scored again. ``notify`` is told how many were reused and which lines were unreadable.
    """
    check_references([dataset], corpus)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    say = notify or (lambda message: None)
    identity = scorer_identity(scorer, pack)
    requests = {item.id: as_request(item, corpus, pack) for item in dataset.items}
    prints = {
        item.id: fingerprint(identity, item, requests[item.id], dataset.info.scale)
        for item in dataset.items
    }
    done = _reusable(results_path, prints, say)
    todo = [item for item in dataset.items if item.id not in done]
    if results_path.exists():
        say(f"reusing {len(done)} results from {out}; {len(todo)} to score")
    _rewrite(results_path, [done[item.id] for item in dataset.items if item.id in done])
    failures: dict[str, str] = {}
    with results_path.open("a") as sink:

        def record(i: int, result: AnswerScore | BaseException) -> None:
            item = todo[i]
            row: dict[str, object] = {
                "id": item.id,
                "category": item.category.value,
                "level": item.level.value,
                "human": item.human_score,
                "fingerprint": prints[item.id],
            }
            if isinstance(result, BaseException):
                failures[item.id] = row["error"] = describe_failure(result)
            else:
                row |= {
                    "predicted_1_5": result.overall,
                    "predicted": float(to_human_scale([result.overall], dataset.info.scale)[0]),
                    "scorer": result.scorer,
                    "flags": [f.value for f in result.flags],
                    "criteria": {c.id: c.score for c in result.criteria},
                }
                done[item.id] = row
                if on_item is not None:
                    on_item(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()

        score_all(
            [requests[item.id] for item in todo],
            scorer,
            record,
            concurrency=concurrency,
            cache=cache,
            progress=f"scoring {dataset.info.name}" if progress else None,
        )
    rows = [done[item.id] for item in dataset.items if item.id in done]
    if not rows:  # the dataset holds items, so every one failed
        first = next(iter(failures.values()), "unknown")
        raise nothing_judged(dataset.info.name or dataset.source, len(failures), first)
    human = [float(r["human"]) for r in rows]  # type: ignore[arg-type]
    predicted = [float(r["predicted"]) for r in rows]  # type: ignore[arg-type]
    metrics = agreement(human, predicted, dataset.info.scale)
    group_of = {item.id: item.group_key for item in dataset.items}
    groups = [group_of[str(r["id"])] for r in rows]
    metrics["per_question"] = {
        **question_level(human, predicted, groups),
        "by_question": question_means(human, predicted, groups),
    }
    metrics.update(
        {
            "dataset": dataset.info.name,
            "scale": [dataset.info.scale.min, dataset.info.scale.max],
            "scorer": rows[0]["scorer"] if rows else "",
            "pack": pack.id,
            "pack_version": pack.spec.version,
            "pack_hash": pack.content_hash,
            "errors": len(failures),
            "error_reasons": dict(Counter(failures.values())),
            "per_category": _by_category(rows, human, predicted, dataset.info.scale),
            "confusion": confusion(human, predicted, dataset.info.scale),
        }
    )
    if embeddings is not None and rows:
        scored = dataset.model_copy(
            update={"items": [item for item in dataset.items if item.id in done]}
        )
        metrics["baselines"] = baseline_agreement(scored, corpus, embeddings)
    if robustness_sample > 0:
        baseline = {str(r["id"]): float(cast(float, r["predicted_1_5"])) for r in rows}
        metrics["robustness"] = robustness(
            dataset,
            scorer,
            corpus,
            pack,
            robustness_sample,
            baseline=baseline,
            concurrency=concurrency,
            cache=cache,
            progress=progress,
        )
        metrics["robustness_not_run"] = probes_not_run(dataset)  # {} when every probe ran
    if thresholds:
        metrics["thresholds"] = check_thresholds(metrics, dict(thresholds))
    write_json(out / "metrics.json", metrics)
    write_reports(out, metrics, rows)
    return metrics
