"""``results.jsonl``: one scored (or failed) item per line, with a fingerprint of what made it.

The fingerprint is a digest of the item's content, the dataset's scale and the scorer's
identity (offline or an LLM judge, its model and endpoint, the pack and its calibration), so a
re-run reuses a stored row only when the same scorer would score the same item the same way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interviewer.evals.datasets import EvalItem, Scale, object_line
from interviewer.evals.judging import AsyncJudge, request_key
from interviewer.packs import Pack
from interviewer.scoring.base import Scorer, ScoringRequest
from interviewer.scoring.offline import EmbeddingScorer


class ResultRow(BaseModel):
    """One line of ``results.jsonl``: an item's score, or the error that kept it from one."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    human: float
    category: str = ""
    level: str = ""
    fingerprint: str = Field(default="", description="What produced the row (see module).")
    error: str | None = Field(default=None, description="Why the item has no score.")
    predicted: float | None = Field(default=None, description="On the dataset's scale.")
    predicted_1_5: float | None = None
    scorer: str = ""

    @model_validator(mode="after")
    def _scored_or_failed(self) -> ResultRow:
        if self.error is None and self.predicted is None:
            raise ValueError("a row without an error needs predicted")
        return self


def read_results(path: Path) -> tuple[list[tuple[int, ResultRow, dict[str, Any]]], list[str]]:
    """Every readable row with its line number and raw data, and a problem per unreadable line
    (``FILE:LINE: ...``): what an interrupted write or a hand edit leaves."""
    rows: list[tuple[int, ResultRow, dict[str, Any]]] = []
    problems: list[str] = []
    text = path.read_bytes().decode("utf-8", errors="replace")  # bad bytes: a bad line
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        data = object_line(path, number, line)
        if isinstance(data, str):
            problems.append(data)
            continue
        try:
            rows.append((number, ResultRow.model_validate(data), data))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(map(str, err["loc"])) or "(line)"
            problems.append(f"{path}:{number}: field {field}: {err['msg']}")
    return rows, problems


def scorer_identity(scorer: Scorer, pack: Pack) -> str:
    """What makes two scorers' results interchangeable: an LLM judge's model, endpoint and pack
    content; the offline scorer's parameters (its calibration), embeddings and pack content."""
    if isinstance(scorer, AsyncJudge):
        return scorer.cache_key
    parts = [scorer.name, f"{pack.id}@{pack.content_hash}"]
    if isinstance(scorer, EmbeddingScorer):
        embeddings = scorer.embeddings
        model = getattr(embeddings, "model", "") or getattr(embeddings, "model_name", "")
        parts += [
            hashlib.sha256(scorer.params.model_dump_json().encode()).hexdigest()[:16],
            f"{type(embeddings).__name__}:{model}",
        ]
    return "|".join(parts)


def fingerprint(identity: str, item: EvalItem, request: ScoringRequest, scale: Scale) -> str:
    """A digest of the scorer's identity, the item's content (as the dataset gives it and as
    the scorer reads it, a corpus question included) and the dataset's scale."""
    payload = json.dumps(
        [identity, item.model_dump(mode="json"), request_key(request), scale.model_dump()],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]
