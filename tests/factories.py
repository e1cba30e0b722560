"""Builders for corpus items and files used across tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from interviewer.config import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from interviewer.report import Report
from interviewer.accounts.access import LOCAL  # noqa: F401  (the tests import it from here)


def question(
    qid: str = "t-sample",
    *,
    topic: str = "sample",
    category: str = "technical",
    text: str | None = None,
    **overrides: object,
) -> dict[str, object]:
    """A valid corpus item as plain data, with fields overridable."""
    item: dict[str, object] = {
        "id": qid,
        "role": "backend-developer",
        "levels": ["junior", "mid"],
        "category": category,
        "topic": topic,
        "question": text or "How does a hash map find the value for a key, and what does it cost?",
        "key_points": [
            {
                "id": "hashing",
                "text": "The key is hashed to pick a bucket in an array.",
                "weight": 3,
                "level": "junior",
            },
            {
                "id": "collisions",
                "text": "Collisions are resolved by chaining or probing.",
                "weight": 2,
                "level": "junior",
            },
            {
                "id": "resize",
                "text": "The table resizes when the load factor passes a limit.",
                "weight": 2,
                "level": "mid",
            },
        ],
        "reference_answer": " ".join(["A hash map hashes the key to choose a bucket."] * 12),
        "follow_ups": [
            {
                "text": "What happens when two keys land in the same bucket?",
                "probes": ["collisions"],
            },
            {"text": "Why does lookup stay constant time as the map grows?", "probes": ["resize"]},
        ],
        "red_flags": ["Believes lookups are always O(1) whatever the hash function."],
        "tags": ["hash-map"],
        "source": "original",
    }
    item.update(overrides)
    return item


def write_topic(
    root: Path, topic: str, items: list[dict[str, object]], role: str = "backend-developer"
) -> Path:
    """Write a topic file of ``items`` under ``root/role``."""
    path = root / role / f"{topic}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"questions": items}, sort_keys=False))
    return path


def shipped_settings(data_dir: Path, cache_dir: Path) -> Settings:
    """Settings on the shipped corpus with a private data directory, whatever the environment."""
    return Settings(
        data_dir=data_dir,
        cache_dir=cache_dir,
        corpus_dir=PROJECT_ROOT / "corpus",
        chroma_url=None,
        embeddings="minilm",
        collection="questions",
    )


def damaged_sessions_db(data_dir: Path, sessions: int = 6) -> Path:
    """A real ``sessions.db`` holding ``sessions`` sessions, the pages holding them
    overwritten: it still opens (the schema and the migrations table are intact), and any
    query that reads the sessions fails as "malformed"."""
    import sqlite3

    from interviewer.domain import Level, Session
    from interviewer.store import SessionStore

    store = SessionStore.for_data_dir(data_dir)
    store.engine.dispose()
    db = sqlite3.connect(data_dir / "sessions.db")
    try:
        schema_pages = int(db.execute("PRAGMA page_count").fetchone()[0])  # tables, no rows yet
    finally:
        db.close()
    for i in range(sessions):
        store.save(
            Session(
                id=f"abcdef{i}",
                pack_id="backend-developer",
                pack_version="1.0.0",
                pack_hash="h",
                level=Level.MID,
                format="phone-screen",
                profile="kim",
                started_at=f"2026-01-0{i + 1}T09:00:00+00:00",
                job_description="Backend role. " * 200,  # spreads the rows over many pages
            )
        )
    store.engine.dispose()  # the last connection checkpoints the WAL into the file
    path = data_dir / "sessions.db"
    db = sqlite3.connect(path)
    try:
        page = int(db.execute("PRAGMA page_size").fetchone()[0])
    finally:
        db.close()
    size = path.stat().st_size
    assert size > (schema_pages + 2) * page, "too few pages to damage"
    with path.open("r+b") as file:
        file.seek(schema_pages * page)
        file.write(b"\xa5" * (size - schema_pages * page))
    return path


def cli_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    """Run the real entry point in this process (its error handler included), expecting exit 2;
    return stderr, one line per message whatever the path length."""
    from interviewer.cli import main

    monkeypatch.setenv("COLUMNS", "2000")
    monkeypatch.setattr(sys, "argv", ["interviewer", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2, capsys.readouterr()
    return capsys.readouterr().err


def report(**fields: object) -> Report:
    """A finished interview's report with neutral header fields; pass what the test is about."""
    from interviewer.domain import Level
    from interviewer.report import Report

    header: dict[str, object] = {
        "session_id": "s" * 32,
        "pack": "pack",
        "pack_version": "1",
        "pack_hash": "h",
        "level": Level.MID,
        "format": "phone-screen",
        "mode": "offline",
        "started_at": "2026-01-01T00:00:00",
        "ended_at": None,
        "overall": 3.0,
        "criteria": [],
        "questions": [],
        "study_plan": [],
        "notices": [],
        "scorers": ["offline"],
    }
    return Report.model_validate(header | fields)
