"""Session persistence: SQLite by default (any SQLAlchemy URL), with numbered migrations.

Each save writes the session's state and its new turns in one transaction, so what the
candidate sees has always been committed first; a killed process resumes from the last save.
Every session row carries a revision: a save names the revision its copy was read at, and one
made from an older copy (a second tab, a second server) is refused with ``SessionConflictError``
instead of overwriting newer answers. The check is a plain ``UPDATE … WHERE revision = :seen``,
which SQLite and PostgreSQL both apply atomically under the row's write lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError

from interviewer.domain import Phase, Session
from interviewer.errors import InterviewerError

SESSION_PREFIX = re.compile(r"[0-9a-f]{6,32}")


class StoreError(InterviewerError):
    """The session database could not be used."""


class SessionConflictError(StoreError):
    """The session changed in the store after this copy was read: the save was refused."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            "This interview was changed in another tab or window after this page loaded, "
            "so this message was not saved."
        )
        self.session_id = session_id


def _m001_initial(conn: Connection) -> None:
    conn.execute(
        text("""
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            profile TEXT,
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            pack_hash TEXT NOT NULL,
            level TEXT NOT NULL,
            format TEXT NOT NULL,
            mode TEXT NOT NULL,
            phase TEXT NOT NULL,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            ended_at TEXT,
            state TEXT NOT NULL
        )""")
    )
    conn.execute(
        text("""
        CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            speaker TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            question_id TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        )""")
    )
    conn.execute(text("CREATE INDEX sessions_profile ON sessions(profile, started_at)"))


