"""End to end in Debian's headless Chromium: a short interview on a real `streamlit run` server.

The server binds 127.0.0.1 with a private data directory; Chromium starts with its background
networking off. Screenshots go to $SCREENSHOT_DIR (the docs use this) or the test's
temporary folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fake_llm import FakeLLM
    from playwright.sync_api import Page

from factories import LOCAL

from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for


@pytest.fixture
def server(tmp_path: Path, model_cache: Path) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        INTERVIEWER_DATA_DIR=str(tmp_path / "data"),
        INTERVIEWER_CACHE_DIR=str(model_cache),
    )
    proc = start_app(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda: proc.poll() is None)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_short_interview_in_chromium(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium package is needed (./run test installs it)"
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server, timeout=120_000)
        page.get_by_role("button", name="Start interview").click(timeout=120_000)
        expect(page.get_by_text("Question 1 of 4")).to_be_visible(timeout=60_000)
        assert "session=" in page.url
        box = page.get_by_placeholder("Type your answer")
        box.fill(
            "I would start from the requirements, measure where time goes, and only then "
            "add caching or retries, because each has a cost. See https://evil.example/x, "
            "www.evil.example and mail@evil.example."
        )
        box.press("Enter")
        expect(page.get_by_text("I would start from the requirements")).to_be_visible(
            timeout=60_000
        )
        # An answer's addresses are text: Streamlit's renderer links bare URLs on its own.
        links = page.locator('[data-testid="stChatMessage"] a[href]')
        assert links.count() == 0, [
            links.nth(i).get_attribute("href") for i in range(links.count())
        ]
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "chat.png"))
        # A refresh keeps the interview: the session id is in the URL.
        page.reload()
        expect(page.get_by_text("I would start from the requirements")).to_be_visible(
            timeout=60_000
        )
        page.get_by_role("button", name="End", exact=False).filter(has_text="End").first.click()
        expect(page.get_by_text("End the interview now?")).to_be_visible(timeout=60_000)
        page.get_by_role("button", name="End now").click()
        expect(page.get_by_text("Your interview report")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "report.png"), full_page=True)
        session_id = page.url.split("session=")[1].split("&")[0]
        # History reopens it: the button lands on this session's report, not a new setup.
        page.goto(f"{server}/history", timeout=60_000)
        page.get_by_role("button", name="Open report").first.click(timeout=60_000)
        expect(page.get_by_text("Your interview report")).to_be_visible(timeout=60_000)
        assert f"session={session_id}" in page.url
        browser.close()
    # Offline means offline: the page, its icon and fonts all come from the app's own server.
    outside = [u for u in requested if not u.startswith((server, "data:", "blob:"))]
    assert outside == []
    assert (shots / "chat.png").stat().st_size > 10_000
    assert (shots / "report.png").stat().st_size > 10_000


IDLE = """() => {
  const boxes = document.querySelectorAll('[data-testid="stChatInputTextArea"]');
  const box = boxes.length ? boxes[boxes.length - 1] : null;  // a refused text gets a new box
  const running = document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  const ended = box !== null && box.placeholder.startsWith("This interview has ended");
  return box !== null && (!box.disabled || ended) && running === null;
}"""


def _settle(page: Page) -> None:
    """Wait until the page has finished its script run and the input takes text again."""
    page.wait_for_function(IDLE, timeout=60_000)
    page.wait_for_timeout(300)  # a rerun may follow the first one (a reply, then its redraw)
    page.wait_for_function(IDLE, timeout=60_000)


def _turn_rows(data: Path, session_id: str) -> list[tuple[int, str, str, str]]:
    """The session's rows in the turns table: (seq, speaker, kind, text), in order."""
    from sqlalchemy import text

    from interviewer.store import SessionStore

    store = SessionStore.for_data_dir(data)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, speaker, kind, text FROM turns WHERE session_id = :id ORDER BY seq"),
            {"id": session_id},
        ).all()
    store.engine.dispose()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _stored_answers(data: Path, session_id: str) -> list[str]:
    return [r[3] for r in _turn_rows(data, session_id) if r[1] == "candidate"]


