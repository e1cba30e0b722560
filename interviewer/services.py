"""The long-lived objects the app and the CLI share, built once per process.

``Services.start`` loads the corpus, opens the index and brings it in step with the corpus when
it is missing or stale. A damaged embedded index is moved aside and rebuilt, with a notice.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from interviewer.config import Settings
from interviewer.corpus import Corpus, load_corpus
from interviewer.embeddings import get_embeddings
from interviewer.errors import IndexUnavailableError
from interviewer.index import QuestionIndex, SyncReport
from interviewer.retrieval import Retriever

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Settings, corpus, embeddings, index and retriever, ready to use."""

    settings: Settings
    corpus: Corpus
    embeddings: Embeddings
    index: QuestionIndex
    retriever: Retriever
    sync_report: SyncReport
    notices: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        settings: Settings | None = None,
        embeddings: Embeddings | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Services:
        """Build everything, refreshing the index when it is missing or stale."""
        settings = settings or Settings()
        corpus = load_corpus(settings.corpus_dir).require_valid()
        embeddings = embeddings or get_embeddings(settings)
        notices: list[str] = []
        index = _open_or_recover(settings, embeddings, notices)
        report = index.sync(corpus.questions, progress=progress)
        if report.changed:
            notices.append(f"Question index refreshed: {report.summary()}.")
        retriever = Retriever(index, corpus.by_id())
        return cls(settings, corpus, embeddings, index, retriever, report, notices)


def _open_or_recover(
    settings: Settings, embeddings: Embeddings, notices: list[str]
) -> QuestionIndex:
    """Open the index; an unreadable embedded index is moved aside and built anew."""
    try:
        return QuestionIndex.from_settings(settings, embeddings)
    except IndexUnavailableError:
        if settings.chroma_url:
            raise
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # forget the half-opened client for that path
        broken = settings.index_dir.with_name(f"index.broken-{int(time.time())}")
        shutil.move(settings.index_dir, broken)
        notices.append(
            f"The question index could not be opened; it was moved to {broken} "
            "and rebuilt from the corpus."
        )
        log.warning("index in %s was unreadable; moved to %s", settings.index_dir, broken)
        return QuestionIndex.from_settings(settings, embeddings)
