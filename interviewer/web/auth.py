"""Sign-in for the app when accounts are on: the gate every page passes, and the forms.

A password sign-in gives a random token, stored hashed with its expiry in the database (so
every app server knows it, and signing out ends it everywhere). The browser keeps it in a
first-party cookie, set by a one-line script (Streamlit cannot set cookies itself) and read
back from the request on the next visit. Single sign-on goes through Streamlit's own
``st.login``; the person it signs in is matched to an account by email.
"""

from __future__ import annotations

import streamlit as st

from interviewer.accounts.access import Viewer
from interviewer.accounts.records import User
from interviewer.accounts.service import AccountError, Accounts
from interviewer.errors import InterviewerError
from interviewer.untrusted import plain_markdown
from interviewer.web.resources import services

COOKIE = "interviewer_auth"
TOKEN = "auth-token"  # session state: this browser tab's sign-in token
VIEWER = "viewer"  # session state: who this run acts for
COOKIE_PENDING = "auth-cookie"  # session state: "set" or "clear", done on the next render
FLASH = "auth-flash"
SIGNED_OUT = "auth-signed-out"  # session state: the cookie value this tab signed out of


def viewer() -> Viewer:
    """Who the current page acts for (set by `gate`; single-user mode: the local viewer)."""
    current = st.session_state.get(VIEWER)
    return current if isinstance(current, Viewer) else Viewer.local()


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
    _apply_cookie()
    accounts = svc.accounts
    try:
        user = _password_user(accounts) or _sso_user(accounts)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return None
    if user is None:
        st.session_state.pop(VIEWER, None)
        sign_in_page(accounts)
        return None
    st.session_state[VIEWER] = user.viewer
    _account_box(accounts, user)
    return user.viewer


def _password_user(accounts: Accounts) -> User | None:
    cookie = _cookie()
    if cookie and cookie == st.session_state.get(SIGNED_OUT):
        cookie = None  # this tab signed out; the request still carries the old cookie
    token = st.session_state.get(TOKEN) or cookie
    if not token:
        return None
    user = accounts.user_for(token)
    if user is None:
        st.session_state.pop(TOKEN, None)
        if cookie:
            st.session_state[COOKIE_PENDING] = "clear"
            _apply_cookie()
            st.session_state[FLASH] = "Your sign-in has ended (it expired, or you signed out "
            st.session_state[FLASH] += "elsewhere). Sign in again."
        return None
    st.session_state[TOKEN] = token
    return user


def _cookie() -> str | None:
    """The sign-in cookie the browser sent, if any (a text value only)."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def _sso_user(accounts: Accounts) -> User | None:
    if not accounts.settings.sso or not st.user.is_logged_in:
        return None
    email, subject = str(st.user.get("email") or ""), str(st.user.get("sub") or "")
    name = str(st.user.get("name") or "")
    try:
        return accounts.sso_user(email, subject, name)
    except AccountError as exc:
        st.session_state[FLASH] = str(exc)
        return None


def _apply_cookie() -> None:
    """Set or clear the sign-in cookie, once, with a script run in the page."""
    action = st.session_state.pop(COOKIE_PENDING, None)
    token = st.session_state.get(TOKEN, "")
    if action == "set" and token:
        hours = services().settings.session_hours
        value = f"{COOKIE}={token}; path=/; max-age={int(hours * 3600)}; SameSite=Strict"
    elif action == "clear":
        value = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
    else:
        return
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    st.html(
        f"<script>document.cookie = '{value}' + {secure};</script>", unsafe_allow_javascript=True
    )


def _signed_in(token: str) -> None:
    st.session_state[TOKEN] = token
    st.session_state[COOKIE_PENDING] = "set"
    st.rerun()


def sign_out(accounts: Accounts) -> None:
    """End this sign-in everywhere, forget it in the browser, and show the sign-in page."""
    token = st.session_state.pop(TOKEN, None) or _cookie()
    accounts.sign_out(token)
    st.session_state[SIGNED_OUT] = _cookie()
    st.session_state.pop(VIEWER, None)
    st.session_state[COOKIE_PENDING] = "clear"
    if accounts.settings.sso and st.user.is_logged_in:
        st.logout()
    st.rerun()


def _account_box(accounts: Accounts, user: User) -> None:
    with st.sidebar:
        st.caption(
            f"Signed in as **{plain_markdown(user.name or user.email, inline=True)}** "
            f"({user.role.value}, team {plain_markdown(user.team, inline=True)})"
        )
        if st.button("Sign out", icon=":material/logout:", key="sign-out"):
            sign_out(accounts)


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
    link_text = ""
    if link_code:
        try:
            link = accounts.open_link(link_code)
        except InterviewerError as exc:
            st.error(plain_markdown(str(exc)))
            link_code = None
        else:
            spec = link.spec
            pack = services().packs.get(spec.pack_id)
            kind = (
                pack.spec.formats[spec.format].name
                if pack and spec.format in pack.spec.formats
                else spec.format
            )
            role = f" ({pack.spec.name})" if pack else ""
            link_text = (
                f"You have been invited to a **{plain_markdown(kind, inline=True)}** interview"
                f"{plain_markdown(role, inline=True)} at **{spec.level.value}** level. Sign in, "
                "or create an account, and it starts."
            )
            st.info(link_text, icon=":material/mail:")
    if accounts.settings.sso:
        provider = accounts.settings.sso_provider
        if st.button("Sign in with single sign-on", type="primary", icon=":material/key:"):
            st.login(provider) if provider else st.login()
        st.caption("Or with an email address and password:")
    can_register = bool(link_code) or accounts.settings.open_registration
    tabs = st.tabs(["Sign in", "Create an account"] if can_register else ["Sign in"])
    with tabs[0]:
        _sign_in_form(accounts)
    if can_register:
        with tabs[1]:
            _register_form(accounts, link_code)


def _sign_in_form(accounts: Accounts) -> None:
    with st.form("sign-in"):
        email = st.text_input("Email", max_chars=320, autocomplete="username")
        password = st.text_input(
            "Password", type="password", max_chars=256, autocomplete="current-password"
        )
        if not st.form_submit_button("Sign in", type="primary"):
            return
    try:
        _, token = accounts.sign_in(email, password, st.context.ip_address)
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
        f"**{plain_markdown(invite.email, inline=True)}**. Choose a password to finish."
    )
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
