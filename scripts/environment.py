"""Build `.venv` exactly from `requirements.lock`; plan, check and update the lock.

Run by `./run` with the system Python before any dependency exists, so this file uses the
standard library only. Commands:

    ensure      make .venv match the lock (nothing to do when it already does)
    plan        print the install plan for this or another Python/platform; installs nothing
    lock        re-resolve requirements.lock from pyproject.toml (`--upgrade` for newer releases)
    check-lock  exit 1 when pyproject.toml and requirements.lock disagree

Every dependency but torch is locked with hashes by `uv pip compile --universal` (one file for
Python 3.11-3.13 on Linux, macOS and Windows). torch is pinned to one version and installed on its
own, without dependencies, from the source that has its CPU build: local wheels configured for pip
on this machine, else PyTorch's CPU wheel index on Linux, else PyPI (macOS wheels are CPU builds).
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK_NAME = "requirements.lock"
SUPPORTED = ((3, 11), (3, 12), (3, 13))
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"
DIGEST_PREFIX = "# inputs-sha256: "
LOCK_COMMAND = "./run lock"
# Packages that only a CUDA build of torch brings; finding one in .venv means the CPU pin failed.
CUDA_PACKAGES = re.compile(r"^(nvidia-|triton$|cuda-)", re.IGNORECASE)
# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on these machines)
# every process would otherwise compile what it imports again, seconds a start. These packages
# (9,000 of the environment's 22,000 Python files) are imported only by the one-off export of
# the embedding model to ONNX, which writes the bytecode of what it uses itself.
EXPORT_ONLY = (
    "torch",
    "torchgen",
    "functorch",
    "transformers",
    "sentence_transformers",
    "sympy",
    "networkx",
    "onnx",
    "kubernetes",
    "mypy",
    "mypyc",
)
EXPORT_ONLY_PATHS = rf"[/\\]site-packages[/\\]({'|'.join(EXPORT_ONLY)})[/\\]"


class SetupError(Exception):
    """A setup failure with one line for the person who ran `./run`."""


@dataclass(frozen=True)
class Target:
    """The interpreter and platform an install plan is for."""

    python: str  # the interpreter used to create the environment
    version: tuple[int, int]
    system: str  # platform.system(): Linux, Darwin, Windows
    machine: str  # platform.machine(): x86_64, aarch64, arm64

    @property
    def cp_tag(self) -> str:
        """The wheel tag of this CPython, e.g. cp311."""
        return f"cp{self.version[0]}{self.version[1]}"

    def describe(self) -> str:
        """Human name, e.g. CPython 3.12 on Linux x86_64."""
        return f"CPython {self.version[0]}.{self.version[1]} on {self.system} {self.machine}"


@dataclass(frozen=True)
class TorchSource:
    """Where torch comes from on a target, and the uv arguments that say so."""

    kind: str  # local | pytorch-cpu | pypi
    requirement: str
    args: tuple[str, ...]
    where: str


@dataclass
class Plan:
    """The steps that turn an empty folder into the project's environment.

    ``installs`` are the very commands `ensure` runs, so what `./run plan` prints is what runs.
    """

    target: Target
    venv: Path
    lock: Path
    torch: TorchSource
    uv_requirement: str
    installs: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def steps(self) -> list[str]:
        """Every step in order, for people."""
        return [
            f"create {self.venv} with {self.target.python} ({self.target.describe()})",
            f"install {self.uv_requirement} from {LOCK_NAME} with pip (hash-checked)",
            *(what for what, _ in self.installs),
            "check that no CUDA package (nvidia-*, triton) is installed",
            "export the embedding model to ONNX in the cache folder (once per machine; the "
            "bytecode of what it imports is written as it runs)",
        ]


# ---- the lock's inputs ---------------------------------------------------------------------


def read_pyproject(root: Path) -> dict[str, object]:
    """The [project] table of pyproject.toml."""
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"cannot read {path}: {exc}") from exc
    project = data.get("project")
    if not isinstance(project, dict):
        raise SetupError(f"{path} has no [project] table")
    return project


def torch_version(project: dict[str, object]) -> str:
    """The exact torch version pinned in pyproject.toml (`torch==X.Y.Z`)."""
    for requirement in _list_of_str(project.get("dependencies")):
        match = re.fullmatch(r"\s*torch\s*==\s*([0-9][0-9A-Za-z.]*)\s*", requirement)
        if match:
            return match.group(1)
    raise SetupError(
        "pyproject.toml must pin torch exactly (torch==X.Y.Z) so that the CPU build can be chosen"
    )


def torch_overrides(version: str) -> str:
    """The overrides that resolve torch's dependencies from its CPU builds, never CUDA's."""
    return (
        f"torch=={version}+cpu ; sys_platform == 'linux' or sys_platform == 'win32'\n"
        f"torch=={version} ; sys_platform != 'linux' and sys_platform != 'win32'\n"
    )


def inputs_digest(root: Path) -> str:
    """A digest of everything the lock is resolved from: requirements, extras, Python range."""
    project = read_pyproject(root)
    inputs = {
        "dependencies": sorted(_list_of_str(project.get("dependencies"))),
        "optional-dependencies": {
            name: sorted(_list_of_str(reqs))
            for name, reqs in sorted(_dict(project.get("optional-dependencies")).items())
        },
        "requires-python": project.get("requires-python"),
        "overrides": torch_overrides(torch_version(project)),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def lock_digest(lock: Path) -> str | None:
    """The inputs digest recorded in the lock's header, if any."""
    try:
        for line in lock.read_text(encoding="utf-8").splitlines()[:20]:
            if line.startswith(DIGEST_PREFIX):
                return line[len(DIGEST_PREFIX) :].strip()
    except OSError:
        return None
    return None


