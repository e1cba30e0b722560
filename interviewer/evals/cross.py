"""Cross-dataset evaluation: does the offline scorer hold on answers it was never fitted to?

For each dataset, three honest figures for the calibrated offline scorer and two baselines:

- **left out**: the calibration fitted on every *other* dataset, then scored on this one (the
  closest thing to data arriving from elsewhere);
- **within**: question-grouped cross-validation inside the dataset (fitted on its other
  questions only);
- **baselines**: plain MiniLM cosine and tf-idf cosine to the reference on the same answers.

Every figure is Pearson and QWK with 95% bootstrap intervals on the dataset's own scale.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from interviewer.domain import Category, Question
from interviewer.evals.baselines import BASELINES, baseline_agreement
from interviewer.evals.calibrate import FEATURES, cross_validate, feature_table, leave_one_out
from interviewer.evals.datasets import Dataset
from interviewer.evals.items import as_question
from interviewer.evals.metrics import agreement, to_human_scale, write_json
from interviewer.evals.question_level import FIGURES, HELP, figure_cell, question_level, too_few
from interviewer.evals.report import png
from interviewer.scoring.offline import EmbeddingScorer, ScorerParams
from interviewer.scoring.text import sentences
from interviewer.untrusted import plain_markdown

METHODS = {
    "left_out": "offline scorer, dataset left out",
    "within": "offline scorer, grouped CV within",
    **BASELINES,
}
"""Method ids and the names the report shows, in report order."""

MIN_CV_QUESTIONS = 2
"""Question-grouped cross-validation needs at least two questions to split."""


class Prefetched(Embeddings):
    """Embeddings of a whole eval computed once in length-sorted batches, then looked up.

    Scoring item by item embeds a handful of short texts at a time; sorting everything by
    length first and embedding in large batches is several times faster on a CPU.
    """

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.vectors: dict[str, list[float]] = {}

    def prefetch(self, texts: Sequence[str], chunk: int = 2048) -> None:
        """Embed every text not seen yet."""
        todo = sorted({t for t in texts if t not in self.vectors}, key=len)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            self.vectors.update(zip(batch, self.inner.embed_documents(batch), strict=True))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts``, embedding any not prefetched."""
        self.prefetch(texts)
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return self.embed_documents([text])[0]


def _texts(datasets: Sequence[Dataset], corpus: Mapping[str, Question]) -> list[str]:
    """Every text the scorer and the baselines will embed, near enough."""
    texts: list[str] = []
    for dataset in datasets:
        for item in dataset.items:
            q = as_question(item, corpus)
            texts += [item.answer, q.reference_answer, q.question, *q.red_flags]
            texts += [kp.text for kp in q.key_points]
            texts += sentences(item.answer) + sentences(q.reference_answer)
    return texts


def prefetched(
    embeddings: Embeddings, datasets: Sequence[Dataset], corpus: Mapping[str, Question]
) -> Prefetched:
    """``embeddings`` with every text of ``datasets`` already embedded."""
    fast = Prefetched(embeddings)
    fast.prefetch(_texts(datasets, corpus))
    return fast


def cross_dataset(
    datasets: Sequence[Dataset],
    embeddings: Embeddings,
    params: ScorerParams,
    corpus: Mapping[str, Question],
    curve_dataset: str,
    bootstrap: int = 500,
    told_in_own_words: Collection[Category] = (),
) -> dict[str, Any]:
    """Left-out, within-dataset and baseline agreement for every dataset."""
    names = [d.info.name for d in datasets]
    if len(set(names)) != len(names):
        raise ValueError(f"dataset names must differ: {', '.join(names)}")
    fast = prefetched(embeddings, datasets, corpus)
    scorer = EmbeddingScorer(fast, params.model_copy(update={"calibration": None}))
    table = feature_table(datasets, scorer, corpus, told_in_own_words)
    report: dict[str, Any] = {}
    for dataset in datasets:
        name, scale = dataset.info.name, dataset.info.scale
        mask = table.dataset == name
        human = [scale.from_unit(v) for v in table.y[mask]]
        groups = list(table.groups[mask])
        questions, others = len(set(groups)), len(set(table.groups[~mask]))
        predictions: dict[str, np.ndarray] = {}
        skipped: dict[str, str] = {}
        if questions >= MIN_CV_QUESTIONS:
            predictions["within"] = cross_validate(table.subset(mask), name)[0]
        else:
            skipped["within"] = (
                f"question-grouped CV needs answers to {MIN_CV_QUESTIONS} or more questions; "
                f"this set has {questions}"
            )
        if others >= MIN_CV_QUESTIONS:
            predictions["left_out"] = leave_one_out(table, name, curve_dataset)
        elif len(datasets) > 1:
            skipped["left_out"] = (
                f"fitting on the other datasets needs answers to {MIN_CV_QUESTIONS} or more "
                f"questions there; they have {others}"
            )
        figures: dict[str, Any] = {}
        for method, p in predictions.items():
            on_scale = list(to_human_scale(list(p), scale))
            figures[method] = {
                **agreement(human, on_scale, scale, bootstrap),
                "per_question": question_level(human, on_scale, groups, bootstrap),
            }
        figures.update(baseline_agreement(dataset, corpus, fast, bootstrap))
        report[name] = {
            "n": int(mask.sum()),
            "questions": questions,
            "skipped": skipped,
            "scale": [scale.min, scale.max],
            "source": Path(dataset.source).name,
            "methods": {m: figures[m] for m in METHODS if m in figures},
        }
    return {"datasets": report, "features": list(FEATURES), "curve_dataset": curve_dataset}


