"""Accounts: passwords, sign-in limits and expiry, invitations, roles, single sign-on mapping,
interview links, and isolation enforced by the store's own queries (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.account_store import AccountStore, token_hash
from interviewer.accounts.passwords import PasswordError
from interviewer.accounts.records import LinkSpec
from interviewer.accounts.service import WRONG, AccountError, Accounts
from interviewer.config import Settings
from interviewer.domain import Level, Phase
from interviewer.progress import progress
from interviewer.review.grades import ReviewError
from interviewer.review.service import Review
from interviewer.services import Services
from interviewer.store import SessionStore, StoreError

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _accounts(url: str, clock: Clock | None = None, **settings: object) -> Accounts:
    store = SessionStore(url)
    config = Settings(accounts=True, **settings)  # type: ignore[arg-type]
    return Accounts(AccountStore(store), config, clock or Clock())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def accounts(url: str, clock: Clock) -> Accounts:
    return _accounts(url, clock)


# --- passwords and signing in ------------------------------------------------------------------


def test_a_password_is_stored_as_an_argon2id_hash_and_a_sign_in_token_only_hashed(
    accounts: Accounts, url: str
) -> None:
    accounts.add_user("Kim@Example.com", Role.CANDIDATE, password=PASSWORD)
    user, token = accounts.sign_in("  kim@example.COM ", PASSWORD)
    assert user.email == "kim@example.com"
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
        tokens = [r[0] for r in conn.execute(text("SELECT token_hash FROM auth_sessions"))]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert tokens == [token_hash(token)] and token not in tokens
    assert accounts.user_for(token) == accounts.store.user(email="kim@example.com")
    with pytest.raises(AccountError, match="match"):
        accounts.sign_in("kim@example.com", PASSWORD + "!")


def test_password_rules_name_what_is_wrong(accounts: Accounts) -> None:
    with pytest.raises(PasswordError, match="at least 10"):
        accounts.add_user("a@example.com", Role.CANDIDATE, password="short")
    with pytest.raises(PasswordError, match="email"):
        accounts.add_user(
            "longaddress@example.com", Role.CANDIDATE, password="longaddress@example.com"
        )
    with pytest.raises(AccountError, match="not an email"):
        accounts.add_user("not-an-address", Role.CANDIDATE, password=PASSWORD)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Kim@Example.com ", "kim@example.com"),
        ("a.b+tag@sub.example.co", "a.b+tag@sub.example.co"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("zoë@exämple.de", "zoë@exämple.de"),
        ("admin@localhost", "admin@localhost"),
        ("<b>kim</b>@example.com", None),
        ("kim@<i>example</i>.com", None),
        ('"kim"@example.com', None),
        ("kim smith@example.com", None),
        ("kim@example.com,eve@example.com", None),
        ("kim@example..com", None),
    ],
)
def test_an_email_address_is_an_address_not_markup(raw: str, kept: str | None) -> None:
    from interviewer.accounts.records import normal_email

    if kept is not None:
        assert normal_email(raw) == kept
        return
    with pytest.raises(ValueError, match="is not an email address"):
        normal_email(raw)


def test_unknown_email_and_wrong_password_get_the_same_answer_in_the_same_time(
    url: str, clock: Clock
) -> None:
    accounts = _accounts(url, clock, sign_in_limit=100)
    accounts.add_user("kim@example.com", Role.CANDIDATE, password=PASSWORD)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    messages = set()
    for _ in range(7):
        for kind, email in (("known", "kim@example.com"), ("unknown", "nobody@example.com")):
            start = time.perf_counter()
            with pytest.raises(AccountError) as caught:
                accounts.sign_in(email, "not the password")
            times[kind].append(time.perf_counter() - start)
            messages.add(str(caught.value))
    assert messages == {WRONG}
    ratio = statistics.median(times["unknown"]) / statistics.median(times["known"])
    # Both check an Argon2 hash (the unknown one a dummy): without it the ratio is ~0.01.
    assert 0.6 < ratio < 1.6, ratio


def test_sign_in_is_refused_past_the_limit_then_frees_after_the_window(
    accounts: Accounts, clock: Clock
) -> None:
    accounts.add_user("kim@example.com", Role.CANDIDATE, password=PASSWORD)
    for _ in range(5):
        with pytest.raises(AccountError, match="match"):
            accounts.sign_in("kim@example.com", "guess " * 3, "10.0.0.1")
        clock.advance(seconds=30)
    with pytest.raises(AccountError, match=r"Too many failed sign-ins\. Wait 13 minutes"):
        accounts.sign_in("kim@example.com", PASSWORD, "10.0.0.2")  # even the right password
    for _ in range(5):  # an unknown address is limited the same way: nothing tells them apart
        with pytest.raises(AccountError, match="match"):
            accounts.sign_in("ghost@example.com", "guess " * 3, "10.0.0.3")
    with pytest.raises(AccountError, match="Too many"):
        accounts.sign_in("ghost@example.com", "guess " * 3, "10.0.0.3")
    clock.advance(minutes=13)
    user, _ = accounts.sign_in("kim@example.com", PASSWORD, "10.0.0.2")
    assert user.email == "kim@example.com"


def test_one_client_address_trying_many_emails_is_limited(accounts: Accounts) -> None:
    for n in range(20):  # 4 x the per-email limit
        with pytest.raises(AccountError, match="match"):
            accounts.sign_in(f"user{n}@example.com", "guess " * 3, "10.9.9.9")
    with pytest.raises(AccountError, match="Too many"):
        accounts.sign_in("user99@example.com", "guess " * 3, "10.9.9.9")
    with pytest.raises(AccountError, match="match"):  # another address is not held back
        accounts.sign_in("user99@example.com", "guess " * 3, "10.1.1.1")


def test_a_sign_in_expires_and_signing_out_ends_it_on_every_server(url: str, clock: Clock) -> None:
    server_a, server_b = _accounts(url, clock, session_hours=2), _accounts(url, clock)
    server_a.add_user("kim@example.com", Role.CANDIDATE, password=PASSWORD)
    _, token = server_a.sign_in("kim@example.com", PASSWORD)
    assert server_b.user_for(token) is not None  # the other server knows it: it is in the DB
    clock.advance(hours=1, minutes=59)
    assert server_b.user_for(token) is not None
    clock.advance(minutes=1)
    assert server_b.user_for(token) is None  # expired after session_hours
    _, token = server_a.sign_in("kim@example.com", PASSWORD)
    server_a.sign_out(token)
    assert server_b.user_for(token) is None
    assert server_b.user_for("made-up-token") is None and server_b.user_for("") is None


def test_disabling_or_changing_a_role_ends_sign_ins_and_the_last_admin_stays(
    accounts: Accounts,
) -> None:
    admin = accounts.add_user("ada@example.com", Role.ADMIN, password=PASSWORD).viewer
    kim = accounts.add_user("kim@example.com", Role.CANDIDATE, password=PASSWORD)
    _, token = accounts.sign_in("kim@example.com", PASSWORD)
    accounts.set_role(admin, kim.id, Role.REVIEWER)
    assert accounts.user_for(token) is None
    _, token = accounts.sign_in("kim@example.com", PASSWORD)
    assert accounts.user_for(token).role is Role.REVIEWER  # type: ignore[union-attr]
    accounts.set_active(admin, kim.id, False)
    assert accounts.user_for(token) is None
    with pytest.raises(AccountError, match="match"):  # a disabled account: the same answer
        accounts.sign_in("kim@example.com", PASSWORD)
    with pytest.raises(AccountError, match="last admin"):
        accounts.set_role(admin, admin.user_id or "", Role.CANDIDATE)
    with pytest.raises(AccountError, match="last admin"):
        accounts.set_active(admin, admin.user_id or "", False)
    with pytest.raises(AccountError, match="admin role"):
        accounts.set_role(kim.viewer, admin.user_id or "", Role.CANDIDATE)


def test_an_invitation_works_once_and_until_it_expires(accounts: Accounts, clock: Clock) -> None:
    admin = accounts.add_user("ada@example.com", Role.ADMIN, password=PASSWORD).viewer
    token = accounts.invite(admin, "rev@example.com", Role.REVIEWER, "acme")
    user, session = accounts.accept(token, "Rev", PASSWORD)
    assert (user.role, user.team, user.name) == (Role.REVIEWER, "acme", "Rev")
    assert accounts.user_for(session) is not None
    with pytest.raises(AccountError, match="already accepted"):
        accounts.accept(token, "Someone else", PASSWORD)
    late = accounts.invite(admin, "late@example.com", Role.CANDIDATE)
    clock.advance(days=7, seconds=1)
    with pytest.raises(AccountError, match="expired"):
        accounts.accept(late, "Late", PASSWORD)
    with pytest.raises(AccountError, match="not valid"):
        accounts.accept("stolen-or-made-up", "X", PASSWORD)
    reviewer = user.viewer
    with pytest.raises(AccountError, match="Only an admin"):
        accounts.invite(reviewer, "boss@example.com", Role.ADMIN)
    with pytest.raises(AccountError, match="Only an admin"):
        accounts.invite(reviewer, "other@example.com", Role.CANDIDATE, "other-team")


def test_single_sign_on_finds_ties_and_creates_accounts(url: str, clock: Clock) -> None:
    accounts = _accounts(url, clock)
    admin = accounts.add_user("ada@example.com", Role.ADMIN, password=PASSWORD).viewer
    first = accounts.sso_user("New@Example.com", "sub-1", "New Person")
    assert (first.role, first.sso_subject, first.email) == (
        Role.CANDIDATE,
        "sub-1",
        "new@example.com",
    )
    assert accounts.sso_user("new@example.com", "sub-1").id == first.id
    with pytest.raises(AccountError, match="different person"):
        accounts.sso_user("new@example.com", "sub-2")
    accounts.invite(admin, "lead@example.com", Role.REVIEWER, "acme")
    lead = accounts.sso_user("lead@example.com", "sub-3")
    assert (lead.role, lead.team) == (Role.REVIEWER, "acme")
    closed = _accounts(url, clock, sso_registers=False)
    with pytest.raises(AccountError, match="no account"):
        closed.sso_user("stranger@example.com", "sub-4")
    assert closed.store.user(email="stranger@example.com") is None
    with pytest.raises(AccountError, match="email"):
        closed.sso_user("", "sub-5")


def test_registration_needs_an_open_setting_or_a_valid_link(url: str, clock: Clock) -> None:
    accounts = _accounts(url, clock)
    with pytest.raises(AccountError, match="interview link or an invitation"):
        accounts.register("kim@example.com", "Kim", PASSWORD)
    reviewer = accounts.add_user("rev@example.com", Role.REVIEWER, "acme").viewer
    spec = LinkSpec(pack_id="backend-developer", level=Level.MID, format="phone-screen")
    _, code = accounts.create_link(reviewer, spec)
    kim, token = accounts.register("kim@example.com", "Kim", PASSWORD, code)
    assert (kim.role, kim.team) == (Role.CANDIDATE, "acme") and accounts.user_for(token)
    with pytest.raises(AccountError, match="already an account"):
        accounts.register("kim@example.com", "Kim", PASSWORD, code)
    opened = _accounts(url, clock, open_registration=True)
    assert opened.register("lee@example.com", "Lee", PASSWORD)[0].role is Role.CANDIDATE


# --- links and isolation, on SQLite and PostgreSQL ----------------------------------------------


@dataclass
class Team:
    """A deployment with two teams: candidates, reviewers, an admin, links, interviews."""

    svc: Services
    accounts: Accounts
    ana: Viewer  # candidate, team x
    ben: Viewer  # candidate, team y
    rex: Viewer  # reviewer, team x
    ray: Viewer  # reviewer, team y
    ada: Viewer  # admin
    practice: str  # ana's own interview
    ana_link: str  # ana's interview through team x's link
    ben_link: str  # ben's interview through team y's link
    code_x: str


def _finish(svc: Services, session_id: str, viewer: Viewer, answer: str) -> None:
    interview = svc.open_interview(session_id, viewer=viewer)
    interview.handle(answer)
    interview.handle("end")
    assert interview.session.phase is Phase.DONE


@pytest.fixture(params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, shipped_services: Services, tmp_path: Path) -> Team:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'team.db'}"
    else:
        url = _fresh_database(request.getfixturevalue("postgres_url"))
    store = SessionStore(url)
    svc = shipped_services.sharing(shipped_services.settings, store)
    accounts = svc.accounts
    add = accounts.add_user
    ana = add("ana@example.com", Role.CANDIDATE, "x").viewer
    ben = add("ben@example.com", Role.CANDIDATE, "y").viewer
    rex = add("rex@example.com", Role.REVIEWER, "x").viewer
    ray = add("ray@example.com", Role.REVIEWER, "y").viewer
    ada = add("ada@example.com", Role.ADMIN, "x").viewer
    spec = LinkSpec(pack_id="backend-developer", level=Level.MID, format="phone-screen")
    _, code_x = accounts.create_link(rex, spec, "x round", max_uses=3)
    _, code_y = accounts.create_link(ray, spec, "y round")
    practice = svc.new_interview("backend-developer", Level.JUNIOR, "phone-screen", viewer=ana)
    practice.start()
    ana_link = svc.interview_from_link(code_x, ana)
    ana_link.start()
    ben_link = svc.interview_from_link(code_y, ben)
    ben_link.start()
    _finish(svc, ana_link.session.id, ana, "ANA-SECRET: I would use a queue with retries.")
    _finish(svc, ben_link.session.id, ben, "BEN-SECRET: I would add an index on the column.")
    return Team(
        svc,
        accounts,
        ana,
        ben,
        rex,
        ray,
        ada,
        practice.session.id,
        ana_link.session.id,
        ben_link.session.id,
        code_x,
    )


def _fresh_database(server_url: str) -> str:
    """A new, empty database on the shared test server (each test its own)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def test_every_viewer_sees_exactly_their_sessions(team: Team) -> None:
    store = team.svc.store
    seen = {
        who: {r.id for r in store.list_sessions(viewer=getattr(team, who))}
        for who in ("ana", "ben", "rex", "ray", "ada")
    }
    assert seen == {
        "ana": {team.practice, team.ana_link},
        "ben": {team.ben_link},
        "rex": {team.ana_link},  # the interviews of team x's links, not ana's own practice
        "ray": {team.ben_link},
        "ada": {team.practice, team.ana_link, team.ben_link},
    }


