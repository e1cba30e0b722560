"""The vector cache: a rebuilt index reuses the vectors of texts it has already embedded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from test_index import CountingEmbeddings

from interviewer.config import Settings
from interviewer.corpus import load_corpus
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.index import QuestionIndex
from interviewer.vector_cache import VectorCache


def test_a_rebuild_in_a_new_data_folder_embeds_nothing_and_gets_the_same_vectors(
    settings: Settings, tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    questions = load_corpus(settings.corpus_dir).questions[:40]
    cold = settings.model_copy(update={"cache_dir": tmp_path / "cold-cache"})
    first = CountingEmbeddings(embeddings)
    built = QuestionIndex.from_settings(cold, first)
    built.sync(questions)
    assert len(first.embedded) == len(questions)

    second = CountingEmbeddings(embeddings)
    elsewhere = cold.model_copy(update={"data_dir": tmp_path / "another-data-folder"})
    rebuilt = QuestionIndex.from_settings(elsewhere, second)
    assert rebuilt.count() == 0
    rebuilt.sync(questions)
    assert second.embedded == []
    assert rebuilt.count() == len(questions)
    ids = [q.id for q in questions]
    old = built.collection.get(ids=ids, include=["embeddings"])
    new = rebuilt.collection.get(ids=ids, include=["embeddings"])
    by_id = dict(zip(old["ids"], old["embeddings"], strict=True))
    for qid, vector in zip(new["ids"], new["embeddings"], strict=True):
        assert np.array_equal(np.asarray(vector), np.asarray(by_id[qid]))


def test_another_model_or_text_is_a_miss(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    cache = VectorCache(tmp_path)
    counting = CountingEmbeddings(embeddings)
    cache.embed(counting, "model-a", ["What is a deadlock?"])
    cache.embed(counting, "model-a", ["What is a deadlock?"])
    assert counting.embedded == ["What is a deadlock?"]
    cache.embed(counting, "model-b", ["What is a deadlock?"])
    cache.embed(counting, "model-a", ["What is a livelock?"])
    assert len(counting.embedded) == 3


def test_cached_vectors_equal_fresh_ones_in_order(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    texts = ["Explain idempotency.", "Design a rate limiter.", "What is a B-tree?"]
    cache = VectorCache(tmp_path)
    cache.embed(embeddings, "m", texts[1:2])  # one cached, two fresh, order kept
    got = cache.embed(embeddings, "m", texts)
    fresh = embeddings.embed_documents(texts)
    np.testing.assert_allclose(np.asarray(got), np.asarray(fresh), atol=1e-6)


def test_a_damaged_cache_file_only_costs_the_embedding(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    cache = VectorCache(tmp_path)
    cache.path.write_bytes(b"not a database at all" * 50)
    counting = CountingEmbeddings(embeddings)
    got = cache.embed(counting, "m", ["What is a deadlock?"])
    assert counting.embedded == ["What is a deadlock?"]
    assert len(got[0]) == 384


class _SlowCounting(Embeddings):
    """Stand-in vectors that take a while and are counted: the test is about who embeds."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        time.sleep(0.3)
        self.embedded.extend(texts)
        return [[float(len(t)), float(sum(map(ord, t)) % 97)] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_two_builders_sharing_a_cache_folder_embed_each_text_once(tmp_path: Path) -> None:
    """Two app servers starting together on one cache folder: the second waits for the first's
    vectors instead of embedding the same texts beside it."""
    texts = [f"Question {n}: what does an index cost a write?" for n in range(20)]
    workers = [_SlowCounting(), _SlowCounting()]
    start = threading.Barrier(2)
    got: list[list[list[float]]] = [[], []]

    def build(n: int) -> None:
        start.wait()
        got[n] = VectorCache(tmp_path).embed(workers[n], "m", texts[n * 5 :] + texts[: n * 5])

    threads = [threading.Thread(target=build, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(workers[0].embedded + workers[1].embedded) == sorted(texts)
    assert got[1] == got[0][5:] + got[0][:5]  # each in its own order


def test_duplicate_texts_are_embedded_once(tmp_path: Path) -> None:
    counting = _SlowCounting()
    vectors = VectorCache(tmp_path).embed(counting, "m", ["a?", "b?", "a?"])
    assert counting.embedded == ["a?", "b?"]
    assert vectors[0] == vectors[2] != vectors[1]


def test_a_question_asked_before_on_this_machine_is_not_embedded_again_and_answers_never_kept(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    """Two processes' services on one cache folder (another data folder each): the second's
    scorer and guards read the question's vectors; the answer is embedded, never stored."""
    from factories import shipped_settings

    from interviewer.domain import Level
    from interviewer.embeddings import MINILM_KEY
    from interviewer.scoring.base import ScoringRequest
    from interviewer.scoring.text import sentences
    from interviewer.services import Services

    cache = tmp_path / "cache"
    answer = "I would lock the row with SELECT FOR UPDATE before reading the balance."
    seen: list[list[str]] = []
    for n in range(2):
        counting = CountingEmbeddings(embeddings)
        services = Services.start(shipped_settings(tmp_path / f"data-{n}", cache), counting)
        pack = services.pack("backend-developer")
        q = services.corpus.by_id()["db-isolation-lost-update"]
        counting.embedded.clear()  # what the index build embedded is not the question here
        services.offline_scorer(pack).score(
            ScoringRequest(q, answer, Level.MID, pack.rubric(q.category))
        )
        services.guard_for(pack).leak_check("Tell me more about the rows you lock.", [q])
        seen.append(list(counting.embedded))
    question_texts = {kp.text for kp in q.key_points} | set(sentences(q.reference_answer))
    assert question_texts <= set(seen[0])  # embedded the first time
    assert not question_texts & set(seen[1])
    assert answer in seen[1]  # every answer is embedded afresh ...
    late = CountingEmbeddings(embeddings)
    VectorCache(cache).embed(late, MINILM_KEY, [answer, *question_texts])
    assert late.embedded == [answer]  # ... and never kept on disk


def test_a_click_does_not_wait_for_another_process_embedding_into_the_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While another process holds the folder's lock (a long `corpus ingest`, say), the
    interview's question vectors are embedded at once, and still kept for the next time."""
    from filelock import FileLock

    from interviewer.vector_cache import CLICK_WAIT_S

    texts = ["What does a covering index save?", "When would you not add an index?"]
    other = FileLock(VectorCache(tmp_path).path.with_suffix(".lock"))
    with other:  # held for the whole call: a waiting cache would never return
        clicked = _SlowCounting()
        got = VectorCache(tmp_path, wait_s=CLICK_WAIT_S).embed(clicked, "m", texts)
    assert clicked.embedded == texts
    assert not [r for r in caplog.records if "busy" in r.getMessage()]  # no wait ran out
    later = _SlowCounting()
    assert VectorCache(tmp_path).embed(later, "m", texts) == got and later.embedded == []
