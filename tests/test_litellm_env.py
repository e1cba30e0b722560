"""LiteLLM's locked environment for the interop tests (scripts/litellm_env.py).

The lock is current and exact; a failed install is one line, leaves the rest of the suite
running, and makes the interop tests skip with that line, or fail under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from litellm_proxy import require

from interviewer.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "litellm_env.py"
INPUTS = PROJECT_ROOT / "tests" / "interop" / "requirements.in"
LOCK = PROJECT_ROOT / "tests" / "interop" / "requirements.lock"


def run_script(
    *args: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=environ if environ is not None else dict(os.environ),
        check=False,
    )


def copy_inputs(root: Path) -> None:
    (root / "tests" / "interop").mkdir(parents=True)
    shutil.copy(INPUTS, root / "tests" / "interop" / INPUTS.name)
    shutil.copy(LOCK, root / "tests" / "interop" / LOCK.name)


def test_the_committed_lock_was_resolved_from_requirements_in() -> None:
    result = run_script("check-lock")
    assert result.returncode == 0, result.stderr


def test_every_pin_is_exact_and_hashed_and_litellm_is_the_one_asked_for() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8"))[1:]
    pins = [block.split()[0] for block in blocks]
    assert len(pins) > 50
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[^=\s]+", pin) for pin in pins), pins
    assert all("--hash=sha256:" in block for block in blocks)
    (asked,) = re.findall(r"^litellm==(\S+)$", INPUTS.read_text(encoding="utf-8"), re.M)
    assert f"litellm=={asked}" in pins
    names = {pin.split("==")[0] for pin in pins}
    assert not names & {"litellm-enterprise", "litellm-proxy-extras", "litellm-proxy"}


def test_a_changed_requirement_makes_the_lock_stale(tmp_path: Path) -> None:
    copy_inputs(tmp_path)
    inputs = tmp_path / "tests" / "interop" / INPUTS.name
    inputs.write_text(inputs.read_text() + "requests>=2\n")
    result = run_script("check-lock", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "out of date" in result.stderr and "./run lock" in result.stderr


def test_status_says_how_to_install_when_nothing_is_there(tmp_path: Path) -> None:
    copy_inputs(tmp_path)
    result = run_script("status", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "./run test" in result.stdout


def test_a_failed_install_is_one_warning_and_becomes_the_tests_reason(tmp_path: Path) -> None:
    """No package index: `ensure` still exits 0 (the rest of the suite runs), says why once,
    and `status` gives that reason to the interop tests."""
    copy_inputs(tmp_path)
    uv = PROJECT_ROOT / ".venv" / "bin" / "uv"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "uv").symlink_to(uv)
    environ = {
        **os.environ,
        "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",  # nothing listens on the discard port
        "UV_INDEX_URL": "http://127.0.0.1:9/simple",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_HTTP_RETRIES": "0",
    }
    result = run_script(
        "ensure", "--root", str(tmp_path), "--python", sys.executable, environ=environ
    )
    assert result.returncode == 0, result.stderr
    warning = result.stderr.splitlines()[-1]
    assert warning.startswith("warning: LiteLLM's proxy is not available")
    assert "could not reach the package index" in warning
    assert "Traceback" not in result.stderr
    status = run_script("status", "--root", str(tmp_path))
    assert status.returncode == 1
    assert "could not reach the package index" in status.stdout


def test_a_missing_proxy_skips_locally_and_fails_under_ci() -> None:
    require(None, ci=True)  # installed: nothing to say
    with pytest.raises(pytest.skip.Exception, match="could not reach"):
        require("could not reach the package index", ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require("could not reach the package index", ci=True)
