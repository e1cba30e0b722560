"""Eval suites: a YAML file naming a dataset, a scorer, a pack and thresholds that gate CI."""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer.evals.datasets import DatasetError, Scale

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_RULE = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9.]+)\s*$")


class CsvSource(BaseModel):
    """A CSV dataset read through a column mapping."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    name: str | None = Field(default=None, description="Dataset name (default: file stem).")
    map: dict[str, str]
    scale: Scale = Field(default_factory=Scale)
    defaults: dict[str, str] = Field(default_factory=dict)


class Suite(BaseModel):
    """``evals/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    dataset: Path | CsvSource
    scorer: Literal["offline", "llm"] = "offline"
    model: str | None = Field(default=None, description="Chat model for the llm scorer.")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    pack: str = "backend-developer"
    robustness_sample: int = Field(default=60, ge=0)
    thresholds: dict[str, str] = Field(default_factory=dict)


def load_suite(path: Path) -> Suite:
    """Read a suite; paths inside it are relative to the suite file."""
    try:
        suite = Suite.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot be read: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DatasetError(f"{path}: field {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    base = path.parent
    if isinstance(suite.dataset, CsvSource):
        suite.dataset.path = (base / suite.dataset.path).resolve()
    else:
        suite.dataset = (base / suite.dataset).resolve()
    for name, rule in suite.thresholds.items():
        if not _RULE.match(rule):
            raise DatasetError(f"{path}: threshold {name}: '{rule}' is not like '>= 0.7'")
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
