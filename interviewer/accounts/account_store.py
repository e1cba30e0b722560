"""The accounts tables (migration 5 of the session store), on the store's own engine."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, text

from interviewer.accounts.access import Role
from interviewer.accounts.records import InterviewLink, Invite, LinkSpec, User
from interviewer.store import SessionStore, StoreError, _database_errors

USER_COLUMNS = (
    "id, email, name, role, team, active, password_hash IS NOT NULL, sso_subject, created_at,"
    " last_sign_in_at"
)
LINK_COLUMNS = (
    "id, team, created_by, label, spec, expires_at, max_uses, uses, created_at, revoked_at"
)


def token_hash(token: str) -> str:
    """What is stored for a secret token (a sign-in session, an invitation, a link code): its
    SHA-256. The tokens are 256 random bits, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(
        id=row[0],
        email=row[1],
        name=row[2],
        role=Role(row[3]),
        team=row[4],
        active=bool(row[5]),
        has_password=bool(row[6]),
        sso_subject=row[7],
        created_at=row[8],
        last_sign_in_at=row[9],
    )


def _link(row: Any) -> InterviewLink:
    return InterviewLink(
        id=row[0],
        team=row[1],
        created_by=row[2],
        label=row[3],
        spec=LinkSpec.model_validate_json(row[4]),
        expires_at=row[5],
        max_uses=row[6],
        uses=int(row[7]),
        created_at=row[8],
        revoked_at=row[9],
    )


