"""all-MiniLM-L6-v2 run directly on ONNX Runtime with the ``tokenizers`` library.

The same model file, tokenizer and pooling as sentence-transformers' ONNX backend (mean of the
token vectors under the attention mask, then unit length), so the vectors are the same; but
loading it imports neither PyTorch nor transformers. That import alone costs about four seconds
of CPU in every process that embeds: each app server, each `interviewer` command.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_TOKENS = 256
"""all-MiniLM-L6-v2's ``max_seq_length``: longer texts are cut to their first 256 tokens."""


class OnnxMiniLM:
    """Sentence vectors from an exported all-MiniLM-L6-v2 folder (``onnx/model.onnx`` and
    ``tokenizer.json``); safe to share between threads."""

    backend = "onnx"

    def __init__(self, folder: Path, max_tokens: int = MAX_TOKENS) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        pad = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")
        self.tokenizer = tokenizer
        self.session = onnxruntime.InferenceSession(
            str(folder / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> NDArray[np.float32]:
        """Unit-length vectors of ``texts``, one row each, in order.

        Texts are batched longest first, as sentence-transformers does, so a batch pads little.
        """
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: NDArray[np.float32] | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            vectors = self._batch([texts[i] for i in rows])
            if out is None:  # the model's own width (384 for all-MiniLM-L6-v2)
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 384), dtype=np.float32)

    def _batch(self, texts: list[str]) -> NDArray[np.float32]:
        encoded = self.tokenizer.encode_batch(texts)
        feed: dict[str, Any] = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
