"""The Review page: people grade real answers against the rubric, then see how they agree.

Grade: one answer at a time, scored per criterion with the rubric's anchors beside each
control; the scorers' numbers stay hidden until the grade is saved, and other graders' grades
are never shown here. Agreement: kappa, Pearson and alpha for the same queue, the answers where
graders and a scorer part most (each opens in Grade), and the grades as an eval dataset.
All the work is done by ``interviewer.review.service.Review``; this module only shows it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from interviewer.accounts.access import Role
from interviewer.domain import AnswerScore, Level
from interviewer.review.agreement import OVERALL, AgreementReport, PairRow
from interviewer.review.grades import (
    MAX_GRADER_CHARS,
    MAX_NOTE_CHARS,
    Grade,
    GradeConflictError,
    ReviewError,
    grader_name,
)
from interviewer.review.queue import MAX_SESSIONS, Filters, ReviewItem
from interviewer.review.service import DEFAULT_PACK, INTERVIEWS, Review
from interviewer.services import Services
from interviewer.untrusted import model_markdown, plain_markdown
from interviewer.web.auth import allowed, viewer
from interviewer.web.charts import agreement_chart
from interviewer.web.resources import guarded, services

GRADE, AGREEMENT = "Grade", "Agreement"
SCORES = [1, 2, 3, 4, 5]
POINT_MARKS = {"covered": 2, "partly": 1, "missed": 0}
MARK_NAMES = {v: k for k, v in POINT_MARKS.items()}
POINT_COLUMNS = (  # the page's words for PointAgreement.HEADERS, in the same order
    "Points marked",
    "You: covered",
    "Scorer: ticked",
    "Ticks right",
    "Covered and ticked",
    "Cohen's kappa",
)
# Session state: the grader's name, the view, where each queue stands, a message kept across
# one rerun, and an item to open (from the agreement view).
GRADER, VIEW, POSITIONS, FLASH, OPEN = (
    "review-grader",
    "review-view",
    "review-positions",
    "review-flash",
    "review-open",
)


def review_page() -> None:
    """The Review page; errors (a broken database, an unknown dataset) become a message."""
    guarded(_render)


def _render() -> None:
    svc = services()
    st.title("Review")
    if not allowed(Role.REVIEWER):
        return
    st.caption(
        "Grade real answers against the pack's rubric, then see how graders agree with each "
        "other and with the scorers. Graded answers can be exported as an eval dataset."
    )
    review = _choose(svc)
    view = st.segmented_control(
        "View",
        [GRADE, AGREEMENT],
        default=GRADE,
        required=True,
        key=VIEW,
        label_visibility="collapsed",
    )
    items = _queue(review)
    if not items:
        _empty(review)
        return
    if view == AGREEMENT:
        _agreement(review, items)
    else:
        _grade(review, items)


# --- what to grade --------------------------------------------------------------------------


def _choose(svc: Services) -> Review:
    """The sidebar: the source and its filters (or, for a dataset, the pack whose rubric)."""
    packs = svc.packs
    with st.sidebar:
        st.header("What to grade")
        review = Review(svc, viewer=viewer())
        source = st.selectbox(
            "Answers from",
            review.sources(),
            format_func=lambda s: "Finished interviews" if s == INTERVIEWS else f"Dataset: {s}",
            key="review-source",
        )
        if source is None or source == INTERVIEWS:
            return Review(svc, INTERVIEWS, _filters(svc), viewer=viewer())
        ids = list(packs)
        pack = st.selectbox(
            "Rubric from the pack",
            ids,
            index=ids.index(DEFAULT_PACK) if DEFAULT_PACK in ids else 0,
            format_func=lambda p: packs[p].spec.name,
            key="review-dataset-pack",
            help="The dataset's answers are graded, and scored offline, with this pack's rubric.",
        )
        return Review(svc, source, dataset_pack=pack or DEFAULT_PACK, viewer=viewer())


def _filters(svc: Services) -> Filters:
    packs = svc.packs
    pack = st.selectbox(
        "Pack",
        [None, *packs],
        format_func=lambda p: packs[p].spec.name if p else "any",
        key="review-pack",
    )
    level = st.selectbox(
        "Level", [None, *Level], format_func=lambda v: v.value if v else "any", key="review-level"
    )
    formats: dict[str, str] = {}
    for p in [packs[pack]] if pack else packs.values():
        for fid, spec in p.spec.formats.items():
            formats.setdefault(fid, spec.name)
    fmt = st.selectbox(
        "Format",
        [None, *formats],
        format_func=lambda f: formats.get(f, f) if f else "any",
        key="review-format",
    )
    since_col, until_col = st.columns(2)
    since = since_col.date_input("From", value=None, key="review-since")
    until = until_col.date_input("To", value=None, key="review-until")
    base = Filters(
        pack=pack,
        level=level,
        format=fmt,
        since=since if isinstance(since, date) else None,
        until=until if isinstance(until, date) else None,
    )
    profiles = sorted(
        {i.profile for i in _queue(Review(svc, INTERVIEWS, base, viewer=viewer())) if i.profile}
    )
    profile = st.selectbox(
        "Profile",
        [None, *profiles],
        format_func=lambda p: p or "any",
        accept_new_options=True,
        key="review-profile",
        help="Pick a profile of these interviews, or type one.",
    )
    return Filters(
        pack=base.pack,
        level=base.level,
        format=base.format,
        profile=(profile or "").strip() or None,
        since=base.since,
        until=base.until,
    )


def _queue(review: Review) -> list[ReviewItem]:
    """The round's items, built again only when what they come from changes: building them
    scores answers offline (every item of a dataset, every answer an LLM judged), which takes
    seconds, and every click on this page reruns it."""
    svc = review.services
    if review.source == INTERVIEWS:
        rows = svc.store.list_sessions(limit=MAX_SESSIONS, viewer=review.viewer)
        token = ",".join(r.id for r in rows if r.phase == "done")
    else:
        token = str(len(review.grades.dataset_items(review.source, review.viewer)))
    packs = ",".join(f"{p.id}:{p.content_hash}" for p in svc.packs.values())
    return _built_queue(
        review,
        id(svc),
        review.source,
        repr(review.filters),
        review.dataset_pack,
        packs,
        f"{review.viewer!r}|{token}",  # whose queue: a reviewer's differs from an admin's
    )


@st.cache_resource(show_spinner="Scoring the answers to grade…", max_entries=16)
def _built_queue(
    _review: Review, _services: int, source: str, filters: str, pack: str, packs: str, token: str
) -> list[ReviewItem]:
    """Cached per server process: everything but ``_review`` is the key."""
    return _review.queue()


def _empty(review: Review) -> None:
    if review.source != INTERVIEWS:
        st.info(f"The dataset “{_plain(review.source)}” has no items to grade.")
    elif review.filters == Filters():
        st.info(
            "No finished interviews yet: finish an interview on the Interview page, then grade "
            "its answers here. (Or import a dataset with `interviewer review import FILE`.)"
        )
    else:
        st.info("No answered questions in finished interviews match these filters.")


# --- Grade ----------------------------------------------------------------------------------


def _grade(review: Review, items: Sequence[ReviewItem]) -> None:
    grader = _grader()
    if grader is None:
        return
    done = review.graded_by(grader, items)
    position = _position(review, items, grader)
    n = len(items)
    item = items[position] if position < n else None
    flash = st.session_state.pop(FLASH, None)
    if item is not None and item.key in done and flash is None and _clicked_save(item):
        # Saved meanwhile in another tab: this click never reaches the form (it is gone).
        flash = (
            "warning",
            f"{grader} already graded this answer ({done[item.key].at}), in another tab "
            "perhaps: that grade is kept and the scores picked here were not saved.",
        )
    if isinstance(flash, tuple):
        kind, text = flash
        (st.success if kind == "success" else st.warning)(_plain(text))
    shown = min(position + 1, n)
    st.progress(len(done) / n, text=f"Item {shown} of {n} · you have graded {len(done)} of {n}")
    if item is None:
        _end_of_queue(review, items, grader, len(done))
        return
    _show_item(item)
    grade = done.get(item.key)
    if grade is None:
        _grade_form(review, item, grader, position)
    else:
        _revealed(item, grade)
        _nav(_queue_key(review, grader), position, graded=True)


def _grader() -> str | None:
    """The grader's name: the signed-in account's email, or (single-user mode) a name asked
    once per browser session."""
    who = viewer()
    if not who.is_local:
        st.markdown(f"Grading as **{_plain(who.email)}**")
        return grader_name(who.email[:MAX_GRADER_CHARS])
    name = st.session_state.get(GRADER)
    if isinstance(name, str):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(f"Grading as **{_plain(name)}**")
        if right.button("Change name", type="tertiary"):
            del st.session_state[GRADER]
            st.rerun()
        return name
    st.markdown(
        "Type your name: every grade records who gave it, and you continue where you stopped "
        "the next time you open this page with the same name."
    )
    typed = st.text_input("Your name", max_chars=200, key="review-name-input")
    clicked = st.button("Start grading", type="primary")
    if not clicked and not typed:
        return None
    try:
        st.session_state[GRADER] = grader_name(typed)
    except ReviewError as exc:
        st.error(_plain(str(exc)))
        return None
    st.rerun()
    return None  # not reached: st.rerun() stops this run


def _queue_key(review: Review, grader: str) -> str:
    return f"{review.source}|{review.filters!r}|{review.dataset_pack}|{grader}"


def _position(review: Review, items: Sequence[ReviewItem], grader: str) -> int:
    """Where this grader stands in this queue: where they stopped, the first time."""
    positions = st.session_state.setdefault(POSITIONS, {})
    key = _queue_key(review, grader)
    wanted = st.session_state.pop(OPEN, None)
    keys = [i.key for i in items]
    if wanted in keys:
        positions[key] = keys.index(wanted)
    elif key not in positions:
        positions[key] = review.next_index(grader, items)
    position = int(positions[key])
    return max(0, min(position, len(items)))


def _move(key: str, position: int) -> None:
    st.session_state.setdefault(POSITIONS, {})[key] = position


def _nav(
    key: str,
    position: int,
    graded: bool,
    columns: tuple[DeltaGenerator, DeltaGenerator] | None = None,
) -> None:
    """Previous, and Next item (once graded) or Skip for now: one click each."""
    back, forward = columns or st.columns([1, 1, 4])[:2]
    back.button(
        "Previous",
        on_click=_move,
        args=(key, position - 1),
        disabled=position == 0,
        width="stretch",
    )
    forward.button(
        "Next item" if graded else "Skip for now",
        type="primary" if graded else "secondary",
        on_click=_move,
        args=(key, position + 1),
        width="stretch",
    )


def _end_of_queue(review: Review, items: Sequence[ReviewItem], grader: str, done: int) -> None:
    key = _queue_key(review, grader)
    left = len(items) - done
    if left == 0:
        st.success(f"You have graded all {len(items)} answers of this queue. Thank you!")
        st.button("Back to the first answer", on_click=_move, args=(key, 0))
    else:
        st.info(f"End of the queue: {left} answer(s) you skipped are still to grade.")
        st.button(
            "Go to the first one not graded",
            type="primary",
            on_click=_move,
            args=(key, review.next_index(grader, items)),
        )


def _show_item(item: ReviewItem) -> None:
    """The question, the answer and what a grader may look up; never a score."""
    where = [item.level.value, item.category.value.replace("_", " ")]
    if item.source == "interview":
        where.insert(0, item.label)
    st.caption(" · ".join(_plain(w) for w in where))
    st.markdown(f"#### {_plain(item.question.question)}")
    with st.container(border=True):
        st.caption("The candidate's answer")
        st.markdown(_plain_block(item.answer))
    if item.rubric_changed:
        st.info(
            "The pack has changed since this interview: the rubric below is today's, which may "
            "not be the one the answer was scored with.",
            icon=":material/info:",
        )
    q = item.question
    if q.key_points or q.reference_answer:
        with st.expander("Key points and reference answer"):
            for kp in q.key_points:
                st.markdown(
                    f"- {_plain(kp.text)}  \n  *expected from {kp.level.value}, weight {kp.weight}*"
                )
            if q.reference_answer:
                st.markdown("**Reference answer**")
                st.markdown(model_markdown(q.reference_answer))


def _score_key(item: ReviewItem, criterion: str) -> str:
    return f"review-score|{item.key}|{criterion}"


def _save_key(item: ReviewItem) -> str:
    return f"review-save|{item.key}"


def _clicked_save(item: ReviewItem) -> bool:
    """Whether this run comes from a click on the item's Save grade (shown or not)."""
    return bool(st.session_state.get(_save_key(item)))


