"""Word salad: a shuffled answer is told from real answers, terse notes and code talk."""

from __future__ import annotations

import json
import random

import pytest

from interviewer.config import PROJECT_ROOT
from interviewer.corpus import load_corpus
from interviewer.files import safe_yaml
from interviewer.pack_tests import PackTests
from interviewer.scoring.word_order import reads_as_word_salad, word_order

MODEL_ANSWERS = [q.reference_answer for q in load_corpus(PROJECT_ROOT / "corpus").questions]
BACKEND_V1 = PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl"
GRADED = [
    json.loads(line)["answer"]
    for line in BACKEND_V1.read_text(encoding="utf-8").splitlines()[1:]
    if line.strip()
]


def _shuffled(text: str, seed: int) -> str:
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


def test_no_model_answer_or_graded_answer_reads_as_word_salad() -> None:
    pack_answers = [
        case.answer
        for path in sorted((PROJECT_ROOT / "prompts").glob("*/tests.yaml"))
        for case in PackTests.model_validate(safe_yaml(path.read_text(encoding="utf-8"))).cases
        if case.answer.strip()
    ]
    real = [*MODEL_ANSWERS, *GRADED, *pack_answers]
    assert len(real) > 600
    assert [t[:80] for t in real if reads_as_word_salad(t)] == []


def test_shuffled_answers_read_as_word_salad() -> None:
    """Every model answer, shuffled three ways: nearly all are caught (99% measured)."""
    shuffled = [_shuffled(a, seed) for a in MODEL_ANSWERS for seed in range(3)]
    caught = sum(reads_as_word_salad(t) for t in shuffled) / len(shuffled)
    assert caught >= 0.95, caught
    long_graded = [a for a in GRADED if len(a.split()) >= 60]
    caught = sum(reads_as_word_salad(_shuffled(a, 7)) for a in long_graded) / len(long_graded)
    assert caught >= 0.85, caught


@pytest.mark.parametrize(
    "text",
    [
        # programming constructs named after an article
        "I would use a for loop over the rows, then an if statement for the nulls, and the in "
        "operator to check membership. A while loop also works, and the is operator compares "
        "identity. The do block runs at least once in a do while loop.",
        # letters as names, one of them "a"
        "When bulb a is out, bulb b and bulb c stay on. If b is out, then a is still in a "
        "closed path with the battery, but c is not in a closed path.",
        # a pasted answer hard-wrapped at a fixed width, an article ending a line
        "The index is a sorted copy of the column, so a lookup reads a\n"
        "few pages instead of the whole table. It costs the\n"
        "writes: every insert updates the index as well as the table.",
        # terse notes in lower case
        "cache aside: app reads cache first. on a miss it reads the db and fills the cache. "
        "writes go to the db and then delete the key. stale reads are possible for a moment.",
        # headings and lists, quoted sentences, abbreviations
        "Pros:\nIt is simple.\nIt scales reads.\nCons:\nThe writes are slower, e.g. the "
        'insert path. Java prints "Caused by" and Python says "The above exception was '
        'the direct cause".',
    ],
)
def test_real_writing_is_not_word_salad(text: str) -> None:
    result = word_order(text)
    assert not result.scrambled, result


def test_the_slips_are_named() -> None:
    result = word_order("connections the of pool The a reuses is open database")
    assert result.scrambled and result.slips >= 3
    assert "the of" in result.examples and "pool The" in result.examples


def test_a_short_or_empty_answer_is_never_word_salad() -> None:
    for text in ("", "   ", "the", "The of", "Use a queue."):
        assert not reads_as_word_salad(text)
