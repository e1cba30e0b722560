"""What a team's Interviewer needs besides the app servers, on one machine, in one folder.

Starts a PostgreSQL cluster (sessions) and a Chroma server (the question index), then prints the
settings to give every app server. Everything lives in the folder given with ``--dir``: the
cluster, its log and sockets, the Chroma data and log, and ``stack.json`` (ports, database, role
and its generated password; readable by its owner only). Run it with the project's Python (it
uses the ``chroma`` command and psycopg from the environment)::

    .venv/bin/python scripts/team_stack.py start --dir /srv/interviewer-stack --servers 2
    eval "$(.venv/bin/python scripts/team_stack.py env --dir /srv/interviewer-stack)"
    .venv/bin/python scripts/team_stack.py status --dir /srv/interviewer-stack
    .venv/bin/python scripts/team_stack.py stop --dir /srv/interviewer-stack

``start`` is safe to repeat: the first run creates the cluster, the role ``interviewer`` (with
a random password) and its database; later runs start whatever is not running and change
nothing else. ``--only postgres`` or ``--only chroma`` limits start and stop to one service.
PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user, so the
folder must be one that user can reach. Both services listen on 127.0.0.1 unless ``--host``
says otherwise; Chroma has no authentication here, so never expose its port beyond the app
servers. See docs/deploy.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SERVICES = ("postgres", "chroma")
STATE_FILE = "stack.json"


class StackConfig(BaseModel):
    """``stack.json``: what ``start`` chose the first time, reused by every later command."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    host: str = "127.0.0.1"
    postgres_port: int = Field(ge=1, le=65535)
    chroma_port: int = Field(ge=1, le=65535)
    database: str = "interviewer"
    role: str = "interviewer"
    password: str = Field(min_length=16)
    allow: list[str] = Field(default_factory=list, description="extra pg_hba client networks")
    created_at: str

    @property
    def connect_host(self) -> str:
        """Where clients on this machine connect (a wildcard listen address is not one)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "*", "") else self.host

    def database_url(self) -> str:
        """INTERVIEWER_DATABASE_URL for the app servers."""
        return (
            f"postgresql+psycopg://{self.role}:{self.password}@{self.connect_host}:"
            f"{self.postgres_port}/{self.database}"
        )

    def chroma_url(self) -> str:
        """INTERVIEWER_CHROMA_URL for the app servers."""
        return f"http://{self.connect_host}:{self.chroma_port}"


class StackError(Exception):
    """Something the person running the script can fix; printed without a traceback."""


# --- the folder -----------------------------------------------------------------------------


class Folder:
    """The paths of one stack folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.state = self.root / STATE_FILE
        self.pgdata = self.root / "postgres"
        self.pgrun = self.root / "postgres-run"  # sockets and the server log
        self.pglog = self.pgrun / "postgres.log"
        self.chroma = self.root / "chroma"
        self.chroma_log = self.root / "chroma.log"
        self.chroma_pid = self.root / "chroma.pid"

    def load(self) -> StackConfig:
        """The stack's settings; a clear error when the folder holds no stack."""
        if not self.state.is_file():
            raise StackError(f"{self.root} holds no stack: run `start --dir {self.root}` first.")
        return StackConfig.model_validate_json(self.state.read_text(encoding="utf-8"))

    def save(self, config: StackConfig) -> None:
        """Write stack.json readable by its owner only (it holds the database password)."""
        tmp = self.state.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(config.model_dump_json(indent=2) + "\n")
        tmp.replace(self.state)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now."""
    with socket.socket() as s:
        s.bind((host if host not in ("0.0.0.0", "*") else "", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise StackError(
        f"PostgreSQL's {name} was not found: install the PostgreSQL server "
        "(Debian: apt-get install postgresql) or put its bin folder on PATH."
    )


def _server_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when this script runs as root (None otherwise)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "PostgreSQL refuses to run as root and there is no 'postgres' user to run it as: "
            "run this script as an ordinary user, or create that user."
        ) from None


def _as_server(argv: list[str]) -> list[str]:
    user = _server_user()
    return ["runuser", "-u", user.pw_name, "--", *argv] if user else argv


def _run(argv: list[str], what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise StackError(f"{what} failed: {' / '.join(detail)}")
    return done.stdout


def postgres_running(folder: Folder) -> bool:
    """Whether the cluster's server is up (pg_ctl status)."""
    if not (folder.pgdata / "PG_VERSION").is_file():
        return False
    done = subprocess.run(
        _as_server([_pg_binary("pg_ctl"), "-D", str(folder.pgdata), "status"]),
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _init_postgres(folder: Folder, config: StackConfig) -> None:
    """initdb: local socket connections trusted (the socket folder is the server user's own),
    TCP connections by password (scram-sha-256) only."""
    user = _server_user()
    for path in (folder.pgdata, folder.pgrun):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if user:
            os.chown(path, user.pw_uid, user.pw_gid)
    if user:
        reach = subprocess.run(
            _as_server(["test", "-w", str(folder.pgdata)]), capture_output=True, check=False
        )
        if reach.returncode != 0:
            raise StackError(
                f"The 'postgres' user cannot reach {folder.pgdata}: choose a folder every user "
                "can traverse (such as /srv/interviewer-stack), or run as an ordinary user."
            )
    _run(
        _as_server(
            [
                _pg_binary("initdb"),
                "-D",
                str(folder.pgdata),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ]
        ),
        "initdb",
    )
    settings = (
        "\n# Written by scripts/team_stack.py\n"
        f"listen_addresses = '{config.host}'\n"
        f"port = {config.postgres_port}\n"
        f"unix_socket_directories = '{folder.pgrun}'\n"
        "password_encryption = 'scram-sha-256'\n"
    )
    hba = "".join(
        f"host {config.database} {config.role} {network} scram-sha-256\n"
        for network in config.allow
    )
    _append_as_server(folder.pgdata / "postgresql.conf", settings)
    if hba:
        _append_as_server(folder.pgdata / "pg_hba.conf", hba)


def _append_as_server(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:  # root may write it; ownership is unchanged
        out.write(text)


def start_postgres(folder: Folder, config: StackConfig) -> None:
    """Create the cluster on first use, start it, and make the role and database exist."""
    if not (folder.pgdata / "PG_VERSION").is_file():
        _init_postgres(folder, config)
    if not postgres_running(folder):
        if port_open(config.connect_host, config.postgres_port):
            raise StackError(
                f"Port {config.postgres_port} is taken by another program; start with "
                "another --postgres-port (in a new folder) or stop that program."
            )
        _run(
            _as_server(
                [
                    _pg_binary("pg_ctl"),
                    "-D",
                    str(folder.pgdata),
                    "-l",
                    str(folder.pglog),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            f"starting PostgreSQL (its log: {folder.pglog})",
        )
    _ensure_role_and_database(folder, config)


def _ensure_role_and_database(folder: Folder, config: StackConfig) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=str(folder.pgrun),
        port=config.postgres_port,
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (config.role,)).fetchone()
        if role is None:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(config.role), sql.Literal(config.password)
                )
            )
        db = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (config.database,)
        ).fetchone()
        if db is None:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(config.database), sql.Identifier(config.role)
                )
            )
            conn.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(config.database)
                )
            )


