"""Accounts end to end in Debian's headless Chromium, on one real `streamlit run` server for the
whole module (``accounts_app``: accounts and single sign-on on, against a local OpenID Connect
provider; accounts are not made on single sign-on, ``sso_registers`` false).

Each person has a browser context of their own (their own cookies). What the pages did is
checked in the server's database as well as on screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from accounts_app import WAIT, AccountsApp, accounts_app, chromium

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.service import WRONG

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

__all__ = ["accounts_app", "chromium"]  # the module's fixtures

# The provider runs in this process, on Authlib APIs that Authlib has deprecated: its warnings
# are the mock's business, not the app's.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib.oidc.core.grants._legacy"),
]

RUNNING = """() => document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') === null"""
RESTRICTED = ["Review", "Links", "People", "Model"]


@pytest.fixture
def person(
    chromium: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Page]]:
    """A new person: a page in a browser context of its own (closed after the test; when the
    test failed, each page's screenshot is saved first, and its path printed)."""
    contexts: list[BrowserContext] = []
    failed = request.session.testsfailed

    def person() -> Page:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield person
    for n, context in enumerate(contexts):
        if request.session.testsfailed > failed:
            for page in context.pages:
                shot = tmp_path / f"person-{n}.png"
                page.screenshot(path=str(shot))
                print(f"person {n} at {page.url}: {shot}")
        context.close()


def idle(page: Page) -> None:
    """Wait until no script run is going on (twice: a click may start a second run)."""
    page.wait_for_function(RUNNING, timeout=WAIT)
    page.wait_for_timeout(250)
    page.wait_for_function(RUNNING, timeout=WAIT)


def signed_in(page: Page, who: str) -> None:
    """``who`` is signed in, and the browser holds the sign-in's cookie (a script in the page
    sets the app's own one, a moment after the page shows the name: a reload before that would
    find no cookie)."""
    from playwright.sync_api import expect

    expect(page.get_by_text(f"Signed in as {who}")).to_be_visible(timeout=WAIT)
    deadline = time.monotonic() + WAIT / 1000
    while not {"interviewer_auth", "_streamlit_user"} & {c["name"] for c in page.context.cookies()}:
        assert time.monotonic() < deadline, "no sign-in cookie"
        page.wait_for_timeout(50)


def sign_in_page(page: Page) -> None:
    """The sign-in page is showing (and nobody is signed in)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=WAIT)
    assert page.get_by_text("Signed in as").count() == 0


def cookie(page: Page, name: str, *, held: bool) -> None:
    """The browser comes to hold (or to have dropped) cookie ``name`` within the wait: a script
    in the page sets and clears the app's own cookies."""
    deadline = time.monotonic() + WAIT / 1000
    while (name in {c["name"] for c in page.context.cookies()}) != held:
        assert time.monotonic() < deadline, f"the browser {'lacks' if held else 'holds'} {name}"
        page.wait_for_timeout(50)


def slow_page_script(page: Page, seconds: float = 4.0) -> None:
    """Hold back the front end's code for ``st.html`` by ``seconds``, on the next page load: an
    element drawn with it then shows only once the code is in, as on a slow connection (and
    an element a later run replaces before then never shows)."""

    def hold(route: Route) -> None:
        time.sleep(seconds)
        route.continue_()

    page.route(re.compile(r"/static/js/Html\.[^/]+\.js$"), hold, times=1)


def menu(page: Page) -> list[str]:
    """The titles of the navigation menu."""
    nav = page.locator('[data-testid="stSidebarNav"] a')
    nav.first.wait_for(timeout=WAIT)
    return [t.strip().split("\n")[-1] for t in nav.all_inner_texts()]  # after the icon's name


def session_id(page: Page) -> str:
    page.wait_for_url(re.compile(r"session="), timeout=WAIT)
    return page.url.split("session=")[1].split("&")[0]


def answer(page: Page, text: str) -> None:
    """Send ``text`` in the interview's chat box and wait for the reply."""
    from playwright.sync_api import expect

    box = page.get_by_placeholder("Type your answer")
    box.fill(text, timeout=WAIT)
    box.press("Enter")
    expect(page.locator('[data-testid="stChatMessage"]').filter(has_text=text)).to_have_count(
        1, timeout=WAIT
    )
    idle(page)


