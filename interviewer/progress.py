"""A candidate's progress over past sessions: one point per session, criterion and category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interviewer.accounts.access import Viewer
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
    store: SessionStore,
    questions: Mapping[str, Question],
    profile: str | None,
    limit: int = 50,
    *,
    viewer: Viewer,
    owner_id: str | None = None,
) -> tuple[list[SessionRow], list[ProgressPoint]]:
    """The sessions of a profile (single-user mode) or of an owner (accounts), newest first,
    as far as ``viewer`` may read them, and the score points of the finished ones."""
    rows = store.list_sessions(profile, limit, viewer=viewer, owner_id=owner_id)
    points: list[ProgressPoint] = []
    for row in reversed(rows):
        if row.phase != Phase.DONE.value:
            continue
        report = build_report(store.load(row.id, viewer=viewer), questions)
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