@pytest.mark.parametrize("who", ["ben", "rex", "ray"])
def test_opening_a_session_as_the_wrong_user_reveals_nothing(team: Team, who: str) -> None:
    viewer = getattr(team, who)
    hidden = [team.practice, team.ana_link, team.ben_link]
    visible = {r.id for r in team.svc.store.list_sessions(viewer=viewer)}
    for session_id in hidden:
        if session_id in visible:
            continue
        attempts = (
            lambda sid: team.svc.open_interview(sid, viewer=viewer),
            lambda sid: team.svc.store.load(sid, viewer=viewer),
            lambda sid: team.svc.store.load(sid[:8], viewer=viewer, prefix=True),
        )
        for attempt in attempts:
            with pytest.raises(StoreError) as caught:
                attempt(session_id)
            assert "that you can open" in str(caught.value)
    rows, points = progress(
        team.svc.store, team.svc.corpus.by_id(), None, viewer=viewer, owner_id=team.ana.user_id
    )
    assert (rows, points) == ([], []) if who != "rex" else {r.id for r in rows} == {team.ana_link}


def test_review_queue_and_export_hold_only_the_reviewers_team(team: Team) -> None:
    for reviewer, own, other in (
        (team.rex, team.ana_link, team.ben_link),
        (team.ray, team.ben_link, team.ana_link),
    ):
        review = Review(team.svc, viewer=reviewer)
        items = review.queue()
        assert items and {i.key.split(":")[1] for i in items} == {own}
        item = items[0]
        review.commit(item, reviewer.email, {c.id: 3 for c in item.rubric.criteria}, 3.0)
        exported = "\n".join(review.export(items, with_names=True))
        assert own in exported and other not in exported
        secret = "BEN-SECRET" if reviewer is team.rex else "ANA-SECRET"
        assert secret not in exported
    candidate = Review(team.svc, viewer=team.ana)
    assert {i.key.split(":")[1] for i in candidate.queue()} <= {team.ana_link, team.practice}
    admin = {i.key.split(":")[1] for i in Review(team.svc, viewer=team.ada).queue()}
    assert admin == {team.ana_link, team.ben_link}
    with pytest.raises(ReviewError):
        Review(team.svc, viewer=team.rex).export([], with_names=True)


