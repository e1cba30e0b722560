"""The packaged MiniLM model, loaded from site-packages with no network."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from interviewer.config import Settings
from interviewer.embeddings import MiniLMEmbeddings, embeddings_key, get_embeddings
from interviewer.errors import EmbeddingsError

if TYPE_CHECKING:
    from embedding_memo import EmbeddingMemo


@pytest.fixture(autouse=True)
def real_encode(embedding_memo: EmbeddingMemo) -> Iterator[None]:
    """These tests are about the model itself: no vector is read back from the run's memo."""
    with embedding_memo.bypassed():
        yield


def test_vectors_are_unit_length_and_meaningful(embeddings: MiniLMEmbeddings) -> None:
    a, b, c = embeddings.embed_documents(
        [
            "How do database indexes speed up queries?",
            "Why does adding an index make a SQL lookup faster?",
            "Tell me about a time you disagreed with your manager.",
        ]
    )
    assert len(a) == 384
    assert math.isclose(float(np.linalg.norm(a)), 1.0, rel_tol=1e-4)
    assert float(np.dot(a, b)) > float(np.dot(a, c)) + 0.3
    assert embeddings.embed_documents([]) == []


def test_model_loads_once_per_process_and_offline(embeddings: MiniLMEmbeddings) -> None:
    assert MiniLMEmbeddings(embeddings.cache_dir).model is embeddings.model
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert embeddings.embed_query("ping") == embeddings.embed_documents(["ping"])[0]


def test_onnx_runtime_gives_the_same_vectors_as_pytorch(embeddings: MiniLMEmbeddings) -> None:
    from sentence_transformers import SentenceTransformer

    from interviewer.embeddings import packaged_model_dir

    assert embeddings.backend == "onnx"
    assert (embeddings.cache_dir / "all-minilm-l6-v2-onnx" / "onnx" / "model.onnx").is_file()
    texts = ["Explain optimistic locking.", "Tell me about a failure you owned."]
    reference = SentenceTransformer(str(packaged_model_dir()), device="cpu")
    expected = reference.encode(texts, normalize_embeddings=True)
    got = np.asarray(embeddings.embed_documents(texts))
    assert np.min(np.sum(expected * got, axis=1)) > 0.9999


def test_openai_embeddings_need_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = Settings(embeddings="openai")
    assert embeddings_key(settings) == "openai-text-embedding-3-small"
    with pytest.raises(EmbeddingsError, match="INTERVIEWER_API_KEY"):
        get_embeddings(settings)


