"""The Chroma vector index of corpus questions, kept in step with the corpus incrementally.

Embedded (a persistent folder under the data directory) by default, or a Chroma server when
``INTERVIEWER_CHROMA_URL`` is set. Each item carries the hash of its content, so an ingest
embeds only new or changed items and deletes removed ones. All embedding happens before the
collection is touched: an ingest that fails while embedding leaves the index exactly as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.api.types import Embeddings as ChromaVectors
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function
from filelock import FileLock, Timeout
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from interviewer.domain import Level, Question
from interviewer.embeddings import embeddings_key, get_embeddings
from interviewer.errors import IndexUnavailableError
from interviewer.redact import redact_url
from interviewer.vector_cache import VectorCache

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from interviewer.config import Settings

log = logging.getLogger(__name__)

# Exact-search recall at corpus sizes (up to tens of thousands): a wide beam at build and query.
HNSW = {"space": "cosine", "ef_construction": 256, "ef_search": 512, "max_neighbors": 32}
EMBED_BATCH = 256


@register_embedding_function
class IndexEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of our embeddings, registered so a collection reopens without warnings.

    Chroma stores only the name and the model key; the model itself is resolved lazily from
    the settings, so reopening a collection never loads a model it does not need.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._embeddings: Embeddings | None = None

    def __call__(self, input: Documents) -> ChromaVectors:
        if self._embeddings is None:
            from interviewer.config import Settings

            settings = Settings()
            if embeddings_key(settings) != self.model:
                raise IndexUnavailableError(
                    f"This collection was built with '{self.model}' embeddings but the settings "
                    f"select '{embeddings_key(settings)}'."
                )
            self._embeddings = get_embeddings(settings)
        import numpy as np

        vectors = self._embeddings.embed_documents(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    @staticmethod
    def name() -> str:
        return "interviewer"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> IndexEmbeddingFunction:
        return IndexEmbeddingFunction(str(config["model"]))

    def default_space(self) -> Any:
        return "cosine"


@dataclass
class SyncReport:
    """What an ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """True when the ingest wrote anything."""
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged"
        )


INDEX_LOCK_TIMEOUT = 900.0


