"""Vectors of question texts already embedded, kept in SQLite in the cache folder.

Building an index embeds every question (seconds on a CPU, minutes for a large bank); with this
cache, a new data folder, `corpus ingest --rebuild` or an index rebuilt after damage embeds only
the texts it has never seen. Starting an interview embeds its questions' key points, reference
sentences and red flags for the scorer and the reply guards (about half a second a question);
through this cache (``CachedEmbeddings``), a question asked before on this machine costs
nothing. Only corpus and pack question texts pass through it, never a candidate's answer or
a model's reply. A vector is stored as float32 bytes under sha256(model key, text), so a
change of model or of text is simply a miss. Any problem with the file makes it a miss too:
the cache can speed things up, never break them.

Processes sharing a cache folder (two app servers starting together, `corpus ingest` beside a
server) embed a text once: whoever has texts to embed takes the folder's lock, looks again for
what another process stored meanwhile, and embeds only what is still missing. A process that
waits longer than its ``wait_s`` embeds on its own rather than hang.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from interviewer.sqlite_wal import use_wal

log = logging.getLogger(__name__)
FILE_NAME = "vectors.sqlite3"
LOCK_WAIT_S = 600.0  # longer than embedding a large bank on a slow CPU
CLICK_WAIT_S = 0.0  # a candidate's click never waits for another process: it embeds itself


def _key(model_key: str, text: str) -> str:
    return hashlib.sha256(f"{model_key}\0{text}".encode()).hexdigest()


class VectorCache:
    """A text -> vector store for one cache folder, shared by processes.

    ``wait_s``: how long to wait for another process embedding into the folder before
    embedding anyway (an index build waits long; a candidate's click not at all).
    """

    def __init__(self, folder: Path, wait_s: float = LOCK_WAIT_S) -> None:
        self.path = folder / FILE_NAME
        self.wait_s = wait_s

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success and is always closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            use_wal(conn)  # two builders may open a new file at once
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
            yield conn

    def embed(
        self, embeddings: Embeddings, model_key: str, texts: Sequence[str]
    ) -> list[list[float]]:
        """Vectors for `texts`: cached ones read back, the rest embedded and stored."""
        keys = [_key(model_key, t) for t in texts]
        try:
            with self._connect() as conn:
                found = self._read(conn, keys)
            if len(found) < len(set(keys)):
                with self._one_embedder():
                    self._embed_missing(embeddings, texts, keys, found)
        except sqlite3.Error as exc:
            log.warning("vector cache %s unusable (%s); embedding without it", self.path, exc)
            return embeddings.embed_documents(list(texts))
        return [found[k].astype(float).tolist() for k in keys]

    def _embed_missing(
        self,
        embeddings: Embeddings,
        texts: Sequence[str],
        keys: Sequence[str],
        found: dict[str, NDArray[np.float32]],
    ) -> None:
        """Embed and store what neither `found` nor the file (read again) holds; fills `found`."""
        with self._connect() as conn:
            found.update(self._read(conn, [k for k in keys if k not in found]))
            first: dict[str, int] = {}
            for i, k in enumerate(keys):
                if k not in found:
                    first.setdefault(k, i)
            missing = list(first.values())
            if not missing:
                return
            fresh = embeddings.embed_documents([texts[i] for i in missing])
            new = {
                keys[i]: np.asarray(v, dtype=np.float32)
                for i, v in zip(missing, fresh, strict=True)
            }
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(k, v.tobytes()) for k, v in new.items()],
            )
            found.update(new)

    @contextmanager
    def _one_embedder(self) -> Iterator[None]:
        """The folder's lock while embedding; none after ``wait_s`` or when the lock file
        cannot be made (logged), as the cache may slow nothing down but itself."""
        lock = FileLock(self.path.with_suffix(".lock"), timeout=self.wait_s)
        locked = False
        try:
            lock.acquire()
            locked = True
        except Timeout:
            if self.wait_s > 0:  # a long wait ran out: worth a line in the log
                log.warning(
                    "vector cache %s busy for %.0f s; embedding anyway", self.path, self.wait_s
                )
        except OSError as exc:
            log.warning("vector cache %s not locked (%s); embedding anyway", self.path, exc)
        try:
            yield
        finally:
            if locked:
                lock.release()

    @staticmethod
    def _read(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        found: dict[str, NDArray[np.float32]] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found


class CachedEmbeddings(Embeddings):
    """``inner`` with every document vector read from, or stored in, a ``VectorCache``.

    For the texts of questions only (key points, reference sentences, red flags, follow-ups),
    which the scorer and the reply guards embed when an interview starts: a question asked
    before on this machine starts without embedding. Never give it a candidate's answer.
    """

    def __init__(self, inner: Embeddings, cache: VectorCache, model_key: str) -> None:
        self.inner, self.cache, self.model_key = inner, cache, model_key

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.cache.embed(self.inner, self.model_key, texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
