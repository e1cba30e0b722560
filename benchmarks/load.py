"""Load: N simulated candidates at once against real app servers, over Streamlit's websocket.

Usage: ``./run bench --suite load`` or
``python -m benchmarks.load [--candidates 1,4,8] [--turns 10] [--json out.json]``; a team's
shared deployment: ``python -m benchmarks.load --servers 2 --database postgres --candidates 8,16``
(PostgreSQL and a Chroma server from scripts/team_stack.py, candidates spread over the servers).

One `streamlit run app.py` server (offline mode, its own temporary data folder and question
index, started through benchmarks/load_server.py, which adds timing probes) and, per N, N
candidates in this process, each on its own websocket speaking the browser's protocol
(protobuf ``BackMsg`` / ``ForwardMsg`` on ``/_stcore/stream``). A candidate loads the page,
clicks "Start interview" (the button's widget id comes from the page's deltas), then sends
answers through the chat input: short answers of one to three sentences, sometimes "hint" or
"skip", after a random think time; every ``--burst-every``-th turn sends a second message 50 ms
after the first, as a double submit does.

Per turn: submit -> the interviewer's reply on screen (its first text in the deltas), and
submit -> the script run over (``script_finished``). Per candidate: messages sent, stored (the
``turns`` table, read after the run: the data folder's sessions.db, or PostgreSQL), and refused
on screen (its text put back into the input, or a refusal notice, "was not used" / "not
sent", new in that turn's deltas: one notice accounts for one message); lost = the rest.
Server CPU comes from /proc/<pid>/stat (and per thread from /proc/<pid>/task), summed over the
servers, the split of a turn's time from the servers' probes.

With ``--database postgres`` the servers keep sessions in a PostgreSQL cluster and the index in
a Chroma server, both started in a temporary folder by scripts/team_stack.py (its Python API);
with ``--servers N`` (N > 1 needs postgres) candidate i talks to server i mod N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from interviewer.accounts.access import LOCAL
from interviewer.web.local import free_port, run_args, wait_for

TARGETS = {"turn_p95_s@8": 1.0}  # and lost = 0, printed on its own line
TICK = os.sysconf("SC_CLK_TCK")
GRACE_S = 0.2  # after a finished run, how long to wait for a rerun that is still coming
RUN_TIMEOUT_S = 120.0
REFUSALS = ("was not used", "not sent")

ANSWERS = [
    "I would measure first, then change one thing at a time.",
    "A list is mutable and a tuple is not. I use tuples for fixed records and as dict keys.",
    "An index speeds up reads on the indexed columns. It costs space and slows down writes.",
    "I'd put a cache in front of the database with a short TTL. Invalidation on write keeps "
    "it honest.",
    "The GIL lets one thread run Python bytecode at a time, so threads help with I/O but not "
    "with CPU-bound work.",
    "I would use a message queue so the producer is not blocked by a slow consumer.",
    "Idempotency means doing it twice has the same effect as once. I'd use an idempotency "
    "key stored with the result.",
    "A deadlock is two transactions waiting on each other's locks. Taking locks in a fixed "
    "order avoids it.",
    "I'd add pagination with a cursor instead of offsets, because offsets get slow on deep pages.",
    "First I'd look at the slow query log and the query plan. Then I'd add the missing index.",
    "A process has its own memory; threads share it. Processes are safer, threads are lighter.",
    "I would write a failing test first, then fix the bug, then keep the test.",
    "Rate limiting with a token bucket per client, kept in Redis so every instance sees it.",
    "I'm not sure. I think it retries with exponential backoff and some jitter.",
    "Use a context manager so the file is closed even when an exception is raised.",
    "A generator yields values lazily, so it uses constant memory on a large file.",
    "I would shard by customer id, since most queries are per customer.",
    "Eventual consistency: replicas may lag, so reads right after a write can be stale.",
    "I'd profile it with cProfile before guessing. Most of the time is usually in a few calls.",
    "Optimistic locking with a version column: the update fails if someone changed the row.",
    "In a code review I look for correctness first, then readability, then tests.",
    "A hash map gives average O(1) lookups; collisions are handled with probing or chaining.",
    "I would break the monolith along the data it owns, starting with the least coupled part.",
    "HTTP is stateless, so sessions live in a cookie or in a store keyed by the cookie.",
]
COMMANDS = ["hint", "skip"]


# --- /proc ------------------------------------------------------------------------------------


def _stat_cpu(path: str) -> float:
    """utime + stime, in seconds, from a /proc stat file."""
    fields = Path(path).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def process_cpu(pid: int) -> float:
    """CPU seconds the process has used (every thread, dead ones included)."""
    return _stat_cpu(f"/proc/{pid}/stat")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each live thread of the process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended in between
            out[int(task.name)] = _stat_cpu(f"{task}/stat")
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


# --- one simulated candidate ----------------------------------------------------------------


@dataclass
class TurnResult:
    """One submission (or a burst of two) and what the page showed."""

    kind: str  # answer, command or burst
    sent: int
    reply_s: float | None  # submit -> the interviewer's reply text in the deltas
    finish_s: float  # submit -> the last script run over
    refused: int  # refusal notices in the deltas (a notice shown by several runs counts each)
    restored: int  # the chat input was given its text back
    texts: list[str] = field(default_factory=list)  # what was sent, in order
    notices: list[str] = field(default_factory=list)  # refusal notices seen, as shown
    given_back: list[str] = field(default_factory=list)  # texts put back into the input


@dataclass
class CandidateResult:
    """Everything one candidate did and saw."""

    name: str
    session_id: str = ""
    start_s: float = 0.0
    turns: list[TurnResult] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (single/first/second, text)
    finished_interview: bool = False
    error: str = ""

    @property
    def sent(self) -> int:
        """Chat messages sent."""
        return sum(t.sent for t in self.turns)

    def account(self, stored: list[str]) -> list[str]:
        """What became of each message sent, in order: 'stored'; 'given back' (its text was
        put back into the input); 'refused' (not stored, and a refusal notice new in that turn
        was on the page: a notice explains one message, and one still shown from the turn
        before explains none); or 'lost'."""
        left = list(stored)
        out: list[str] = []
        before: set[str] = set()
        for turn in self.turns:
            notices = [n for n in dict.fromkeys(turn.notices) if n not in before]
            given = [part for text in turn.given_back for part in text.split("\n\n")]
            for text in turn.texts:
                if text in left:
                    left.remove(text)
                    out.append("stored")
                elif text in given:
                    given.remove(text)
                    out.append("given back")
                elif notices:
                    notices.pop(0)
                    out.append("refused")
                else:
                    out.append("lost")
            before = set(turn.notices)
        return out


@dataclass
class RunView:
    """What one or more script runs showed, as far as this benchmark reads it."""

    reply_at: float | None = None
    finished_at: float = 0.0
    refused: int = 0
    restored: int = 0
    report: bool = False
    notices: list[str] = field(default_factory=list)
    given_back: list[str] = field(default_factory=list)


class Candidate:
    """A browser tab, as far as the server can tell: one websocket, widget triggers."""

    def __init__(self, url: str, name: str, rng: random.Random) -> None:
        self.url, self.rng = url, rng
        self.result = CandidateResult(name)
        self.query_string = ""
        self.widgets: dict[str, str] = {}  # "start" / "chat" -> widget id
        self.ws: Any = None

    async def rerun(self, states: list[Any]) -> None:
        """Send a rerun request with these widget states, as the browser does on input."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.widget_states.widgets.extend(states)
        await self.ws.send(msg.SerializeToString())

    def chat_state(self, text: str) -> Any:
        """The chat input's trigger value carrying ``text``."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=self.widgets["chat"])
        state.chat_input_value.data = text
        return state

    async def read_runs(self, after: float, echo: str | None = None) -> RunView:
        """Read until a run that began after ``after`` finished and no other run follows.

        ``echo`` is the last text submitted: the first interviewer text after it is on the
        page is the reply.
        """
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        view = RunView()
        started_after = False
        finished = False
        echoed = False
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), GRACE_S if finished else RUN_TIMEOUT_S)
            except TimeoutError:
                if finished:
                    return view
                raise
            now = time.perf_counter()
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                started_after = started_after or now > after
                finished = False
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY and started_after:
                    finished, view.finished_at = True, now
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                etype = element.WhichOneof("type")
                if etype == "button" and element.button.label == "Start interview":
                    self.widgets["start"] = element.button.id
                elif etype == "chat_input":
                    self.widgets["chat"] = element.chat_input.id
                    if element.chat_input.set_value and element.chat_input.value:
                        view.restored += 1
                        view.given_back.append(element.chat_input.value)
                elif etype == "alert" and any(r in element.alert.body for r in REFUSALS):
                    view.refused += 1
                    view.notices.append(element.alert.body)
                elif etype == "text" and echo is not None and element.text.body == echo:
                    echoed = True
                elif etype == "markdown" and element.markdown.body.strip():
                    if echoed and view.reply_at is None:
                        view.reply_at = now
                elif etype == "heading" and element.heading.body == "Your interview report":
                    view.report = True

    async def run(self, turns: int, think: tuple[float, float], burst_every: int) -> None:
        """Load the page, start an interview and answer ``turns`` times (fewer if it ends)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        from websockets.asyncio.client import connect

        async with connect(self.url, subprotocols=["streamlit"], max_size=None) as ws:
            self.ws = ws
            t = time.perf_counter()
            await self.rerun([])
            await self.read_runs(t)
            t = time.perf_counter()
            await self.rerun([WidgetState(id=self.widgets["start"], trigger_value=True)])
            await self.read_runs(t)
            self.result.start_s = time.perf_counter() - t
            self.result.session_id = parse_qs(self.query_string).get("session", [""])[0]
            answers = self.rng.sample(ANSWERS, len(ANSWERS))
            for i in range(turns):
                await asyncio.sleep(self.rng.uniform(*think))
                burst = burst_every > 0 and i % burst_every == burst_every - 1
                first = answers.pop() if self.rng.random() > 0.2 else self.rng.choice(COMMANDS)
                t = time.perf_counter()
                await self.rerun([self.chat_state(first)])
                self.result.texts.append(("first" if burst else "single", first))
                last = first
                if burst:
                    await asyncio.sleep(0.05)
                    last = answers.pop()
                    await self.rerun([self.chat_state(last)])
                    self.result.texts.append(("second", last))
                view = await self.read_runs(time.perf_counter() if burst else t, echo=last)
                kind = "burst" if burst else ("command" if first in COMMANDS else "answer")
                self.result.turns.append(
                    TurnResult(
                        kind=kind,
                        sent=2 if burst else 1,
                        reply_s=None if view.reply_at is None else view.reply_at - t,
                        finish_s=view.finished_at - t,
                        refused=view.refused,
                        restored=view.restored,
                        texts=[first, last] if burst else [first],
                        notices=view.notices,
                        given_back=view.given_back,
                    )
                )
                if view.report or "chat" not in self.widgets:
                    self.result.finished_interview = True
                    break