def check_lock(root: Path) -> None:
    """Raise when the lock is missing or was resolved from other inputs than pyproject.toml's."""
    lock = root / LOCK_NAME
    if not lock.is_file():
        raise SetupError(f"{LOCK_NAME} is missing; run `{LOCK_COMMAND}` to create it")
    if lock_digest(lock) != inputs_digest(root):
        raise SetupError(
            f"{LOCK_NAME} is out of date with pyproject.toml (its dependencies changed); "
            f"run `{LOCK_COMMAND}` and commit {LOCK_NAME}"
        )


def locked_requirement(lock: Path, name: str) -> str:
    """One package's block from the lock (the pin and its hashes), as a requirements file."""
    text = lock.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(name)}==.*?(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    if match:
        return match.group(0) + "\n"
    raise SetupError(f"{LOCK_NAME} has no pin for {name}; run `{LOCK_COMMAND}`")


def count_packages(lock: Path) -> int:
    """How many pins the lock holds (a package pinned per Python version counts once per pin)."""
    text = lock.read_text(encoding="utf-8")
    return sum(1 for line in text.splitlines() if re.match(r"[A-Za-z0-9]", line))


# ---- where torch comes from ----------------------------------------------------------------


def pip_find_links(environ: dict[str, str]) -> list[str]:
    """The find-links locations pip is configured with (environment first, then config files)."""
    found: list[str] = []
    if environ.get("PIP_FIND_LINKS"):
        found += environ["PIP_FIND_LINKS"].split()
    home = Path(environ.get("HOME", str(Path.home())))
    files = [Path("/etc/pip.conf")]
    files += [
        Path(d) / "pip" / "pip.conf" for d in environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    ]
    files += [home / ".pip" / "pip.conf", home / ".config" / "pip" / "pip.conf"]
    if environ.get("PIP_CONFIG_FILE") == os.devnull:
        files = []  # as pip does: no configuration files at all
    elif environ.get("PIP_CONFIG_FILE"):
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    for path in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "find-links"):
                found += parser.get(section, "find-links").split()
    return list(dict.fromkeys(found))


