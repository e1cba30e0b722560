"""What every scorer takes and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from interviewer.domain import AnswerScore, Level, Question

if TYPE_CHECKING:  # packs imports scoring.criteria, so this package cannot import packs
    from interviewer.packs import Rubric


@dataclass(frozen=True)
class ScoringRequest:
    """Everything needed to score one question's answers."""

    question: Question
    answer: str
    level: Level
    rubric: Rubric
    hints: int = 0
    truncated: bool = False


class Scorer(Protocol):
    """Scores an answer against a question's key points and a rubric."""

    name: str

    def score(self, request: ScoringRequest) -> AnswerScore:
        """Score one answer."""
        ...
