"""Labelled datasets: a documented JSONL format, and CSV files read through a column mapping.

JSONL: one ``EvalItem`` per line. An optional first line ``{"dataset": {...}}`` declares the
dataset's name and human score scale (default 1..5). CSV: any file, read through a mapping from
``EvalItem`` field names to column names (given on the command line or in a suite), plus a scale.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from interviewer.domain import Category, Level
from interviewer.errors import InterviewerError


class DatasetError(InterviewerError):
    """A dataset could not be read; the message names the file, line and field."""


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


class DatasetHeader(BaseModel):
    """The optional first line of a JSONL dataset: ``{"dataset": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetInfo


def line_schema() -> dict[str, Any]:
    """The JSON schema of one JSONL line (a labelled answer, or the header line)."""
    schema = TypeAdapter(EvalItem | DatasetHeader).json_schema()
    schema["title"] = "Interviewer eval dataset line (JSONL)"
    schema["description"] = (
        'One labelled answer per line. An optional first line {"dataset": {...}} names the '
        "dataset and declares its human score scale (default 1..5)."
    )
    return schema


def load_jsonl(path: Path) -> Dataset:
    """Read a JSONL dataset; every bad line is reported with its number and field."""
    info = DatasetInfo(name=path.stem)
    items: list[EvalItem] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if number == 1 and isinstance(data, dict) and set(data) == {"dataset"}:
                info = DatasetHeader.model_validate(data).dataset
                continue
            items.append(EvalItem.model_validate(data))
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON ({exc.msg})")
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(line)"
                problems.append(f"{path}:{number}: field {field}: {err['msg']}")
    if problems:
        raise DatasetError("\n".join(problems[:50]))
    _check(items, info.scale, str(path))
    return Dataset(info=info, items=items, source=str(path))


def load_csv(
    path: Path, mapping: Mapping[str, str], scale: Scale, defaults: Mapping[str, str] | None = None
) -> Dataset:
    """Read any CSV through ``mapping`` (EvalItem field -> column name)."""
    unknown = sorted(set(mapping) - set(EvalItem.model_fields))
    if unknown:
        raise DatasetError(
            f"mapping: {', '.join(unknown)} are not dataset fields; fields are "
            f"{', '.join(EvalItem.model_fields)}"
        )
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            missing = sorted(c for c in mapping.values() if c not in columns)
            if missing:
                raise DatasetError(
                    f"{path}: no column(s) {', '.join(missing)}; columns are "
                    f"{', '.join(sorted(columns))}"
                )
            rows = list(reader)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    items = []
    problems = []
    for number, row in enumerate(rows, 2):
        data: dict[str, object] = dict(defaults or {})
        data.update({fld: row[col] for fld, col in mapping.items()})
        data.setdefault("id", f"{path.stem}-{number}")
        if "group" not in mapping and "question" in mapping:
            data.setdefault("group", "")
        try:
            items.append(EvalItem.model_validate(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            problems.append(
                f"{path}:{number}: field {'.'.join(map(str, err['loc']))}: {err['msg']}"
            )
    if problems:
        raise DatasetError("\n".join(problems[:50]))
    info = DatasetInfo(name=path.stem, scale=scale)
    _check(items, scale, str(path))
    return Dataset(info=info, items=items, source=str(path))


def _check(items: list[EvalItem], scale: Scale, source: str) -> None:
    if not items:
        raise DatasetError(f"{source}: holds no items")
    outside = [i.id for i in items if not scale.min <= i.human_score <= scale.max]
    if outside:
        raise DatasetError(
            f"{source}: human_score outside {scale.min:g}..{scale.max:g} for "
            f"{', '.join(outside[:10])}"
        )
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise DatasetError(f"{source}: duplicate item ids")


def parse_mapping(text: str) -> dict[str, str]:
    """``field=column,field=column`` from the command line."""
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise DatasetError(f"--map '{text}': use field=column pairs separated by commas")
    return {k.strip(): v.strip() for k, v in pairs}
