"""A candidate's progress over past sessions: one point per session, criterion and category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interviewer.domain import Phase, Question
from interviewer.report import build_report
from interviewer.store import SessionRow, SessionStore


@dataclass(frozen=True)
class ProgressPoint:
    """A criterion's average score in one finished session."""

    session_id: str
    started_at: str
    format: str
    level: str
    category: str
    criterion: str
    score: float
    overall: float


def progress(
    store: SessionStore, questions: Mapping[str, Question], profile: str, limit: int = 50
) -> tuple[list[SessionRow], list[ProgressPoint]]:
    """The profile's sessions (newest first) and the score points of the finished ones."""
    rows = store.list_sessions(profile, limit)
    points: list[ProgressPoint] = []
    for row in reversed(rows):
        if row.phase != Phase.DONE.value:
            continue
        report = build_report(store.load(row.id), questions)
        if report.overall is None:
            continue
        points += [
            ProgressPoint(
                row.id,
                row.started_at,
                row.format,
                row.level,
                c.category,
                c.name,
                c.score,
                report.overall,
            )
            for c in report.criteria
        ]
    return rows, points
