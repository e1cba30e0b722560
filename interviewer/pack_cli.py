"""``interviewer pack``: list, show, scaffold, validate, describe and test prompt packs."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, cast

import typer
import yaml
from pydantic import TypeAdapter
from rich import box
from rich.console import Console
from rich.table import Table

from interviewer.config import Settings
from interviewer.domain import SLUG
from interviewer.files import safe_yaml
from interviewer.pack_catalog import discover, pack_dirs, pack_folders, pack_questions
from interviewer.pack_merge import PackOverlay
from interviewer.packs import (
    TEMPLATE_VARIABLES,
    Pack,
    PackError,
    PackFile,
    builtin_packs_dir,
    load_pack,
)
from interviewer.untrusted import terminal_markup as escape

pack_app = typer.Typer(
    help="Prompt packs: persona, formats, rubrics and questions, without touching code.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # paths and messages stay on one line

SAMPLE_VALUES: dict[str, str] = {
    "persona_name": "Sam Rivera",
    "persona_title": "Staff Engineer",
    "tone": "warm and direct",
    "level": "mid",
    "format_name": "Phone screen",
    "question_count": "4",
    "question_phrase": "4 questions",
    "minutes": "30",
    "job_description": "Backend engineer, Python and PostgreSQL.",
    "question": "How does a database index speed up a query?",
    "key_points": "- [btree] Explains B-tree lookups (weight 3, expected from junior)",
    "position": "1",
    "answer": "<<<ANSWER\nIt keeps keys sorted so lookups are logarithmic.\nANSWER>>>",
    "missed_points": "- write cost of indexes",
    "suggested_follow_up": "What does an index cost on writes?",
    "candidate_question": "What does the on-call rotation look like?",
    "reference_answer": "An index is a sorted structure ...",
    "rubric": "- correctness (Correctness, weight 3): ...",
    "red_flags": "- Believes indexes never slow writes",
}
"""A value for every template variable, so ``pack validate`` renders every template."""


def _dirs() -> list[Path]:
    return pack_dirs(Settings().packs_path)


def _corpus_ids() -> set[str]:
    """The corpus's question ids (none when the corpus cannot be read: `corpus validate`
    says why)."""
    from interviewer.corpus import load_corpus
    from interviewer.errors import CorpusError

    try:
        return {q.id for q in load_corpus(Settings().corpus_dir).questions}
    except CorpusError:
        return set()


def _pack(pack_id: str) -> Pack:
    catalog = discover(_dirs())
    if pack_id not in catalog.packs:
        broken = [p for p in catalog.problems if f"/{pack_id}/" in p]
        detail = ("\n" + "\n".join(broken)) if broken else ""
        raise PackError(
            f"No valid pack '{pack_id}'. Available: {', '.join(sorted(catalog.packs))}{detail}"
        )
    return catalog.packs[pack_id]


@pack_app.command("list")
def pack_list() -> None:
    """Every pack found (built-in and INTERVIEWER_PACKS_PATH), and any that failed to load."""
    catalog = discover(_dirs(), _corpus_ids())
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("id", "version", "extends", "role", "formats"):
        table.add_column(column, no_wrap=True)  # ids are copied from here: never broken
    outside: dict[Path, list[str]] = {}
    for pack in catalog.packs.values():
        table.add_row(
            escape(pack.id),
            escape(pack.spec.version),
            escape(pack.spec.extends or ""),
            escape(pack.spec.role),
            str(len(pack.spec.formats)),
        )
        if pack.root.parent != builtin_packs_dir():
            outside.setdefault(pack.root.parent, []).append(pack.id)
    out.print(table)
    for folder, ids in outside.items():
        out.print(escape(f"from {folder}: {', '.join(ids)}"), highlight=False, soft_wrap=True)
    for problem in catalog.problems:
        err.print(f"[red]problem:[/red] {escape(problem)}", highlight=False)


@pack_app.command("show")
def pack_show(pack_id: Annotated[str, typer.Argument(help="A pack id.")]) -> None:
    """Persona, formats, rubrics, templates and question sources of one pack (merged)."""
    pack = _pack(pack_id)
    spec = pack.spec
    out.print(
        f"[bold]{escape(spec.name)}[/bold] ({escape(f'{spec.id} {spec.version}')}, "
        f"hash {pack.content_hash})"
    )
    out.print(escape(spec.description))
    if spec.extends:
        out.print(f"extends: {escape(spec.extends)}")
    persona = spec.persona
    out.print(escape(f"persona: {persona.name}, {persona.title} ({persona.tone})"))
    source = spec.questions
    out.print(
        escape(
            f"questions: roles {', '.join(source.roles or [spec.role])}; topics "
            f"{', '.join(source.topics) or 'all'}; tags {', '.join(source.tags) or 'any'}; "
            f"{len(pack.question_files)} file(s) of the pack's own"
        )
    )
    formats = Table(title="formats")
    for column in ("id", "name", "minutes", "plan", "follow-ups"):
        formats.add_column(column)
    for fid, fmt in spec.formats.items():
        plan = ", ".join(
            f"{s.count} {s.category.value}" + (f" ({'/'.join(s.topics)})" if s.topics else "")
            for s in fmt.slots
        )
        formats.add_row(
            escape(fid), escape(fmt.name), str(fmt.minutes), escape(plan), str(fmt.follow_up_budget)
        )
    out.print(formats)
    for category, rubric in spec.rubrics.items():
        table = Table(title=f"rubric: {category.value}")
        for column in ("criterion", "weight", "a 3 means", "a 5 means", "offline scoring"):
            table.add_column(column)
        for c in rubric.criteria:
            table.add_row(
                escape(c.name),
                f"{c.weight:g}",
                escape(c.anchors[3]),
                escape(c.anchors[5]),
                escape(c.offline.describe()),
            )
        out.print(table)
    for name, file_name in sorted(spec.templates.items()):
        out.print(escape(f"template {name}: {pack.template_source(name) / file_name}"))
    out.print(f"calibration: {pack.calibration_path or 'none (default scorer settings)'}")


SCAFFOLD = """\
# A pack that builds on '{parent}'. Everything not written here comes from it.
# Merge rules (docs/packs.md): persona fields replace the parent's; a format id replaces or
# adds a format; rubric_adjustments change single criteria; templates replace the parent's.
# Check it with:   interviewer pack validate {folder}
# Try it with:     interviewer pack test {pack_id}
id: {pack_id}
extends: {parent}
name: {name}
version: 0.1.0
description: What this loop is for, in one line candidates read when choosing.

