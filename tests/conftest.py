"""Shared fixtures: every test gets its own data directory and settings; the model loads once."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from embedding_memo import EmbeddingMemo, memo_folder, prune_memos

from interviewer.config import PROJECT_ROOT, Settings
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.minilm_onnx import OnnxMiniLM
from interviewer.services import Services

REAL_CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A temporary folder of the whole run, shared by its pytest-xdist workers (each worker's
    own folder sits in it); without workers, the run's own folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


@pytest.fixture(scope="session")
def model_cache(run_folder: Path) -> Path:
    """One cache folder for the whole run and all its workers: the ONNX export happens once,
    and the question vectors an index build stores serve every later build."""
    folder = run_folder / "cache"
    folder.mkdir(exist_ok=True)
    _reuse_the_installers_export(folder)
    return folder


def _reuse_the_installers_export(folder: Path) -> None:
    """Start from the ONNX export `./run test` made in the default cache folder, when there is
    one, instead of exporting again (11 s at the start of the run, every worker waiting on it).
    Only the export is copied, never the vectors; without it the run exports as before."""
    from platformdirs import user_cache_path

    from interviewer.embeddings import export_lock, is_exported, onnx_export_dir

    source, target = onnx_export_dir(user_cache_path("interviewer")), onnx_export_dir(folder)
    with export_lock(target):
        if is_exported(target) or not is_exported(source):
            return
        staging = target.with_name(f"{target.name}.copy-{os.getpid()}")
        shutil.copytree(source, staging)
        staging.rename(target)


def pytest_configure(config: pytest.Config) -> None:
    """Before any worker starts: drop kept embedding memos that grew too big or went stale."""
    if not hasattr(config, "workerinput"):
        from platformdirs import user_cache_path

        prune_memos(user_cache_path("interviewer"))


@pytest.fixture(scope="session", autouse=True)
def embedding_memo(run_folder: Path, model_cache: Path) -> Iterator[EmbeddingMemo]:
    """Each distinct text embedded once, kept between runs (tests/embedding_memo.py)."""
    from platformdirs import user_cache_path

    memo = EmbeddingMemo(memo_folder(run_folder, model_cache, user_cache_path("interviewer")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(OnnxMiniLM, "encode", memo.encode(OnnxMiniLM.encode))
        yield memo


@pytest.fixture(scope="session", autouse=True)
def component_scan_once() -> Iterator[None]:
    """Streamlit's AppTest scans every installed distribution's metadata for components on
    each new app (about 1.5 s, 24,000 metadata reads in four test files): the installed
    packages do not change during a run, so the first scan serves every later one."""
    from functools import cache

    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as patch:
        scan = cache(manifest_scanner.scan_component_manifests)
        patch.setattr(manifest_scanner, "scan_component_manifests", scan)
        yield


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Path:
    """No test reads the developer's settings or writes outside its temporary folder."""
    import os

    for name in list(os.environ):
        if name.startswith("INTERVIEWER_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    empty = tmp_path / "empty-settings.toml"
    empty.write_text("")
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data))
    monkeypatch.setenv("INTERVIEWER_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("INTERVIEWER_SETTINGS_FILE", str(empty))
    return data


@pytest.fixture
def settings_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Write a settings file with the given text and make it the one in force."""

    def write(text: str) -> Path:
        path = tmp_path / "settings.toml"
        path.write_text(text)
        monkeypatch.setenv("INTERVIEWER_SETTINGS_FILE", str(path))
        return path

    return write


@pytest.fixture(scope="session")
def embeddings(model_cache: Path) -> MiniLMEmbeddings:
    """The real MiniLM model, shared by the whole run."""
    return MiniLMEmbeddings(model_cache)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a private data directory and the shipped corpus."""
    return Settings(data_dir=tmp_path / "data", corpus_dir=REAL_CORPUS)  # cache from the env


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the shipped corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(REAL_CORPUS, target)
    yield target


@pytest.fixture(scope="session")
def shipped_services(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Services:
    """The shipped corpus and packs, indexed once for the run; LLM tests derive their own
    settings and store from it with ``Services.sharing``."""
    from factories import shipped_settings

    settings = shipped_settings(tmp_path_factory.mktemp("shipped"), model_cache)
    return Services.start(settings, MiniLMEmbeddings(model_cache))


from fake_llm import fake_llm  # noqa: E402, F401  (the local OpenAI-compatible server fixture)
from litellm_proxy import litellm_proxy  # noqa: E402, F401  (LiteLLM's proxy, once a session)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a throwaway PostgreSQL server (skipped where none can be started)."""
    from postgres import available, postgres_server

    reason = available()
    if reason:
        pytest.skip(reason)
    with postgres_server() as url:
        yield url
