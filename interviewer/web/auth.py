"""Sign-in for the app when accounts are on: the gate every page passes, and the forms.

A password sign-in gives a random token, stored hashed with its expiry in the database (so
every app server knows it, and signing out ends it everywhere). The browser keeps it in a
first-party cookie, set by a one-line script (Streamlit cannot set cookies itself) and read
back from the request on the next visit. Single sign-on goes through Streamlit's own
``st.login``; the person it signs in is matched to an account by email.

Streamlit keeps its identity cookie for 30 days; a single sign-on counts here only for
``session_hours`` after the identity provider issued it (the ID token's ``iat``, which the
signed cookie carries), like a password sign-in. Unlike a password sign-in, it is not stored
on the server: signing out clears it in this browser, and disabling the account ends it
everywhere at once (the account is read on every page run).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import streamlit as st
from streamlit.errors import StreamlitAuthError

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.records import User
from interviewer.accounts.service import AccountError, Accounts
from interviewer.errors import InterviewerError
from interviewer.packs import article
from interviewer.untrusted import plain_markdown
from interviewer.web.resources import services

COOKIE = "interviewer_auth"
TOKEN = "auth-token"  # session state: this browser tab's sign-in token
VIEWER = "viewer"  # session state: who this run acts for
FLASH = "auth-flash"
SIGNED_OUT = "auth-signed-out"  # session state: the cookie value this tab signed out of, or
#                                 found ended: ignored, and cleared in the browser
NEXT_COOKIE = "interviewer_next"  # the interview link a single sign-on started from
NEXT_TAKEN = "auth-next-taken"  # session state: that cookie's value, once acted on
LINK_CODE = re.compile(r"[A-Za-z0-9_-]{16,128}")  # what a link code can be (token_urlsafe)
NEXT_MINUTES = 30  # how long the link waits for the identity provider to send the person back
#: The address of every page but the interview's (navigation.py names its pages so): signed
#: out, each shows the sign-in page, so that signing in lands on the page that was asked for.
PAGE_PATHS = ("history", "bank", "review", "links", "people", "model")


def viewer() -> Viewer:
    """Who the current page acts for (set by `gate`; single-user mode: the local viewer)."""
    current = st.session_state.get(VIEWER)
    return current if isinstance(current, Viewer) else Viewer.local()


def allowed(role: Role) -> bool:
    """True when the current person has ``role``'s rights; else the page's one refusal is shown
    (every restricted page checks again, whatever the navigation offered)."""
    who = viewer()
    if who.can(role):
        return True
    needed = "reviewers and admins" if role is Role.REVIEWER else "admins"
    st.error(
        f"This page is for {needed}. You are signed in as a {who.role.value}: ask an admin "
        "if you need it.",
        icon=":material/block:",
    )
    return False


def gate() -> Viewer | None:
    """The signed-in person, or None after rendering the sign-in page (the caller stops).

    With accounts off, everyone is the local viewer and nothing is rendered."""
    try:
        svc = services()
    except InterviewerError as exc:  # a broken database or settings: say so, on every page
        st.error(plain_markdown(str(exc)))
        return None
    if not svc.settings.accounts:
        local = Viewer.local()
        st.session_state[VIEWER] = local
        return local
    accounts = svc.accounts
    try:
        user = _password_user(accounts) or _sso_user(accounts)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return None
    if user is None:
        st.session_state.pop(VIEWER, None)
        _signed_out(accounts)
        return None
    st.session_state[VIEWER] = user.viewer
    _account_box(accounts, user)
    return user.viewer


def _cookie(name: str) -> str | None:
    """A cookie of the request that opened this page (None when absent, or not text: Streamlit's
    AppTest has no browser and hands back a stand-in object)."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) and value else None


def _signed_out(accounts: Accounts) -> None:
    """The sign-in page, at whichever page's address was opened (the address is kept: without
    a navigation of its own, Streamlit would take /review for an unknown page and go to /)."""

    def show() -> None:
        sign_in_page(accounts)

    pages = [st.Page(show, title="Sign in", default=True)]
    pages += [st.Page(show, title="Sign in", url_path=path) for path in PAGE_PATHS]
    st.navigation(pages, position="hidden").run()
    _keep_cookies()  # last on the page: an element that draws nothing moves nothing


