"""Child process: open an existing index and re-ingest an unchanged corpus, timing each part."""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()


def main(data_dir: str, size: str) -> None:
    """Print the time to load, open and sync, measured after the imports."""
    from benchmarks.__main__ import synthetic
    from interviewer.config import PROJECT_ROOT, Settings
    from interviewer.corpus import load_corpus
    from interviewer.index import QuestionIndex

    ready = time.perf_counter()
    real = load_corpus(PROJECT_ROOT / "corpus").require_valid().questions
    questions = real if size == "corpus" else synthetic(real, int(size))
    settings = Settings(data_dir=data_dir, cache_dir=f"{data_dir}/cache", chroma_url=None)
    index = QuestionIndex.from_settings(settings)
    report = index.sync(questions)
    assert not report.changed, report.summary()
    done = time.perf_counter()
    print(json.dumps({"sync_s": round(done - ready, 3), "total_s": round(done - started, 3)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