def _grade_form(review: Review, item: ReviewItem, grader: str, position: int) -> None:
    st.subheader("Your grade")
    chosen: dict[str, int] = {}
    for c in item.rubric.criteria:
        with st.container(border=True):
            left, right = st.columns([2, 3])
            with left:
                st.markdown(f"**{_plain(c.name)}** · weight {c.weight:g}")
                value = st.segmented_control(
                    _plain(c.name),
                    SCORES,
                    key=_score_key(item, c.id),
                    label_visibility="collapsed",
                )
                st.caption(_plain(c.description))
            if isinstance(value, int):
                chosen[c.id] = value
            right.caption(
                "  \n".join(
                    f"**{n} · {_plain(text)}**" if n == value else f"{n} · {_plain(text)}"
                    for n, text in sorted(c.anchors.items())
                )
            )
    points = _point_marks(item)
    overall_key = f"review-overall|{item.key}"
    touched_key = f"review-overall-touched|{item.key}"
    mean = _weighted_mean(item, chosen)
    if mean is not None and not st.session_state.get(touched_key):
        st.session_state[overall_key] = mean
    left, right = st.columns([1, 3])
    overall = left.number_input(
        "Overall (1 to 5)",
        min_value=1.0,
        max_value=5.0,
        value=None,
        step=0.1,
        format="%.1f",
        key=overall_key,
        on_change=_touch,
        args=(touched_key,),
        help="The weighted mean of your criteria scores until you change it.",
    )
    if mean is None:
        right.caption("Score every criterion; the overall starts as their weighted mean.")
    else:
        right.caption(f"Weighted mean of your criteria scores: {mean:.1f}")
    note = st.text_area(
        "Note (optional)", max_chars=MAX_NOTE_CHARS, key=f"review-note|{item.key}", height=80
    )
    save, back, skip, _ = st.columns([1, 1, 1, 3])
    if save.button("Save grade", type="primary", width="stretch", key=_save_key(item)):
        _save(review, item, grader, chosen, overall, note, points)
    _nav(_queue_key(review, grader), position, graded=False, columns=(back, skip))