# --- the engine alone, for comparison ------------------------------------------------------


def engine_reference(turns: int = 24, seed: int = 7) -> dict[str, float]:
    """The same kind of answers through the engine in this process, no server: once with one
    Interview object kept across turns (as benchmarks/engine.py does), once reopened from the
    store before every turn (as the app does on every script run). Wall and process CPU (every
    thread, ONNX Runtime's included) per turn, and ``gc.collect()`` of the loaded process."""
    import gc

    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.services import Services

    rng = random.Random(seed)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        services = Services.start(Settings(data_dir=Path(tmp), chroma_url=None))
        services.embeddings.embed_query("warm up")
        for mode in ("kept", "reopened"):
            walls, cpus = [], []
            interview = services.new_interview(
                "backend-developer", Level.MID, "phone-screen", viewer=LOCAL
            )
            interview.start()
            answers = rng.sample(ANSWERS, len(ANSWERS))
            for _ in range(turns):
                text = answers.pop() if rng.random() > 0.2 else rng.choice(COMMANDS)
                if not answers:
                    answers = rng.sample(ANSWERS, len(ANSWERS))
                if interview.session.phase.value == "done":
                    interview = services.new_interview(
                        "backend-developer", Level.MID, "phone-screen", viewer=LOCAL
                    )
                    interview.start()
                wall, cpu = time.perf_counter(), time.process_time()
                if mode == "reopened":
                    interview = services.open_interview(interview.session.id, viewer=LOCAL)
                interview.handle(text, lambda _chunk: None)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            out[f"engine_{mode}_p50_ms"] = round(1000 * float(np.percentile(walls, 50)), 1)
            out[f"engine_{mode}_p95_ms"] = round(1000 * float(np.percentile(walls, 95)), 1)
            out[f"engine_{mode}_cpu_ms"] = round(1000 * float(np.mean(cpus)), 1)
        gcs = []
        for _ in range(5):
            t = time.perf_counter()
            gc.collect(2)
            gcs.append(time.perf_counter() - t)
        out["gc_collect_ms"] = round(1000 * float(np.median(gcs)), 1)
    return out


