"""Graded items as an eval dataset (the JSONL format of ``interviewer eval``)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from interviewer.evals.datasets import EvalItem
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
        corpus_question = not q.id.startswith("eval-")
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
