"""Session persistence: SQLite by default (any SQLAlchemy URL), with numbered migrations.

Each save writes the session's state and its new turns in one transaction, so what the
candidate sees has always been committed first; a killed process resumes from the last save.
Every session row carries a revision: a save names the revision its copy was read at, and one
made from an older copy (a second tab, a second server) is refused with ``SessionConflictError``
instead of overwriting newer answers. The check is a plain ``UPDATE … WHERE revision = :seen``,
which SQLite and PostgreSQL both apply atomically under the row's write lock.
"""

from __future__ import annotations

import functools
import logging
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from interviewer.accounts.access import Viewer
from interviewer.domain import Phase, Session, utc_now
from interviewer.errors import InterviewerError
from interviewer.redact import MASK, redact_database_url
from interviewer.sqlite_wal import use_wal

log = logging.getLogger(__name__)

SESSION_PREFIX = re.compile(r"[0-9a-f]{6,32}")


class StoreError(InterviewerError):
    """The session database could not be used."""


class SessionConflictError(StoreError):
    """The session changed in the store after this copy was read: the save was refused."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"Session {session_id} was changed elsewhere (another tab, window or server) "
            "after this copy of it was read, so this change was not saved."
        )
        self.session_id = session_id


class StoreUnavailableError(StoreError):
    """The database could not be reached or used just now (a server down or restarting, a
    file locked); nothing was written, and the same call may work once it is back."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
_C = TypeVar("_C", bound=type)
#: What SQLite says about a file whose pages are damaged (or that is not a database at all).
DAMAGED = ("malformed", "not a database", "file is encrypted")
#: The package to install for a driver module SQLAlchemy could not import.
DRIVER_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "oracledb": "oracledb",
    "pyodbc": "pyodbc",
}


