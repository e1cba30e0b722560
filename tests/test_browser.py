"""End to end in Debian's headless Chromium: a short interview on a real `streamlit run` server.

The server binds 127.0.0.1 with a private data directory; Chromium starts with its background
networking off. Screenshots go to $SCREENSHOT_DIR (the docs use this) or the test's
temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
            "add caching or retries, because each has a cost."
        )
        box.press("Enter")
        expect(page.get_by_text("I would start from the requirements")).to_be_visible(
            timeout=60_000
        )
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "chat.png"))
        # A refresh keeps the interview: the session id is in the URL.
        page.reload()
        expect(page.get_by_text("I would start from the requirements")).to_be_visible(
            timeout=60_000
        )
        page.get_by_role("button", name="End", exact=False).filter(has_text="End").first.click()
        expect(page.get_by_text("Your interview report")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "report.png"), full_page=True)
        browser.close()
    # Offline means offline: the page, its icon and fonts all come from the app's own server.
    outside = [u for u in requested if not u.startswith((server, "data:", "blob:"))]
    assert outside == []
    assert (shots / "chat.png").stat().st_size > 10_000
    assert (shots / "report.png").stat().st_size > 10_000