def test_a_link_resumes_its_interview_counts_uses_and_refuses_when_spent(team: Team) -> None:
    accounts, svc = team.accounts, team.svc
    spec = LinkSpec(pack_id="backend-developer", level=Level.SENIOR, format="phone-screen")
    link, code = accounts.create_link(team.rex, spec, "one seat", max_uses=1)
    first = svc.interview_from_link(code, team.ana)
    again = svc.interview_from_link(code, team.ana)  # a refresh: the same interview
    assert again.session.id == first.session.id and again.session.level is Level.SENIOR
    assert accounts.store.link(link_id=link.id).uses == 1  # type: ignore[union-attr]
    with pytest.raises(AccountError, match="used as many times"):
        svc.interview_from_link(code, team.ben)
    with pytest.raises(AccountError, match="not valid"):
        svc.interview_from_link(code[:-2] + "xx", team.ben)  # a guessed or mangled code
    first.start()
    _finish(svc, first.session.id, team.ana, "I would retry with an idempotency key.")
    done = svc.interview_from_link(code, team.ana)  # the spent link leads to their report
    assert done.session.id == first.session.id and done.session.phase is Phase.DONE
    with pytest.raises(AccountError, match="used as many times"):
        svc.interview_from_link(code, team.ben)  # and to nobody else's
    accounts.revoke_link(team.rex, link.id)
    with pytest.raises(AccountError, match="withdrawn"):
        accounts.open_link(code)
    assert svc.interview_from_link(code, team.ana).session.id == first.session.id
    with pytest.raises(AccountError, match="of your team"):
        accounts.revoke_link(team.ray, link.id)  # another team's link