def _m002_overall(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE sessions ADD COLUMN overall REAL"))


def _m003_revision(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE sessions ADD COLUMN revision INTEGER NOT NULL DEFAULT 1"))


#: Applied in order, once each; never edit a shipped migration, add a new one.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial", _m001_initial),
    (2, "overall score column", _m002_overall),
    (3, "session revision for refusing stale writes", _m003_revision),
]


@dataclass(frozen=True)
class SessionRow:
    """A session as listed: enough to choose one."""

    id: str
    profile: str | None
    pack_id: str
    level: str
    format: str
    phase: str
    started_at: str
    ended_at: str | None
    overall: float | None


class SessionStore:
    """Sessions and their turns in a SQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.migrate()
        except (OperationalError, DatabaseError) as exc:
            raise StoreError(
                f"The session database {url} cannot be used ({exc.orig}). Move it aside to start "
                "a new one; your interviews in it are not lost."
            ) from exc

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> SessionStore:
        """The default SQLite file in the data directory."""
        return cls(f"sqlite:///{data_dir / 'sessions.db'}")

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        applied: list[int] = []
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
                )
            )
            done = {row[0] for row in conn.execute(text("SELECT version FROM schema_migrations"))}
        for version, name, migration in MIGRATIONS:
            if version in done:
                continue
            with self.engine.begin() as conn:
                migration(conn)
                conn.execute(
                    text("INSERT INTO schema_migrations VALUES (:v, :n, :t)"),
                    {"v": version, "n": name, "t": _now()},
                )
            applied.append(version)
        return applied

    def save(self, session: Session) -> None:
        """Write the session state and any turns not stored yet, in one transaction.

        Raises ``SessionConflictError`` (and writes nothing) when the stored session has moved past
        the revision this copy was read at.
        """
        values = {
            "id": session.id,
            "profile": session.profile,
            "pack_id": session.pack_id,
            "pack_version": session.pack_version,
            "pack_hash": session.pack_hash,
            "level": session.level.value,
            "format": session.format,
            "mode": session.mode,
            "phase": session.phase.value,
            "started_at": session.started_at,
            "updated_at": _now(),
            "ended_at": session.ended_at,
            "state": session.model_dump_json(),
            "overall": _overall(session),
            "seen": session.revision,
        }
        with self.engine.begin() as conn:
            # The write comes first, so the transaction holds the write lock before it reads.
            if session.revision == 0:
                taken = conn.execute(
                    text("""
                    INSERT INTO sessions (id, profile, pack_id, pack_version, pack_hash, level,
                        format, mode, phase, started_at, updated_at, ended_at, state, overall,
                        revision)
                    VALUES (:id, :profile, :pack_id, :pack_version, :pack_hash, :level, :format,
                        :mode, :phase, :started_at, :updated_at, :ended_at, :state, :overall, 1)
                    ON CONFLICT(id) DO NOTHING"""),
                    values,
                ).rowcount
            else:
                taken = conn.execute(
                    text("""
                    UPDATE sessions SET phase = :phase, mode = :mode, updated_at = :updated_at,
                        ended_at = :ended_at, state = :state, overall = :overall,
                        revision = revision + 1
                    WHERE id = :id AND revision = :seen"""),
                    values,
                ).rowcount
            if taken != 1:
                raise SessionConflictError(session.id)
            stored = conn.execute(
                text("SELECT COUNT(*) FROM turns WHERE session_id = :id"), {"id": session.id}
            ).scalar_one()
            new = session.turns[stored:]
            if new:
                conn.execute(
                    text("""
                    INSERT INTO turns (session_id, seq, speaker, kind, text, question_id, at)
                    VALUES (:sid, :seq, :speaker, :kind, :text, :qid, :at)"""),
                    [
                        {
                            "sid": session.id,
                            "seq": stored + i,
                            "speaker": t.speaker.value,
                            "kind": t.kind.value,
                            "text": t.text,
                            "qid": t.question_id,
                            "at": t.at,
                        }
                        for i, t in enumerate(new)
                    ],
                )
        session._revision += 1

    def load(self, session_id: str, prefix: bool = False) -> Session:
        """The stored session with exactly that id.

        With ``prefix`` (the command line, for ids typed by hand) a unique start of 6 to 32
        hex characters also works; nothing else is ever read as a pattern, so an id from a URL
        can neither match another session nor reveal how many there are.
        """
        if prefix and not SESSION_PREFIX.fullmatch(session_id):
            raise StoreError(
                f"'{session_id}' is not a session id (6 to 32 of 0-9, a-f). "
                "`interviewer sessions list` shows them."
            )
        with self.engine.connect() as conn:
            if prefix:
                rows = conn.execute(
                    text("SELECT id, state, revision FROM sessions WHERE id LIKE :prefix"),
                    {"prefix": f"{session_id}%"},  # hex only: no LIKE wildcard can get in
                ).all()
            else:
                rows = conn.execute(
                    text("SELECT id, state, revision FROM sessions WHERE id = :id"),
                    {"id": session_id},
                ).all()
        if not rows:
            raise StoreError(
                f"No session with id '{session_id}'. `interviewer sessions list` shows them."
            )
        if len(rows) > 1:
            raise StoreError(f"'{session_id}' matches {len(rows)} sessions; give more of the id.")
        try:
            session = Session.model_validate_json(rows[0][1])
        except ValidationError as exc:
            raise StoreError(
                f"Session {rows[0][0]} is stored in a form this version cannot "
                f"read: {exc.errors()[0]['msg']}"
            ) from exc
        session._revision = int(rows[0][2])
        return session

    def list_sessions(self, profile: str | None = None, limit: int = 50) -> list[SessionRow]:
        """Recent sessions, newest first, optionally for one profile."""
        query = (
            "SELECT id, profile, pack_id, level, format, phase, started_at, ended_at, overall"
            " FROM sessions"
        )
        params: dict[str, object] = {"limit": limit}
        if profile is not None:
            query += " WHERE profile = :profile"
            params["profile"] = profile
        query += " ORDER BY started_at DESC, id LIMIT :limit"
        with self.engine.connect() as conn:
            return [SessionRow(*row) for row in conn.execute(text(query), params)]

    def recent_question_ids(self, profile: str, sessions: int = 5) -> set[str]:
        """Questions asked in a profile's most recent sessions."""
        ids: set[str] = set()
        for row in self.list_sessions(profile, limit=sessions):
            ids.update(s.question_id for s in self.load(row.id).plan)
        return ids


def _overall(session: Session) -> float | None:
    if session.phase is not Phase.DONE or not session.scores:
        return None
    return round(sum(s.overall for s in session.scores.values()) / len(session.scores), 2)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
