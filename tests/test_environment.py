"""The locked install: the lock agrees with pyproject.toml, and `./run` picks torch's source well.

These run `./run plan` and `scripts/environment.py` as a person would, with pip's configuration
replaced by a folder of the test's own, so they hold on any machine.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from interviewer.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "environment.py"
LOCK = PROJECT_ROOT / "requirements.lock"
PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = {"linux": ("Linux", "x86_64"), "darwin": ("Darwin", "arm64")}


def load_environment() -> ModuleType:
    """scripts/environment.py as a module (it is run before any dependency exists)."""
    spec = importlib.util.spec_from_file_location("environment_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


env_script = load_environment()


def lock_pins() -> list[tuple[Requirement, list[str]]]:
    """Every pin of the lock with its hashes."""
    pins: list[tuple[Requirement, list[str]]] = []
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        first = block.splitlines()[0]
        if first.startswith("#"):
            continue
        requirement = Requirement(first.rstrip(" \\"))
        pins.append((requirement, re.findall(r"--hash=sha256:([0-9a-f]{64})", block)))
    return pins


def marker_env(python: str, sys_platform: str) -> dict[str, str]:
    system, machine = PLATFORMS[sys_platform]
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": machine,
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def pinned_version(name: str, environment: dict[str, str]) -> Version | None:
    """The version the lock installs for a package on one Python and platform."""
    found = [
        Version(next(iter(req.specifier)).version)
        for req, _ in lock_pins()
        if canonicalize_name(req.name) == canonicalize_name(name)
        and (req.marker is None or req.marker.evaluate(environment))
    ]
    assert len(found) <= 1, f"{name} is pinned twice for {environment['python_version']}"
    return found[0] if found else None


def test_the_committed_lock_was_resolved_from_this_pyproject() -> None:
    env_script.check_lock(PROJECT_ROOT)  # raises "out of date ... run ./run lock" otherwise


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("system", sorted(PLATFORMS))
def test_every_declared_dependency_is_pinned_for_each_python(python: str, system: str) -> None:
    project = env_script.read_pyproject(PROJECT_ROOT)
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    environment = marker_env(python, system)
    for line in declared:
        requirement = Requirement(line)
        if requirement.name == "torch":
            continue  # installed on its own, pinned exactly in pyproject.toml
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        version = pinned_version(requirement.name, environment)
        assert version is not None, f"{requirement.name} is not in the lock for {python}/{system}"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {requirement.name}=={version}, outside {requirement.specifier}"
        )


def test_every_pin_is_exact_and_hashed_and_none_is_a_cuda_package() -> None:
    pins = lock_pins()
    assert len(pins) > 100
    for requirement, hashes in pins:
        (spec,) = requirement.specifier
        assert spec.operator == "==", requirement
        assert hashes, f"{requirement.name} has no hash"
        assert not env_script.CUDA_PACKAGES.match(requirement.name), requirement.name
        assert requirement.name != "torch"


def test_numpy_follows_the_python_version() -> None:
    """numpy 2.5 needs Python 3.12: the lock forks instead of breaking 3.11."""
    old = pinned_version("numpy", marker_env("3.11", "linux"))
    new = pinned_version("numpy", marker_env("3.13", "linux"))
    assert old is not None and new is not None
    assert old <= new


def test_a_changed_dependency_makes_the_lock_stale(tmp_path: Path) -> None:
    shutil.copy(LOCK, tmp_path / LOCK.name)
    text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        text.replace('"tqdm>=4.66",', '"tqdm>=4.66",\n    "humanize>=4.0",'), encoding="utf-8"
    )
    result = run_script("ensure", "--root", str(tmp_path), "--venv", str(tmp_path / "venv"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: requirements.lock is out of date with pyproject.toml (its dependencies changed); "
        "run `./run lock` and commit requirements.lock"
    ]
    assert not (tmp_path / "venv").exists()


def test_an_edit_outside_the_dependencies_keeps_the_lock_current(tmp_path: Path) -> None:
    shutil.copy(LOCK, tmp_path / LOCK.name)
    text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(text.replace("line-length = 100", "line-length = 99"))
    env_script.check_lock(tmp_path)


def pip_config(tmp_path: Path, wheel: str | None) -> dict[str, str]:
    """An environment whose pip knows one find-links folder, holding `wheel` if given."""
    links = tmp_path / "wheels"
    links.mkdir(exist_ok=True)
    if wheel:
        (links / wheel).write_bytes(b"")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "INTERVIEWER_"))}
    environ.update({"PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": str(links)})
    return environ


def run_command(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`./run ARGS` as a person types it, with this environment."""
    return subprocess.run(
        [str(PROJECT_ROOT / "run"), *args], capture_output=True, text=True, env=environ, check=False
    )


