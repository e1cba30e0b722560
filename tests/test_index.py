"""The Chroma index: incremental ingest, atomic failure, reopening, exact recall, server mode."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from langchain_core.embeddings import Embeddings
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import Settings
from interviewer.corpus import load_corpus
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.errors import IndexUnavailableError
from interviewer.index import QuestionIndex
from interviewer.services import Services
from interviewer.web.local import free_port, wait_for


class CountingEmbeddings(Embeddings):
    """Real embeddings that count what they embed and can fail on demand."""

    def __init__(self, inner: MiniLMEmbeddings, fail_after: int | None = None) -> None:
        self.inner = inner
        self.embedded: list[str] = []
        self.fail_after = fail_after

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.fail_after is not None and len(self.embedded) + len(texts) > self.fail_after:
            raise RuntimeError("embedding service died half-way")
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _edit(corpus_root: Path, topic: str, change: object) -> str:
    path = next(corpus_root.glob(f"*/{topic}.yaml"))
    data = yaml.safe_load(path.read_text())
    qid: str = data["questions"][0]["id"]
    if change == "delete":
        data["questions"].pop(0)
    else:
        data["questions"][0]["question"] = str(change)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return qid


def test_ingest_is_incremental(
    settings: Settings, corpus_copy: Path, embeddings: MiniLMEmbeddings
) -> None:
    settings = settings.model_copy(update={"corpus_dir": corpus_copy})
    counting = CountingEmbeddings(embeddings)
    index = QuestionIndex.from_settings(settings, counting)
    questions = load_corpus(corpus_copy).questions
    first = index.sync(questions)
    assert len(first.added) == len(questions) == index.count()

    counting.embedded.clear()
    again = index.sync(questions)
    assert not again.changed and again.unchanged == len(questions)
    assert counting.embedded == []

    edited = _edit(corpus_copy, "caching", "Where would you put a cache in front of a slow API?")
    removed = _edit(corpus_copy, "messaging", "delete")
    questions = load_corpus(corpus_copy).questions
    report = index.sync(questions)
    assert report.updated == [edited]
    assert report.removed == [removed]
    assert len(counting.embedded) == 1
    assert index.count() == len(questions)
    assert not index.is_stale(questions)


def test_failed_ingest_leaves_previous_index_usable(
    settings: Settings, corpus_copy: Path, embeddings: MiniLMEmbeddings
) -> None:
    settings = settings.model_copy(update={"corpus_dir": corpus_copy})
    index = QuestionIndex.from_settings(settings, embeddings)
    before_questions = load_corpus(corpus_copy).questions
    index.sync(before_questions)
    before = index.hashes()

    for topic in ("caching", "databases", "security"):
        _edit(corpus_copy, topic, f"A reworded {topic} question that changes the content hash?")
    _edit(corpus_copy, "messaging", "delete")
    failing = CountingEmbeddings(embeddings, fail_after=1)
    broken = QuestionIndex.from_settings(settings, failing)
    with pytest.raises(RuntimeError, match="half-way"):
        broken.sync(load_corpus(corpus_copy).questions)

    assert index.hashes() == before
    from interviewer.retrieval import Retriever

    found = Retriever(index, {q.id: q for q in before_questions}).search("cache invalidation", 3)
    assert found, "the previous index must still answer searches"


def test_collection_uses_cosine_and_wide_hnsw(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    index = QuestionIndex.from_settings(settings, embeddings)
    hnsw = index.collection.configuration["hnsw"]
    assert hnsw["space"] == "cosine"
    assert hnsw["ef_search"] >= 200


def test_search_recall_matches_exact_search(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    index = QuestionIndex.from_settings(settings, embeddings)
    questions = load_corpus(settings.corpus_dir).questions
    index.sync(questions)
    got = index.collection.get(include=["embeddings"])
    ids, matrix = got["ids"], np.asarray(got["embeddings"])
    queries = [q.question for q in questions[::4]] + ["retry storms", "hiring a mentor", "tls"]
    k = 10
    for vector in embeddings.embed_documents(queries):
        exact = [ids[i] for i in np.argsort(-(matrix @ np.asarray(vector)))[:k]]
        approx = index.collection.query(query_embeddings=[vector], n_results=k)["ids"][0]
        assert set(approx) == set(exact)


def test_reopens_in_a_fresh_process_without_warnings(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    Services.start(settings, embeddings)  # the corpus and the packs' own questions
    script = textwrap.dedent(f"""
        import json, warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            from interviewer.config import Settings
            from interviewer.services import Services
            s = Services.start(Settings(data_dir={str(settings.data_dir)!r}))
            hits = s.retriever.search("optimistic locking", 3)
        print(json.dumps({{"notices": s.notices, "hits": len(hits),
                          "warnings": [str(w.message) for w in caught]}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"notices": [], "hits": 3, "warnings": []}
    assert "Warning" not in done.stderr


def test_services_build_a_missing_index_and_refresh_a_stale_one(
    settings: Settings, corpus_copy: Path, embeddings: MiniLMEmbeddings
) -> None:
    settings = settings.model_copy(update={"corpus_dir": corpus_copy})
    first = Services.start(settings, embeddings)
    assert first.sync_report.added and "refreshed" in first.notices[0]
    _edit(corpus_copy, "apis", "How would you design pagination for a public API?")
    second = Services.start(settings, embeddings)
    assert len(second.sync_report.updated) == 1
    third = Services.start(settings, embeddings)
    assert third.notices == []


def test_damaged_index_is_moved_aside_and_rebuilt(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    services = Services.start(settings, embeddings)
    assert any("moved to" in n for n in services.notices)
    assert services.index.count() == len(services.corpus.questions)
    assert list(settings.data_dir.glob("index.broken-*"))


def test_invalid_corpus_never_touches_the_index(
    settings: Settings, corpus_copy: Path, embeddings: MiniLMEmbeddings
) -> None:
    settings = settings.model_copy(update={"corpus_dir": corpus_copy})
    index = Services.start(settings, embeddings).index
    before = index.hashes()
    (corpus_copy / "backend-developer" / "caching.yaml").write_text("questions: [oops\n")
    result = CliRunner().invoke(app, ["corpus", "ingest", "--corpus", str(corpus_copy)])
    assert result.exit_code != 0
    assert index.hashes() == before


def test_unreachable_chroma_server_is_a_clear_error(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    port = free_port()
    bad = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(IndexUnavailableError, match=f"127.0.0.1:{port}"):
        QuestionIndex.from_settings(bad, embeddings)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real Chroma server on loopback, started from the installed package."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/api/v2/heartbeat", timeout=30, alive=lambda: proc.poll() is None)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_chroma_server_mode(
    settings: Settings, embeddings: MiniLMEmbeddings, chroma_server: str
) -> None:
    remote = settings.model_copy(update={"chroma_url": chroma_server})
    services = Services.start(remote, embeddings)
    assert services.index.count() == len(services.corpus.questions)
    assert not settings.index_dir.exists(), "server mode must not create an embedded index"
    hits = services.retriever.search("consumer groups and partitions", 3)
    assert any(q.topic == "messaging" for q in hits)


def test_the_app_waits_for_an_ingest_in_progress_then_finds_the_index_current(
    settings: Settings, embeddings: MiniLMEmbeddings
) -> None:
    """`./run app` builds the index while the server starts: the second process waits."""
    import threading

    from interviewer.index import index_lock

    started: list[Services] = []
    with index_lock(settings):  # the ingest process, mid-build
        builder = QuestionIndex.from_settings(settings, embeddings)
        waiter = threading.Thread(
            target=lambda: started.append(Services.start(settings, embeddings))
        )
        waiter.start()
        builder.sync(load_corpus(settings.corpus_dir).questions)
        waiter.join(timeout=1.0)
        assert waiter.is_alive(), "the app must not open the index while it is being written"
    waiter.join(timeout=120)
    (services,) = started
    assert not services.sync_report.updated and not services.sync_report.removed
    assert services.index.count() >= builder.count() > 0


def test_a_lock_held_too_long_is_a_clear_error(settings: Settings) -> None:
    import threading

    from interviewer.index import index_lock

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with index_lock(settings):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with (
            pytest.raises(
                IndexUnavailableError, match=r"Another process has been building the index"
            ),
            index_lock(settings, timeout=0.3),
        ):
            pass
    finally:
        release.set()
        holder.join()
