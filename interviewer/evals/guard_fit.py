"""Fit the reply guards' thresholds on the corpus, and measure what they cost and catch.

What is measured, per question of the pack's role:

- *false alarms*: each curated follow-up, said by a model as its own follow-up (so the curated
  text itself is not exempt), goes through the leak, shape and grading checks; each curated
  question, with a pack transition before it, goes through every ask check;
- *leaks caught*: each key point and reference sentence planted in an interviewer's sentence
  ("Keep in mind that ...") is caught by the leak check; *paraphrased*: the same, with the
  planted text itself left out of the secrets (only its neighbours, say the key point's
  reference sentence, can catch it): how a reworded leak fares;
- *drift caught*: the nearest other question of the corpus, asked instead of this one, fails
  the asked check;
- *constraint drops caught*: a question with one of its numbers or named terms removed fails it.

``leak_at`` is set just above what curated follow-ups reach (their 99.5th percentile), so a
model that words a follow-up like the corpus does is not stopped; ``asked_at`` just above what
the nearest other question reaches for most questions (95th percentile), within [0.7, 0.85].
``judge_gap`` comes from human grades when a dataset is given: the offline scorer's shortfall
against a human that only 2% of answers reach.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from interviewer.domain import Question
from interviewer.guards import (
    GuardFit,
    GuardParams,
    ReplyGuard,
    clean_check,
    constraints,
    dropped_constraints,
    grading_check,
    shape_check,
)
from interviewer.packs import Pack
from interviewer.scoring.text import sentences

LEAK_CARRIERS = ("Keep in mind that {}", "Think about it this way: {}")
FOLLOW_UP_PERCENTILE = 99.5
DRIFT_PERCENTILE = 95.0
ASKED_RANGE = (0.7, 0.85)
_Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class _Measured:
    follow_up_leak: np.ndarray  # curated follow-up sentence -> closest secret, self not exempt
    question_leak: np.ndarray  # curated question (as asked) -> closest secret, as deployed
    planted_leak: np.ndarray  # planted secrets -> closest secret (as deployed)
    paraphrased_leak: np.ndarray  # planted secrets -> closest secret other than themselves
    neighbour: np.ndarray  # question -> nearest other question
    follow_up_shape: float
    follow_up_grading: float
    question_grading: float
    question_shape: float
    question_clean: float
    question_asked: np.ndarray  # the prepared question (with a transition) as the asked check
    constraint_drops: float


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text


def _asked_line(pack: Pack, n: int, q: Question) -> str:
    transitions = pack.spec.offline.transitions
    return f"{transitions[n % len(transitions)]} {q.question}"


def _measure(
    guard: ReplyGuard, questions: Sequence[Question], pack: Pack, embed: _Embed
) -> _Measured:
    """Every similarity the thresholds are chosen from, in one embedding pass per text."""
    texts = sorted(
        {
            t
            for q in questions
            for t in (
                q.question,
                *sentences(q.question),
                *(s for f in q.follow_ups for s in (f.text, *sentences(f.text))),
                *(kp.text for kp in q.key_points),
                *q.red_flags,
                *sentences(q.reference_answer),
            )
        }
        | {
            carrier.format(_lower_first(s))
            for q in questions
            for s in (*(kp.text for kp in q.key_points), *sentences(q.reference_answer))
            for carrier in LEAK_CARRIERS
        }
        | {s for n, q in enumerate(questions) for s in sentences(_asked_line(pack, n, q))}
    )
    vecs = np.asarray(embed(texts), dtype=np.float32)
    at = {t: i for i, t in enumerate(texts)}

    def v(items: Sequence[str]) -> np.ndarray:
        return vecs[[at[t] for t in items]] if items else np.zeros((0, vecs.shape[1]))

    follow_leak: list[float] = []
    question_leak: list[float] = []
    planted: list[float] = []
    paraphrased: list[float] = []
    shape_fail = grading_fail = q_grading_fail = q_shape_fail = q_clean_fail = 0
    asked_as_prepared: list[float] = []  # -1: a term left out
    n_follow = 0
    drops_caught = drops = 0
    phrases = guard.params.grading_phrases
    for n, q in enumerate(questions):
        points = [kp.text for kp in q.key_points]
        ref = sentences(q.reference_answer)
        secrets = v([*points, *q.red_flags, *ref])
        asked = v([q.question, *sentences(q.question)])
        for f in q.follow_ups:
            n_follow += 1
            sims = v(sentences(f.text) or [f.text]) @ secrets.T
            exempt = (v(sentences(f.text) or [f.text]) @ asked.T).max(axis=1) >= (
                guard.params.said_back_at
            )
            sims[exempt] = 0.0
            follow_leak.append(float(sims.max()) if sims.size else 0.0)
            shape_fail += not shape_check(
                f.text, "", len(q.question) + guard.params.lead_in_chars
            ).passed
            grading_fail += not grading_check(f.text, q.question, phrases).passed
        line = _asked_line(pack, n, q)
        q_grading_fail += not grading_check(line, q.question, phrases).passed
        q_clean_fail += not clean_check(line, q.question).passed
        as_asked = guard.asked_check(line, q)
        asked_as_prepared.append(
            -1.0 if as_asked.detail.startswith("it left out") else float(as_asked.value or 0.0)
        )
        q_shape_fail += not shape_check(
            line, q.question, len(q.question) + guard.params.lead_in_chars
        ).passed
        allowed = v(
            [q.question, *sentences(q.question), *(f.text for f in q.follow_ups)]
            + [s for f in q.follow_ups for s in sentences(f.text)]
        )
        said = v(sentences(line))
        sims = said @ secrets.T
        sims[(said @ allowed.T).max(axis=1) >= guard.params.said_back_at] = 0.0
        question_leak.append(float(sims.max()) if sims.size else 0.0)
        for i, secret in enumerate([*points, *ref]):
            others = np.delete(secrets, i if i < len(points) else len(q.red_flags) + i, axis=0)
            for carrier in LEAK_CARRIERS:
                vec = v([carrier.format(_lower_first(secret))])
                # the planted sentence against the secrets, itself left out: a paraphrase
                paraphrased.append(float((vec @ others.T).max(initial=0.0)))
                planted.append(float((vec @ secrets.T).max()))
        for term in sorted(constraints(q.question)):
            drops += 1
            cut = re.sub(re.escape(term), "", q.question.replace(",", ""), flags=re.IGNORECASE)
            drops_caught += bool(dropped_constraints(cut, q.question))
    qv = v([q.question for q in questions])
    sims = qv @ qv.T
    np.fill_diagonal(sims, -1.0)
    return _Measured(
        np.array(follow_leak),
        np.array(question_leak),
        np.array(planted),
        np.array(paraphrased),
        sims.max(axis=1),
        shape_fail / max(n_follow, 1),
        grading_fail / max(n_follow, 1),
        q_grading_fail / max(len(questions), 1),
        q_shape_fail / max(len(questions), 1),
        q_clean_fail / max(len(questions), 1),
        np.array(asked_as_prepared),
        drops_caught / max(drops, 1),
    )


def fit_guards(
    embeddings: Embeddings,
    questions: Sequence[Question],
    pack: Pack,
    base: GuardParams | None = None,
    judge_gap: tuple[float, str] | None = None,
    embed: _Embed | None = None,
) -> GuardParams:
    """Thresholds fitted on ``questions`` (a pack's role in the corpus), with their costs.

    ``embed``: how texts become vectors (default: ``embeddings``; the CLI passes the vector
    cache, so a refit embeds only corpus texts it has not seen).
    """
    base = base or GuardParams()
    guard = ReplyGuard(embeddings, base)
    m = _measure(guard, questions, pack, embed or embeddings.embed_documents)
    leak_at = round(float(np.percentile(m.follow_up_leak, FOLLOW_UP_PERCENTILE)) + 0.005, 3)
    drift = float(np.percentile(m.neighbour, DRIFT_PERCENTILE)) + 0.005
    asked_at = round(min(max(drift, ASKED_RANGE[0]), ASKED_RANGE[1]), 3)
    gap, basis = judge_gap if judge_gap else (base.judge_gap, "default (no dataset given)")
    fit = GuardFit(
        corpus_questions=len(questions),
        curated_follow_ups=len(m.follow_up_leak),
        follow_ups_flagged={
            "no_leak": round(float((m.follow_up_leak >= leak_at).mean()), 4),
            "one_question": round(m.follow_up_shape, 4),
            "no_grading": round(m.follow_up_grading, 4),
        },
        questions_flagged={
            "no_leak": round(float((m.question_leak >= leak_at).mean()), 4),
            "one_question": round(m.question_shape, 4),
            "no_grading": round(m.question_grading, 4),
            "clean": round(m.question_clean, 4),
            "asked": round(float((m.question_asked < asked_at).mean()), 4),
        },
        leaks_caught=round(float((m.planted_leak >= leak_at).mean()), 4),
        paraphrased_leaks_caught=round(float((m.paraphrased_leak >= leak_at).mean()), 4),
        drift_caught=round(float((m.neighbour < asked_at).mean()), 4),
        constraint_drops_caught=round(m.constraint_drops, 4),
        judge_gap_basis=basis,
    )
    return base.model_copy(
        update={"leak_at": leak_at, "asked_at": asked_at, "judge_gap": gap, "fit": fit}
    )


def judge_gap_from(shortfalls: Sequence[float], share: float = 0.02) -> tuple[float, str]:
    """The smallest whole gap by which the offline scorer falls short of a human on no more
    than ``share`` of answers."""
    values = np.asarray(shortfalls, dtype=float)
    for gap in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0):
        if float((values >= gap).mean()) <= share:
            rate = float((values >= gap).mean())
            return gap, (
                f"offline below the human grade by {gap:g} or more on {rate:.1%} of "
                f"{len(values)} graded answers"
            )
    return 4.0, f"offline far below humans on more than {share:.0%} of answers"
