"""The end-of-interview report: overall and per-criterion scores, per-question feedback.

Built from a finished (or ended-early) session; exported as Markdown and JSON. Reference
answers appear only here, never during the interview.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from interviewer.domain import (
    AnswerScore,
    CandidateQuestion,
    Category,
    Flag,
    Level,
    Question,
    Session,
    to_minute,
)
from interviewer.untrusted import inline_markdown, model_markdown, plain_markdown


class ReportModel(BaseModel):
    """Base for report parts."""

    model_config = ConfigDict(extra="forbid")


class CriterionSummary(ReportModel):
    """A criterion's average over the questions scored on it."""

    id: str
    name: str
    category: str
    score: float
    questions: int


class QuestionReport(ReportModel):
    """Feedback on one question."""

    question_id: str
    question: str
    category: str
    topic: str
    answer: str
    score: AnswerScore
    reference_answer: str
    study_next: list[str] = Field(default_factory=list)
    own_words: bool = Field(
        default=False,
        description="Told in the candidate's own words (its rubric says so) and ticked offline: "
        "the points not found may still be in it, so they are listed as not found, to check.",
    )

    @property
    def missed_heading(self) -> str:
        """What the points the scorer did not find are called."""
        return "Not found in your words" if self.own_words else "Missed"


TOUCHED_HEADING = "Touched on, not made"
TOUCHED_NOTE = "Your answer came close to these: say them outright next time."
OWN_WORDS_NOTE = (
    "An answer in your own words, such as a story, can make these points in words the offline "
    "scorer does not recognise: check your answer for each."
)


class Report(ReportModel):
    """Everything the candidate sees after the interview."""

    session_id: str
    pack: str
    pack_version: str
    pack_hash: str
    level: Level
    format: str
    mode: str
    started_at: str
    ended_at: str | None
    overall: float | None
    criteria: list[CriterionSummary]
    questions: list[QuestionReport]
    study_plan: list[str]
    notices: list[str]
    scorers: list[str]
    questions_to_ask: list[str] = Field(default_factory=list)

    @property
    def scored_by(self) -> str:
        """Who scored the answers, for a header line ("offline", "llm:gpt-4o, offline")."""
        return ", ".join(self.scorers) or "nobody"


def _study(q: Question, score: AnswerScore) -> list[str]:
    """What to study next for one question: its missed points, most important first."""
    missed = sorted(score.missed(), key=lambda kp: -kp.weight)
    items = [kp.text for kp in missed[:3]]
    if score.red_flags:
        items.append(f"Revisit a misconception: {score.red_flags[0]}")
    return items


def _quoted(text: str, plain: Callable[[str], str]) -> str:
    """``text`` as a Markdown block quote that keeps its paragraphs (a bare ``>`` between
    them) and its line breaks (two trailing spaces); joined, they ran into one paragraph."""
    out: list[str] = []
    gap = False
    for line in text.strip().splitlines():
        if not line.strip():
            gap = True
            continue
        if gap:
            out.append(">")
            gap = False
        out.append(f"> {plain(line.rstrip())}  ")
    return "\n".join(out)


def at_level(score: AnswerScore, q: Question, level: Level) -> AnswerScore:
    """The score as the report shows it: a point above the interview's level counts when the
    answer made it, and is not listed as missed (nor as something to study) when it did not."""
    return score.model_copy(update={"key_points": q.listed_at(score.key_points, level)})


def build_report(
    session: Session,
    questions: Mapping[str, Question],
    asks: Sequence[CandidateQuestion] = (),
    own_words: Collection[Category] = (),
) -> Report:
    """Assemble the report from a session's scores, the corpus questions and, optionally, the
    good questions a candidate can ask (three are suggested, by level, varying by session).
    ``own_words``: the categories whose rubric says answers are told in the candidate's own
    words; their offline-ticked questions come last in the study plan, and not at all when
    ``AnswerScore.misses_in_doubt``."""
    per_question: list[QuestionReport] = []
    sums: dict[tuple[str, str], list[float]] = {}
    names: dict[tuple[str, str], str] = {}
    for state in session.plan:
        score = session.scores.get(state.question_id)
        q = questions.get(state.question_id)
        if score is None or q is None:
            continue
        shown = at_level(score, q, session.level)
        told = q.category in own_words
        # points a strong story likely made stay listed under the question, not to study
        study = [] if score.misses_in_doubt(told) else _study(q, shown)
        per_question.append(
            QuestionReport(
                question_id=q.id,
                question=q.question,
                category=q.category.value,
                topic=q.topic,
                answer="\n\n".join(state.answers),
                score=shown,
                reference_answer=q.reference_answer,
                study_next=study,
                own_words=told and score.ticked_offline,
            )
        )
        for c in score.criteria:
            key = (q.category.value, c.id)
            sums.setdefault(key, []).append(c.score)
            names[key] = c.name
    criteria = [
        CriterionSummary(
            id=cid,
            name=names[(cat, cid)],
            category=cat,
            score=round(sum(v) / len(v), 2),
            questions=len(v),
        )
        for (cat, cid), v in sums.items()
    ]
    overall = (
        round(sum(r.score.overall for r in per_question) / len(per_question), 2)
        if per_question
        else None
    )
    plan: list[str] = []
    # the weakest answers first; points a story may have made in its own words after the rest
    for r in sorted(per_question, key=lambda r: (r.own_words, r.score.overall)):
        for item in r.study_next:
            if item not in plan:
                plan.append(item)
    return Report(
        session_id=session.id,
        pack=session.pack_id,
        pack_version=session.pack_version,
        pack_hash=session.pack_hash,
        level=session.level,
        format=session.format,
        mode=session.mode,
        started_at=session.started_at,
        ended_at=session.ended_at,
        overall=overall,
        criteria=criteria,
        questions=per_question,
        study_plan=plan[:8],
        notices=list(dict.fromkeys(session.notices)),
        # A skipped question was scored by nobody: it does not name a scorer.
        scorers=sorted({r.score.scorer for r in per_question if Flag.SKIPPED not in r.score.flags}),
        questions_to_ask=_pick_asks(session, asks),
    )


