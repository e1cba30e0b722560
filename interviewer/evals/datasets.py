"""Labelled datasets: a documented JSONL format, and CSV files read through a column mapping.

JSONL: one ``EvalItem`` per line. An optional first line ``{"dataset": {...}}`` declares the
dataset's name and human score scale (default 1..5; a scale given by the caller supplies it, and
one that differs from the header's is refused). A line may carry keys of its own (a source's
labels, feedback, ids): they are ignored and listed in one notice, except that a key that looks
like a misspelt field name is refused with the field it resembles. A mapping (field -> key) reads
fields from other keys. CSV: any file, read through a mapping from ``EvalItem`` field names to
column names (given on the command line or in a suite), plus a scale.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from interviewer.domain import Category, Level
from interviewer.errors import InterviewerError


class DatasetError(InterviewerError):
    """A dataset could not be read; the message names the file, line and field."""


class ScaleError(DatasetError):
    """A dataset's grades do not fit the scale it is read on, or two scales were given for it."""


class Scale(BaseModel):
    """The human score scale of a dataset."""

    model_config = ConfigDict(extra="forbid")

    min: float = 1.0
    max: float = 5.0

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        return self

    def to_unit(self, value: float) -> float:
        """Map a score on this scale to 0..1."""
        return (value - self.min) / (self.max - self.min)

    def from_unit(self, value: float) -> float:
        """Map 0..1 onto this scale."""
        return self.min + value * (self.max - self.min)


class DatasetInfo(BaseModel):
    """The optional header line of a JSONL dataset."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    scale: Scale = Field(default_factory=Scale)
    description: str = ""


class EvalItem(BaseModel):
    """One labelled answer."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique within the dataset.")
    question: str = Field(min_length=1, description="Question text, or a corpus question id.")
    category: Category = Category.TECHNICAL
    level: Level = Field(default=Level.MID, description="The level the answer is graded at.")
    key_points: list[str] = Field(
        default_factory=list, description="What a good answer covers (from the corpus for an id)."
    )
    reference_answer: str = Field(default="", description="A model answer.")
    answer: str = Field(description="The candidate's answer, as given.")
    human_score: float = Field(description="The human grade, on the dataset's declared scale.")
    criteria_scores: dict[str, float] = Field(
        default_factory=dict, description="Optional grades per rubric criterion id."
    )
    rater: str = Field(default="", description="Who graded it.")
    grader_count: int = Field(
        default=0, ge=0, description="How many people graded it (human_score is their mean)."
    )
    notes: str = Field(default="", description="The grader's rationale.")
    group: str = Field(default="", description="Cross-validation group (defaults to question).")

    @property
    def group_key(self) -> str:
        """Answers to the same question share a group and never straddle a CV split."""
        return self.group or self.question


class Dataset(BaseModel):
    """A loaded dataset."""

    info: DatasetInfo
    items: list[EvalItem]
    source: str
    notices: list[str] = Field(
        default_factory=list, description="What the loader left out, for the user to see once."
    )
    lines: list[int] = Field(
        default_factory=list, description="The line each item starts on in the source file."
    )

    def where(self, index: int) -> str:
        """``FILE:LINE`` of the item at ``index`` (``FILE: item ID`` without line numbers)."""
        if index < len(self.lines):
            return f"{self.source}:{self.lines[index]}"
        return f"{self.source}: item {self.items[index].id}"


