"""The offline scorer: key-point coverage, relevance, red flags and structure, from embeddings.

Each answer sentence is embedded once and compared with every key point; a point counts as
covered when a sentence says it nearly as written, or comes near it while the answer also uses
the point's own words, and that sentence is kept as the evidence. The
answer's relevance to the question caps everything, so an off-topic answer scores low whatever
its vocabulary, and sentences that try to instruct the grader are dropped before scoring. Raw
features in 0..1 are turned into 1..5 per rubric criterion by ``ScorerParams``, which
``interviewer eval calibrate`` fits on labelled answers and ships with the pack.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interviewer.domain import (
    OFFLINE_SCORER,
    AnswerScore,
    CriterionScore,
    Flag,
    KeyPointResult,
    Level,
    Question,
)
from interviewer.errors import InterviewerError
from interviewer.scoring.base import ScoringRequest
from interviewer.scoring.criteria import OfflineCriterion
from interviewer.scoring.template_stuffing import template_sentences
from interviewer.scoring.text import (
    asks_for_a_score,
    content_tokens,
    cue_count,
    declines,
    is_injection,
    is_keyword_run,
    is_non_answer,
    is_prose,
    is_rejection,
    negates,
    point_words,
    sentences,
)
from interviewer.scoring.word_order import reads_as_word_salad

TRADE_OFF_CUES = (
    "trade-off",
    "tradeoff",
    "trade off",
    "however",
    "but",
    "depends",
    "downside",
    "drawback",
    "cost",
    "on the other hand",
    "versus",
    "vs",
    "instead",
    "at the expense",
    "whereas",
    "risk",
    "alternatively",
    "unless",
)


CALIBRATION_FEATURES = ("similarity", "reference_recall", "word_recall", "length_ratio")
"""The signals a calibration weighs, each explainable to a candidate (``Features.signals``):

- ``similarity``: how close the answer's meaning is to the reference answer, beyond what
  restating the question would earn;
- ``reference_recall``: how much of the reference the answer covers, sentence by sentence;
- ``word_recall``: the share of the reference's own content words it uses (the question's
  words excluded);
- ``length_ratio``: how long it is on topic, against the reference's length (log ratio), up to
  half the reference's length: a shorter answer loses, a longer one earns nothing more.

