"""Eval suites: a YAML file naming a dataset, a scorer, a pack and thresholds that gate CI."""

from __future__ import annotations

import difflib
import operator
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from interviewer.domain import Category
from interviewer.evals.baselines import BASELINES
from interviewer.evals.datasets import DatasetError, Scale
from interviewer.evals.metrics import FIGURES as METRIC_FIGURES
from interviewer.evals.question_level import NUMBERS
from interviewer.evals.robustness import LOW_FIGURE, LOW_IS_RIGHT, PROBE_FIGURES, PROBES
from interviewer.files import safe_yaml

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_RULE = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9.]+)\s*$")


class DataSource(BaseModel):
    """The dataset a suite reads: a JSONL or CSV file, with how to read it. A bare path in the
    suite (``dataset: data.jsonl``) is this with nothing else set."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    name: str | None = Field(default=None, description="Dataset name (default: file stem).")
    map: dict[str, str] = Field(
        default_factory=dict,
        description="field: column (CSV, required) or field: key (JSONL), as --map does.",
    )
    scale: Scale | None = Field(
        default=None,
        description="The human grades' scale (CSV default 1..5; a JSONL file's header line "
        "may declare it instead, and a different one is refused).",
    )
    defaults: dict[str, str] = Field(
        default_factory=dict, description="CSV only: a value for a field no column holds."
    )

    @property
    def is_csv(self) -> bool:
        """A CSV file (read through ``map``), else JSON Lines."""
        return self.path.suffix.lower() == ".csv"

    @model_validator(mode="after")
    def _readable(self) -> DataSource:
        if self.is_csv and not self.map:
            raise ValueError("a CSV dataset needs map: {field: column, ...}")
        if not self.is_csv and self.defaults:
            raise ValueError("defaults apply to a CSV dataset; a JSONL line sets its own fields")
        return self


class Suite(BaseModel):
    """``evals/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    dataset: DataSource
    scorer: Literal["offline", "llm"] = "offline"
    model: str | None = Field(default=None, description="Chat model for the llm scorer.")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    pack: str = "backend-developer"
    robustness_sample: int = Field(default=60, ge=0)
    thresholds: dict[str, str] = Field(default_factory=dict)

    @field_validator("dataset", mode="before")
    @classmethod
    def _bare_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str | Path) else value


RUN_FIGURES = ("errors",)
"""Numbers ``run_dataset`` adds beside the agreement figures."""


def threshold_names() -> list[str]:
    """Every number a threshold can name: dotted paths into metrics.json, from the code that
    computes them (agreement, per question, per category, robustness probes, baselines)."""
    per_question = [f"per_question.{f}" for f in NUMBERS]
    names = [*METRIC_FIGURES, *RUN_FIGURES, *per_question]
    names += [f"per_category.{c.value}.{f}" for c in Category for f in METRIC_FIGURES]
    for probe in PROBES:
        low = (LOW_FIGURE,) if probe in LOW_IS_RIGHT else ()
        names += [f"robustness.{probe}.{f}" for f in (*PROBE_FIGURES, *low)]
    for baseline in BASELINES:
        names += [f"baselines.{baseline}.{f}" for f in (*METRIC_FIGURES, *per_question)]
    return names


def _known_names() -> str:
    """The names, grouped, for an error message."""
    return (
        f"{', '.join((*METRIC_FIGURES, *RUN_FIGURES))}; per_question.{{{', '.join(NUMBERS)}}}; "
        f"per_category.CATEGORY.METRIC ({', '.join(c.value for c in Category)}); "
        f"robustness.PROBE.{{{', '.join(PROBE_FIGURES)}, {LOW_FIGURE}}} ({', '.join(PROBES)}); "
        f"baselines.BASELINE.METRIC ({', '.join(BASELINES)})"
    )


def _check_names(path: Path, thresholds: dict[str, str]) -> None:
    """Every threshold names a number a run computes; a near miss names the one it resembles."""
    known = threshold_names()
    problems = []
    for name in thresholds:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{path}: field thresholds: unknown name '{name}'{hint}")
    if problems:
        raise DatasetError("\n".join([*problems, f"threshold names are {_known_names()}"]))


def load_suite(path: Path) -> Suite:
    """Read a suite; paths inside it are relative to the suite file."""
    try:
        suite = Suite.model_validate(safe_yaml(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DatasetError(f"{path}: field {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    suite.dataset.path = (path.parent / suite.dataset.path).resolve()
    for name, rule in suite.thresholds.items():
        if not _RULE.match(rule):
            raise DatasetError(f"{path}: threshold {name}: '{rule}' is not like '>= 0.7'")
    _check_names(path, suite.thresholds)
    return suite


def _lookup(metrics: dict[str, Any], dotted: str) -> float:
    value: Any = metrics
    for part in dotted.split("."):
        value = value[part]
    return float(value)


def check_thresholds(metrics: dict[str, Any], thresholds: dict[str, str]) -> list[dict[str, Any]]:
    """Every threshold with its measured value and whether it holds."""
    checked = []
    for name, rule in thresholds.items():
        match = _RULE.match(rule)
        assert match is not None
        op, limit = match.group(1), float(match.group(2))
        try:
            value = _lookup(metrics, name)
        except (KeyError, TypeError):
            checked.append(
                {"name": name, "op": op, "limit": limit, "value": float("nan"), "ok": False}
            )
            continue
        checked.append(
            {
                "name": name,
                "op": op,
                "limit": limit,
                "value": value,
                "ok": bool(_OPS[op](value, limit)),
            }
        )
    return checked
