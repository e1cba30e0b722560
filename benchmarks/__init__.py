"""Speed and memory benchmarks; run with ``./run bench`` (not part of the tests)."""