class DatasetHeader(BaseModel):
    """The optional first line of a JSONL dataset: ``{"dataset": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetInfo


FIELDS = tuple(EvalItem.model_fields)
REQUIRED = frozenset(name for name, f in EvalItem.model_fields.items() if f.is_required())
# A key this close to an absent field's name is taken for a misspelling of it (refused, not
# ignored): catches human_scor, refrence_answer, note, keypoints; leaves label, points, score,
# question_id, answer_id, grader alone. For a missing required field any key this close to it
# is named in the error instead (score for human_score, student_answer for answer).
TYPO_CUTOFF = 0.85
HINT_CUTOFF = 0.6
MAX_PROBLEMS = 50
SCALE_EXAMPLES = 5
"""Grades off the scale share one cause: a few lines show it."""


def line_schema() -> dict[str, Any]:
    """The JSON schema of one JSONL line (a labelled answer, or the header line)."""
    schema = TypeAdapter(EvalItem | DatasetHeader).json_schema()
    schema["title"] = "Interviewer eval dataset line (JSONL)"
    schema["description"] = (
        'One labelled answer per line. An optional first line {"dataset": {...}} names the '
        "dataset and declares its human score scale (default 1..5, or the scale given with "
        "--scale; a --scale that differs from the declared one is refused)."
    )
    item = schema["$defs"]["EvalItem"]
    item["additionalProperties"] = True
    item["description"] = (
        "One labelled answer. Other keys (a source's own ids, labels, feedback) are allowed and "
        "ignored, and listed once when the file is read; a key that looks like a misspelt field "
        "name (human_scor, refrence_answer) is refused. `interviewer eval run --map "
        "field=key,...` reads fields from other keys."
    )
    return schema


def _scale_text(scale: Scale) -> str:
    return f"{scale.min:g}..{scale.max:g}"


def parse_scale(text: str) -> Scale:
    """``MIN,MAX`` (or ``MIN..MAX``) from the command line."""
    low, sep, high = text.partition(",")
    if not sep:
        low, sep, high = text.partition("..")
    try:
        return Scale(min=float(low), max=float(high))
    except ValueError as exc:  # not numbers, or max <= min (pydantic's error is a ValueError)
        raise DatasetError(
            f"--scale '{text}': use MIN,MAX with MIN below MAX, e.g. 0,5 or 0,1"
        ) from exc


def parse_mapping(text: str) -> dict[str, str]:
    """``field=name,field=name`` from the command line."""
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise DatasetError(f"--map '{text}': use field=name pairs separated by commas")
    mapping: dict[str, str] = {}
    for field, name in pairs:
        if field.strip() in mapping:
            raise DatasetError(f"--map '{text}': {field.strip()} is mapped twice")
        mapping[field.strip()] = name.strip()
    return mapping


def _check_mapping(mapping: Mapping[str, str]) -> None:
    """Every mapped field is a dataset field; a near miss names the field it resembles."""
    problems = []
    for field in mapping:
        if field not in EvalItem.model_fields:
            close = difflib.get_close_matches(field, FIELDS, n=1, cutoff=HINT_CUTOFF)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"map: {field} is not a dataset field{hint}")
    if problems:
        raise DatasetError("\n".join([*problems, f"fields are {', '.join(FIELDS)}"]))


def _report(
    problems: list[str],
    first: str = "",
    limit: int = MAX_PROBLEMS,
    error: type[DatasetError] = DatasetError,
) -> DatasetError:
    """The first ``limit`` problems and a count of the rest, under ``first`` if given."""
    more = len(problems) - limit
    tail = [f"... and {more} more problem(s)"] if more > 0 else []
    message = "\n".join(([first] if first else []) + problems[:limit] + tail)
    return error(message)


def object_line(path: Path, number: int, line: str) -> dict[str, Any] | str:
    """A JSON Lines line's object, or what is wrong with it (``FILE:LINE: ...``)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"{path}:{number}: not JSON ({exc.msg})"
    if not isinstance(data, dict):
        return f"{path}:{number}: not a JSON object"
    return data


