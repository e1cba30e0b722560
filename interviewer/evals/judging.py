"""Score many answers: async with bounded concurrency for LLM judges, retries, and a cache.

An LLM judge is called through its ``ajudge`` coroutine, at most ``concurrency`` at a time,
each call retried with exponential backoff (tenacity) before the item is recorded as failed.
Every judgement is cached on disk under a key made of the scorer's configuration and the
item's content, so re-running a suite, or running it into another folder, costs nothing.
Offline scorers are CPU-bound and run in order, uncached (they are cheap and deterministic).
Progress is a bar on a terminal, and a few plain lines in a log (see ``progress_bar``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential
from tqdm import tqdm

from interviewer.domain import AnswerScore
from interviewer.errors import InterviewerError
from interviewer.scoring.base import Scorer, ScoringRequest


class NothingJudgedError(InterviewerError):
    """Every item's scoring failed: there is nothing to measure."""


def nothing_judged(what: str, count: int, first_error: str) -> NothingJudgedError:
    """The error for a run in which none of ``count`` items could be judged."""
    return NothingJudgedError(
        f"no item of {what} could be judged: all {count} failed after their retries (the first "
        f"error: {first_error}); check the model, endpoint and API key, then run again"
    )


@runtime_checkable
class AsyncJudge(Protocol):
    """A scorer with an async call that raises on failure (the LLM judge)."""

    name: str

    @property
    def cache_key(self) -> str:
        """Configuration that makes two judgements interchangeable."""
        ...

    def ajudge(self, request: ScoringRequest) -> Awaitable[AnswerScore]:
        """Judge one answer."""
        ...


def request_key(request: ScoringRequest) -> str:
    """A digest of everything about an item that a judge reads."""
    q = request.question
    payload = json.dumps(
        [
            q.question,
            q.reference_answer,
            [kp.model_dump(mode="json") for kp in q.key_points],
            q.red_flags,
            request.answer,
            request.level.value,
            request.rubric.model_dump(mode="json"),
            request.hints,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class ScoreCache:
    """Judgements on disk (SQLite), keyed by scorer configuration and item digest."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS judgements "
                "(scorer TEXT, item TEXT, score TEXT, PRIMARY KEY (scorer, item))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, scorer: str, item: str) -> AnswerScore | None:
        """The cached judgement, if any."""
        with self._lock, self._connect() as db:
            row = db.execute(
                "SELECT score FROM judgements WHERE scorer = ? AND item = ?", (scorer, item)
            ).fetchone()
        return AnswerScore.model_validate_json(row[0]) if row else None

    def put(self, scorer: str, item: str, score: AnswerScore) -> None:
        """Store a judgement."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO judgements VALUES (?, ?, ?)",
                (scorer, item, score.model_dump_json()),
            )


def _retryable(exc: BaseException) -> bool:
    """Everything but a bug in our own request is worth another try."""
    return not isinstance(exc, TypeError | KeyError | AttributeError)


async def _judge_all(
    requests: Sequence[ScoringRequest],
    judge: AsyncJudge,
    concurrency: int,
    cache: ScoreCache | None,
    attempts: int,
    wait_max: float,
    on_result: Callable[[int, AnswerScore | BaseException], None],
) -> None:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(i: int, request: ScoringRequest) -> None:
        key = request_key(request)
        cached = cache.get(judge.cache_key, key) if cache else None
        if cached is not None:
            on_result(i, cached)
            return
        try:
            async with gate:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(attempts),
                    wait=wait_exponential(multiplier=0.5, max=wait_max),
                    retry=retry_if_exception(_retryable),
                    reraise=True,
                ):
                    with attempt:
                        score = await judge.ajudge(request)
        except Exception as exc:  # recorded per item; the run goes on
            on_result(i, exc)
            return
        if cache:
            cache.put(judge.cache_key, key, score)
        on_result(i, score)

    await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    """One event loop for the process, in a daemon thread.

    HTTP clients cache async connections bound to the loop that opened them (langchain-openai
    shares one), so every batch of judgements runs on the same long-lived loop.
    """
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="judge-loop", daemon=True).start()
    return loop


class Bar(Protocol):
    """What ``score_all`` needs of a progress display."""

    def update(self, n: int = 1) -> object:
        """Count ``n`` more items done."""
        ...

    def close(self) -> None:
        """The run is over."""
        ...


class LineProgress:
    """Progress for a log, not a terminal: no carriage-return frames, only whole lines.

    A line each time the count passes another tenth of the total, but never within ``every``
    seconds of the previous line, and one line at the end: a short run writes one line, a long
    one at most eleven.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        stream: TextIO,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.desc, self.stream = total, desc, stream
        self.every, self.clock = every, clock
        self.done = 0
        self.start = self.last = clock()
        self.tenth = 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; write a line if another tenth is done and enough time has passed."""
        self.done += n
        tenth = self.done * 10 // max(1, self.total)
        now = self.clock()
        if self.tenth < tenth < 10 and now - self.last >= self.every:
            self.tenth, self.last = tenth, now
            self._line(f"{self.done}/{self.total} ({self.done / self.total:.0%})")

    def close(self) -> None:
        """The closing line: how many, in how long."""
        self._line(f"{self.done}/{self.total} done in {self.clock() - self.start:.1f} s")

    def _line(self, text: str) -> None:
        self.stream.write(f"{self.desc}: {text}\n")
        self.stream.flush()


def progress_bar(total: int, desc: str | None) -> Bar:
    """A tqdm bar on a terminal; plain lines (``LineProgress``) when stderr is not one.

    ``desc`` None: nothing at all.
    """
    stream = sys.stderr
    if desc is not None and not stream.isatty():
        return LineProgress(total, desc, stream)
    return tqdm(total=total, desc=desc, disable=desc is None, file=stream)


def score_all(
    requests: Sequence[ScoringRequest],
    scorer: Scorer,
    on_result: Callable[[int, AnswerScore | BaseException], None],
    concurrency: int = 4,
    cache: ScoreCache | None = None,
    attempts: int = 4,
    wait_max: float = 8.0,
    progress: str | None = None,
) -> None:
    """Score every request, calling ``on_result(index, score or error)`` as each finishes.

    Results arrive in completion order; ``progress`` names a progress bar (None: no bar), drawn
    on a terminal and written as a few plain lines to a log.
    """
    bar = progress_bar(len(requests), progress)

    def report(i: int, result: AnswerScore | BaseException) -> None:
        on_result(i, result)
        bar.update(1)

    try:
        if isinstance(scorer, AsyncJudge):
            job = _judge_all(requests, scorer, concurrency, cache, attempts, wait_max, report)
            asyncio.run_coroutine_threadsafe(job, _loop()).result()
        else:
            for i, request in enumerate(requests):
                report(i, scorer.score(request))
    finally:
        bar.close()
