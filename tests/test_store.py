"""The session store: numbered migrations, listing, prefixes and a damaged file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import damaged_sessions_db
from sqlalchemy import create_engine, text

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


def test_damage_found_at_any_query_is_one_clear_message(tmp_path: Path) -> None:
    """Damaged data pages are only found when read: every method says so, the same way."""
    path = damaged_sessions_db(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    store = SessionStore.for_data_dir(tmp_path)  # the first pages are fine: it opens
    calls: list[Callable[[], object]] = [
        store.list_sessions,
        lambda: store.load("abcdef1"),
        lambda: store.load("abcdef", prefix=True),
        lambda: store.recent_question_ids("kim"),
        lambda: store.save(_session("abcdef9")),
    ]
    for call in calls:
        with pytest.raises(StoreError) as caught:
            call()
        message = str(caught.value)
        assert f"The session database {path} is damaged" in message
        assert "malformed" in message and "left untouched" in message
        assert "Move it aside" in message and "backup" in message and ".recover" in message
    store.engine.dispose()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://kim:s3cr3t-pw@db.example/interviews", "module 'MySQLdb'"),
        ("mysql://kim:s3cr3t-pw@db.example/interviews", "pip install mysqlclient"),
        ("postgresql://kim:s3cr3t-pw@db.example/i", "driver for 'postgresql'"),
        ("postgresql+asyncpg://kim:s3cr3t-pw@db.example/i", "asyncio driver 'asyncpg'"),
        ("foo://kim:s3cr3t-pw@db.example/i", "names 'foo', which SQLAlchemy does not know"),
        ("kim:s3cr3t-pw@db.example/interviews", "is not a valid SQLAlchemy URL"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_message(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as caught:
        SessionStore(url)
    message = str(caught.value)
    assert expected in message
    assert "INTERVIEWER_DATABASE_URL" in message
    assert "s3cr3t-pw" not in message
    assert "***" in message


def test_a_server_error_never_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database server that cannot be used is named by its URL, with the password hidden."""
    import interviewer.store

    unreachable = tmp_path / "no-such-folder" / "x.db"  # stands in for a server that refuses
    monkeypatch.setattr(
        interviewer.store,
        "create_engine",
        lambda url, **kw: create_engine(f"sqlite:///{unreachable}"),
    )
    url = "postgresql+psycopg2://kim:s3cr3t-pw@db.example:5432/interviews?password=s3cr3t-pw"
    with pytest.raises(StoreError) as caught:
        SessionStore(url)
    message = str(caught.value)
    assert "postgresql+psycopg2://kim:***@db.example:5432/interviews?password=***" in message
    assert "unable to open database file" in message
    assert "s3cr3t-pw" not in message


def test_an_empty_database_file_is_replaced_with_a_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "sessions.db").write_bytes(b"")
    store = SessionStore.for_data_dir(tmp_path)
    notice = f"The session database {tmp_path / 'sessions.db'} was empty (0 bytes)"
    assert any(notice in n for n in store.notices)
    assert any(notice in r.getMessage() for r in caplog.records)
    assert len(store.take_notices()) == 1 and store.take_notices() == []  # said once
    store.save(_session("abcdef1"))
    assert SessionStore.for_data_dir(tmp_path).notices == []  # a used database: nothing to say
