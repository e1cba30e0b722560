"""How the offline scorer scores one rubric criterion: pack data, not code.

Each rubric criterion in ``pack.yaml`` carries an ``offline`` block naming the signals its raw
0..1 value draws on and their relative weights, the cue words it counts, and an optional
penalty for a known misconception::

    offline:
      signals: {coverage: 0.6, cues: 0.4}
      cues: {words: [database, index, cache, shard], saturate_at: 3}
      weak_reason: no storage choice was named

``OfflineCriterion.raw`` is the weighted mean of the signals (weights are divided by their sum)
minus ``red_flag_penalty`` when the answer repeats a red flag. The scorer then caps it by the
answer's relevance (``EmbeddingScorer._raw``). ``from_ticks`` blends in the key points the
report ticks, once the criteria have met the calibrated overall (``EmbeddingScorer.score``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from interviewer.domain import Strict
from interviewer.scoring.text import cue_count

Signal = Literal[
    "coverage",
    "essential",
    "advanced",
    "reference",
    "length",
    "structure",
    "trade_offs",
    "numbers",
    "cues",
]
SIGNALS: tuple[str, ...] = get_args(Signal)
FEATURE_SIGNALS = tuple(s for s in SIGNALS if s not in ("numbers", "cues"))
"""Signals the scorer measures on the answer (each 0..1); ``numbers`` and ``cues`` are counted
here, on the answer's text."""
CUE_SIGNALS = ("trade_offs", "cues")
"""Signals that count cue words; ``weak_reason`` is said when they are low."""
SIGNAL_HELP = (
    "coverage: weighted share of the expected key points covered; essential: of the weight-3 "
    "points; advanced: of the points at or above the level; reference: closeness to the "
    "reference answer; length: on-topic length; structure: sentence shape and length; "
    "trade_offs: trade-off words (however, downside, versus, ...), saturating at 3; numbers: 1 "
    "when the answer has a digit; cues: the criterion's own cue words"
)
WEAK_BELOW = 0.34
"""A cue signal under this (fewer than a third of ``saturate_at``) counts as missing."""

CueWord = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=80)
]
Weight = Annotated[float, Field(ge=0, le=10)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _known_signals(signals: object) -> object:
    """Name the unknown signals and the known ones (before the schema's plainer message)."""
    if isinstance(signals, Mapping):
        unknown = [str(name) for name in signals if name not in SIGNALS]
        if unknown:
            raise ValueError(
                f"unknown signal(s) {', '.join(unknown)}; signals are {', '.join(SIGNALS)}"
            )
    return signals


Signals = Annotated[dict[Signal, Weight], BeforeValidator(_known_signals)]


class Cues(Strict):
    """Words or phrases the criterion looks for, matched whole and case-insensitively."""

    words: tuple[CueWord, ...] = Field(min_length=1)
    saturate_at: int = Field(
        default=2, ge=1, le=20, description="Distinct words found at which the signal is 1."
    )


class OfflineCriterion(Strict):
    """How the offline scorer turns an answer's signals into a criterion's raw 0..1 value."""

    signals: Signals = Field(min_length=1, description=f"Signal -> relative weight. {SIGNAL_HELP}.")
    cues: Cues | None = Field(default=None, description="Needed when signals weigh cues.")
    red_flag_penalty: float = Field(
        default=0.0, ge=0, le=1, description="Taken off when the answer repeats a red flag."
    )
    weak_reason: Reason | None = Field(
        default=None,
        description="What the report says when a cue signal is low (under a third), e.g. "
        "'few trade-offs or alternatives were weighed'.",
    )
    from_ticks: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="The share of this criterion's score taken from the key points the report "
        "ticks (1 + 4 x their weighted share among the points expected at the level), after "
        "the criteria have moved to meet the calibrated overall; the rest comes from its "
        "signals. For a criterion whose anchors count key points, so that its score agrees "
        "with the ticks shown beside it. 0: signals only. Questions without key points "
        "(a reference answer only) use the signals alone.",
    )
    weak_cap: int | None = Field(
        default=None,
        ge=1,
        le=4,
        description="The highest score this criterion gets when a cue signal is low (under a "
        "third): a criterion the answer did not address scores this at most, however good "
        "the rest of the answer is. None: no cap.",
    )

    @model_validator(mode="after")
    def _scorable(self) -> OfflineCriterion:
        if sum(self.signals.values()) <= 0:
            raise ValueError("signals: the weights sum to 0; give at least one a weight above 0")
        if "cues" in self.signals and self.cues is None:
            raise ValueError("signals weigh cues but no cues are given (cues: {words: [...]})")
        if self.cues is not None and "cues" not in self.signals:
            raise ValueError(
                "cues are given but signals does not weigh them (add cues: <weight> to "
                "signals, or drop the cues; a pack that extends another drops them with "
                "cues: null)"
            )
        for name in ("weak_reason", "weak_cap"):
            if getattr(self, name) is not None and not set(CUE_SIGNALS) & set(self.signals):
                raise ValueError(
                    f"{name} applies when a cue signal is low; signals weighs neither "
                    f"{' nor '.join(CUE_SIGNALS)}"
                )
        return self

    def describe(self) -> str:
        """One line for ``pack show``: the weights, the cues and the penalty."""
        text = " + ".join(f"{weight:g} {name}" for name, weight in self.signals.items())
        if self.cues is not None:
            text += f"; {len(self.cues.words)} cue words, full at {self.cues.saturate_at}"
        if self.red_flag_penalty:
            text += f"; -{self.red_flag_penalty:g} on a red flag"
        if self.from_ticks:
            text += f"; {self.from_ticks:.0%} from the key points ticked"
        if self.weak_cap is not None:
            text += f"; at most {self.weak_cap} without its cues"
        return text

    def values(self, features: Mapping[str, float], answer: str) -> dict[str, float]:
        """Each signal's 0..1 value for this answer (``features``: the feature signals)."""
        values: dict[str, float] = {}
        for name in self.signals:
            if name == "cues" and self.cues is not None:  # the validator makes sure of it
                values[name] = min(1.0, cue_count(answer, self.cues.words) / self.cues.saturate_at)
            elif name == "numbers":
                values[name] = 1.0 if any(ch.isdigit() for ch in answer) else 0.0
            else:
                values[name] = features[name]
        return values

    def raw(self, features: Mapping[str, float], answer: str, red_flag: bool) -> float:
        """Weighted mean of the signals, less the penalty when a red flag was hit (uncapped)."""
        values = self.values(features, answer)
        total = 0.0
        for name, weight in self.signals.items():
            total += weight * values[name]
        raw = total / sum(self.signals.values())
        return raw - (self.red_flag_penalty if red_flag else 0.0)

    def weak(self, features: Mapping[str, float], answer: str) -> bool:
        """True when a cue signal the criterion weighs is under ``WEAK_BELOW``."""
        values = self.values(features, answer)
        return any(values[name] < WEAK_BELOW for name in CUE_SIGNALS if name in values)
