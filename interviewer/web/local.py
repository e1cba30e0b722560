"""Helpers for driving the app locally: a free loopback port, waiting for a server, and the
flags Debian's headless Chromium needs on a machine with no network (screenshots, browser tests
and browser benchmarks share them)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from typing import IO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll ``url`` until it answers; raise if ``timeout`` passes or ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or not alive():
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.2)


def run_args(port: int) -> list[str]:
    """The arguments after ``streamlit``: run app.py headless on 127.0.0.1:``port``."""
    from interviewer.config import PROJECT_ROOT

    return [
        "run",
        str(PROJECT_ROOT / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def start_app(
    port: int, env: dict[str, str], extra: Sequence[str] = (), log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on 127.0.0.1:``port`` (headless, no usage stats); ``extra``:
    more Streamlit options, such as ``--secrets.files PATH``; ``log``: where the server's
    output goes (nowhere by default)."""
    from interviewer.config import PROJECT_ROOT

    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", *run_args(port), *extra],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
