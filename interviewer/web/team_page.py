"""People (admins): invite someone with a role, change roles and teams, disable accounts."""

from __future__ import annotations

import streamlit as st

from interviewer.accounts.access import Role
from interviewer.accounts.records import DEFAULT_TEAM, User
from interviewer.domain import to_minute
from interviewer.errors import InterviewerError
from interviewer.services import Services
from interviewer.untrusted import plain_markdown
from interviewer.web.auth import allowed, viewer
from interviewer.web.links_page import base_url
from interviewer.web.resources import guarded, services

NEW_INVITE = "people-invite"  # session state: the invitation URL just made (shown once)
MESSAGE = "people-message"


def team_page() -> None:
    """The people page; errors become messages."""
    guarded(_people)


def _people() -> None:
    svc, who = services(), viewer()
    st.title("People")
    if not allowed(Role.ADMIN):
        return
    message = st.session_state.pop(MESSAGE, None)
    if message:
        st.success(plain_markdown(message))
    made = st.session_state.pop(NEW_INVITE, None)
    if made:
        st.success("Invitation created. Send this link; it works once, for seven days.")
        st.code(made, language=None)
    with st.expander("Invite someone", expanded=not made, icon=":material/person_add:"):
        _invite(svc)
    users = svc.accounts.users(who)
    st.caption(
        f"{len(users)} account(s). Changing a role, a team or disabling an account "
        "ends that person's sign-ins at once."
    )
    for user in users:
        _row(svc, user)


def _invite(svc: Services) -> None:
    with st.form("invite"):
        email = st.text_input("Email", max_chars=320)
        left, right = st.columns(2)
        role = left.selectbox("Role", list(Role), format_func=lambda r: r.value)
        team = right.text_input("Team", value=viewer().team or DEFAULT_TEAM, max_chars=40)
        if not st.form_submit_button("Create invitation", type="primary"):
            return
    try:
        token = svc.accounts.invite(viewer(), email, role or Role.CANDIDATE, team)
    except InterviewerError as exc:
        st.error(plain_markdown(str(exc)))
        return
    st.session_state[NEW_INVITE] = f"{base_url(svc)}/?invite={token}"
    st.rerun()


def _row(svc: Services, user: User) -> None:
    me = viewer()
    with st.container(border=True):
        a, b, c, d = st.columns([3, 1.2, 1.2, 1], vertical_alignment="center")
        a.markdown(
            f"**{plain_markdown(user.email, inline=True)}**"
            + (f" · {plain_markdown(user.name, inline=True)}" if user.name else "")
        )
        last = to_minute(user.last_sign_in_at) if user.last_sign_in_at else "never"
        a.caption(
            ("active" if user.active else "disabled")
            + f" · last sign-in {last}"
            + (" · single sign-on" if user.sso_subject else "")
            + (" · password" if user.has_password else "")
        )
        roles = list(Role)
        role = b.selectbox(
            "Role",
            roles,
            index=roles.index(user.role),
            key=f"role-{user.id}",
            format_func=lambda r: r.value,
            label_visibility="collapsed",
        )
        team = c.text_input(
            "Team",
            value=user.team,
            key=f"team-{user.id}",
            max_chars=40,
            label_visibility="collapsed",
        )
        toggle = "Disable" if user.active else "Enable"
        try:
            if role is not None and role is not user.role:
                svc.accounts.set_role(me, user.id, role)
                _done(f"{user.email} is now {role.value}.")
            if team.strip() and team.strip() != user.team:
                svc.accounts.set_team(me, user.id, team)
                _done(f"{user.email} moved to team {team.strip()}.")
            if user.id != me.user_id and d.button(toggle, key=f"active-{user.id}"):
                svc.accounts.set_active(me, user.id, not user.active)
                _done(f"{user.email} {'disabled' if user.active else 'enabled'}.")
        except InterviewerError as exc:
            st.error(plain_markdown(str(exc)))


def _done(message: str) -> None:
    st.session_state[MESSAGE] = message
    st.rerun()
