"""`interviewer users ...` and `interviewer links ...`: accounts and interview links from the
server's command line (which reads the database directly, so it acts as an admin)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.records import DEFAULT_TEAM, LinkSpec, User
from interviewer.accounts.service import AccountError, Accounts
from interviewer.cli_options import one_of
from interviewer.domain import Level, to_minute
from interviewer.untrusted import terminal_markup as escape

users_app = typer.Typer(
    help="Accounts (with accounts on): add, invite, list, change roles, disable.",
    no_args_is_help=True,
)
links_app = typer.Typer(
    help="Interview links: create one for candidates, list them, withdraw one.",
    no_args_is_help=True,
)
out = Console()

RoleOpt = Annotated[Role, one_of(Role, "candidate, reviewer or admin.")]
TeamOpt = Annotated[str, typer.Option(help="The team (reviewers see their team's links).")]


def _accounts() -> Accounts:
    """Accounts in the configured database, without loading the model or the index."""
    from interviewer.accounts.account_store import AccountStore
    from interviewer.config import Settings
    from interviewer.store import SessionStore

    settings = Settings()
    store = SessionStore.from_settings(settings.database_url, settings.data_dir)
    return Accounts(AccountStore(store), settings)


def _admin(team: str = "") -> Viewer:
    return Viewer(None, Role.ADMIN, team)


def _user(accounts: Accounts, email: str) -> User:
    user = accounts.store.user(email=email.strip().lower())
    if user is None:
        raise AccountError(f"No account for {email}. `interviewer users list` shows them.")
    return user


def _url(accounts: Accounts, query: str) -> str:
    base = (accounts.settings.public_url or "").rstrip("/")
    return f"{base}/?{query}" if base else f"/?{query} (set public_url to print whole links)"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _notice_if_off(accounts: Accounts) -> None:
    if not accounts.settings.accounts:
        out.print(
            "[yellow]note:[/yellow] accounts are off (INTERVIEWER_ACCOUNTS); the app does not "
            "ask anyone to sign in until they are on."
        )


@users_app.command("add")
def users_add(
    email: str,
    role: RoleOpt = Role.CANDIDATE,
    team: TeamOpt = DEFAULT_TEAM,
    name: Annotated[str, typer.Option(help="How the person is named on pages.")] = "",
    password: Annotated[
        bool, typer.Option("--password/--no-password", help="Ask for a password (else SSO only).")
    ] = True,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (the first admin is made this way)."""
    accounts = _accounts()
    secret = _password(password_stdin) if password or password_stdin else ""
    user = accounts.add_user(email, role, team, name, secret)
    out.print(f"Added {escape(user.email)} as {user.role.value} (team {escape(user.team)}).")
    _notice_if_off(accounts)


@users_app.command("invite")
def users_invite(email: str, role: RoleOpt = Role.CANDIDATE, team: TeamOpt = DEFAULT_TEAM) -> None:
    """Make an invitation link (one use, seven days); the person picks their password."""
    accounts = _accounts()
    token = accounts.invite(_admin(team), email, role, team)
    out.print(f"Invitation for {escape(email.strip().lower())} as {role.value}:")
    out.print(escape(_url(accounts, f"invite={token}")), soft_wrap=True)
    _notice_if_off(accounts)


@users_app.command("list")
def users_list(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
) -> None:
    """Every account, with role, team and last sign-in."""
    accounts = _accounts()
    table = Table()
    table.add_column("email", no_wrap=True)  # whole: the other commands take it
    for column in ("name", "role", "team", "status", "sign-in", "last sign-in"):
        table.add_column(column)
    for user in accounts.store.users(team):
        methods = "+".join(
            m for m, on in (("password", user.has_password), ("sso", user.sso_subject)) if on
        )
        table.add_row(
            escape(user.email),
            escape(user.name),
            user.role.value,
            escape(user.team),
            "active" if user.active else "disabled",
            methods or "-",
            to_minute(user.last_sign_in_at) if user.last_sign_in_at else "never",
        )
    out.print(table)


@users_app.command("role")
def users_role(email: str, role: Role) -> None:
    """Change someone's role (their sign-ins end: the new rights apply from the next)."""
    accounts = _accounts()
    user = accounts.set_role(_admin(), _user(accounts, email).id, role)
    out.print(f"{escape(user.email)} is now {user.role.value}.")


@users_app.command("team")
def users_team(email: str, team: str) -> None:
    """Move someone to another team."""
    accounts = _accounts()
    user = accounts.set_team(_admin(), _user(accounts, email).id, team)
    out.print(f"{escape(user.email)} is now in team {escape(user.team)}.")