def _database_errors(cls: _C) -> _C:
    """Every public method of the store turns a database failure, at whatever query it happens
    (a damaged page is only found when read), into a `StoreError` that says what to do."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _guard(member))
    return cls


def _guard(method: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(method)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            store = cast("SessionStore", args[0])
            unreachable = isinstance(exc, OperationalError | InterfaceError)
            error = StoreUnavailableError if unreachable else StoreError
            raise error(store.describe_failure(exc)) from exc

    return guarded


#: PostgreSQL advisory lock key held while migrating ('intv'); locks are per database.
MIGRATION_LOCK = 0x696E7476


def _one_migration_at_a_time(
    migrate: Callable[[SessionStore], list[int]],
) -> Callable[[SessionStore], list[int]]:
    """Two app servers opening a new PostgreSQL database at once would both create its tables
    (one fails): the second waits on an advisory lock, then finds them made. SQLite serialises
    writers on its own."""

    @functools.wraps(migrate)
    def locked(store: SessionStore) -> list[int]:
        if store.engine.dialect.name != "postgresql":
            return migrate(store)
        with store.engine.begin() as conn:  # the lock ends with this transaction
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            return migrate(store)

    return locked


def _engine(url: str, shown: str) -> tuple[Engine, URL]:
    """The engine for ``url``; a URL that is not one, or whose driver is missing, is a message."""
    setting = "(the database_url setting, INTERVIEWER_DATABASE_URL)"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"The database URL {shown} {setting} is not a valid SQLAlchemy URL; write it like "
            "sqlite:///path/to/sessions.db or postgresql+psycopg://user:password@host/db."
        ) from exc
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError as exc:
        raise StoreError(
            f"The database URL {shown} {setting} names '{parsed.drivername}', which SQLAlchemy "
            "does not know; use e.g. sqlite:///…, postgresql+psycopg://… or mysql+pymysql://…."
        ) from exc
    if dialect.is_async:
        raise StoreError(
            f"The database URL {shown} {setting} names the asyncio driver "
            f"'{parsed.get_driver_name()}'; the session store needs a synchronous one, "
            "e.g. postgresql+psycopg://… or mysql+pymysql://…."
        )
    try:
        # pre_ping: a connection the server dropped (a restart) is replaced, not used.
        return create_engine(url, future=True, pool_pre_ping=True), parsed
    except ImportError as exc:
        module = exc.name or str(exc)
        package = DRIVER_PACKAGES.get(module.partition(".")[0], module)
        raise StoreError(
            f"The database URL {shown} {setting} needs the driver for '{parsed.drivername}' "
            f"(Python module '{module}'), which is not installed. Install it "
            f"(`pip install {package}`), or unset database_url to keep sessions in SQLite."
        ) from exc


def same_profile(a: str, b: str) -> bool:
    """Whether two profile names are one person's: case and surrounding spaces aside (the
    rule ``SessionStore.list_sessions`` applies in SQL with ``lower(trim(...))``)."""
    return a.strip().lower() == b.strip().lower()


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return None if url.database.startswith("file:") else Path(url.database)


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


def _m004_review(conn: Connection) -> None:
    """Human review: dataset items imported for grading, and the grades (one per grader and
    item: a second commit of the same grade is refused, never counted twice)."""
    conn.execute(
        text("""
        CREATE TABLE review_items (
            key TEXT PRIMARY KEY,
            dataset TEXT NOT NULL,
            item TEXT NOT NULL,
            scale_min REAL NOT NULL,
            scale_max REAL NOT NULL,
            added_at TEXT NOT NULL
        )""")
    )
    conn.execute(
        text("""
        CREATE TABLE grades (
            id TEXT PRIMARY KEY,
            item_key TEXT NOT NULL,
            grader TEXT NOT NULL,
            criteria TEXT NOT NULL,
            overall REAL NOT NULL,
            note TEXT NOT NULL,
            rubric_hash TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (item_key, grader)
        )""")
    )
    conn.execute(text("CREATE INDEX grades_item ON grades(item_key)"))


def _m005_accounts(conn: Connection) -> None:
    """Accounts: people and their roles, sign-in sessions, failed attempts (for the rate
    limit), invitations and interview links; every session gets an owner, a team and the link
    it came from (none for sessions from before accounts: only an admin sees those)."""
    for column in ("owner_id", "team", "link_id"):
        conn.execute(text(f"ALTER TABLE sessions ADD COLUMN {column} TEXT"))
    conn.execute(text("CREATE INDEX sessions_owner ON sessions(owner_id, started_at)"))
    conn.execute(text("CREATE INDEX sessions_team_link ON sessions(team, link_id)"))
    conn.execute(text("ALTER TABLE review_items ADD COLUMN team TEXT"))
    conn.execute(
        text("""
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            team TEXT NOT NULL,
            password_hash TEXT,
            sso_subject TEXT,
            active INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            last_sign_in_at TEXT
        )""")
    )
    conn.execute(
        text("""
        CREATE TABLE auth_sessions (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""")
    )
    conn.execute(text("CREATE INDEX auth_sessions_user ON auth_sessions(user_id)"))
    conn.execute(
        text("""
        CREATE TABLE sign_in_failures (
            id TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
    )
    conn.execute(text("CREATE INDEX sign_in_failures_key ON sign_in_failures(key, at)"))
    conn.execute(
        text("""
        CREATE TABLE invites (
            token_hash TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            team TEXT NOT NULL,
            created_by TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        )""")
    )
    conn.execute(
        text("""
        CREATE TABLE interview_links (
            id TEXT PRIMARY KEY,
            code_hash TEXT NOT NULL UNIQUE,
            team TEXT NOT NULL,
            created_by TEXT,
            label TEXT NOT NULL,
            spec TEXT NOT NULL,
            expires_at TEXT,
            max_uses INTEGER,
            uses INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""")
    )


def _m006_point_marks(conn: Connection) -> None:
    """A grader may mark each key point covered, partly or missed (JSON; none before)."""
    conn.execute(text("ALTER TABLE grades ADD COLUMN points TEXT"))


#: Applied in order, once each; never edit a shipped migration, add a new one.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial", _m001_initial),
    (2, "overall score column", _m002_overall),
    (3, "session revision for refusing stale writes", _m003_revision),
    (4, "human review: imported items and grades", _m004_review),
    (5, "accounts, sign-in, invitations and interview links", _m005_accounts),
    (6, "graders' key point marks", _m006_point_marks),
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
    owner_id: str | None = None
    team: str | None = None
    link_id: str | None = None


@_database_errors
class SessionStore:
    """Sessions and their turns in a SQL database.

    Every public method raises `StoreError`, never a driver error: messages name the file (or
    the URL, password hidden) and say what to do; the database itself is never changed by a
    failure.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = redact_database_url(url)  # what messages show: never the password
        self.notices: list[str] = []  # things the user should hear once, e.g. an empty file
        self.engine, parsed = _engine(url, self.shown)
        self._password = parsed.password
        self.path = _sqlite_file(parsed)
        was_empty = False
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                was_empty = self.path.is_file() and self.path.stat().st_size == 0
            except OSError as exc:
                raise StoreError(
                    f"The session database {self.path} cannot be used: {exc.strerror}."
                ) from exc
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        applied = self.migrate()
        if was_empty and 1 in applied:
            notice = (
                f"The session database {self.path} was empty (0 bytes), so a new database was "
                "created there. If it held interviews, they were lost before this start: "
                "restore the file from a backup to get them back."
            )
            log.warning(notice)
            self.notices.append(notice)

    def describe_failure(self, exc: DBAPIError) -> str:
        """What went wrong with the database, and what to do, without its password."""
        reason = str(exc.orig) if exc.orig is not None else type(exc).__name__
        if self._password:
            reason = reason.replace(str(self._password), MASK)
        if self.path is not None and any(word in reason.lower() for word in DAMAGED):
            return (
                f"The session database {self.path} is damaged ({reason}). It was left untouched. "
                "Move it aside (a new, empty one is then created in its place) or restore it "
                f'from a backup; `sqlite3 {shlex.quote(str(self.path))} ".recover" | sqlite3 '
                "recovered.db` can often rescue the interviews in it."
            )
        if self.path is not None:
            return (
                f"The session database {self.path} cannot be used ({reason}). It was left "
                "untouched. Check that it can be read and written and that no other program "
                "holds it locked; or move it aside to start a new one."
            )
        return (
            f"The session database at {self.shown} cannot be used ({reason}). Check that the "
            "server is running and that the URL (database_url, INTERVIEWER_DATABASE_URL) is right."
        )

    def take_notices(self) -> list[str]:
        """Notices not shown yet (each is returned once)."""
        notices, self.notices = self.notices, []
        return notices

    @classmethod
    def from_settings(cls, database_url: str | None, data_dir: Path) -> SessionStore:
        """The configured database, else the default SQLite file in the data directory."""
        return cls(database_url) if database_url else cls.for_data_dir(data_dir)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> SessionStore:
        """The default SQLite file in the data directory."""
        return cls(f"sqlite:///{data_dir / 'sessions.db'}")

    @_one_migration_at_a_time
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
                    {"v": version, "n": name, "t": utc_now()},
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
            "updated_at": utc_now(),
            "ended_at": session.ended_at,
            "state": session.model_dump_json(),
            "overall": _overall(session),
            "seen": session.revision,
            "owner_id": session.owner_id,
            "team": session.team,
            "link_id": session.link_id,
        }
        with self.engine.begin() as conn:
            # The write comes first, so the transaction holds the write lock before it reads.
            if session.revision == 0:
                taken = conn.execute(
                    text("""
                    INSERT INTO sessions (id, profile, pack_id, pack_version, pack_hash, level,
                        format, mode, phase, started_at, updated_at, ended_at, state, overall,
                        revision, owner_id, team, link_id)
                    VALUES (:id, :profile, :pack_id, :pack_version, :pack_hash, :level, :format,
                        :mode, :phase, :started_at, :updated_at, :ended_at, :state, :overall, 1,
                        :owner_id, :team, :link_id)
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

    def load(self, session_id: str, *, viewer: Viewer, prefix: bool = False) -> Session:
        """The stored session with exactly that id, if ``viewer`` may read it.

        A session the viewer may not read gets the same answer as one that does not exist, so
        an id from someone else's URL reveals nothing. With ``prefix`` (the command line, for
        ids typed by hand) a unique start of 6 to 32 hex characters also works; nothing else
        is ever read as a pattern.
        """
        if prefix and not SESSION_PREFIX.fullmatch(session_id):
            raise StoreError(
                f"'{session_id}' is not a session id (6 to 32 of 0-9, a-f). "
                "`interviewer sessions list` shows them."
            )
        allowed, params = viewer.session_clause()
        select = f"SELECT id, state, revision FROM sessions WHERE {allowed} AND "
        with self.engine.connect() as conn:
            if prefix:
                rows = conn.execute(
                    text(select + "id LIKE :prefix"),
                    # hex only: no LIKE wildcard can get in
                    {**params, "prefix": f"{session_id}%"},
                ).all()
            else:
                rows = conn.execute(text(select + "id = :id"), {**params, "id": session_id}).all()
        if not rows:
            if viewer.is_local:
                raise StoreError(
                    f"No session with id '{session_id}'. `interviewer sessions list` shows them."
                )
            raise StoreError(
                f"No session with id '{session_id}' that you can open. The History page lists "
                "your interviews."
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

    def list_sessions(
        self,
        profile: str | None = None,
        limit: int = 50,
        *,
        viewer: Viewer,
        owner_id: str | None = None,
    ) -> list[SessionRow]:
        """Recent sessions ``viewer`` may read, newest first, optionally of one profile (``""``:
        those started without a profile name) or one owner."""
        allowed, params = viewer.session_clause()
        query = (
            "SELECT id, profile, pack_id, level, format, phase, started_at, ended_at, overall,"
            f" owner_id, team, link_id FROM sessions WHERE {allowed}"
        )
        params = {**params, "limit": limit}
        profile = None if profile is None else profile.strip()
        if profile == "":
            query += " AND (profile IS NULL OR profile = '')"
        elif profile is not None:  # as same_profile: "Kim" and "kim " are one history
            query += " AND lower(trim(profile)) = lower(:profile)"
            params["profile"] = profile
        if owner_id is not None:
            query += " AND owner_id = :owner_id"
            params["owner_id"] = owner_id
        query += " ORDER BY started_at DESC, id LIMIT :limit"
        with self.engine.connect() as conn:
            return [SessionRow(*row) for row in conn.execute(text(query), params)]

    def recent_question_ids(
        self, profile: str | None, *, viewer: Viewer, owner_id: str | None = None, sessions: int = 5
    ) -> set[str]:
        """Questions asked in a profile's (or an owner's) most recent sessions."""
        ids: set[str] = set()
        rows = self.list_sessions(profile, sessions, viewer=viewer, owner_id=owner_id)
        for row in rows:
            ids.update(s.question_id for s in self.load(row.id, viewer=viewer).plan)
        return ids


def _overall(session: Session) -> float | None:
    if session.phase is not Phase.DONE or not session.scores:
        return None
    return round(sum(s.overall for s in session.scores.values()) / len(session.scores), 2)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Foreign keys, WAL (past the race of two servers opening a new file) and NORMAL sync."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
