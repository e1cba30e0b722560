"""Fit the offline scorer's calibration on labelled answers, with question-grouped CV.

The calibration is a ridge regression from four explainable signals (``CALIBRATION_FEATURES``:
similarity beyond restating the question, how much of the reference is covered, the
reference's own words used, on-topic length against the reference's) to the grade on 0..1.
Every weight is non-negative: more coverage, similarity or on-topic length never lowers a
score. Each dataset weighs the same in the fit
whatever its size, so no single source's habits set the weights. A monotone curve then maps
the model's value onto 1..5; it is fitted by isotonic regression on out-of-fold predictions for
the ``curve`` dataset (interview answers graded on the rubric's scale), so scores spread the
way interview graders spread them. Cross-validation groups answers by question: no question is
ever in both the fitting and the testing fold.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

from interviewer.domain import Category, Question, utc_now
from interviewer.evals.datasets import Dataset
from interviewer.evals.items import as_question
from interviewer.evals.metrics import agreement, to_human_scale, write_json
from interviewer.scoring.offline import (
    CALIBRATION_FEATURES,
    Calibration,
    Curve,
    EmbeddingScorer,
    on_scale,
)

FEATURES = CALIBRATION_FEATURES
"""Every feature's weight is fitted as >= 0: more of any of them never lowers a score."""
ALPHA = 1.0
FOLDS = 5


@dataclass
class FeatureTable:
    """Calibration features, unit-scale targets and CV groups for some datasets."""

    x: np.ndarray
    caps: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    dataset: np.ndarray

    def subset(self, mask: np.ndarray) -> FeatureTable:
        """The rows where ``mask`` holds."""
        return FeatureTable(
            self.x[mask], self.caps[mask], self.y[mask], self.groups[mask], self.dataset[mask]
        )

    def design(self) -> np.ndarray:
        """The model's inputs."""
        return np.asarray(self.x, dtype=float)

    def weights(self) -> np.ndarray:
        """Sample weights giving each dataset the same total weight."""
        names, counts = np.unique(self.dataset, return_counts=True)
        per = dict(zip(names, len(self.y) / (len(names) * counts), strict=True))
        return np.array([per[d] for d in self.dataset])


def feature_table(
    datasets: Sequence[Dataset],
    scorer: EmbeddingScorer,
    corpus: Mapping[str, Question],
    told_in_own_words: Collection[Category] = (),
) -> FeatureTable:
    """Features of every item (computed by the uncalibrated scorer), and the cap each is
    scored under: as in the app, key points cap no answer to a question of a category the
    pack's rubric says is ``told_in_own_words``."""
    rows, caps, ys, groups, names = [], [], [], [], []
    limits = Calibration(features=[], weights=[], intercept=0.0)
    for d, dataset in enumerate(datasets):
        for item in dataset.items:
            q = as_question(item, corpus)
            feats, _, _ = scorer.features(q, item.answer, item.level)
            values = feats.calibration_values()
            rows.append([values[f] for f in FEATURES])
            caps.append(limits.cap(values, q.category in told_in_own_words))
            ys.append(dataset.info.scale.to_unit(item.human_score))
            groups.append(f"{d}:{item.group_key}")
            names.append(dataset.info.name)
    shape = (len(rows), len(FEATURES))
    return FeatureTable(
        np.asarray(rows, dtype=float).reshape(shape),
        *(np.asarray(a) for a in (caps, ys, groups, names)),
    )


def _fit_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> Calibration:
    """Sign-constrained ridge on standardised columns, folded back into per-feature weights."""
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = Ridge(alpha=alpha, positive=True).fit(x / scale, y, sample_weight=w)
    coef = model.coef_ / scale
    return Calibration(
        features=list(FEATURES),
        weights=[round(float(c), 6) for c in coef],
        intercept=round(float(model.intercept_), 6),
    )


def _linear(calibration: Calibration, table: FeatureTable, idx: np.ndarray) -> np.ndarray:
    return np.asarray(calibration.intercept + table.x[idx] @ np.asarray(calibration.weights))


def fit_curve(linear: np.ndarray, unit: np.ndarray) -> Curve:
    """Monotone map from the model's value to 1..5: isotonic regression, with each flat step
    replaced by its midpoint so the curve rises strictly and keeps the model's ordering."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1.0, y_max=5.0)
    iso.fit(linear, 1 + 4 * unit)
    xs, ys = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    levels = np.unique(ys)
    mids = [float(xs[ys == level].mean()) for level in levels]
    return Curve(x=[round(v, 6) for v in mids], y=[round(float(v), 4) for v in levels])


def _out_of_fold(
    table: FeatureTable, folds: int, alpha: float
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The linear model's out-of-fold values, and the question-grouped splits used."""
    design, w = table.design(), table.weights()
    linear = np.zeros(len(table.y))
    n = min(folds, len(set(table.groups)))
    splits = list(GroupKFold(n_splits=n).split(design, table.y, table.groups))
    for train, test in splits:
        calibration = _fit_linear(design[train], table.y[train], w[train], alpha)
        linear[test] = _linear(calibration, table, test)
    return linear, splits