# --- the server and one load level ----------------------------------------------------------


def start_server(port: int, env: dict[str, str], probes: Path) -> subprocess.Popen[bytes]:
    """`streamlit run app.py` as start_app does it, through the probing wrapper."""
    from interviewer.config import PROJECT_ROOT

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.load_server",
            str(probes),
            "--",
            *run_args(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_probes(path: Path, wait: bool = True) -> dict[str, list[float]]:
    """The probe totals the server wrote last (calls, wall s, thread CPU s per name)."""
    if wait:
        time.sleep(0.6)  # the server writes them every 0.5 s
    data: dict[str, list[float]] = json.loads(path.read_text())
    return data


CANDIDATE_TURNS = "SELECT session_id, text FROM turns WHERE speaker = 'candidate' ORDER BY seq"


def stored_turns(db: Path) -> dict[str, list[str]]:
    """Candidate turns stored per session in a SQLite file, their texts in order."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(CANDIDATE_TURNS).fetchall()
    return _by_session(rows)


def stored_turns_in(url: str) -> dict[str, list[str]]:
    """The same, from the database at a SQLAlchemy URL (PostgreSQL)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [(r[0], r[1]) for r in conn.execute(text(CANDIDATE_TURNS))]
    finally:
        engine.dispose()
    return _by_session(rows)


def _by_session(rows: list[tuple[str, str]] | list[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sid, text in rows:
        out.setdefault(sid, []).append(text)
    return out


def missing(sent: list[tuple[str, str]], stored: list[str]) -> list[str]:
    """Which of the sent messages (single, first or second of a burst) are not stored."""
    left = list(stored)
    out = []
    for role, text in sent:
        if text in left:
            left.remove(text)
        else:
            out.append(role)
    return out


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, 0 for no values."""
    return round(float(np.percentile(values, p)), 3) if values else 0.0


@dataclass
class Target:
    """The app servers under load, and where their stored turns are read."""

    ports: list[int]
    pids: list[int]
    probes: list[Path]
    stored: Callable[[], dict[str, list[str]]]
    database: str = "sqlite"

    def url(self, i: int) -> str:
        """Candidate i's websocket: server i mod N."""
        return f"ws://127.0.0.1:{self.ports[i % len(self.ports)]}/_stcore/stream"

    def cpu(self) -> float:
        """CPU seconds of all the servers."""
        return sum(process_cpu(pid) for pid in self.pids)

    def threads(self) -> dict[tuple[int, int], float]:
        """CPU seconds of every live thread, by (server pid, thread id)."""
        return {(pid, tid): cpu for pid in self.pids for tid, cpu in thread_cpu(pid).items()}

    def read_probes(self) -> dict[str, list[float]]:
        """The servers' probe totals, added up."""
        total: dict[str, list[float]] = {}
        for i, path in enumerate(self.probes):
            for name, row in read_probes(path, wait=i == 0).items():
                into = total.setdefault(name, [0.0, 0.0, 0.0])
                for k, value in enumerate(row):
                    into[k] += value
        return total


def run_level(n: int, target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """N candidates at once; their figures, the servers' CPU and the probes' split."""
    candidates = [
        Candidate(target.url(i), f"c{i}", random.Random(args.seed * 1000 + n * 100 + i))
        for i in range(n)
    ]
    before_probes = target.read_probes()
    before_threads = target.threads()
    per_server0 = [process_cpu(pid) for pid in target.pids]
    busy0, wall0 = machine_busy(), time.perf_counter()
    client0 = sum(os.times()[:2])

    async def all_of_them() -> list[BaseException | None]:
        async def one(c: Candidate) -> None:
            await asyncio.sleep(c.rng.uniform(0, args.think[1]))  # not all in the same instant
            await c.run(args.turns, args.think, args.burst_every)

        return await asyncio.gather(*(one(c) for c in candidates), return_exceptions=True)

    outcomes = asyncio.run(all_of_them())
    wall = time.perf_counter() - wall0
    per_server = [
        process_cpu(pid) - before for pid, before in zip(target.pids, per_server0, strict=True)
    ]
    cpu = sum(per_server)
    busy1 = machine_busy()
    client_cpu = sum(os.times()[:2]) - client0
    after_threads = target.threads()
    after_probes = target.read_probes()
    for c, outcome in zip(candidates, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            c.result.error = f"{type(outcome).__name__}: {outcome}"

    stored = target.stored()
    results = [c.result for c in candidates]
    turns = [t for r in results for t in r.turns]
    single = [t for t in turns if t.kind != "burst"]
    reply = [t.reply_s for t in single if t.reply_s is not None]
    finish = [t.finish_s for t in single]
    bursts = [t for t in turns if t.kind == "burst"]
    sent = sum(r.sent for r in results)
    n_stored = sum(len(stored.get(r.session_id, [])) for r in results)
    unstored = [m for r in results for m in missing(r.texts, stored.get(r.session_id, []))]
    fate = {r.name: r.account(stored.get(r.session_id, [])) for r in results}
    fates = [f for r in results for f in fate[r.name]]
    refused = fates.count("given back") + fates.count("refused")
    probe = {
        name: [
            round(a - b, 4) for a, b in zip(row, before_probes.get(name, [0, 0, 0]), strict=True)
        ]
        for name, row in after_probes.items()
    }
    # CPU by thread: the event loop (main thread), the threads alive all along (ONNX Runtime's
    # pool, watchers), and the rest: script-run threads, which end after their run.
    mains = [(pid, pid) for pid in target.pids]
    main = sum(after_threads.get(t, 0.0) - before_threads.get(t, 0.0) for t in mains)
    lasting = sum(
        after_threads[t] - before_threads[t]
        for t in after_threads
        if t in before_threads and t not in mains
    )
    runs = probe.get("page", [0, 0, 0])
    n_turns = max(len(turns), 1)
    return {
        "candidates": n,
        "servers": len(target.pids),
        "database": target.database,
        "turns": len(turns),
        "single_turns": len(single),
        "burst_turns": len(bursts),
        "reply_p50_s": pct(reply, 50),
        "reply_p95_s": pct(reply, 95),
        "reply_max_s": pct(reply, 100),
        "turn_p50_s": pct(finish, 50),
        "turn_p95_s": pct(finish, 95),
        "turn_max_s": pct(finish, 100),
        "burst_p50_s": pct([t.finish_s for t in bursts], 50),
        "burst_max_s": pct([t.finish_s for t in bursts], 100),
        "start_p50_s": pct([r.start_s for r in results if r.start_s], 50),
        "sent": sent,
        "stored": n_stored,
        "refused": refused,
        "given_back": fates.count("given back"),
        "lost": fates.count("lost"),
        "refusal_notices_shown": sum(t.refused for t in turns),
        "restored_inputs": sum(t.restored for t in turns),
        "not_stored": {k: unstored.count(k) for k in ("single", "first", "second")},
        "interviews_finished": sum(r.finished_interview for r in results),
        "errors": [f"{r.name}: {r.error}" for r in results if r.error],
        "wall_s": round(wall, 1),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_s_per_turn": round(cpu / n_turns, 3),
        "server_util_one_core_pct": round(100 * cpu / wall, 1),
        "server_util_machine_pct": round(100 * cpu / wall / (os.cpu_count() or 1), 1),
        "server_cpu_s_each": [round(c, 2) for c in per_server],
        "client_cpu_s": round(client_cpu, 2),
        "machine_busy_pct": round(100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]), 1),
        "cpu_event_loop_s": round(main, 2),
        "cpu_lasting_threads_s": round(lasting, 2),
        "cpu_script_threads_s": round(cpu - main - lasting, 2),
        "script_runs": int(runs[0]),
        "probes": probe,
        "per_candidate": [
            {
                "name": r.name,
                "session": r.session_id,
                "sent": r.sent,
                "stored": len(stored.get(r.session_id, [])),
                "fate": fate[r.name],
                "lost": fate[r.name].count("lost"),
            }
            for r in results
        ],
        "raw_turns": [asdict(t) for r in results for t in r.turns],
    }


def print_level(row: dict[str, Any]) -> None:
    """One load level as a short table, lost first."""
    print(
        f"\nN = {row['candidates']} on {row['servers']} server(s), {row['database']}: "
        f"{row['turns']} turns ({row['burst_turns']} bursts), {row['wall_s']} s"
    )
    flag = "OK" if row["lost"] == 0 else "<-- SUBMISSIONS LOST"
    print(
        f"  LOST {row['lost']}  {flag}   (sent {row['sent']}, stored {row['stored']}, "
        f"refused on screen {row['refused']}, of which given back in the input "
        f"{row['given_back']}; refusal notices drawn {row['refusal_notices_shown']})"
    )
    gone = row["not_stored"]
    print(
        f"  not stored: {gone['single']} single messages, {gone['first']} first and "
        f"{gone['second']} second messages of a burst"
    )
    print(f"  {'':26}{'p50':>8}{'p95':>8}{'max':>8}")
    for label, key in (("submit -> reply on screen", "reply"), ("submit -> run over", "turn")):
        print(
            f"  {label:26}{row[key + '_p50_s']:>8}{row[key + '_p95_s']:>8}{row[key + '_max_s']:>8}"
        )
    print(f"  burst (two messages) -> run over: p50 {row['burst_p50_s']} max {row['burst_max_s']}")
    print(
        f"  server CPU {row['server_cpu_s']} s = {row['server_cpu_s_per_turn']} s/turn; "
        f"{row['server_util_one_core_pct']} % of one core, "
        f"{row['server_util_machine_pct']} % of the machine; machine busy "
        f"{row['machine_busy_pct']} % (this client {row['client_cpu_s']} s CPU)"
    )
    if row["servers"] > 1:
        print(f"  server CPU each: {', '.join(f'{c} s' for c in row['server_cpu_s_each'])}")
    print(
        f"  CPU by thread: script runs {row['cpu_script_threads_s']} s, event loop "
        f"{row['cpu_event_loop_s']} s, lasting threads (ONNX pool...) "
        f"{row['cpu_lasting_threads_s']} s"
    )
    for name, (calls, wall, cpu) in sorted(row["probes"].items()):
        if calls:
            print(
                f"  {name:15} {int(calls):5} calls  wall {1000 * wall / calls:7.1f} ms  "
                f"CPU {1000 * cpu / calls:7.1f} ms  (a call)"
            )
    for error in row["errors"]:
        print(f"  error: {error}")


def run(
    candidates: str = "1,4,8",
    turns: int = 10,
    think: tuple[float, float] = (1.0, 3.0),
    burst_every: int = 5,
    seed: int = 7,
) -> dict[str, float]:
    """Start one server, run each load level in turn; the figures of the largest N."""
    args = argparse.Namespace(
        turns=turns,
        think=think,
        burst_every=burst_every,
        seed=seed,
        keep_data=False,
        servers=1,
        database="sqlite",
    )
    levels = run_levels([int(n) for n in candidates.split(",")], args)
    top = levels[-1]
    return {
        "candidates": top["candidates"],
        "turn_p50_s": top["turn_p50_s"],
        "turn_p95_s@8": top["turn_p95_s"],
        "lost@8": top["lost"],
        "server_cpu_s_per_turn": top["server_cpu_s_per_turn"],
    }


def team_stack() -> ModuleType:
    """scripts/team_stack.py as a module (it is a script, not part of the package)."""
    from interviewer.config import PROJECT_ROOT

    path = PROJECT_ROOT / "scripts" / "team_stack.py"
    spec = importlib.util.spec_from_file_location("team_stack", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def shared_services(data: Path, database: str) -> Iterator[dict[str, str]]:
    """The settings the servers share: none for SQLite (each has its data folder), or a
    PostgreSQL cluster and a Chroma server started in ``data``, stopped afterwards."""
    if database == "sqlite":
        yield {}
        return
    data.chmod(0o711)  # as root, PostgreSQL runs as 'postgres', which must reach the folder
    stack = team_stack()
    try:
        yield stack.up(data / "stack")
    finally:
        stack.down(data / "stack")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_levels(ns: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The servers' life: index, start, warm up, one level per N, stop."""
    if args.servers > 1 and args.database != "postgres":
        raise SystemExit("--servers > 1 needs --database postgres (one shared database)")
    data = Path(tempfile.mkdtemp(prefix="interviewer-load-"))
    levels = []
    procs: list[subprocess.Popen[bytes]] = []
    with shared_services(data, args.database) as shared:
        env = dict(os.environ, INTERVIEWER_DATA_DIR=str(data))
        for name in ("INTERVIEWER_MODEL", "INTERVIEWER_DATABASE_URL", "INTERVIEWER_CHROMA_URL"):
            env.pop(name, None)  # offline, and only the shared services below
        env |= shared
        # As `./run app` does: the index is built before the servers start.
        subprocess.run(
            [sys.executable, "-m", "interviewer", "corpus", "ingest", "--quiet"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ports = [free_port() for _ in range(args.servers)]
        probes = [data / f"probes-{i}.json" for i in range(args.servers)]
        try:
            for i, (port, probe) in enumerate(zip(ports, probes, strict=True)):
                server_env = env | {"INTERVIEWER_DATA_DIR": str(data / f"server-{i}")}
                if args.database == "sqlite":
                    server_env["INTERVIEWER_DATA_DIR"] = str(data)  # the index built above
                procs.append(start_server(port, server_env, probe))
            for port, proc in zip(ports, procs, strict=True):
                wait_for(
                    f"http://127.0.0.1:{port}/_stcore/health",
                    alive=lambda p=proc: p.poll() is None,
                )
            stored: Callable[[], dict[str, list[str]]] = (
                functools.partial(stored_turns_in, shared["INTERVIEWER_DATABASE_URL"])
                if shared
                else functools.partial(stored_turns, data / "sessions.db")
            )
            target = Target(ports, [p.pid for p in procs], probes, stored, args.database)
            # Warm up: the first page load builds each server's services (model, index, packs).
            for i in range(args.servers):
                warm = Candidate(target.url(i), f"warm{i}", random.Random(i))
                asyncio.run(warm.run(1, (0.0, 0.0), 0))
            for n in ns:
                row = run_level(n, target, args)
                print_level(row)
                levels.append(row)
        finally:
            for proc in procs:
                stop_server(proc)
            if args.keep_data:
                print(f"\ndata folder kept: {data}")
    if not args.keep_data:
        shutil.rmtree(data, ignore_errors=True)
    return levels


def main() -> None:
    """Command line: levels, turns, think time, bursts, JSON output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", default="1,4,8", help="load levels, e.g. 4,8")
    parser.add_argument("--turns", type=int, default=10, help="answers per candidate")
    parser.add_argument(
        "--think", default="1,3", help="think time before each answer, min,max seconds"
    )
    parser.add_argument(
        "--burst-every", type=int, default=5, help="every k-th turn is a double submit (0: none)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--servers", type=int, default=1, help="app servers; candidates are spread over them"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: PostgreSQL and a Chroma server shared by the servers (team_stack.py)",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the data folder (sessions.db) afterwards"
    )
    parser.add_argument(
        "--engine-reference",
        action="store_true",
        help="also time the same answers through the engine alone, in this process",
    )
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    lo, hi = (float(v) for v in args.think.split(","))
    args.think = (lo, hi)
    levels = run_levels([int(n) for n in args.candidates.split(",")], args)
    reference = {}
    if args.engine_reference:  # after the server stopped, so it does not compete
        reference = engine_reference(seed=args.seed)
        print("\nthe engine alone, same kind of answers, per turn:")
        for key, value in reference.items():
            print(f"  {key:24} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        options = {k: str(v) for k, v in vars(args).items()}
        args.json.write_text(
            json.dumps({"options": options, "levels": levels, "engine": reference}, indent=2)
        )


if __name__ == "__main__":
    main()
