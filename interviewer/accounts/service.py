"""Accounts as the pages and the command line use them: sign-in, registration, invitations,
roles and interview links, with the rules (rate limits, expiry, the last admin) in one place."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.account_store import AccountStore
from interviewer.accounts.passwords import check_rules, hash_password, needs_rehash, verify
from interviewer.accounts.records import (
    DEFAULT_TEAM,
    InterviewLink,
    Invite,
    LinkSpec,
    User,
    normal_email,
    team_id,
)
from interviewer.config import Settings
from interviewer.errors import InterviewerError

#: The one answer to a failed sign-in, whether the email is unknown or the password wrong.
WRONG = "That email and password do not match an account. Check both and try again."
WINDOW = timedelta(minutes=15)
PER_ADDRESS = 4  # times the per-email limit, for one client address
INVITE_DAYS = 7


class AccountError(InterviewerError):
    """An accounts action that cannot be done; the message says why (never more than the
    person may know)."""


def _checked(normalise: Callable[[str], str], raw: str) -> str:
    """``normalise(raw)``, its ValueError as an `AccountError` (an email, a team id)."""
    try:
        return normalise(raw)
    except ValueError as exc:
        raise AccountError(f"{exc}.") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Accounts:
    """The accounts of one deployment."""

    store: AccountStore
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> str:
        """The current time as stored (ISO 8601, UTC, seconds)."""
        return _iso(self.clock())

    # --- signing in -----------------------------------------------------------------------

    def sign_in(self, email: str, password: str, address: str | None = None) -> tuple[User, str]:
        """Check a password; returns the user and a new sign-in token. Every failure is the
        same `AccountError` after the same work, and counts against the email and the client
        address; past the limit, sign-in is refused for the rest of the window."""
        try:
            address_key = f"email:{normal_email(email)}"
        except ValueError:
            address_key = f"email:{email.strip().lower()[:320]}"
        keys = [address_key] + ([f"address:{address}"] if address else [])
        self._check_limit(address_key, self.settings.sign_in_limit)
        if address:
            self._check_limit(f"address:{address}", self.settings.sign_in_limit * PER_ADDRESS)
        user, stored = self.store.password_hash(address_key.removeprefix("email:"))
        matched = verify(stored, password)
        if not matched or user is None or not user.active:
            self.store.add_failure(keys, self.now())
            raise AccountError(WRONG)
        assert stored is not None
        if needs_rehash(stored):
            self.store.update_user(user.id, password_hash=hash_password(password))
        self.store.clear_failures(address_key)
        return user, self.start_session(user, "password")

    def _check_limit(self, key: str, limit: int) -> None:
        since = self.clock() - WINDOW
        count, oldest = self.store.failures_since(key, _iso(since))
        if count >= limit and oldest is not None:
            free_at = datetime.fromisoformat(oldest) + WINDOW
            minutes = max(1, int((free_at - self.clock()).total_seconds() // 60) + 1)
            raise AccountError(
                f"Too many failed sign-ins. Wait {minutes} minute{'s' * (minutes != 1)} and try "
                "again, or ask your admin to reset your password."
            )

    def start_session(self, user: User, method: str) -> str:
        """A new sign-in token for ``user`` (stored hashed; it lasts ``session_hours``)."""
        token = secrets.token_urlsafe(32)
        until = self.clock() + timedelta(hours=self.settings.session_hours)
        self.store.add_auth_session(token, user.id, method, self.now(), _iso(until))
        # Housekeeping on each sign-in: expired tokens and old failures are never needed again.
        self.store.purge_expired(self.now())
        self.store.purge_failures(_iso(self.clock() - WINDOW))
        return token

    def user_for(self, token: str | None) -> User | None:
        """The signed-in user of a token; None when it is unknown, expired or the account
        was disabled."""
        if not token:
            return None
        return self.store.auth_session_user(token, self.now())

    def sign_out(self, token: str | None) -> None:
        """End one sign-in (the token stops working on every server at once)."""
        if token:
            self.store.end_auth_sessions(token=token)

    def sso_current(self, issued_at: object) -> bool:
        """Whether a single sign-on that the identity provider issued at ``issued_at`` (the ID
        token's ``iat``, seconds since 1970) is still within ``session_hours``. Streamlit keeps
        its identity cookie for 30 days whatever this app's setting; this check makes a
        single sign-on last as long as a password sign-in. A missing or odd value is not
        current (ID tokens always carry ``iat``)."""
        if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
            return False
        try:
            issued = datetime.fromtimestamp(issued_at, UTC)
        except (OverflowError, OSError, ValueError):
            return False
        now = self.clock()
        return (
            issued - timedelta(minutes=5)
            <= now
            < issued + timedelta(hours=self.settings.session_hours)
        )

    def sso_user(
        self,
        email: str,
        subject: str,
        name: str = "",
        *,
        email_verified: object = None,
        signed_in_at: str | None = None,
        link_code: str | None = None,
    ) -> User:
        """The account of a person the identity provider signed in: found by email (and then
        tied to the provider's subject), else created from a pending invitation (with its
        role and team), else through a valid interview link (a candidate of the link's team,
        as registering through a link does), else, when ``sso_registers``, as a candidate.

        An address the provider says it has not verified (``email_verified`` false) is
        refused: it could name someone else's account. ``signed_in_at`` (when the provider
        signed the person in) is recorded as the account's last sign-in, once per sign-in."""
        if not subject:
            raise AccountError(
                "Your identity provider did not say who you are (no subject). Ask your admin."
            )
        try:
            email = normal_email(email)
        except ValueError:
            raise AccountError(
                "Your identity provider did not give an email address, which this app needs "
                "to find your account. Ask your admin."
            ) from None
        if email_verified is False or str(email_verified).lower() == "false":
            raise AccountError(
                f"Your identity provider has not verified the address {email}, so it cannot "
                "sign you in to the account of that address. Verify it there, or ask your admin."
            )
        user = self.store.user(email=email)
        if user is not None:
            if not user.active:
                raise AccountError("This account is disabled. Ask your admin.")
            if user.sso_subject is None:
                self.store.update_user(user.id, sso_subject=subject)
                user = user.model_copy(update={"sso_subject": subject})
            elif user.sso_subject != subject:
                raise AccountError(
                    "Your identity provider signed in a different person for this email "
                    "address than before. Ask your admin."
                )
            if signed_in_at and (user.last_sign_in_at or "") < signed_in_at:
                self.store.update_user(user.id, last_sign_in_at=signed_in_at)
                user = user.model_copy(update={"last_sign_in_at": signed_in_at})
            return user
        role, team = Role.CANDIDATE, DEFAULT_TEAM
        invite = self.store.pending_invite(email, self.now())
        if invite is not None:
            role, team = invite.role, invite.team
        elif link_code:
            try:
                team = self.open_link(link_code).team
            except AccountError:
                if not self.settings.sso_registers:
                    raise  # why the link cannot be used is the clearest answer
        elif not self.settings.sso_registers:
            raise AccountError(
                f"There is no account for {email} here, and accounts are not created on "
                "single sign-on. Ask your admin for an invitation, or open the interview link "
                "you were sent."
            )
        user = self.store.add_user(email, name.strip()[:80], role, team, None, subject, self.now())
        if signed_in_at:
            self.store.update_user(user.id, last_sign_in_at=signed_in_at)
            user = user.model_copy(update={"last_sign_in_at": signed_in_at})
        return user

    # --- registering ----------------------------------------------------------------------

    def register(
        self, email: str, name: str, password: str, link_code: str | None = None
    ) -> tuple[User, str]:
        """A new candidate account, when registration is open or through a valid interview
        link (the account joins the link's team); returns the user and a sign-in token."""
        team = DEFAULT_TEAM
        if link_code is not None:
            team = self.open_link(link_code).team
        elif not self.settings.open_registration:
            raise AccountError(
                "Accounts here are created through an interview link or an invitation."
            )
        email = self._email(email)
        check_rules(password, email)
        if self.store.user(email=email) is not None:
            raise AccountError("There is already an account for this email: sign in instead.")
        user = self.store.add_user(
            email,
            name.strip()[:80],
            Role.CANDIDATE,
            team,
            hash_password(password),
            None,
            self.now(),
        )
        return user, self.start_session(user, "password")

    @staticmethod
    def _email(raw: str) -> str:
        return _checked(normal_email, raw)

    # --- administration -------------------------------------------------------------------

    def add_user(
        self, email: str, role: Role, team: str = DEFAULT_TEAM, name: str = "", password: str = ""
    ) -> User:
        """An account made by an admin (the command line's `users add`); no password: the
        person signs in through single sign-on, or an admin sets one later."""
        email = self._email(email)
        team = self._team(team)
        if password:
            check_rules(password, email)
        hashed = hash_password(password) if password else None
        return self.store.add_user(email, name.strip()[:80], role, team, hashed, None, self.now())

    def invite(self, actor: Viewer, email: str, role: Role, team: str | None = None) -> str:
        """An invitation token for ``email`` with ``role`` (an admin invites anyone; a reviewer
        invites candidates and reviewers to their own team). It lasts seven days, once."""
        self._require(actor, Role.REVIEWER)
        if not actor.can(Role.ADMIN) and (role is Role.ADMIN or (team or actor.team) != actor.team):
            raise AccountError("Only an admin can invite admins or people of another team.")
        email = self._email(email)
        if self.store.user(email=email) is not None:
            raise AccountError(f"{email} already has an account.")
        token = secrets.token_urlsafe(32)
        invite = Invite(
            email=email,
            role=role,
            team=self._team(team or actor.team or DEFAULT_TEAM),
            created_by=actor.user_id,
            created_at=self.now(),
            expires_at=_iso(self.clock() + timedelta(days=INVITE_DAYS)),
        )
        self.store.add_invite(token, invite)
        return token

    def invitation(self, token: str) -> Invite:
        """The invitation behind a token, if it can still be accepted."""
        invite = self.store.invite(token)
        if invite is None:
            raise AccountError("This invitation link is not valid. Ask for a new one.")
        if invite.used_at is not None:
            raise AccountError("This invitation was already accepted: sign in instead.")
        if self.now() >= invite.expires_at:
            raise AccountError("This invitation has expired. Ask for a new one.")
        return invite

    def accept(self, token: str, name: str, password: str) -> tuple[User, str]:
        """Create the invited account with a password; returns the user and a sign-in token."""
        invite = self.invitation(token)
        check_rules(password, invite.email)
        if not self.store.use_invite(token, self.now()):
            raise AccountError("This invitation was already accepted: sign in instead.")
        user = self.store.add_user(
            invite.email,
            name.strip()[:80],
            invite.role,
            invite.team,
            hash_password(password),
            None,
            self.now(),
        )
        return user, self.start_session(user, "password")

    def set_role(self, actor: Viewer, user_id: str, role: Role) -> User:
        """Change someone's role (admins only; the last admin stays one)."""
        user = self._managed(actor, user_id)
        if user.role is Role.ADMIN and role is not Role.ADMIN:
            self._keep_an_admin()
        self.store.update_user(user.id, role=role.value)
        self.store.end_auth_sessions(user_id=user.id)  # the new rights apply from a new sign-in
        return self._reload(user.id)

    def set_team(self, actor: Viewer, user_id: str, team: str) -> User:
        """Move someone to another team (admins only)."""
        user = self._managed(actor, user_id)
        self.store.update_user(user.id, team=self._team(team))
        self.store.end_auth_sessions(user_id=user.id)
        return self._reload(user.id)

    def set_active(self, actor: Viewer, user_id: str, active: bool) -> User:
        """Disable (every sign-in ends at once) or enable an account (admins only)."""
        user = self._managed(actor, user_id)
        if not active and user.role is Role.ADMIN:
            self._keep_an_admin()
        self.store.update_user(user.id, active=int(active))
        if not active:
            self.store.end_auth_sessions(user_id=user.id)
        return self._reload(user.id)

    def set_password(self, actor: Viewer, user_id: str, password: str) -> User:
        """Set a password (an admin for anyone, a person for themselves); every other
        sign-in of that account ends."""
        if actor.user_id != user_id:
            self._require(actor, Role.ADMIN)
        user = self._reload(user_id)
        check_rules(password, user.email)
        self.store.update_user(user.id, password_hash=hash_password(password))
        self.store.end_auth_sessions(user_id=user.id)
        return user

    def users(self, actor: Viewer) -> list[User]:
        """Everyone (admins), or the people of the reviewer's team."""
        self._require(actor, Role.REVIEWER)
        return self.store.users(None if actor.can(Role.ADMIN) else actor.team)

    def _managed(self, actor: Viewer, user_id: str) -> User:
        self._require(actor, Role.ADMIN)
        return self._reload(user_id)

    def _reload(self, user_id: str) -> User:
        user = self.store.user(user_id=user_id)
        if user is None:
            raise AccountError(f"No user with id '{user_id}'.")
        return user

    def _keep_an_admin(self) -> None:
        if self.store.count_admins() <= 1:
            raise AccountError("This is the last admin: make someone else an admin first.")

    @staticmethod
    def _require(actor: Viewer, role: Role) -> None:
        if not actor.can(role):
            raise AccountError(f"This needs the {role.value} role.")

    @staticmethod
    def _team(raw: str) -> str:
        return _checked(team_id, raw)

    # --- interview links ------------------------------------------------------------------

    def create_link(
        self,
        actor: Viewer,
        spec: LinkSpec,
        label: str = "",
        expires_at: datetime | None = None,
        max_uses: int | None = None,
    ) -> tuple[InterviewLink, str]:
        """A link for the actor's team (reviewers and admins); returns it and its code, which
        is shown once and stored only as a hash."""
        self._require(actor, Role.REVIEWER)
        if expires_at is not None and expires_at <= self.clock():
            raise AccountError("The expiry of a link must be in the future.")
        if max_uses is not None and max_uses < 1:
            raise AccountError("A link must allow at least one use.")
        code = secrets.token_urlsafe(24)
        link = InterviewLink(
            id=secrets.token_hex(8),
            team=actor.team or DEFAULT_TEAM,
            created_by=actor.user_id,
            label=label.strip()[:80],
            spec=spec,
            expires_at=_iso(expires_at) if expires_at is not None else None,
            max_uses=max_uses,
            created_at=self.now(),
        )
        self.store.add_link(code, link)
        return link, code

    def open_link(self, code: str) -> InterviewLink:
        """The link behind a code, if it can start an interview now."""
        link = self.store.link(code=code) if code else None
        if link is None:
            raise AccountError(
                "This interview link is not valid. Check that you copied all of it, or ask the "
                "team that sent it for a new one."
            )
        problem = link.problem(self.now())
        if problem is not None:
            raise AccountError(f"{problem} Ask the team that sent it for a new one.")
        return link

    def links(self, actor: Viewer) -> list[InterviewLink]:
        """The links the actor may see: their team's (every link for an admin)."""
        self._require(actor, Role.REVIEWER)
        return self.store.links(None if actor.can(Role.ADMIN) else actor.team)

    def revoke_link(self, actor: Viewer, link_id: str) -> None:
        """Withdraw a link of the actor's team (any link, for an admin)."""
        link = self.store.link(link_id=link_id)
        visible = link is not None and (actor.can(Role.ADMIN) or link.team == actor.team)
        self._require(actor, Role.REVIEWER)
        if not visible:
            raise AccountError(f"No interview link '{link_id}' of your team.")
        self.store.revoke_link(link_id, self.now())