def test_a_link_with_a_question_list_and_an_expiry(team: Team) -> None:
    accounts, svc = team.accounts, team.svc
    ids = [q.id for q in svc.corpus.questions[:2]]
    spec = LinkSpec(
        pack_id="backend-developer", level=Level.MID, format="phone-screen", question_ids=ids
    )
    soon = accounts.clock() + timedelta(hours=1)
    link, code = accounts.create_link(team.rex, spec, expires_at=soon)
    interview = svc.interview_from_link(code, team.ben)
    assert [s.question_id for s in interview.session.plan] == ids
    assert (interview.session.team, interview.session.link_id) == ("x", link.id)
    late = Accounts(accounts.store, accounts.settings, lambda: soon + timedelta(seconds=1))
    with pytest.raises(AccountError, match="expired"):
        late.open_link(code)
    with pytest.raises(AccountError, match="reviewer role"):
        accounts.create_link(team.ana, spec)  # candidates cannot make links


def test_a_link_with_one_fixed_question_is_greeted_as_one_question(team: Team) -> None:
    spec = LinkSpec(
        pack_id="backend-onsite",
        level=Level.MID,
        format="onsite",
        question_ids=["onsite-payment-double-charge-after-deploy"],  # the pack's own question
    )
    _, code = team.accounts.create_link(team.rex, spec)
    interview = team.svc.interview_from_link(code, team.ben)
    interview.start()
    greeting = interview.session.turns[0].text
    assert "1 question at mid level, in about 120 minutes" in greeting, greeting
    assert "5 questions" not in greeting


