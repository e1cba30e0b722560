"""`interviewer review ...`: import a dataset for grading, export grades, print agreement."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from interviewer.cli_options import one_of
from interviewer.domain import Level
from interviewer.untrusted import terminal_markup as escape

if TYPE_CHECKING:
    from interviewer.review.queue import Filters
    from interviewer.review.service import Review

review_app = typer.Typer(
    help="Human review: import data to grade, export the grades as a dataset, agreement.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

SourceOpt = Annotated[
    str,
    typer.Option(help="'interviews' (finished interviews) or the name of an imported dataset."),
]


def _review(source: str, filters: Filters | None = None) -> Review:
    from interviewer.review.queue import Filters
    from interviewer.review.service import Review
    from interviewer.services import Services

    return Review(Services.start(), source, filters or Filters())


@review_app.command("import")
def review_import(
    dataset: Annotated[
        Path,
        typer.Argument(help="A dataset file (JSONL or CSV) to grade; human_score is optional."),
    ],
    mapping: Annotated[
        str | None, typer.Option("--map", help="field=column,... for a CSV or JSONL")
    ] = None,
    scale: Annotated[str | None, typer.Option(help="The file's score scale, MIN,MAX.")] = None,
    team: Annotated[
        str | None,
        typer.Option(help="With accounts on: only this team's reviewers grade it (default: all)."),
    ] = None,
) -> None:
    """Load a dataset's answers into the review queue (its own grades stay out of sight)."""
    from interviewer.cli import _dataset

    data = _dataset(dataset, mapping, scale, graded=False)
    review = _review("interviews")
    added, existing = review.import_dataset(data, team)
    name = data.info.name or "dataset"
    out.print(
        f"Imported {added} item(s) into '{escape(name)}'"
        + (f"; {existing} were already there" if existing else "")
        + f". Grade them on the Review page (source '{escape(name)}')."
    )


@review_app.command("export")
def review_export(
    source: SourceOpt = "interviews",
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the JSONL dataset.")
    ] = Path("review.jsonl"),
    with_names: Annotated[
        bool,
        typer.Option("--with-names", help="Keep graders' names, their notes and interview ids."),
    ] = False,
    points_file: Annotated[
        Path | None,
        typer.Option(
            "--points", help="Also write the graders' key-point marks here (for `eval points`)."
        ),
    ] = None,
    pack: Annotated[str | None, typer.Option(help="Only interviews with this pack.")] = None,
    level: Annotated[Level | None, one_of(Level, "Only this level.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Only this format.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only interviews from this day (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Write the graded items as a dataset `interviewer eval run` and `eval calibrate` read."""
    from interviewer.review.queue import Filters

    day = date.fromisoformat(since) if since else None
    review = _review(source, Filters(pack=pack, level=level, format=fmt, since=day))
    items = review.queue()  # each answer scored offline once, for both files
    lines = review.export(items, with_names)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.print(f"Wrote {len(lines) - 1} graded item(s) to {escape(str(out_file))}")
    if points_file is not None:
        marked = review.export_points(items)
        points_file.parent.mkdir(parents=True, exist_ok=True)
        points_file.write_text("\n".join(marked) + "\n", encoding="utf-8")
        out.print(
            f"Wrote {len(marked) - 1} answer(s) with every key point marked to "
            f"{escape(str(points_file))}; check the offline scorer's ticks with "
            f"`interviewer eval points --dataset {escape(str(points_file))}`"
        )


@review_app.command("agreement")
def review_agreement(source: SourceOpt = "interviews") -> None:
    """Print how graders agree with each other and with the scorers."""
    from interviewer.evals.key_points import PointAgreement

    review = _review(source)
    report = review.agreement(review.queue())
    if not report.grades:
        out.print("No grades yet for this queue.")
        return
    out.print(
        f"{report.items_graded} item(s), {report.grades} grade(s) by "
        f"{', '.join(escape(g) for g in report.graders)}"
    )
    table = Table(title="Agreement (95% bootstrap intervals)")
    for column in ("target", "raters", "n", "QWK", "Pearson"):
        table.add_column(column)
    for row in report.pairs:
        table.add_row(
            row.target,
            escape(f"{row.first} ~ {row.second}"),
            str(row.n),
            f"{row.qwk:.2f} [{row.qwk_ci[0]:.2f}, {row.qwk_ci[1]:.2f}]",
            f"{row.pearson:.2f} [{row.pearson_ci[0]:.2f}, {row.pearson_ci[1]:.2f}]",
        )
    for alpha in report.alphas:
        table.add_row(
            alpha.target,
            f"all {alpha.graders} graders (Krippendorff's alpha)",
            str(alpha.items),
            f"{alpha.alpha:.2f} [{alpha.ci[0]:.2f}, {alpha.ci[1]:.2f}]",
            "",
        )
    out.print(table)
    if report.points:
        points = Table(title="Key points: each grader's marks against the offline scorer's ticks")
        for column in ("grader", *PointAgreement.HEADERS):
            points.add_column(column)
        for mark in report.points:
            points.add_row(escape(mark.grader), *mark.agreement.cells())
        out.print(points)
