"""Load and check the curated corpus: ``corpus/<role>/<topic>.yaml``.

Every problem is collected, not just the first, and each names the file, the item id, the field
and (where the YAML parser knows it) the line, so a contributor can fix a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import ValidationError

from interviewer.domain import (
    CandidateQuestion,
    CandidateQuestionsFile,
    Category,
    CoverageFile,
    Level,
    Question,
)
from interviewer.errors import CorpusError
from interviewer.files import (
    MAX_FILE_BYTES,
    SAFE_LOADER,
    FileTooLargeError,
    megabytes,
    read_capped,
    safe_yaml,
)

NEAR_DUPLICATE_COSINE = 0.92
#: Topic file versions whose checked text each process keeps, least recently used dropped first
#: (the shipped corpus and packs have 38 files; a file edited while the app runs adds one).
PARSED_FILES_KEPT = 256
#: Problems listed per file; past it, one line says how many more there are.
MAX_PROBLEMS_PER_FILE = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the corpus, located as precisely as the parser allows."""

    file: str
    message: str
    item: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.item:
            parts.append(f"item {self.item}")
        if self.field:
            parts.append(f"field {self.field}")
        return f"{': '.join(parts)}: {self.message}"


@dataclass
class Corpus:
    """The questions that loaded, and the problems found on the way."""

    root: Path
    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def by_id(self) -> dict[str, Question]:
        """Questions keyed by id."""
        return {q.id: q for q in self.questions}

    def require_valid(self) -> Corpus:
        """Raise CorpusError listing every problem, or return self when there are none."""
        if self.problems:
            raise CorpusError(
                f"The corpus in {self.root} has {len(self.problems)} problem(s); "
                "run `interviewer corpus validate` for details.",
                [str(p) for p in self.problems],
            )
        return self