def _pick_asks(session: Session, asks: Sequence[CandidateQuestion], n: int = 3) -> list[str]:
    fitting = sorted((a for a in asks if session.level in a.levels), key=lambda a: a.id)
    if not fitting:
        return []
    rng = random.Random(session.id)
    by_theme: dict[str, list[CandidateQuestion]] = {}
    for ask in fitting:
        by_theme.setdefault(ask.theme, []).append(ask)
    themes = rng.sample(sorted(by_theme), min(n, len(by_theme)))
    return [f"{pick.text} ({pick.why})" for pick in (rng.choice(by_theme[t]) for t in themes)]


def _bar(score: float) -> str:
    full = round(score * 2) / 2
    return "█" * int(full) + ("▌" if full % 1 else "") + f" {score:.1f}/5"


def to_markdown(report: Report) -> str:
    """The report as Markdown. Candidate, model, pack and corpus text is shown literally (the
    reference answers keep their formatting, and pack and corpus lines their `code` spans),
    never as a link, an image or HTML: see ``interviewer.untrusted``."""
    p = _md
    lines = [f"# Interview report: {p(report.format.replace('-', ' '))} ({report.level.value})", ""]
    lines.append(
        f"- Session {p(report.session_id)}, pack {p(report.pack)} {p(report.pack_version)} "
        f"({p(report.pack_hash)}), mode {p(report.mode)}, scored by "
        f"{p(report.scored_by)}"
    )
    ended = f"{to_minute(report.ended_at)} UTC" if report.ended_at else "not yet"
    lines.append(f"- Started {p(to_minute(report.started_at))} UTC, ended {p(ended)}")
    lines.append("")
    if report.overall is None:
        lines.append("No question was answered, so there is nothing to score yet.")
    else:
        lines += [
            f"## Overall: {_bar(report.overall)}",
            "",
            "| criterion | category | score |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {p(c.name)} | {p(c.category.replace('_', ' '))} | {_bar(c.score)} |"
            for c in report.criteria
        ]
    if report.study_plan:
        lines += ["", "## What to study next", ""]
        lines += [f"{i}. {inline_markdown(item)}" for i, item in enumerate(report.study_plan, 1)]
    for i, r in enumerate(report.questions, 1):
        flags = [f.value.replace("_", " ") for f in r.score.flags]
        lines += [
            "",
            f"## {i}. {inline_markdown(r.question)}",
            "",
            f"*{p(r.category.replace('_', ' '))} · {p(r.topic)} · score {r.score.overall:.1f}/5"
            f"{' · ' + ', '.join(flags) if flags else ''}"
            f"{'' if Flag.SKIPPED in r.score.flags else ' · scored by ' + p(r.score.scorer)}*",
            "",
        ]
        if Flag.SKIPPED not in r.score.flags:
            lines += ["**Your answer**", "", _quoted(r.answer, p) or "> (empty)", ""]
        lines += ["| criterion | score | why |", "| --- | --- | --- |"]
        lines += [f"| {p(c.name)} | {c.score} | {p(c.reason)} |" for c in r.score.criteria]
        covered, touched = r.score.covered(), r.score.touched()
        missed = r.score.untouched()
        if covered:
            lines += ["", "**Covered**", ""]
            lines += [
                f"- {inline_markdown(kp.text)}"
                + (f' — you said: "{p(kp.evidence)}"' if kp.evidence else "")
                for kp in covered
            ]
        if touched:
            lines += ["", f"**{TOUCHED_HEADING}**", "", f"*{TOUCHED_NOTE}*", ""]
            lines += [f"- {inline_markdown(kp.text)}" for kp in touched]
        if missed:
            lines += ["", f"**{r.missed_heading}**", ""]
            lines += [f"*{OWN_WORDS_NOTE}*", ""] if r.own_words else []
            lines += [f"- {inline_markdown(kp.text)}" for kp in missed]
        if r.score.red_flags:
            lines += ["", "**Misconceptions to revisit**", ""]
            lines += [f"- {inline_markdown(flag)}" for flag in r.score.red_flags]
        lines += [
            "",
            "<details><summary>Model answer</summary>",
            "",
            model_markdown(r.reference_answer),  # no raw HTML: it cannot close the block
            "",
            "</details>",
        ]
    if report.questions_to_ask:
        lines += ["", "## Good questions to ask your next interviewer", ""]
        lines += [f"- {p(q)}" for q in report.questions_to_ask]
    if report.notices:
        lines += ["", "## Notices", ""] + [f"- {p(n)}" for n in report.notices]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Untrusted text, shown literally on one line of Markdown."""
    return plain_markdown(text, inline=True)


def to_json(report: Report) -> str:
    """The report as JSON. C1 controls and bidi overrides are written as \\u escapes too (JSON
    needs it only for C0): the same data, and nothing a terminal could act on."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", report.model_dump_json(indent=2))


