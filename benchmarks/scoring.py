"""Scoring throughput: the offline scorer, and the LLM judge at concurrency 1 and 16.

The judge runs through the eval runner (async, bounded concurrency, no cache) against the
project's local OpenAI-compatible test server answering every call after 100 ms, through the
real openai / LangChain clients. Targets are written as seconds per answer (lower is better).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    "offline_ms_per_answer": 100.0,
    "llm_c16_ms_per_answer": 20.0,
}
LATENCY = 0.1


def _requests(n: int) -> tuple[list[object], object, object]:
    from interviewer.config import PROJECT_ROOT, Settings
    from interviewer.evals.datasets import load_jsonl
    from interviewer.evals.items import as_request
    from interviewer.services import Services

    data = load_jsonl(PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl")
    tmp = tempfile.mkdtemp()
    services = Services.start(Settings(data_dir=Path(tmp), chroma_url=None))
    pack = services.pack("backend-developer")
    corpus = services.corpus.by_id()
    items = (data.items * (n // len(data.items) + 1))[:n]
    return [as_request(i, corpus, pack) for i in items], services, pack


def run(answers: int = 160, judged: int = 96) -> dict[str, float]:
    """Measure with the model loaded; every answer is scored once (no cache)."""
    from interviewer.evals.judging import score_all
    from interviewer.llm import JudgeScorer, chat_model

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fake_llm import FakeLLM, judge_reply

    requests, services, pack = _requests(answers)
    offline = services.scorer_for(pack)  # type: ignore[attr-defined]
    offline.score(requests[0])  # warm
    t = time.perf_counter()
    score_all(requests, offline, lambda i, r: None)
    offline_s = time.perf_counter() - t
    figures = {
        "offline_answers": answers,
        "offline_answers_per_s": round(answers / offline_s, 1),
        "offline_ms_per_answer": round(1000 * offline_s / answers, 1),
    }
    with FakeLLM() as fake:
        fake.responder = judge_reply
        fake.latency = LATENCY
        settings = services.settings.model_copy(  # type: ignore[attr-defined]
            update={"model": "openai:fake-model", "base_url": fake.base_url, "llm_max_retries": 0}
        )
        judge = JudgeScorer(
            chat_model(settings, 0.0), "fake-model", offline, pack, endpoint=fake.base_url
        )
        for concurrency in (1, 16):
            batch = requests[:judged] if concurrency > 1 else requests[: judged // 4]
            results: list[object] = []
            t = time.perf_counter()
            collect = results.append
            score_all(batch, judge, lambda i, r, keep=collect: keep(r), concurrency=concurrency)
            elapsed = time.perf_counter() - t
            failures = [r for r in results if isinstance(r, BaseException)]
            figures[f"llm_c{concurrency}_answers"] = len(batch)
            figures[f"llm_c{concurrency}_answers_per_s"] = round(len(batch) / elapsed, 2)
            figures[f"llm_c{concurrency}_ms_per_answer"] = round(1000 * elapsed / len(batch), 1)
            figures[f"llm_c{concurrency}_failures"] = len(failures)
    figures["llm_speedup_c16_over_c1"] = round(
        figures["llm_c16_answers_per_s"] / figures["llm_c1_answers_per_s"], 2
    )
    return figures