def _curve_rows(table: FeatureTable, rows: np.ndarray, curve_dataset: str) -> np.ndarray:
    """The rows a curve is fitted on: the curve dataset's, or all of them without it."""
    chosen = rows[table.dataset[rows] == curve_dataset]
    return chosen if len(chosen) else rows


def cross_validate(
    table: FeatureTable, curve_dataset: str, folds: int = FOLDS, alpha: float = ALPHA
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold calibrated scores on 1..5, folds grouped by question, and the linear
    model's out-of-fold values (which the final curve is fitted on).

    The model is refitted without each fold; the curve for each fold is fitted on out-of-fold
    values of the *other* folds' questions, so no grade a prediction is judged against was used
    to make it.
    """
    linear, splits = _out_of_fold(table, folds, alpha)
    scores = np.zeros(len(table.y))
    for train, test in splits:
        fit_on = _curve_rows(table, train, curve_dataset)
        curve = fit_curve(linear[fit_on], table.y[fit_on])
        scores[test] = [min(on_scale(linear[i], curve), table.caps[i]) for i in test]
    return scores, linear


def leave_one_out(
    table: FeatureTable, left_out: str, curve_dataset: str, alpha: float = ALPHA
) -> np.ndarray:
    """Calibrated scores on 1..5 for the ``left_out`` dataset, fitted on all the others.

    The curve comes from the curve dataset's out-of-fold values, or from all the other
    datasets' when the curve dataset is the one left out.
    """
    rest = table.subset(table.dataset != left_out)
    _, linear = cross_validate(rest, curve_dataset, alpha=alpha)
    calibration = fit(rest, curve_dataset, linear, alpha)
    mask = table.dataset == left_out
    values = _linear(calibration, table, np.flatnonzero(mask))
    return np.array(
        [
            min(on_scale(v, calibration.curve), c)
            for v, c in zip(values, table.caps[mask], strict=True)
        ]
    )


def fit(
    table: FeatureTable, curve_dataset: str, linear: np.ndarray, alpha: float = ALPHA
) -> Calibration:
    """The calibration fitted on all of ``table``; its curve on the out-of-fold ``linear``
    values from ``cross_validate`` (in-sample values would make it too confident)."""
    calibration = _fit_linear(table.design(), table.y, table.weights(), alpha)
    rows = _curve_rows(table, np.arange(len(table.y)), curve_dataset)
    return calibration.model_copy(update={"curve": fit_curve(linear[rows], table.y[rows])})


def check_inputs(datasets: Sequence[Dataset], curve_dataset: str | None) -> str:
    """The curve dataset's name, once the datasets can be calibrated on at all (ValueError
    saying why not: an unknown curve dataset, grades that never vary, too few questions):
    checked before anything is embedded."""
    curve_name = curve_dataset or datasets[0].info.name
    if curve_name not in {d.info.name for d in datasets}:
        names = ", ".join(d.info.name for d in datasets)
        raise ValueError(f"no dataset is named '{curve_name}' (the datasets: {names})")
    for d in datasets:
        grades = {item.human_score for item in d.items}
        if len(grades) < 2:
            named = f"dataset {d.info.name} ({d.source})" if d.info.name else d.source
            raise ValueError(
                f"{named}: every answer is graded "
                f"{next(iter(grades)):g}; calibration fits how scores follow grades, and needs "
                "grades that vary within each dataset"
            )
    questions = {(d.info.name, item.group_key) for d in datasets for item in d.items}
    if len(questions) < 2:
        raise ValueError(
            "calibration is cross-validated by question and needs answers to 2 or more "
            f"questions; the datasets given hold answers to {len(questions)}"
        )
    return curve_name


def calibrate(
    datasets: Sequence[Dataset],
    scorer: EmbeddingScorer,
    corpus: Mapping[str, Question],
    out: Path,
    curve_dataset: str | None = None,
    told_in_own_words: Collection[Category] = (),
) -> dict[str, object]:
    """Cross-validate, fit on everything, write ``out``; returns the written document."""
    curve_name = check_inputs(datasets, curve_dataset)
    table = feature_table(datasets, scorer, corpus, told_in_own_words)
    oof, linear = cross_validate(table, curve_name)
    cv: dict[str, object] = {}
    for dataset in datasets:
        mask = table.dataset == dataset.info.name
        scale = dataset.info.scale
        human = [scale.from_unit(v) for v in table.y[mask]]
        predicted = list(to_human_scale(oof[mask], scale))
        cv[dataset.info.name] = agreement(human, predicted, scale, bootstrap=500)
    calibration = fit(table, curve_name, linear)
    params = scorer.params.model_copy(update={"calibration": calibration})
    document = {
        "params": json.loads(params.model_dump_json()),
        "fitted": {
            "at": utc_now(),
            "datasets": [
                {"name": d.info.name, "source": Path(d.source).name, "n": len(d.items)}
                for d in datasets
            ],
            "curve_dataset": curve_name,
            "cross_validation": f"GroupKFold({FOLDS}) by question; metrics on each dataset's scale",
            "cv_metrics": cv,
        },
    }
    write_json(out, document)
    return document
