"""Single sign-on's rules in the accounts service: which account a person the identity provider
signed in gets, and how long that sign-in counts (the browser tests drive the same paths
through Streamlit's st.login and a local provider)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.account_store import AccountStore
from interviewer.accounts.records import LinkSpec
from interviewer.accounts.service import AccountError, Accounts
from interviewer.config import Settings
from interviewer.domain import Level
from interviewer.store import SessionStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = Viewer(None, Role.ADMIN, "default")
SPEC = LinkSpec(pack_id="backend-developer", level=Level.MID, format="phone-screen")


def accounts(tmp_path: Path, **settings: object) -> Accounts:
    clock = [NOW]
    store = AccountStore(SessionStore.for_data_dir(tmp_path))
    service = Accounts(store, Settings(data_dir=tmp_path, accounts=True, sso=True, **settings))
    service.clock = lambda: clock[0]
    return service


def test_a_new_person_becomes_a_candidate_tied_to_the_subject(tmp_path: Path) -> None:
    svc = accounts(tmp_path)
    user = svc.sso_user(
        "Sam@Example.com ", "sub-1", "Sam", signed_in_at="2026-03-02T08:59:00+00:00"
    )
    assert (user.email, user.role, user.team, user.sso_subject) == (
        "sam@example.com",
        Role.CANDIDATE,
        "default",
        "sub-1",
    )
    assert user.last_sign_in_at == "2026-03-02T08:59:00+00:00"
    again = svc.sso_user("sam@example.com", "sub-1", signed_in_at="2026-03-02T10:00:00+00:00")
    assert again.id == user.id
    assert svc.store.user(email="sam@example.com").last_sign_in_at == "2026-03-02T10:00:00+00:00"  # type: ignore[union-attr]
    assert len(svc.store.users()) == 1


def test_an_existing_account_is_found_by_email_and_then_held_to_its_subject(
    tmp_path: Path,
) -> None:
    svc = accounts(tmp_path)
    made = svc.add_user("kim@example.com", Role.REVIEWER, "acme", "Kim", "kims password 1")
    user = svc.sso_user("kim@example.com", "kim-sub")
    assert (user.id, user.role, user.sso_subject) == (made.id, Role.REVIEWER, "kim-sub")
    with pytest.raises(AccountError, match="different person"):
        svc.sso_user("kim@example.com", "someone-else")
    svc.set_active(ADMIN, made.id, False)
    with pytest.raises(AccountError, match="disabled"):
        svc.sso_user("kim@example.com", "kim-sub")


def test_an_invitation_gives_its_role_and_team_once(tmp_path: Path) -> None:
    svc = accounts(tmp_path, sso_registers=False)
    svc.invite(ADMIN, "ivy@example.com", Role.REVIEWER, "acme")
    ivy = svc.sso_user("ivy@example.com", "ivy-sub", "Ivy")
    assert (ivy.role, ivy.team, ivy.name) == (Role.REVIEWER, "acme", "Ivy")
    with pytest.raises(AccountError, match="already has an account"):
        svc.invite(ADMIN, "ivy@example.com", Role.ADMIN)


def test_without_registration_only_invited_people_and_links_make_accounts(tmp_path: Path) -> None:
    svc = accounts(tmp_path, sso_registers=False)
    with pytest.raises(AccountError, match=r"no account for \S+ here.*invitation"):
        svc.sso_user("stranger@example.com", "x")
    assert svc.store.users() == []
    lead = svc.add_user("lee@example.com", Role.REVIEWER, "beta")
    _, code = svc.create_link(lead.viewer, SPEC, max_uses=1)
    user = svc.sso_user("nia@example.com", "nia-sub", link_code=code)
    assert (user.role, user.team) == (Role.CANDIDATE, "beta")
    # A link that cannot be used any more says why, when nothing else would make the account.
    link = svc.links(lead.viewer)[0]
    svc.revoke_link(lead.viewer, link.id)
    with pytest.raises(AccountError, match="withdrawn"):
        svc.sso_user("otto@example.com", "otto-sub", link_code=code)


def test_with_registration_a_spent_link_still_makes_a_candidate(tmp_path: Path) -> None:
    svc = accounts(tmp_path)
    with pytest.raises(AccountError):
        svc.open_link("no-such-code-at-all-000000")
    user = svc.sso_user("otto@example.com", "otto-sub", link_code="no-such-code-at-all-000000")
    assert (user.role, user.team) == (Role.CANDIDATE, "default")


@pytest.mark.parametrize("verified", [False, "false", "False"])
def test_an_address_the_provider_has_not_verified_is_refused(
    tmp_path: Path, verified: object
) -> None:
    svc = accounts(tmp_path)
    svc.add_user("boss@example.com", Role.ADMIN)
    with pytest.raises(AccountError, match="not verified"):
        svc.sso_user("boss@example.com", "attacker", email_verified=verified)
    assert svc.store.user(email="boss@example.com").sso_subject is None  # type: ignore[union-attr]
    assert svc.sso_user("new@example.com", "n", email_verified=True).email == "new@example.com"


@pytest.mark.parametrize(("email", "subject"), [("", "s"), ("not an address", "s"), ("a@b.c", "")])
def test_a_sign_on_without_an_address_or_a_subject_is_refused(
    tmp_path: Path, email: str, subject: str
) -> None:
    with pytest.raises(AccountError, match="identity provider did not"):
        accounts(tmp_path).sso_user(email, subject)


def test_a_single_sign_on_lasts_session_hours(tmp_path: Path) -> None:
    svc = accounts(tmp_path, session_hours=12)
    issued = NOW.timestamp()
    assert svc.sso_current(issued)
    assert svc.sso_current(int(issued) - 11 * 3600)
    assert not svc.sso_current(issued - 12 * 3600)  # Streamlit's cookie lasts 30 days
    assert not svc.sso_current(issued + 3600)  # issued in the future: a clock far off
    assert svc.sso_current(issued + 60)  # a little skew is fine
    for odd in (None, "1700000000", True, float("nan"), 1e20):
        assert not svc.sso_current(odd)
    svc.clock = lambda: NOW + timedelta(hours=11, minutes=59)
    assert svc.sso_current(issued)


def test_the_app_accepts_a_single_sign_on_only_for_session_hours(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the app (AppTest sets st.user as Streamlit's identity cookie would): a sign-on
    issued two hours ago, with one-hour sign-ins, is sent back to the sign-in page; a fresh
    one signs the person in, with the account single sign-on made."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from interviewer.config import PROJECT_ROOT

    for name, value in {"ACCOUNTS": "true", "SSO": "true", "SESSION_HOURS": "1"}.items():
        monkeypatch.setenv(f"INTERVIEWER_{name}", value)
    st.cache_resource.clear()  # services for these settings
    now = datetime.now(UTC).timestamp()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.user = {"is_logged_in": True, "email": "kim@example.com", "sub": "k1", "iat": now - 7200}
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [
        "Your single sign-on has ended (a sign-in lasts 1 hour here). Sign in again."
    ]
    assert any(b.label == "Sign in with single sign-on" for b in at.button)
    assert not any("Signed in as" in c.value for c in at.sidebar.caption)
    assert accounts(isolated_env).store.users() == []

    at.user = {**at.user, "iat": now - 60}
    at.run()
    assert not at.exception, at.exception
    signed = [c.value for c in at.sidebar.caption if c.value.startswith("Signed in as")]
    assert len(signed) == 1 and signed[0].endswith("(candidate, team default)"), signed
    assert at.warning.len == 0
    (kim,) = accounts(isolated_env).store.users()
    assert (kim.email, kim.sso_subject) == ("kim@example.com", "k1")
    assert kim.last_sign_in_at == datetime.fromtimestamp(int(now - 60), UTC).isoformat()
    st.cache_resource.clear()