# persona:                      # who the candidate talks to
#   name: Alex Morgan
#   title: Principal Engineer
#   tone: calm, precise, asks for numbers

# formats:                      # same id replaces the parent's; a new id adds a format
#   onsite:
#     name: Onsite
#     description: Three technical questions, a design round and a behavioral one.
#     minutes: 120
#     slots:
#       - {{category: technical, count: 3}}
#       - {{category: system_design, count: 1}}
#       - {{category: behavioral, count: 1}}
#     follow_up_budget: 3
#     candidate_questions: 3
# remove_formats: [phone-screen]

# rubric_adjustments:           # raise or lower the bar of single criteria
#   technical:
#     correctness:
#       weight: 3
#       anchors:
#         4: Every claim correct, failure modes named, numbers plausible.
#   system_design:
#     data-and-storage:
#       offline:                # what the offline scorer counts (docs/packs.md)
#         cues: {{words: [postgresql, partition, index, replica, ledger]}}

# questions:                    # which corpus questions the pack asks
#   roles: [{role}]
#   topics: [databases, caching]
#   tags: []
# Questions of your own go in questions/*.yaml (the corpus format, role: {role}).

# templates:                    # replace a prompt with a file in this folder
#   greeting: greeting.md
"""

TESTS_SCAFFOLD = """\
# Sample answers and the band (1..5) their overall score must land in: `interviewer pack test`
# runs them through the eval runner and fails when one lands outside.
cases:
  - id: strong-answer
    question: {question}
    level: mid
    answer: >-
      Replace this with a strong answer a real candidate might give.
    expect: {{min: 1, max: 5}}