def _refused_on_screen(page: Page, message: str) -> bool:
    """A warning on the page says a message was not used, and its text is back in the box
    (or, when the interview has ended, quoted in the warning)."""
    warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    box = page.locator('[data-testid="stChatInputTextArea"]').last.input_value()
    return (any("not sent" in w for w in warnings) and box == message) or any(
        "has ended" in w and message in w for w in warnings
    )


def _accounted_for(page: Page, message: str, data: Path, session_id: str) -> bool:
    """Whether ``message`` is stored or refused on screen, waiting up to 30 s for either."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if message in _stored_answers(data, session_id) or _refused_on_screen(page, message):
            _settle(page)
            return True
        page.wait_for_timeout(200)
    return False


def _screen(page: Page) -> str:
    """What a failing assertion should show: the warnings and the input's text."""
    warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    boxes = page.locator('[data-testid="stChatInputTextArea"]').evaluate_all(
        "els => els.map(e => [e.value, e.disabled, e.placeholder])"
    )
    return f"warnings={warnings!r} boxes={boxes!r}"


def _no_error_shown(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def _start_interview(page: Page, server: str, fmt: str | None = None) -> str:
    from playwright.sync_api import expect

    page.goto(server, timeout=120_000)
    if fmt:
        page.get_by_text(fmt, exact=True).click(timeout=120_000)
    page.get_by_role("button", name="Start interview").click(timeout=120_000)
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=60_000)
    _settle(page)
    return page.url.split("session=")[1].split("&")[0]


