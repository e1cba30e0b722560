"""Make the README screenshots: a finished interview's report, a chat in progress, the Review
page (an answer graded, then its agreement view).

Usage (from the repository root, with the app not running):
    .venv/bin/python scripts/docs_screenshots.py docs/screenshots [pages] [review]
(no group named: both). It starts `streamlit run` on 127.0.0.1 with a temporary data directory,
plays interviews through the engine (answers drawn from the corpus, some strong, some
partial), and screenshots the pages in Debian's headless Chromium. For the Review page two
graders' grades are recorded first with `Review.commit` (scores that follow how much of the
reference answer each answer gives, with each grader's own lean and noise), then one more
answer is graded in the browser.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for


def play(data: Path) -> tuple[str, str, str]:
    """Return (finished session id, in-progress session id, profile)."""
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.services import Services

    services = Services.start(Settings(data_dir=data))
    corpus = services.corpus.by_id()
    finished = ""
    for round_ in range(3):
        interview = services.new_interview(
            "backend-developer", Level.MID, "phone-screen", profile="alex"
        )
        interview.start()
        i = 0
        while interview.session.active is not None:
            q = corpus[interview.session.active.question_id]
            sentences = q.reference_answer.split(". ")
            keep = max(2, len(sentences) * (round_ + 2 + i % 2) // 5)
            interview.handle(". ".join(sentences[:keep]))
            i += 1
        interview.handle("How does your team handle on-call?")
        interview.handle("no")
        finished = interview.session.id
    live = services.new_interview("backend-developer", Level.SENIOR, "mixed", profile="alex")
    live.start()
    q = corpus[live.session.active.question_id]  # type: ignore[union-attr]
    live.handle(". ".join(q.reference_answer.split(". ")[:2]) + ".")
    return finished, live.session.id, "alex"


def play_review(data: Path) -> None:
    """Four finished phone screens, answers from thin to full, graded by Priya and Sam; one
    technical answer is left for Priya to grade in the browser."""
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.review.grades import interview_key
    from interviewer.review.service import Review
    from interviewer.services import Services

    services = Services.start(Settings(data_dir=data))
    corpus = services.corpus.by_id()
    given: dict[str, float] = {}  # item key -> share of the reference answer given
    for round_, profile in enumerate(["ana", "ben", "chen", "dev"]):
        interview = services.new_interview("backend-developer", Level.MID, "phone-screen", profile)
        interview.start()
        i = 0
        while interview.session.active is not None:
            state = interview.session.active
            q = corpus[state.question_id]
            sentences = q.reference_answer.rstrip(".").split(". ")
            share = [0.85, 0.5, 0.25, 0.65][(round_ + i) % 4]
            keep = max(1, round(len(sentences) * share))
            interview.handle(". ".join(sentences[:keep]) + ".")
            if interview.session.active is state and keep < len(sentences):  # a follow-up
                interview.handle(". ".join(sentences[keep : keep + 2]) + ".")
                keep = min(len(sentences), keep + 2)
            if interview.session.active is state:
                interview.handle("skip")
            given[interview_key(interview.session.id, q.id)] = keep / len(sentences)
            i += 1
        interview.handle("no")
    review = Review(services)
    items = review.queue()
    left = next(i.key for i in reversed(items) if i.category.value == "technical")
    rng = random.Random(15)
    for grader, lean, spread in (("Priya", 0.0, 0.5), ("Sam", -0.4, 0.7)):
        for item in items:
            if grader == "Priya" and item.key == left:
                continue  # graded in the browser
            quality = 1 + 4 * given.get(item.key, 0.5)
            criteria = {
                c.id: max(1, min(5, round(quality + lean + rng.gauss(0, spread))))
                for c in item.rubric.criteria
            }
            total = sum(c.weight for c in item.rubric.criteria)
            overall = sum(c.weight * criteria[c.id] for c in item.rubric.criteria) / total
            review.commit(item, grader, criteria, round(overall, 1))


@contextmanager
def serving(data: Path) -> Iterator[str]:
    """The app on a free loopback port with ``data`` as its data directory; yields its URL."""
    env = dict(os.environ, INTERVIEWER_DATA_DIR=str(data))
    port = free_port()
    proc: subprocess.Popen[bytes] = start_app(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda: proc.poll() is None)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def shoot_pages(out: Path) -> None:
    """The chat, the report, the history and the setup page."""
    data = Path(tempfile.mkdtemp())
    finished, live, profile = play(data)
    with serving(data) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        shots = [
            (f"{url}/?session={live}", "Question 1 of 5", "chat.png", False),
            (f"{url}/?session={finished}", "Question by question", "report.png", False),
            (f"{url}/history?profile={profile}", "Open report", "history.png", False),
            (f"{url}/", "Start interview", "setup.png", False),
        ]
        for address, text, name, full in shots:
            page.goto(address)
            page.get_by_text(text).first.wait_for(timeout=120_000)
            page.wait_for_timeout(2500)
            page.screenshot(path=str(out / name), full_page=full)
            print(f"wrote {out / name}")
        browser.close()


def shoot_review(out: Path) -> None:
    """The Review page: an answer graded in the browser and revealed, then the agreement."""
    data = Path(tempfile.mkdtemp())
    play_review(data)
    with serving(data) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(f"{url}/review")
        page.get_by_label("Your name").fill("Priya", timeout=120_000)
        page.keyboard.press("Enter")
        page.get_by_text("Grading as").wait_for(timeout=60_000)
        controls = page.get_by_role("radiogroup").all()[1:]  # the first one is the view
        for control, score in zip(controls, [4, 3, 3, 4, 2, 3], strict=False):
            control.get_by_role("radio", name=str(score), exact=True).click()
            page.wait_for_timeout(600)
        page.get_by_role("button", name="Save grade").click()
        page.get_by_text("Grade saved").wait_for(timeout=60_000)
        _top(page)
        page.screenshot(path=str(out / "review.png"))
        print(f"wrote {out / 'review.png'}")
        page.set_viewport_size({"width": 1280, "height": 2300})
        page.get_by_role("radio", name="Agreement").click()
        page.get_by_text("Where graders and a scorer part most").wait_for(timeout=120_000)
        _top(page)
        page.screenshot(path=str(out / "review-agreement.png"))
        print(f"wrote {out / 'review-agreement.png'}")
        browser.close()


def _top(page: Page) -> None:
    """Let the page settle, then scroll its main area back to the top."""
    page.wait_for_timeout(2500)
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    page.mouse.move(0, 0)  # no hover effect in the picture
    page.wait_for_timeout(500)


def main() -> None:
    """Play, serve, shoot: every group, or the groups named after the folder."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    groups = set(sys.argv[2:]) or {"pages", "review"}
    if "pages" in groups:
        shoot_pages(out)
    if "review" in groups:
        shoot_review(out)


if __name__ == "__main__":
    main()
