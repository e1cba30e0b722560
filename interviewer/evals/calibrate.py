"""Fit the offline scorer's calibration on labelled answers, with question-grouped CV.

The calibration is a ridge regression from a handful of interpretable features (answer-reference
similarity with and without the question's own words, content-word recall and precision,
key-point coverage, length) to the human score on a 0..1 scale. Cross-validation groups answers
by question, so no question is ever in both the fitting and the testing fold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

from interviewer.domain import Question
from interviewer.evals.datasets import Dataset
from interviewer.evals.items import as_question
from interviewer.evals.metrics import agreement
from interviewer.scoring.offline import CALIBRATION_FEATURES, Calibration, EmbeddingScorer


@dataclass
class FeatureTable:
    """Calibration features, unit-scale targets and CV groups for some datasets."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    dataset: np.ndarray


def feature_table(
    datasets: Sequence[Dataset], scorer: EmbeddingScorer, corpus: Mapping[str, Question]
) -> FeatureTable:
    """Features of every item (computed by the uncalibrated scorer)."""
    rows, ys, groups, names = [], [], [], []
    for d, dataset in enumerate(datasets):
        for item in dataset.items:
            q = as_question(item, corpus)
            feats, _, _ = scorer.features(q, item.answer, item.level, calibration_features=True)
            values = feats.calibration_values()
            rows.append([values[f] for f in CALIBRATION_FEATURES])
            ys.append(dataset.info.scale.to_unit(item.human_score))
            groups.append(f"{d}:{item.group_key}")
            names.append(dataset.info.name)
    return FeatureTable(np.asarray(rows), np.asarray(ys), np.asarray(groups), np.asarray(names))


def cross_validate(table: FeatureTable, folds: int = 5, alpha: float = 1.0) -> np.ndarray:
    """Out-of-fold predictions (0..1), folds grouped by question."""
    predictions = np.zeros(len(table.y))
    n = min(folds, len(set(table.groups)))
    for train, test in GroupKFold(n_splits=n).split(table.x, table.y, table.groups):
        model = Ridge(alpha=alpha).fit(table.x[train], table.y[train])
        predictions[test] = np.clip(model.predict(table.x[test]), 0, 1)
    return predictions


def fit(table: FeatureTable, alpha: float = 1.0) -> Calibration:
    """The calibration fitted on all of ``table``."""
    model = Ridge(alpha=alpha).fit(table.x, table.y)
    return Calibration(
        features=list(CALIBRATION_FEATURES),
        weights=[round(float(w), 6) for w in model.coef_],
        intercept=round(float(model.intercept_), 6),
    )


def calibrate(
    datasets: Sequence[Dataset], scorer: EmbeddingScorer, corpus: Mapping[str, Question], out: Path
) -> dict[str, object]:
    """Cross-validate, fit on everything, write ``out``; returns the written document."""
    table = feature_table(datasets, scorer, corpus)
    oof = cross_validate(table)
    cv: dict[str, object] = {}
    for dataset in datasets:
        mask = table.dataset == dataset.info.name
        scale = dataset.info.scale
        human = [scale.from_unit(v) for v in table.y[mask]]
        predicted = [scale.from_unit(v) for v in oof[mask]]
        cv[dataset.info.name] = agreement(human, predicted, scale, bootstrap=500)
    calibration = fit(table)
    params = scorer.params.model_copy(update={"calibration": calibration})
    document = {
        "params": json.loads(params.model_dump_json()),
        "fitted": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "datasets": [
                {"name": d.info.name, "source": d.source, "n": len(d.items)} for d in datasets
            ],
            "cross_validation": "GroupKFold(5) by question; metrics on each dataset's scale",
            "cv_metrics": cv,
        },
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    return document