def load_jsonl(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    scale: Scale | None = None,
    *,
    graded: bool = True,
    given_by: str = "--scale",
) -> Dataset:
    """Read a JSONL dataset; every bad line is reported with its number and field.

    ``mapping`` (field -> key) reads those fields from other keys. ``scale`` supplies the human
    scale; a header line that declares a different one is refused, naming both. Keys that are
    not read are ignored and listed once in ``Dataset.notices``. ``graded=False`` (answers
    imported for people to grade) lets a line have no ``human_score``. ``given_by`` names
    where ``scale`` came from, for the messages.
    """
    mapping = dict(mapping or {})
    _check_mapping(mapping)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    info, declared, problems = _header(path, lines)
    if scale is not None:
        if declared and info.scale != scale:
            raise ScaleError(
                f"{path}:1: the header line declares the scale {_scale_text(info.scale)} but "
                f"{given_by} says {_scale_text(scale)}; drop {given_by}, or correct the header "
                "line"
            )
        info.scale = scale
    origin = (
        f"the scale given by {given_by}"
        if scale is not None
        else "the scale its header line declares"
        if declared
        else "the default scale; give the data's own with --scale MIN,MAX or a header line"
    )
    items: list[EvalItem] = []
    numbers: list[int] = []
    ignored: Counter[str] = Counter()
    seen: set[str] = set()
    required = REQUIRED if graded else REQUIRED - {"human_score"}
    ungraded = 0
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number == 1 and declared is not None):
            continue
        data = object_line(path, number, line)
        if isinstance(data, str):
            problems.append(data)
            continue
        seen.update(data)
        fields, extra, typos = _fields_of(data, mapping, required)
        ignored.update(extra)
        if typos:
            problems += [f"{path}:{number}: {t}" for t in typos]
            continue
        if "human_score" not in fields and not graded:
            fields["human_score"] = info.scale.min  # a placeholder: never shown or compared
            ungraded += 1
        try:
            items.append(EvalItem.model_validate(fields))
            numbers.append(number)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(f"{path}:{number}: {_field(err['loc'], mapping)}: {err['msg']}")
    _check_mapped_keys(path, mapping, seen)
    if problems:
        raise _report(problems)
    _check(items, numbers, info.scale, str(path), origin)
    notices = [_ignored_notice(path, ignored)] if ignored else []
    if ungraded:
        notices.append(_ungraded_notice(path, ungraded))
    return Dataset(info=info, items=items, source=str(path), notices=notices, lines=numbers)


def _ungraded_notice(path: Path, count: int) -> str:
    return (
        f"{path}: {count} answer(s) without a human_score: fine for people to grade; "
        "`interviewer eval run` needs one on every line"
    )


def _header(path: Path, lines: list[str]) -> tuple[DatasetInfo, bool | None, list[str]]:
    """The dataset's info; whether a header line declares the scale (None: no header line)."""
    info = DatasetInfo(name=path.stem)
    first = lines[0] if lines else ""
    try:
        data = json.loads(first)
    except json.JSONDecodeError:
        return info, None, []  # reported with the items
    if not (isinstance(data, dict) and set(data) == {"dataset"}):
        return info, None, []
    try:
        header = DatasetHeader.model_validate(data).dataset
    except ValidationError as exc:
        problems = [f"{path}:1: {_field(e['loc'], {})}: {e['msg']}" for e in exc.errors()]
        return info, False, problems
    return header, "scale" in header.model_fields_set, []


def _fields_of(
    data: Mapping[str, object], mapping: Mapping[str, str], required: frozenset[str] = REQUIRED
) -> tuple[dict[str, object], list[str], list[str]]:
    """One line's item fields, the keys it leaves unread, and the keys that look misspelt.

    A field is read from the key ``mapping`` names for it, else from the key of its own name.
    A field named in ``mapping`` is never guessed at (``--map level=level`` lets a key of one's
    own called ``levels`` be ignored).
    """
    fields = {f: data[mapping.get(f, f)] for f in FIELDS if mapping.get(f, f) in data}
    read = {mapping.get(f, f) for f in fields}
    extra = [k for k in data if k not in read]
    typos = []
    for field in FIELDS:
        if field in fields or field in mapping or not extra:
            continue
        needed = field in required
        close = difflib.get_close_matches(
            field, extra, n=1, cutoff=HINT_CUTOFF if needed else TYPO_CUTOFF
        )
        if needed and not close:
            typos.append(
                f"field {field}: missing; the line's other keys are {', '.join(extra)}: "
                f"--map {field}=KEY reads it from one"
            )
            continue
        if not close:
            continue
        key = close[0]
        if needed:
            typos.append(
                f"field {field}: missing, and the line has '{key}': if that is it, rename the "
                f"key or pass --map {field}={key}"
            )
        else:
            typos.append(
                f"key '{key}': not a dataset field; did you mean {field}? Rename the key, or "
                f"pass --map {field}={key} (or --map {field}={field} to ignore '{key}' as a "
                "key of your own)"
            )
    return fields, extra, typos


def _field(loc: tuple[int | str, ...], mapping: Mapping[str, str]) -> str:
    name = ".".join(str(p) for p in loc) or "(line)"
    key = mapping.get(str(loc[0])) if loc else None
    return f"field {name} (key '{key}')" if key else f"field {name}"