def _point_key(item: ReviewItem, point: str) -> str:
    return f"review-point|{item.key}|{point}"


def _point_marks(item: ReviewItem) -> dict[str, int]:
    """The key points the grader marks (optional): covered, partly or missed."""
    q = item.question
    if not q.key_points:
        return {}
    marks: dict[str, int] = {}
    with st.container(border=True):
        st.markdown("**Key points** · optional")
        st.caption(
            "Mark what the answer covers, as you read it. After saving, your marks stand "
            "beside the points the scorer ticked: what the report shows covered and what the "
            "interviewer probes next."
        )
        for kp in q.key_points:
            left, right = st.columns([3, 2])
            left.markdown(f"{_plain(kp.text)}  \n:small[expected from {kp.level.value}]")
            value = right.segmented_control(
                f"Key point {kp.id}",
                list(POINT_MARKS),
                key=_point_key(item, kp.id),
                label_visibility="collapsed",
            )
            if isinstance(value, str):
                marks[kp.id] = POINT_MARKS[value]
    return marks


def _touch(key: str) -> None:
    """The grader set the overall: it no longer follows the criteria."""
    st.session_state[key] = True


def _weighted_mean(item: ReviewItem, chosen: dict[str, int]) -> float | None:
    """The default overall: the criteria scores weighted as the rubric weighs them."""
    criteria = item.rubric.criteria
    if any(c.id not in chosen for c in criteria):
        return None
    total = sum(c.weight for c in criteria)
    return round(sum(c.weight * chosen[c.id] for c in criteria) / total, 1)


