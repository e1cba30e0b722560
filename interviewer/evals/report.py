"""Eval reports: report.md (with PNG charts beside it) and a self-contained report.html."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from interviewer.evals.question_level import FIGURES, HELP, figure_cell, too_few
from interviewer.untrusted import markdown_html, plain_markdown

METRIC_ROWS = ("pearson", "spearman", "kendall", "qwk", "mae", "rmse", "exact", "within_one")


def failures_note(metrics: dict[str, Any]) -> str:
    """``3 of 25 items could not be judged (rate limited); re-run to retry them``, or ""."""
    errors = int(metrics.get("errors") or 0)
    if not errors:
        return ""
    reasons = metrics.get("error_reasons") or {}
    why = "; ".join(
        reason if len(reasons) == 1 else f"{reason}: {count}" for reason, count in reasons.items()
    )
    return (
        f"{errors} of {int(metrics['n']) + errors} items could not be judged"
        f"{f' ({why})' if why else ''} and are left out of these figures; re-run to retry them"
    )


def png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def charts(metrics: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, bytes]:
    """Agreement scatter, confusion matrix and (if present) robustness bars, as PNG bytes."""
    out: dict[str, bytes] = {}
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    human = [float(r["human"]) for r in results]
    predicted = [float(r["predicted"]) for r in results]
    ax.scatter(human, predicted, s=12, alpha=0.35, color="#3b5bdb")
    low, high = metrics["scale"]
    ax.plot([low, high], [low, high], color="#868e96", linestyle="--", linewidth=1)
    ax.set_xlabel("human score")
    ax.set_ylabel("scorer")
    ax.set_title(f"agreement (Pearson {metrics['pearson']:.2f})")
    out["agreement.png"] = png(fig)
    conf = metrics["confusion"]
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    ax.imshow(conf["matrix"], cmap="Blues")
    ax.set_xticks(range(len(conf["labels"])), conf["labels"])
    ax.set_yticks(range(len(conf["labels"])), conf["labels"])
    for i, row in enumerate(conf["matrix"]):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
    ax.set_xlabel("scorer")
    ax.set_ylabel("human")
    ax.set_title("confusion (whole points)")
    out["confusion.png"] = png(fig)
    by_question = metrics.get("per_question", {}).get("by_question", [])
    if len(by_question) >= 3:
        out["questions.png"] = _questions_chart(by_question, metrics["scale"])
    robust = metrics.get("robustness")
    if robust:
        names = list(robust)
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        values = [robust[n]["mean_change"] for n in names]
        colors = [_probe_color(robust[n]) for n in names]
        ax.barh(names, values, color=colors)
        ax.axvline(0, color="#495057", linewidth=0.8)
        for i, n in enumerate(names):  # where a low score is right, say how often it was low
            if "scored_2_or_less" in robust[n]:
                ax.annotate(
                    f"{robust[n]['scored_2_or_less']:.0%} scored <= 2",
                    (0, i),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                    color="#495057",
                )
        ax.set_xlabel("mean score change (1..5)")
        ax.set_title("robustness: how much each perturbation moves the score")
        ax.invert_yaxis()
        out["robustness.png"] = png(fig)
    return out


def _probe_color(entry: dict[str, Any]) -> str:
    """Red for a probe the scorer falls for, orange for a partial catch, green otherwise.

    A probe that should drop the score (off-topic, empty, word salad, an injection) is judged
    by how often it scored 2 or less; the others by how far they raised the mean score.
    """
    if "scored_2_or_less" in entry:
        low = float(entry["scored_2_or_less"])
        return "#2b8a3e" if low >= 0.95 else "#f08c00" if low >= 0.8 else "#c92a2a"
    change = float(entry["mean_change"])
    return "#c92a2a" if change > 0.25 else "#2b8a3e" if change <= 0 else "#f08c00"


def _questions_chart(by_question: list[dict[str, Any]], scale: list[float]) -> bytes:
    """One dot per question: the graders' mean against the scorer's, sized by answers."""
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    human = [q["human"] for q in by_question]
    scorer = [q["scorer"] for q in by_question]
    sizes = [8 + 2 * min(q["n"], 60) for q in by_question]
    ax.scatter(human, scorer, s=sizes, alpha=0.5, color="#1c7ed6", edgecolor="#1864ab")
    low, high = scale
    ax.plot([low, high], [low, high], color="#868e96", linestyle="--", linewidth=1)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("graders' mean on the question")
    ax.set_ylabel("scorer's mean on the question")
    ax.set_title("each question's level (dot size: answers)")
    return png(fig)


def markdown(metrics: dict[str, Any], images: list[str]) -> str:
    """The report as Markdown, linking the PNG charts written beside it."""
    lines = [
        f"# Eval: {_plain(metrics['dataset'])} with the {_plain(metrics['scorer'])} scorer",
        "",
        f"n = {metrics['n']}, human scale {metrics['scale'][0]:g}..{metrics['scale'][1]:g},"
        f" pack {_plain(metrics['pack'])} {_plain(metrics['pack_version'])}"
        f" (`{_plain(metrics['pack_hash'])}`)",
        "",
        *([f"**{_plain(note)}.**", ""] if (note := failures_note(metrics)) else []),
        "| metric | value | 95% CI |",
        "| --- | --- | --- |",
    ]
    for name in METRIC_ROWS:
        low, high = metrics[f"{name}_ci"]
        lines.append(f"| {name} | {metrics[name]:.3f} | {low:.3f} .. {high:.3f} |")
    if metrics.get("baselines"):
        lines += ["", *baseline_rows(metrics)]
    if metrics.get("per_question", {}).get("between_questions") is not None:
        lines += ["", *question_rows(metrics)]
    elif reason := too_few(metrics.get("per_question", {})):
        lines += ["", "## From one question to the next", "", reason]
    if metrics.get("per_category"):
        lines += [
            "",
            "## By category",
            "",
            "| category | n | pearson | qwk | mae |",
            "| --- | --- | --- | --- | --- |",
        ]
        for cat, m in metrics["per_category"].items():
            lines.append(
                f"| {_plain(cat)} | {m['n']} | {m['pearson']:.3f} | {m['qwk']:.3f} |"
                f" {m['mae']:.3f} |"
            )
    if metrics.get("robustness"):
        lines += [
            "",
            "## Robustness",
            "",
            "| probe | n | mean change | inflated by >= 1 | scored <= 2 |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, r in metrics["robustness"].items():
            low = f"{r['scored_2_or_less']:.0%}" if "scored_2_or_less" in r else ""
            lines.append(
                f"| {name} | {r['n']} | {r['mean_change']:+.2f} | "
                f"{r['inflated_share']:.0%} | {low} |"
            )
        for name, why in metrics.get("robustness_not_run", {}).items():
            lines.append(f"\n{name}: not run ({_plain(why)}).")
    if metrics.get("thresholds"):
        lines += ["", "## Thresholds", ""]
        lines += [
            f"- {t['name']}: {t['value']:.3f} {t['op']} {t['limit']} — "
            f"{'pass' if t['ok'] else 'FAIL'}"
            for t in metrics["thresholds"]
        ]
    lines += [""] + [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def _plain(value: object) -> str:
    """A value from the dataset or the settings, shown literally in the report."""
    return plain_markdown(str(value), inline=True)


def _with_ci(metrics: dict[str, Any], name: str) -> str:
    low, high = metrics[f"{name}_ci"]
    return f"{metrics[name]:.3f} [{low:.2f}, {high:.2f}]"


def baseline_rows(metrics: dict[str, Any]) -> list[str]:
    """The scorer beside the plain baselines on the same answers, as a Markdown table."""
    lines = [
        "## Against plain baselines",
        "",
        "Same answers, same grades. The baselines' similarities are mapped linearly onto the"
        " scale by least squares on these grades (which favours them a little, never the"
        " scorer).",
        "",
        "| scorer | Pearson [95% CI] | QWK [95% CI] | MAE |",
        "| --- | --- | --- | --- |",
        f"| **{_plain(metrics['scorer'])}** | {_with_ci(metrics, 'pearson')} |"
        f" {_with_ci(metrics, 'qwk')} | {metrics['mae']:.3f} |",
    ]
    for b in metrics["baselines"].values():
        lines.append(
            f"| {b['name']} | {_with_ci(b, 'pearson')} | {_with_ci(b, 'qwk')} | {b['mae']:.3f} |"
        )
    return lines


def _level_cells(m: dict[str, Any]) -> str:
    """Within, between and level spread of one scorer, each with its interval."""
    return " | ".join(figure_cell(m, key) for key in FIGURES)


def question_rows(metrics: dict[str, Any]) -> list[str]:
    """Does a score mean the same from one question to the next? As a Markdown table."""
    level = metrics["per_question"]
    lines = [
        "## From one question to the next",
        "",
        f"{level['questions']} questions; the graders' spread is {level['graders_spread']:.2f}. "
        + HELP,
        "",
        "| scorer | " + " | ".join(FIGURES.values()) + " |",
        "| --- | --- | --- | --- |",
        f"| **{_plain(metrics['scorer'])}** | {_level_cells(level)} |",
    ]
    for b in metrics.get("baselines", {}).values():
        if b.get("per_question", {}).get("between_questions") is not None:
            lines.append(f"| {b['name']} | {_level_cells(b['per_question'])} |")
    furthest = metrics["per_question"].get("by_question", [])[:5]
    if furthest:
        lines += [
            "",
            "Questions scored furthest from the graders' level (the dataset-wide offset taken"
            " out): a candidate would misread these most.",
            "",
            "| question | answers | graders' mean | scorer's mean | offset |",
            "| --- | --- | --- | --- | --- |",
        ]
        for q in furthest:
            name = q["question"] if len(q["question"]) <= 60 else q["question"][:57] + "..."
            name = _plain(name)
            lines.append(
                f"| {name} | {q['n']} | {q['human']:.2f} | {q['scorer']:.2f} | {q['offset']:+.2f} |"
            )
    return lines


def write_reports(out: Path, metrics: dict[str, Any], results: list[dict[str, Any]]) -> None:
    """report.md + charts, and a self-contained report.html, in ``out``; ``results`` are the
    scored rows of results.jsonl."""
    images = charts(metrics, results)
    for name, data in images.items():
        (out / name).write_bytes(data)
    text = markdown(metrics, list(images))
    (out / "report.md").write_text(text)
    inline = text
    for name, data in images.items():  # the charts go inside the page: one file to send
        encoded = base64.b64encode(data).decode()
        inline = inline.replace(f"![{name}]({name})", f"![{name}](data:image/png;base64,{encoded})")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Eval report</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}th{text-align:left}"
        "td,th{border-bottom:1px solid #dee2e6;padding:.25rem .6rem}img{max-width:100%}"
        "code{background:#f1f3f5;padding:0 .2rem}"
        "</style></head><body>" + markdown_html(inline) + "</body></html>"
    )
    (out / "report.html").write_text(page)