def local_torch_wheel(version: str, target: Target, locations: Sequence[str]) -> Path | None:
    """A CPU torch wheel for this target in a local find-links folder, if one is there."""
    pattern = re.compile(
        rf"torch-{re.escape(version)}\+cpu-{target.cp_tag}-{target.cp_tag}-\w*{re.escape(target.machine)}\.whl"
    )
    for location in locations:
        folder = Path(location.removeprefix("file://"))
        if location.startswith(("http://", "https://")) or not folder.is_dir():
            continue
        for wheel in sorted(folder.glob("torch-*.whl")):
            if pattern.fullmatch(wheel.name):
                return wheel
    return None


def choose_torch_source(version: str, target: Target, environ: dict[str, str]) -> TorchSource:
    """Local CPU wheels when pip is configured with them, else PyTorch's CPU index, else PyPI."""
    forced = environ.get("INTERVIEWER_TORCH_SOURCE", "")
    if forced not in ("", "local", "pytorch-cpu", "pypi"):
        raise SetupError(
            f"INTERVIEWER_TORCH_SOURCE={forced!r} is not one of local, pytorch-cpu, pypi"
        )
    wheel = local_torch_wheel(version, target, pip_find_links(environ))
    if forced == "local" and wheel is None:
        raise SetupError(
            f"INTERVIEWER_TORCH_SOURCE=local, but no torch-{version}+cpu wheel for "
            f"{target.describe()} is in pip's find-links"
        )
    if wheel is not None and forced in ("", "local"):
        return TorchSource(
            "local",
            f"torch=={version}+cpu",
            ("--no-index", "--find-links", str(wheel.parent)),
            f"the local wheel {wheel}",
        )
    if forced == "pypi" or (not forced and target.system not in ("Linux", "Windows")):
        return TorchSource(
            "pypi",
            f"torch=={version}",
            ("--index-url", PYPI),
            f"PyPI ({PYPI}), whose {target.system} wheels are CPU builds",
        )
    return TorchSource(
        "pytorch-cpu",
        f"torch=={version}+cpu",
        ("--index-url", PYTORCH_CPU_INDEX),
        f"PyTorch's CPU wheel index ({PYTORCH_CPU_INDEX})",
    )


# ---- planning and running ------------------------------------------------------------------


def interpreter(python: str) -> Target:
    """Ask an interpreter for its version and platform."""
    code = (
        "import platform, sys; print(*sys.version_info[:2], platform.system(), platform.machine())"
    )
    try:
        out = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SetupError(f"cannot run Python at {python!r}: {exc}") from exc
    return Target(python, (int(out[0]), int(out[1])), out[2], out[3])


def probe_python(python: str) -> Target:
    """The interpreter to build with; an unsupported version is refused."""
    target = interpreter(python)
    version = target.version
    if version not in SUPPORTED:
        names = ", ".join(f"{a}.{b}" for a, b in SUPPORTED)
        raise SetupError(
            f"Python {version[0]}.{version[1]} is not supported (use {names}); "
            "run with PYTHON=/path/to/python3.11 ./run ..."
        )
    return target


def site_packages(venv: Path, target: Target) -> Path:
    """Where a venv made by ``target``'s Python keeps its packages (``./run`` is for Linux
    and macOS, like the ``bin/python`` every step runs)."""
    return venv / "lib" / f"python{target.version[0]}.{target.version[1]}" / "site-packages"


