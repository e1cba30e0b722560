"""Who is looking: a viewer, and the part of the session table they may see.

Every query that reads sessions takes a viewer and adds its clause, so isolation holds in the
store itself: a page or command that forgets to check still gets only the viewer's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a signed-in person may do."""

    CANDIDATE = "candidate"  # takes interviews; sees their own
    REVIEWER = "reviewer"  # also grades the interviews of their team's links, makes links
    ADMIN = "admin"  # everything: every interview, users and roles, the model page


@dataclass(frozen=True)
class Viewer:
    """The person a page or command acts for. ``user_id`` None is the machine's owner in
    single-user mode (no accounts configured): everything, as before accounts existed."""

    user_id: str | None
    role: Role
    team: str = ""
    email: str = ""
    name: str = ""

    @classmethod
    def local(cls) -> Viewer:
        """Single-user mode, and the command line on the server (which reads the database
        directly, so it could read everything anyway)."""
        return cls(None, Role.ADMIN)

    @property
    def is_local(self) -> bool:
        """No accounts: the single-user app or the server's own command line."""
        return self.user_id is None

    @property
    def label(self) -> str:
        """How the person is named on pages and grades."""
        return self.name or self.email or "you"

    def can(self, role: Role) -> bool:
        """At least ``role``'s rights (admin > reviewer > candidate)."""
        order = [Role.CANDIDATE, Role.REVIEWER, Role.ADMIN]
        return order.index(self.role) >= order.index(role)

    def session_clause(self) -> tuple[str, dict[str, object]]:
        """SQL condition on the ``sessions`` table (and its parameters) for the rows this
        viewer may read: their own; a reviewer also their team's link interviews; an admin
        (and single-user mode) all."""
        if self.role is Role.ADMIN:
            return "1 = 1", {}
        if self.role is Role.REVIEWER:
            return (
                "(owner_id = :viewer_id OR (link_id IS NOT NULL AND team = :viewer_team))",
                {"viewer_id": self.user_id, "viewer_team": self.team},
            )
        return "owner_id = :viewer_id", {"viewer_id": self.user_id}

    def dataset_clause(self) -> tuple[str, dict[str, object]]:
        """SQL condition on ``review_items``: datasets imported for everyone (no team) or for
        the viewer's team; an admin sees all."""
        if self.role is Role.ADMIN:
            return "1 = 1", {}
        return "(team IS NULL OR team = :viewer_team)", {"viewer_team": self.team}


LOCAL = Viewer.local()
"""The single-user viewer, shared (a frozen value): the command line, scripts and benchmarks."""
