"""Each distinct text is embedded once per test run, whichever test or worker asks first.

Many tests score the same reference answers, key points and dataset answers again (a profile
of the suite: 22,000 texts embedded, 6,100 of them distinct, about half the run's time). The
memo sits under the model's own ``encode``: every test still runs the real scorer, guards and
index on real MiniLM vectors, but a text already embedded in this run is read back instead.
In one process it is a dict; between pytest-xdist workers it is a ``VectorCache`` file in the
run's shared temporary folder, whose own lock lets one worker embed at a time, so two workers
that need the same texts at once (every worker's first test indexes the shipped corpus) embed
them once: the second waits, then reads them. The model runs on every core either way.
Processes the tests start (app servers, commands) embed as usual.

The memo outlives the run, in the user's cache folder, under a fingerprint of everything that
makes a vector: the exported model file, its tokenizer, the code that runs them
(``interviewer/minilm_onnx.py``) and the versions of ONNX Runtime and tokenizers. A change to
any of them is a new, empty memo, so a vector read back is always the one the model in use
gives. ``INTERVIEWER_TEST_MEMO=run`` keeps it to the run (as on a machine's first run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from interviewer.embeddings import MINILM_KEY, is_exported, onnx_export_dir
from interviewer.minilm_onnx import OnnxMiniLM
from interviewer.vector_cache import VectorCache

Encode = Callable[..., NDArray[np.float32]]
MEMO_KEY = f"test-memo:{MINILM_KEY}"
MEMO_ENV = "INTERVIEWER_TEST_MEMO"
MAX_MEMO_BYTES = 200 * 2**20
"""A memo grown past this (texts no test asks for again pile up) is dropped and starts over."""
STALE_AFTER_S = 30 * 86400
"""A memo no run has used for this long (an older model or code) is removed."""


def fingerprint(export: Path) -> str:
    """A digest of what decides a vector: model file, tokenizer, code, runtime versions."""
    import interviewer.minilm_onnx as code

    digest = hashlib.sha256(MINILM_KEY.encode())
    for path in (export / "onnx" / "model.onnx", export / "tokenizer.json", Path(code.__file__)):
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    for package in ("onnxruntime", "tokenizers", "numpy"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:16]


def memo_folder(run_folder: Path, model_cache: Path, user_cache: Path) -> Path:
    """The kept memo for the model in ``model_cache``, else (no export yet, or
    ``INTERVIEWER_TEST_MEMO=run``) one in the run's own folder."""
    export = onnx_export_dir(model_cache)
    if os.environ.get(MEMO_ENV, "").strip().lower() == "run" or not is_exported(export):
        return run_folder / "embedding-memo"
    folder = user_cache / "test-embedding-memo" / fingerprint(export)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last-used").touch()  # what prune_memos reads: a run may only read the memo
    except OSError:  # a read-only home: the run keeps its own memo
        return run_folder / "embedding-memo"
    return folder


def prune_memos(user_cache: Path, now: float | None = None) -> list[Path]:
    """Remove kept memos grown past ``MAX_MEMO_BYTES`` or unused for ``STALE_AFTER_S``.

    Called once before the workers start, so no memo is removed while a test reads it.
    """
    now = time.time() if now is None else now
    removed = []
    root = user_cache / "test-embedding-memo"
    try:
        folders = sorted(root.glob("*")) if root.is_dir() else []
        for folder in folders:
            files = [f for f in folder.iterdir() if f.is_file()]
            size = sum(f.stat().st_size for f in files)
            used = max((f.stat().st_mtime for f in files), default=0.0)
            if size > MAX_MEMO_BYTES or now - used > STALE_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    except OSError:  # pruning is housekeeping: it never stops a run
        pass
    return removed


class _Direct(Embeddings):
    """The model's own encode as LangChain ``Embeddings``, for ``VectorCache.embed``."""

    def __init__(self, model: OnnxMiniLM, encode: Encode) -> None:
        self.model, self.encode = model, encode

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(self.model, texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class EmbeddingMemo:
    """A text -> vector memo in front of ``OnnxMiniLM.encode``."""

    def __init__(self, folder: Path) -> None:
        self.shared = VectorCache(folder)
        self.vectors: dict[str, NDArray[np.float32]] = {}
        self.lock = threading.Lock()
        self.enabled = True

    def encode(self, real: Encode) -> Encode:
        """``real`` with the memo in front of it."""

        def encode(
            model: OnnxMiniLM, texts: Sequence[str], batch_size: int = 32
        ) -> NDArray[np.float32]:
            if not self.enabled:
                return real(model, texts, batch_size)
            with self.lock:
                missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
            if missing:
                rows = self.shared.embed(_Direct(model, real), MEMO_KEY, missing)
                with self.lock:
                    self.vectors.update(
                        (t, np.asarray(v, dtype=np.float32))
                        for t, v in zip(missing, rows, strict=True)
                    )
            with self.lock:
                found = [self.vectors[t] for t in texts]
            return np.vstack(found) if found else np.zeros((0, 384), dtype=np.float32)

        return encode

    @contextmanager
    def bypassed(self) -> Iterator[None]:
        """The model's own encode, for the tests of the embeddings themselves."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True
