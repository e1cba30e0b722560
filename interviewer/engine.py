"""The interview state machine: greeting, questions, follow-ups, the candidate's questions, close.

``Interview`` holds no UI and does no I/O of its own: it changes a ``Session`` and hands every
change to ``persist`` (the store) before the reply that follows is produced, so a crash loses
nothing and ``resume`` picks up exactly where the interview stopped. Given the same inputs
(session, pack, questions, conductor, scorer) it behaves the same way every time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from enum import StrEnum
from functools import partial

from interviewer.conduct import Conductor, Context
from interviewer.domain import (
    STRONG_ANSWER_AT,
    AnswerScore,
    CriterionScore,
    Flag,
    FollowUp,
    KeyPointResult,
    Level,
    Phase,
    Question,
    QuestionState,
    Session,
    Speaker,
    Turn,
    TurnKind,
    utc_now,
)
from interviewer.packs import Pack
from interviewer.retrieval import Filters, Retriever
from interviewer.scoring.base import Scorer, ScoringRequest
from interviewer.scoring.text import (
    MAX_ANSWER_CHARS,
    CleanAnswer,
    asks_for_a_score,
    clean_answer,
    is_non_answer,
    reads_as_other_language,
)
from interviewer.scoring.word_order import reads_as_word_salad

Stream = Callable[[str], None]
MAX_HINTS = 2
_DONE_WORDS = {
    "no",
    "nope",
    "none",
    "no thanks",
    "no, thanks",
    "that's all",
    "thats all",
    "nothing",
    "i'm good",
    "im good",
    "all good",
    "no questions",
    "done",
    "end",
}


class Command(StrEnum):
    """What a candidate can type instead of an answer."""

    HINT = "hint"
    SKIP = "skip"
    REPEAT = "repeat"
    END = "end"


def parse_command(text: str) -> Command | None:
    """'hint', '/hint', 'Hint.' and the like; None for an ordinary answer."""
    word = text.strip().lower().lstrip("/").rstrip(".!")
    try:
        return Command(word)
    except ValueError:
        return None


def _message_notices(clean: CleanAnswer, answering: bool) -> list[str]:
    """What the candidate is told about the message just sent, in the chat only: what it did
    to a score the report says in that question's flags."""
    said: list[str] = []
    if answering and clean.injection:
        said.append(
            "Parts of that answer read as instructions to the grader, asking it for a score: "
            "they are never followed, and such an answer scores 2 at most."
            if asks_for_a_score(clean.text)
            else "Parts of that answer read as instructions to the grader; they are never "
            "followed and earn nothing."
        )
    if answering and reads_as_other_language(clean.text):
        said.append(
            "This interview is held in English and that answer reads as another language: it "
            "is scored against English key points, so it will likely score as off topic. "
            "Answer in English for a fair score."
        )
    elif answering and reads_as_word_salad(clean.text):
        said.append(
            "That answer reads as words out of order rather than sentences, which a grader "
            "cannot follow, so it will score low. Write it as sentences for a fair score."
        )
    if clean.truncated:
        said.append(
            f"Your answer was {clean.original_chars:,} characters; answers are limited to "
            f"{MAX_ANSWER_CHARS:,}, so only the first part was kept."
        )
    return said