def test_openai_embeddings_are_selectable() -> None:
    from langchain_openai import OpenAIEmbeddings

    chosen = get_embeddings(
        Settings(embeddings="openai", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    )
    assert isinstance(chosen, OpenAIEmbeddings)
    assert chosen.check_embedding_ctx_length is False


def test_embedding_imports_neither_pytorch_nor_transformers(embeddings: MiniLMEmbeddings) -> None:
    """Once exported, the ONNX model runs on its own: every app server and command that embeds
    is spared the four-second PyTorch import."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from interviewer.embeddings import MiniLMEmbeddings\n"
        f"e = MiniLMEmbeddings(Path({str(embeddings.cache_dir)!r}))\n"
        "assert len(e.embed_query('ping')) == 384 and e.backend == 'onnx'\n"
        "print(sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)))\n"
    )
    embeddings.embed_query("ping")  # the export exists
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_failed_export_falls_back_to_pytorch_with_the_same_vectors(
    embeddings: MiniLMEmbeddings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import interviewer.embeddings as module

    def broken(source: Path, target: Path) -> None:
        raise RuntimeError("no space left on device")

    monkeypatch.setattr(module, "_export_onnx", broken)
    fallback = MiniLMEmbeddings(tmp_path / "fresh-cache")
    texts = ["Explain optimistic locking.", "Tell me about a failure you owned."]
    got = np.asarray(fallback.embed_documents(texts))
    assert fallback.backend == "torch"
    assert "embedding with PyTorch instead" in caplog.text
    assert "no space left on device" in caplog.text
    expected = np.asarray(embeddings.embed_documents(texts))
    assert np.min(np.sum(expected * got, axis=1)) > 0.9999


def test_batched_vectors_keep_their_order_and_match_one_by_one(
    embeddings: MiniLMEmbeddings,
) -> None:
    """Texts are batched longest first and padded within a batch: neither may change a vector
    or its place."""
    texts = [f"Question {i}: " + "why do indexes speed up reads? " * (i % 7) for i in range(70)]
    together = np.asarray(embeddings.embed_documents(texts))
    alone = np.asarray([embeddings.embed_query(t) for t in texts[::9]])
    assert together.shape == (70, 384)
    assert np.min(np.sum(together[::9] * alone, axis=1)) > 0.99999
    assert np.max(np.sum(together[::9] * alone[::-1], axis=1)) < 0.99999  # order matters


def test_the_runs_memo_reads_back_the_models_own_vectors(
    embeddings: MiniLMEmbeddings, tmp_path: Path
) -> None:
    """The suite's embedding memo (tests/embedding_memo.py) must not change a vector: a text
    is embedded once, in one process or another, and read back the same."""
    from embedding_memo import EmbeddingMemo

    from interviewer.minilm_onnx import OnnxMiniLM

    model = embeddings.model
    assert isinstance(model, OnnxMiniLM)
    calls: list[list[str]] = []

    def counted(m: OnnxMiniLM, texts: list[str], batch_size: int = 32) -> np.ndarray:
        calls.append(list(texts))
        return OnnxMiniLM.encode(m, texts, batch_size)

    texts = [
        "Explain optimistic locking.",
        "Tell me about a failure you owned.",
        "Explain optimistic locking.",
    ]
    first = EmbeddingMemo(tmp_path).encode(counted)
    got = first(model, texts)
    assert calls == [texts[:2]]  # each distinct text once
    assert np.allclose(got, OnnxMiniLM.encode(model, texts), atol=1e-6)
    other_worker = EmbeddingMemo(tmp_path).encode(counted)  # a second process, same run
    assert np.array_equal(other_worker(model, texts[::-1]), got[::-1])
    assert len(calls) == 1 and first(model, []).shape == (0, 384)


def test_the_kept_memo_is_per_model_and_pruned_when_big_or_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo kept between runs answers only for the exact model, tokenizer and code that
    made its vectors; a change to any is a new memo, and old or oversized ones are removed."""
    import embedding_memo as memo
    from embedding_memo import memo_folder, prune_memos

    from interviewer.embeddings import onnx_export_dir

    run, cache, user = tmp_path / "run", tmp_path / "cache", tmp_path / "user"
    assert memo_folder(run, cache, user) == run / "embedding-memo"  # nothing exported yet
    export = onnx_export_dir(cache)
    (export / "onnx").mkdir(parents=True)
    (export / "onnx" / "model.onnx").write_bytes(b"weights")
    (export / "tokenizer.json").write_text("{}")
    kept = memo_folder(run, cache, user)
    assert kept.parent == user / "test-embedding-memo" and (kept / "last-used").is_file()
    assert memo_folder(run, cache, user) == kept  # the next run finds it
    (export / "tokenizer.json").write_text('{"lowercase": false}')
    retokenized = memo_folder(run, cache, user)
    (export / "onnx" / "model.onnx").write_bytes(b"other weights")
    reexported = memo_folder(run, cache, user)
    assert len({kept, retokenized, reexported}) == 3
    monkeypatch.setenv(memo.MEMO_ENV, "run")
    assert memo_folder(run, cache, user) == run / "embedding-memo"

    (retokenized / "vectors.sqlite3").write_bytes(b"\0" * 64)
    monkeypatch.setattr(memo, "MAX_MEMO_BYTES", 32)
    now = (reexported / "last-used").stat().st_mtime
    old = now - memo.STALE_AFTER_S - 60
    os.utime(kept / "last-used", (old, old))
    assert sorted(prune_memos(user, now=now)) == sorted([kept, retokenized])
    assert reexported.is_dir() and not kept.exists() and not retokenized.exists()
    assert prune_memos(tmp_path / "no-cache-yet") == []
    monkeypatch.delenv(memo.MEMO_ENV)
    not_a_folder = tmp_path / "home-cache-is-a-file"
    not_a_folder.write_text("")
    assert memo_folder(run, cache, not_a_folder) == run / "embedding-memo"  # cannot be made
    assert prune_memos(not_a_folder) == []
