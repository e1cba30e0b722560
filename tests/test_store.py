"""The session store: numbered migrations, listing, prefixes and a damaged file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from interviewer.domain import Level, Session, Speaker, Turn, TurnKind
from interviewer.store import MIGRATIONS, SessionStore, StoreError


def _session(sid: str, profile: str | None = "kim") -> Session:
    return Session(
        id=sid,
        pack_id="p",
        pack_version="1.0.0",
        pack_hash="h",
        level=Level.MID,
        format="phone-screen",
        profile=profile,
        started_at=f"2026-01-0{sid[-1]}",
    )


def test_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    store = SessionStore.for_data_dir(tmp_path)
    versions = [v for v, _, _ in MIGRATIONS]
    assert versions == sorted(versions) == list(range(1, len(versions) + 1))
    assert store.migrate() == []
    again = SessionStore.for_data_dir(tmp_path)
    with again.engine.connect() as conn:
        applied = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))]
    assert applied == versions


def test_save_appends_turns_and_loads_by_prefix(tmp_path: Path) -> None:
    store = SessionStore.for_data_dir(tmp_path)
    session = _session("abcdef1")
    session.turns.append(
        Turn(
            speaker=Speaker.CANDIDATE,
            kind=TurnKind.ANSWER,
            text="hi",
            at="2026-01-01T00:00:00+00:00",
        )
    )
    store.save(session)
    session.turns.append(
        Turn(
            speaker=Speaker.INTERVIEWER,
            kind=TurnKind.QUESTION,
            text="q",
            at="2026-01-01T00:00:01+00:00",
        )
    )
    store.save(session)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM turns")).scalar_one() == 2
    assert store.load("abcdef1").turns[-1].text == "q"
    assert store.load("abcdef", prefix=True).turns[-1].text == "q"
    store.save(_session("abcdef2"))
    with pytest.raises(StoreError, match="matches 2 sessions"):
        store.load("abcdef", prefix=True)
    with pytest.raises(StoreError, match="No session"):
        store.load("abcdef")  # without prefix=True only the whole id opens a session
    with pytest.raises(StoreError, match="No session"):
        store.load("ffffffff", prefix=True)
    assert [r.id for r in store.list_sessions("kim")] == ["abcdef2", "abcdef1"]


@pytest.mark.parametrize("hostile", ["%%%%%%", "a%%%%%", "abcde_", "______1", "abc%ef1", "%"])
def test_an_id_is_never_read_as_a_pattern(tmp_path: Path, hostile: str) -> None:
    """SQL LIKE wildcards from a URL neither open another session nor count them."""
    store = SessionStore.for_data_dir(tmp_path)
    for sid in ("abcdef1", "abcdef2", "a0b1c2d"):
        store.save(_session(sid))
    with pytest.raises(StoreError) as exact:
        store.load(hostile)
    assert "matches" not in str(exact.value)
    with pytest.raises(StoreError, match="is not a session id"):
        store.load(hostile, prefix=True)


def test_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sessions.db").write_bytes(b"definitely not sqlite" * 200)
    with pytest.raises(StoreError, match="Move it aside"):
        SessionStore.for_data_dir(tmp_path)