def plan_questions(
    retriever: Retriever,
    pack: Pack,
    format_id: str,
    level: Level,
    job_description: str = "",
    avoid: Iterable[str] = (),
    seed: str = "",
    own_ids: frozenset[str] = frozenset(),
) -> tuple[list[str], list[str]]:
    """Pick question ids for every slot of a format; returns (ids, notices).

    The job description, when given, is the search query, so it steers which questions come
    up. Candidates are drawn by MMR and then sampled with a seed (the session id), so two
    sessions differ while one session is reproducible. When a slot runs short, questions from
    recent sessions are allowed again, then the level filter is dropped, with a notice.
    """
    fmt = pack.spec.formats[format_id]
    rng = random.Random(seed)
    chosen: list[str] = []
    notices: list[str] = []
    recent = set(avoid)
    for slot in fmt.slots:
        query = job_description.strip() or f"{slot.category.value.replace('_', ' ')} question"
        topics: list[str | None] = list(slot.topics) or [None]
        picked: list[str] = []
        for relax in ("none", "recent", "level"):
            need = slot.count - len(picked)
            if need <= 0:
                break
            exclude = set(chosen) | set(picked) | (recent if relax == "none" else set())
            level_filter = None if relax == "level" else level
            pool: list[Question] = []
            for topic in topics:
                pool += retriever.search(
                    query,
                    k=max(need * 3, 6),
                    exclude_ids=exclude,
                    filters=Filters(
                        level=level_filter,
                        category=slot.category,
                        topic=topic,
                        admit=partial(pack.admits, own_ids=own_ids),
                    ),
                )
            unique = list(dict.fromkeys(q.id for q in pool))
            take = min(need, len(unique))
            # With a job description the best matches lead; the rest vary with the seed.
            keep = (take + 1) // 2 if job_description.strip() else 0
            rest = unique[keep : max(take * 3, keep + take)]
            picked += unique[:keep]
            picked += _apart(
                rng.sample(rest, len(rest)), take - keep, [*chosen, *picked], retriever
            )
        if len(picked) < slot.count:
            notices.append(
                f"Only {len(picked)} {slot.category.value.replace('_', ' ')} "
                f"question(s) were available for this plan."
            )
        elif any(q in recent for q in picked):
            notices.append("You have seen every fitting question recently; some come round again.")
        chosen += picked
    return chosen, notices


NEAR_DUPLICATE_AT = 0.7
"""Index cosine at which two questions ask much the same thing ("a deadline you nearly missed"
and "a commitment you failed to deliver on time": 0.76); one plan holds one of them when it
can. Nine pairs of the bank's 466 questions reach it."""


def _apart(
    candidates: list[str], count: int, planned: list[str], retriever: Retriever
) -> list[str]:
    """``count`` of ``candidates`` in their order, passing over any that nearly repeats a
    question already planned or picked, unless too few others remain."""
    vectors = retriever.vectors([*candidates, *planned])
    taken: list[str] = []
    passed: list[str] = []
    for qid in candidates:
        if len(taken) == count:
            break
        mine = vectors.get(qid)
        near = mine is not None and any(
            float(mine @ vectors[other]) >= NEAR_DUPLICATE_AT
            for other in (*planned, *taken)
            if other in vectors
        )
        (passed if near else taken).append(qid)
    return taken + passed[: count - len(taken)]