# --- password sign-in -------------------------------------------------------------------------


def test_password_sign_in_roles_and_sign_out(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    from playwright.sync_api import expect

    app = accounts_app
    kim = app.add("kim@example.com")
    page = person()
    page.goto(app.url)
    sign_in_page(page)
    # An unknown email and a wrong password get the same words.
    errors = []
    for email, password in [("nobody@example.com", "any password 1"), (kim.email, "wrong pass 1")]:
        app.submit_password(page, email, password)
        idle(page)
        alert = page.locator('[data-testid="stAlertContentError"]')
        expect(alert).to_have_count(1, timeout=WAIT)
        errors.append(alert.inner_text())
    assert errors == [WRONG, WRONG]
    app.submit_password(page, kim.email)
    signed_in(page, "Kim")
    assert app.rows("SELECT COUNT(*) FROM auth_sessions WHERE user_id = :u", u=kim.id) == [(1,)]
    page.reload()  # the sign-in cookie
    signed_in(page, "Kim")
    # A candidate's menu, and the other pages refused by address.
    assert menu(page) == ["Interview", "History", "Question bank"]
    for title in RESTRICTED:
        page.goto(f"{app.url}/{title.lower()}")
        expect(page.get_by_text("This page is for")).to_be_visible(timeout=WAIT)
        assert page.get_by_role("heading", name=title).count() == 1
        assert page.get_by_text("Signed in as Kim").count() == 1
    assert page.get_by_role("button", name="Create link").count() == 0
    page.get_by_role("button", name="Sign out").click()
    sign_in_page(page)
    assert app.rows("SELECT COUNT(*) FROM auth_sessions WHERE user_id = :u", u=kim.id) == [(0,)]
    cookie(page, "interviewer_auth", held=False)  # forgotten in the browser too
    page.reload()
    sign_in_page(page)
    assert page.get_by_text("Your sign-in has ended").count() == 0  # a plain sign-in page


def test_a_sign_in_ended_elsewhere_is_said_once_then_forgotten(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    """An admin sets a new password, which ends every sign-in of the account: the browser's
    next visit says so, and forgets the ended sign-in (the visit after is a plain sign-in page)."""
    from playwright.sync_api import expect

    app = accounts_app
    joe = app.add("joe@example.com")
    page = person()
    app.sign_in(page, joe.email)
    signed_in(page, "Joe")
    app.accounts().set_password(Viewer.local(), joe.id, "a new pass 456")
    page.reload()
    expect(page.get_by_text("Your sign-in has ended")).to_be_visible(timeout=WAIT)
    sign_in_page(page)
    cookie(page, "interviewer_auth", held=False)
    page.reload()
    sign_in_page(page)
    assert page.get_by_text("Your sign-in has ended").count() == 0


# --- interview links --------------------------------------------------------------------------


def test_a_link_from_the_links_page_to_the_review_queue(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    """A reviewer makes a one-use link on the Links page; a candidate opens it, signs in, lands
    in the interview, opens the link again (the same interview: still one use), answers and
    ends; the answer is in the reviewer's Review queue; another candidate cannot open it; the
    withdrawn link, and an expired one, say so."""
    from playwright.sync_api import expect

    app = accounts_app
    rita = app.add("rita@example.com", Role.REVIEWER, team="acme")
    ana = app.add("ana@example.com")
    bob = app.add("bob@example.com")
    reviewer = person()
    url, link_id = _link_made_on_the_links_page(app, reviewer, rita.email)
    words = "I would put a queue in front of the slow service and watch its depth."
    first = _link_interview_answered_and_ended(app, person(), url, ana.email, words)
    assert app.rows("SELECT owner_id, team, link_id FROM sessions WHERE id = :s", s=first) == [
        (ana.id, "acme", link_id)
    ]

    # Another candidate, with the interview's address: nothing of it.
    other = person()
    app.sign_in(other, bob.email, path=f"/?session={first}")
    expect(other.get_by_text(f"No session with id '{first}' that you can open")).to_be_visible(
        timeout=WAIT
    )
    assert other.get_by_text(words).count() == 0
    assert other.get_by_text("Your interview report").count() == 0

    # The finished interview is in the reviewer's queue.
    reviewer.goto(f"{app.url}/review")
    expect(reviewer.get_by_text("Item 1 of 1 ·")).to_be_visible(timeout=WAIT)
    expect(reviewer.get_by_text(words)).to_be_visible(timeout=WAIT)

    # Withdrawn, then opened by someone new; and a link past its expiry.
    reviewer.goto(f"{app.url}/links")
    reviewer.get_by_role("button", name="Withdraw").click(timeout=WAIT)
    expect(reviewer.get_by_text("withdrawn by the team")).to_be_visible(timeout=WAIT)
    stranger = person()
    stranger.goto(url)
    expect(stranger.get_by_text("This interview link was withdrawn")).to_be_visible(timeout=WAIT)
    assert stranger.get_by_role("tab", name="Create an account").count() == 0
    _, expired = app.link(rita, expired=True)
    stranger.goto(f"{app.url}/?link={expired}")
    expect(stranger.get_by_text("This interview link has expired")).to_be_visible(timeout=WAIT)
    assert stranger.get_by_role("tab", name="Create an account").count() == 0


def _link_made_on_the_links_page(app: AccountsApp, page: Page, email: str) -> tuple[str, str]:
    """Sign in at /links (the address is kept through the sign-in page), make a link with the
    form's defaults (one use); returns its URL, shown once, and its id."""
    from playwright.sync_api import expect

    app.sign_in(page, email, path="/links")
    signed_in(page, "Rita")
    assert menu(page) == ["Interview", "History", "Question bank", "Review", "Links"]
    page.get_by_role("button", name="Create link").click(timeout=WAIT)
    expect(page.get_by_text("Link created")).to_be_visible(timeout=WAIT)
    url = page.locator('[data-testid="stCode"]').inner_text().strip()
    assert re.fullmatch(rf"{re.escape(app.url)}/\?link=[A-Za-z0-9_-]{{32}}", url), url
    (link_id, team, uses, max_uses), *others = app.rows(
        "SELECT id, team, uses, max_uses FROM interview_links"
    )
    assert (team, uses, max_uses, others) == ("acme", 0, 1, [])
    page.reload()  # the URL is shown once
    expect(page.get_by_text("uses 0 of 1")).to_be_visible(timeout=WAIT)
    assert page.get_by_text("Link created").count() == 0
    assert page.locator('[data-testid="stCode"]').count() == 0
    return url, str(link_id)


def _link_interview_answered_and_ended(
    app: AccountsApp, page: Page, url: str, email: str, words: str
) -> str:
    """Open the link, sign in there, land in the interview; open the link again (the same
    interview, still one use of the link); answer once, end. Returns the session id."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text("You have been invited to a")).to_be_visible(timeout=WAIT)
    app.submit_password(page, email)
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=WAIT)
    first = session_id(page)
    page.goto(url)  # the link again, as from the email: the same interview
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=WAIT)
    assert session_id(page) == first
    assert app.rows("SELECT uses FROM interview_links") == [(1,)]
    answer(page, words)
    page.get_by_placeholder("Type your answer").fill("end")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your interview report")).to_be_visible(timeout=WAIT)
    return first


def test_a_new_person_registers_through_a_link(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    from playwright.sync_api import expect

    app = accounts_app
    lead = app.add("lee@example.com", Role.REVIEWER, team="beta")
    link, code = app.link(lead)
    page = person()
    page.goto(f"{app.url}/?link={code}")
    expect(page.get_by_text("You have been invited to a")).to_be_visible(timeout=WAIT)
    page.get_by_role("tab", name="Create an account").click()
    form = page.locator('[data-testid="stForm"]').filter(has_text="Your name")
    form.get_by_label("Your name").fill("Nia New")
    form.get_by_label("Email").fill("nia@example.com")
    form.get_by_label("Password (at least 10 characters)", exact=True).fill("a new pass 123")
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=WAIT)
    signed_in(page, "Nia New")
    nia = app.user("nia@example.com")
    assert nia is not None
    assert (nia.role, nia.team, nia.has_password, nia.sso_subject) == (
        Role.CANDIDATE,
        "beta",
        True,
        None,
    )
    assert app.rows("SELECT owner_id, link_id FROM sessions WHERE id = :s", s=session_id(page)) == [
        (nia.id, link.id)
    ]


# --- single sign-on (Streamlit's st.login against the local provider) ------------------------


def test_single_sign_on_through_a_link_makes_then_reuses_an_account_and_signs_out(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    """Someone new comes through an interview link and signs on: a candidate account of the
    link's team is made for their email, and they land in the interview (the provider sent
    them to the home page). Signing out goes through the provider's sign-out; signing on
    again finds the same account."""
    from playwright.sync_api import expect

    app = accounts_app
    lead = app.add("lou@example.com", Role.REVIEWER, team="gamma")
    link, code = app.link(lead)
    page = person()
    page.goto(f"{app.url}/?link={code}")
    expect(page.get_by_text("You have been invited to a")).to_be_visible(timeout=WAIT)
    cookie(page, "interviewer_next", held=True)  # the page keeps the link for the way back
    slow_page_script(page)  # back in the app, the first run's elements go in a rerun
    app.sso(page, "sam@example.com")  # the provider's email claim is the subject it is given
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=WAIT)
    signed_in(page, "sam@")
    cookie(page, "interviewer_next", held=False)  # acted on once: a later sign-on goes home
    sam = app.user("sam@example.com")
    assert sam is not None
    assert (sam.role, sam.team, sam.sso_subject, sam.has_password) == (
        Role.CANDIDATE,
        "gamma",
        "sam@example.com",
        False,
    )
    assert sam.last_sign_in_at is not None
    assert app.rows("SELECT owner_id, link_id FROM sessions WHERE id = :s", s=session_id(page)) == [
        (sam.id, link.id)
    ]

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=WAIT)  # the provider's page
    page.wait_for_url(f"{app.url}/**", timeout=WAIT)
    sign_in_page(page)
    page.reload()
    sign_in_page(page)
    assert "link=" not in page.url

    app.sso(page, "sam@example.com")
    signed_in(page, "sam@")
    expect(page.get_by_role("heading", name="Mock interview")).to_be_visible(
        timeout=WAIT
    )  # not the link
    assert "link=" not in page.url
    again = app.user("sam@example.com")
    assert again is not None and again.id == sam.id
    assert app.rows("SELECT COUNT(*) FROM users WHERE email = 'sam@example.com'") == [(1,)]
    assert app.rows("SELECT uses FROM interview_links WHERE id = :l", l=link.id) == [(1,)]


def test_single_sign_on_gives_an_invited_person_the_invited_role(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    app = accounts_app
    app.invite("ivy@example.com", Role.REVIEWER, team="acme")
    app.claims("ivy-7f3a", email="ivy@example.com", name="Ivy Ito", email_verified=True)
    page = person()
    page.goto(app.url)
    app.sso(page, "ivy-7f3a")
    signed_in(page, "Ivy Ito (reviewer, team acme)")
    assert "Review" in menu(page) and "Links" in menu(page)
    ivy = app.user("ivy@example.com")
    assert ivy is not None
    assert (ivy.role, ivy.team, ivy.name, ivy.sso_subject) == (
        Role.REVIEWER,
        "acme",
        "Ivy Ito",
        "ivy-7f3a",
    )
    assert app.rows("SELECT used_at IS NOT NULL FROM invites WHERE email = 'ivy@example.com'") == [
        (1,)
    ]


def test_single_sign_on_refuses_an_uninvited_person_when_it_does_not_register(
    accounts_app: AccountsApp, person: Callable[[], Page]
) -> None:
    from playwright.sync_api import expect

    app = accounts_app
    page = person()
    page.goto(app.url)
    app.sso(page, "stranger@example.com")
    expect(page.get_by_text("There is no account for stranger@")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Ask your admin for an invitation")).to_be_visible()
    sign_in_page(page)
    assert app.user("stranger@example.com") is None
    # The provider still has them signed in: they can sign out of it, to try someone else.
    page.get_by_role("button", name="Sign out of single sign-on").click()
    page.get_by_role("button", name="End session").click(timeout=WAIT)
    page.wait_for_url(f"{app.url}/**", timeout=WAIT)
    sign_in_page(page)
    assert page.get_by_text("There is no account for").count() == 0