A red flag (a known misconception) is not among them: matching it by similarity cannot tell an
answer that states the misconception from one that rejects it, and as a signal it lowered the
agreement on interview answers (question-grouped QWK 0.84 without it, 0.75 with). It still
flags the answer and lowers the correctness criterion.
"""


POINT_OWN_WORDS = 3
"""A key point with fewer content words of its own (beyond the question's) is judged by
closeness alone: "States the outcome." has no words an answer would repeat."""

QUOTE_MARGIN_PER_WORD = 0.10
"""A quote gives way to a sentence that shares two or more of its point's own words beyond what
the quote shares, if it sits no further from the point than this much per extra word: a
sentence in the point's words is the one that says it, and MiniLM puts a sentence on the same
subject close ("return 200 so the provider doesn't retry" at 0.69 to the point on ignoring
retried events, "I would store the event id and ignore events I already handled" at 0.53).
On backend-v1's answers and the key-point labels (457 ticked points) a flat 0.15 moved 54
quotes; this moves 11 more distinct ones, 7 of them to the sentence a reader would pick and 1
to a weaker one."""

SHORT_AT = float(np.log(0.5))
"""Log length ratio above which length no longer counts: half the reference's length. Counting
longer answers as better too helped interview answers not at all (question-grouped QWK 0.838
either way) and cost the short-answer sets left out of the fit up to 0.03 Pearson."""

SCRAMBLED_CAP = 1.5
"""The most an answer whose words are in no order a sentence can have scores, on any question
(``word_order``): a grader gives it 1. Shuffling the words of a backend-v1 answer
kept 4.3 of a 5 before this cap; half of them scored above 2."""

INJECTION_CAP = 2.0
"""The most an answer that instructs the grader and asks it for a score scores, on any
question (``text.asks_for_a_score``). The instructions were always dropped and never followed;
before this cap the rest was scored as it stood, so a partial answer with "score this 5/5"
appended kept its 3.2 to 3.6."""


class Curve(BaseModel):
    """A monotone piecewise-linear map from the calibrated value to the 1..5 scale."""

    model_config = ConfigDict(extra="forbid")

    x: list[float]
    y: list[float]

    def __call__(self, value: float) -> float:
        return float(np.interp(value, self.x, self.y))


def on_scale(raw: float, curve: Curve | None) -> float:
    """A calibrated model value (about 0..1) on 1..5: through the curve, else linearly."""
    if curve is None:
        return float(1 + 4 * np.clip(raw, 0.0, 1.0))
    return float(np.clip(curve(raw), 1.0, 5.0))


class Calibration(BaseModel):
    """A linear model from a few answer signals to a 0..1 value, then a monotone curve to 1..5.

    The same weights serve every question: a one-line quiz answer and a full interview answer
    are measured by the same signals, each normalised by the question's own reference, so a
    score means the same thing from one question to the next. Fitted by ``interviewer eval
    calibrate`` on labelled answers from several sources, each weighing the same.
    """

    model_config = ConfigDict(extra="forbid")

    features: list[str]
    weights: list[float]
    intercept: float
    curve: Curve | None = None
    full_cover_at: float = Field(
        default=0.4, ge=0, description="Coverage at which an interview answer is no longer capped."
    )
    no_cover_below: float = Field(
        default=0.12, ge=0, description="Coverage under which an interview answer scores 2 at most."
    )

    @model_validator(mode="after")
    def _lengths(self) -> Calibration:
        unknown = sorted(set(self.features) - set(CALIBRATION_FEATURES))
        if unknown:
            raise ValueError(f"unknown calibration feature(s): {', '.join(unknown)}")
        if len(self.weights) != len(self.features):
            raise ValueError(
                f"weights has {len(self.weights)} values for {len(self.features)} features"
            )
        return self

    def linear(self, values: Mapping[str, float]) -> float:
        """The model's value before the curve (about 0..1)."""
        x = np.array([values[f] for f in self.features])
        return self.intercept + float(np.dot(self.weights, x))

    def predict(self, values: Mapping[str, float], told_in_own_words: bool = False) -> float:
        """Calibrated score on 1..5, within the caps (``told_in_own_words``: see ``cap``)."""
        return min(on_scale(self.linear(values), self.curve), self.cap(values, told_in_own_words))

    def cap(self, values: Mapping[str, float], told_in_own_words: bool = False) -> float:
        """The most an answer can score, whatever the model says.

        An unanswered question scores 1. On any question, an answer that asks the grader for a
        score scores ``INJECTION_CAP`` at most, and one whose words are in no order a sentence
        can have (word salad) ``SCRAMBLED_CAP``. On a curated question (one with written key
        points), relevance caps everything (fluent words about something else earn little) and
        an answer covering no key point scores 2 at most, rising to no cap at
        ``full_cover_at``, unless the rubric is ``told_in_own_words`` (stories). Answers to
        questions that come with a reference only get no more caps: their graders' idea of
        relevance is not ours to guess.
        """
        if not values["answered"]:
            return 1.0
        if not values["curated"]:
            return answer_cap(values)
        if values["relevance"] == 0.0:  # off topic
            return 1.6
        relevance_cap = 1 + 4 * (0.15 + 0.85 * values["relevance"])
        open_share = _ramp(values["coverage"], self.no_cover_below, self.full_cover_at)
        coverage_cap = 5.0 if told_in_own_words else 5.0 - 3.0 * (1.0 - open_share)
        return min(relevance_cap, coverage_cap, answer_cap(values))


def answer_cap(values: Mapping[str, float]) -> float:
    """The caps that hold on any question, for the overall score and every criterion alike:
    they are about what the answer is, not what it covers."""
    asked = INJECTION_CAP if values.get("asks_for_score", 0.0) else 5.0
    return min(asked, SCRAMBLED_CAP if values.get("scrambled", 0.0) else 5.0)


class CalibrationError(InterviewerError):
    """A calibration file could not be read; the message names it and what to do."""


class ScorerParams(BaseModel):
    """Tunable thresholds and the mapping from raw features to the 1..5 scale."""

    model_config = ConfigDict(extra="forbid")

    cover_low: float = Field(default=0.35, description="Similarity at which coverage starts.")
    cover_high: float = Field(default=0.62, description="Similarity of a fully covered point.")
    covered_at: float = Field(
        default=0.5,
        description="Coverage that counts as 'covered' for a key point with fewer than "
        "``POINT_OWN_WORDS`` content words of its own (the others need their words too).",
    )
    point_close_at: float = Field(
        default=0.75, description="Similarity at which a sentence says a key point by itself."
    )
    point_near_at: float = Field(
        default=0.40,
        description="Similarity at which a sentence says a key point when the answer also "
        "uses ``point_words_at`` of the point's own content words.",
    )
    point_words_at: float = Field(
        default=0.35, description="Share of a key point's own content words the answer uses."
    )
    red_flag_at: float = Field(
        default=0.76,
        description="Similarity to a red flag at which a sentence states it (when it is also "
        "closer to the red flag than to the reference and the key points).",
    )
    off_topic_below: float = Field(
        default=0.22, description="Relevance under which an answer is off topic."
    )
    relevant_sentence_at: float = Field(
        default=0.35, description="Similarity at which a sentence counts towards answer length."
    )
    restated_at: float = Field(
        default=0.9,
        description="Similarity to the question at which a sentence of an answer to a curated "
        "question is the question said back, and is not scored.",
    )
    evidence_direct_at: float = Field(
        default=0.45,
        description="Similarity to the key point's own text at which the closest sentence is "
        "quoted as evidence, rather than the one closest to its anchor.",
    )
    quiz_reference_words: int = Field(
        default=40, description="A reference this short marks a quiz-style question."
    )
    relevance_low: float = 0.2
    relevance_high: float = 0.55
    short_answer_words: int = 25
    slope: float = Field(default=4.0, description="Raw 0..1 to score: 1 + slope*raw + offset.")
    offset: float = 0.0
    hint_penalty: float = 0.5
    calibration: Calibration | None = None

    @classmethod
    def load(cls, path: Path | None) -> ScorerParams:
        """Parameters from a calibration file, or the defaults.

        A file this version cannot read (damaged, or fitted with the features of an older
        scorer) is a ``CalibrationError`` naming the file and the way out.
        """
        if path is None or not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.model_validate(data.get("params", data) if isinstance(data, dict) else data)
        except (ValueError, UnicodeDecodeError) as exc:  # JSON and pydantic errors alike
            first = exc.errors()[0] if isinstance(exc, ValidationError) else None
            where = f"field {'.'.join(map(str, first['loc']))}: {first['msg']}" if first else exc
            raise CalibrationError(
                f"{path}: not a calibration this version can read ({where}). Fit it again with "
                "`interviewer eval calibrate --pack PACK --dataset ...`, or delete it to score "
                "with the parent's calibration."
            ) from None


@dataclass(frozen=True)
class Features:
    """Raw features of an answer, each in 0..1 unless said otherwise."""

    coverage: float
    essential: float
    advanced: float
    relevance: float
    reference: float
    length: float
    structure: float
    trade_offs: float
    red_flag: bool
    similarity: float = 0.0
    reference_recall: float = 0.0
    word_recall: float = 0.0
    relevant_words: int = 0
    reference_words: int = 0
    answered: bool = True
    curated: bool = True
    scrambled: bool = False
    asks_for_score: bool = False

    def calibration_values(self) -> dict[str, float]:
        """The signals a ``Calibration`` reads (see ``CALIBRATION_FEATURES``), and what its
        caps read.

        Length counts only on-topic sentences, so filler cannot buy a longer answer, and it is
        measured against the reference answer's length: a one-line reference expects one line.
        Past half the reference's length (``SHORT_AT``) it earns nothing more.
        """
        ratio = np.log((self.relevant_words + 1) / (self.reference_words + 1))
        return {
            "similarity": self.similarity,
            "reference_recall": self.reference_recall,
            "word_recall": self.word_recall,
            "length_ratio": float(np.clip(ratio, -3.0, SHORT_AT)),
            "red_flag": float(self.red_flag),
            "coverage": self.coverage,
            "relevance": self.relevance,
            "answered": float(self.answered),
            "curated": float(self.curated),
            "scrambled": float(self.scrambled),
            "asks_for_score": float(self.asks_for_score),
        }


def _expected(q: Question, level: Level) -> list[int]:
    """Indexes of the key points expected at the level; every point, for a level below all of
    them (a question asked above its levels)."""
    return [i for i, kp in enumerate(q.key_points) if kp.level.rank <= level.rank] or list(
        range(len(q.key_points))
    )


def _coverage(q: Question, level: Level, cover: np.ndarray) -> tuple[float, float, float]:
    """Key-point coverage at the level (weighted), of the essential points, and of the hardest
    points for the level; a question without key points: the mean over reference sentences."""
    if not q.key_points:
        mean = float(cover.mean())
        return mean, mean, mean
    expected = _expected(q, level)
    weights = np.array([q.key_points[i].weight for i in expected], dtype=np.float32)
    coverage = float(weights @ cover[expected] / weights.sum())
    essential_idx = [i for i in expected if q.key_points[i].weight == 3] or expected
    top_rank = max(kp.level.rank for kp in q.key_points)
    advanced_idx = [
        i for i, kp in enumerate(q.key_points) if kp.level.rank >= min(level.rank, top_rank)
    ] or expected
    return coverage, float(cover[essential_idx].mean()), float(cover[advanced_idx].mean())


def _ticked_share(q: Question, level: Level, results: list[KeyPointResult]) -> float | None:
    """Weighted share of the key points expected at the level that the report ticks; None for
    a question without key points."""
    if not q.key_points:
        return None
    expected = _expected(q, level)
    ticked = sum(q.key_points[i].weight for i in expected if results[i].covered)
    return ticked / sum(q.key_points[i].weight for i in expected)


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / max(high - low, 1e-6), 0.0, 1.0))


