"""Errors a user can act on: each says what went wrong and where."""

from __future__ import annotations


class InterviewerError(Exception):
    """Base for errors shown to the user as a message, never as a traceback."""


class SettingsError(InterviewerError):
    """The settings file or environment holds an invalid value."""


class CorpusError(InterviewerError):
    """The corpus could not be loaded; ``problems`` lists every issue found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        detail = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{message}\n{detail}" if detail else message)


class IndexUnavailableError(InterviewerError):
    """The vector index could not be opened or reached."""


class EmbeddingsError(InterviewerError):
    """The embedding model could not be loaded or configured."""