def notes(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(dataset, what was not measured there and why), for the report and the terminal."""
    out = []
    for name, d in result["datasets"].items():
        out += [(name, f"{METHODS[m]}: not measured, {why}.") for m, why in d["skipped"].items()]
        if reason := too_few({"questions": d["questions"]}):
            out.append((name, reason))
    return out


def _plain(name: str) -> str:
    """A dataset's name, shown literally in Markdown (it comes from the dataset's header)."""
    return plain_markdown(name, inline=True)


def _cell(m: Mapping[str, Any], metric: str) -> str:
    low, high = m[f"{metric}_ci"]
    return f"{m[metric]:.2f} [{low:.2f}, {high:.2f}]"


def markdown(result: Mapping[str, Any]) -> str:
    """The cross-dataset table as Markdown."""
    methods = [m for m in METHODS if any(m in d["methods"] for d in result["datasets"].values())]
    lines = [
        "# Cross-dataset eval of the offline scorer",
        "",
        "Pearson and QWK with 95% bootstrap intervals, on each dataset's own scale. "
        "*Left out*: calibrated on every other dataset. *Within*: question-grouped 5-fold CV "
        "inside the dataset. Baselines: cosine to the reference answer.",
        "",
        "| dataset | n | " + " | ".join(METHODS[m] for m in methods) + " |",
        "| --- | --- | " + " | ".join("---" for _ in methods) + " |",
    ]
    for metric in ("pearson", "qwk"):
        for name, d in result["datasets"].items():
            cells = [_cell(d["methods"][m], metric) if m in d["methods"] else "" for m in methods]
            lines.append(f"| {_plain(name)} ({metric}) | {d['n']} | " + " | ".join(cells) + " |")
    said = [f"- {_plain(name)}: {note}" for name, note in notes(result)]
    if said:
        lines += ["", *said]
    lines += [
        "",
        "![Pearson by dataset](cross.png)",
        "",
        "## From one question to the next",
        "",
        HELP,
        "",
        "| dataset | questions | graders' spread | "
        + " | ".join(METHODS[m] for m in methods)
        + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in methods) + " |",
    ]
    for name, d in result["datasets"].items():
        levels = [d["methods"].get(m, {}).get("per_question", {}) for m in methods]
        # the graders' spread is the grades' own, the same beside every method
        spreads = [per["graders_spread"] for per in levels if "graders_spread" in per]
        spread = f"{spreads[0]:.2f}" if spreads else ""
        for key, label in FIGURES.items():
            cells = [figure_cell(per, key) for per in levels]
            shown = spread if key == "level_spread" else ""
            lines.append(
                f"| {_plain(name)} ({label}) | {d['questions']} | {shown} | "
                + " | ".join(cells)
                + " |"
            )
    lines.append("")
    return "\n".join(lines)


def chart(result: Mapping[str, Any]) -> bytes:
    """Grouped bars: Pearson (95% CI) of each method on each dataset."""
    import matplotlib.pyplot as plt

    datasets = list(result["datasets"])
    methods = [m for m in METHODS if any(m in d["methods"] for d in result["datasets"].values())]
    colors = {
        "left_out": "#1c7ed6",
        "within": "#74c0fc",
        "minilm_cosine": "#adb5bd",
        "tfidf_cosine": "#e9ecef",
    }
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(datasets), 3.8))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        xs: list[float] = []
        values: list[float] = []
        errors: list[list[float]] = [[], []]
        for i, name in enumerate(datasets):
            m = result["datasets"][name]["methods"].get(method)
            if m is None:
                continue
            xs.append(i + (j - (len(methods) - 1) / 2) * width)
            values.append(m["pearson"])
            low, high = m["pearson_ci"]
            errors[0].append(max(0.0, m["pearson"] - low))
            errors[1].append(max(0.0, high - m["pearson"]))
        ax.bar(
            xs,
            values,
            width,
            yerr=np.asarray(errors),
            capsize=2,
            label=METHODS[method],
            color=colors.get(method, "#868e96"),
            edgecolor="#495057",
            linewidth=0.6,
        )
    # long names break at their hyphens, a line each, so neighbours never overlap
    ax.set_xticks(range(len(datasets)), [name.replace("-", "-\n", 2) for name in datasets])
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel("Pearson with human grades")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper right", ncols=2)
    ax.set_title("offline scorer against plain baselines, per dataset")
    return png(fig)


def write_cross_report(out: Path, result: Mapping[str, Any]) -> None:
    """cross.json, cross.md and cross.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "cross.json", result)
    (out / "cross.png").write_bytes(chart(result))
    (out / "cross.md").write_text(markdown(result))
