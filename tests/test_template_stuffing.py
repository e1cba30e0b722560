"""Keyword stuffing in sentence form, and as a long comma list, is told from real writing."""

from __future__ import annotations

import json

from interviewer.config import PROJECT_ROOT
from interviewer.corpus import load_corpus
from interviewer.scoring.template_stuffing import shape, template_sentences
from interviewer.scoring.text import GLUE_WORDS, is_prose, is_term_list

QUESTIONS = load_corpus(PROJECT_ROOT / "corpus").questions
BACKEND_V1 = PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl"
GRADED = [
    json.loads(line)["answer"]
    for line in BACKEND_V1.read_text(encoding="utf-8").splitlines()[1:]
    if line.strip()
]


def _terms(text: str) -> list[str]:
    seen: list[str] = []
    for word in text.replace(",", " ").replace(".", " ").split():
        known = {w.lower() for w in seen} | GLUE_WORDS
        if word.isalpha() and word.lower() not in known:
            seen.append(word)
    return seen


def test_one_template_over_and_over_is_found() -> None:
    for q in QUESTIONS[:50]:
        terms = _terms(q.reference_answer)[:20]
        stuffed = " ".join(
            f"The {a} is {b}." for a, b in zip(terms[::2], terms[1::2], strict=False)
        )
        found = template_sentences(f"I have worked with this a lot. {stuffed}")
        assert len(found) >= 4 and all(s.startswith("The ") for s in found), q.id


def test_no_real_answer_is_a_template() -> None:
    real = [q.reference_answer for q in QUESTIONS] + GRADED
    assert [t[:60] for t in real if template_sentences(t)] == []


def test_a_list_one_item_a_line_is_not_a_template() -> None:
    """SAF's IPv6 answers list the goals one a line, each "To ... X": a list, not stuffing."""
    goals = "To support more hosts.\nTo reduce routing tables.\nTo simplify processing.\n"
    assert template_sentences(goals * 2) == set()
    assert shape("The cache is TTL.") == shape("The lock is SETNX.") == ("the", "X", "is", "X")
    assert shape("Bulb A is lit.") == ("X", "is", "X")  # a capital letter alone is a name


def test_a_long_comma_list_of_terms_is_not_prose() -> None:
    """Small words among the terms ("onto", "such", "make") made a 40-term list read as prose."""
    terms = "pull, latest, main, create, branch, such, fix, make, change, test, commit, onto"
    assert is_term_list(terms) and not is_prose(terms)
    for data in (
        "(A, B, forward), (A, C, forward), (A, D, drop), (B, E, forward)",
        "float can hold: 1.54, 55.55, 1.24, 5.657, 8.8123, 3.1, 2.2, 9.9",
        "We compared Redis, Memcached and Hazelcast, and picked Redis for its types.",
    ):
        assert not is_term_list(data), data