@users_app.command("disable")
def users_disable(email: str) -> None:
    """Disable an account: every sign-in of it ends at once; nothing is deleted."""
    accounts = _accounts()
    user = accounts.set_active(_admin(), _user(accounts, email).id, False)
    out.print(f"{escape(user.email)} is disabled.")


@users_app.command("enable")
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    accounts = _accounts()
    user = accounts.set_active(_admin(), _user(accounts, email).id, True)
    out.print(f"{escape(user.email)} is enabled.")


@users_app.command("password")
def users_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set someone's password (their other sign-ins end)."""
    accounts = _accounts()
    user = accounts.set_password(_admin(), _user(accounts, email).id, _password(password_stdin))
    out.print(f"Password of {escape(user.email)} set.")


@links_app.command("create")
def links_create(
    pack: Annotated[str, typer.Option(help="The pack id.")],
    level: Annotated[Level, one_of(Level, "junior, mid or senior.")],
    fmt: Annotated[str, typer.Option("--format", help="A format id of the pack.")],
    team: TeamOpt = DEFAULT_TEAM,
    label: Annotated[str, typer.Option(help="For reviewers: the role, the round.")] = "",
    questions: Annotated[
        str, typer.Option(help="Question ids to ask, comma-separated (default: chosen).")
    ] = "",
    job_description: Annotated[
        str, typer.Option("--job-description", help="Steers which questions are chosen.")
    ] = "",
    expires: Annotated[
        str | None, typer.Option(help="Last day it works (YYYY-MM-DD, UTC).")
    ] = None,
    uses: Annotated[int | None, typer.Option(min=1, help="How many people may use it.")] = None,
) -> None:
    """Create an interview link; the link is printed once (only its hash is stored)."""
    accounts = _accounts()
    spec = _checked_spec(accounts, pack, level, fmt, job_description, questions)
    until = None
    if expires:
        try:
            until = datetime.combine(date.fromisoformat(expires), time.max, tzinfo=UTC)
        except ValueError:
            raise AccountError(f"--expires '{expires}' is not a date like 2027-01-31.") from None
    link, code = accounts.create_link(_admin(team), spec, label, until, uses)
    out.print(f"Link {link.id} for team {escape(link.team)}:")
    out.print(escape(_url(accounts, f"link={code}")), soft_wrap=True)


def _checked_spec(
    accounts: Accounts, pack: str, level: Level, fmt: str, job: str, questions: str
) -> LinkSpec:
    """A link spec whose pack, format and questions exist here."""
    from interviewer.corpus import load_corpus
    from interviewer.pack_catalog import discover, pack_dirs, unaskable

    corpus = load_corpus(accounts.settings.corpus_dir).questions
    catalog = discover(pack_dirs(accounts.settings.packs_path), {q.id for q in corpus})
    packs = catalog.packs
    if pack not in packs:
        raise AccountError(f"No pack '{pack}'. Available: {', '.join(sorted(packs))}.")
    if fmt not in packs[pack].spec.formats:
        raise AccountError(
            f"Pack '{pack}' has no format '{fmt}'. Formats: {', '.join(packs[pack].spec.formats)}."
        )
    ids = [q.strip() for q in questions.split(",") if q.strip()]
    own = catalog.own_ids.get(pack, frozenset())
    wrong = unaskable(packs[pack], ids, [*corpus, *catalog.questions], own) if ids else None
    if wrong:
        raise AccountError(wrong)
    try:
        return LinkSpec(
            pack_id=pack, level=level, format=fmt, job_description=job, question_ids=ids
        )
    except ValueError as exc:
        raise AccountError(f"This link cannot be made: {exc}") from None


@links_app.command("list")
def links_list(team: Annotated[str | None, typer.Option(help="Only this team.")] = None) -> None:
    """Every link: what it fixes, its uses and whether it still works."""
    accounts = _accounts()
    table = Table("team", "label", "interview", "uses", "expires", "status")
    table.add_column("id", no_wrap=True)  # whole: `links revoke` takes it
    now = accounts.now()
    for link in accounts.store.links(team):
        spec = link.spec
        table.add_row(
            escape(link.team),
            escape(link.label),
            escape(f"{spec.pack_id} · {spec.level.value} · {spec.format}"),
            f"{link.uses}/{link.max_uses}" if link.max_uses else str(link.uses),
            (link.expires_at or "never")[:10],
            escape(link.problem(now) or "open"),
            link.id,
        )
    out.print(table)


@links_app.command("revoke")
def links_revoke(link_id: str) -> None:
    """Withdraw a link (interviews already started from it go on)."""
    accounts = _accounts()
    accounts.revoke_link(_admin(), link_id)
    out.print(f"Link {escape(link_id)} withdrawn.")