_INVISIBLE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:860px;margin:2rem auto;
color:#212529;line-height:1.5;padding:0 1rem}h1{margin-bottom:.2rem}.muted{color:#868e96}
.bar{background:#e9ecef;border-radius:4px;height:14px;width:260px;display:inline-block;
vertical-align:middle}.fill{background:#3b5bdb;height:14px;border-radius:4px}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #dee2e6;
text-align:left;vertical-align:top}.card{border:1px solid #dee2e6;border-radius:8px;padding:1rem;
margin:1rem 0}blockquote{border-left:3px solid #adb5bd;margin:.5rem 0;padding-left:.8rem;
white-space:pre-wrap}.ok{color:#2b8a3e}.miss{color:#c92a2a}.part{color:#e67700}
"""


def to_html(report: Report) -> str:
    """A self-contained HTML page of the report; every piece of text is HTML-escaped."""
    from html import escape as e

    def bar(score: float) -> str:
        width = int(score / 5 * 100)
        return (
            f'<span class="bar"><span class="fill" style="display:block;width:{width}%">'
            f"</span></span> {score:.1f}/5"
        )

    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Interview report</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Interview report</h1><p class='muted'>{e(report.format)} · "
        f"{e(report.level.value)} · session {e(report.session_id)} · pack {e(report.pack)} "
        f"{e(report.pack_version)} · scored by {e(report.scored_by)}</p>",
    ]
    if report.overall is not None:
        parts.append(f"<h2>Overall {bar(report.overall)}</h2><table>")
        parts += [
            f"<tr><td>{e(c.name)}</td><td>{e(c.category)}</td><td>{bar(c.score)}</td></tr>"
            for c in report.criteria
        ]
        parts.append("</table>")
    if report.study_plan:
        parts.append("<h2>What to study next</h2><ol>")
        parts += [f"<li>{e(item)}</li>" for item in report.study_plan]
        parts.append("</ol>")
    for i, r in enumerate(report.questions, 1):
        parts.append(
            f"<div class='card'><h3>{i}. {e(r.question)}</h3><p class='muted'>"
            f"{e(r.category)} · {e(r.topic)} · {r.score.overall:.1f}/5</p>"
        )
        parts.append(f"<blockquote>{e(r.answer) or '(no answer)'}</blockquote><table>")
        parts += [
            f"<tr><td>{e(c.name)}</td><td>{c.score}</td><td>{e(c.reason)}</td></tr>"
            for c in r.score.criteria
        ]
        parts.append("</table><ul>")
        parts += [
            f"<li class='ok'>✔ {e(kp.text)}"
            + (
                f"<br><span class='muted'>you said: “{e(kp.evidence)}”</span>"
                if kp.evidence
                else ""
            )
            + "</li>"
            for kp in r.score.covered()
        ]
        parts += [f"<li class='part'>◐ {e(kp.text)}</li>" for kp in r.score.touched()]
        if r.own_words and r.score.untouched():
            parts.append(f"<li class='muted'>{e(OWN_WORDS_NOTE)}</li>")
        mark = "?" if r.own_words else "✘"
        parts += [f"<li class='miss'>{mark} {e(kp.text)}</li>" for kp in r.score.untouched()]
        parts.append(
            f"</ul><details><summary>Model answer</summary><p>{e(r.reference_answer)}"
            "</p></details></div>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