def _save(
    review: Review,
    item: ReviewItem,
    grader: str,
    chosen: dict[str, int],
    overall: float | None,
    note: str,
    points: dict[str, int],
) -> None:
    try:
        if overall is None and len(chosen) == len(item.rubric.criteria):
            raise ReviewError("Give an overall score (1 to 5) before saving.")
        review.commit(item, grader, chosen, overall or 0.0, note, points)
    except GradeConflictError as exc:  # graded in another tab: that grade stands
        st.session_state[FLASH] = ("warning", str(exc))
        st.rerun()
    except ReviewError as exc:
        st.error(_plain(str(exc)))
        return
    st.session_state[FLASH] = ("success", "Grade saved. Here is how the scorers saw it.")
    st.rerun()


def _revealed(item: ReviewItem, grade: Grade) -> None:
    """The grader's saved grade beside the scorers' (only ever after it is saved)."""
    st.subheader("Your grade beside the scorers'")
    scorers: list[tuple[str, AnswerScore]] = [
        (name, score)
        for name, score in (("Offline scorer", item.offline), ("LLM judge", item.judge))
        if score is not None
    ]
    header = ["Criterion", f"You ({_plain(grade.grader)})", *[name for name, _ in scorers]]
    rows = [
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    for c in item.rubric.criteria:
        mine = grade.criteria.get(c.id)
        cells = [_plain(c.name), str(mine) if mine is not None else "-"]
        for _, score in scorers:
            found = next((s for s in score.criteria if s.id == c.id), None)
            cells.append(str(found.score) if found else "-")
        rows.append("| " + " | ".join(cells) + " |")
    overall = ["**Overall**", f"**{grade.overall:.1f}**"]
    overall += [f"**{score.overall:.2f}**" for _, score in scorers]
    rows.append("| " + " | ".join(overall) + " |")
    left, right = st.columns([5, 4])
    left.markdown("\n".join(rows))
    with right:
        if grade.note:
            st.markdown(f"**Your note:** {_plain(grade.note)}")
        if not scorers:
            st.caption("No scorer scored this answer.")
        for name, score in scorers:
            st.markdown(f"**Why the {name.lower()} scored so**")
            quoted = {found.evidence for found in score.criteria if found.evidence}
            lines = []
            for found in score.criteria:
                line = f"- **{_plain(found.name)}** ({found.score}): {_plain(found.reason or '-')}"
                if found.evidence and len(quoted) > 1:
                    line += f"  \n  :small[“{_plain(found.evidence)}”]"
                lines.append(line)
            st.markdown("\n".join(lines))
            if len(quoted) == 1:  # the offline scorer quotes one sentence for every criterion
                st.caption(f"It quoted: “{_plain(quoted.pop())}”")
    if grade.points:
        _points_beside(item, grade)
    if grade.rubric_hash != item.rubric_hash:
        st.caption("You graded this answer under an earlier version of the rubric.")


def _points_beside(item: ReviewItem, grade: Grade) -> None:
    """The key points the grader marked, beside what the offline scorer ticked."""
    ticked = {kp.id: kp.covered for kp in item.offline.key_points} if item.offline else {}
    rows = ["| Key point | You | Offline scorer |", "| --- | --- | --- |"]
    for kp in item.question.key_points:
        mine = grade.points.get(kp.id)
        theirs = ticked.get(kp.id)
        yours = MARK_NAMES[mine] if mine is not None else "-"
        scorer = "-" if theirs is None else "covered" if theirs else "missed"
        rows.append(f"| {plain_markdown(kp.text, inline=True)} | {yours} | {scorer} |")
    st.markdown("\n".join(rows))


# --- Agreement ------------------------------------------------------------------------------


def _agreement(review: Review, items: Sequence[ReviewItem]) -> None:
    st.caption(
        "This view shows every grader's and scorer's numbers: if you are still grading this "
        "queue, finish first so they do not sway you."
    )
    with st.spinner("Computing agreement…"):
        report = review.agreement(items)
    a, b, c = st.columns(3)
    a.metric("Answers graded", f"{report.items_graded} of {len(items)}")
    b.metric("Grades", report.grades)
    c.metric("Graders", len(report.graders))
    if report.grades == 0:
        st.info("Nobody has graded an answer of this queue yet.")
        return
    st.caption("Graders: " + ", ".join(_plain(g) for g in report.graders))
    names = _criterion_names(items)
    _pairs(report, names)
    _alphas(report, names)
    _points(report)
    _disagreements(report)
    _export(review, items)


def _points(report: AgreementReport) -> None:
    """Each grader's key-point marks against the offline scorer's ticks."""
    if not report.points:
        return
    st.subheader("Key points")
    st.caption("Each grader's marks against the points the offline scorer ticked.")
    st.dataframe(
        pd.DataFrame(
            [[row.grader, *row.agreement.cells()] for row in report.points],
            columns=["Grader", *POINT_COLUMNS],
        ),
        hide_index=True,
    )
    st.caption(
        "Ticks right: of the points the scorer ticked, the share you marked covered. Covered "
        "and ticked: of the points you marked covered, the share it ticked. A point you marked "
        "partly counts as not covered: the interviewer should still probe it."
    )


def _criterion_names(items: Sequence[ReviewItem]) -> dict[str, str]:
    names = {OVERALL: "overall"}
    for item in items:
        for c in item.rubric.criteria:
            names.setdefault(c.id, c.name)
    return names


def _with_ci(value: float, ci: tuple[float, float]) -> str:
    if not math.isfinite(value):
        return "-"
    if not all(math.isfinite(x) for x in ci):
        return f"{value:.2f}"
    return f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _pairs(report: AgreementReport, names: dict[str, str]) -> None:
    st.subheader("Pairs")
    if not report.pairs:
        st.info(
            "Agreement needs at least two answers rated by both raters of a pair: grade more "
            "(two graders on the same answers, or one grader and a scorer)."
        )
        return
    overall = [p for p in report.pairs if p.target == OVERALL]
    if overall:
        st.altair_chart(agreement_chart(overall), width="stretch")
    st.dataframe(_pairs_table(report.pairs, names), width="stretch", hide_index=True)
    st.caption(
        "QWK: quadratic weighted kappa (1 = perfect agreement, 0 = chance). Brackets: 95% "
        "bootstrap interval. A pair is listed once it shares at least two answers."
    )


def _pairs_table(pairs: Sequence[PairRow], names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "target": names.get(p.target, p.target),
                "raters": f"{p.first} ~ {p.second}",
                "n": p.n,
                "QWK [95% CI]": _with_ci(p.qwk, p.qwk_ci),
                "Pearson [95% CI]": _with_ci(p.pearson, p.pearson_ci),
            }
            for p in pairs
        ]
    )