@contextmanager
def index_lock(settings: Settings, timeout: float = INDEX_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the data folder's index lock: one process at a time opens and updates it.

    `./run app` builds the index in one process while the server starts in another; a process
    that opened the embedded index while another was still writing it would keep a stale copy
    in memory, so whoever comes second waits, then finds the index current.

    With a Chroma server nothing is locked: app servers on other machines share no folder, and
    they need no lock, because a sync is idempotent. It writes by question id (upsert) with the
    content hash in the metadata and deletes by id, so two servers with the same corpus and
    packs that sync at once write the same items and converge on the same index (at worst both
    embed the same questions once); tests/test_deployment.py starts two servers at once against
    one new Chroma server and checks the result item by item. App servers with different
    corpora would undo each other's changes at each start: run one release on all of them.
    """
    if settings.chroma_url:
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(settings.data_dir / "index.lock", timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IndexUnavailableError(
            f"Another process has been building the index in {settings.index_dir} for "
            f"{timeout:.0f} s; stop it, or delete {lock.lock_file} if no such process exists."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def chroma_unreachable(url: str, reason: object) -> IndexUnavailableError:
    """The error for a Chroma server that does not answer: where it is and what to do."""
    detail = str(reason).strip().rstrip(".?!") or type(reason).__name__
    return IndexUnavailableError(
        f"The question index server (Chroma) at {redact_url(url)} cannot be reached ({detail}). "
        "Start it (`chroma run --path FOLDER --port PORT`, or `scripts/team_stack.py start` "
        "for a team's stack), then reload the page or run the command again; stored "
        "interviews are not affected. A single app server can use an embedded index instead: "
        "unset INTERVIEWER_CHROMA_URL."
    )


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma client: embedded in the data directory, or the configured server."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise IndexUnavailableError(
                f"INTERVIEWER_CHROMA_URL '{redact_url(settings.chroma_url)}' is not an http(s) URL."
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise chroma_unreachable(settings.chroma_url, exc) from exc
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:
        raise IndexUnavailableError(
            f"Cannot open the index in {settings.index_dir}: {exc}. Run "
            "`interviewer corpus ingest --rebuild` to build it again."
        ) from exc


def _metadata(q: Question) -> dict[str, str | bool]:
    meta: dict[str, str | bool] = {
        "qid": q.id,
        "content_hash": q.content_hash(),
        "role": q.role,
        "category": q.category.value,
        "topic": q.topic,
        "tags": ",".join(q.tags),
    }
    for level in Level:
        meta[f"level_{level.value}"] = level in q.levels
    return meta


class QuestionIndex:
    """One Chroma collection of questions, for one embedding model."""

    def __init__(
        self,
        client: ClientAPI,
        embeddings: Embeddings,
        model_key: str,
        base_name: str = "questions",
        vector_cache: VectorCache | None = None,
    ) -> None:
        self.client = client
        self.embeddings = embeddings
        self.model_key = model_key
        self.vector_cache = vector_cache
        self.server_url: str | None = None  # the Chroma server's URL, when it is one
        self.name = f"{base_name}-{model_key}"
        try:
            self.collection = client.get_or_create_collection(
                self.name,
                configuration=cast(
                    Any, {"hnsw": HNSW, "embedding_function": IndexEmbeddingFunction(model_key)}
                ),
                embedding_function=cast(Any, IndexEmbeddingFunction(model_key)),
            )
        except Exception as exc:
            raise IndexUnavailableError(
                f"Cannot open the index collection '{self.name}': {exc}"
            ) from exc
        self.store = Chroma(
            client=client,
            collection_name=self.name,
            embedding_function=embeddings,
            create_collection_if_not_exists=False,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, embeddings: Embeddings | None = None
    ) -> QuestionIndex:
        """Open (creating if needed) the collection the settings describe."""
        index = cls(
            open_client(settings),
            embeddings or get_embeddings(settings),
            embeddings_key(settings),
            settings.collection,
            VectorCache(settings.cache_dir),
        )
        index.server_url = settings.chroma_url
        return index

    def answers(self) -> bool:
        """Whether the Chroma client gets an answer (its heartbeat) right now."""
        try:
            self.client.heartbeat()
        except Exception:
            return False
        return True

    def count(self) -> int:
        """Number of indexed questions."""
        return int(self.collection.count())

    def hashes(self) -> dict[str, str]:
        """Content hash of every indexed question, by id."""
        got = self.collection.get(include=cast(Any, ["metadatas"]))
        metas = got.get("metadatas") or []
        return {
            i: str((m or {}).get("content_hash", ""))
            for i, m in zip(got["ids"], metas, strict=True)
        }

    def plan(self, questions: Sequence[Question]) -> tuple[list[Question], list[str], SyncReport]:
        """What a sync would do: (items to embed, ids to delete, report)."""
        have = self.hashes()
        report = SyncReport()
        todo = []
        for q in questions:
            old = have.get(q.id)
            if old == q.content_hash():
                report.unchanged += 1
                continue
            (report.updated if old is not None else report.added).append(q.id)
            todo.append(q)
        wanted = {q.id for q in questions}
        report.removed = sorted(i for i in have if i not in wanted)
        return todo, report.removed, report

    def _embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for question texts, through the vector cache when there is one."""
        if self.vector_cache is None:
            return self.embeddings.embed_documents(texts)
        return self.vector_cache.embed(self.embeddings, self.model_key, texts)

    def is_stale(self, questions: Sequence[Question]) -> bool:
        """True when the index differs from the corpus."""
        return self.plan(questions)[2].changed

    def sync(
        self, questions: Sequence[Question], progress: Callable[[int, int], None] | None = None
    ) -> SyncReport:
        """Bring the collection in step with ``questions``: embed new and changed, drop removed."""
        todo, removed, report = self.plan(questions)
        started = time.perf_counter()
        vectors: list[list[float]] = []
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            vectors.extend(self._embed([q.search_text() for q in batch]))
            if progress is not None:
                progress(len(vectors), len(todo))
        # Everything is embedded: only now is the collection written.
        written = time.perf_counter()
        report.embed_seconds = written - started
        limit = max(1, int(self.client.get_max_batch_size()))
        for start in range(0, len(todo), limit):
            batch = todo[start : start + limit]
            self.collection.upsert(
                ids=[q.id for q in batch],
                embeddings=cast(Any, vectors[start : start + limit]),
                documents=[q.question for q in batch],
                metadatas=cast(Any, [_metadata(q) for q in batch]),
            )
        for start in range(0, len(removed), limit):
            self.collection.delete(ids=removed[start : start + limit])
        report.write_seconds = time.perf_counter() - written
        if report.changed:
            log.info("index %s: %s", self.name, report.summary())
        return report

    def drop(self) -> None:
        """Delete the collection (a rebuild starts from nothing)."""
        self.client.delete_collection(self.name)