def run_plan(environ: dict[str, str], *args: str) -> str:
    result = run_command(environ, "plan", "--python", sys.executable, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def local_wheel_name() -> str:
    """The name of torch's CPU wheel for the Python running the tests."""
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    return f"torch-2.13.0+cpu-{tag}-{tag}-manylinux_2_28_{platform.machine()}.whl"


def test_plan_takes_torch_from_local_wheels_when_pip_has_them(tmp_path: Path) -> None:
    wheel = local_wheel_name()
    out = run_plan(pip_config(tmp_path, wheel), "--system", "Linux")
    assert out.splitlines()[-1] == "torch source: local (torch==2.13.0+cpu)"
    assert f"from the local wheel {tmp_path / 'wheels' / wheel}" in out


def test_plan_takes_the_pytorch_cpu_index_on_an_ordinary_linux_machine(tmp_path: Path) -> None:
    out = run_plan(pip_config(tmp_path, None), "--system", "Linux")
    assert out.splitlines()[-1] == "torch source: pytorch-cpu (torch==2.13.0+cpu)"
    assert "https://download.pytorch.org/whl/cpu" in out


def test_plan_ignores_a_local_wheel_for_another_python(tmp_path: Path) -> None:
    out = run_plan(pip_config(tmp_path, "torch-2.13.0+cpu-cp39-cp39-manylinux_2_28_x86_64.whl"))
    assert "torch source: local" not in out


def test_plan_takes_pypi_on_macos(tmp_path: Path) -> None:
    out = run_plan(pip_config(tmp_path, None), "--system", "Darwin", "--machine", "arm64")
    assert out.splitlines()[-1] == "torch source: pypi (torch==2.13.0)"


def test_a_forced_source_wins_over_local_wheels(tmp_path: Path) -> None:
    environ = pip_config(tmp_path, local_wheel_name()) | {"INTERVIEWER_TORCH_SOURCE": "pytorch-cpu"}
    assert (
        run_plan(environ, "--system", "Linux")
        .splitlines()[-1]
        .startswith("torch source: pytorch-cpu")
    )


def test_an_unknown_forced_source_is_one_clear_line(tmp_path: Path) -> None:
    environ = pip_config(tmp_path, None) | {"INTERVIEWER_TORCH_SOURCE": "cuda"}
    result = run_command(environ, "plan")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: INTERVIEWER_TORCH_SOURCE='cuda' is not one of local, pytorch-cpu, pypi"
    ]


def old_python() -> str | None:
    for name in ("python3.10", "python3.9"):
        found = shutil.which(name)
        if (
            found
            and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0
        ):
            return found
    candidates = sorted(Path.home().glob(".pyenv/versions/3.1[0]*/bin/python3.10"))
    return str(candidates[0]) if candidates else None


def test_an_unsupported_python_is_refused_with_one_line(tmp_path: Path) -> None:
    python = old_python()
    if python is None:
        pytest.skip("no Python 3.10 or 3.9 on this machine to try")
    result = run_command({**os.environ, "PYTHON": python}, "test")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(
        r"error: PYTHON=.* is Python 3\.(9|10), which is not supported; use 3\.11, 3\.12 or 3\.13",
        line,
    )


def run_script(
    *args: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=environ or dict(os.environ),
        check=False,
    )