def make_plan(root: Path, venv: Path, target: Target, environ: dict[str, str]) -> Plan:
    """The install steps for a target, from the lock and the chosen torch source."""
    lock = root / LOCK_NAME
    version = torch_version(read_pyproject(root))
    torch = choose_torch_source(version, target, environ)
    uv_requirement = locked_requirement(lock, "uv").splitlines()[0].rstrip(" \\")
    uv, vpython = str(venv / "bin" / "uv"), str(venv / "bin" / "python")
    common = ["--python", vpython, "--quiet"]
    installs = [
        (
            f"uv pip sync {LOCK_NAME}: exactly its pins for this platform "
            f"({count_packages(lock)} in all), hash-checked, nothing else",
            [uv, "pip", "sync", *common, "--require-hashes", str(lock)],
        ),
        (
            f"install {torch.requirement} from {torch.where}, "
            "without dependencies (they are in the lock)",
            [uv, "pip", "install", *common, "--no-deps", *torch.args, torch.requirement],
        ),
        (
            # The locked setuptools in .venv builds it: no unlocked build environment.
            "install interviewer itself, editable, without dependencies",
            [uv, "pip", "install", *common, "--no-deps", "--no-build-isolation", "-e", str(root)],
        ),
        (
            "compile the bytecode of every package but those only the model export loads "
            f"({', '.join(EXPORT_ONLY)})",
            [
                vpython,
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "-x",
                EXPORT_ONLY_PATHS,
                str(site_packages(venv, target)),
            ],
        ),
    ]
    return Plan(target, venv, lock, torch, uv_requirement, installs)


def stamp_for(plan: Plan) -> str:
    """What the environment was built from: changes to any of it trigger a reinstall."""
    parts = [
        plan.lock.read_text(encoding="utf-8"),
        plan.torch.requirement,
        plan.torch.kind,
        plan.target.cp_tag,
    ]
    parts.append(Path(__file__).read_text(encoding="utf-8"))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def classify_failure(log: str) -> str:
    """One line that says why an install failed and what to do, from the installer's output."""
    text = log.lower()
    network = (
        "dns error",
        "failed to lookup address",
        "connection refused",
        "could not connect",
        "error sending request",
        "tcp connect error",
        "network is unreachable",
        "temporary failure in name resolution",
        "max retries exceeded",
        "failed to establish a new connection",
        "no matching distribution found for uv",
        "timed out",
    )
    if "hash mismatch" in text or "do not match the hashes" in text or "hash-checking mode" in text:
        return (
            f"a downloaded file does not match its hash in {LOCK_NAME} "
            "(a changed upload or a proxy rewriting files); "
            "check the index you install from, then run ./run again"
        )
    if any(word in text for word in network):
        return (
            "could not reach the package index: check the network or proxy settings "
            "(HTTPS_PROXY, UV_DEFAULT_INDEX), "
            "then run ./run again"
        )
    compiler = (
        "unable to execute 'gcc'",
        "unable to execute 'cc'",
        "command 'gcc' failed",
        "command 'cc' failed",
        "no such file or directory: 'cc'",
        "no such file or directory: 'gcc'",
        "error: no compiler",
        "c compiler cannot create executables",
        "you need a c compiler",
        "microsoft visual c++",
    )
    if any(word in text for word in compiler) or ("failed to build" in text and "compiler" in text):
        return (
            "a locked package has no wheel for this platform and building it needs a C compiler: "
            "install one (Debian/Ubuntu: apt-get install build-essential; "
            "macOS: xcode-select --install), then run ./run again"
        )
    if "no wheels with a matching" in text or "doesn't have a source distribution or wheel" in text:
        return (
            "a locked package has no build for this Python or platform; "
            "use Python 3.11, 3.12 or 3.13 on Linux or "
            "macOS (PYTHON=/path/to/python3.11 ./run ...)"
        )
    if "no space left on device" in text:
        return "the disk is full; free some space, then run ./run again"
    return "installing the locked dependencies failed; the end of the install log says why"


