"""Browser benchmarks in headless Chromium against `streamlit run` on 127.0.0.1.

- cold: from starting a new server process (index already built, as `./run app` leaves it) to a
  usable setup page in the browser;
- reload: a browser reload of that page;
- turn: an answer submitted until the interviewer's next message is on screen (offline).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS, free_port, start_app

TARGETS = {"cold_s": 10.0, "reload_s": 1.0, "turn_p95_s": 1.0}


def run(turns: int = 12) -> dict[str, float]:
    """Measure the three figures once (turn percentiles over ``turns`` answers)."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    data = tempfile.mkdtemp()
    env = dict(os.environ, INTERVIEWER_DATA_DIR=data)
    # As `./run app` does: the index is built before the server starts.
    subprocess.run(
        [sys.executable, "-m", "interviewer", "corpus", "ingest", "--quiet"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        proc = start_app(port, env)
        try:
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                    break
                except Exception:
                    time.sleep(0.1)
            start_button = page.get_by_role("button", name="Start interview")
            start_button.wait_for(timeout=120_000)
            cold = time.perf_counter() - started
            t = time.perf_counter()
            page.reload()
            start_button.wait_for(timeout=60_000)
            reload = time.perf_counter() - t
            start_button.click()
            page.get_by_placeholder("Type your answer").wait_for(timeout=60_000)
            lat = []
            for i in range(turns):
                count = page.locator("[data-testid='stChatMessage']").count()
                box = page.get_by_placeholder("Type your answer")
                box.fill(f"Answer {i}: I would measure first, then change one thing at a time.")
                t = time.perf_counter()
                box.press("Enter")
                page.wait_for_function(
                    "n => document.querySelectorAll(\"[data-testid='stChatMessage']\").length "
                    ">= n + 2 || document.body.innerText.includes('Your interview report')",
                    arg=count,
                    timeout=60_000,
                )
                page.wait_for_function(  # the whole reply is rendered and the run is over
                    "document.querySelector(\"[data-testid='stApp']\")"
                    ".getAttribute('data-test-script-state') === 'notRunning'",
                    timeout=60_000,
                )
                lat.append(time.perf_counter() - t)
                if page.get_by_text("Your interview report").count():
                    break
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()
    return {
        "cold_s": round(cold, 2),
        "reload_s": round(reload, 2),
        "turn_p50_s": round(float(np.percentile(lat, 50)), 3),
        "turn_p95_s": round(float(np.percentile(lat, 95)), 3),
        "turns": len(lat),
    }