def _alphas(report: AgreementReport, names: dict[str, str]) -> None:
    if not report.alphas:
        return
    st.subheader("All graders together")
    table = pd.DataFrame(
        [
            {
                "target": names.get(a.target, a.target),
                "Krippendorff's alpha [95% CI]": _with_ci(a.alpha, a.ci),
                "graders": a.graders,
                "answers": a.items,
            }
            for a in report.alphas
        ]
    )
    st.dataframe(table, width="stretch", hide_index=True)


def _open(key: str) -> None:
    st.session_state[OPEN] = key
    st.session_state[VIEW] = GRADE


def _disagreements(report: AgreementReport) -> None:
    if not report.disagreements:
        return
    st.subheader("Where graders and a scorer part most")
    for i, d in enumerate(report.disagreements):
        with st.container(border=True):
            text, numbers, button = st.columns([6, 3, 1], vertical_alignment="center")
            question = d.question if len(d.question) <= 160 else d.question[:157] + "…"
            text.markdown(f"**{_plain(question)}**")
            text.caption(_plain(d.label))
            numbers.markdown(
                f"graders' mean **{d.human:.1f}** · {_plain(d.scorer)} **{d.scored:.1f}** · "
                f"gap {d.gap:+.1f}"
            )
            button.button("Open", key=f"review-open-{i}", on_click=_open, args=(d.key,))


