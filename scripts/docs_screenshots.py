"""Make the README screenshots: a finished interview's report, a chat in progress, the Review
page (an answer graded, then its agreement view), and with accounts on the sign-in page reached
through an interview link, the Links page with a link just made, and the People page.

Usage (from the repository root, with the app not running):
    .venv/bin/python scripts/docs_screenshots.py docs/screenshots [pages] [review] [accounts]
(no group named: all). It starts `streamlit run` on 127.0.0.1 with a temporary data directory,
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

from interviewer.accounts.access import LOCAL
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
            "backend-developer", Level.MID, "phone-screen", profile="alex", viewer=LOCAL
        )
        interview.start()
        i = 0
        while interview.session.active is not None:
            q = corpus[interview.session.active.question_id]
            sentences = q.reference_answer.split(". ")
            # a candidate getting better: a fifth of each reference, then half, then most
            keep = max(1, round(len(sentences) * (0.2, 0.5, 0.8)[round_]) - i % 2)
            interview.handle(". ".join(sentences[:keep]))
            i += 1
        interview.handle("How does your team handle on-call?")
        interview.handle("no")
        finished = interview.session.id
    live = services.new_interview(
        "backend-developer", Level.SENIOR, "mixed", profile="alex", viewer=LOCAL
    )
    live.start()
    q = corpus[live.session.active.question_id]  # type: ignore[union-attr]
    live.handle(". ".join(q.reference_answer.split(". ")[:2]) + ".")
    return finished, live.session.id, "alex"


def play_review(data: Path) -> list[bool]:
    """Four finished phone screens, answers from thin to full, graded by Priya and Sam; one
    technical answer is left for Priya to grade in the browser (returned: which of its key
    points the offline scorer ticks)."""
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.review.grades import interview_key
    from interviewer.review.service import Review
    from interviewer.services import Services

    services = Services.start(Settings(data_dir=data))
    corpus = services.corpus.by_id()
    given: dict[str, float] = {}  # item key -> share of the reference answer given
    for round_, profile in enumerate(["ana", "ben", "chen", "dev"]):
        interview = services.new_interview(
            "backend-developer", Level.MID, "phone-screen", profile, viewer=LOCAL
        )
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
    chosen = next(i for i in items if i.key == left)
    return [kp.covered for kp in chosen.offline.key_points] if chosen.offline else []


@contextmanager
def serving(data: Path, **settings: str) -> Iterator[str]:
    """The app on a free loopback port with ``data`` as its data directory (and more
    ``INTERVIEWER_`` settings); yields its URL."""
    env = dict(os.environ, INTERVIEWER_DATA_DIR=str(data))
    env.update({f"INTERVIEWER_{k.upper()}": v for k, v in settings.items()})
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
        shots = [  # address, text to wait for, file, height (the report: down to its progress)
            (f"{url}/?session={live}", "Question 1 of 5", "chat.png", 860),
            (f"{url}/?session={finished}", "Your progress", "report.png", 1240),
            (f"{url}/history?profile={profile}", "Open report", "history.png", 860),
            (f"{url}/", "Start interview", "setup.png", 860),
        ]
        for address, text, name, height in shots:
            page.set_viewport_size({"width": 1280, "height": height})
            page.goto(address)
            page.get_by_text(text).first.wait_for(timeout=120_000)
            if name == "report.png":  # the chat keeps to its end: bring the report's top in
                page.wait_for_timeout(2500)
                page.get_by_text("Your interview report").first.scroll_into_view_if_needed()
                page.mouse.move(0, 0)
            if name in ("chat.png", "report.png"):
                page.wait_for_timeout(1000)
                page.screenshot(path=str(out / name))
                print(f"wrote {out / name}")
            else:
                _shot(page, out / name)
        browser.close()


def shoot_review(out: Path) -> None:
    """The Review page: an answer graded in the browser and revealed, then the agreement."""
    data = Path(tempfile.mkdtemp())
    ticked = play_review(data)
    with serving(data) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(f"{url}/review")
        page.get_by_label("Your name").fill("Priya", timeout=120_000)
        page.keyboard.press("Enter")
        page.get_by_text("Grading as").wait_for(timeout=60_000)
        controls = page.get_by_role("radiogroup").all()[1:]  # the first one is the view
        # Priya reads the points as the scorer ticked them, but one she calls partly made
        reading = ["covered" if hit else "missed" for hit in ticked]
        reading[1:2] = ["partly"] * min(1, len(reading) - 1)
        scores, marks = iter([4, 3, 3, 4, 2, 3]), iter(reading)
        for control in controls:  # the criteria (1 to 5), then the key points
            scored = control.get_by_role("radio", name="5", exact=True).count() > 0
            name = str(next(scores)) if scored else next(marks)
            control.get_by_role("radio", name=name, exact=True).click()
            page.wait_for_timeout(600)
        box = page.locator('[data-testid="stVerticalBlock"]')
        box.filter(has_text="Mark what the answer covers").last.screenshot(
            path=str(out / "review-mark.png")
        )
        print(f"wrote {out / 'review-mark.png'}")
        page.get_by_role("button", name="Save grade").click()
        page.get_by_text("Grade saved").wait_for(timeout=60_000)
        _top(page)
        page.screenshot(path=str(out / "review.png"))
        print(f"wrote {out / 'review.png'}")
        page.get_by_text("Offline scorer", exact=True).last.scroll_into_view_if_needed()
        table = page.locator("table").filter(has_text="Key point").last
        table.screenshot(path=str(out / "review-points.png"))
        print(f"wrote {out / 'review-points.png'}")
        page.set_viewport_size({"width": 1280, "height": 2300})
        page.get_by_role("radio", name="Agreement").click()
        page.get_by_text("Where graders and a scorer part most").wait_for(timeout=120_000)
        _top(page)
        page.screenshot(path=str(out / "review-agreement.png"))
        print(f"wrote {out / 'review-agreement.png'}")
        browser.close()


PASSWORD = "screenshots only 1"


def play_accounts(data: Path) -> str:
    """An admin, two reviewers and three candidates of two teams, one invitation pending, one
    link made; returns that link's code."""
    from interviewer.accounts.access import Role
    from interviewer.accounts.account_store import AccountStore
    from interviewer.accounts.records import LinkSpec
    from interviewer.accounts.service import Accounts
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.store import SessionStore

    accounts = Accounts(
        AccountStore(SessionStore.for_data_dir(data)), Settings(data_dir=data, accounts=True)
    )
    people = [
        ("alex@example.com", "Alex Admin", Role.ADMIN, "platform"),
        ("rita@example.com", "Rita Reviewer", Role.REVIEWER, "platform"),
        ("sam@example.com", "Sam Lead", Role.REVIEWER, "payments"),
        ("ana@example.com", "Ana Silva", Role.CANDIDATE, "platform"),
        ("ben@example.com", "Ben Okafor", Role.CANDIDATE, "platform"),
        ("chen@example.com", "Chen Wei", Role.CANDIDATE, "payments"),
    ]
    made = {e: accounts.add_user(e, r, t, n, PASSWORD) for e, n, r, t in people}
    for email in ("ana@example.com", "rita@example.com", "alex@example.com"):
        accounts.sign_in(email, PASSWORD)  # a last sign-in to show
    admin = made["alex@example.com"].viewer
    accounts.invite(admin, "dev@example.com", Role.REVIEWER, "payments")
    spec = LinkSpec(pack_id="backend-developer", level=Level.MID, format="phone-screen")
    reviewer = made["rita@example.com"].viewer
    _, code = accounts.create_link(reviewer, spec, "Backend, first round", max_uses=20)
    return code