class Runner:
    """Runs install commands with their output in a log file, failing with one clear line."""

    def __init__(self, log: Path, environ: dict[str, str]) -> None:
        self.log = log
        self.environ = {**environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("", encoding="utf-8")

    def __call__(self, argv: Sequence[str], what: str, write_bytecode: bool = False) -> None:
        env = self.environ
        if write_bytecode:  # the command's imports leave their bytecode for every later start
            env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"\n$ {' '.join(argv)}\n")
            out.flush()
            try:
                code = subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
                ).returncode
            except OSError as exc:
                raise SetupError(f"{what} failed: {exc}") from exc
        if code != 0:
            reason = classify_failure(self.log.read_text(encoding="utf-8", errors="replace"))
            raise SetupError(f"{what} failed: {reason} (log: {self.log})")


def ensure(
    root: Path, venv: Path, python: str, environ: dict[str, str], quiet: bool = False
) -> bool:
    """Make `venv` match the lock; returns True when something was installed."""
    check_lock(root)
    target = probe_python(python)
    plan = make_plan(root, venv, target, environ)
    stamp_file = venv / ".installed"
    want = stamp_for(plan)
    vpython = venv / "bin" / "python"
    if (
        vpython.exists()
        and stamp_file.exists()
        and stamp_file.read_text(encoding="utf-8").strip() == want
    ):
        return False
    say: Callable[[str], None] = (lambda _msg: None) if quiet else _stderr
    started = time.monotonic()
    run = Runner(root / ".venv-install.log", environ)
    ensure_uv(plan.lock, venv, target, run, say)
    for what, argv in plan.installs:
        say(f"{what[:1].upper()}{what[1:]} ...")
        run(argv, what)
    cuda = [name for name in installed_names(venv) if CUDA_PACKAGES.match(name)]
    if cuda:
        raise SetupError(
            f"CUDA packages ended up in {venv.name} ({', '.join(cuda)}); "
            f"delete {venv.name} and report this"
        )
    prepare_model(vpython, run, say)
    stamp_file.write_text(want + "\n", encoding="utf-8")
    say(f"Environment ready in {time.monotonic() - started:.0f} s")
    return True


PREPARE_MODEL = (
    "from interviewer.config import Settings\n"
    "from interviewer.embeddings import MiniLMEmbeddings\n"
    "MiniLMEmbeddings(Settings().cache_dir).model\n"
)


def prepare_model(vpython: Path, run: Runner, say: Callable[[str], None]) -> None:
    """Export the packaged MiniLM weights to ONNX now, once per machine, like the bytecode.

    Otherwise the first `./run app` pays for it (about 5 s) before the setup page can show.
    Best effort: the app exports on first use if this did not happen (another cache folder
    set later, a settings file that does not parse yet). The export imports PyTorch and
    transformers, whose bytecode the install leaves to it (``EXPORT_ONLY``).
    """
    say("Preparing the embedding model (a one-off ONNX export) ...")
    try:
        run(
            [str(vpython), "-c", PREPARE_MODEL],
            "preparing the embedding model",
            write_bytecode=True,
        )
    except SetupError:
        say("(skipped: the app will prepare the model on first use; see the install log)")


def ensure_uv(
    lock: Path, venv: Path, target: Target, run: Runner, say: Callable[[str], None]
) -> Path:
    """Create the venv with the target Python if needed and put the locked uv in it."""
    vpython = venv / "bin" / "python"
    if vpython.exists() and _venv_version(vpython) != target.version:
        say(f"Recreating {venv.name}: it was made with another Python version")
        shutil.rmtree(venv)
    if not vpython.exists():
        say(f"Creating {venv.name} with {target.describe()} ...")
        run(
            [target.python, "-m", "venv", "--without-pip", str(venv)],
            "creating the environment (python -m venv; on Debian/Ubuntu install python3-venv)",
        )
    uv = venv / "bin" / "uv"
    if not uv.exists():
        # The Python's own pip installs uv into the venv (5 s less than seeding the venv with a
        # pip of its own); without one new enough for --python, the venv gets pip first.
        pip = [target.python, "-m", "pip", "--python", str(vpython)]
        if not pip_can_target(target.python):
            if not (vpython.parent / "pip").exists():
                run(
                    [str(vpython), "-m", "ensurepip"],
                    "putting pip into the environment (on Debian/Ubuntu install python3-venv)",
                )
            pip = [str(vpython), "-m", "pip"]
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "uv.txt"
            req.write_text(locked_requirement(lock, "uv"), encoding="utf-8")
            run(
                [
                    *pip,
                    "install",
                    "--quiet",
                    "--retries",
                    "2",
                    "--require-hashes",
                    "--no-deps",
                    "-r",
                    str(req),
                ],
                "installing uv (the installer) with pip",
            )
    return uv