@_database_errors
class AccountStore:
    """Users, sign-in sessions, failed attempts, invitations and links. Every public method
    raises `StoreError` on a database failure, like the session store."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.engine = store.engine

    def describe_failure(self, exc: Exception) -> str:
        """The session store's message for a database failure."""
        return self.store.describe_failure(exc)  # type: ignore[arg-type]

    # --- users ----------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        name: str,
        role: Role,
        team: str,
        password_hash: str | None,
        sso_subject: str | None,
        now: str,
    ) -> User:
        """A new user; an email already taken is a `StoreError` naming it."""
        with self.engine.begin() as conn:
            if self._user_row(conn, "email = :v", email) is not None:
                raise StoreError(f"There is already an account for {email}.")
            conn.execute(
                text("""
                INSERT INTO users (id, email, name, role, team, password_hash, sso_subject,
                    active, created_at)
                VALUES (:id, :email, :name, :role, :team, :hash, :sub, 1, :now)"""),
                {
                    "id": uuid.uuid4().hex,
                    "email": email,
                    "name": name,
                    "role": role.value,
                    "team": team,
                    "hash": password_hash,
                    "sub": sso_subject,
                    "now": now,
                },
            )
            row = self._user_row(conn, "email = :v", email)
        assert row is not None
        return _user(row)

    def user(self, *, email: str | None = None, user_id: str | None = None) -> User | None:
        """One user by email or id."""
        where, value = ("email = :v", email) if email is not None else ("id = :v", user_id)
        with self.engine.connect() as conn:
            row = self._user_row(conn, where, value)
        return _user(row) if row is not None else None

    def password_hash(self, email: str) -> tuple[User | None, str | None]:
        """A user and their stored hash (None, None for an unknown email)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = :v"),
                {"v": email},
            ).first()
        return (_user(row), row[10]) if row is not None else (None, None)

    def users(self, team: str | None = None) -> list[User]:
        """Every user (of one team), by email."""
        query = f"SELECT {USER_COLUMNS} FROM users"
        params: dict[str, object] = {}
        if team is not None:
            query += " WHERE team = :team"
            params["team"] = team
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(text(query + " ORDER BY email"), params)]

    def update_user(self, user_id: str, **values: object) -> None:
        """Set columns of one user (role, team, name, active, password_hash, sso_subject,
        last_sign_in_at)."""
        allowed = {"role", "team", "name", "active", "password_hash", "sso_subject"}
        allowed.add("last_sign_in_at")
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not user columns: {sorted(unknown)}")
        sets = ", ".join(f"{k} = :{k}" for k in values)
        with self.engine.begin() as conn:
            conn.execute(text(f"UPDATE users SET {sets} WHERE id = :id"), {**values, "id": user_id})

    def emails(self, user_ids: list[str]) -> dict[str, str]:
        """The email of each of these users (unknown ids are left out)."""
        if not user_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, email FROM users WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": list(user_ids)},
            )
            return {r[0]: r[1] for r in rows}

    def count_admins(self) -> int:
        """Active admins: the last one cannot be demoted or disabled."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
                ).scalar_one()
            )

    @staticmethod
    def _user_row(conn: Connection, where: str, value: object) -> Any:
        return conn.execute(
            text(f"SELECT {USER_COLUMNS} FROM users WHERE {where}"), {"v": value}
        ).first()

    # --- sign-in sessions -----------------------------------------------------------------

    def add_auth_session(self, token: str, user_id: str, method: str, now: str, until: str) -> None:
        """Record a sign-in (the token itself is never stored)."""
        with self.engine.begin() as conn:
            conn.execute(
                text("""
                INSERT INTO auth_sessions (token_hash, user_id, method, created_at, expires_at)
                VALUES (:h, :u, :m, :now, :until)"""),
                {"h": token_hash(token), "u": user_id, "m": method, "now": now, "until": until},
            )
            conn.execute(
                text("UPDATE users SET last_sign_in_at = :now WHERE id = :u"),
                {"now": now, "u": user_id},
            )

    def auth_session_user(self, token: str, now: str) -> User | None:
        """The active user a token signs in, while it has not expired."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"""
                SELECT {", ".join("u." + c.strip() for c in USER_COLUMNS.split(","))}
                FROM auth_sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = :h AND s.expires_at > :now AND u.active = 1"""),
                {"h": token_hash(token), "now": now},
            ).first()
        return _user(row) if row is not None else None

    def end_auth_sessions(self, *, token: str | None = None, user_id: str | None = None) -> int:
        """Sign out one token, or every session of a user; returns how many ended."""
        where, value = (
            ("token_hash = :v", token_hash(token))
            if token is not None
            else ("user_id = :v", user_id)
        )
        with self.engine.begin() as conn:
            return conn.execute(
                text(f"DELETE FROM auth_sessions WHERE {where}"), {"v": value}
            ).rowcount

    def purge_expired(self, now: str) -> None:
        """Forget expired sign-ins (called now and then; expired ones never sign anyone in)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM auth_sessions WHERE expires_at <= :now"), {"now": now})

    # --- failed attempts ------------------------------------------------------------------

    def add_failure(self, keys: list[str], now: str) -> None:
        """Count a failed sign-in against each key (the email, the client address)."""
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO sign_in_failures (id, key, at) VALUES (:id, :key, :at)"),
                [{"id": uuid.uuid4().hex, "key": k, "at": now} for k in keys],
            )

    def failures_since(self, key: str, since: str) -> tuple[int, str | None]:
        """Failed attempts of ``key`` since ``since``, and the oldest of them."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT COUNT(*), MIN(at) FROM sign_in_failures WHERE key = :k AND at > :s"),
                {"k": key, "s": since},
            ).one()
        return int(row[0]), row[1]

    def clear_failures(self, key: str) -> None:
        """Forget a key's failures (after a successful sign-in)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM sign_in_failures WHERE key = :k"), {"k": key})

    def purge_failures(self, before: str) -> None:
        """Forget every failure up to ``before`` (housekeeping: older ones no longer count)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM sign_in_failures WHERE at <= :b"), {"b": before})

    # --- invitations ----------------------------------------------------------------------

    def add_invite(self, token: str, invite: Invite) -> None:
        """Store an invitation under its token's hash."""
        with self.engine.begin() as conn:
            conn.execute(
                text("""
                INSERT INTO invites (token_hash, email, role, team, created_by, created_at,
                    expires_at)
                VALUES (:h, :email, :role, :team, :created_by, :created_at, :expires_at)"""),
                {"h": token_hash(token), **invite.model_dump(exclude={"used_at"})},
            )

    def invite(self, token: str) -> Invite | None:
        """The invitation a token stands for."""
        return self._invite_row("token_hash = :h", token_hash(token))

    def _invite_row(self, where: str, value: str) -> Invite | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"""
                SELECT email, role, team, created_by, created_at, expires_at, used_at
                FROM invites WHERE {where}"""),
                {"h": value},
            ).first()
        if row is None:
            return None
        keys = ("email", "role", "team", "created_by", "created_at", "expires_at", "used_at")
        return Invite.model_validate(dict(zip(keys, row, strict=True)))

    def pending_invite(self, email: str, now: str) -> Invite | None:
        """Take the newest invitation for ``email`` not yet accepted nor expired (marking it
        used): single sign-on accepts it, with the invited role."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("""
                SELECT token_hash FROM invites
                WHERE email = :e AND used_at IS NULL AND expires_at > :now
                ORDER BY created_at DESC LIMIT 1"""),
                {"e": email, "now": now},
            ).first()
            if row is None:
                return None
            conn.execute(
                text("UPDATE invites SET used_at = :now WHERE token_hash = :h"),
                {"now": now, "h": row[0]},
            )
            conn.commit()
        return self._invite_row("token_hash = :h", row[0])

    def use_invite(self, token: str, now: str) -> bool:
        """Mark an invitation used; False when it was already (two tabs accepting at once)."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    text(
                        "UPDATE invites SET used_at = :now "
                        "WHERE token_hash = :h AND used_at IS NULL"
                    ),
                    {"now": now, "h": token_hash(token)},
                ).rowcount
                == 1
            )

    # --- interview links ------------------------------------------------------------------

    def add_link(self, code: str, link: InterviewLink) -> None:
        """Store a link under its code's hash."""
        values: Mapping[str, object] = {
            **link.model_dump(exclude={"spec"}),
            "spec": link.spec.model_dump_json(),
            "code_hash": token_hash(code),
        }
        with self.engine.begin() as conn:
            conn.execute(
                text("""
                INSERT INTO interview_links (id, code_hash, team, created_by, label, spec,
                    expires_at, max_uses, uses, created_at, revoked_at)
                VALUES (:id, :code_hash, :team, :created_by, :label, :spec, :expires_at,
                    :max_uses, :uses, :created_at, :revoked_at)"""),
                dict(values),
            )

    def link(self, *, code: str | None = None, link_id: str | None = None) -> InterviewLink | None:
        """One link by its code or its id."""
        where, value = (
            ("code_hash = :v", token_hash(code)) if code is not None else ("id = :v", link_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT {LINK_COLUMNS} FROM interview_links WHERE {where}"), {"v": value}
            ).first()
        return _link(row) if row is not None else None

    def links(self, team: str | None) -> list[InterviewLink]:
        """The links of a team (every link for None), newest first."""
        query = f"SELECT {LINK_COLUMNS} FROM interview_links"
        params: dict[str, object] = {}
        if team is not None:
            query += " WHERE team = :team"
            params["team"] = team
        with self.engine.connect() as conn:
            rows = conn.execute(text(query + " ORDER BY created_at DESC, id"), params)
            return [_link(r) for r in rows]

    def take_link_use(self, link_id: str, now: str) -> bool:
        """Count one use, atomically; False when the link is spent, expired or withdrawn (two
        candidates taking the last use at once: one gets it)."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    text("""
                    UPDATE interview_links SET uses = uses + 1
                    WHERE id = :id AND revoked_at IS NULL
                        AND (expires_at IS NULL OR expires_at > :now)
                        AND (max_uses IS NULL OR uses < max_uses)"""),
                    {"id": link_id, "now": now},
                ).rowcount
                == 1
            )

    def revoke_link(self, link_id: str, now: str) -> None:
        """Withdraw a link (interviews already started from it go on)."""
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE interview_links SET revoked_at = :now WHERE id = :id"),
                {"now": now, "id": link_id},
            )

    def link_session(self, link_id: str, owner_id: str, *, done: bool = False) -> str | None:
        """The newest unfinished interview this person started from this link, if any
        (``done``: the newest finished one)."""
        finished = "phase = 'done'" if done else "phase != 'done'"  # fixed text, no input
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"""
                SELECT id FROM sessions WHERE link_id = :l AND owner_id = :o AND {finished}
                ORDER BY started_at DESC LIMIT 1"""),
                {"l": link_id, "o": owner_id},
            ).first()
        return str(row[0]) if row is not None else None

    def dump(self) -> dict[str, int]:
        """Row counts per table (the CLI's status line)."""
        with self.engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in ("users", "auth_sessions", "invites", "interview_links")
            }
