"""Screenshot a page of a running app in Debian's headless Chromium: no browser download.

Usage: python scripts/screenshot.py URL OUT.png [--wait-text TEXT] [--width 1400] [--height 1000]
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright

from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS


def main() -> None:
    """Open URL, wait for the page to settle (and for TEXT, if given), save a PNG."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--wait-text", default=None)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.url)
        page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
        if args.wait_text:
            page.get_by_text(args.wait_text).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=args.out, full_page=args.full_page)
        browser.close()


if __name__ == "__main__":
    main()
