"""Credentials in configured URLs are masked wherever a URL is shown."""

from __future__ import annotations

import pytest

from interviewer.redact import redact_database_url, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),  # nothing to hide: as is
        ("https://kim:s3cr3t@llm.example/v1", "https://***@llm.example/v1"),
        ("https://sk-token@llm.example:8443/v1", "https://***@llm.example:8443/v1"),
        (
            "https://llm.example/openai?api-version=2024-06-01&api-key=s3cr3t",
            "https://llm.example/openai?api-version=2024-06-01&api-key=***",
        ),
        (
            "https://h/v1?Access_Token=s3cr3t&sig=s3cr3t&page=2",
            "https://h/v1?Access_Token=***&sig=***&page=2",
        ),
        ("https://h/v1#token=s3cr3t", "https://h/v1#token=***"),
        ("http://[::1", "***"),  # not a URL at all: nothing of it is shown
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://kim:s3cr3t@db/i", "postgresql+psycopg://kim:***@db/i"),
        (
            "mysql+pymysql://kim@db/i?password=s3cr3t&charset=utf8",
            "mysql+pymysql://kim@db/i?charset=utf8&password=***",  # SQLAlchemy sorts the query
        ),
        ("sqlite:////data/my sessions.db", "sqlite:////data/my sessions.db"),
        ("kim:s3cr3t@db/i", "***@db/i"),  # no scheme: not a URL, the part before @ is hidden
    ],
)
def test_redact_database_url(url: str, shown: str) -> None:
    assert redact_database_url(url) == shown