def _password_user(accounts: Accounts) -> User | None:
    cookie = _cookie(COOKIE)
    if cookie and cookie == st.session_state.get(SIGNED_OUT):
        cookie = None  # this tab signed out; the request still carries the old cookie
    token = st.session_state.get(TOKEN) or cookie
    if not token:
        return None
    user = accounts.user_for(token)
    if user is None:
        st.session_state.pop(TOKEN, None)
        if cookie:
            st.session_state[SIGNED_OUT] = cookie  # ignored from now on, and cleared
            st.session_state[FLASH] = "Your sign-in has ended (it expired, or you signed out "
            st.session_state[FLASH] += "elsewhere). Sign in again."
        return None
    st.session_state[TOKEN] = token
    _take_pending_link()  # signed in with a password: the link is in the address already
    return user


def client_address(accounts: Accounts) -> str | None:
    """The browser's address, for the per-address sign-in limit: the last entry of the header
    the proxy sets (``client_address_header``; earlier entries are the browser's own claims), else
    the connection's address (None through a proxy on the same machine: no per-address limit)."""
    header = accounts.settings.client_address_header
    value = st.context.headers.get(header) if header else None
    return address_from(value if isinstance(value, str) else None, st.context.ip_address)


def address_from(forwarded: str | None, connection: str | None) -> str | None:
    """The last entry of a forwarding header (the one the proxy added), else the connection's
    address."""
    if forwarded and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64] or connection
    return connection


def _sso_user(accounts: Accounts) -> User | None:
    """The account of the person Streamlit's single sign-on signed in, while that sign-in is
    within ``session_hours``; a sign-on that started from an interview link comes back to it
    (the identity provider returns everyone to the app's home page)."""
    if not accounts.settings.sso or not _sso_signed_in():
        return None
    issued_at = st.user.get("iat")
    if not accounts.sso_current(issued_at):
        hours = accounts.settings.session_hours
        st.session_state[FLASH] = (
            f"Your single sign-on has ended (a sign-in lasts {hours:g} hour"
            f"{'s' * (hours != 1)} here). Sign in again."
        )
        return None
    assert isinstance(issued_at, int | float)  # sso_current checked it
    pending = _pending_link()
    email, subject = str(st.user.get("email") or ""), str(st.user.get("sub") or "")
    try:
        user = accounts.sso_user(
            email,
            subject,
            str(st.user.get("name") or ""),
            email_verified=st.user.get("email_verified"),
            signed_in_at=datetime.fromtimestamp(issued_at, UTC).isoformat(timespec="seconds"),
            link_code=st.query_params.get("link") or pending,
        )
    except AccountError as exc:
        st.session_state[FLASH] = str(exc)
        return None
    if _take_pending_link() and not any(k in st.query_params for k in ("link", "session")):
        assert pending is not None
        st.query_params["link"] = pending
    return user


def _sso_signed_in() -> bool:
    """Whether Streamlit's single sign-on has signed someone in (False, not an error, when
    .streamlit/secrets.toml has no [auth] section: st.user then has no is_logged_in)."""
    return bool(st.user.get("is_logged_in"))


def _pending_link() -> str | None:
    """The interview link this browser left for the identity provider from, not yet acted on
    in this tab."""
    code = _cookie(NEXT_COOKIE)
    if not code or code == st.session_state.get(NEXT_TAKEN) or not LINK_CODE.fullmatch(code):
        return None
    return code


def _take_pending_link() -> bool:
    """Forget the pending interview link in this tab (`_keep_cookies` clears it in the
    browser); whether there was one."""
    pending = _pending_link()
    if pending is None:
        return False
    st.session_state[NEXT_TAKEN] = pending
    return True


