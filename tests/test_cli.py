"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from interviewer.cli import app

runner = CliRunner()


def test_search_prints_matching_questions() -> None:
    result = runner.invoke(
        app,
        [
            "corpus",
            "search",
            "kafka partitions",
            "--level",
            "senior",
            "--category",
            "technical",
            "-k",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "msg-" in result.output
    assert "3 result(s)" in result.output


def test_ingest_then_reingest_reports_nothing_to_do() -> None:
    first = runner.invoke(app, ["corpus", "ingest"])
    assert first.exit_code == 0, first.output
    assert "0 unchanged" in first.output
    second = runner.invoke(app, ["corpus", "ingest"])
    assert "0 added, 0 updated, 0 removed" in second.output


def test_stats_table_lists_topics_and_levels() -> None:
    result = runner.invoke(app, ["corpus", "stats"], terminal_width=200)
    assert result.exit_code == 0
    for word in ("databases", "system-design", "behavioral", "junior", "senior"):
        assert word in result.output


def test_bad_level_is_rejected_by_the_parser() -> None:
    result = runner.invoke(app, ["corpus", "search", "x", "--level", "guru"])
    assert result.exit_code == 2
    assert "guru" in result.output


def test_user_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "interviewer",
            "corpus",
            "ingest",
            "--corpus",
            str(tmp_path / "missing"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Corpus folder not found" in done.stderr
    assert "Traceback" not in done.stderr
