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

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.account_store import AccountStore
from interviewer.accounts.records import InterviewLink
from interviewer.accounts.service import AccountError, Accounts
from interviewer.conduct import Conductor, OfflineConductor
from interviewer.config import Settings
from interviewer.corpus import Corpus, candidate_questions, load_corpus
from interviewer.domain import (
    CandidateQuestion,
    Level,
    Question,
    QuestionState,
    Session,
    utc_now,
)
from interviewer.embeddings import embeddings_key, get_embeddings
from interviewer.engine import Interview, plan_questions
from interviewer.errors import IndexUnavailableError
from interviewer.guards import GuardParams, ReplyGuard
from interviewer.index import QuestionIndex, SyncReport, index_lock
from interviewer.pack_catalog import Catalog, askable, discover, fingerprint, pack_dirs
from interviewer.packs import Pack, PackError
from interviewer.redact import redact_url
from interviewer.report import Report, build_report
from interviewer.retrieval import Retriever
from interviewer.scoring import EmbeddingScorer, Scorer
from interviewer.scoring.offline import ScorerParams
from interviewer.store import SessionStore, StoreError
from interviewer.turn_runner import TurnRunner
from interviewer.vector_cache import CLICK_WAIT_S, CachedEmbeddings, VectorCache

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
    turns: TurnRunner = field(default_factory=TurnRunner)  # one message at a time per interview
    _catalog: Catalog | None = None
    _corpus_questions: list[Question] | None = None
    _synced: list[str] | None = None
    _progress: Callable[[int, int], None] | None = None
    _store: SessionStore | None = None
    _offline_scorers: dict[str, EmbeddingScorer] = field(default_factory=dict)
    _guards: dict[str, ReplyGuard] = field(default_factory=dict)
    _asks: dict[str, list[CandidateQuestion]] = field(default_factory=dict)

    @property
    def question_embeddings(self) -> Embeddings:
        """The embeddings for question texts, kept in the cache folder's vector cache: a
        question asked before on this machine starts an interview without embedding."""
        cache = VectorCache(self.settings.cache_dir, wait_s=CLICK_WAIT_S)
        return CachedEmbeddings(self.embeddings, cache, embeddings_key(self.settings))

    @property
    def packs(self) -> dict[str, Pack]:
        """Every valid pack found, by id; an edited pack folder is reloaded on next use."""
        return self.catalog.packs

    @property
    def catalog(self) -> Catalog:
        """Packs, their problems and their own questions, reloaded when a pack file changes.

        Questions kept in packs join the corpus (and the index) under the same checks; a
        question whose id the corpus or another pack file already uses is reported (naming
        the pack and the file) and left out.
        """
        dirs = pack_dirs(self.settings.packs_path)
        if self._catalog is not None and self._catalog.fingerprint == fingerprint(dirs):
            return self._catalog
        if self._corpus_questions is None:
            self._corpus_questions = list(self.corpus.questions)
        catalog = discover(dirs, {q.id for q in self._corpus_questions})
        if not catalog.packs:
            raise PackError(
                f"No valid prompt pack found in {', '.join(map(str, dirs))}:\n"
                + "\n".join(catalog.problems)
            )
        merged = self._corpus_questions + catalog.questions
        hashes = [q.content_hash() for q in merged]
        if hashes != self._synced:
            self.corpus.questions = merged
            self.sync_report = self.index.sync(merged, progress=self._progress)
            if self.sync_report.changed:
                self.notices.append(f"Question index refreshed: {self.sync_report.summary()}.")
            self.retriever = Retriever(self.index, self.corpus.by_id())
            self._synced = hashes
        for problem in catalog.problems:
            log.warning("pack problem: %s", problem)
        self._catalog = catalog
        return catalog

    def askable(self, pack: Pack) -> list[Question]:
        """The questions ``pack`` can ask (its corpus filter's and its own): what a link may
        fix."""
        own = self.catalog.own_ids.get(pack.id, frozenset())
        return askable(pack, self.corpus.questions, own)

    def pack_problems(self, viewer: Viewer) -> list[str]:
        """What is wrong with the packs, for the people who run them: reviewers, admins and
        the single-user app's operator. A candidate gets nothing (the problems name server
        paths and quote pack files)."""
        return list(self.catalog.problems) if viewer.can(Role.REVIEWER) else []

    @property
    def store(self) -> SessionStore:
        """The session store (opened and migrated on first use)."""
        if self._store is None:
            self._store = SessionStore.from_settings(
                self.settings.database_url, self.settings.data_dir
            )
        return self._store

    @property
    def accounts(self) -> Accounts:
        """Accounts, sign-in and interview links, in the session database."""
        return Accounts(AccountStore(self.store), self.settings)

    def store_notices(self) -> list[str]:
        """What the store has to say (such as an empty database file replaced), each once;
        nothing when the store has not been opened."""
        return self._store.take_notices() if self._store is not None else []

    def report(self, session: Session) -> Report:
        """The report of a session, with questions to ask suggested for its role."""
        pack = self.packs.get(session.pack_id)
        role = pack.spec.role if pack else ""
        if role not in self._asks:  # read once per role, not on every report
            self._asks[role] = (
                candidate_questions(self.settings.corpus_dir, role)[0] if role else []
            )
        own_words = pack.told_in_own_words() if pack else frozenset()
        return build_report(session, self.corpus.by_id(), self._asks[role], own_words)

    def pack(self, pack_id: str) -> Pack:
        """One pack by id, with a clear error listing the others."""
        try:
            return self.packs[pack_id]
        except KeyError:
            raise PackError(
                f"No pack '{pack_id}'. Available: {', '.join(sorted(self.packs))}"
            ) from None

    def format_name(self, pack_id: str, format_id: str) -> str:
        """A format's name as its pack writes it ("Phone screen"); for a pack or format no
        longer installed, the id made readable."""
        pack = self.packs.get(pack_id)
        found = pack.spec.formats.get(format_id) if pack is not None else None
        return found.name if found is not None else format_id.replace("-", " ").capitalize()

    def offline_scorer(self, pack: Pack) -> EmbeddingScorer:
        """The pack's offline scorer, one per pack and process (question vectors kept warm)."""
        key = f"{pack.id}:{pack.content_hash}"
        offline = self._offline_scorers.get(key)
        if offline is None:
            offline = EmbeddingScorer(
                self.embeddings,
                ScorerParams.load(pack.calibration_path),
                question_embeddings=self.question_embeddings,
            )
            self._offline_scorers[key] = offline
        return offline

    def guard_for(self, pack: Pack) -> ReplyGuard:
        """The pack's reply guards, one per pack and process (question vectors kept warm)."""
        key = f"{pack.id}:{pack.content_hash}"
        guard = self._guards.get(key)
        if guard is None:
            guard = ReplyGuard(
                self.embeddings,
                GuardParams.load(pack.guards_path),
                question_embeddings=self.question_embeddings,
            )
            self._guards[key] = guard
        return guard

    def scorer_for(self, pack: Pack, notify: Callable[[str], None] | None = None) -> Scorer:
        """The LLM judge when a model is configured (with offline fallback), else offline."""
        offline = self.offline_scorer(pack)
        if not self.settings.model:
            return offline
        from interviewer.llm import JudgeScorer, chat_model

        return JudgeScorer(
            chat_model(self.settings, temperature=0.0),
            self.settings.model,
            offline,
            pack,
            endpoint=redact_url(self.settings.base_url or ""),  # it keys a cache kept on disk
            judge_gap=self.guard_for(pack).params.judge_gap,
        )

    def conductor_for(self, pack: Pack, notify: Callable[[str], None]) -> Conductor:
        """The LLM conductor behind the reply guards (offline per reply when a guard or the
        model fails), or the offline one."""
        offline = OfflineConductor()
        if not self.settings.model:
            return offline
        from interviewer.guarded import GuardedConductor
        from interviewer.llm import LLMConductor, chat_model

        guard = self.guard_for(pack)
        llm = LLMConductor(chat_model(self.settings, temperature=0.4), self.settings.model)
        return GuardedConductor(llm, offline, guard, notify)

    def sharing(self, settings: Settings, store: SessionStore) -> Services:
        """These services (corpus, index, packs, embeddings) with other settings, such as
        another model, and another session store."""
        other = Services(
            settings,
            self.corpus,
            self.embeddings,
            self.index,
            self.retriever,
            self.sync_report,
            _catalog=self._catalog,
            _corpus_questions=self._corpus_questions,
            _synced=self._synced,
            _store=store,
            _offline_scorers=self._offline_scorers,
            _guards=self._guards,
        )
        return other

    def new_interview(
        self,
        pack_id: str,
        level: Level,
        format_id: str,
        profile: str | None = None,
        job_description: str = "",
        *,
        viewer: Viewer,
        link: InterviewLink | None = None,
    ) -> Interview:
        """Plan and save a new session owned by ``viewer``; call ``start`` on the result. A
        link's own question list, when it has one, is asked as given."""
        pack = self.pack(pack_id)
        if format_id not in pack.spec.formats:
            raise PackError(
                f"Pack '{pack_id}' has no format '{format_id}'. Formats: "
                f"{', '.join(pack.spec.formats)}"
            )
        profile = (profile or "").strip() or None
        session_id = uuid.uuid4().hex
        if viewer.is_local:
            avoid = self.store.recent_question_ids(profile, viewer=viewer) if profile else set()
        else:
            avoid = self.store.recent_question_ids(None, viewer=viewer, owner_id=viewer.user_id)
        assert self._catalog is not None  # self.pack() just refreshed it
        own = self._catalog.own_ids.get(pack.id, frozenset())
        if link is not None and link.spec.question_ids:
            ids, notices = self._listed(link.spec.question_ids)
        else:
            ids, notices = plan_questions(
                self.retriever,
                pack,
                format_id,
                level,
                job_description[:4000],
                avoid,
                seed=session_id,
                own_ids=own,
            )
        session = Session(
            id=session_id,
            pack_id=pack.id,
            pack_version=pack.spec.version,
            pack_hash=pack.content_hash,
            level=level,
            format=format_id,
            profile=profile,
            owner_id=viewer.user_id,
            team=(link.team if link is not None else viewer.team) or None,
            link_id=link.id if link is not None else None,
            job_description=job_description[:4000],
            mode=self.settings.mode,
            plan=[QuestionState(question_id=i) for i in ids],
            # to the microsecond: interviews started in the same second still list (and count
            # as progress) in the order they began
            started_at=utc_now("microseconds"),
        )
        interview = self._interview(session, pack)
        for notice in notices:
            interview.notice(notice)
        self.store.save(session)
        return interview

    def _listed(self, question_ids: list[str]) -> tuple[list[str], list[str]]:
        """A link's question list, minus questions no longer in the bank (with a notice)."""
        known = self.corpus.by_id()
        ids = [q for q in question_ids if q in known]
        gone = [q for q in question_ids if q not in known]
        notices = (
            [f"{len(gone)} question(s) of this link are no longer in the question bank."]
            if gone
            else []
        )
        if not ids:
            raise PackError("None of this link's questions is in the question bank any more.")
        return ids, notices

    def interview_from_link(self, code: str, viewer: Viewer) -> Interview:
        """The interview a link starts for ``viewer``: their unfinished one from this link
        if there is one (a refresh, a second visit: even once the link is spent, expired or
        withdrawn, as an interview already started goes on), else a new one, using one of
        the link's uses; when the link can start none any more, their finished one from it
        (its report)."""
        accounts = self.accounts
        known = accounts.store.link(code=code) if code else None
        if known is not None and viewer.user_id is not None:
            # Started already: it goes on, even if the link has since been spent or withdrawn.
            open_id = accounts.store.link_session(known.id, viewer.user_id)
            if open_id is None and known.problem(accounts.now()) is not None:
                open_id = accounts.store.link_session(known.id, viewer.user_id, done=True)
            if open_id is not None:
                return self.open_interview(open_id, viewer=viewer)
        link = accounts.open_link(code)
        if not accounts.store.take_link_use(link.id, accounts.now()):
            accounts.open_link(code)  # says why (spent, expired or withdrawn since)
            raise AccountError("This interview link cannot be used any more.")
        spec = link.spec
        return self.new_interview(
            spec.pack_id,
            spec.level,
            spec.format,
            None,
            spec.job_description,
            viewer=viewer,
            link=link,
        )

    def open_interview(self, session_id: str, *, viewer: Viewer, prefix: bool = False) -> Interview:
        """Reopen a stored session ``viewer`` may read, to resume it or to read its report
        (``prefix``: the command line's unique start of an id; the app always gives the whole
        id)."""
        session = self.store.load(session_id, viewer=viewer, prefix=prefix)
        interview = self._interview(session, self.pack(session.pack_id))
        if not may_answer(viewer, session):
            interview.persist = _read_only
        return interview

    def _interview(self, session: Session, pack: Pack) -> Interview:
        holder: list[Interview] = []

        def notify(text: str) -> None:
            if holder:
                holder[0].notice(text)

        interview = Interview(
            session,
            pack,
            self.corpus.by_id(),
            self.conductor_for(pack, notify),
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
        with index_lock(settings):
            index = _open_or_recover(settings, embeddings, notices)
            services = cls(
                settings, corpus, embeddings, index, Retriever(index, {}), SyncReport(), notices
            )
            services._progress = progress
            services.catalog  # noqa: B018  (loads the packs and brings the index in step)
            services._progress = None
        return services


def may_answer(viewer: Viewer, session: Session) -> bool:
    """Only the candidate who took an interview answers in it; a reviewer or an admin who opens
    it reads it (single-user mode, and sessions from before accounts, stay open to all)."""
    return viewer.is_local or session.owner_id is None or session.owner_id == viewer.user_id


def _read_only(session: Session) -> None:
    raise StoreError(
        "Only the candidate who took this interview can answer in it; you can read it."
    )


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