def test_two_messages_50_ms_apart_are_both_accounted_for(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    first = "I would add an index on the filtered column and check the plan first."
    second = "Also I would look at the slow query log to find the worst offenders."
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        session_id = _start_interview(page, server)
        box = page.get_by_placeholder("Type your answer").last
        box.fill(first)
        box.press("Enter")
        page.wait_for_timeout(50)
        box_open = not box.is_disabled()
        if box_open:  # the page let the candidate send a second message: it must be accounted
            box.fill(second, timeout=1_000)
            box.press("Enter")
        data = tmp_path / "data"
        assert _accounted_for(page, first, data, session_id)
        assert first in _stored_answers(data, session_id)
        if box_open:
            assert _accounted_for(page, second, data, session_id), _screen(page)
        else:
            # While the reply was on its way the input was disabled on screen, so the second
            # message could not be sent; once the reply is in, it goes through.
            box.fill(second)
            box.press("Enter")
            assert _accounted_for(page, second, data, session_id), _screen(page)
            assert second in _stored_answers(data, session_id)
        _no_error_shown(page)
        browser.close()


def test_two_tabs_submitting_at_once_keep_the_session_whole(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from interviewer.config import Settings
    from interviewer.corpus import load_corpus
    from interviewer.report import build_report
    from interviewer.store import SessionStore

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        one = context.new_page()
        session_id = _start_interview(one, server, fmt="System design")
        two = context.new_page()
        two.goto(f"{server}/?session={session_id}", timeout=120_000)
        _settle(two)
        tabs = (one, two)
        sent: list[tuple[int, str]] = []
        for round_ in range(6):
            texts = [
                f"Round {round_} from tab {i}: I would shard by customer id and cache reads."
                for i in (1, 2)
            ]
            for tab, message in zip(tabs, texts, strict=True):
                area = tab.locator('[data-testid="stChatInputTextArea"]').last
                if area.is_enabled():
                    area.fill(message)
            for tab, message in zip(tabs, texts, strict=True):  # both Enter keys at once
                area = tab.locator('[data-testid="stChatInputTextArea"]').last
                if area.is_enabled() and area.input_value() == message:
                    area.press("Enter")
                    sent.append((tabs.index(tab), message))
            for tab in tabs:
                _settle(tab)
            for index, message in sent[-2:]:
                if message.startswith(f"Round {round_} "):
                    assert _accounted_for(tabs[index], message, tmp_path / "data", session_id), (
                        f"round {round_}: tab {index + 1}'s message is neither stored nor "
                        f"refused on screen: {_screen(tabs[index])}"
                    )
            for tab in tabs:
                _no_error_shown(tab)
        browser.close()
    assert len(sent) >= 6  # at least one tab could send in every round
    # The turns table, the saved state and the report tell the same story.
    session = SessionStore.for_data_dir(tmp_path / "data").load(session_id, viewer=LOCAL)
    rows = _turn_rows(tmp_path / "data", session_id)
    assert [r[0] for r in rows] == list(range(len(session.turns)))
    assert [r[3] for r in rows] == [t.text for t in session.turns]
    table_answers = [r[3] for r in rows if r[2] == "answer"]
    state_answers = [a for q in session.plan for a in q.answers]
    assert table_answers == state_answers
    report = build_report(session, load_corpus(Settings().corpus_dir).by_id())
    report_answers = [a for item in report.questions for a in item.answer.split("\n\n") if a]
    assert report_answers == state_answers


RUNNING = """() => document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') === null"""


def _idle(page: Page) -> None:
    """Wait until no script run is going on (twice: a click may start a second run)."""
    page.wait_for_function(RUNNING, timeout=60_000)
    page.wait_for_timeout(250)
    page.wait_for_function(RUNNING, timeout=60_000)


def _grade_five(page: Page, server: str, grader: str, scores: list[int]) -> None:
    """Sign in to the Review page as ``grader`` and grade the first five answers, one click per
    criterion; the scorer's numbers must appear only after each save."""
    from playwright.sync_api import expect

    page.goto(f"{server}/review", timeout=120_000)
    page.get_by_label("Your name").fill(grader, timeout=120_000)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Grading as")).to_be_visible(timeout=120_000)
    for n, score in enumerate(scores, start=1):
        expect(page.get_by_text(f"Item {n} of")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name="Save grade")).to_be_visible(timeout=60_000)
        _idle(page)
        # The last item's revealed scores stay drawn (stale) until the run that shows this one
        # ends, and a short run may end without the status widget ever showing it ran: wait for
        # them to go. Scores drawn in this item's form would stay, and fail here.
        expect(page.get_by_text("Offline scorer"), "scores shown before saving").to_have_count(
            0, timeout=30_000
        )
        marked = 0
        for control in page.get_by_role("radiogroup").all()[1:]:  # the first is the view
            if control.get_by_role("radio", name="5", exact=True).count():  # a criterion
                control.get_by_role("radio", name=str(score), exact=True).click()
            elif n == 1:  # a key point: the first answer's are marked, the others left
                control.get_by_role("radio", name="covered", exact=True).click()
                marked += 1
            else:
                continue
            _idle(page)
        # the page has drawn the last click (every criterion has the same score): a click on
        # Save while that run was still on its way was lost once in CI
        mean = page.get_by_text(f"Weighted mean of your criteria scores: {score:.1f}")
        expect(mean).to_be_visible(timeout=60_000)
        _idle(page)
        page.get_by_role("button", name="Save grade").click()
        expect(page.get_by_text("Grade saved")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Offline scorer").first).to_be_visible()
        if marked:  # the marks beside the scorer's ticks, one row per point
            table = page.locator("table").filter(has_text="Key point").last
            expect(table).to_be_visible()
            assert table.locator("tbody tr").count() == marked
        page.get_by_role("button", name="Next item").click()
        _idle(page)


def test_a_second_grader_grades_five_answers_then_agrees_and_exports(
    server: str, tmp_path: Path, shipped_services: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grader grades five answers of real finished interviews in Chromium that a first grader
    graded already (through the same ``Review`` the page uses); the agreement view shows their
    kappa; the export is schema-valid and `eval run` reads it."""
    import json

    import jsonschema
    from playwright.sync_api import expect, sync_playwright
    from typer.testing import CliRunner

    from interviewer.cli import app
    from interviewer.config import PROJECT_ROOT
    from interviewer.domain import Level
    from interviewer.review.service import Review
    from interviewer.services import Services
    from interviewer.store import SessionStore

    assert isinstance(shipped_services, Services)
    services = shipped_services.sharing(
        shipped_services.settings, SessionStore.for_data_dir(tmp_path / "data")
    )
    for profile in ("ana", "ben"):  # two finished phone screens, three answers each
        interview = services.new_interview(
            "backend-developer", Level.MID, "phone-screen", profile, viewer=LOCAL
        )
        interview.start()
        for n in range(12):
            state = interview.session.active
            if state is None:
                break
            q = interview.questions[state.question_id]
            interview.handle("skip" if n == 1 else q.reference_answer.split(". ")[0] + ".")
            if interview.session.active is state:
                interview.handle("skip")
        interview.handle("end")
    review = Review(services)
    for item, score in zip(review.queue(), [4, 3, 4, 2, 5], strict=False):
        review.commit(item, "Priya", {c.id: score for c in item.rubric.criteria}, score)
    export = tmp_path / "graded.jsonl"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        _grade_five(page, server, "Sam", [4, 2, 4, 2, 4])
        page.get_by_role("radio", name="Agreement").click()
        expect(page.get_by_text("Where graders and a scorer part most")).to_be_visible(
            timeout=120_000
        )
        # the pairs table: the two graders' kappa on the overall score
        expect(page.get_by_text("Priya ~ Sam").first).to_be_visible(timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Graded answers (JSONL)").click()
        download.value.save_as(export)
        browser.close()
    first = review.queue()[0]  # Sam marked every key point of it covered
    saved = review.graded_by("Sam", [first])[first.key].points
    assert saved == {kp.id: 2 for kp in first.question.key_points}
    lines = export.read_text().splitlines()
    schema = json.loads((PROJECT_ROOT / "evals/schema/eval-dataset-line.schema.json").read_text())
    rows = [json.loads(line) for line in lines[1:]]
    assert len(rows) == 5 and all(r["grader_count"] == 2 for r in rows)
    for row in rows:
        jsonschema.validate(row, schema)
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "eval"))
    run = ["eval", "run", "--dataset", str(export), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*run, "--robustness-sample", "0"])
    assert result.exit_code == 0, result.output


def test_a_page_change_is_taken_while_a_slow_model_is_still_answering(
    fake_llm: FakeLLM, tmp_path: Path, model_cache: Path
) -> None:
    """With Streamlit's fast reruns off (.streamlit/config.toml), a click is taken at the page's
    next drawing call: the reply on its way is drawn again every half second, so a model that
    takes seconds to answer does not hold up leaving the page."""
    from playwright.sync_api import expect, sync_playwright

    fake_llm.default = "What would you measure first, and how?"
    port = free_port()
    env = dict(
        os.environ,
        INTERVIEWER_DATA_DIR=str(tmp_path / "data"),
        INTERVIEWER_CACHE_DIR=str(model_cache),
        INTERVIEWER_MODEL="openai:fake-model",
        INTERVIEWER_BASE_URL=fake_llm.base_url,
        INTERVIEWER_API_KEY="sk-test",
        INTERVIEWER_LLM_MAX_RETRIES="0",
    )
    proc = start_app(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda: proc.poll() is None)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _start_interview(page, url)
            fake_llm.latency = 5.0  # every model call from now on takes 5 s
            before = len(fake_llm.requests)
            box = page.get_by_placeholder("Type your answer").last
            box.fill("I would look at the slow query log first, then at the plan.")
            box.press("Enter")
            expect(page.get_by_text("I would look at the slow query log first")).to_be_visible(
                timeout=10_000
            )
            page.wait_for_timeout(1_000)  # the reply is on its way
            asked = len(fake_llm.requests)
            started = time.monotonic()
            page.get_by_role("link", name="History").click()
            expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=20_000)
            waited = time.monotonic() - started
            fake_llm.latency = 0.0
            # started without a profile name, the interview is still in History, to resume
            expect(page.get_by_role("button", name="Resume")).to_be_visible(timeout=20_000)
            browser.close()
    finally:
        fake_llm.latency = 0.0
        proc.terminate()
        proc.wait(timeout=20)
    assert asked > before  # a model call for the answer was under way when the link was clicked
    assert waited < 2.5, f"the page change waited {waited:.1f} s for the model"
