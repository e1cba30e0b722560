"""`streamlit run app.py` with timing probes, for the load benchmark (benchmarks/load.py).

Usage: ``python -m benchmarks.load_server OUT.json -- <streamlit run arguments>``. Before the
server starts, a few functions of the app are wrapped to add up, per function, the calls, the
wall time and the CPU time of the calling thread (``time.thread_time``); the totals are written
to OUT.json every half second. Wall minus CPU is time the thread spent waiting: for the GIL, for
a core, or for I/O. The app itself is unchanged; a probe costs a few microseconds a call.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_totals: dict[str, list[float]] = {}  # name -> [calls, wall s, thread CPU s]
_lock = threading.Lock()


def _probe(owner: Any, attr: str, name: str) -> None:
    """Replace ``owner.attr`` by a wrapper that adds its wall and CPU time to ``name``."""
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            with _lock:
                row = _totals.setdefault(name, [0, 0.0, 0.0])
                row[0] += 1
                row[1] += wall
                row[2] += cpu

    setattr(owner, attr, timed)


def install() -> None:
    """Wrap the page, the engine steps, the store, the scorer and the embedding model."""
    from interviewer.embeddings import MiniLMEmbeddings
    from interviewer.engine import Interview
    from interviewer.scoring.offline import EmbeddingScorer
    from interviewer.services import Services
    from interviewer.store import SessionStore
    from interviewer.web import interview_page

    _probe(interview_page, "_interview_page", "page")  # the whole interview page, one rerun
    _probe(Services, "open_interview", "open_interview")  # load the session from SQLite
    _probe(Interview, "handle", "engine_handle")  # one candidate message, reply included
    _probe(Interview, "resume", "engine_resume")
    _probe(Interview, "start", "engine_start")
    _probe(SessionStore, "save", "store_save")  # inside the engine steps
    _probe(EmbeddingScorer, "score", "scorer_score")  # inside engine_handle
    _probe(MiniLMEmbeddings, "embed_documents", "embed")  # inside the scorer
    _probe(MiniLMEmbeddings, "embed_query", "embed")
    import onnxruntime

    _probe(onnxruntime.InferenceSession, "run", "onnx_run")  # the model itself, inside embed


def profile_runs(folder: Path) -> None:
    """cProfile every script run (one file per run in ``folder``): for finding hot spots,
    not for timing, since profiling slows Python code down."""
    import cProfile
    import itertools

    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script
    counter = itertools.count()

    def profiled(self: Any, rerun_data: Any) -> None:
        profile = cProfile.Profile()
        profile.enable()
        try:
            original(self, rerun_data)
        finally:
            profile.disable()
            profile.dump_stats(folder / f"run-{next(counter)}.prof")

    ScriptRunner._run_script = profiled  # type: ignore[method-assign]


def _writer(out: Path) -> None:
    while True:
        with _lock:
            snapshot = {k: list(v) for k, v in _totals.items()}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot))
        tmp.replace(out)
        time.sleep(0.5)


def main() -> None:
    """Install the probes, start the writer thread, then run Streamlit's own command line."""
    out = Path(sys.argv[1])
    args = sys.argv[sys.argv.index("--") + 1 :]
    install()
    if os.environ.get("LOAD_PROFILE_DIR"):
        profile_runs(Path(os.environ["LOAD_PROFILE_DIR"]))
    threading.Thread(target=_writer, args=(out,), daemon=True, name="probe-writer").start()
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *args]
    streamlit_main()


if __name__ == "__main__":
    main()