def test_no_network_is_one_clear_line_and_a_log(tmp_path: Path) -> None:
    """The installer cannot reach any index: one line saying so, the details in a log."""
    shutil.copy(LOCK, tmp_path / LOCK.name)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    environ = pip_config(tmp_path, None)
    environ.update(
        {
            "PIP_INDEX_URL": "http://127.0.0.1:9/simple",  # nothing listens on the discard port
            "PIP_NO_CACHE_DIR": "1",
            "PIP_RETRIES": "0",  # the message is under test, not pip's back-off (8 s of it)
            "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        }
    )
    result = run_script(
        "ensure",
        "--root",
        str(tmp_path),
        "--venv",
        str(tmp_path / "venv"),
        "--quiet",
        environ=environ,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: installing uv (the installer) with pip failed: could not reach the package index"
    )
    assert "Traceback" not in result.stderr
    assert "Connection refused" in (tmp_path / ".venv-install.log").read_text()


# Real installer output, as uv and pip print it.
UV_DNS = """error: Request failed after 3 retries in 7.9s
  cause: error sending request for url (https://download.pytorch.org/whl/cpu/torch/)
  cause: client error (Connect)
  cause: dns error"""
PIP_OFFLINE = (
    "WARNING: Retrying (Retry(total=1, connect=None, read=None, redirect=None, status=None)) after "
    "connection broken by 'NewConnectionError(...: Failed to establish a new connection: "
    "[Errno 111] "
    "Connection refused')': /simple/uv/\nERROR: No matching distribution found for uv==0.13.9"
)
UV_NO_COMPILER = """  x Failed to build `lz4==4.4.4`
  |-> The build backend returned an error
  `-> Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)
      error: command 'gcc' failed: No such file or directory"""
UV_HASH = "error: Hash mismatch for `idna==3.20`\n  Expected: sha256:aa\n  Computed: sha256:bb"
UV_NO_WHEEL = (
    "cause: Because onnxruntime==1.32.0 has no wheels with a matching platform tag "
    "(e.g., `macosx_13_0_arm64`) and you require onnxruntime==1.32.0"
)


@pytest.mark.parametrize(
    ("log", "says"),
    [
        (UV_DNS, "could not reach the package index"),
        (PIP_OFFLINE, "could not reach the package index"),
        (UV_NO_COMPILER, "needs a C compiler"),
        (UV_HASH, "does not match its hash in requirements.lock"),
        (UV_NO_WHEEL, "no build for this Python or platform"),
        ("error: something new", "the end of the install log says why"),
    ],
)
def test_install_failures_are_explained_in_one_line(log: str, says: str) -> None:
    message = env_script.classify_failure(log)
    assert says in message
    assert "\n" not in message


def test_no_module_of_the_app_imports_a_package_whose_bytecode_the_install_skips() -> None:
    """The install compiles every package but the ones only the model export loads; a process
    that imported one of them would compile it again on every start (PYTHONDONTWRITEBYTECODE)."""
    environment = load_environment()
    code = (
        "import importlib, pkgutil, sys\n"
        "import interviewer\n"
        "for m in pkgutil.walk_packages(interviewer.__path__, 'interviewer.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "import chromadb, langchain_chroma, langchain_openai, onnxruntime\n"
        "import streamlit.web.bootstrap\n"
        "chromadb.EphemeralClient()\n"
        "print(len(sys.modules), *sorted({n.split('.')[0] for n in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, *packages = done.stdout.split()
    assert int(count) > 2000 and "streamlit" in packages and "onnxruntime" in packages
    assert set(environment.EXPORT_ONLY).isdisjoint(packages)
    skips = re.compile(environment.EXPORT_ONLY_PATHS)
    site = "/venv/lib/python3.11/site-packages/"
    assert all(skips.search(f"{site}{name}/__init__.py") for name in environment.EXPORT_ONLY)
    kept = ("onnxruntime", "torchvision_not_installed", "streamlit", "sympy_extra", "tokenizers")
    assert not any(skips.search(f"{site}{name}/__init__.py") for name in kept)
