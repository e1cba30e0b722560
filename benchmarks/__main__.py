"""Index and retrieval benchmarks: ingest, re-ingest, search latency, recall and peak memory.

Usage: ``./run bench [--sizes corpus,10000] [--queries 200]``. Each size runs in its own
process so that peak memory and cold start are measured honestly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.domain import Question

TARGETS = {
    "search_p95_ms@10000": 30.0,
    "reingest_s@corpus": 1.0,
    "full_ingest_s@10000": 60.0,
}


def synthetic(questions: list[Question], n: int, seed: int = 7) -> list[Question]:
    """``n`` distinct items shaped like the real ones.

    Each is a real question with three of its words swapped for words from the corpus's model
    answers, so lengths (and so embedding cost) match the real corpus while every text differs.
    """
    rng = random.Random(seed)
    words = sorted(
        {
            w.strip(".,;:()").lower()
            for q in questions
            for w in q.reference_answer.split()
            if len(w) > 4
        }
    )
    out = []
    for i in range(n):
        base = questions[i % len(questions)]
        tokens = base.question.split()
        for pos in rng.sample(range(len(tokens)), min(3, len(tokens))):
            tokens[pos] = rng.choice(words)
        out.append(base.model_copy(update={"id": f"syn-{i}", "question": " ".join(tokens)}))
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of values."""
    return float(np.percentile(np.asarray(values), p))


def time_cached_rebuild(settings: Any, embeddings: Any, questions: list[Any]) -> float:
    """Seconds to fill an empty collection (a new data folder, --rebuild) from cached vectors."""
    from interviewer.index import QuestionIndex

    rebuilt = QuestionIndex.from_settings(
        settings.model_copy(update={"collection": "rebuilt"}), embeddings
    )
    t = time.perf_counter()
    rebuilt.sync(questions)
    return time.perf_counter() - t


def run_size(size: str, n_queries: int) -> dict[str, float | int | str]:
    """Measure one corpus size in this process."""
    t_start = time.perf_counter()
    from interviewer.config import PROJECT_ROOT, Settings
    from interviewer.corpus import load_corpus
    from interviewer.domain import Category, Level
    from interviewer.embeddings import MiniLMEmbeddings
    from interviewer.index import QuestionIndex
    from interviewer.retrieval import Filters, Retriever

    imported = time.perf_counter()
    real = load_corpus(PROJECT_ROOT / "corpus").require_valid().questions
    questions = real if size == "corpus" else synthetic(real, int(size))
    embeddings = MiniLMEmbeddings()
    t = time.perf_counter()
    embeddings.embed_query("warm up")
    model_load = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        # A private cache folder: the first ingest embeds everything (the vector cache is cold).
        settings = Settings(
            data_dir=Path(tmp), cache_dir=Path(tmp) / "cache", chroma_url=None, embeddings="minilm"
        )
        index = QuestionIndex.from_settings(settings, embeddings)
        t = time.perf_counter()
        first = index.sync(questions)
        full_ingest = time.perf_counter() - t
        t = time.perf_counter()
        again = index.sync(questions)
        reingest = time.perf_counter() - t
        assert not again.changed
        cached_rebuild = time_cached_rebuild(settings, embeddings, questions)

        # A fresh process: open the index and re-ingest the unchanged corpus.
        fresh = subprocess.run(
            [sys.executable, "-m", "benchmarks.reingest", tmp, size],
            capture_output=True,
            text=True,
            check=True,
        )
        fresh_result = json.loads(fresh.stdout)

        retriever = Retriever(index, {q.id: q for q in questions})
        rng = random.Random(11)
        queries = [q.question for q in rng.sample(real, min(len(real), 40))] + [
            "how would you scale a read-heavy service",
            "tell me about a mistake you made",
            "explain idempotency",
            "design a rate limiter",
            "what is a deadlock",
        ]
        lat: list[float] = []
        for i in range(n_queries):
            filters = Filters(
                level=rng.choice([None, *Level]), category=rng.choice([None, *Category])
            )
            t = time.perf_counter()
            retriever.search(queries[i % len(queries)], k=5, filters=filters)
            lat.append((time.perf_counter() - t) * 1000)

        got = index.collection.get(include=["embeddings"])
        ids, matrix = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
        hits = tie_hits = total = 0
        for vector in embeddings.embed_documents(queries):
            sims = matrix @ np.asarray(vector, dtype=np.float32)
            order = np.argsort(-sims)[:10]
            exact = {ids[i] for i in order}
            approx = set(index.collection.query(query_embeddings=[vector], n_results=10)["ids"][0])
            hits += len(exact & approx)
            # A miss whose similarity ties the 10th exact hit (within float error) is no miss.
            tenth = sims[order[-1]]
            tie_hits += len(exact & approx) + sum(
                1 for i in approx - exact if abs(sims[ids.index(i)] - tenth) < 1e-5
            )
            total += 10
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "size": size,
        "items": len(questions),
        "import_s": round(imported - t_start, 2),
        "model_load_s": round(model_load, 2),
        "full_ingest_s": round(full_ingest, 2),
        "ingest_embed_s": round(first.embed_seconds, 2),
        "ingest_write_s": round(first.write_seconds, 2),
        "items_per_s": round(len(questions) / full_ingest, 1),
        "reingest_s": round(reingest, 3),
        "rebuild_cached_vectors_s": round(cached_rebuild, 2),
        "fresh_process_reingest_s": fresh_result["sync_s"],
        "fresh_process_total_s": fresh_result["total_s"],
        "search_p50_ms": round(percentile(lat, 50), 2),
        "search_p95_ms": round(percentile(lat, 95), 2),
        "search_p99_ms": round(percentile(lat, 99), 2),
        "recall_at_10": round(hits / total, 4),
        "recall_at_10_ties": round(tie_hits / total, 4),
        "peak_rss_mb": round(peak_mb, 1),
    }


