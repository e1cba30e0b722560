"""LiteLLM's proxy for tests: a third-party OpenAI-compatible server, once per test session.

It serves the scripted models of ``tests/interop/scripted_model.py`` (``scripted-good`` and
``scripted-bad``) through LiteLLM's own HTTP layer, so the real openai and LangChain clients meet
a server that is not ours::

    def test_something(litellm_proxy: LiteLLMProxy) -> None:
        settings = settings.model_copy(update={
            "model": "openai:scripted-good",
            "base_url": litellm_proxy.base_url,
            "api_key": SecretStr(litellm_proxy.key),
        })

The proxy runs from ``.venv-litellm``, which ``./run test`` installs from
``tests/interop/requirements.lock`` (scripts/litellm_env.py). Where that could not be installed
the tests that use this fixture skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from interviewer.config import PROJECT_ROOT

__all__ = ["LiteLLMProxy", "litellm_proxy", "require", "running_proxy", "unavailable"]

INTEROP = PROJECT_ROOT / "tests" / "interop"
VENV = PROJECT_ROOT / ".venv-litellm"
MASTER_KEY = "sk-interop-master-key"
STARTUP_TIMEOUT = 120.0  # seconds; about 7 s on an idle 2-core machine
CONFIG = """\
model_list:
  - model_name: scripted-good
    litellm_params:
      model: scripted/scripted-good
  - model_name: scripted-bad
    litellm_params:
      model: scripted/scripted-bad
litellm_settings:
  telemetry: false
  custom_provider_map:
    - provider: scripted
      custom_handler: scripted_model.handler
general_settings:
  master_key: {master_key}
"""


@dataclass(frozen=True)
class LiteLLMProxy:
    """A running proxy: give clients ``base_url`` and ``key``; ``models`` are the names served."""

    base_url: str
    key: str
    log: Path
    started_in: float
    """Seconds from launch to the first ready answer."""
    models: tuple[str, ...] = ("scripted-good", "scripted-bad")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the proxy's output, for failure messages."""
        return _tail(self.log, lines)


def in_ci() -> bool:
    """True where the CI variable says so (CI=true): there a missing proxy is a failure."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable() -> str | None:
    """Why .venv-litellm cannot run the proxy (scripts/litellm_env.py status), or None."""
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "litellm_env.py"), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return None
    return (result.stdout or result.stderr).strip() or "scripts/litellm_env.py status failed"


def require(reason: str | None, ci: bool) -> None:
    """Skip the test when the proxy is not installed (``reason``); under CI, fail it."""
    if reason is None:
        return
    message = f"LiteLLM's proxy is not installed: {reason}"
    if ci:
        pytest.fail(f"{message} (CI=true: the interop tests must run)", pytrace=False)
    pytest.skip(message)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment() -> dict[str, str]:
    """A small, explicit environment: no database, cache or provider settings leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(INTEROP),  # the custom provider: scripted_model.handler
            "PYTHONDONTWRITEBYTECODE": "1",  # nothing written into the work tree
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches a cost map at import
            "LITELLM_TELEMETRY": "False",
            "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
            "HF_HUB_OFFLINE": "1",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_proxy(folder: Path, timeout: float = STARTUP_TIMEOUT) -> Iterator[LiteLLMProxy]:
    """Start ``litellm --config`` on a free loopback port, wait until it is ready, stop it."""
    config = folder / "config.yaml"
    config.write_text(CONFIG.format(master_key=MASTER_KEY), encoding="utf-8")
    log = folder / "proxy.log"
    port = _free_port()
    argv = [
        str(VENV / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_environment(),
            cwd=folder,
            start_new_session=True,
        )
    try:
        health = f"http://127.0.0.1:{port}/health/readiness"
        while not _ready(health):
            if process.poll() is not None:
                raise RuntimeError(
                    f"LiteLLM's proxy exited with status {process.returncode} before it was "
                    f"ready; the end of its log ({log}):\n{_tail(log, 40)}"
                )
            if time.monotonic() - started > timeout:
                raise RuntimeError(
                    f"LiteLLM's proxy was not ready within {timeout:.0f} s; "
                    f"the end of its log ({log}):\n{_tail(log, 40)}"
                )
            time.sleep(0.2)
        yield LiteLLMProxy(
            base_url=f"http://127.0.0.1:{port}/v1",
            key=MASTER_KEY,
            log=log,
            started_in=time.monotonic() - started,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session", name="litellm_proxy")
def litellm_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """LiteLLM's proxy serving the scripted models, started once for the whole test session.

    Skipped with the reason where .venv-litellm could not be installed; under CI=true that is
    a failure instead, so CI cannot lose these tests without saying so.
    """
    require(unavailable(), in_ci())
    with running_proxy(tmp_path_factory.mktemp("litellm-proxy")) as proxy:
        yield proxy