"""


@pack_app.command("new")
def pack_new(
    pack_id: Annotated[str, typer.Argument(help="Id (and folder name) of the new pack.")],
    parent: Annotated[str, typer.Option("--from", help="The pack to extend.")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to create it (default: first INTERVIEWER_PACKS_PATH)."),
    ] = None,
) -> None:
    """Scaffold a pack that extends another, with comments on every part."""
    if not re.fullmatch(SLUG, pack_id) or not 2 <= len(pack_id) <= 80:
        raise PackError(
            f"pack id '{pack_id}': use lowercase letters, digits and single hyphens, "
            "2 to 80 characters (for example acme-backend); it is also the folder name"
        )
    base = _pack(parent)
    where = directory or (Settings().packs_path or [Path("packs")])[0]
    folder = where / pack_id
    if folder.exists():
        raise PackError(f"{folder} already exists; choose another id or folder")
    if pack_id in discover(_dirs()).packs:
        raise PackError(f"a pack with id '{pack_id}' already exists; pack ids must be unique")
    (folder / "questions").mkdir(parents=True)
    name = pack_id.replace("-", " ").capitalize()
    (folder / "pack.yaml").write_text(
        SCAFFOLD.format(
            pack_id=pack_id, parent=parent, name=name, role=base.spec.role, folder=folder
        )
    )
    sample = next(iter(_questions_for(base)), "a-corpus-question-id")
    (folder / "tests.yaml").write_text(TESTS_SCAFFOLD.format(question=sample))
    try:
        load_pack(folder, _lookup(folder)[1])
    except PackError:
        shutil.rmtree(folder)  # leave nothing half-made behind
        raise
    out.print(f"Created {folder} (extends {parent}).")
    if directory is not None and directory.resolve() not in [d.resolve() for d in _dirs()]:
        out.print(f"Add {directory} to INTERVIEWER_PACKS_PATH so the app and CLI find it.")


def _questions_for(pack: Pack) -> list[str]:
    from interviewer.corpus import load_corpus

    corpus = load_corpus(Settings().corpus_dir)
    return [q.id for q in corpus.questions if pack.admits(q)]


def _lookup(
    given: Path,
) -> tuple[Path, Callable[[str], Path | None], str | None]:
    """The pack folder meant, how to find parents as the app does, and a problem if any.

    ``given`` is the folder itself, or, when it holds no pack.yaml and is a bare name, the id
    of a pack the app finds (`pack validate backend-onsite`, as `pack show` and `pack test`
    take ids). The folder is findable even if not on the path; when another pack folder has
    its id, that is the problem: the app would ignore this one (as ``pack list`` says), and
    its ``extends`` would find the other pack under its id."""
    folders, _ = pack_folders(_dirs())
    folder = given
    if not (given / "pack.yaml").exists() and len(given.parts) == 1:
        folder = folders.get(str(given), given)
    other = folders.setdefault(folder.name, folder)
    if other.resolve() == folder.resolve():
        return folder, folders.get, None
    taken = (
        f"{folder / 'pack.yaml'}: pack id '{folder.name}' is already used by {other}; "
        "pack ids must be unique across the packs folders, so the app ignores this pack: "
        "rename its folder and its id"
    )
    return folder, folders.get, taken


def _own_question_problems(folder: Path) -> list[str]:
    """Problems in a pack's ``questions/*.yaml``, checked without the (broken) manifest: the
    role is the manifest's own, else that of the pack it extends, as the catalog has it."""
    from interviewer.corpus import load_file
    from interviewer.files import MAX_MANIFEST_BYTES, FileTooLargeError, read_capped

    try:  # an oversized manifest was refused already: it is not read here either
        data = safe_yaml(read_capped(folder / "pack.yaml", MAX_MANIFEST_BYTES))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, FileTooLargeError):
        return []
    if not isinstance(data, dict):
        return []
    parent = discover(_dirs()).packs.get(str(data.get("extends")))
    role = data.get("role") or (parent.spec.role if parent else None)
    if not isinstance(role, str):
        return []  # without a role the items cannot be checked; the manifest error says why
    problems: list[str] = []
    for path in sorted((folder / "questions").glob("*.yaml")):
        problems += [str(p) for p in load_file(path, folder, role=role)[1]]
    return problems


