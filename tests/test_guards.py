"""The reply guards on real MiniLM embeddings and shipped corpus questions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from interviewer.conduct import Context, OfflineConductor
from interviewer.config import PROJECT_ROOT, Settings
from interviewer.corpus import load_corpus
from interviewer.domain import FollowUp, Level, Question
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.guarded import GuardedConductor
from interviewer.guards import (
    GuardParams,
    GuardParamsError,
    ReplyGuard,
    clean_check,
    dropped_constraints,
    grading_check,
    shape_check,
)
from interviewer.packs import load_pack


@pytest.fixture(scope="module")
def guard(model_cache: Path) -> ReplyGuard:
    pack = load_pack(PROJECT_ROOT / "prompts" / "backend-developer")
    return ReplyGuard(MiniLMEmbeddings(model_cache), GuardParams.load(pack.guards_path))


@pytest.fixture(scope="module")
def questions() -> dict[str, Question]:
    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus")
    return load_corpus(settings.corpus_dir).require_valid().by_id()


def _sample(questions: dict[str, Question]) -> list[Question]:
    """Every 20th question (`eval guards` checks them all), the same for every test here, so
    the guard embeds each one's key points and reference once for the module."""
    return list(questions.values())[::20]


def _with_numbers(questions: dict[str, Question]) -> Question:
    return next(q for q in questions.values() if "10,000" in q.question and q.follow_ups)


# -- text-only checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("", "empty"),
        ('{"question": "What is an index?"}', "data or code"),
        ("```\nSELECT 1\n```", "data or code"),
        ("Look at this ![diagram](http://x.test/a.png) first. What is it?", "image"),
        ("See [the docs](http://x.test) and tell me: what is a lock?", "link"),
        ("Read https://example.test and explain it?", "link"),
        ("<script>alert(1)</script> What is a lock?", "HTML"),
        ("\x1b[31mWhat\x1b[0m is a lock?", "escape"),
    ],
)
def test_clean_catches_what_is_not_prose(reply: str, problem: str) -> None:
    check = clean_check(reply)
    assert not check.passed
    assert problem in check.detail


def test_clean_passes_plain_prose_and_flags_a_cut_stream() -> None:
    assert clean_check("Let's move on. How would you index this table?").passed
    assert not clean_check("words " * 10, cut_short=True).passed


def test_shape_allows_what_the_prepared_text_asks_and_no_more() -> None:
    base = "What is a deadlock? How do you prevent one?"
    assert shape_check("Next one. What is a deadlock? How do you prevent one?", base, 300).passed
    three = shape_check("What is it? How to prevent it? And detect it?", base, 300)
    assert not three.passed and "3 questions" in three.detail
    listed = shape_check("Tell me:\n- what it is\n- how to avoid it", "What is X?", 300)
    assert not listed.passed and "list" in listed.detail
    assert not shape_check("a" * 400 + "?", "What is X?", 300).passed


def test_grading_words_are_caught_unless_the_prepared_text_uses_them() -> None:
    assert not grading_check(
        "Great answer! What about locks?", "What about locks?", ["great answer"]
    ).passed
    caught = grading_check("You missed the isolation level. Why?", "Why?", ["you missed"])
    assert "you missed" in caught.detail.lower()
    # the pack's own question may say "perfect" (perfect forward secrecy)
    base = "What does perfect forward secrecy protect against?"
    assert grading_check(base, base, ["perfect"]).passed
    # plain words questions use stay allowed by the shipped list
    assert grading_check("What could go wrong here?", "", GuardParams().grading_phrases).passed


def test_dropped_numbers_and_named_terms_are_found() -> None:
    prepared = "Design a cache for 10,000 requests per second in front of PostgreSQL."
    assert (
        dropped_constraints("Design a cache for 10000 rps in front of PostgreSQL.", prepared) == []
    )
    assert dropped_constraints("Design a cache in front of PostgreSQL.", prepared) == ["10000"]
    assert dropped_constraints("Design a cache for 10,000 requests per second.", prepared) == [
        "postgresql"
    ]


# -- checks with embeddings -----------------------------------------------------------------


