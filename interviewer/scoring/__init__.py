"""Answer scoring: the offline embedding scorer and the LLM judge behind one protocol."""

from interviewer.scoring.base import Scorer, ScoringRequest
from interviewer.scoring.offline import EmbeddingScorer

__all__ = ["EmbeddingScorer", "Scorer", "ScoringRequest"]
