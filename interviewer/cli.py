"""The ``interviewer`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from interviewer.accounts.access import LOCAL  # the server's command line sees everything
from interviewer.cli_options import one_of
from interviewer.config import PROJECT_ROOT, Settings
from interviewer.corpus import (
    Problem,
    candidate_questions,
    coverage_problems,
    load_corpus,
    near_duplicates,
    stats,
)
from interviewer.domain import Category, CorpusFile, Level, to_minute
from interviewer.errors import InterviewerError
from interviewer.evals.qualify import Behaviour
from interviewer.store import SessionConflictError
from interviewer.untrusted import terminal
from interviewer.untrusted import terminal_markup as escape

if TYPE_CHECKING:
    from interviewer.evals.datasets import Dataset
    from interviewer.store import SessionRow

app = typer.Typer(
    help="Interviewer: practise mock interviews, offline or with any LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(
    help="Validate, index, search and count the question corpus.", no_args_is_help=True
)
app.add_typer(corpus_app, name="corpus")
eval_app = typer.Typer(
    help="Rubric evals: agreement with human grades, calibration.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
from interviewer.pack_cli import pack_app  # noqa: E402

app.add_typer(pack_app, name="pack")
from interviewer.review_cli import review_app  # noqa: E402

app.add_typer(review_app, name="review")
from interviewer.users_cli import links_app, users_app  # noqa: E402

app.add_typer(users_app, name="users")
app.add_typer(links_app, name="links")
sessions_app = typer.Typer(help="List, show and export past interviews.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")

out = Console()
err = Console(stderr=True)

CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder to use.")]
SCHEMA_PATH = Path("schema") / "corpus-file.schema.json"


def _notices(notices: list[str]) -> None:
    for notice in notices:
        err.print(f"[yellow]{escape(notice)}[/yellow]", highlight=False, soft_wrap=True)


def _scorer_settings(scorer: str, model: str | None) -> Settings:
    """The settings for ``--scorer offline`` (no model, whatever is configured) or ``--scorer
    llm`` (the configured model, or ``--model``)."""
    if scorer not in ("offline", "llm"):
        raise typer.BadParameter("choose offline or llm", param_hint="--scorer")
    settings = _settings()
    if scorer == "offline":
        return settings.model_copy(update={"model": None})
    if model:
        settings = settings.model_copy(update={"model": model})
    if not settings.model:
        raise typer.BadParameter(
            "--scorer llm needs --model or INTERVIEWER_MODEL (and a base URL or API key)",
            param_hint="--model",
        )
    return settings


def _settings(corpus: Path | None = None) -> Settings:
    settings = Settings()  # a bad file or value raises SettingsError, shown without a traceback
    if corpus is not None:
        settings = settings.model_copy(update={"corpus_dir": corpus})
    return settings


@corpus_app.command("validate")
def corpus_validate(
    corpus: CorpusOpt = None,
    duplicates: Annotated[
        bool, typer.Option(help="Also look for near-duplicate questions.")
    ] = True,
) -> None:
    """Check every corpus file; report all problems with file, item, field and line."""
    settings = _settings(corpus)
    loaded = load_corpus(settings.corpus_dir)
    problems = list(loaded.problems)
    for role in sorted({q.role for q in loaded.questions}):
        problems += candidate_questions(settings.corpus_dir, role)[1]
        problems += coverage_problems(settings.corpus_dir, role, loaded.questions)
    if duplicates and loaded.questions:
        from interviewer.embeddings import get_embeddings

        vectors = get_embeddings(settings).embed_documents([q.question for q in loaded.questions])
        where = {q.id: q.topic for q in loaded.questions}
        for a, b, cos in near_duplicates(loaded.questions, vectors):
            problems.append(
                Problem(
                    f"{settings.corpus_dir.name}/{a.role}/{where[a.id]}.yaml",
                    f"near-duplicate of {b.id} (cosine {cos:.3f} >= 0.92)",
                    a.id,
                    "question",
                )
            )
    for problem in problems:
        err.print(f"[red]error[/red] {escape(str(problem))}", highlight=False, soft_wrap=True)
    if problems:
        err.print(f"{len(problems)} problem(s) in {settings.corpus_dir}")
        raise typer.Exit(1)
    out.print(f"[green]ok[/green] {len(loaded.questions)} questions in {settings.corpus_dir}")


@corpus_app.command("ingest")
def corpus_ingest(
    corpus: CorpusOpt = None,
    rebuild: Annotated[bool, typer.Option(help="Drop the index and build it again.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Bring the vector index in step with the corpus and the packs' own questions (only new
    and changed items are embedded)."""
    from interviewer.index import QuestionIndex, index_lock
    from interviewer.services import Services

    settings = _settings(corpus)
    if rebuild:
        load_corpus(settings.corpus_dir).require_valid()  # never drop for a corpus that fails
        with index_lock(settings):
            QuestionIndex.from_settings(settings).drop()
    # A bar on a terminal only: a log gets no redrawn frames, just the summary line below.
    with Progress(console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("Embedding questions", total=None)
        # The same set the app indexes (corpus and pack questions), so it finds nothing to do.
        services = Services.start(
            settings, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    report = services.sync_report
    if not quiet or report.changed:
        index = services.index
        out.print(f"Index '{index.name}': {report.summary()} ({index.count()} questions).")


@corpus_app.command("search")
def corpus_search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many results.")] = 5,
    level: Annotated[Level | None, one_of(Level, "junior, mid or senior.")] = None,
    category: Annotated[Category | None, one_of(Category, "Question category.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic (file name).")] = None,
    role: Annotated[str | None, typer.Option(help="Role folder.")] = None,
    corpus: CorpusOpt = None,
) -> None:
    """Search the question bank."""
    from interviewer.retrieval import Filters
    from interviewer.services import Services

    services = Services.start(_settings(corpus))
    for notice in services.notices:
        err.print(f"[yellow]{escape(notice)}[/yellow]")
    found = services.retriever.search(query, k, Filters(role, level, category, topic))
    table = Table(title=f"{len(found)} result(s) for “{escape(query)}”", show_lines=True)
    for column in ("id", "category / topic", "levels", "question"):
        table.add_column(column, overflow="fold")
    for q in found:
        table.add_row(
            escape(q.id),
            f"{q.category.value}\n{escape(q.topic)}",
            ", ".join(lvl.value for lvl in q.levels),
            escape(q.question),
        )
    out.print(table)


@corpus_app.command("stats")
def corpus_stats(corpus: CorpusOpt = None) -> None:
    """Count questions by category, topic and level."""
    settings = _settings(corpus)
    loaded = load_corpus(settings.corpus_dir)
    table = Table(title=f"{len(loaded.questions)} questions in {settings.corpus_dir}")
    table.add_column("category")
    table.add_column("topic")
    for level in Level:
        table.add_column(level.value, justify="right")
    table.add_column("total", justify="right")
    for row in stats(loaded.questions):
        table.add_row(
            row.category.value,
            escape(row.topic),
            *(str(row.by_level[lvl] or "-") for lvl in Level),
            str(row.total),
        )
    out.print(table)
    for role in sorted({q.role for q in loaded.questions}):
        gaps = coverage_problems(settings.corpus_dir, role, loaded.questions)
        for gap in gaps:
            out.print(f"[red]gap[/red] {escape(gap.message)}", highlight=False)
        if not gaps:
            out.print(f"[green]{escape(role)}: every cell of the coverage plan is filled[/green]")
        asks = candidate_questions(settings.corpus_dir, role)[0]
        out.print(f"{escape(role)}: {len(asks)} questions for candidates to ask at the end")
    if loaded.problems:
        err.print(
            f"[yellow]{len(loaded.problems)} item(s) skipped: run `interviewer corpus "
            "validate`[/yellow]"
        )


@corpus_app.command("schema")
def corpus_schema(
    corpus: CorpusOpt = None,
    check: Annotated[bool, typer.Option(help="Fail if the shipped schema is out of date.")] = False,
) -> None:
    """Write the JSON schema editors use to validate topic files."""
    path = _settings(corpus).corpus_dir / SCHEMA_PATH
    _write_schema(path, CorpusFile.model_json_schema(), "interviewer corpus schema", check)


def _write_schema(path: Path, schema: dict[str, Any], command: str, check: bool) -> None:
    """Write ``schema`` to ``path``, or with ``check`` fail when the file differs from it."""
    text = json.dumps(schema, indent=2) + "\n"
    if check:
        if not path.is_file() or path.read_text() != text:
            err.print(f"{path} is out of date: run `{command}`.")
            raise typer.Exit(1)
        out.print(f"{path} is up to date.")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    out.print(f"Wrote {path}")


@app.command("practice")
def practice(
    pack: Annotated[str, typer.Option(help="Prompt pack id.")] = "backend-developer",
    level: Annotated[Level, one_of(Level, "junior, mid or senior.")] = Level.MID,
    fmt: Annotated[str, typer.Option("--format", help="Interview format id.")] = "phone-screen",
    profile: Annotated[str | None, typer.Option(help="Keeps history; avoids repeats.")] = None,
    job: Annotated[
        Path | None,
        typer.Option(
            help="A job description file to steer questions.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    resume: Annotated[str | None, typer.Option(help="Resume the session with this id.")] = None,
) -> None:
    """Run a mock interview in the terminal. Type hint, skip, repeat or end at any time."""
    from rich.markdown import Markdown
    from rich.prompt import Prompt

    from interviewer.domain import Phase
    from interviewer.progress import progress_text, session_progress
    from interviewer.report import to_markdown
    from interviewer.services import Services

    services = Services.start(_settings())
    for notice in services.notices:
        err.print(f"[yellow]{escape(notice)}[/yellow]")
    if resume:
        interview = services.open_interview(resume, viewer=LOCAL, prefix=True)
    else:
        jd = job.read_text(errors="replace") if job else ""
        interview = services.new_interview(pack, level, fmt, profile, jd, viewer=LOCAL)
    _notices(services.store_notices())

    def stream(chunk: str) -> None:
        out.print(terminal(chunk), end="", markup=False, highlight=False)

    out.print(f"[dim]Session {interview.session.id} · mode {interview.session.mode}[/dim]")
    if resume:
        for turn in interview.session.turns[-3:]:
            out.print(f"[dim]{turn.speaker.value}:[/dim] {escape(turn.text)}", highlight=False)
        interview.resume(stream)
    else:
        interview.start(stream)
    seen = len(interview.session.turns)
    while interview.session.phase is not Phase.DONE:
        try:
            answer = Prompt.ask(
                "\n[bold cyan]you[/bold cyan]", console=out, default="", show_default=False
            )
        except (EOFError, KeyboardInterrupt):
            out.print(
                f"\n[yellow]Paused. Resume with: interviewer practice --resume "
                f"{interview.session.id}[/yellow]"
            )
            raise typer.Exit(0) from None
        out.print()
        try:
            interview.handle(answer, stream)
        except SessionConflictError:
            # Another window (the browser, a second terminal) moved this interview on first.
            out.print(
                "[yellow]This interview was changed in another window while you typed, so "
                "that message was not saved. It was:[/yellow]\n"
                f"{escape(answer)}\n[yellow]Here is the interview as it stands "
                "now.[/yellow]",
                highlight=False,
            )
            interview = services.open_interview(interview.session.id, viewer=LOCAL)
            for turn in interview.session.turns[-2:]:
                out.print(
                    f"[dim]{turn.speaker.value}:[/dim] {escape(turn.text)}",
                    highlight=False,
                )
            seen = len(interview.session.turns)
            continue
        for turn in interview.session.turns[seen:]:
            if turn.kind.value == "notice":
                out.print(f"[yellow]notice:[/yellow] {escape(turn.text)}", highlight=False)
        seen = len(interview.session.turns)
    report = services.report(interview.session)
    out.print(Markdown(to_markdown(report), hyperlinks=False))  # its text is made safe there
    mine = session_progress(
        services.store, services.corpus.by_id(), interview.session, viewer=LOCAL
    )
    if mine is not None:
        out.print(f"\n[bold]Your progress:[/bold] {escape(progress_text(mine))}", highlight=False)
    out.print(f"[dim]Export: interviewer sessions export {interview.session.id} --format md[/dim]")


WIDE_TABLE_COLUMNS = 120
"""Terminals at least this wide list sessions one column per field; narrower ones group the
fields in one cell, so no name is cut to "ba…" beside a whole 32-character id."""


def _sessions_table(rows: list[SessionRow], *, wide: bool) -> Table:
    """The sessions as a table: ids always whole (people copy them)."""
    table = Table(title="Sessions")
    table.add_column("id", no_wrap=True, min_width=32)
    if wide:
        for column in ("started", "profile", "pack", "level", "format", "state", "overall"):
            table.add_column(column)
    else:
        table.add_column("session")
        table.add_column("overall", justify="right")
    for row in rows:
        started = to_minute(row.started_at)
        overall = f"{row.overall:.1f}" if row.overall is not None else "-"
        profile = escape(row.profile or "-")
        what = [escape(row.pack_id), escape(row.level), escape(row.format)]
        if wide:
            table.add_row(row.id, started, profile, *what, row.phase, overall)
        else:
            summary = f"{started} · {row.phase}\n{' · '.join(what)}\nprofile {profile}"
            table.add_row(row.id, summary, overall)
    return table


@sessions_app.command("list")
def sessions_list(
    profile: Annotated[str | None, typer.Option(help="Only this profile's sessions.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
) -> None:
    """Recent sessions, newest first (ids in full: they are what `show` and `--resume` take)."""
    import dataclasses

    from interviewer.store import SessionStore

    settings = _settings()
    store = SessionStore.from_settings(settings.database_url, settings.data_dir)
    _notices(store.take_notices())
    rows = store.list_sessions(profile, limit, viewer=LOCAL)
    if as_json:
        sys.stdout.write(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) + "\n")
        return
    out.print(_sessions_table(rows, wide=out.width >= WIDE_TABLE_COLUMNS))


@sessions_app.command("show")
def sessions_show(session_id: str) -> None:
    """The transcript and report of one session."""
    from rich.markdown import Markdown

    from interviewer.report import to_markdown
    from interviewer.services import Services

    services = Services.start(_settings())
    session = services.store.load(session_id, viewer=LOCAL, prefix=True)
    _notices(services.store_notices())
    report = to_markdown(services.report(session))
    for turn in session.turns:
        out.print(f"[bold]{turn.speaker.value}[/bold] [dim]{turn.kind.value}[/dim]: ", end="")
        out.print(terminal(turn.text), markup=False, highlight=False)
    out.print(Markdown(report, hyperlinks=False))


@sessions_app.command("export")
def sessions_export(
    session_id: str,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
) -> None:
    """Export a session's report as Markdown or JSON."""
    from interviewer.report import to_json, to_markdown
    from interviewer.services import Services

    if fmt not in ("md", "json"):
        raise typer.BadParameter("use md or json", param_hint="--format")
    services = Services.start(_settings())
    report = services.report(services.store.load(session_id, viewer=LOCAL, prefix=True))
    _notices(services.store_notices())
    text = to_markdown(report) if fmt == "md" else to_json(report)
    if output is None:
        sys.stdout.write(terminal(text))  # JSON escapes control characters already
    else:
        output.write_text(text)
        err.print(f"Wrote {output}")


def _dataset(path: Path, mapping: str | None, scale: str | None, *, graded: bool = True) -> Dataset:
    """A JSONL or CSV dataset read with --map and --scale, or the dataset a suite file names;
    ``graded=False`` (for people to grade) lets an answer have no human_score.

    What the loader ignored (a JSONL file's keys of its own) is printed once, here.
    """
    from interviewer.evals.datasets import Scale, load_csv, load_jsonl, parse_mapping, parse_scale
    from interviewer.evals.suite import load_suite

    if path.suffix in (".yaml", ".yml"):
        if mapping or scale:
            raise typer.BadParameter(
                f"{path} is a suite file, which sets its dataset's mapping and scale itself; "
                "--map and --scale apply to a dataset file (--dataset FILE.jsonl or FILE.csv)",
                param_hint="--map/--scale",
            )
        source = load_suite(path).dataset
        if source.is_csv:
            origin = (
                f"the scale in {path}" if source.scale else f"the default scale; {path} sets none"
            )
            data = load_csv(
                source.path, source.map, source.scale or Scale(), source.defaults, origin
            )
        else:
            data = load_jsonl(source.path, source.map, source.scale, given_by=f"{path}'s scale")
        if source.name:
            data.info.name = source.name
    else:
        fields = parse_mapping(mapping) if mapping else {}
        given = parse_scale(scale) if scale else None
        if path.suffix == ".csv":
            if not fields:
                raise typer.BadParameter("a CSV needs --map field=column,...", param_hint="--map")
            origin = (
                "the scale given by --scale"
                if given
                else "the default scale; give the data's own with --scale MIN,MAX"
            )
            data = load_csv(path, fields, given or Scale(), origin=origin, graded=graded)
        else:
            data = load_jsonl(path, fields, given, graded=graded)
    _notices(data.notices)
    return data


def _datasets(paths: list[Path], mapping: str | None, scale: str | None) -> list[Dataset]:
    """Several datasets: ``--map`` and ``--scale`` apply to the dataset files, not the suites."""
    from interviewer.evals.datasets import ScaleError

    suites = [p.suffix in (".yaml", ".yml") for p in paths]
    if (mapping or scale) and all(suites):
        raise typer.BadParameter(
            "--map and --scale apply to dataset files, and every --dataset is a suite file",
            param_hint="--map/--scale",
        )
    files = len(suites) - sum(suites)
    try:
        return [
            _dataset(p, None, None) if is_suite else _dataset(p, mapping, scale)
            for p, is_suite in zip(paths, suites, strict=True)
        ]
    except ScaleError as exc:
        if files < 2:
            raise
        raise ScaleError(
            f"{exc}\n--scale applies to every dataset file given; to mix scales, give each file "
            'its own in a header line (first line: {"dataset": {"name": "mine", "scale": '
            '{"min": 0, "max": 2}}}) or name it in a suite file'
        ) from exc


def _scorable(datasets: list[Dataset], settings: Settings) -> None:
    """Every item has a corpus question, key points or a reference answer to be scored against:
    checked before the model loads."""
    from interviewer.evals.items import check_references

    check_references(datasets, load_corpus(settings.corpus_dir).require_valid().by_id())


def _checked(datasets: list[Dataset], curve: str | None) -> str:
    """The curve dataset's name, once the datasets can be calibrated on: checked before the
    model loads, so a wrong --curve or too few questions never waits for the embedding."""
    from interviewer.evals.calibrate import check_inputs

    try:
        return check_inputs(datasets, curve)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dataset/--curve") from exc


MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Read item fields from other CSV columns or JSONL keys: field=name,... e.g. "
        "human_score=points. A CSV needs it for every field it supplies; in a JSONL file, "
        "unmapped fields are read from keys of their own name.",
    ),
]
DatasetsOpt = Annotated[
    list[Path], typer.Option(help="Labelled datasets or suite files (repeatable).")
]
ScaleOpt = Annotated[
    str | None,
    typer.Option(
        help="The human scale MIN,MAX (e.g. 0,5) of a CSV or JSONL file. A JSONL header line "
        "that declares a different scale is refused. Default: the header's, else 1,5."
    ),
]


def _print_eval(metrics: dict[str, object]) -> list[dict[str, object]]:
    """Agreement, robustness and threshold results on the terminal; the breached thresholds."""
    from interviewer.evals.question_level import figure_cell, too_few
    from interviewer.evals.report import failures_note

    table = Table(title=f"{metrics['dataset']} · n={metrics['n']} · {metrics['scorer']}")
    for column in ("metric", "value", "95% CI"):
        table.add_column(column)
    for name in ("pearson", "spearman", "kendall", "qwk", "mae", "rmse", "exact", "within_one"):
        ci = cast(list[float], metrics[f"{name}_ci"])
        table.add_row(name, f"{cast(float, metrics[name]):.3f}", f"{ci[0]:.3f} .. {ci[1]:.3f}")
    out_console = Console()
    out_console.print(table)
    baselines = cast(dict[str, dict[str, Any]], metrics.get("baselines", {}))
    if baselines:
        reason = too_few(cast(dict[str, Any], metrics.get("per_question", {})))
        against = Table(title="against plain baselines (same answers)", caption=reason or None)
        columns = ("scorer", "pearson", "qwk", "within a question", "between questions")
        for column in columns:
            against.add_column(column, no_wrap=column == "scorer")
        rows = [
            (f"{metrics['scorer']} (this run)", metrics),
            *((b["name"], b) for b in baselines.values()),
        ]
        for name, m in rows:
            level = m.get("per_question", {})
            by_question = [
                figure_cell(level, k, interval=False)
                for k in ("within_question", "between_questions")
            ]
            against.add_row(name, f"{m['pearson']:.3f}", f"{m['qwk']:.3f}", *by_question)
        out_console.print(against)
    probes = cast(dict[str, dict[str, float]], metrics.get("robustness", {}))
    if probes:
        robust = Table(title="robustness (change on 1..5 against the original answer)")
        for column in ("probe", "n", "mean change", "inflated >= 1", "scored <= 2"):
            robust.add_column(column)
        for name, r in probes.items():
            low = r.get("scored_2_or_less")
            robust.add_row(
                name,
                str(int(r["n"])),
                f"{r['mean_change']:+.2f}",
                f"{r['inflated_share']:.1%}",
                "" if low is None else f"{low:.1%}",
            )
        out_console.print(robust)
    for name, why in cast(dict[str, str], metrics.get("robustness_not_run", {})).items():
        _notices([f"robustness probe {name} not run: {why}"])
    if note := failures_note(metrics):
        _notices([note])
    checked = cast(list[dict[str, object]], metrics.get("thresholds", []))
    breached = [t for t in checked if not t["ok"]]
    if checked and not breached:
        out_console.print(f"All {len(checked)} thresholds pass.")
    for t in breached:
        err.print(
            f"[red]threshold breached[/red] {t['name']}: {t['value']} {t['op']} "
            f"{t['limit']} is false"
        )
    return breached


@eval_app.command("run")
def eval_run(
    suite: Annotated[
        Path | None,
        typer.Argument(
            help="A suite file (dataset with its mapping and scale, scorer, thresholds)."
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="A JSONL dataset (keys that are not dataset fields are ignored and listed "
            "once), or a CSV with --map."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (resumes if it exists).")] = None,
    scorer: Annotated[
        str, typer.Option(help="offline, or llm (the judge named by --model or the settings).")
    ] = "offline",
    model: Annotated[
        str | None,
        typer.Option(help="Chat model for --scorer llm, e.g. gpt-4o-mini or openai:gpt-4o."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="LLM calls in flight at once.")
    ] = 4,
    cache: Annotated[
        bool, typer.Option(help="Reuse cached LLM judgements (keyed by model, pack and item).")
    ] = True,
    pack: Annotated[
        str, typer.Option(help="Pack whose rubrics and calibration apply.")
    ] = "backend-developer",
    mapping: MapOpt = None,
    scale: ScaleOpt = None,
    robustness_sample: Annotated[
        int, typer.Option(help="Answers per robustness probe (0: off).")
    ] = 60,
) -> None:
    """Score a labelled dataset: agreement, robustness, thresholds (exit 1 on a breach)."""
    from interviewer.evals.judging import ScoreCache
    from interviewer.evals.run import run_dataset
    from interviewer.evals.suite import load_suite
    from interviewer.services import Services

    thresholds: dict[str, str] = {}
    if suite is not None and dataset is not None:
        raise typer.BadParameter(
            f"{suite} is a suite file, which names its dataset itself; give either the suite or "
            "--dataset FILE, not both",
            param_hint="--dataset",
        )
    if suite is not None:
        spec = load_suite(suite)
        data = _dataset(suite, mapping, scale)
        scorer, pack, thresholds = spec.scorer, spec.pack, spec.thresholds
        robustness_sample = spec.robustness_sample
        model = model or spec.model
        concurrency = spec.concurrency or concurrency
        out = out or Path("evals/runs") / spec.name
    elif dataset is not None:
        data = _dataset(dataset, mapping, scale)
        out = out or Path("evals/runs") / data.info.name
    else:
        raise typer.BadParameter("give a suite file or --dataset", param_hint="SUITE")
    settings = _scorer_settings(scorer, model)
    _scorable([data], settings)
    services = Services.start(settings)
    chosen = services.pack(pack)
    metrics = run_dataset(
        data,
        services.scorer_for(chosen),
        services.corpus.by_id(),
        chosen,
        out,
        robustness_sample=robustness_sample,
        thresholds=thresholds,
        concurrency=concurrency,
        cache=ScoreCache(settings.cache_dir / "judgements.sqlite") if cache else None,
        embeddings=services.embeddings,
        notify=lambda message: _notices([message]),
    )
    breached = _print_eval(metrics)
    err.print(f"Wrote {out}/metrics.json, results.jsonl, report.md and report.html")
    if breached:
        raise typer.Exit(1)


@eval_app.command("schema")
def eval_schema(
    check: Annotated[bool, typer.Option(help="Fail if the shipped schema is out of date.")] = False,
) -> None:
    """Write the JSON schema of a dataset line (evals/schema/), for editors and other tools."""
    from interviewer.evals.datasets import line_schema

    path = PROJECT_ROOT / "evals" / "schema" / "eval-dataset-line.schema.json"
    _write_schema(path, line_schema(), "interviewer eval schema", check)


@eval_app.command("calibrate")
def eval_calibrate(
    dataset: Annotated[
        list[Path],
        typer.Option(
            help="Labelled datasets or suite files (repeatable). --map and --scale apply to "
            "every dataset file given; a suite file sets its own."
        ),
    ],
    mapping: MapOpt = None,
    scale: ScaleOpt = None,
    pack: Annotated[
        str, typer.Option(help="Pack to write calibration.json into.")
    ] = "backend-developer",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write here instead of the pack's calibration.json."),
    ] = None,
    curve: Annotated[
        str | None,
        typer.Option(
            help="Dataset (by name) whose grades shape the 1..5 curve: interview answers "
            "graded on the rubric's scale. Default: the first dataset."
        ),
    ] = None,
) -> None:
    """Fit the offline scorer's calibration with question-grouped CV; ship it with the pack."""
    from interviewer.evals.calibrate import calibrate
    from interviewer.evals.cross import prefetched
    from interviewer.scoring.offline import EmbeddingScorer, ScorerParams
    from interviewer.services import Services

    datasets = _datasets(dataset, mapping, scale)
    _checked(datasets, curve)
    _scorable(datasets, _settings())
    services = Services.start(_settings())
    chosen = services.pack(pack)
    target = out_file or chosen.root / "calibration.json"
    base = ScorerParams.load(chosen.calibration_path).model_copy(update={"calibration": None})
    err.print(f"Embedding {sum(len(d.items) for d in datasets)} answers ...")
    fast = prefetched(services.embeddings, datasets, services.corpus.by_id())
    doc = calibrate(
        datasets,
        EmbeddingScorer(fast, base),
        services.corpus.by_id(),
        target,
        curve_dataset=curve,
        told_in_own_words=chosen.told_in_own_words(),
    )
    for name, metrics in doc["fitted"]["cv_metrics"].items():  # type: ignore[index]
        out.print(
            f"{name}: grouped-CV pearson {metrics['pearson']:.3f} "
            f"{metrics['pearson_ci']}, qwk {metrics['qwk']:.3f}, mae {metrics['mae']:.3f}"
        )
    out.print(f"Wrote {target}")


@eval_app.command("guards")
def eval_guards(
    pack: Annotated[str, typer.Option(help="Pack whose questions and guards.json to use.")] = (
        "backend-developer"
    ),
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Human-graded answers (the pack's scale) to set the judge check's gap from."
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the fitted thresholds to the pack.")
    ] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of the pack's guards.json.")
    ] = None,
) -> None:
    """Fit the reply guards' thresholds on the corpus; print what they stop and catch."""
    from interviewer.evals.guard_fit import fit_guards, judge_gap_from
    from interviewer.guards import GuardParams
    from interviewer.services import Services

    data = _dataset(dataset, None, None) if dataset else None
    services = Services.start(_settings())
    chosen = services.pack(pack)
    own = services.catalog.own_ids.get(chosen.id, frozenset())
    questions = [q for q in services.corpus.questions if chosen.admits(q, own)]
    gap = None
    if data is not None:
        from interviewer.evals.items import as_request
        from interviewer.scoring.offline import EmbeddingScorer, ScorerParams

        scorer = EmbeddingScorer(services.embeddings, ScorerParams.load(chosen.calibration_path))
        by_id = services.corpus.by_id()
        scale = data.info.scale
        shortfalls = [
            1
            + 4 * scale.to_unit(item.human_score)
            - scorer.score(as_request(item, by_id, chosen)).overall
            for item in data.items
        ]
        gap = judge_gap_from(shortfalls)
    from interviewer.embeddings import embeddings_key
    from interviewer.vector_cache import CachedEmbeddings, VectorCache

    cache = VectorCache(services.settings.cache_dir)
    cached = CachedEmbeddings(services.embeddings, cache, embeddings_key(services.settings))
    fitted = fit_guards(
        services.embeddings,
        questions,
        chosen,
        GuardParams.load(chosen.guards_path),
        gap,
        embed=cached.embed_documents,
    )
    fit = fitted.fit
    assert fit is not None
    table = Table(title=f"Reply guards fitted on {fit.corpus_questions} questions")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("leak_at (similarity to a secret)", f"{fitted.leak_at:.3f}")
    table.add_row("asked_at (similarity to the prepared question)", f"{fitted.asked_at:.3f}")
    table.add_row("judge_gap", f"{fitted.judge_gap:g} ({fit.judge_gap_basis})")
    for check, rate in fit.follow_ups_flagged.items():
        table.add_row(f"curated follow-ups stopped by {check}", f"{rate:.2%}")
    for check, rate in fit.questions_flagged.items():
        table.add_row(f"curated questions stopped by {check}", f"{rate:.2%}")
    table.add_row("planted leaks caught", f"{fit.leaks_caught:.1%}")
    table.add_row("reworded leaks caught", f"{fit.paraphrased_leaks_caught:.1%}")
    table.add_row("neighbouring question asked instead: caught", f"{fit.drift_caught:.1%}")
    table.add_row("a number or named term dropped: caught", f"{fit.constraint_drops_caught:.1%}")
    out.print(table)
    if write or out_file:
        target = out_file or chosen.root / "guards.json"
        target.write_text(fitted.model_dump_json(indent=2) + "\n", encoding="utf-8")
        out.print(f"Wrote {target}")


@eval_app.command("interviewer")
def eval_interviewer(
    model: Annotated[
        str | None,
        typer.Option(help="Model to qualify, e.g. openai:gpt-4o-mini (default: the configured)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (default: the configured).")
    ] = None,
    pack: Annotated[str, typer.Option(help="Pack to interview with.")] = "backend-developer",
    level: Annotated[Level, one_of(Level, "Candidate level.")] = Level.MID,
    fmt: Annotated[str, typer.Option("--format", help="Interview format.")] = "phone-screen",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write qualification.md and .json here.")
    ] = None,
    candidate: Annotated[
        list[Behaviour] | None,
        typer.Option(help="Scripted candidates to play (repeatable; default: all six)."),
    ] = None,
) -> None:
    """Qualify a model as interviewer: scripted candidates through the real engine, with the
    guards on; prints a verdict and exits 1 when the model is unfit."""
    from rich.markdown import Markdown

    from interviewer.evals.qualify import qualify_model, to_markdown
    from interviewer.services import Services

    settings = _settings()
    update: dict[str, object] = {}
    if model:
        update["model"] = model
    if base_url:
        update["base_url"] = base_url
    settings = settings.model_copy(update=update)
    if not settings.model:
        raise InterviewerError(
            "No model to qualify: pass --model (e.g. openai:gpt-4o-mini) or set INTERVIEWER_MODEL."
        )
    services = Services.start(settings.model_copy(update={"model": None}))
    with err.status("Playing scripted candidates ...") as status:
        result = qualify_model(
            services, settings, pack, level, fmt, status.update, candidate or list(Behaviour)
        )
    report = to_markdown(result)
    out.print(Markdown(report))
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "qualification.md").write_text(report, encoding="utf-8")
        (out_dir / "qualification.json").write_text(
            result.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )
        out.print(f"Wrote {out_dir / 'qualification.md'}")
    if result.verdict == "unfit":
        raise typer.Exit(1)