@st.fragment
def _export(review: Review, items: Sequence[ReviewItem]) -> None:
    st.subheader("Export")
    with_names = st.checkbox(
        "Keep graders' names and notes",
        key="review-export-names",
        help="Left out by default: the dataset then carries scores, not who gave them.",
    )
    try:
        lines = review.export(items, with_names=with_names)
    except ReviewError as exc:
        st.info(_plain(str(exc)))
        return
    _download(
        "Graded answers",
        lines,
        review.export_name,
        f"{len(lines) - 1} graded answer(s) as an eval dataset: score them with "
        "`interviewer eval run --dataset FILE`.",
    )
    try:
        marked = review.export_points(items)
    except ReviewError:
        return  # nobody has marked every key point of an answer yet
    _download(
        "Key-point marks",
        marked,
        f"{review.export_name}-key-points",
        f"{len(marked) - 1} answer(s) with every key point marked: check the offline scorer's "
        "ticks with `interviewer eval points --dataset FILE`.",
    )


def _download(label: str, lines: list[str], name: str, caption: str) -> None:
    """A JSONL download button (the page does not rerun on click) and what the file is for."""
    st.download_button(
        f":material/download: {label} (JSONL)",
        "\n".join(lines) + "\n",
        file_name=f"{name}.jsonl",
        mime="application/jsonl",
        on_click="ignore",
    )
    st.caption(caption)


def _plain(text: str) -> str:
    """Candidate, grader, pack and error text shown literally (see interviewer.untrusted)."""
    return plain_markdown(text)


def _plain_block(text: str) -> str:
    """An answer shown literally, its line breaks kept."""
    return plain_markdown(text)