def shoot_accounts(out: Path) -> None:
    """The sign-in page through an interview link, the Links page with a link just made, and
    the People page (accounts on, password sign-in)."""
    data = Path(tempfile.mkdtemp())
    code = play_accounts(data)
    public = "https://interviews.example.com"  # what the Links page shows
    with serving(data, accounts="true", public_url=public) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(f"{url}/?link={code}")
        page.get_by_text("You have been invited to a").wait_for(timeout=120_000)
        _shot(page, out / "sign-in-link.png")
        reviewer = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        _sign_in(reviewer, f"{url}/links", "rita@example.com")
        reviewer.get_by_label("Label (for you: the role, the round)").fill("Payments, senior loop")
        reviewer.get_by_text("Senior", exact=True).click()
        reviewer.get_by_text("Technical deep dive", exact=True).click()
        reviewer.get_by_label("Uses (0: no limit)").fill("5")
        reviewer.get_by_role("button", name="Create link").click()
        reviewer.get_by_text("Link created").wait_for(timeout=60_000)
        _shot(reviewer, out / "links.png")
        admin = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        _sign_in(admin, f"{url}/people", "alex@example.com")
        admin.get_by_text("account(s)").wait_for(timeout=60_000)
        admin.get_by_text("Invite someone").click()  # closed: the list is the point
        _shot(admin, out / "people.png")
        browser.close()


def _sign_in(page: Page, address: str, email: str) -> None:
    page.goto(address)
    form = page.locator('[data-testid="stForm"]').first
    form.get_by_label("Email", exact=True).fill(email, timeout=120_000)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=60_000)


def _shot(page: Page, path: Path) -> None:
    _top(page)
    page.screenshot(path=str(path))
    print(f"wrote {path}")


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
    groups = set(sys.argv[2:]) or {"pages", "review", "accounts"}
    if "pages" in groups:
        shoot_pages(out)
    if "review" in groups:
        shoot_review(out)
    if "accounts" in groups:
        shoot_accounts(out)


if __name__ == "__main__":
    main()
