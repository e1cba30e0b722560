"""Turn dataset items into what scorers take, whether they name a corpus question or not."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from interviewer.domain import KeyPoint, Question
from interviewer.evals.datasets import Dataset, DatasetError, EvalItem
from interviewer.packs import Pack
from interviewer.scoring.base import ScoringRequest

DATASET_PREFIX = "eval-"
"""The id prefix of a question built from a dataset item rather than taken from the corpus."""


def from_corpus(q: Question) -> bool:
    """Whether ``q`` is a corpus question (not one built from a dataset item's own fields)."""
    return not q.id.startswith(DATASET_PREFIX)


def as_question(item: EvalItem, corpus: Mapping[str, Question]) -> Question:
    """The corpus question the item names, or a question built from the item's own fields.

    Items from outside the corpus (such as the Mohler data) often have a reference answer and
    no key points; the offline scorer then measures the answer against the reference's
    sentences, and applies none of the caps that curated key points justify.
    """
    if item.question in corpus:
        return corpus[item.question]
    points = [
        KeyPoint.model_construct(id=f"k{i}", text=t, weight=2, level=item.level)
        for i, t in enumerate(item.key_points)
    ]
    digest = hashlib.sha256(f"{item.question}\0{item.reference_answer}".encode()).hexdigest()
    return Question.model_construct(
        id=f"{DATASET_PREFIX}{digest[:12]}",
        role="eval",
        levels=[item.level],
        category=item.category,
        topic="eval",
        question=item.question,
        key_points=points,
        reference_answer=item.reference_answer or " ".join(item.key_points) or item.question,
        follow_ups=[],
        red_flags=[],
        tags=[],
        source="original",
    )


def check_references(
    datasets: Sequence[Dataset], corpus: Mapping[str, Question], limit: int = 10
) -> None:
    """Every item has something to be scored against: a corpus question id, key points or a
    reference answer. A ``DatasetError`` names each item without (file, line, field)."""
    problems = [
        f"{dataset.where(i)}: field reference_answer: empty, and the item has no key_points "
        "and its question is not a corpus question id, so there is nothing to score the answer "
        "against; give the model answer (a CSV or another key: --map reference_answer=NAME)"
        for dataset in datasets
        for i, item in enumerate(dataset.items)
        if item.question not in corpus and not item.reference_answer.strip() and not item.key_points
    ]
    if problems:
        more = len(problems) - limit
        raise DatasetError(
            "\n".join(problems[:limit] + ([f"... and {more} more"] if more > 0 else []))
        )


def as_request(item: EvalItem, corpus: Mapping[str, Question], pack: Pack) -> ScoringRequest:
    """The scoring request for one dataset item."""
    q = as_question(item, corpus)
    return ScoringRequest(q, item.answer, item.level, pack.rubric(q.category))
