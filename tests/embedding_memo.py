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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from interviewer.embeddings import MINILM_KEY
from interviewer.minilm_onnx import OnnxMiniLM
from interviewer.vector_cache import VectorCache

Encode = Callable[..., NDArray[np.float32]]
MEMO_KEY = f"test-memo:{MINILM_KEY}"


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