def _keep_cookies() -> None:
    """Bring the browser's cookies in line with this tab's sign-in: the sign-in cookie set to
    its token (or cleared, once signed out or found ended), a pending link it acted on cleared.

    Written on every run of the tab, not once: a script in the page runs only when its element
    is drawn, and a run that ends in a rerun (the first page after a sign-on does) can have its
    elements replaced before the browser has drawn them. The request's cookies do not change
    within a tab, so the script is written for as long as the tab lasts; run again, it sets the
    same values."""
    token, cookie = st.session_state.get(TOKEN), _cookie(COOKIE)
    taken = st.session_state.get(NEXT_TAKEN)
    writes = []
    if isinstance(token, str) and token:
        if cookie != token:
            hours = services().settings.session_hours
            writes.append(_cookie_statement(COOKIE, token, int(hours * 3600)))
    elif cookie and cookie == st.session_state.get(SIGNED_OUT):
        writes.append(_cookie_statement(COOKIE, "", 0))
    if isinstance(taken, str) and _cookie(NEXT_COOKIE) == taken:
        writes.append(_cookie_statement(NEXT_COOKIE, "", 0))
    if writes:
        st.html(f"<script>{' '.join(writes)}</script>", unsafe_allow_javascript=True)


def _cookie_statement(name: str, value: str, max_age: int) -> str:
    """The script statement that sets (or, with ``max_age`` 0, clears) a first-party cookie:
    Streamlit cannot set cookies itself. ``value`` must be cookie-safe (a token)."""
    attributes = f"path=/; max-age={max_age}; SameSite=Strict"
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    return f"document.cookie = '{name}={value}; {attributes}' + {secure};"


def _write_cookie(name: str, value: str, max_age: int) -> None:
    """Set or clear a first-party cookie with a script run in the page."""
    st.html(
        f"<script>{_cookie_statement(name, value, max_age)}</script>",
        unsafe_allow_javascript=True,
    )


def _signed_in(token: str) -> None:
    st.session_state[TOKEN] = token
    st.rerun()


def sign_out(accounts: Accounts) -> None:
    """End this sign-in everywhere, forget it in the browser, and show the sign-in page."""
    token = st.session_state.pop(TOKEN, None) or _cookie(COOKIE)
    accounts.sign_out(token)
    st.session_state[SIGNED_OUT] = _cookie(COOKIE)
    st.session_state.pop(VIEWER, None)
    if accounts.settings.sso and _sso_signed_in():
        _keep_cookies()  # now: the page leaves for the identity provider's sign-out
        st.logout()  # clears Streamlit's identity cookie; back on the home page after
        st.stop()
    st.rerun()


def _account_box(accounts: Accounts, user: User) -> None:
    with st.sidebar:
        st.caption(
            f"Signed in as **{plain_markdown(user.name or user.email, inline=True)}** "
            f"({user.role.value}, team {plain_markdown(user.team, inline=True)})"
        )
        if st.button("Sign out", icon=":material/logout:", key="sign-out"):
            sign_out(accounts)
        _keep_cookies()  # last in the sidebar: an element there that draws nothing shows nothing


# --- the sign-in page -------------------------------------------------------------------------


def sign_in_page(accounts: Accounts) -> None:
    """Sign in, register (through a link or when open), accept an invitation, or SSO."""
    st.title("Interviewer")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.warning(plain_markdown(flash))
    invite_token = st.query_params.get("invite")
    if invite_token:
        _accept_invitation(accounts, invite_token)
        return
    link_code = st.query_params.get("link")
    if link_code:
        link_code = _link_notice(accounts, link_code)
    if accounts.settings.sso:
        _sso_choices(accounts, link_code)
    can_register = bool(link_code) or accounts.settings.open_registration
    tabs = st.tabs(["Sign in", "Create an account"] if can_register else ["Sign in"])
    with tabs[0]:
        _sign_in_form(accounts)
    if can_register:
        with tabs[1]:
            _register_form(accounts, link_code)