@eval_app.command("cross")
def eval_cross(
    dataset: DatasetsOpt,
    mapping: MapOpt = None,
    scale: ScaleOpt = None,
    pack: Annotated[
        str, typer.Option(help="Pack whose scorer settings are used.")
    ] = "backend-developer",
    curve: Annotated[
        str | None,
        typer.Option(help="Dataset (by name) whose grades shape the 1..5 curve. Default: first."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for cross.md, cross.json and cross.png.")
    ] = Path("evals/runs/cross"),
) -> None:
    """Leave-one-dataset-out and question-grouped CV, beside plain baselines, per dataset."""
    from interviewer.evals.cross import METHODS, cross_dataset, notes, write_cross_report
    from interviewer.scoring.offline import ScorerParams
    from interviewer.services import Services

    datasets = _datasets(dataset, mapping, scale)
    curve_name = _checked(datasets, curve)
    _scorable(datasets, _settings())
    services = Services.start(_settings())
    chosen = services.pack(pack)
    err.print(f"Embedding and scoring {sum(len(d.items) for d in datasets)} answers ...")
    try:
        result = cross_dataset(
            datasets,
            services.embeddings,
            ScorerParams.load(chosen.calibration_path),
            services.corpus.by_id(),
            curve_name,
            told_in_own_words=chosen.told_in_own_words(),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dataset") from exc
    write_cross_report(out, result)
    caption = "\n".join(f"{name}: {note}" for name, note in notes(result))
    table = Table(title="Pearson with human grades (QWK)", caption=caption or None)
    table.add_column("dataset")
    table.add_column("n")
    for method in METHODS:
        table.add_column(METHODS[method])
    for name, d in result["datasets"].items():
        cells = [
            f"{d['methods'][m]['pearson']:.3f} ({d['methods'][m]['qwk']:.2f})"
            if m in d["methods"]
            else "-"
            for m in METHODS
        ]
        table.add_row(name, str(d["n"]), *cells)
    Console().print(table)
    err.print(f"Wrote {out}/cross.md, cross.json and cross.png")


@eval_app.command("points")
def eval_points(
    dataset: Annotated[
        Path,
        typer.Option(help="Key-point labels (JSONL), e.g. evals/datasets/key-points-v1.jsonl."),
    ] = Path("evals/datasets/key-points-v1.jsonl"),
    scorer: Annotated[
        str, typer.Option(help="offline, or llm (the judge named by --model or the settings).")
    ] = "offline",
    model: Annotated[
        str | None, typer.Option(help="Chat model for --scorer llm, e.g. gpt-4o-mini.")
    ] = None,
    pack: Annotated[
        str, typer.Option(help="Pack whose rubrics and scorer settings are used.")
    ] = "backend-developer",
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="LLM calls in flight at once.")
    ] = 4,
) -> None:
    """How far a scorer's covered / missed key points agree with a grader's labels."""
    from interviewer.evals.key_points import PointAgreement, load_points, point_agreement
    from interviewer.services import Services

    settings = _scorer_settings(scorer, model)
    # the labels are checked against the corpus before the model loads
    questions = load_corpus(settings.corpus_dir).require_valid().by_id()
    labels = load_points(dataset, questions)
    services = Services.start(settings)
    chosen = services.pack(pack)
    judge = services.scorer_for(chosen)
    name = labels.info.name or dataset.name
    run = point_agreement(
        labels.items,
        judge,
        questions,
        chosen,
        concurrency=concurrency,
        progress=f"scoring {name}",
        name=name,
    )
    title = f"Key points ticked by {judge.name} ({pack}) against {name}"
    table = Table(title=title)
    table.add_column("questions")
    for column in PointAgreement.HEADERS:
        table.add_column(column, justify="right")
    for group, a in run.agreement.items():
        table.add_row(group, *a.cells())
    Console().print(table)
    if run.failed:
        err.print(
            f"{run.failed} of {run.answers + run.failed} answers could not be judged (left out "
            "above); run again to retry them."
        )
    if run.silent:
        err.print(
            f"On {run.silent} of {run.answers} answers the judge named no covered key point: "
            "counted above as every point missed (the interview shows the offline scorer's "
            "ticks there instead)."
        )