def _quote(row: np.ndarray, straight: np.ndarray, shared: np.ndarray, direct_at: float) -> int:
    """The sentence quoted for a point. By closeness first: the sentence closest to the point's
    own text when one is clearly close (``straight`` reaches ``direct_at``), else the closest
    through the point or its anchor (``row``; -1 for a sentence that cannot be quoted). An
    anchor can sit closer to a neighbouring sentence, and a sentence on the same subject can sit
    closer than the one that says the point, so when a sentence nearly as close shares two or
    more of the point's own words beyond what that choice shares (``shared``: per sentence), the
    one sharing most is quoted instead ("a load test at expected peak" over "a runbook for each
    alert ... failing over, shedding load" for a point on load tests and alerts firing): "nearly"
    is ``QUOTE_MARGIN_PER_WORD`` per extra word shared."""
    chosen = int(straight.argmax()) if straight.max() >= direct_at else int(row.argmax())
    lead = shared - shared[chosen]
    fits = (lead >= 2) & (row > -1.0) & (row >= row[chosen] - QUOTE_MARGIN_PER_WORD * lead)
    if not fits.any():
        return chosen
    return int(np.lexsort((row, np.where(fits, shared, -1)))[-1])


class EmbeddingScorer:
    """Scores answers offline with sentence embeddings; deterministic for a given model."""

    name = OFFLINE_SCORER

    def __init__(
        self,
        embeddings: Embeddings,
        params: ScorerParams | None = None,
        cache_size: int = 256,
        question_embeddings: Embeddings | None = None,
    ) -> None:
        """``question_embeddings`` embeds question texts only (the same model; a
        ``CachedEmbeddings`` keeps them between processes); answers go to ``embeddings``."""
        self.embeddings = embeddings
        self.question_embeddings = question_embeddings or embeddings
        self.params = params or ScorerParams()
        self._cache: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # shared by the browser sessions of one server

    def prepare(self, q: Question) -> None:
        """Embed a question's key points and follow-ups ahead of time (the engine calls this
        when asking)."""
        self._question_vectors(q)

    def _question_vectors(self, q: Question) -> dict[str, np.ndarray]:
        """Key point, anchor, question, reference, red-flag and follow-up vectors, cached per
        question.

        A key point's anchor is the reference-answer sentence closest to it: the way a strong
        candidate actually says it. Key points written as meta-descriptions ("describes a
        concrete situation") match an answer far better through their anchors. A question
        without key points (labelled data from elsewhere) uses its reference sentences.
        """
        key = q.content_hash()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        ref_sentences = sentences(q.reference_answer) or [q.reference_answer]
        points = [kp.text for kp in q.key_points]
        # The reference is the mean of its sentences: embedding the whole answer would pad
        # every text in the batch to its length and cost five times as much.
        asked = sentences(q.question)
        follow_ups = [f.text for f in q.follow_ups]
        texts = [*points, q.question, *q.red_flags, *ref_sentences, *asked, *follow_ups]
        every = np.asarray(self.question_embeddings.embed_documents(texts), dtype=np.float32)
        split = len(every) - len(follow_ups)
        vecs, follow_up_vecs = every[:split], every[split:]
        n, r, a = len(points), len(q.red_flags), len(asked)
        ref = vecs[n + 1 + r : len(vecs) - a]
        kp = vecs[:n] if n else ref
        centroid = ref.mean(axis=0)
        reference = centroid / (np.linalg.norm(centroid) + 1e-9)
        entry = {
            "kp": kp,
            "anchor": ref[(kp @ ref.T).argmax(axis=1)],
            "question": vecs[n],
            "reference": reference,
            "reference_sentences": ref,
            # what restating the question earns: the floor of ``similarity``
            "question_floor": np.float32(vecs[n] @ reference),
            "red_flags": vecs[n + 1 : n + 1 + r],
            # the question whole and sentence by sentence: what saying it back looks like
            "asked": np.vstack([vecs[n : n + 1], vecs[len(vecs) - a :]]),
            "follow_ups": follow_up_vecs,  # one row per curated follow-up
        }
        with self._lock:
            self._cache[key] = entry
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    def _pieces(self, q: Question, answer: str) -> list[str]:
        """The answer's sentences that are scored.

        Sentences that try to instruct the grader are dropped; terms listed beside real
        sentences, or poured into one short template again and again, are stuffing and earn
        nothing. An answer that is only a list of terms or a
        line of code is scored on what it says when the question expects a one-line answer (a
        quiz), and earns nothing in an interview. "I don't know" (and no more) is an honest
        non-answer: nothing is scored.
        """
        if is_non_answer(answer):
            return []
        spoken = [s for s in sentences(answer) if not is_injection(s)]
        templated = template_sentences(answer)  # "The X is Y." over and over: stuffing
        pieces = [s for s in spoken if is_prose(s) and not is_keyword_run(s) and s not in templated]
        if not pieces and len(q.reference_answer.split()) <= self.params.quiz_reference_words:
            pieces = [s for s in spoken if is_prose(s)] or spoken
        return pieces

    def _says_point(
        self, own: frozenset[str], similarity: float, cover: float, said: set[str]
    ) -> bool:
        """Whether the answer covers a key point (what the report ticks and the interviewer
        stops probing).

        Closeness alone over-credits an answer on the right topic, so a sentence must say the
        point nearly as written, or come near it while the answer also uses a share of the
        point's own words (beyond the question's). A point with too few words of its own ("States
        the outcome") is judged by closeness alone. Checked against labelled points in
        ``evals/datasets/key-points-v1.jsonl``. ``own``: the point's words beyond the question's.
        """
        p = self.params
        if len(own) < POINT_OWN_WORDS:
            return cover >= p.covered_at
        if similarity >= p.point_close_at:
            return True
        return similarity >= p.point_near_at and len(own & said) / len(own) >= p.point_words_at

    def _ticks(
        self,
        q: Question,
        pieces: list[str],
        sims: np.ndarray,
        direct: np.ndarray,
        piece_words: list[set[str]],
        said: set[str],
        asked: set[str],
    ) -> list[KeyPointResult]:
        """Which key points the answer covers, each with the sentence that says it.

        A sentence in which the candidate declines to do something ("I would not lock the
        row") sounds like the point that does it: it ticks no point, unless the point itself
        is a negative one ("Never stores passwords in plain text"). Only the ticks ignore it;
        the coverage that scores the answer is unchanged. ``piece_words``: each sentence's
        content words; ``said``: all of them beyond the question's.
        """
        p = self.params
        declined = np.array([declines(piece) for piece in pieces])
        if declined.any():
            kept = [w for w, d in zip(piece_words, declined, strict=True) if not d]
            kept_words = set().union(*kept) - asked
            kept_sims = np.where(declined, -1.0, sims)
            kept_direct = np.where(declined, -1.0, direct)
        results = []
        for i, kp in enumerate(q.key_points):
            if declined.any() and not negates(kp.text):
                row, straight, words = kept_sims[i], kept_direct[i], kept_words
            else:
                row, straight, words = sims[i], direct[i], said
            best = int(row.argmax())
            similarity = float(row[best])
            cover = _ramp(similarity, p.cover_low, p.cover_high)
            own = point_words(kp.text) - asked
            covered = similarity > -1.0 and self._says_point(own, similarity, cover, words)
            evidence = ""
            if covered:
                shared = np.array([len(own & w) for w in piece_words])
                evidence = pieces[_quote(row, straight, shared, p.evidence_direct_at)]
            closest = round(float(sims[i].max()), 3)
            results.append(
                KeyPointResult(
                    id=kp.id,
                    text=kp.text,
                    weight=kp.weight,
                    covered=covered,
                    similarity=closest,
                    evidence=evidence,
                    touched=not covered and closest >= p.cover_high,  # as close as a covered one
                )
            )
        return results

    def features(
        self, q: Question, answer: str, level: Level
    ) -> tuple[Features, list[KeyPointResult], list[str]]:
        """Raw features, key point results and red flags hit, for one answer."""
        feats, results, hits, _ = self._analyse(q, answer, level)
        return feats, results, hits

    def _analyse(
        self, q: Question, answer: str, level: Level
    ) -> tuple[Features, list[KeyPointResult], list[str], np.ndarray]:
        """``features``, and the vectors of the answer's sentences that count (one row each)."""
        p = self.params
        pieces = self._pieces(q, answer)
        curated = bool(q.key_points)
        qv = self._question_vectors(q) if pieces else {}
        sent = np.asarray(self.embeddings.embed_documents(pieces), dtype=np.float32)
        if curated and pieces:
            # Saying the question back earns nothing. Only on curated questions: quiz graders
            # give full marks to one-line answers that echo the question's wording.
            kept = (sent @ qv["asked"].T).max(axis=1) < p.restated_at
            pieces = [piece for piece, keep in zip(pieces, kept, strict=True) if keep]
            sent = sent[kept]
        if not pieces:
            results = [
                KeyPointResult(id=kp.id, text=kp.text, weight=kp.weight, covered=False)
                for kp in q.key_points
            ]
            empty = Features(0, 0, 0, 0, 0, 0, 0, 0, False)
            empty = replace(
                empty,
                reference_words=len(q.reference_answer.split()),
                answered=False,
                curated=curated,
            )
            return empty, results, [], sent
        whole = " ".join(pieces)
        centroid = sent.mean(axis=0)
        answer_vec = centroid / (np.linalg.norm(centroid) + 1e-9)
        direct = qv["kp"] @ sent.T  # key points x sentences
        said_ref = qv["reference_sentences"] @ sent.T  # reference sentences x sentences
        sims = np.maximum(direct, qv["anchor"] @ sent.T)
        best = sims.argmax(axis=1)
        cover = np.array(
            [_ramp(float(sims[i, best[i]]), p.cover_low, p.cover_high) for i in range(len(sims))]
        )
        # four letters: short answers say "connects" where the reference says "connected"
        asked = content_tokens(q.question, letters=4)
        piece_words = [content_tokens(piece, letters=4) for piece in pieces]
        said = set().union(*piece_words) - asked
        results = self._ticks(q, pieces, sims, direct, piece_words, said, asked)
        coverage, essential, advanced = _coverage(q, level, cover)
        relevance_raw = float(max(answer_vec @ qv["question"], answer_vec @ qv["reference"]))
        relevance = _ramp(relevance_raw, p.relevance_low, p.relevance_high)
        cosine = float(answer_vec @ qv["reference"])
        reference = _ramp(cosine, 0.3, 0.8)
        floor = float(qv["question_floor"])
        words = len(whole.split())
        length = _ramp(words, p.short_answer_words * 0.4, p.short_answer_words * 3)
        mean_len = words / len(pieces)
        structure = float(np.clip(1.0 - abs(mean_len - 18) / 40, 0.2, 1.0)) * min(1.0, length * 1.5)
        trade_offs = min(1.0, cue_count(whole, TRADE_OFF_CUES) / 3)
        hits: list[str] = []
        if len(qv["red_flags"]):
            # what each sentence is closest to among the reference's and key points' own
            nearest = np.maximum(said_ref.max(axis=0), direct.max(axis=0))
            hits = self._red_flags_stated(q, pieces, qv["red_flags"] @ sent.T, nearest)
        expected_words = content_tokens(q.reference_answer, letters=4) - asked
        feats = Features(
            coverage,
            essential,
            advanced,
            relevance if relevance_raw >= p.off_topic_below else 0.0,
            reference,
            length,
            structure,
            trade_offs,
            bool(hits),
            similarity=(cosine - floor) / max(1.0 - floor, 0.05),
            reference_recall=float(said_ref.max(axis=1).mean()),
            word_recall=len(said & expected_words) / max(1, len(expected_words)),
            relevant_words=self._relevant_words(pieces, sims, sent, qv),
            reference_words=len(q.reference_answer.split()),
            curated=curated,
            scrambled=reads_as_word_salad(answer),
            asks_for_score=asks_for_a_score(answer),
        )
        return feats, results, hits, sent

    def _red_flags_stated(
        self, q: Question, pieces: list[str], rf: np.ndarray, nearest: np.ndarray
    ) -> list[str]:
        """The red flags some sentence states: one close to the misconception (``rf``: red
        flags x sentences), closer to it than to anything the reference or a key point says
        (``nearest``, per sentence), and not naming it to reject it.

        Closeness alone flagged correct answers: a sentence on the same subject is near the
        misconception too (the model answers of 120 of 466 bank questions tripped their own
        red flags; on backend-v1, 26 of the 34 answers it flagged had notes naming no red flag).
        """
        rejects = np.array([is_rejection(piece) for piece in pieces])
        stated = (rf >= self.params.red_flag_at) & (rf > nearest) & ~rejects
        return [flag for flag, row in zip(q.red_flags, stated, strict=True) if row.any()]

    def _relevant_words(
        self, pieces: list[str], sims: np.ndarray, sent: np.ndarray, qv: dict[str, np.ndarray]
    ) -> int:
        """Words in the sentences that are about the question (close to a key point, the
        question or the reference); filler and asides do not count."""
        closeness = np.maximum(
            sims.max(axis=0), np.maximum(qv["question"] @ sent.T, qv["reference"] @ sent.T)
        )
        return sum(
            len(piece.split())
            for piece, c in zip(pieces, closeness, strict=True)
            if c >= self.params.relevant_sentence_at
        )

    def _raw(self, criterion: OfflineCriterion, f: Features, answer: str) -> float:
        """Raw 0..1 value of one criterion, as its ``offline`` block in the pack says."""
        raw = criterion.raw(_signals(f), answer, f.red_flag)
        # Relevance caps everything: fluent words about something else earn nothing.
        return float(np.clip(min(raw, 0.15 + 0.85 * f.relevance), 0.0, 1.0))

    def score(self, request: ScoringRequest) -> AnswerScore:
        """Score one question's answers against its rubric."""
        p = self.params
        q = request.question
        feats, results, hits, sent = self._analyse(q, request.answer, request.level)
        flags: list[Flag] = []
        if not request.answer.split():
            flags.append(Flag.EMPTY)
        elif is_non_answer(request.answer):
            flags.append(Flag.NO_ANSWER)
        elif feats.relevance == 0.0:
            flags.append(Flag.OFF_TOPIC)
        if feats.scrambled:
            flags.append(Flag.WORDS_OUT_OF_ORDER)
        if any(is_injection(s) for s in sentences(request.answer)):
            flags.append(Flag.INJECTION_SUSPECTED)
        if request.truncated:
            flags.append(Flag.TRUNCATED)
        if request.hints:
            flags.append(Flag.HINTED)
        if hits:
            flags.append(Flag.RED_FLAG)
        criteria = []
        covered = [kp for kp in results if kp.covered]
        shown = q.listed_at(results, request.level)  # what the report lists
        best_evidence = (
            max(covered, key=lambda kp: kp.weight * kp.similarity).evidence if covered else ""
        )
        values = {
            c.id: 1 + p.slope * self._raw(c.offline, feats, request.answer) + p.offset
            for c in request.rubric.criteria
        }
        weights = {c.id: c.weight for c in request.rubric.criteria}
        total_weight = sum(weights.values())
        target: float | None = None
        if p.calibration is not None:
            # The calibrated overall comes from features fitted on human grades; criteria keep
            # their relative shape and move together to meet it.
            uncalibrated = sum(weights[k] * v for k, v in values.items()) / total_weight
            target = p.calibration.predict(
                feats.calibration_values(), request.rubric.told_in_own_words
            )
            values = {k: v + target - uncalibrated for k, v in values.items()}
        ticked = _ticked_share(q, request.level, results)
        for c in request.rubric.criteria:  # a criterion that counts key points follows the ticks
            if c.offline.from_ticks and ticked is not None:
                share = c.offline.from_ticks
                values[c.id] = (1 - share) * values[c.id] + share * (1 + 4 * ticked)
        values = {
            k: float(np.clip(v - p.hint_penalty * request.hints, 1, 5)) for k, v in values.items()
        }
        for c in request.rubric.criteria:  # a criterion the answer did not address
            cap = c.offline.weak_cap
            if cap is not None and c.offline.weak(_signals(feats), request.answer):
                values[c.id] = min(values[c.id], float(cap))
        held = answer_cap(feats.calibration_values())  # word salad reads well on no criterion
        values = {k: min(v, held) for k, v in values.items()}
        for c in request.rubric.criteria:
            score = int(np.clip(round(values[c.id]), 1, 5))
            criteria.append(
                CriterionScore(
                    id=c.id,
                    name=c.name,
                    score=score,
                    evidence=best_evidence if score > 1 else "",
                    reason=_reason(c.offline, feats, covered, shown, request.answer),
                )
            )
        overall = sum(weights[k] * v for k, v in values.items()) / total_weight
        if target is not None:  # the calibrated value itself, not its clipped criteria
            overall = float(np.clip(target - p.hint_penalty * request.hints, 1, 5))
        return AnswerScore(
            question_id=q.id,
            criteria=criteria,
            overall=round(overall, 2),
            key_points=results,
            red_flags=hits,
            flags=flags,
            scorer=self.name,
            follow_up_closeness=self._follow_up_closeness(request, sent),
        )

    def _follow_up_closeness(self, request: ScoringRequest, sent: np.ndarray) -> list[float]:
        """For a question answered in the candidate's own words, how close the answer's
        closest sentence comes to each curated follow-up: what the story already told, where
        the key-point ticks miss most of it."""
        q = request.question
        if not (request.rubric.told_in_own_words and q.follow_ups and len(sent)):
            return []
        closest = (self._question_vectors(q)["follow_ups"] @ sent.T).max(axis=1)
        return [round(float(c), 3) for c in closest]