def _line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest YAML node that ``path`` reaches."""
    line = None if node is None else node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key),
                None,
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            match = node.value[key] if 0 <= key < len(node.value) else None
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _field_name(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc) or "(item)"


def _item_problems(
    rel: str, index: int, raw: Any, node: yaml.Node | None
) -> tuple[Question | None, list[Problem]]:
    """Validate one list item; return the question or the problems found."""
    item_id = raw.get("id") if isinstance(raw, dict) else None
    label = str(item_id) if item_id else f"#{index + 1}"
    try:
        return Question.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if not loc:
                # Cross-field checks report several "field: message" lines at once.
                for entry in message.splitlines():
                    fld, _, msg = entry.partition(": ")
                    path = [int(p) if p.isdigit() else p for p in fld.split(".")]
                    line = _line_of(node, path)
                    problems.append(Problem(rel, msg or entry, label, fld, line))
                continue
            problems.append(Problem(rel, message, label, _field_name(loc), _line_of(node, loc)))
        return None, problems


def load_file(
    path: Path, root: Path, role: str | None = None
) -> tuple[list[Question], list[Problem]]:
    """Load one topic file, checking its shape, every item, and its place in the tree.

    Items must name ``role`` (by default the file's folder) and the file's topic.
    """
    role = role or path.parent.name
    rel = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    try:
        raw_bytes = read_capped(path, MAX_FILE_BYTES)
    except FileTooLargeError as exc:
        return [], [_too_large(rel, exc, "a topic file")]
    except OSError as exc:
        return [], [Problem(rel, f"cannot be read: {exc.strerror}")]
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(rel, f"is not UTF-8 text (byte {exc.start})")]
    questions, problems = _checked_text(text, rel, role, path.parent.name, path.name)
    return list(questions), list(problems)


@lru_cache(maxsize=PARSED_FILES_KEPT)
def _checked_text(
    text: str, rel: str, role: str, folder: str, name: str
) -> tuple[tuple[Question, ...], tuple[Problem, ...]]:
    """The questions and problems of one topic file's text (a pure function of its arguments,
    so a process that loads the corpus again, such as each `Services.start`, parses each
    unchanged file once; questions and problems are immutable)."""
    loader = SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            reason = f"{reason} ({context} started on line {start.line + 1})"
        return (), (Problem(rel, f"is not valid YAML: {reason}", line=line),)
    finally:
        loader.dispose()
    if not isinstance(data, dict) or "questions" not in data:
        return (), (Problem(rel, "must be a mapping with a 'questions:' list", line=1),)
    extra = sorted(str(k) for k in data if k != "questions")
    problems = [
        Problem(rel, "unknown top-level field", field=k, line=_line_of(node, [k])) for k in extra
    ]
    items = data["questions"]
    if not isinstance(items, list) or not items:
        problems.append(Problem(rel, "must be a non-empty list", field="questions"))
        return (), tuple(problems)
    items_node = _child(node, "questions")
    questions: list[Question] = []
    for index, raw in enumerate(items):
        item_node = items_node.value[index] if isinstance(items_node, yaml.SequenceNode) else None
        question, found = _item_problems(rel, index, raw, item_node)
        problems.extend(found)
        if question is None:
            continue
        placed = len(problems)
        if question.role != role:
            where = (
                f"the file is in folder '{role}'"
                if role == folder
                else f"the pack's role is '{role}'"
            )
            problems.append(
                Problem(
                    rel,
                    f"is '{question.role}' but {where}",
                    question.id,
                    "role",
                    _line_of(item_node, ["role"]),
                )
            )
        if question.topic != Path(name).stem:
            problems.append(
                Problem(
                    rel,
                    f"is '{question.topic}' but the file is named '{name}'",
                    question.id,
                    "topic",
                    _line_of(item_node, ["topic"]),
                )
            )
        if len(problems) == placed:
            questions.append(question)
    return tuple(questions), tuple(_capped(rel, problems))


def _too_large(rel: str, exc: FileTooLargeError, what: str) -> Problem:
    limit = megabytes(exc.limit)
    return Problem(rel, f"is {exc.size:,} bytes; {what} holds at most {limit}, so it was not read")


def _capped(rel: str, problems: list[Problem]) -> list[Problem]:
    """The first `MAX_PROBLEMS_PER_FILE` problems of one file, then how many more there are."""
    if len(problems) <= MAX_PROBLEMS_PER_FILE:
        return problems
    more = len(problems) - MAX_PROBLEMS_PER_FILE
    return [
        *problems[:MAX_PROBLEMS_PER_FILE],
        Problem(rel, f"and {more:,} more problem(s) in this file, not listed; fix these first"),
    ]


def id_lines(path: Path) -> dict[str, list[int]]:
    """The line of each item of a topic file, by id, in file order (empty when unreadable)."""
    try:
        node = yaml.compose(read_capped(path, MAX_FILE_BYTES).decode("utf-8"), Loader=SAFE_LOADER)
    except (OSError, FileTooLargeError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    items = _child(node, "questions")
    lines: dict[str, list[int]] = {}
    for item in items.value if isinstance(items, yaml.SequenceNode) else []:
        key = _child(item, "id")
        if isinstance(key, yaml.ScalarNode):
            lines.setdefault(str(key.value), []).append(key.start_mark.line + 1)
    return lines


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return cast(yaml.Node, v)
    return None


def corpus_files(root: Path) -> list[Path]:
    """Every topic file under ``root``, in a stable order."""
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file())


def load_corpus(root: Path) -> Corpus:
    """Load every topic file under ``root``; problems are collected, not raised."""
    if not root.is_dir():
        raise CorpusError(
            f"Corpus folder not found: {root}. Set INTERVIEWER_CORPUS_DIR to the folder that "
            "holds <role>/<topic>.yaml files."
        )
    corpus = Corpus(root=root)
    files = corpus_files(root)
    if not files:
        corpus.problems.append(Problem(str(root), "holds no <role>/<topic>.yaml files"))
    seen: dict[str, str] = {}
    for path in files:
        questions, problems = load_file(path, root)
        corpus.problems.extend(problems)
        for q in questions:
            rel = str(path.relative_to(root.parent))
            if q.id in seen:
                corpus.problems.append(
                    Problem(rel, f"duplicate id, first used in {seen[q.id]}", q.id, "id")
                )
                continue
            seen[q.id] = rel
            corpus.questions.append(q)
    return corpus


def near_duplicates(
    questions: Sequence[Question],
    vectors: Sequence[Sequence[float]],
    threshold: float = NEAR_DUPLICATE_COSINE,
) -> list[tuple[Question, Question, float]]:
    """Pairs of questions whose normalised text embeddings have cosine >= threshold."""
    import numpy as np

    if len(questions) < 2:
        return []
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    sims = matrix @ matrix.T
    rows, cols = np.where(np.triu(sims, k=1) >= threshold)
    return [
        (questions[i], questions[j], float(sims[i, j])) for i, j in zip(rows, cols, strict=True)
    ]


@dataclass(frozen=True)
class StatsRow:
    """Question counts for one topic, by level."""

    category: Category
    topic: str
    by_level: dict[Level, int]
    total: int


def stats(questions: Iterable[Question]) -> list[StatsRow]:
    """Counts by category x topic x level (a question suiting several levels counts in each)."""
    table: dict[tuple[Category, str], list[Question]] = {}
    for q in questions:
        table.setdefault((q.category, q.topic), []).append(q)
    order = list(Category)
    rows = []
    for (category, topic), items in sorted(
        table.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])
    ):
        by_level = {lvl: sum(1 for q in items if lvl in q.levels) for lvl in Level}
        rows.append(StatsRow(category, topic, by_level, len(items)))
    return rows


CANDIDATE_QUESTIONS = Path("closing") / "candidate-questions.yaml"
COVERAGE = Path("_meta") / "coverage.yaml"


def _load_model(
    path: Path, model: type[CandidateQuestionsFile] | type[CoverageFile], rel: str
) -> tuple[object | None, list[Problem]]:
    if not path.is_file():
        return None, []
    try:
        data = safe_yaml(read_capped(path, MAX_FILE_BYTES).decode("utf-8"))
        return model.model_validate(data), []
    except FileTooLargeError as exc:
        return None, [_too_large(rel, exc, "this file")]
    except OSError as exc:
        return None, [Problem(rel, f"cannot be read: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, f"is not UTF-8 text (byte {exc.start})")]
    except yaml.YAMLError as exc:
        return None, [Problem(rel, f"is not valid YAML: {exc}")]
    except ValidationError as exc:
        found = [Problem(rel, str(e["msg"]), field=_field_name(e["loc"])) for e in exc.errors()]
        return None, _capped(rel, found)


def candidate_questions(root: Path, role: str) -> tuple[list[CandidateQuestion], list[Problem]]:
    """The good questions a candidate can ask at the end, for one role."""
    path = root / role / CANDIDATE_QUESTIONS
    loaded, problems = _load_model(
        path, CandidateQuestionsFile, f"{root.name}/{role}/{CANDIDATE_QUESTIONS}"
    )
    return (loaded.questions if isinstance(loaded, CandidateQuestionsFile) else []), problems


def coverage_problems(root: Path, role: str, questions: Iterable[Question]) -> list[Problem]:
    """Required topic x level x category cells (from _meta/coverage.yaml) that are too thin."""
    rel = f"{root.name}/{role}/{COVERAGE}"
    loaded, problems = _load_model(root / role / COVERAGE, CoverageFile, rel)
    if not isinstance(loaded, CoverageFile):
        return problems
    pool = [q for q in questions if q.role == role]
    for cell in loaded.cells:
        for level in cell.levels:
            n = sum(
                1
                for q in pool
                if q.topic == cell.topic and q.category == cell.category and level in q.levels
            )
            if n < cell.minimum:
                problems.append(
                    Problem(
                        rel,
                        f"{cell.category.value} / {cell.topic} / {level.value} has {n} "
                        f"question(s); the coverage plan asks for at least {cell.minimum}",
                        field="cells",
                    )
                )
    return problems