@eval_app.command("compare")
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The candidate run folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Metric deltas (B - A) with 95% bootstrap intervals, paired when the items match."""
    from interviewer.evals.compare import CompareError, compare, load_run
    from interviewer.evals.metrics import finite

    try:
        result = compare(load_run(run_a), load_run(run_b))
    except CompareError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    if as_json:  # strict JSON: an undefined metric or interval is null
        print(json.dumps(finite(result), indent=2, allow_nan=False))
        return
    how = f"paired on {result['n']} shared items" if result["paired"] else "unpaired"
    table = Table(title=f"B - A, {how}")
    for column in ("metric", "A", "B", "delta", "95% CI", "verdict"):
        table.add_column(column)
    colours = {"better": "green", "worse": "red", "no change": "dim", "too few items": "yellow"}
    for row in result["metrics"]:
        low, high = row["ci"]
        table.add_row(
            row["metric"],
            f"{row['a']:.3f}",
            f"{row['b']:.3f}",
            f"{row['delta']:+.3f}",
            f"{low:+.3f} .. {high:+.3f}",
            f"[{colours[row['verdict']]}]{row['verdict']}[/]",
        )
    console = Console()
    for key in ("a", "b"):
        run = result[key]
        console.print(
            f"{key.upper()}: {escape(run['label'])}  ({escape(run['path'])}, n={run['n']})"
        )
    console.print(table)
    for note in result["notes"]:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)


@app.command("app")
def run_app(port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501) -> None:
    """Start the Streamlit app."""
    script = PROJECT_ROOT / "app.py"
    raise typer.Exit(
        subprocess.call(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
        )
    )


def _not_text(args: list[str]) -> list[str]:
    """Arguments holding bytes that are not UTF-8 (Python passes them on as lone surrogates,
    which nothing can store or print), shown with those bytes replaced. A path that exists is
    fine: the file system takes such names as they are."""
    bad = []
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if not Path(arg.partition("=")[2] or arg).exists():
                bad.append(arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return bad


def main() -> None:
    """Entry point: user errors become a message and exit code 2, never a traceback."""
    if bad := _not_text(sys.argv[1:]):
        listed = ", ".join(f"'{arg}'" for arg in bad)
        err.print(
            f"[red]error:[/red] {escape(listed)}: not UTF-8 text (the marked characters "
            "are bytes of another encoding); type it again in UTF-8",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    try:
        app()
    except InterviewerError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