def pip_can_target(python: str) -> bool:
    """Whether ``python -m pip`` exists and can install into another environment (pip 22.3+)."""
    try:
        done = subprocess.run(
            [python, "-m", "pip", "--version"], capture_output=True, text=True, check=False
        )
    except OSError:
        return False
    found = re.match(r"pip (\d+)\.(\d+)", done.stdout)
    return done.returncode == 0 and found is not None and (int(found[1]), int(found[2])) >= (22, 3)


def installed_names(venv: Path) -> list[str]:
    """Distribution names installed in a venv, read from its dist-info folders."""
    names = []
    for info in venv.glob("lib/python3*/site-packages/*.dist-info"):
        names.append(info.name.rsplit("-", 1)[0].replace("_", "-").lower())
    return sorted(names)


def _venv_version(vpython: Path) -> tuple[int, int] | None:
    try:
        return interpreter(str(vpython)).version
    except SetupError:
        return None


# ---- updating the lock ---------------------------------------------------------------------


def lock(root: Path, uv: str, upgrade: bool, environ: dict[str, str]) -> None:
    """Re-resolve requirements.lock from pyproject.toml for Python 3.11-3.13, every platform."""
    project = read_pyproject(root)
    version = torch_version(project)
    here = Target(sys.executable, sys.version_info[:2], platform.system(), platform.machine())
    source = choose_torch_source(version, here, environ)
    # torch's own metadata (its dependencies) comes from its CPU build: local wheels, or the
    # torch page of PyTorch's CPU index as extra find-links so everything else stays on PyPI.
    links = source.args[2] if source.kind == "local" else f"{PYTORCH_CPU_INDEX}/torch/"
    lock_path = root / LOCK_NAME
    with tempfile.TemporaryDirectory() as tmp:
        overrides = Path(tmp) / "overrides.txt"
        overrides.write_text(torch_overrides(version), encoding="utf-8")
        out = Path(tmp) / LOCK_NAME
        if lock_path.exists():
            shutil.copy(lock_path, out)  # current pins are kept unless --upgrade
        argv = [
            uv,
            "pip",
            "compile",
            str(root / "pyproject.toml"),
            "--extra",
            "dev",
            "--universal",
            "--python-version",
            f"{SUPPORTED[0][0]}.{SUPPORTED[0][1]}",
            "--generate-hashes",
            "--index-url",
            PYPI,
            "--find-links",
            links,
            "--override",
            str(overrides),
            "--no-emit-package",
            "torch",
            "--custom-compile-command",
            LOCK_COMMAND,
            "--quiet",
            "-o",
            str(out),
        ]
        if upgrade:
            argv.append("--upgrade")
        code = subprocess.run(argv, env=environ, check=False).returncode
        if code != 0:
            raise SetupError(f"resolving the lock failed (uv exit {code}); see uv's message above")
        body = out.read_text(encoding="utf-8")
    body = (
        "\n".join(line for line in body.splitlines() if not line.startswith(DIGEST_PREFIX)) + "\n"
    )
    header = (
        f"{DIGEST_PREFIX}{inputs_digest(root)}\n"
        f"# torch=={version} is installed on its own by ./run "
        "(its CPU build; see docs/dependencies.md).\n"
    )
    lock_path.write_text(header + body, encoding="utf-8")


# ---- command line --------------------------------------------------------------------------