@pack_app.command("validate")
def pack_validate(
    folder: Annotated[
        Path,
        typer.Argument(help="A pack folder (holding pack.yaml), or the id of a pack found."),
    ],
) -> None:
    """Check a pack: every field, its parent, its questions and tests, every template
    rendered with sample values. Exit 1 with every problem found."""
    folder, lookup, taken = _lookup(folder)
    problems: list[str] = [taken] if taken else []
    try:
        pack = load_pack(folder, lookup)
    except PackError as exc:
        # With its id taken, its parents are looked up beside the other pack: an error in
        # ``extends`` is that, not this pack's own problem (a cycle blamed on a shipped pack).
        follows = taken and str(exc).startswith(f"{folder / 'pack.yaml'}: field extends:")
        for problem in problems if follows else [*problems, str(exc)]:
            err.print(f"[red]invalid[/red] {escape(problem)}", highlight=False)
        for problem in _own_question_problems(folder):  # still worth knowing now
            err.print(f"[red]problem[/red] {escape(problem)}", highlight=False)
        raise typer.Exit(1) from exc
    for name in pack.spec.templates:
        try:
            pack.render(name, **{k: SAMPLE_VALUES[k] for k in TEMPLATE_VARIABLES[name]})
        except (KeyError, ValueError, IndexError) as exc:
            problems.append(f"template {name}: does not render with sample values: {exc}")
    from interviewer.corpus import load_corpus
    from interviewer.pack_tests import load_cases

    questions = {q.id: q for q in load_corpus(Settings().corpus_dir).questions}
    own, _, found = pack_questions([pack], questions)
    problems += [str(p) for p in found]
    questions.update({q.id: q for q in own})
    askable = [q for q in questions.values() if pack.admits(q, frozenset(q.id for q in own))]
    topics = {q.topic for q in askable}
    manifest = pack.root / "pack.yaml"
    for topic in pack.spec.questions.topics:
        if topic not in {q.topic for q in questions.values()}:
            problems.append(f"{manifest}: field questions.topics: no questions on '{topic}'")
    for fid, fmt in pack.spec.formats.items():
        for n, slot in enumerate(fmt.slots):
            have = [q for q in askable if q.category == slot.category]
            for topic in slot.topics:
                if topic not in topics:
                    problems.append(
                        f"{manifest}: field formats.{fid}.slots.{n}.topics: the pack can ask "
                        f"no question on '{topic}'"
                    )
            if len(have) < slot.count:
                problems.append(
                    f"{manifest}: field formats.{fid}.slots.{n}: asks {slot.count} "
                    f"{slot.category.value} question(s); the pack can ask {len(have)}"
                )
    if pack.tests_file.is_file():
        try:
            load_cases(pack, questions)
        except PackError as exc:
            problems.append(str(exc))
    for problem in problems:
        err.print(f"[red]problem[/red] {escape(problem)}", highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(
        f"ok {escape(f'{pack.id} {pack.spec.version}')}: {len(pack.spec.formats)} formats, "
        f"{len(pack.spec.templates)} templates rendered"
    )


@pack_app.command("schema")
def pack_schema(
    output: Annotated[Path | None, typer.Option("--out", help="Write to a file.")] = None,
) -> None:
    """JSON schema of pack.yaml (a full pack, or one that extends another), for editors."""
    schema = TypeAdapter(PackFile | PackOverlay).json_schema()
    schema["title"] = "Interviewer prompt pack (pack.yaml)"
    text = json.dumps(schema, indent=2)
    if output:
        output.write_text(text + "\n")
        out.print(f"Wrote {output}")
    else:
        print(text)


STATUS_MARKUP = {
    "pass": "[green]pass[/green]",
    "FAIL": "[red]FAIL[/red]",
    "known issue": "[yellow]known issue[/yellow]",
    "fixed": "[red]fixed: remove known_issue[/red]",
}


@pack_app.command("test")
def pack_test(
    pack_id: Annotated[str, typer.Argument(help="A pack id.")],
    output: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: a temporary one).")
    ] = None,
) -> None:
    """Run the pack's tests.yaml cases through the eval runner; exit 1 if any is out of band."""
    from interviewer.pack_tests import load_cases, run_cases
    from interviewer.services import Services

    services = Services.start(Settings())
    pack = services.pack(pack_id)
    questions = services.corpus.by_id()
    tests = load_cases(pack, questions)
    folder = output or Path(tempfile.mkdtemp(prefix=f"pack-test-{pack_id}-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = run_cases(pack, tests, services.scorer_for(pack), questions, folder)
    table = Table(title=f"{pack.id} {pack.spec.version} ({pack.content_hash})")
    for column in ("case", "question", "expected", "score", "result"):
        table.add_column(column)
    for row in rows:
        low, high = cast(list[float], row["expect"])
        score = row["score"]
        table.add_row(
            escape(row["id"]),
            escape(row["question"]),
            f"{low:g}..{high:g}",
            f"{score:.2f}" if isinstance(score, float) else escape(row["error"] or "-"),
            STATUS_MARKUP[str(row["status"])],
        )
    out.print(table)
    failed = [r for r in rows if r["status"] in ("FAIL", "fixed")]
    known = [r for r in rows if r["status"] == "known issue"]
    in_band = sum(r["status"] in ("pass", "fixed") for r in rows)
    summary = f"{in_band} of {len(rows)} cases in band"
    if known:
        summary += f", {len(known)} known issue(s) out of band as recorded"
    out.print(f"{summary}; results in {folder}")
    for row in rows:
        if row["status"] == "fixed":
            out.print(f"{escape(str(row['id']))}: now in band; remove its known_issue note")
    if failed:
        raise typer.Exit(1)
