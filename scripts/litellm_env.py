"""Build `.venv-litellm` from `tests/interop/requirements.lock`: LiteLLM's proxy for the tests.

The interop tests run the project's LLM path through LiteLLM's proxy, a third-party
OpenAI-compatible server. LiteLLM pins many packages of its own, so it gets an environment and a
lock of its own and the app's requirements.lock never sees it (docs/dependencies.md). Run by
`./run test` with the system Python; standard library only, like scripts/environment.py, whose
installer helpers it uses. Commands:

    ensure      make .venv-litellm match the lock (nothing to do when it already does). When that
                fails the reason is one line on stderr and at the end of the log, and the exit
                status is still 0: the tests that need the proxy skip with that reason, or fail
                where CI=true
    status      print why .venv-litellm is not ready (exit 1), or nothing (exit 0)
    lock        re-resolve the lock from tests/interop/requirements.in (`--upgrade`: newer releases)
    check-lock  exit 1 when requirements.in and the lock disagree
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# Run as a script, so its folder is on sys.path and the sibling script imports as a module.
from environment import (
    DIGEST_PREFIX,
    PYPI,
    SUPPORTED,
    Runner,
    SetupError,
    Target,
    count_packages,
    interpreter,
    lock_digest,
    probe_python,
)

ROOT = Path(__file__).resolve().parent.parent
INPUTS = Path("tests/interop/requirements.in")
LOCK = Path("tests/interop/requirements.lock")
VENV = Path(".venv-litellm")
LOG = Path(".venv-litellm-install.log")
LOCK_COMMAND = "./run lock"
UNAVAILABLE = "# unavailable: "
STAMP = ".installed"


def inputs_digest(root: Path) -> str:
    """The sha256 of requirements.in, recorded in the lock it was resolved into."""
    try:
        return hashlib.sha256((root / INPUTS).read_bytes()).hexdigest()
    except OSError as exc:
        raise SetupError(f"cannot read {INPUTS}: {exc}") from exc


def check_lock(root: Path) -> None:
    """Raise when the lock is missing or was resolved from another requirements.in."""
    if not (root / LOCK).is_file():
        raise SetupError(f"{LOCK} is missing; run `{LOCK_COMMAND}` to create it")
    if lock_digest(root / LOCK) != inputs_digest(root):
        raise SetupError(
            f"{LOCK} is out of date with {INPUTS.name}; run `{LOCK_COMMAND}` and commit both"
        )


def stamp_for(root: Path, target: Target) -> str:
    """What the environment is built from: the lock and the Python version."""
    text = (root / LOCK).read_text(encoding="utf-8")
    return hashlib.sha256(f"{text}\0{target.cp_tag}".encode()).hexdigest()


def status(root: Path) -> str | None:
    """Why `.venv-litellm` cannot serve the tests now, or None when it is ready."""
    venv = root / VENV
    try:
        check_lock(root)
        target = interpreter(str(venv / "bin" / "python"))
        stamp = (venv / STAMP).read_text(encoding="utf-8").strip()
        ready = (venv / "bin" / "litellm").exists() and stamp == stamp_for(root, target)
    except (SetupError, OSError):
        ready = False
    if ready:
        return None
    log = root / LOG
    if log.is_file():  # the last install's one-line reason, when it failed
        for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
            if line.startswith(UNAVAILABLE):
                return line[len(UNAVAILABLE) :]
    return f"{VENV} is missing or does not match {LOCK}; `./run test` installs it"


def ensure(root: Path, python: str, environ: dict[str, str], quiet: bool = False) -> bool:
    """Make `.venv-litellm` match the lock; True when something was installed."""
    check_lock(root)
    target = probe_python(python)
    venv = root / VENV
    vpython = venv / "bin" / "python"
    stamp_file = venv / STAMP
    want = stamp_for(root, target)
    if (
        (venv / "bin" / "litellm").exists()
        and stamp_file.is_file()
        and stamp_file.read_text(encoding="utf-8").strip() == want
        and _version(vpython) == target.version
    ):
        return False
    uv = root / ".venv" / "bin" / "uv"
    if not uv.exists():
        raise SetupError(f"{uv} is missing: the project's .venv comes first (./run test)")
    started = time.monotonic()
    run = Runner(root / LOG, environ)
    if vpython.exists() and _version(vpython) != target.version:
        shutil.rmtree(venv)
    if not vpython.exists():
        run([target.python, "-m", "venv", "--without-pip", str(venv)], f"creating {VENV}")
    if not quiet:
        print(
            f"Installing LiteLLM's proxy for the interop tests into {VENV} "
            f"({count_packages(root / LOCK)} pins, hash-checked) ...",
            file=sys.stderr,
            flush=True,
        )
    stamp_file.unlink(missing_ok=True)
    run(
        [
            str(uv),
            "pip",
            "sync",
            "--python",
            str(vpython),
            "--quiet",
            "--compile-bytecode",  # PYTHONDONTWRITEBYTECODE would recompile LiteLLM every start
            "--require-hashes",
            str(root / LOCK),
        ],
        f"installing {LOCK}",
    )
    stamp_file.write_text(want + "\n", encoding="utf-8")
    if not quiet:
        print(f"{VENV} ready in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return True


def lock(root: Path, uv: str, upgrade: bool, environ: dict[str, str]) -> None:
    """Re-resolve the lock from requirements.in for Python 3.11-3.13 on every platform."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / LOCK.name
        if (root / LOCK).exists():
            shutil.copy(root / LOCK, out)  # current pins are kept unless --upgrade
        argv = [
            uv,
            "pip",
            "compile",
            str(INPUTS),  # relative, so the lock's comments name no local path
            "--universal",
            "--python-version",
            f"{SUPPORTED[0][0]}.{SUPPORTED[0][1]}",
            "--generate-hashes",
            "--index-url",
            PYPI,
            "--custom-compile-command",
            LOCK_COMMAND,
            "--quiet",
            "-o",
            str(out),
        ]
        if upgrade:
            argv.append("--upgrade")
        code = subprocess.run(argv, cwd=root, env=environ, check=False).returncode
        if code != 0:
            raise SetupError(f"resolving {LOCK} failed (uv exit {code}); see uv's message above")
        body = out.read_text(encoding="utf-8")
    kept = [line for line in body.splitlines() if not line.startswith(DIGEST_PREFIX)]
    body = "\n".join(kept) + "\n"
    header = (
        f"{DIGEST_PREFIX}{inputs_digest(root)}\n"
        "# LiteLLM's proxy for the interop tests, installed into .venv-litellm by ./run test.\n"
    )
    (root / LOCK).write_text(header + body, encoding="utf-8")