def _list_of_str(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _dict(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def print_plan(plan: Plan) -> None:
    """The plan as people read it; the last line is easy for scripts and tests to pick out."""
    print(f"Install plan for {plan.target.describe()} into {plan.venv}:")
    for number, step in enumerate(plan.steps, 1):
        print(f"  {number}. {step}")
    print(f"torch source: {plan.torch.kind} ({plan.torch.requirement})")


UV_PLATFORMS = {
    ("Linux", "x86_64"): "x86_64-manylinux_2_28",
    ("Linux", "aarch64"): "aarch64-manylinux_2_28",
    ("Darwin", "arm64"): "aarch64-apple-darwin",
}
# torch 2.13 and onnxruntime ship macOS wheels for Apple Silicon on macOS 14 or newer only.
MACOS_TARGET = "14.0"


def dry_run(plan: Plan, uv: str, environ: dict[str, str]) -> int:
    """Resolve the plan against the real indexes for the target, installing nothing."""
    target = plan.target
    platform_args: list[str] = []
    if (target.system, target.machine) != (platform.system(), platform.machine()):
        uv_platform = UV_PLATFORMS.get((target.system, target.machine))
        if uv_platform is None:
            raise SetupError(f"no dry run for {target.system} {target.machine}")
        platform_args = ["--python-platform", uv_platform]
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([uv, "venv", "--quiet", "--python", target.python, str(venv)], check=True)
        common = ["--dry-run", "--python", str(venv / "bin" / "python"), *platform_args]
        steps = [
            # Wheels only: proves no locked package would need a compiler on the target.
            ["sync", *common, "--require-hashes", "--only-binary", ":all:", str(plan.lock)],
            ["install", *common, "--no-deps", *plan.torch.args, plan.torch.requirement],
        ]
        codes = []
        for step in steps:
            print(f"\n$ uv pip {' '.join(step)}", flush=True)
            env = {**environ, "MACOSX_DEPLOYMENT_TARGET": MACOS_TARGET}
            codes.append(subprocess.run([uv, "pip", *step], env=env, check=False).returncode)
    if codes[1]:
        print(f"(torch could not be resolved from {plan.torch.where} on this machine)")
    return codes[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "plan", "lock", "check-lock"])
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter to build the environment with"
    )
    parser.add_argument("--venv", default=str(ROOT / ".venv"))
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument(
        "--system", help="plan: pretend to be this platform.system() (Linux, Darwin)"
    )
    parser.add_argument("--machine", help="plan: pretend to be this platform.machine()")
    parser.add_argument(
        "--resolve",
        action="store_true",
        help="plan: also dry-run the install against the indexes (puts the locked uv in .venv)",
    )
    parser.add_argument(
        "--upgrade", action="store_true", help="lock: take the newest releases allowed"
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    root, venv = Path(args.root), Path(args.venv)
    environ = dict(os.environ)
    try:
        if args.command == "check-lock":
            check_lock(root)
            print(f"{LOCK_NAME} matches pyproject.toml")
        elif args.command == "ensure":
            ensure(root, venv, args.python, environ, quiet=args.quiet)
        elif args.command == "plan":
            check_lock(root)
            target = probe_python(args.python)
            if args.system or args.machine:
                target = Target(
                    target.python,
                    target.version,
                    args.system or target.system,
                    args.machine or target.machine,
                )
            plan = make_plan(root, venv, target, environ)
            print_plan(plan)
            if args.resolve:
                run = Runner(root / ".venv-install.log", environ)
                uv = ensure_uv(plan.lock, venv, target, run, _stderr)
                return dry_run(plan, str(uv), environ)
        else:
            target = probe_python(args.python)
            run = Runner(root / ".venv-install.log", environ)
            uv = ensure_uv(root / LOCK_NAME, venv, target, run, _stderr)
            lock(root, str(uv), args.upgrade, environ)
            print(f"{LOCK_NAME} written; commit it with pyproject.toml")
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
