"""Make the README screenshots: a finished interview's report and a chat in progress.

Usage (from the repository root, with the app not running):
    .venv/bin/python scripts/docs_screenshots.py docs/screenshots
It starts `streamlit run` on 127.0.0.1 with a temporary data directory, plays two interviews
through the engine (answers drawn from the corpus, some strong, some partial), and
screenshots the pages in Debian's headless Chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

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


def main() -> None:
    """Play, serve, shoot."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp())
    finished, live, profile = play(data)
    env = dict(os.environ, INTERVIEWER_DATA_DIR=str(data))
    port = free_port()
    proc = start_app(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda: proc.poll() is None)
        with sync_playwright() as p:
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
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
