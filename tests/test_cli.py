"""The command line as a user meets it."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import LOCAL, cli_error, damaged_sessions_db
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
    def said(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, " ".join(result.output.replace("│", " ").split())

    code, output = said("corpus", "search", "x", "--level", "guru")
    assert code == 2 and "'guru' is not one of junior, mid, senior." in output
    assert "Value error" not in output  # typer 0.29 printed pydantic's own prefix
    code, output = said("practice", "--level", "expert")
    assert code == 2 and "'expert' is not one of junior, mid, senior." in output
    code, output = said("corpus", "search", "x", "--category", "tech")
    assert "'tech' is not one of technical, system_design, behavioral, soft_skills." in output
    assert said("corpus", "search", "cache", "--level", " Senior ", "-k", "1")[0] == 0
    assert "junior|mid|senior" in said("practice", "--help")[1]


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


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "interviewer", *args]


def test_practice_survives_a_kill_and_resumes(tmp_path: Path) -> None:
    import os
    import re
    import selectors
    import signal
    import time

    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen(
        _cli("practice", "--level", "junior", "--format", "phone-screen"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen = ""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 120

    def read_until(pattern: str) -> str:
        nonlocal seen
        while not re.search(pattern, seen):
            assert time.monotonic() < deadline, seen[-2000:]
            if selector.select(timeout=1):
                line = proc.stdout.readline()  # type: ignore[union-attr]
                assert line, seen[-2000:]
                seen += line
        return seen

    read_until(r"Session ([0-9a-f]{32})")
    session_id = re.search(r"Session ([0-9a-f]{32})", seen).group(1)  # type: ignore[union-attr]
    proc.stdin.write("My answer before the crash: I would keep it simple.\n")
    proc.stdin.flush()
    # killed as soon as the answer is stored (on a loaded machine that can take more than the
    # few seconds the process needs alone), while it is still being scored or answered
    while (
        "My answer before the crash"
        not in runner.invoke(app, ["sessions", "show", session_id]).output
    ):
        assert time.monotonic() < deadline and proc.poll() is None, seen[-2000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    answers = "\n".join(["skip"] * 6 + ["no"]) + "\n"
    done = subprocess.run(
        _cli("practice", "--resume", session_id[:10]),
        input=answers,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Interview report" in done.stdout
    assert "Your progress: This is your" in " ".join(done.stdout.split())  # after the report
    # The saved session, read back in this process (the crash and resume were real processes).
    shown = runner.invoke(app, ["sessions", "show", session_id], terminal_width=200)
    assert "My answer before the crash" in shown.output
    exported = runner.invoke(app, ["sessions", "export", session_id, "--format", "json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["session_id"] == session_id


def test_sessions_list_shows_whole_ids_in_80_columns_and_as_json(tmp_path: Path) -> None:
    from rich.console import Console

    from interviewer.cli import _sessions_table
    from interviewer.config import Settings
    from interviewer.domain import Level
    from interviewer.services import Services

    services = Services.start(Settings())
    new = functools.partial(services.new_interview, viewer=LOCAL)
    ids = [new("backend-developer", Level.MID, "phone-screen", "kim").session.id]
    ids.append(new("backend-developer", Level.JUNIOR, "behavioral").session.id)
    table = runner.invoke(app, ["sessions", "list"], terminal_width=80)
    assert table.exit_code == 0, table.output
    for session_id in ids:
        assert session_id in table.output, table.output
    # beside a whole id, the other fields wrap in one cell instead of being cut to "ba…"
    assert "…" not in table.output, table.output
    for word in ("backend-developer", "phone-screen", "behavioral", "profile kim", "junior"):
        assert word in table.output, table.output
    wide = Console(width=140, file=io.StringIO())
    wide.print(_sessions_table(services.store.list_sessions(None, viewer=LOCAL), wide=True))
    text = wide.file.getvalue()  # type: ignore[attr-defined]
    assert "│ backend-developer │" in text and "│ kim " in text, text
    listed = runner.invoke(app, ["sessions", "list", "--json", "--profile", "kim"])
    rows = json.loads(listed.output)
    assert [r["id"] for r in rows] == ids[:1]
    assert rows[0]["profile"] == "kim" and rows[0]["level"] == "mid"


def test_a_broken_settings_file_is_a_message_not_a_traceback(
    settings_toml: Callable[[str], Path],
) -> None:
    settings_toml('model = "x\n')
    done = subprocess.run(
        _cli("sessions", "list"), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "cannot be read" in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_damaged_session_database_is_one_message_in_every_command(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = damaged_sessions_db(isolated_env)
    for args in (
        ("sessions", "list"),
        ("sessions", "show", "abcdef1"),
        ("sessions", "export", "abcdef1"),
        ("practice", "--resume", "abcdef1"),
        ("practice",),  # a new interview reads recent sessions and saves: the same message
    ):
        shown = cli_error(monkeypatch, capsys, *args)
        assert f"error: The session database {path} is damaged" in shown, (args, shown)
        assert "left untouched" in shown and ".recover" in shown
        assert "Traceback" not in shown


def test_an_argument_in_another_encoding_is_one_message(
    isolated_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates; stored, they were a traceback."""
    latin1 = b"caf\xe9".decode("utf-8", errors="surrogateescape")  # "café", typed in Latin-1
    for args in (("practice", "--profile", latin1), ("sessions", "list", f"--profile={latin1}")):
        shown = cli_error(monkeypatch, capsys, *args)
        assert "caf\ufffd': not UTF-8 text" in shown and "Traceback" not in shown, shown
    named = tmp_path / latin1  # a file so named exists: the file system takes it as it is
    named.write_text("Backend engineer, payments\n")
    from interviewer.cli import _not_text

    assert _not_text([str(named), f"--job={named}"]) == []


def test_a_database_url_without_its_driver_is_one_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTERVIEWER_DATABASE_URL", "mysql://kim:s3cr3t-pw@db.example/interviews")
    shown = cli_error(monkeypatch, capsys, "sessions", "list")
    assert "mysql://kim:***@db.example/interviews" in shown
    assert "(Python module 'MySQLdb'), which is not installed" in shown
    assert "s3cr3t-pw" not in shown and "Traceback" not in shown


def test_an_empty_session_database_is_replaced_with_a_notice(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "sessions.db").write_bytes(b"")
    monkeypatch.setenv("COLUMNS", "2000")
    first = runner.invoke(app, ["sessions", "list"])
    assert first.exit_code == 0, first.output
    assert f"The session database {isolated_env / 'sessions.db'} was empty (0 bytes)" in (
        first.output
    )
    again = runner.invoke(app, ["sessions", "list"])
    assert "was empty" not in again.output


@pytest.mark.parametrize("job", ["missing.txt", "."])
def test_a_job_description_that_is_not_a_file_is_a_usage_error(
    job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["practice", "--job", job], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert "--job" in result.output and "Traceback" not in result.output
