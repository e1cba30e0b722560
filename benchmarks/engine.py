"""Engine benchmarks: start to first question, and one offline turn with a 300-word answer."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from interviewer.accounts.access import LOCAL

TARGETS = {"turn_p95_ms": 150.0, "start_p95_s": 2.0}


def run(rounds: int = 40) -> dict[str, float]:
    """Measure with the model already loaded (as in a running app)."""
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.services import Services

    with tempfile.TemporaryDirectory() as tmp:
        services = Services.start(Settings(data_dir=Path(tmp), chroma_url=None))
        services.embeddings.embed_query("warm up")
        questions = list(services.corpus.questions)
        starts, turns = [], []
        for i in range(rounds):
            t = time.perf_counter()
            interview = services.new_interview(
                "backend-developer", Level.MID, "phone-screen", viewer=LOCAL
            )
            interview.start()
            starts.append(time.perf_counter() - t)
            state = interview.session.active
            assert state is not None
            q = services.corpus.by_id()[state.question_id]
            filler = questions[i % len(questions)].reference_answer.split()
            words = (q.reference_answer.split() + filler * 3)[:300]
            answer = " ".join(words)
            t = time.perf_counter()
            interview.handle(answer)
            turns.append(time.perf_counter() - t)
    return {
        "start_p50_s": round(float(np.percentile(starts, 50)), 3),
        "start_p95_s": round(float(np.percentile(starts, 95)), 3),
        "turn_p50_ms": round(float(np.percentile(turns, 50)) * 1000, 1),
        "turn_p95_ms": round(float(np.percentile(turns, 95)) * 1000, 1),
        "turn_p99_ms": round(float(np.percentile(turns, 99)) * 1000, 1),
        "rounds": rounds,
    }
