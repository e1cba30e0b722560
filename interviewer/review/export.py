"""Graded items as an eval dataset (the JSONL format of ``interviewer eval``)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from interviewer.evals.datasets import EvalItem
from interviewer.evals.items import from_corpus
from interviewer.evals.key_points import PointItem
from interviewer.review.grades import Grade, ReviewError
from interviewer.review.queue import ReviewItem


def export_lines(
    items: Sequence[ReviewItem],
    grades: Sequence[Grade],
    with_names: bool = False,
    name: str = "",
) -> list[str]:
    """A header line and one line per graded item: the graders' mean overall score as
    ``human_score``, their mean per criterion, how many graded it, and ``group`` set to the
    question. Graders' names, notes and interview ids stay out unless ``with_names``."""
    by_key = {item.key: item for item in items}
    graded: dict[str, list[Grade]] = defaultdict(list)
    for g in grades:
        if g.item_key in by_key:
            graded[g.item_key].append(g)
    if not graded:
        raise ReviewError(
            "No graded items to export: grade some answers on the Review page first (or check "
            "the filters: only graded items of the chosen queue are exported)."
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    header = {
        "dataset": {
            "name": name or f"review-{stamp}",
            "scale": {"min": 1, "max": 5},
            "description": f"Human grades from the Review page, exported {stamp}.",
        }
    }
    lines = [json.dumps(header)]
    for key, per in graded.items():
        item = by_key[key]
        q = item.question
        criteria: dict[str, list[int]] = defaultdict(list)
        for g in per:
            for cid, value in g.criteria.items():
                criteria[cid].append(value)
        corpus_question = from_corpus(q)
        line = EvalItem(
            id=key if with_names else "r-" + hashlib.sha256(key.encode()).hexdigest()[:16],
            question=q.id if corpus_question else q.question,
            category=q.category,
            level=item.level,
            key_points=[] if corpus_question else [kp.text for kp in q.key_points],
            reference_answer="" if corpus_question else q.reference_answer,
            answer=item.answer,
            human_score=round(float(np.mean([g.overall for g in per])), 3),
            criteria_scores={c: round(float(np.mean(v)), 3) for c, v in sorted(criteria.items())},
            rater=", ".join(sorted(g.grader for g in per)) if with_names else "",
            notes=" | ".join(g.note for g in per if g.note) if with_names else "",
            grader_count=len(per),
            group=q.id if corpus_question else q.question,
        )
        lines.append(line.model_dump_json(exclude_defaults=False))
    return lines


def export_point_lines(
    items: Sequence[ReviewItem], grades: Sequence[Grade], name: str = ""
) -> list[str]:
    """Key-point labels (the format of ``interviewer eval points``) for the answers to corpus
    questions whose every key point some grader marked: each point's label is the graders'
    median mark, rounded down (a point one grader calls covered and another partly is partly)."""
    marks: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for g in grades:
        for point, mark in g.points.items():
            marks[g.item_key][point].append(mark)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    header = {
        "dataset": {
            "name": f"{name or 'review'}-key-points",
            "description": f"Graders' key-point marks from the Review page, exported {stamp}.",
        }
    }
    lines = [json.dumps(header)]
    for item in items:
        q, per = item.question, marks.get(item.key, {})
        if not from_corpus(q) or not q.key_points:
            continue  # not a corpus question: nothing to check the ticks against
        if any(kp.id not in per for kp in q.key_points):
            continue
        line = PointItem(
            id="r-" + hashlib.sha256(item.key.encode()).hexdigest()[:16],
            question=q.id,
            level=item.level,
            answer=item.answer,
            points={kp.id: _median_mark(per[kp.id]) for kp in q.key_points},
            source="review",
        )
        lines.append(line.model_dump_json(exclude={"why"}))
    if len(lines) == 1:
        raise ReviewError(
            "No answer has every key point marked yet: mark them in the Key points box while "
            "grading (each point by at least one grader)."
        )
    return lines


def _median_mark(values: list[int]) -> Literal[0, 1, 2]:
    middle = sorted(values)[(len(values) - 1) // 2]  # the lower median
    return 2 if middle >= 2 else 1 if middle == 1 else 0