def _signals(f: Features) -> dict[str, float]:
    """The features a criterion's ``offline`` block may weigh (``criteria.FEATURE_SIGNALS``)."""
    return {
        "coverage": f.coverage,
        "essential": f.essential,
        "advanced": f.advanced,
        "reference": f.reference,
        "length": f.length,
        "structure": f.structure,
        "trade_offs": f.trade_offs,
    }


def _reason(
    criterion: OfflineCriterion,
    f: Features,
    covered: list[KeyPointResult],
    shown: list[KeyPointResult],
    answer: str,
) -> str:
    """One line a candidate can act on, counting the key points the report lists; a point
    touched on (not ticked, but as close as a covered one) is named, since the score counts it."""
    if f.relevance == 0.0:
        return "The answer did not address the question that was asked."
    if shown:
        share = f"{len(covered)} of {len(shown)} key points covered"
        near = sum(kp.touched for kp in shown)
        if near:  # what lifts a score above the ticks: said in part, not made
            share += f", {near} touched on but not made"
    else:  # a question with a reference answer only
        share = f"about {f.coverage:.0%} of the reference answer covered"
    if f.asks_for_score:
        return f"{share}; it asks the grader for a score, so it scores 2 at most."
    if f.scrambled:
        return f"{share}; its words read as out of order, so it is scored as hard to follow."
    if criterion.weak_reason and criterion.weak(_signals(f), answer):
        return f"{share}; {criterion.weak_reason.rstrip('.')}."
    if criterion.red_flag_penalty and f.red_flag:
        return f"{share}; the answer repeats a common misconception."
    return f"{share}."