def _link_notice(accounts: Accounts, code: str) -> str | None:
    """Say what the link in the address is for; returns its code when it can start an
    interview (and so create an account), None when it cannot."""
    try:
        link = accounts.open_link(code)
    except InterviewerError as exc:
        known = accounts.store.link(code=code)
        if known is None:
            st.error(plain_markdown(str(exc)))
        else:  # someone who started from it can still sign in and go on
            st.warning(
                plain_markdown(
                    f"{exc} If you already started or took this interview, sign in to go on "
                    "with it or to read its report."
                )
            )
        return None
    spec = link.spec
    pack = services().packs.get(spec.pack_id)
    kind = services().format_name(spec.pack_id, spec.format)
    role = f" ({plain_markdown(pack.spec.name, inline=True)})" if pack else ""
    st.info(
        f"You have been invited to {article(kind)} **{plain_markdown(kind, inline=True)}** "
        f"interview{role} at **{spec.level.value}** level. Sign in, or "
        "create an account, and it starts.",
        icon=":material/mail:",
    )
    return code


def _sso_choices(accounts: Accounts, link_code: str | None) -> None:
    """The single sign-on button; when the identity provider has signed someone in whom this
    app does not accept (the message above says why), a way to sign out of it."""
    provider = accounts.settings.sso_provider
    if link_code and LINK_CODE.fullmatch(link_code):
        # The provider sends everyone back to the home page: remember where they came from.
        _write_cookie(NEXT_COOKIE, link_code, NEXT_MINUTES * 60)
    left, right = st.columns([1, 1])
    if left.button(
        "Sign in with single sign-on", type="primary", icon=":material/key:", key="sso-sign-in"
    ):
        try:
            st.login(provider) if provider else st.login()
        except StreamlitAuthError as exc:
            st.error(
                "Single sign-on is on (the setting sso) but Streamlit's [auth] settings in "
                f".streamlit/secrets.toml are not usable: {plain_markdown(str(exc))}"
            )
    if _sso_signed_in() and right.button(
        "Sign out of single sign-on", icon=":material/logout:", key="sso-sign-out"
    ):
        st.logout()
        st.stop()
    st.caption("Or with an email address and password:")


def _sign_in_form(accounts: Accounts) -> None:
    with st.form("sign-in"):
        email = st.text_input("Email", max_chars=320, autocomplete="username")
        password = st.text_input(
            "Password", type="password", max_chars=256, autocomplete="current-password"
        )
        if not st.form_submit_button("Sign in", type="primary"):
            return
    try:
        _, token = accounts.sign_in(email, password, client_address(accounts))
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return
    _signed_in(token)


def _register_form(accounts: Accounts, link_code: str | None) -> None:
    with st.form("register"):
        name = st.text_input("Your name", max_chars=80)
        email = st.text_input("Email", max_chars=320, key="register-email", autocomplete="email")
        password = st.text_input(
            "Password (at least 10 characters)",
            type="password",
            max_chars=256,
            key="register-password",
            autocomplete="new-password",
        )
        if not st.form_submit_button("Create account", type="primary"):
            return
    try:
        _, token = accounts.register(email, name, password, link_code)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return
    _signed_in(token)


def _accept_invitation(accounts: Accounts, token: str) -> None:
    try:
        invite = accounts.invitation(token)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        if st.button("Go to sign-in"):
            st.query_params.clear()
            st.rerun()
        return
    st.info(
        f"You are invited as **{invite.role.value}** (team "
        f"{plain_markdown(invite.team, inline=True)}) with the address "
        f"**{plain_markdown(invite.email, inline=True)}**. Choose a password to finish"
        + (", or sign in with single sign-on as that address." if accounts.settings.sso else ".")
    )
    if accounts.settings.sso:
        _sso_choices(accounts, None)
    with st.form("accept"):
        name = st.text_input("Your name", max_chars=80)
        password = st.text_input(
            "Password (at least 10 characters)",
            type="password",
            max_chars=256,
            autocomplete="new-password",
        )
        if not st.form_submit_button("Create account", type="primary"):
            return
    try:
        _, session_token = accounts.accept(token, name, password)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return
    st.query_params.pop("invite", None)
    _signed_in(session_token)