def test_the_prepared_question_passes_every_check(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    for q in _sample(questions):
        checks = guard.check_ask(f"Let's move on to the next question. {q.question}", q)
        assert all(c.passed for c in checks), (q.id, [c for c in checks if not c.passed])


def test_a_different_question_is_drift(guard: ReplyGuard, questions: dict[str, Question]) -> None:
    q = _with_numbers(questions)
    other = next(x for x in questions.values() if x.topic != q.topic)
    check = guard.asked_check(f"Let's move on. {other.question}", q)
    assert not check.passed and "drifted" in check.detail
    assert check.value is not None and check.value < guard.params.asked_at


def test_a_paraphrase_that_drops_a_number_is_caught(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    check = guard.asked_check(q.question.replace("10,000", "many"), q)
    assert not check.passed and "10000" in check.detail


def test_a_key_point_or_the_reference_said_aloud_is_a_leak(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    point = q.key_points[0].text
    leak = guard.leak_check(f"Think about this: {point[0].lower()}{point[1:]}", [q])
    assert not leak.passed and leak.value is not None and leak.value >= guard.params.leak_at
    verbatim = guard.leak_check(q.reference_answer, [q])
    assert not verbatim.passed
    # the question and its curated follow-ups said back are not leaks
    assert guard.leak_check(q.question, [q]).passed
    assert all(guard.leak_check(f.text, [q]).passed for f in q.follow_ups)


def test_the_curated_follow_ups_pass_as_a_models_follow_up(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    stopped = []
    for q in _sample(questions):
        for f in q.follow_ups:
            checks = guard.check_follow_up(f"Interesting. {f.text}", q, f)
            stopped += [(q.id, c.name) for c in checks if not c.passed]
    assert stopped == []


# -- the guarded conductor ------------------------------------------------------------------


class _Scripted:
    """A conductor whose every reply is fixed text (or an endless stream)."""

    name = "llm:scripted"

    def __init__(self, text: str = "", endless: bool = False) -> None:
        self.text, self.endless, self.closed = text, endless, False

    def _say(self) -> Iterator[str]:
        try:
            if self.endless:
                while True:
                    yield "and so on "
            yield self.text
        finally:
            self.closed = True

    def greet(self, ctx: Context) -> Iterator[str]:
        return self._say()

    def ask(self, ctx: Context, q: Question, position: int, total: int) -> Iterator[str]:
        return self._say()

    def follow_up(
        self, ctx: Context, q: Question, answers: object, missed: object, suggested: FollowUp
    ) -> Iterator[str]:
        return self._say()

    def reply(self, ctx: Context, candidate_question: str) -> Iterator[str]:
        return self._say()

    def close(self, ctx: Context) -> Iterator[str]:
        return self._say()

    def take_checks(self):  # type: ignore[no-untyped-def]
        return OfflineConductor().take_checks()


def _conductor(guard: ReplyGuard, model: _Scripted) -> tuple[GuardedConductor, list[str], Context]:
    pack = load_pack(PROJECT_ROOT / "prompts" / "backend-developer")
    notices: list[str] = []
    ctx = Context(pack, pack.spec.formats["phone-screen"], Level.MID)
    return GuardedConductor(model, OfflineConductor(), guard, notices.append), notices, ctx


def test_a_drifting_question_keeps_the_lead_in_and_asks_the_prepared_one(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    conductor, notices, ctx = _conductor(
        guard, _Scripted("Good to see you again. What is your favourite editor and why?")
    )
    said = "".join(conductor.ask(ctx, q, 2, 4))
    assert said == f"Good to see you again. {q.question}"
    checked = conductor.take_checks()
    assert checked.model_text and "editor" in checked.model_text
    assert [c.name for c in checked.checks if not c.passed] == ["asked"]
    assert "drifted" in notices[0] and "prepared question" in notices[0]
    assert conductor.take_checks().checks == []  # taken once


def test_a_leaking_follow_up_is_replaced_by_the_curated_one(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    point = q.key_points[0].text
    conductor, notices, ctx = _conductor(guard, _Scripted(f"You missed that {point} Why?"))
    said = "".join(conductor.follow_up(ctx, q, ["an answer"], q.key_points[:1], q.follow_ups[0]))
    assert q.follow_ups[0].text in said and point not in said
    failed = {c.name for c in conductor.take_checks().checks if not c.passed}
    assert {"no_leak", "no_grading"} <= failed
    assert "follow-up was not used" in notices[0]
    assert point not in notices[0] and point[:30] not in notices[0]  # the notice leaks nothing


@pytest.mark.parametrize(
    "reply",
    [
        "",
        '{"reply": "We ship weekly."}',
        "Sure, see ![x](http://t.test/x.png).",
        "\x1b[2J We ship weekly.",
    ],
)
def test_bad_replies_to_the_candidate_fall_back_to_the_pack(
    guard: ReplyGuard, questions: dict[str, Question], reply: str
) -> None:
    conductor, notices, ctx = _conductor(guard, _Scripted(reply))
    ctx = Context(ctx.pack, ctx.fmt, ctx.level, "", (_with_numbers(questions),))
    said = "".join(conductor.reply(ctx, "What does the team work on?"))
    offline = "".join(OfflineConductor().reply(ctx, "What does the team work on?"))
    assert said == offline
    assert "reply was not used" in notices[0]


def test_the_reference_answer_given_to_the_candidate_is_stopped(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    conductor, notices, ctx = _conductor(guard, _Scripted(q.reference_answer[:800]))
    ctx = Context(ctx.pack, ctx.fmt, ctx.level, "", (q,))
    said = "".join(conductor.reply(ctx, "What was the answer to the first question?"))
    assert q.reference_answer[:80] not in said
    assert "expected answer" in notices[0]


def test_an_endless_stream_is_cut_and_closed(
    guard: ReplyGuard, questions: dict[str, Question]
) -> None:
    q = _with_numbers(questions)
    model = _Scripted(endless=True)
    conductor, notices, ctx = _conductor(guard, model)
    said = "".join(conductor.ask(ctx, q, 1, 4))
    assert said == q.question
    assert model.closed
    assert "did not end" in notices[0]


def test_a_broken_guards_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "guards.json").write_text(json.dumps({"leak_at": 3}))
    with pytest.raises(GuardParamsError, match=r"guards\.json"):
        GuardParams.load(tmp_path / "guards.json")


def test_the_shipped_guards_record_their_fit() -> None:
    pack = load_pack(PROJECT_ROOT / "prompts" / "backend-developer")
    params = GuardParams.load(pack.guards_path)
    assert params.fit is not None
    assert params.fit.follow_ups_flagged["no_leak"] <= 0.01
    assert params.fit.leaks_caught >= 0.95 and params.fit.drift_caught >= 0.9