def test_the_links_picker_offers_only_what_the_pack_can_ask(shipped_services: Services) -> None:
    onsite = shipped_services.askable(shipped_services.pack("backend-onsite"))
    ids = {q.id for q in onsite}
    assert "onsite-payment-double-charge-after-deploy" in ids  # its own questions
    assert "api-idempotency-keys" in ids  # its role's corpus questions
    assert not any(q.role == "frontend-developer" for q in onsite)  # not another role's


# --- the command line ---------------------------------------------------------------------------


def test_users_and_links_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from factories import cli_error
    from typer.testing import CliRunner

    from interviewer.cli import app

    monkeypatch.setenv("INTERVIEWER_ACCOUNTS", "true")
    monkeypatch.setenv("INTERVIEWER_PUBLIC_URL", "https://interviews.example.com/")
    monkeypatch.setenv("COLUMNS", "200")
    run = CliRunner().invoke
    made = run(
        app,
        ["users", "add", "ada@example.com", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0 and "as admin" in made.output, made.output
    assert (
        run(
            app, ["users", "invite", "rev@example.com", "--role", "reviewer", "--team", "acme"]
        ).output.count("https://interviews.example.com/?invite=")
        == 1
    )
    run(app, ["users", "add", "kim@example.com", "--no-password"])
    assert run(app, ["users", "role", "kim@example.com", "reviewer"]).exit_code == 0
    clock = Clock()
    _accounts(f"sqlite:///{Settings().data_dir / 'sessions.db'}", clock).sign_in(
        "ada@example.com", PASSWORD
    )
    listed = run(app, ["users", "list"]).output
    assert "kim@example.com" in listed and "reviewer" in listed and "ada@example.com" in listed
    # last sign-in to the minute, as every page shows times (the cell may wrap date and time)
    day, minute = clock.now.strftime("%Y-%m-%d"), clock.now.strftime("%H:%M")
    assert day in listed and minute in listed and f"T{minute}" not in listed, listed
    assert re.search(r"kim@example\.com.*never", listed), listed
    link = run(
        app,
        [
            "links",
            "create",
            "--pack",
            "backend-developer",
            "--level",
            "mid",
            "--format",
            "phone-screen",
            "--uses",
            "2",
            "--label",
            "round 1",
        ],
    )
    assert link.exit_code == 0 and "https://interviews.example.com/?link=" in link.output
    link_id = link.output.split()[1]
    assert "0/2" in run(app, ["links", "list"]).output
    assert run(app, ["links", "revoke", link_id]).exit_code == 0
    assert "withdrawn" in run(app, ["links", "list"]).output
    assert "last admin" in cli_error(
        monkeypatch, capsys, "users", "role", "ada@example.com", "candidate"
    )
    assert "No account for nobody@example.com" in cli_error(
        monkeypatch, capsys, "users", "disable", "nobody@example.com"
    )
    create = ["links", "create", "--pack", "backend-developer", "--level", "mid", "--format"]
    assert "no format 'lunch'" in cli_error(monkeypatch, capsys, *create, "lunch")
    assert "Not in the question bank: nope" in cli_error(
        monkeypatch, capsys, *create, "phone-screen", "--questions", "nope"
    )
    # Fixed questions are those the pack can ask: its role's and its own, no other role's.
    onsite = ["links", "create", "--pack", "backend-onsite", "--level", "mid", "--format"]
    own = "onsite-payment-double-charge-after-deploy,api-idempotency-keys"
    assert run(app, [*onsite, "onsite", "--questions", own]).exit_code == 0
    refused = cli_error(monkeypatch, capsys, *onsite, "onsite", "--questions", "fe-css-box-model")
    assert "Pack 'backend-onsite' does not ask fe-css-box-model" in refused
    assert "backend-developer questions and its own" in refused


def test_a_reviewer_or_admin_reads_an_interview_but_cannot_answer_in_it(team: Team) -> None:
    svc = team.svc
    before = len(svc.store.load(team.practice, viewer=team.ana).turns)
    watched = svc.open_interview(team.practice, viewer=team.ada)  # the admin may read it
    with pytest.raises(StoreError, match="Only the candidate"):
        watched.handle("An answer typed by the admin into the candidate's interview.")
    assert len(svc.store.load(team.practice, viewer=team.ana).turns) == before
    mine = svc.open_interview(team.practice, viewer=team.ana)
    mine.handle("My own answer.")
    assert len(svc.store.load(team.practice, viewer=team.ana).turns) > before


def test_the_client_address_is_the_entry_the_proxy_added() -> None:
    from interviewer.web.auth import address_from

    # A browser can send its own X-Forwarded-For; the proxy appends the address it saw.
    assert address_from("6.6.6.6, 203.0.113.7", "10.0.0.2") == "203.0.113.7"
    assert address_from("203.0.113.7", None) == "203.0.113.7"
    assert address_from(None, "10.0.0.2") == "10.0.0.2"
    assert address_from("  ", None) is None