def _check_mapped_keys(path: Path, mapping: Mapping[str, str], seen: set[str]) -> None:
    """A mapped key that no line has is one error, not one per line."""
    problems = []
    for field, key in mapping.items():
        if key not in seen and key != field:  # field=field only turns off the typo guess
            close = difflib.get_close_matches(key, sorted(seen), n=1, cutoff=HINT_CUTOFF)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"--map {field}={key}: no line of {path} has a key '{key}'{hint}")
    if problems:
        keys = sorted(seen)
        shown = ", ".join(keys[:30]) + (", ..." if len(keys) > 30 else "")
        raise DatasetError("\n".join([*problems, f"keys in the file: {shown}"]))


def _ignored_notice(path: Path, ignored: Counter[str]) -> str:
    """``ignored fields: label, feedback (1700 lines), source (3 lines)``: one line per file."""
    by_count: dict[int, list[str]] = {}
    for key, count in ignored.items():
        by_count.setdefault(count, []).append(key)
    groups = [
        f"{', '.join(keys)} ({count} line{'s' if count != 1 else ''})"
        for count, keys in sorted(by_count.items(), reverse=True)
    ]
    return (
        f"{path}: ignored fields: {'; '.join(groups)} (not dataset fields; --map FIELD=KEY "
        "reads one as a field)"
    )


def load_csv(
    path: Path,
    mapping: Mapping[str, str],
    scale: Scale,
    defaults: Mapping[str, str] | None = None,
    origin: str = "the given scale",
    *,
    graded: bool = True,
) -> Dataset:
    """Read any CSV through ``mapping`` (EvalItem field -> column name).

    ``origin`` says where ``scale`` came from, for the message about scores outside it.
    ``graded=False`` (answers imported for people to grade) needs no ``human_score`` column.
    """
    _check_mapping(mapping)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            missing = sorted(c for c in mapping.values() if c not in columns)
            if missing:
                raise DatasetError(
                    f"{path}: no column(s) {', '.join(missing)}; columns are "
                    f"{', '.join(sorted(columns))}"
                )
            rows = []
            start = reader.line_num + 1
            for row in reader:  # the line a record starts on (a quoted field may span lines)
                rows.append((start, row))
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    items = []
    numbers = []
    problems = []
    for index, (line, row) in enumerate(rows, 2):
        data: dict[str, object] = dict(defaults or {})
        data.update({fld: row[col] for fld, col in mapping.items()})
        data.setdefault("id", f"{path.stem}-{index}")
        if not graded and "human_score" not in mapping:
            data.setdefault("human_score", scale.min)  # a placeholder: never shown or compared
        try:
            items.append(EvalItem.model_validate(data))
            numbers.append(line)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(map(str, err["loc"]))
            column = mapping.get(str(err["loc"][0])) if err["loc"] else None
            where = f"field {field} (column {column})" if column else f"field {field}"
            problems.append(f"{path}:{line}: {where}: {err['msg']}")
    if problems:
        raise _report(problems)
    info = DatasetInfo(name=path.stem, scale=scale)
    _check(items, numbers, scale, str(path), origin)
    notices = [] if graded or "human_score" in mapping else [_ungraded_notice(path, len(items))]
    return Dataset(info=info, items=items, source=str(path), lines=numbers, notices=notices)


def _check(
    items: list[EvalItem], numbers: list[int], scale: Scale, source: str, origin: str
) -> None:
    """Items exist, grades are on the scale (each outside one named by line), ids are unique."""
    if not items:
        raise DatasetError(f"{source}: holds no items")
    outside = [
        f"{source}:{n}: field human_score: {i.human_score:g} is outside {_scale_text(scale)}"
        for i, n in zip(items, numbers, strict=True)
        if not scale.min <= i.human_score <= scale.max
    ]
    if outside:
        grades = [i.human_score for i in items]
        raise _report(
            outside,
            f"{source}: {len(outside)} of {len(items)} human scores are outside "
            f"{_scale_text(scale)} ({origin}); its grades run from {min(grades):g} to "
            f"{max(grades):g}",
            limit=SCALE_EXAMPLES,
            error=ScaleError,
        )
    lines: dict[str, list[int]] = {}
    for item, n in zip(items, numbers, strict=True):
        lines.setdefault(item.id, []).append(n)
    twice = [f"{i} (lines {', '.join(map(str, n))})" for i, n in lines.items() if len(n) > 1]
    if twice:
        raise DatasetError(f"{source}: duplicate item ids: {'; '.join(twice[:10])}")