def stop_postgres(folder: Folder) -> bool:
    """Stop the cluster (fast shutdown: open transactions roll back); False if not running."""
    if not postgres_running(folder):
        return False
    _run(
        _as_server([_pg_binary("pg_ctl"), "-D", str(folder.pgdata), "-m", "fast", "-w", "stop"]),
        "stopping PostgreSQL",
    )
    return True


# --- Chroma ---------------------------------------------------------------------------------


def _chroma_binary() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise StackError(
            "The `chroma` command was not found: run this script with the project's Python "
            "(.venv/bin/python scripts/team_stack.py), which has chromadb installed."
        )
    return found


def chroma_pid(folder: Folder) -> int | None:
    """The pid of this stack's Chroma server, if it is running."""
    try:
        pid = int(folder.chroma_pid.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"chroma" in cmdline and str(folder.chroma).encode() in cmdline else None


def chroma_healthy(config: StackConfig) -> bool:
    """Whether the Chroma server answers its heartbeat."""
    try:
        with urllib.request.urlopen(f"{config.chroma_url()}/api/v2/heartbeat", timeout=2):
            return True
    except OSError:
        return False


def start_chroma(folder: Folder, config: StackConfig, timeout: float = 60.0) -> None:
    """Start `chroma run` on the stack's folder and port, in the background."""
    if chroma_pid(folder) is not None:
        return
    if port_open(config.connect_host, config.chroma_port):
        raise StackError(
            f"Port {config.chroma_port} is taken by another program; stop it, or start a new "
            "stack folder with another --chroma-port."
        )
    folder.chroma.mkdir(parents=True, exist_ok=True)
    with folder.chroma_log.open("ab") as log:
        proc = subprocess.Popen(
            [
                _chroma_binary(),
                "run",
                "--path",
                str(folder.chroma),
                "--host",
                config.host,
                "--port",
                str(config.chroma_port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this script and its terminal
        )
    folder.chroma_pid.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not chroma_healthy(config):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise StackError(f"Chroma did not start; its log: {folder.chroma_log}")
        time.sleep(0.2)


def stop_chroma(folder: Folder, timeout: float = 20.0) -> bool:
    """Stop this stack's Chroma server; False if it was not running."""
    pid = chroma_pid(folder)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    folder.chroma_pid.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    """Whether the process still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# --- commands -------------------------------------------------------------------------------


def create_or_load(folder: Folder, args: argparse.Namespace) -> StackConfig:
    """The folder's settings, chosen now on the first start (ports 0: any free port)."""
    if folder.state.is_file():
        return folder.load()
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.root.chmod(0o711)  # the server user may traverse it, not list it
    config = StackConfig(
        host=args.host,
        postgres_port=args.postgres_port or free_port(args.host),
        chroma_port=args.chroma_port or free_port(args.host),
        password=secrets.token_urlsafe(24),
        allow=args.allow or [],
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    folder.save(config)
    return config


def start(folder: Folder, config: StackConfig, only: str | None) -> None:
    """Start the stack's services (the ones not running yet)."""
    if only in (None, "postgres"):
        start_postgres(folder, config)
    if only in (None, "chroma"):
        start_chroma(folder, config)


def stop(folder: Folder, only: str | None) -> list[str]:
    """Stop the stack's services; the names of those that were running."""
    stopped = []
    if only in (None, "chroma") and stop_chroma(folder):
        stopped.append("chroma")
    if only in (None, "postgres") and stop_postgres(folder):
        stopped.append("postgres")
    return stopped


def up(
    root: Path, host: str = "127.0.0.1", postgres_port: int = 0, chroma_port: int = 0
) -> dict[str, str]:
    """From Python (the load benchmark): start the stack in ``root``, creating it on first use
    (ports 0: any free port); the app servers' settings."""
    folder = Folder(root)
    options = argparse.Namespace(
        host=host, postgres_port=postgres_port, chroma_port=chroma_port, allow=[]
    )
    config = create_or_load(folder, options)
    start(folder, config, None)
    return settings(config)


def down(root: Path) -> list[str]:
    """From Python: stop the stack in ``root``."""
    return stop(Folder(root), None)


def settings(config: StackConfig) -> dict[str, str]:
    """The settings every app server gets."""
    return {
        "INTERVIEWER_DATABASE_URL": config.database_url(),
        "INTERVIEWER_CHROMA_URL": config.chroma_url(),
    }


def describe(folder: Folder, config: StackConfig, servers: int, first_port: int) -> str:
    """What to give the app servers, and how to start them."""
    env = settings(config)
    lines = [
        f"Stack in {folder.root}:",
        f"  PostgreSQL {config.connect_host}:{config.postgres_port}, database "
        f"{config.database}, role {config.role} (password in {folder.state})",
        f"  Chroma     {config.chroma_url()}",
        "",
        'Give every app server these settings (or: eval "$(.venv/bin/python '
        f'scripts/team_stack.py env --dir {folder.root})")',
        *(f"  {key}={value}" for key, value in env.items()),
        "",
        f"Start {servers} app server(s), each with those settings, behind the reverse proxy:",
    ]
    for n in range(servers):
        lines.append(f"  .venv/bin/streamlit run app.py --server.port {first_port + n}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: start, env, status, stop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "env", "status", "stop"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dir", type=Path, required=True, help="the stack's folder")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        if name in ("start", "stop"):
            cmd.add_argument("--only", choices=SERVICES, help="just this service")
    start_cmd = sub.choices["start"]
    start_cmd.add_argument("--host", default="127.0.0.1", help="address both services listen on")
    start_cmd.add_argument("--postgres-port", type=int, default=5432, help="0: any free port")
    start_cmd.add_argument("--chroma-port", type=int, default=8000, help="0: any free port")
    start_cmd.add_argument(
        "--allow",
        action="append",
        metavar="CIDR",
        help="also accept the app role from this network (app servers on other machines)",
    )
    start_cmd.add_argument("--servers", type=int, default=2, help="app servers to print for")
    start_cmd.add_argument("--app-port", type=int, default=8501, help="the first one's port")
    args = parser.parse_args(argv)
    folder = Folder(args.dir)
    try:
        if args.command == "start":
            config = create_or_load(folder, args)
            start(folder, config, args.only)
            if args.json:
                print(json.dumps(settings(config)))
            else:
                print(describe(folder, config, args.servers, args.app_port))
        elif args.command == "env":
            env = settings(folder.load())
            if args.json:
                print(json.dumps(env))
            else:
                print("\n".join(f"export {key}='{value}'" for key, value in env.items()))
        elif args.command == "status":
            config = folder.load()
            state = {
                "postgres": postgres_running(folder),
                "chroma": chroma_pid(folder) is not None and chroma_healthy(config),
            }
            if args.json:
                print(json.dumps(state))
            else:
                for name, up in state.items():
                    print(f"{name}: {'running' if up else 'stopped'}")
            return 0 if all(state.values()) else 3
        else:
            stopped = stop(folder, args.only)
            print(json.dumps(stopped) if args.json else f"stopped: {', '.join(stopped) or '-'}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
