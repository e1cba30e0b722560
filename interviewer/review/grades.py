"""Grades and imported review items in the session database (migrations 4 and 6 of the store)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from interviewer.accounts.access import Viewer
from interviewer.domain import utc_now
from interviewer.errors import InterviewerError
from interviewer.evals.datasets import Dataset, EvalItem, Scale
from interviewer.packs import Rubric
from interviewer.store import SessionStore

MAX_GRADER_CHARS = 60
MAX_NOTE_CHARS = 2000


class ReviewError(InterviewerError):
    """A review action that cannot be done; the message says why and what to do."""


class GradeConflictError(ReviewError):
    """This grader already graded this item (another tab, say); the first grade stands."""


Score = Annotated[int, Field(ge=1, le=5)]
PointMark = Literal[0, 1, 2]
"""A grader's reading of one key point: 2 covered, 1 partly, 0 missed (or said wrongly)."""


class Grade(BaseModel):
    """One grader's judgement of one answer."""

    model_config = ConfigDict(extra="forbid")

    item_key: str = Field(min_length=1)
    grader: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GRADER_CHARS)
    ]
    criteria: dict[str, Score] = Field(min_length=1)
    overall: float = Field(ge=1, le=5)
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE_CHARS)] = ""
    points: dict[str, PointMark] = Field(
        default_factory=dict,
        description="Key point id -> 2 covered, 1 partly, 0 missed (optional, any subset).",
    )
    rubric_hash: str
    at: str = Field(default_factory=utc_now)


def grader_name(raw: str) -> str:
    """A grader's name as typed, checked: not empty, at most 60 characters."""
    name = " ".join(raw.split())
    if not name:
        raise ReviewError("Type your name first: every grade records who gave it.")
    if len(name) > MAX_GRADER_CHARS:
        raise ReviewError(
            f"That name is {len(name)} characters long; use at most {MAX_GRADER_CHARS}."
        )
    return name


def rubric_hash(rubric: Rubric) -> str:
    """What identifies a rubric's wording: grades under different rubrics are not comparable."""
    body = json.dumps(
        [[c.id, c.weight, c.description, sorted(c.anchors.items())] for c in rubric.criteria]
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class GradeStore:
    """Grades and imported dataset items, in the session store's database."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.engine = store.engine

    def save(self, grade: Grade) -> None:
        """Store a grade; a second grade by the same grader for the same item is refused."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    text("""
                    INSERT INTO grades (id, item_key, grader, criteria, overall, note,
                        rubric_hash, at, points)
                    VALUES (:id, :item_key, :grader, :criteria, :overall, :note, :rubric_hash,
                        :at, :points)"""),
                    {
                        "id": uuid.uuid4().hex,
                        **grade.model_dump(exclude={"criteria", "points"}),
                        "criteria": json.dumps(grade.criteria, sort_keys=True),
                        "points": (
                            json.dumps(grade.points, sort_keys=True) if grade.points else None
                        ),
                    },
                )
        except IntegrityError:
            first = self.grades([grade.item_key], grader=grade.grader)
            when = first[0].at if first else "earlier"
            raise GradeConflictError(
                f"{grade.grader} already graded this answer ({when}); that grade is kept and "
                "this one was not saved. Move on to the next item."
            ) from None

    def grades(self, keys: Collection[str] | None = None, grader: str | None = None) -> list[Grade]:
        """Grades, oldest first, optionally of some items or by one grader."""
        query = (
            "SELECT item_key, grader, criteria, overall, note, rubric_hash, at, points FROM grades"
        )
        clauses, params = [], {}
        if grader is not None:
            clauses.append("grader = :grader")
            params["grader"] = grader
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY at, id"
        with self.engine.connect() as conn:
            rows = conn.execute(text(query), params).all()
        wanted = set(keys) if keys is not None else None
        return [
            Grade(
                item_key=r[0],
                grader=r[1],
                criteria=json.loads(r[2]),
                overall=r[3],
                note=r[4],
                rubric_hash=r[5],
                at=r[6],
                points=json.loads(r[7]) if r[7] else {},
            )
            for r in rows
            if wanted is None or r[0] in wanted
        ]

    def import_dataset(self, dataset: Dataset, team: str | None = None) -> tuple[int, int]:
        """Add a dataset's items for grading (for every reviewer, or one team's); returns
        (added, already there)."""
        name = dataset.info.name or "dataset"
        added = 0
        with self.engine.begin() as conn:
            for item in dataset.items:
                added += conn.execute(
                    text("""
                    INSERT INTO review_items (key, dataset, item, scale_min, scale_max, added_at,
                        team)
                    VALUES (:key, :dataset, :item, :lo, :hi, :at, :team)
                    ON CONFLICT(key) DO NOTHING"""),
                    {
                        "key": dataset_key(name, item.id),
                        "dataset": name,
                        "item": item.model_dump_json(),
                        "lo": dataset.info.scale.min,
                        "hi": dataset.info.scale.max,
                        "at": utc_now(),
                        "team": team,
                    },
                ).rowcount
        return added, len(dataset.items) - added

    def datasets(self, viewer: Viewer) -> list[str]:
        """Names of the imported datasets ``viewer`` may grade."""
        allowed, params = viewer.dataset_clause()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT DISTINCT dataset FROM review_items WHERE {allowed} ORDER BY 1"),
                params,
            )
            return [r[0] for r in rows]

    def dataset_items(self, name: str, viewer: Viewer) -> list[tuple[str, EvalItem, Scale]]:
        """An imported dataset's items ``viewer`` may grade: key, item and its scale, in the
        order added."""
        allowed, params = viewer.dataset_clause()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT key, item, scale_min, scale_max FROM review_items "
                    f"WHERE dataset = :d AND {allowed} ORDER BY added_at, key"
                ),
                {**params, "d": name},
            ).all()
        return [(r[0], EvalItem.model_validate_json(r[1]), Scale(min=r[2], max=r[3])) for r in rows]


def dataset_key(dataset: str, item_id: str) -> str:
    """The review key of an imported dataset item."""
    return f"dataset:{dataset}:{item_id}"


def interview_key(session_id: str, question_id: str) -> str:
    """The review key of one answered question of a finished interview."""
    return f"interview:{session_id}:{question_id}"
