"""The session store: numbered migrations, listing, prefixes and a damaged file."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import LOCAL, damaged_sessions_db
from sqlalchemy import create_engine, text

from interviewer.domain import Level, Session, Speaker, Turn, TurnKind
from interviewer.store import MIGRATIONS, SessionConflictError, SessionStore, StoreError


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
    assert store.load("abcdef1", viewer=LOCAL).turns[-1].text == "q"
    assert store.load("abcdef", prefix=True, viewer=LOCAL).turns[-1].text == "q"
    store.save(_session("abcdef2"))
    with pytest.raises(StoreError, match="matches 2 sessions"):
        store.load("abcdef", prefix=True, viewer=LOCAL)
    with pytest.raises(StoreError, match="No session"):
        store.load("abcdef", viewer=LOCAL)  # without prefix=True only the whole id opens a session
    with pytest.raises(StoreError, match="No session"):
        store.load("ffffffff", prefix=True, viewer=LOCAL)
    assert [r.id for r in store.list_sessions("kim", viewer=LOCAL)] == ["abcdef2", "abcdef1"]


def test_a_profile_is_one_history_whatever_its_case_or_spaces(tmp_path: Path) -> None:
    store = SessionStore.for_data_dir(tmp_path)
    for sid, profile in (
        ("abcdef1", "Kim"),
        ("abcdef2", "kim "),
        ("abcdef3", "Kimberly"),
        ("abcdef4", None),
    ):
        store.save(_session(sid, profile))
    for asked in ("kim", "KIM", " Kim"):
        assert [r.id for r in store.list_sessions(asked, viewer=LOCAL)] == ["abcdef2", "abcdef1"]
    assert [r.id for r in store.list_sessions("  ", viewer=LOCAL)] == ["abcdef4"]


@pytest.mark.parametrize("hostile", ["%%%%%%", "a%%%%%", "abcde_", "______1", "abc%ef1", "%"])
def test_an_id_is_never_read_as_a_pattern(tmp_path: Path, hostile: str) -> None:
    """SQL LIKE wildcards from a URL neither open another session nor count them."""
    store = SessionStore.for_data_dir(tmp_path)
    for sid in ("abcdef1", "abcdef2", "a0b1c2d"):
        store.save(_session(sid))
    with pytest.raises(StoreError) as exact:
        store.load(hostile, viewer=LOCAL)
    assert "matches" not in str(exact.value)
    with pytest.raises(StoreError, match="is not a session id"):
        store.load(hostile, prefix=True, viewer=LOCAL)


def test_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sessions.db").write_bytes(b"definitely not sqlite" * 200)
    with pytest.raises(StoreError, match="Move it aside"):
        SessionStore.for_data_dir(tmp_path)


def _turn(text_: str, speaker: Speaker = Speaker.CANDIDATE) -> Turn:
    return Turn(speaker=speaker, kind=TurnKind.ANSWER, text=text_, at="2026-01-01T00:00:00+00:00")


def _stale_writer_is_refused(store: SessionStore) -> None:
    first = _session("cafe01")
    store.save(first)
    tab_a, tab_b = store.load("cafe01", viewer=LOCAL), store.load("cafe01", viewer=LOCAL)
    tab_a.turns.append(_turn("answer from tab A"))
    store.save(tab_a)
    tab_b.turns.append(_turn("answer from tab B"))
    with pytest.raises(SessionConflictError):
        store.save(tab_b)
    stored = store.load("cafe01", viewer=LOCAL)
    assert [t.text for t in stored.turns] == ["answer from tab A"]
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT text FROM turns WHERE session_id = 'cafe01'")).all()
    assert [r[0] for r in rows] == ["answer from tab A"]
    # The refused copy can be saved again once it is read afresh.
    fresh = store.load("cafe01", viewer=LOCAL)
    fresh.turns.append(_turn("answer from tab B"))
    store.save(fresh)
    assert [t.text for t in store.load("cafe01", viewer=LOCAL).turns][-1] == "answer from tab B"
    assert store.load("cafe01", viewer=LOCAL).revision == fresh.revision == 3


def _write(
    store: SessionStore, copy: Session, words: str, barrier: threading.Barrier, out: list[str]
) -> None:
    copy.turns.append(_turn(words))
    barrier.wait()  # every writer saves at the same moment
    try:
        store.save(copy)
        out.append("saved")
    except SessionConflictError:
        out.append("refused")


def _racing_writers_serialise(store: SessionStore, rounds: int = 10, writers: int = 4) -> None:
    """Writers that read the same revision at once: exactly one save wins each round."""
    store.save(_session("beef01"))
    for round_ in range(rounds):
        copies = [store.load("beef01", viewer=LOCAL) for _ in range(writers)]
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []
        threads = [
            threading.Thread(
                target=_write, args=(store, c, f"round {round_} writer {i}", barrier, outcomes)
            )
            for i, c in enumerate(copies)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["refused"] * (writers - 1) + ["saved"]
    stored = store.load("beef01", viewer=LOCAL)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, text FROM turns WHERE session_id = 'beef01' ORDER BY seq")
        ).all()
    assert [r[1] for r in rows] == [t.text for t in stored.turns]
    assert [r[0] for r in rows] == list(range(rounds))
    assert stored.revision == rounds + 1


def test_a_stale_writer_is_refused_on_sqlite(tmp_path: Path) -> None:
    _stale_writer_is_refused(SessionStore.for_data_dir(tmp_path))


def test_racing_writers_serialise_on_sqlite(tmp_path: Path) -> None:
    _racing_writers_serialise(SessionStore.for_data_dir(tmp_path))


def test_a_stale_writer_is_refused_on_postgresql(postgres_url: str) -> None:
    store = SessionStore(postgres_url)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions"))
    _stale_writer_is_refused(store)


def test_racing_writers_serialise_on_postgresql(postgres_url: str) -> None:
    store = SessionStore(postgres_url)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM turns"))
        conn.execute(text("DELETE FROM sessions"))
    _racing_writers_serialise(store)


def test_damage_found_at_any_query_is_one_clear_message(tmp_path: Path) -> None:
    """Damaged data pages are only found when read: every method says so, the same way."""
    path = damaged_sessions_db(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    store = SessionStore.for_data_dir(tmp_path)  # the first pages are fine: it opens
    calls: list[Callable[[], object]] = [
        lambda: store.list_sessions(viewer=LOCAL),
        lambda: store.load("abcdef1", viewer=LOCAL),
        lambda: store.load("abcdef", prefix=True, viewer=LOCAL),
        lambda: store.recent_question_ids("kim", viewer=LOCAL),
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
        ("postgresql+psycopg2://kim:s3cr3t-pw@db.example/i", "pip install psycopg2-binary"),
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


def test_connections_opening_a_new_database_at_once_all_get_it(tmp_path: Path) -> None:
    """The first connections to a new file race to switch it to WAL, and SQLite answered the
    loser "database is locked" without waiting: 34 of 200 pairs failed, so two app servers
    starting on a fresh data folder could show one of them an error."""
    import sqlite3

    from interviewer.store import _sqlite_pragmas

    failed: list[Exception] = []
    for trial in range(30):
        path = tmp_path / f"sessions-{trial}.db"
        ready = threading.Barrier(2)

        def open_it(path: Path = path, ready: threading.Barrier = ready) -> None:
            conn = sqlite3.connect(path, timeout=30)
            ready.wait()
            try:
                _sqlite_pragmas(conn, None)
                conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
                conn.commit()
            except sqlite3.Error as exc:
                failed.append(exc)
            finally:
                conn.close()

        pair = [threading.Thread(target=open_it) for _ in range(2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    assert failed == []