class Interview:
    """Runs one session. Call ``start`` once, then ``handle`` with each candidate message."""

    def __init__(
        self,
        session: Session,
        pack: Pack,
        questions: Mapping[str, Question],
        conductor: Conductor,
        scorer: Scorer,
        persist: Callable[[Session], None] = lambda s: None,
    ) -> None:
        self.session = session
        self.pack = pack
        self.questions = questions
        self.conductor = conductor
        self.scorer = scorer
        self.persist = persist
        fmt = pack.spec.formats[session.format]
        planned = tuple(
            questions[s.question_id] for s in session.plan if s.question_id in questions
        )
        self.ctx = Context(pack, fmt, session.level, session.job_description, planned)
        self.fmt = fmt
        self.saved_turns = len(session.turns)  # how many turns the store is known to hold

    def _save(self) -> None:
        """Hand the session to ``persist``; remember how much of it is now stored."""
        self.persist(self.session)
        self.saved_turns = len(self.session.turns)

    # --- helpers ---------------------------------------------------------------------------

    def _say(
        self,
        kind: TurnKind,
        chunks: Iterator[str],
        stream: Stream | None,
        question_id: str | None = None,
    ) -> Turn:
        parts = []
        for chunk in chunks:
            parts.append(chunk)
            if stream is not None:
                stream(chunk)
        if stream is not None:
            stream("\n")
        turn = self._add(Speaker.INTERVIEWER, kind, "".join(parts).strip(), question_id)
        checked = self.conductor.take_checks()
        turn.checks, turn.model_text = checked.checks, checked.model_text
        return turn

    def _line(
        self, kind: TurnKind, text: str, stream: Stream | None, question_id: str | None = None
    ) -> Turn:
        """Say a fixed line (no model involved)."""
        return self._say(kind, iter([text]), stream, question_id)

    def _add(
        self, speaker: Speaker, kind: TurnKind, text: str, question_id: str | None = None
    ) -> Turn:
        turn = Turn(speaker=speaker, kind=kind, text=text, question_id=question_id, at=utc_now())
        self.session.turns.append(turn)
        return turn

    def notice(self, text: str, in_report: bool = True) -> None:
        """Record a notice for the candidate, shown in the chat and, unless it is only about
        the message just sent (``in_report=False``: an empty or cut answer, one in another
        language or with instructions to the grader), in the report too. What such a message
        did to a score, the report says in that question's flags."""
        if in_report:
            self.session.notices.append(text)
        self._add(Speaker.SYSTEM, TurnKind.NOTICE, text)

    def question(self, state: QuestionState) -> Question:
        """The corpus question behind a plan entry."""
        return self.questions[state.question_id]

    # --- flow ------------------------------------------------------------------------------

    def start(self, stream: Stream | None = None) -> list[Turn]:
        """Greet and ask the first question."""
        before = len(self.session.turns)
        self._prepare_plan()
        if not self.session.turns:
            self._say(TurnKind.GREETING, self.conductor.greet(self.ctx), stream)
            self._ask(stream)
            self._save()
        return self.session.turns[before:]

    def handle(self, raw: str | bytes, stream: Stream | None = None) -> list[Turn]:
        """Take one candidate message (an answer, a command or a question) and reply."""
        before = len(self.session.turns)
        if self.session.phase is Phase.DONE:
            self.notice(
                "This interview has ended; open the report to see how it went.", in_report=False
            )
            self._save()
            return self.session.turns[before:]
        clean = clean_answer(raw)
        command = parse_command(clean.text)
        state = self.session.active
        if command is None and not clean.text.strip():
            # Nothing was said: no empty bubble in the transcript, only the notice.
            self.notice(
                "That answer was empty. Type your answer, or 'skip' to move on.", in_report=False
            )
            self._save()
            return self.session.turns[before:]
        if command is not None:
            self._add(
                Speaker.CANDIDATE,
                TurnKind.COMMAND,
                command.value,
                state.question_id if state else None,
            )
        else:
            kind = TurnKind.ANSWER if state else TurnKind.CANDIDATE_QUESTION
            self._add(Speaker.CANDIDATE, kind, clean.text, state.question_id if state else None)
            for text in _message_notices(clean, answering=state is not None):
                self.notice(text, in_report=False)
        self._save()  # the candidate's words are safe before anything else runs
        self._process(command, clean.text, clean.truncated, stream)
        self._save()
        return self.session.turns[before:]

    def _prepare_plan(self) -> None:
        """Embed every planned question's key points up front, so no turn waits for it."""
        prepare = getattr(self.scorer, "prepare", None)
        if callable(prepare):
            for state in self.session.plan:
                prepare(self.question(state))

    def resume(self, stream: Stream | None = None) -> list[Turn]:
        """After a crash: finish handling a message that was saved but not answered."""
        before = len(self.session.turns)
        if not self.session.turns:
            return self.start(stream)
        self._prepare_plan()
        last = self.session.turns[-1]
        if last.speaker is Speaker.CANDIDATE and self.session.phase is not Phase.DONE:
            command = parse_command(last.text) if last.kind is TurnKind.COMMAND else None
            self._process(command, last.text, False, stream)
            self._save()
        return self.session.turns[before:]

    def _process(
        self, command: Command | None, text: str, truncated: bool, stream: Stream | None
    ) -> None:
        state = self.session.active
        if self.session.phase is Phase.CANDIDATE_QUESTIONS:
            self._candidate_question(command, text, stream)
        elif state is None:
            self._finish(stream)
        elif command is Command.HINT:
            self._hint(state, stream)
        elif command is Command.SKIP:
            self._skip(state, stream)
        elif command is Command.REPEAT:
            self._repeat(stream)
        elif command is Command.END:
            self._end(state, stream)
        else:
            self._answer(state, text, truncated, stream)

    def _ask(self, stream: Stream | None) -> None:
        state = self.session.active
        if state is None:
            self._to_candidate_questions(stream)
            return
        q = self.question(state)
        total = len(self.session.plan)
        self._say(
            TurnKind.QUESTION,
            self.conductor.ask(self.ctx, q, self.session.current + 1, total),
            stream,
            q.id,
        )

    def _score(self, state: QuestionState) -> AnswerScore:
        q = self.question(state)
        request = ScoringRequest(
            q,
            "\n".join(state.answers),
            self.session.level,
            self.pack.rubric(q.category),
            state.hints,
            state.truncated,  # any of its answers, not only the last: it is scored as a whole
        )
        result = self.scorer.score(request)
        self.session.scores[q.id] = result
        if result.notice:
            self.notice(result.notice)
        return result

    def _answer(
        self, state: QuestionState, text: str, truncated: bool, stream: Stream | None
    ) -> None:
        state.answers.append(text)
        state.truncated = state.truncated or truncated
        result = self._score(state)
        q = self.question(state)
        if Flag.NO_ANSWER in result.flags:
            # "I don't know": offer a hint or a guess once; a second one moves on.
            if sum(is_non_answer(a) for a in state.answers) < 2:
                lines = self.pack.spec.offline
                reply = lines.dont_know_replies.get(q.category, lines.dont_know_reply)
                self._line(TurnKind.REPLY, reply, stream, q.id)
                return
            self._line(TurnKind.REPLY, self.pack.spec.offline.skip_reply, stream, q.id)
            self._next(state, stream)
            return
        told = self.pack.rubric(q.category).told_in_own_words
        follow_up: FollowUp | None = None
        if len(state.follow_ups_asked) + bool(state.deepened) < self.fmt.follow_up_budget:
            curated = (
                None if result.misses_in_doubt(told) else self._next_follow_up(q, state, result)
            )
            if curated is not None:
                state.follow_ups_asked.append(curated[0])
                follow_up = curated[1]
            elif not state.deepened:
                follow_up = self._deepening(q, result)
                state.deepened = follow_up.text if follow_up else ""
        if follow_up is not None:
            missed = [
                kp
                for kp in q.expected_at(self.session.level)
                if kp.id in {m.id for m in result.missed()}
            ]
            self._say(
                TurnKind.FOLLOW_UP,
                self.conductor.follow_up(self.ctx, q, state.answers, missed, follow_up),
                stream,
                q.id,
            )
            return
        self._next(state, stream)

    def _next_follow_up(
        self, q: Question, state: QuestionState, result: AnswerScore
    ) -> tuple[int, FollowUp] | None:
        """The unasked follow-up probing the most important missed key point, if any."""
        if _read_by_closeness(q, result):
            return self._least_told_follow_up(q, state, result)
        expected = {kp.id: kp for kp in q.expected_at(self.session.level)}
        missed = sorted(
            (m for m in result.missed() if m.id in expected),
            key=lambda m: (-m.weight, list(expected).index(m.id)),
        )
        covered = {kp.id for kp in result.covered()}
        used = self._used_follow_ups(q, state)
        for point in missed:
            found = _open_follow_up(q, used, point.id, covered)
            if found is not None:
                return found
        return None

    def _least_told_follow_up(
        self, q: Question, state: QuestionState, result: AnswerScore
    ) -> tuple[int, FollowUp] | None:
        """For a story scored offline: the unasked follow-up, on a point expected at the level
        and not ticked, that the answer came least close to. The ticks find fewer than half of
        what a story makes, so "what was missed" chose follow-ups about what the story had
        told ("What kinds of interruptions were these?" after it named them). On the 15
        labelled stories under 3.5 in ``evals/datasets/key-points-v1.jsonl``, the follow-up
        asked probed a point the grader saw not made 11 times (7 before) and made 3 (5)."""
        expected = {kp.id for kp in q.expected_at(self.session.level)}
        covered = {kp.id for kp in result.covered()}
        used = self._used_follow_ups(q, state)
        open_ = [
            (closeness, index)
            for index, (follow_up, closeness) in enumerate(
                zip(q.follow_ups, result.follow_up_closeness, strict=True)
            )
            if index not in used
            and follow_up.probes[0] in expected
            and follow_up.probes[0] not in covered
        ]
        if not open_:
            return None
        index = min(open_)[1]
        return index, q.follow_ups[index]

    def _deepening(self, q: Question, result: AnswerScore) -> FollowUp | None:
        """After a strong answer that leaves no curated follow-up, the pack's next deepening
        probe for the question's category, the way an interviewer pushes a good answer further
        instead of moving straight on: each probe once per interview."""
        flagged = set(result.flags) - {Flag.HINTED}
        if result.overall < STRONG_ANSWER_AT or flagged or not q.key_points:
            return None
        said = {s.deepened for s in self.session.plan}
        for line in self.pack.spec.offline.deepening.get(q.category, []):
            if line not in said:
                return FollowUp(text=line, probes=[kp.id for kp in q.key_points])
        return None

    def _used_follow_ups(self, q: Question, state: QuestionState) -> set[int]:
        """Follow-ups the candidate has seen on this question: asked, or given as a hint."""
        hints = self._hints_given(q)
        return set(state.follow_ups_asked) | {
            i for i, f in enumerate(q.follow_ups) if any(f.text in h for h in hints)
        }

    def _next(self, state: QuestionState, stream: Stream | None) -> None:
        state.finished = True
        self.session.current += 1
        self._ask(stream)

    def _hint(self, state: QuestionState, stream: Stream | None) -> None:
        q = self.question(state)
        lines = self.pack.spec.offline
        if state.hints >= MAX_HINTS:
            self._line(TurnKind.HINT, lines.no_more_hints, stream, q.id)
            return
        nudge = self._nudge(q, state)
        if nudge is None:
            self._line(TurnKind.HINT, lines.no_more_hints, stream, q.id)
            return
        state.hints += 1
        if q.id in self.session.scores:
            self._score(state)  # the hint lowers this question's score from now on
        self._line(TurnKind.HINT, f"{lines.hint_intro} {nudge}", stream, q.id)

    def _nudge(self, q: Question, state: QuestionState) -> str | None:
        """A hint towards the most important expected points the answers have not covered.

        For each missed point, by weight: a curated follow-up that probes it (a direction, not
        the answer) unless the candidate has seen it or it probes a point already covered, then
        the point itself. Nothing the
        candidate was already told on this question is said again.
        """
        result = self.session.scores.get(q.id)
        if result is not None and _read_by_closeness(q, result):
            least = self._least_told_follow_up(q, state, result)
            if least is not None:
                return least[1].text
        covered = {kp.id for kp in result.covered()} if result else set()
        expected = sorted(q.expected_at(self.session.level), key=lambda kp: -kp.weight)
        hints = self._hints_given(q)
        used = self._used_follow_ups(q, state)
        for point in (kp for kp in expected if kp.id not in covered):
            found = _open_follow_up(q, used, point.id, covered)
            if found is not None:
                return found[1].text
            text = point.text.rstrip(".")
            if text[1:2].islower():  # "Explains ..." reads on after the colon; "HTTP ..." stays
                text = text[:1].lower() + text[1:]
            nudge = f"one thing a strong answer covers here is this: {text}."
            if not any(nudge in h for h in hints):
                return nudge
        return None

    def _hints_given(self, q: Question) -> list[str]:
        """The hints given on this question so far."""
        return [
            t.text for t in self.session.turns if t.kind is TurnKind.HINT and t.question_id == q.id
        ]

    def _skip(self, state: QuestionState, stream: Stream | None) -> None:
        q = self.question(state)
        if state.answers:
            self._score(state)
        else:
            state.skipped = True
            self.session.scores[q.id] = skipped_score(q, self.pack, self.session.level)
        self._line(TurnKind.REPLY, self.pack.spec.offline.skip_reply, stream, q.id)
        self._next(state, stream)

    def _repeat(self, stream: Stream | None) -> None:
        last = next(
            (
                t
                for t in reversed(self.session.turns)
                if t.kind in (TurnKind.QUESTION, TurnKind.FOLLOW_UP)
            ),
            None,
        )
        if last is None:
            return
        text = last.text
        if last.kind is TurnKind.QUESTION and last.question_id:
            text = self.questions[last.question_id].question  # without the lead-in line
        elif last.kind is TurnKind.FOLLOW_UP and last.question_id:
            # without the acknowledgement before it ("Got it, thank you. ..."), when the
            # curated follow-up was said as written
            curated = [f.text for f in self.questions[last.question_id].follow_ups]
            curated += [s.deepened for s in self.session.plan if s.question_id == last.question_id]
            text = next((f for f in curated if f and text.endswith(f)), text)
        self._line(last.kind, text, stream, last.question_id)

    def _end(self, state: QuestionState, stream: Stream | None) -> None:
        if state.answers:
            self._score(state)
        state.finished = True
        del self.session.plan[self.session.current + 1 :]
        if not state.answers:
            del self.session.plan[self.session.current]
        self.session.current = len(self.session.plan)
        self._finish(stream)

    def _to_candidate_questions(self, stream: Stream | None) -> None:
        if self.fmt.candidate_questions <= 0:
            self._finish(stream)
            return
        self.session.phase = Phase.CANDIDATE_QUESTIONS
        self._add(
            Speaker.INTERVIEWER, TurnKind.REPLY, self.pack.spec.offline.candidate_questions_prompt
        )
        if stream is not None:
            stream(self.pack.spec.offline.candidate_questions_prompt + "\n")

    def _candidate_question(
        self, command: Command | None, text: str, stream: Stream | None
    ) -> None:
        words = text.strip().lower().rstrip(".!")
        if command in (Command.END, Command.SKIP) or words in _DONE_WORDS or not words:
            self._finish(stream)
            return
        if command in (Command.HINT, Command.REPEAT):
            # not a question of theirs: say the invitation again, and count nothing
            self._line(TurnKind.REPLY, self.pack.spec.offline.candidate_questions_prompt, stream)
            return
        self.session.candidate_questions_asked += 1
        self._say(TurnKind.REPLY, self.conductor.reply(self.ctx, text), stream)
        if self.session.candidate_questions_asked >= self.fmt.candidate_questions:
            self._finish(stream)
        else:
            self._line(TurnKind.REPLY, self.pack.spec.offline.candidate_questions_more, stream)

    def _finish(self, stream: Stream | None) -> None:
        if self.session.phase is Phase.DONE:
            return
        self._say(TurnKind.CLOSING, self.conductor.close(self.ctx), stream)
        self.session.phase = Phase.DONE
        self.session.ended_at = utc_now()


