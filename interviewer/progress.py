"""A candidate's progress over past sessions: one point per session, criterion and category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from interviewer.accounts.access import Viewer
from interviewer.domain import Phase, Question, Session
from interviewer.report import build_report
from interviewer.store import SessionRow, SessionStore


@dataclass(frozen=True)
class ProgressPoint:
    """A criterion's average score in one finished session."""

    session_id: str
    started_at: str
    pack: str
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
                row.pack_id,
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


def trend_groups(points: Sequence[ProgressPoint]) -> list[tuple[str, str]]:
    """The (pack, level) pairs of the points, the most recently interviewed first.

    A trend compares interviews in one pack at one level, as the report's progress does: a
    junior frontend score after a mid backend one is not a step up or down.
    """
    groups: dict[tuple[str, str], None] = {}
    for point in reversed(points):  # points come oldest first
        groups.setdefault((point.pack, point.level), None)
    return list(groups)


def in_group(points: Sequence[ProgressPoint], group: tuple[str, str]) -> list[ProgressPoint]:
    """The points of one (pack, level) pair, in their order."""
    return [p for p in points if (p.pack, p.level) == group]


@dataclass(frozen=True)
class CriterionChange:
    """A criterion's average in this session against the last session that scored it."""

    name: str
    now: float
    before: float

    @property
    def delta(self) -> float:
        """How far it moved, on 1..5."""
        return self.now - self.before


@dataclass(frozen=True)
class SessionProgress:
    """One finished session set against the same candidate's earlier finished sessions."""

    count: int
    """Finished sessions up to and including this one."""
    overall: float
    previous: float | None
    """The overall score of the last finished session before this one."""
    first: float | None
    """The overall score of the first finished session, when this is the third or later."""
    changes: list[CriterionChange]
    """Criteria scored now and before, the largest move first."""
    points: list[ProgressPoint]
    """Every score point up to this session, for a chart."""
    level: str
    """The level compared at: only interviews in the same pack at the same level count."""


def session_progress(
    store: SessionStore,
    questions: Mapping[str, Question],
    session: Session,
    *,
    viewer: Viewer,
) -> SessionProgress | None:
    """How a finished session compares with the same person's earlier ones in the same pack at
    the same level (a senior score is not progress from a junior one): the same owner when
    accounts are on, else the same profile name (or none, like this one). None when the
    session has no scored answer."""
    if session.owner_id is not None:
        _, points = progress(store, questions, None, viewer=viewer, owner_id=session.owner_id)
    else:
        _, points = progress(store, questions, session.profile or "", viewer=viewer)
    level = session.level.value
    points = [p for p in points if p.pack == session.pack_id and p.level == level]
    order = list(dict.fromkeys(p.session_id for p in points))  # oldest first
    if session.id not in order:
        return None
    order = order[: order.index(session.id) + 1]  # what came later is not "progress" yet
    kept = [p for p in points if p.session_id in order]
    overall = {p.session_id: p.overall for p in kept}
    by_criterion: dict[str, dict[str, list[float]]] = {}
    for p in kept:
        by_criterion.setdefault(p.session_id, {}).setdefault(p.criterion, []).append(p.score)
    means = {
        sid: {name: sum(v) / len(v) for name, v in scores.items()}
        for sid, scores in by_criterion.items()
    }
    changes = []
    for name, now in means[session.id].items():
        before = next((means[s][name] for s in reversed(order[:-1]) if name in means[s]), None)
        if before is not None:
            changes.append(CriterionChange(name, now, before))
    changes.sort(key=lambda c: -abs(c.delta))
    return SessionProgress(
        count=len(order),
        overall=overall[session.id],
        previous=overall[order[-2]] if len(order) > 1 else None,
        first=overall[order[0]] if len(order) > 2 else None,
        changes=changes,
        points=kept,
        level=level,
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def progress_text(p: SessionProgress, moved_at: float = 0.25) -> str:
    """One or two plain sentences on how this session compares with the earlier ones."""
    kind = f"{p.level}-level interview in this pack"
    if p.previous is None:
        return (
            f"This is your first finished {kind}: from the next one on, the report shows "
            "how you have moved."
        )
    text = (
        f"This is your {_ordinal(p.count)} finished {kind}. Overall {p.overall:.1f}, "
        f"last time {p.previous:.1f} ({p.overall - p.previous:+.1f})"
        + (f", the first time {p.first:.1f}." if p.first is not None else ".")
    )
    up = [c for c in p.changes if c.delta >= moved_at][:3]
    down = [c for c in p.changes if c.delta <= -moved_at][:3]
    if up:
        text += " Up since last time: " + ", ".join(_move(c) for c in up) + "."
    if down:
        text += " Down: " + ", ".join(_move(c) for c in down) + "."
    if p.changes and not up and not down:
        text += " Every criterion is within a quarter point of last time."
    return text


def _move(c: CriterionChange) -> str:
    return f"{c.name} {c.before:.1f} to {c.now:.1f}"
