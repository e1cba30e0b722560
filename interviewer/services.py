"""The long-lived objects the app and the CLI share, built once per process.

``Services.start`` loads the corpus, opens the index and brings it in step with the corpus when
it is missing or stale. A damaged embedded index is moved aside and rebuilt, with a notice.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from interviewer.conduct import Conductor, FallbackConductor, OfflineConductor
from interviewer.config import Settings
from interviewer.corpus import Corpus, candidate_questions, load_corpus
from interviewer.domain import CandidateQuestion, Level, QuestionState, Session
from interviewer.embeddings import get_embeddings
from interviewer.engine import Interview, now, plan_questions
from interviewer.errors import IndexUnavailableError
from interviewer.index import QuestionIndex, SyncReport
from interviewer.packs import Pack, PackError, builtin_packs_dir, load_pack
from interviewer.report import Report, build_report
from interviewer.retrieval import Retriever
from interviewer.scoring import EmbeddingScorer, Scorer
from interviewer.scoring.offline import ScorerParams
from interviewer.store import SessionStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Settings, corpus, embeddings, index, retriever, packs and store, ready to use."""

    settings: Settings
    corpus: Corpus
    embeddings: Embeddings
    index: QuestionIndex
    retriever: Retriever
    sync_report: SyncReport
    notices: list[str] = field(default_factory=list)
    _packs: dict[str, Pack] | None = None
    _store: SessionStore | None = None
    _offline_scorers: dict[str, EmbeddingScorer] = field(default_factory=dict)
    _asks: dict[str, list[CandidateQuestion]] = field(default_factory=dict)

    @property
    def packs(self) -> dict[str, Pack]:
        """Every pack found, by id (loaded on first use)."""
        if self._packs is None:
            self._packs = discover_packs()
        return self._packs

    @property
    def store(self) -> SessionStore:
        """The session store (opened and migrated on first use)."""
        if self._store is None:
            url = self.settings.database_url
            self._store = (
                SessionStore(url) if url else SessionStore.for_data_dir(self.settings.data_dir)
            )
        return self._store

    def report(self, session: Session) -> Report:
        """The report of a session, with questions to ask suggested for its role."""
        pack = self.packs.get(session.pack_id)
        role = pack.spec.role if pack else ""
        if role not in self._asks:  # read once per role, not on every report
            self._asks[role] = (
                candidate_questions(self.settings.corpus_dir, role)[0] if role else []
            )
        return build_report(session, self.corpus.by_id(), self._asks[role])

    def pack(self, pack_id: str) -> Pack:
        """One pack by id, with a clear error listing the others."""
        try:
            return self.packs[pack_id]
        except KeyError:
            raise PackError(
                f"No pack '{pack_id}'. Available: {', '.join(sorted(self.packs))}"
            ) from None

    def scorer_for(self, pack: Pack, notify: Callable[[str], None] | None = None) -> Scorer:
        """The LLM judge when a model is configured (with offline fallback), else offline."""
        offline = EmbeddingScorer(
            self.embeddings, ScorerParams.load(pack.root / "calibration.json")
        )
        if not self.settings.model:
            return offline
        from interviewer.llm import JudgeScorer, chat_model

        return JudgeScorer(
            chat_model(self.settings, temperature=0.0),
            self.settings.model,
            offline,
            pack,
            endpoint=self.settings.base_url or "",
        )

    def conductor_for(self, notify: Callable[[str], None]) -> Conductor:
        """The LLM conductor (falling back to offline per call) or the offline one."""
        offline = OfflineConductor()
        if not self.settings.model:
            return offline
        from interviewer.llm import LLMConductor, chat_model

        llm = LLMConductor(chat_model(self.settings, temperature=0.4), self.settings.model)
        return FallbackConductor(llm, offline, notify)

    def new_interview(
        self,
        pack_id: str,
        level: Level,
        format_id: str,
        profile: str | None = None,
        job_description: str = "",
    ) -> Interview:
        """Plan and save a new session; call ``start`` on the result."""
        pack = self.pack(pack_id)
        if format_id not in pack.spec.formats:
            raise PackError(
                f"Pack '{pack_id}' has no format '{format_id}'. Formats: "
                f"{', '.join(pack.spec.formats)}"
            )
        profile = (profile or "").strip() or None
        session_id = uuid.uuid4().hex
        avoid = self.store.recent_question_ids(profile) if profile else set()
        ids, notices = plan_questions(
            self.retriever, pack, format_id, level, job_description[:4000], avoid, seed=session_id
        )
        session = Session(
            id=session_id,
            pack_id=pack.id,
            pack_version=pack.spec.version,
            pack_hash=pack.content_hash,
            level=level,
            format=format_id,
            profile=profile,
            job_description=job_description[:4000],
            mode=self.settings.mode,
            plan=[QuestionState(question_id=i) for i in ids],
            started_at=now(),
        )
        interview = self._interview(session, pack)
        for notice in notices:
            interview.notice(notice)
        self.store.save(session)
        return interview

    def open_interview(self, session_id: str) -> Interview:
        """Reopen a stored session, to resume it or to read its report."""
        session = self.store.load(session_id)
        return self._interview(session, self.pack(session.pack_id))

    def _interview(self, session: Session, pack: Pack) -> Interview:
        holder: list[Interview] = []

        def notify(text: str) -> None:
            if holder:
                holder[0].notice(text)

        interview = Interview(
            session,
            pack,
            self.corpus.by_id(),
            self.conductor_for(notify),
            self.scorer_for(pack, notify),
            persist=self.store.save,
        )
        holder.append(interview)
        return interview

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


def discover_packs() -> dict[str, Pack]:
    """Every pack folder (one holding pack.yaml) under the built-in prompts directory."""
    root = builtin_packs_dir()
    packs: dict[str, Pack] = {}
    for manifest in sorted(root.glob("*/pack.yaml")):
        pack = load_pack(manifest.parent)
        packs[pack.id] = pack
    if not packs:
        raise PackError(f"No prompt pack found in {root}.")
    return packs