def _version(vpython: Path) -> tuple[int, int] | None:
    try:
        return interpreter(str(vpython)).version
    except SetupError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "status", "lock", "check-lock"])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--upgrade", action="store_true", help="lock: newest releases allowed")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.root)
    environ = dict(os.environ)
    try:
        if args.command == "status":
            reason = status(root)
            if reason:
                print(reason)
                return 1
        elif args.command == "check-lock":
            check_lock(root)
            print(f"{LOCK} matches {INPUTS}")
        elif args.command == "lock":
            uv = root / ".venv" / "bin" / "uv"
            if not uv.exists():
                raise SetupError(f"{uv} is missing; run ./run test once first")
            lock(root, str(uv), args.upgrade, environ)
            print(f"{LOCK} written; commit it with {INPUTS}")
        else:
            try:
                ensure(root, args.python, environ, quiet=args.quiet)
            except SetupError as exc:
                # Not fatal: the rest of the suite runs; the interop tests report this reason.
                with (root / LOG).open("a", encoding="utf-8") as log:
                    log.write(f"\n{UNAVAILABLE}{exc}\n")
                print(
                    f"warning: LiteLLM's proxy is not available, so the interop tests will skip "
                    f"(and fail where CI=true): {exc}",
                    file=sys.stderr,
                )
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
