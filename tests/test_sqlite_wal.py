"""The switch to WAL is tried again while another connection holds it, and only then."""

from __future__ import annotations

import sqlite3

import pytest

from interviewer.sqlite_wal import use_wal


class _Flaky:
    """A connection whose first ``failures`` statements fail with ``message``."""

    def __init__(self, failures: int, message: str) -> None:
        self.calls, self.failures, self.message = 0, failures, message

    def execute(self, sql: str, /) -> object:
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError(self.message)
        return None


def test_a_switch_refused_by_a_lock_is_tried_again() -> None:
    """SQLite answers the connection that loses the race to switch a new file to WAL
    "database is locked" at once, without waiting: the vector cache then embedded every text
    beside another builder (5 of 40 pairs, and a red CI run), the session store failed."""
    busy = _Flaky(2, "database is locked")
    use_wal(busy)
    assert busy.calls == 3  # two refusals, then the switch


def test_any_other_error_is_raised_at_once() -> None:
    broken = _Flaky(1, "file is not a database")
    with pytest.raises(sqlite3.OperationalError):
        use_wal(broken)
    assert broken.calls == 1  # the vector cache steps aside, the store reports it
