"""Interview links (reviewers and admins): make a link that fixes pack, level and format, send
it, and follow who started and finished."""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlsplit

import streamlit as st

from interviewer.accounts.access import Role
from interviewer.accounts.records import InterviewLink, LinkSpec
from interviewer.domain import Level, to_minute
from interviewer.errors import InterviewerError
from interviewer.services import Services
from interviewer.store import SessionRow
from interviewer.untrusted import plain_markdown
from interviewer.web.auth import allowed, viewer
from interviewer.web.goto import open_interview
from interviewer.web.resources import guarded, services

NEW_LINK = "links-new"  # session state: the URL of the link just made (shown once)


def links_page() -> None:
    """The links page; errors become messages."""
    guarded(_links)


def base_url(svc: Services) -> str:
    """Where candidates reach this app: the public_url setting, else this page's address."""
    if svc.settings.public_url:
        return svc.settings.public_url.rstrip("/")
    parts = urlsplit(st.context.url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def _links() -> None:
    svc, who = services(), viewer()
    st.title("Interview links")
    if not allowed(Role.REVIEWER):
        return
    st.caption(
        "A link fixes the pack, level and format (and, if you like, a job description, the "
        "questions, an expiry and how many people may use it). Whoever opens it signs in or "
        "creates an account and lands in that interview; finished interviews appear on the "
        "Review page of your team."
    )
    made = st.session_state.pop(NEW_LINK, None)
    if made:
        st.success("Link created. Copy it now: it is shown only once (it is stored hashed).")
        st.code(made, language=None)
    with st.expander("New link", expanded=not made, icon=":material/add_link:"):
        _new_link(svc)
    links = svc.accounts.links(who)
    if not links:
        st.info("No links yet.")
        return
    by_link: dict[str, list[SessionRow]] = {}
    for row in svc.store.list_sessions(limit=5000, viewer=who):
        if row.link_id:
            by_link.setdefault(row.link_id, []).append(row)
    owners = {r.owner_id for rows in by_link.values() for r in rows if r.owner_id}
    emails = svc.accounts.store.emails(sorted(owners))
    for link in links:
        _row(svc, link, by_link.get(link.id, []), emails)


def _new_link(svc: Services) -> None:
    packs = svc.packs
    pack_id = st.selectbox("Pack", list(packs), format_func=lambda p: packs[p].spec.name)
    pack = packs[pack_id]
    questions = svc.askable(pack)
    by_id = {q.id: q for q in questions}
    with st.form("new-link"):
        label = st.text_input("Label (for you: the role, the round)", max_chars=80)
        left, right = st.columns(2)
        level = left.radio("Level", list(Level), index=1, format_func=lambda v: v.value.title())
        fmt = right.radio(
            "Format", list(pack.spec.formats), format_func=lambda f: pack.spec.formats[f].name
        )
        job = st.text_area("Job description (optional)", max_chars=20_000, height=100)
        chosen = st.multiselect(
            "Questions (optional: otherwise they are chosen for each candidate)",
            [q.id for q in questions],
            format_func=lambda qid: f"{qid}: {by_id[qid].question[:90]}",
            max_selections=40,
        )
        a, b = st.columns(2)
        expires = a.date_input("Expires after (optional)", value=None, min_value="today")
        uses = b.number_input("Uses (0: no limit)", min_value=0, max_value=10_000, value=1)
        if not st.form_submit_button("Create link", type="primary"):
            return
    try:
        spec = LinkSpec(
            pack_id=pack.id,
            level=level or Level.MID,
            format=fmt or next(iter(pack.spec.formats)),
            job_description=job,
            question_ids=chosen,
        )
        until = datetime.combine(expires, time.max, tzinfo=UTC) if expires is not None else None
        _, code = svc.accounts.create_link(viewer(), spec, label, until, int(uses) or None)
    except (InterviewerError, ValueError) as exc:
        st.error(plain_markdown(str(exc)))
        return
    st.session_state[NEW_LINK] = f"{base_url(svc)}/?link={code}"
    st.rerun()


def _row(
    svc: Services, link: InterviewLink, sessions: list[SessionRow], emails: dict[str, str]
) -> None:
    spec = link.spec
    status = link.problem(svc.accounts.now())
    with st.container(border=True):
        a, b = st.columns([4, 1], vertical_alignment="center")
        title = plain_markdown(link.label or "(no label)", inline=True)
        a.markdown(
            f"**{title}** · {plain_markdown(spec.pack_id, inline=True)} · {spec.level.value} · "
            f"{plain_markdown(spec.format, inline=True)}"
            + (f" · {len(spec.question_ids)} fixed questions" if spec.question_ids else "")
        )
        limit = f"{link.uses} of {link.max_uses}" if link.max_uses else f"{link.uses} (no limit)"
        expiry = link.expires_at[:10] if link.expires_at else "never"
        a.caption(
            f"uses {limit} · expires {expiry} · interviews started {len(sessions)}, finished "
            f"{sum(r.phase == 'done' for r in sessions)} · team "
            f"{plain_markdown(link.team, inline=True)} · "
            + (plain_markdown(status, inline=True) if status else "open")
        )
        if link.revoked_at is None and b.button(
            "Withdraw", key=f"revoke-{link.id}", icon=":material/link_off:"
        ):
            svc.accounts.revoke_link(viewer(), link.id)
            st.rerun()
        if sessions:
            with st.expander(f"Interviews ({len(sessions)})"):
                for row in sessions:
                    _interview_row(row, emails.get(row.owner_id or "", "(deleted account)"))


def _interview_row(row: SessionRow, email: str) -> None:
    a, b, c = st.columns([3, 1, 1], vertical_alignment="center")
    a.markdown(f"{plain_markdown(email, inline=True)} · {to_minute(row.started_at)}")
    done = row.phase == "done"
    b.markdown(f"{row.overall:.1f}/5" if done and row.overall is not None else "in progress")
    if c.button("Report" if done else "Follow", key=f"open-{row.id}"):
        open_interview(row.id)
