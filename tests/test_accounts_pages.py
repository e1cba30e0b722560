"""The app with accounts on, through Streamlit's AppTest: the sign-in gate in front of every
page, and each role-restricted page refusing a person without the role (even when opened
directly, not through the navigation)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from interviewer.accounts.access import Role, Viewer
from interviewer.config import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module", autouse=True)
def one_server() -> Iterator[None]:
    """The module's tests share one app's services (built once, about 5 s), as the browser
    sessions of one server do; each test uses its own people."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def accounts_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_ACCOUNTS", "true")


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [m.value for m in at.title]
        + [e.value for e in at.error]
        + [i.value for i in at.info]
        + [c.value for c in at.caption]
    )


def test_nobody_signed_in_sees_only_the_sign_in_form_whatever_the_url() -> None:
    from interviewer.web.resources import services

    at = _app()
    svc = services()
    owner = svc.accounts.add_user("ana@example.com", Role.CANDIDATE, password=PASSWORD)
    session = svc.new_interview("backend-developer", "mid", "phone-screen", viewer=owner.viewer)  # type: ignore[arg-type]
    session.start()
    for query in ({}, {"session": session.session.id}, {"profile": "kim"}):
        at = _app(**query)
        labels = [b.label for b in at.button]
        assert "Sign in" in labels and "Start interview" not in labels
        assert session.session.turns[-1].text[:40] not in _text(at)


def test_a_wrong_password_is_a_message_and_the_right_one_signs_in() -> None:
    from interviewer.web.resources import services

    at = _app()
    services().accounts.add_user("kim@example.com", Role.CANDIDATE, "x", "Kim", PASSWORD)
    at.text_input[0].input("kim@example.com")
    at.text_input[1].input("not it at all")
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert "do not match" in _text(at)
    at.text_input[1].input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    assert "Signed in as" in _text(at) and at.session_state["auth-token"]
    assert any(b.label == "Start interview" for b in at.button)


def _as(viewer: Viewer, page: Callable[[], None]) -> AppTest:
    at = AppTest.from_function(page, default_timeout=120)
    at.session_state["viewer"] = viewer
    at.run()
    assert not at.exception, at.exception
    return at


def _review() -> None:
    from interviewer.web.review_page import review_page

    review_page()


def _links() -> None:
    from interviewer.web.links_page import links_page

    links_page()


def _people() -> None:
    from interviewer.web.team_page import team_page

    team_page()


def _model() -> None:
    from interviewer.web.model_page import model_page

    model_page()


@pytest.mark.parametrize(
    ("page", "needs"),
    [
        (_review, Role.REVIEWER),
        (_links, Role.REVIEWER),
        (_people, Role.ADMIN),
        (_model, Role.ADMIN),
    ],
)
def test_a_restricted_page_refuses_a_person_without_the_role(
    page: Callable[[], None], needs: Role
) -> None:
    below = Role.CANDIDATE if needs is Role.REVIEWER else Role.REVIEWER
    refused = _as(Viewer("u1", below, "x", "kim@example.com"), page)
    assert any("This page is for" in e.value for e in refused.error)
    allowed = _as(Viewer("u2", needs, "x", "rev@example.com"), page)
    assert not any("This page is for" in e.value for e in allowed.error)


def _interview() -> None:
    from interviewer.web.interview_page import interview_page

    interview_page()


def test_only_reviewers_and_admins_see_the_pack_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    from interviewer.web.resources import services

    svc = services()
    problem = "/srv/acme/packs/broken/pack.yaml: not valid YAML: mapping values are not allowed"
    monkeypatch.setattr(svc.catalog, "problems", [problem])

    def shown(at: AppTest) -> str:
        return " ".join([e.label for e in at.expander] + [c.value for c in at.code])

    candidate = _as(Viewer("u1", Role.CANDIDATE, "x", "kim@example.com"), _interview)
    assert any(b.label == "Start interview" for b in candidate.button)
    assert "pack problem" not in shown(candidate) and "/srv/acme" not in shown(candidate)
    for who in (Viewer("u2", Role.REVIEWER, "x", "rev@example.com"), Viewer.local()):
        at = _as(who, _interview)
        assert "1 pack problem" in shown(at) and problem in shown(at)


def test_the_links_picker_offers_the_packs_own_questions_and_no_other_roles() -> None:
    at = _as(Viewer("u3", Role.REVIEWER, "x", "rev@example.com"), _links)
    at.selectbox[0].set_value("backend-onsite").run()
    offered = " ".join(at.multiselect[0].options)
    assert "onsite-payment-double-charge-after-deploy:" in offered  # the pack's own
    assert "api-idempotency-keys:" in offered  # its role's corpus questions
    assert "fe-css-box-model" not in offered  # another role's


def test_the_link_sign_in_page_names_the_interview_in_good_english() -> None:
    from interviewer.accounts.records import LinkSpec
    from interviewer.domain import Level
    from interviewer.web.resources import services

    accounts = services().accounts
    rev = accounts.add_user("lead@example.com", Role.REVIEWER, "x", password=PASSWORD).viewer
    spec = LinkSpec(pack_id="backend-onsite", level=Level.MID, format="onsite")
    _, code = accounts.create_link(rev, spec, "loop")
    notice = " ".join(i.value for i in _app(link=code).info)
    assert "invited to an **Onsite loop** interview (Backend onsite loop" in notice, notice


def test_an_admin_opening_a_candidates_finished_interview_reads_it_as_theirs_not_as_yours() -> None:
    from interviewer.web.resources import services

    svc = services()
    owner = svc.accounts.add_user("noor@example.com", Role.CANDIDATE, password=PASSWORD)
    interview = svc.new_interview("backend-developer", "mid", "phone-screen", viewer=owner.viewer)  # type: ignore[arg-type]
    interview.start()
    words = "I would cache the hot keys in Redis with a short TTL and invalidate on write."
    interview.handle(words)
    interview.handle("end")

    def opened(who: Viewer) -> str:
        at = AppTest.from_function(_interview, default_timeout=120)
        at.session_state["viewer"] = who
        at.query_params["session"] = interview.session.id
        at.run()
        assert not at.exception, at.exception
        return "\n".join(
            [t.value for t in at.title]
            + [e.label for e in at.expander]
            + [c.value for c in at.caption]
        )

    admin = opened(Viewer("u9", Role.ADMIN, "", "root@example.com"))
    assert "Interview report" in admin and "The candidate's answer" in admin, admin
    assert "Your interview report" not in admin and "Your answer" not in admin
    assert "Your interview report" in opened(owner.viewer)
