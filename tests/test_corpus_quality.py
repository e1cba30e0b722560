"""Quality gates for the shipped question bank (run with the tests, so a bad item cannot land)."""

from __future__ import annotations

from collections import Counter

import pytest

from interviewer.config import PROJECT_ROOT
from interviewer.corpus import candidate_questions, coverage_problems, load_corpus
from interviewer.domain import Category, Level

ROOT = PROJECT_ROOT / "corpus"
CORPUS = load_corpus(ROOT)
ROLE = "backend-developer"
ROLES = {"backend-developer": 400, "frontend-developer": 40}  # role -> questions it must hold


@pytest.mark.parametrize("role", ROLES)
def test_bank_is_large_and_loads_cleanly(role: str) -> None:
    assert CORPUS.problems == []
    assert len([q for q in CORPUS.questions if q.role == role]) >= ROLES[role]


@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_coverage_plan_is_filled(role: str) -> None:
    assert (ROOT / role / "_meta" / "coverage.yaml").is_file()
    assert coverage_problems(ROOT, role, CORPUS.questions) == []


@pytest.mark.parametrize("q", CORPUS.questions, ids=lambda q: q.id)
def test_item_meets_the_content_standard(q) -> None:  # type: ignore[no-untyped-def]
    words = len(q.reference_answer.split())
    assert 75 <= words <= 260, f"reference answer has {words} words"
    assert len(q.key_points) >= 3 and len(q.follow_ups) >= 2
    probed = {kp for f in q.follow_ups for kp in f.probes}
    essential = {kp.id for kp in q.key_points if kp.weight == 3}
    assert essential & probed, "no follow-up probes an essential key point"
    if q.category in (Category.TECHNICAL, Category.SYSTEM_DESIGN):
        assert q.red_flags, "technical items list misconceptions"
    assert q.tags, "tags carry the vocabulary job descriptions use"


def test_level_is_real_within_each_topic() -> None:
    """Topics asked at several levels expect more from seniors than from juniors."""
    by_topic: dict[str, list[int]] = {}
    for q in CORPUS.questions:
        if q.category is not Category.TECHNICAL:
            continue
        for kp in q.key_points:
            by_topic.setdefault(q.topic, []).append(kp.level.rank)
    for topic, ranks in by_topic.items():
        counts = Counter(ranks)
        assert counts[Level.MID.rank] and counts[Level.SENIOR.rank], (
            f"{topic}: key points never become expected at mid or senior level"
        )


@pytest.mark.parametrize("role", ROLES)
def test_candidate_questions_cover_every_theme(role: str) -> None:
    asks, problems = candidate_questions(ROOT, role)
    assert problems == []
    assert len(asks) >= (30 if role == ROLE else 12)
    assert {a.theme for a in asks} == {
        "team",
        "engineering",
        "product",
        "growth",
        "process",
        "role",
    }
    for level in Level:
        assert sum(level in a.levels for a in asks) >= (8 if role == ROLE else 4)