def _print_suite(title: str, figures: dict[str, float], targets: dict[str, float]) -> None:
    """Every figure, then each target as measured / target."""
    print(f"{title}:")
    for key, value in figures.items():
        print(f"  {key:24} {value}")
    for name, target in targets.items():
        print(
            f"  target {name:17} {figures[name]:8.3f} / {target:<6} = {figures[name] / target:.2f}"
        )
    print()


def main() -> None:
    """Run every size in its own process and print a table with ratios to the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    suites = ["all", "index", "startup", "engine", "scoring", "browser", "load"]
    parser.add_argument("--suite", choices=suites, default="all")
    parser.add_argument("--sizes", default="corpus,10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latest.json"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.queries)))
        return
    suites = {
        "browser": (
            "benchmarks.browser",
            "browser (headless Chromium, streamlit run on 127.0.0.1, offline)",
        ),
        "startup": (
            "benchmarks.startup",
            "process start (a fresh process: the app's imports and one embedding)",
        ),
        "engine": ("benchmarks.engine", "engine (offline, model loaded, phone screen, mid)"),
        "scoring": (
            "benchmarks.scoring",
            "scoring throughput (offline; LLM judge via the eval runner, local server, 100 ms)",
        ),
        # Several minutes of both cores: only when asked for (options: python -m benchmarks.load)
        "load": ("benchmarks.load", "load (1, 4, 8 candidates over the websocket, offline)"),
    }
    for name, (module_name, title) in suites.items():
        if args.suite != name and (args.suite != "all" or name == "load"):
            continue
        module = importlib.import_module(module_name)
        _print_suite(title, module.run(), module.TARGETS)
        if args.suite == name:
            return
    results = []
    for size in args.sizes.split(","):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--one", size, "--queries", str(args.queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    keys = [k for k in results[0] if k != "size"]
    print(f"{'metric':28}" + "".join(f"{r['size']:>14}" for r in results))
    for key in keys:
        print(f"{key:28}" + "".join(f"{r[key]!s:>14}" for r in results))
    print("\ntargets (measured / target, <= 1.00 meets it):")
    for name, target in TARGETS.items():
        metric, _, size = name.partition("@")
        row = next((r for r in results if r["size"] == size), None)
        if row is None:
            continue
        value = float(row["fresh_process_reingest_s" if metric == "reingest_s" else metric])
        print(f"  {name:24} {value:8.3f} / {target:<6} = {value / target:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