def skipped_score(q: Question, pack: Pack, level: Level) -> AnswerScore:
    """The score of a question the candidate skipped without answering."""
    rubric = pack.rubric(q.category)
    return AnswerScore(
        question_id=q.id,
        criteria=[
            CriterionScore(id=c.id, name=c.name, score=1, reason="Skipped.")
            for c in rubric.criteria
        ],
        overall=1.0,
        key_points=[
            KeyPointResult(id=kp.id, text=kp.text, weight=kp.weight, covered=False)
            for kp in q.expected_at(level)
        ],
        flags=[Flag.SKIPPED],
        scorer="none",
    )


def _read_by_closeness(q: Question, result: AnswerScore) -> bool:
    """Whether follow-ups on this answer are chosen by how close it came to each of them: a
    story whose key points were ticked offline, where the scorer measured that closeness (see
    ``Interview._least_told_follow_up``)."""
    return bool(result.follow_up_closeness) and len(result.follow_up_closeness) == len(q.follow_ups)


def _open_follow_up(
    q: Question, used: set[int], point_id: str, covered: set[str]
) -> tuple[int, FollowUp] | None:
    """The first follow-up probing ``point_id`` that the candidate has not seen (``used``) and
    that probes nothing the answers already cover: one that also asks about a point the
    candidate just made ("Would you process it inside the request?" after "it runs
    asynchronously, 202 Accepted") reads as not having listened. On the labelled answers of
    ``evals/datasets/key-points-v1.jsonl`` this asks 24 follow-ups on points nobody made where
    the first unseen one asked 20, and 17 on points already made where it asked 26."""
    for index, follow_up in enumerate(q.follow_ups):
        if (
            index not in used
            and point_id in follow_up.probes
            and not covered.intersection(follow_up.probes)
        ):
            return index, follow_up
    return None
