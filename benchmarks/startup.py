"""Process start: a fresh Python process that loads what a command or an app server loads and
embeds one text, timed from outside, with its peak memory.

This is what every `interviewer` command, every app server and every test process pays before
its first useful step. PyTorch and transformers must stay out of it: the exported ONNX model runs
without them (interviewer/minilm_onnx.py), and importing them alone costs about 4.5 s of CPU and
400 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

TARGETS = {"start_to_vector_p50_s": 3.0, "peak_rss_mb": 450.0}

CHILD = """
import json, resource, sys
from interviewer.config import Settings
from interviewer.embeddings import get_embeddings
from interviewer.services import Services  # what the app and the commands import
vector = get_embeddings(Settings()).embed_query("How do database indexes speed up reads?")
heavy = sorted({"torch", "transformers", "sentence_transformers"} & set(sys.modules))
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"dims": len(vector), "heavy": heavy, "peak_mb": peak_mb}))
"""


def _one(env_cache: str) -> tuple[float, dict[str, Any]]:
    """One cold process: wall seconds to its exit, and what it printed."""
    env = dict(os.environ, INTERVIEWER_CACHE_DIR=env_cache)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, env=env
    )
    return time.perf_counter() - started, json.loads(done.stdout.strip().splitlines()[-1])


def run(rounds: int = 7) -> dict[str, float]:
    """``rounds`` cold processes after one that exports the model (not counted)."""
    with tempfile.TemporaryDirectory() as cache:
        _one(cache)  # the one-off ONNX export, as on a machine's first run
        times, peaks, heavy = [], [], 0
        for _ in range(rounds):
            seconds, out = _one(cache)
            times.append(seconds)
            peaks.append(float(out["peak_mb"]))
            heavy += len(out["heavy"])
    return {
        "start_to_vector_p50_s": round(float(np.percentile(times, 50)), 3),
        "start_to_vector_p95_s": round(float(np.percentile(times, 95)), 3),
        "start_to_vector_max_s": round(max(times), 3),
        "peak_rss_mb": round(max(peaks), 1),  # each process's own peak, the largest
        "heavy_modules_imported": heavy,
        "rounds": rounds,
    }
