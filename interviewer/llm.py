"""LLM mode: a LangChain chat model from settings, the LLM conductor and the LLM judge.

Any OpenAI-compatible endpoint works (OpenAI, Azure, Ollama, vLLM, llama.cpp server): set
``INTERVIEWER_MODEL`` (e.g. ``openai:gpt-4o-mini``) and, for a local server,
``INTERVIEWER_BASE_URL``. Candidate text always reaches the model fenced as data.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from interviewer.conduct import Checked, Context, describe_failure
from interviewer.domain import (
    AnswerScore,
    CriterionScore,
    Flag,
    FollowUp,
    KeyPoint,
    KeyPointResult,
    Question,
)
from interviewer.scoring.base import ScoringRequest
from interviewer.scoring.offline import EmbeddingScorer

if TYPE_CHECKING:
    from interviewer.config import Settings
    from interviewer.packs import Pack

FENCE_OPEN, FENCE_CLOSE = "<<<ANSWER", "ANSWER>>>"


def fence(text: str) -> str:
    """Candidate text as inert data: markers inside it are neutralised."""
    safe = text.replace(FENCE_OPEN, "<< <ANSWER").replace(FENCE_CLOSE, "ANSWER> >>")
    return f"{FENCE_OPEN}\n{safe}\n{FENCE_CLOSE}"


def chat_model(settings: Settings, temperature: float) -> BaseChatModel:
    """The chat model the settings name, e.g. ``openai:gpt-4o-mini`` (default provider: openai)."""
    from langchain.chat_models import init_chat_model

    if not settings.model:
        raise ValueError("no chat model is configured")
    provider, _, name = (
        settings.model.partition(":") if ":" in settings.model else ("openai", "", settings.model)
    )
    kwargs: dict[str, Any] = {
        "temperature": temperature,
        "timeout": settings.llm_timeout,
        "max_retries": settings.llm_max_retries,
    }
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    if settings.api_key is not None:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    elif settings.base_url:
        kwargs["api_key"] = "not-needed"  # local servers ignore it; the client insists on one
    model: BaseChatModel = init_chat_model(name, model_provider=provider, **kwargs)
    return model


def _text(chunk: Any) -> str:
    content = getattr(chunk, "content", "")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


class LLMConductor:
    """The interviewer's voice from a chat model, streamed, grounded in the retrieved question."""

    def __init__(self, model: BaseChatModel, model_name: str) -> None:
        self.model = model
        self.name = f"llm:{model_name}"

    def _system(self, ctx: Context) -> SystemMessage:
        persona = ctx.pack.spec.persona
        return SystemMessage(
            ctx.pack.render(
                "interviewer_system",
                persona_name=persona.name,
                persona_title=persona.title,
                tone=persona.tone,
                level=ctx.level.value,
                format_name=ctx.fmt.name,
                job_description=ctx.job_description or "(none given)",
            )
        )

    def _stream(self, ctx: Context, prompt: str) -> Iterator[str]:
        for chunk in self.model.stream([self._system(ctx), HumanMessage(prompt)]):
            text = _text(chunk)
            if text:
                yield text

    def greet(self, ctx: Context) -> Iterator[str]:
        """The greeting is the pack's own text: it explains the commands exactly."""
        from interviewer.conduct import OfflineConductor

        return OfflineConductor().greet(ctx)

    def ask(self, ctx: Context, q: Question, position: int, total: int) -> Iterator[str]:
        """Pose the question in the persona's voice."""
        points = "\n".join(f"- {kp.text}" for kp in q.expected_at(ctx.level))
        return self._stream(
            ctx,
            ctx.pack.render(
                "ask",
                question=q.question,
                key_points=points,
                level=ctx.level.value,
                position=position,
                question_count=total,
            ),
        )

    def follow_up(
        self,
        ctx: Context,
        q: Question,
        answers: Sequence[str],
        missed: Sequence[KeyPoint],
        suggested: FollowUp,
    ) -> Iterator[str]:
        """Probe the most important missed point without revealing it."""
        return self._stream(
            ctx,
            ctx.pack.render(
                "follow_up",
                question=q.question,
                answer=fence("\n\n".join(answers)),
                missed_points="\n".join(f"- {kp.text}" for kp in missed) or "(none)",
                suggested_follow_up=suggested.text,
                level=ctx.level.value,
            ),
        )

    def reply(self, ctx: Context, candidate_question: str) -> Iterator[str]:
        """Answer the candidate's own question."""
        return self._stream(
            ctx,
            ctx.pack.render(
                "candidate_reply",
                candidate_question=fence(candidate_question),
                persona_name=ctx.pack.spec.persona.name,
            ),
        )

    def close(self, ctx: Context) -> Iterator[str]:
        """The pack's closing text."""
        from interviewer.conduct import OfflineConductor

        return OfflineConductor().close(ctx)

    def take_checks(self) -> Checked:
        """Unchecked: ``GuardedConductor`` checks this conductor's replies."""
        return Checked()


class JudgedCriterion(BaseModel):
    """One criterion as the judge scores it."""

    id: str
    score: int = Field(ge=1, le=5)
    evidence: str = ""
    reason: str = ""


class Judgement(BaseModel):
    """The judge's structured reply."""

    criteria: list[JudgedCriterion]
    covered_key_points: list[str] = Field(default_factory=list)
    missed_key_points: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower().strip("\"'“”")


def quote_in(quote: str, answer: str) -> bool:
    """True when ``quote`` really appears in ``answer`` (whitespace and case aside)."""
    q = _normal(quote)
    return bool(q) and q in _normal(answer)


def _match_point(label: str, q: Question) -> KeyPoint | None:
    label = _normal(label).lstrip("-[ ").split("]")[-1].strip()
    for kp in q.key_points:
        if label in (kp.id, _normal(kp.text)) or label.startswith(kp.id + ":"):
            return kp
    ratios = [
        (difflib.SequenceMatcher(None, label, _normal(kp.text)).ratio(), kp) for kp in q.key_points
    ]
    best = max(ratios, key=lambda r: r[0])
    return best[1] if best[0] >= 0.75 else None


HELD_TO_OFFLINE = frozenset({Flag.INJECTION_SUSPECTED, Flag.WORDS_OUT_OF_ORDER})
"""Flags of the offline reading under which the judge may not score above it."""


class JudgeScorer:
    """Scores with an LLM (temperature 0, structured output); falls back to the offline scorer.

    Evidence quotes that do not appear in the answer are dropped. When the answer contains an
    attempt to instruct the grader, no criterion may score above the offline scorer's value. A
    criterion the judge scores ``judge_gap`` or more above the offline scorer must quote the
    answer; otherwise the offline score stands and the reason says why (docs/guards.md).
    """

    def __init__(
        self,
        model: BaseChatModel,
        model_name: str,
        offline: EmbeddingScorer,
        pack: Pack,
        endpoint: str = "",
        judge_gap: float = 2.0,
    ) -> None:
        self.pack = pack
        self.judge_gap = judge_gap
        self.endpoint = endpoint
        self.structured = model.with_structured_output(Judgement, method="json_schema")
        self.name = f"llm:{model_name}"
        self.offline = offline

    def prepare(self, q: Question) -> None:
        """Warm the offline fallback for this question."""
        self.offline.prepare(q)

    def score(self, request: ScoringRequest) -> AnswerScore:
        """Judge one answer; any failure yields the offline score with a notice."""
        baseline = self.offline.score(request)
        if not request.answer.strip():
            return baseline
        try:
            return self._judge(request, baseline)
        except Exception as exc:  # timeouts, rate limits, malformed JSON: degrade, never crash
            return baseline.model_copy(
                update={
                    "notice": "The LLM judge could not score this answer "
                    f"({describe_failure(exc)}); it was scored offline."
                }
            )

    @property
    def cache_key(self) -> str:
        """What makes two judgements interchangeable: model, endpoint and the pack's content
        (its judge prompt, rubrics and the calibration of the offline guard)."""
        return f"{self.name}|{self.endpoint}|{self.pack.id}@{self.pack.content_hash}"

    async def ajudge(self, request: ScoringRequest) -> AnswerScore:
        """Judge one answer asynchronously; raises on any failure (the eval runner retries)."""
        baseline_task = asyncio.create_task(asyncio.to_thread(self.offline.score, request))
        if not request.answer.strip():
            return await baseline_task
        try:
            raw = await self.structured.ainvoke([HumanMessage(self._prompt(request))])
        finally:
            baseline = await baseline_task
        return self._finish(request, baseline, raw)

    def _judge(self, request: ScoringRequest, baseline: AnswerScore) -> AnswerScore:
        raw = self.structured.invoke([HumanMessage(self._prompt(request))])
        return self._finish(request, baseline, raw)

    def _finish(self, request: ScoringRequest, baseline: AnswerScore, raw: Any) -> AnswerScore:
        q = request.question
        judgement = raw if isinstance(raw, Judgement) else Judgement.model_validate(raw)
        by_id = {c.id: c for c in judgement.criteria}
        missing = [c.id for c in request.rubric.criteria if c.id not in by_id]
        if missing:
            raise ValueError(f"judge omitted criteria {missing}")
        # An answer that instructs the grader, or reads as word salad, is held to the offline
        # scores (2 and 1.5 at most when capped there): the judge must not be the way around.
        held = bool(HELD_TO_OFFLINE & set(baseline.flags))
        offline_by_id = {c.id: c for c in baseline.criteria}
        criteria = []
        overruled: list[str] = []
        covered_offline = len(baseline.covered())
        for c in request.rubric.criteria:
            got = by_id[c.id]
            offline = offline_by_id[c.id]
            score = got.score
            if held:
                score = min(score, offline.score)
            evidence = got.evidence if quote_in(got.evidence, request.answer) else ""
            reason = (
                got.reason
                if evidence or not got.evidence
                else f"{got.reason} (the quoted evidence is not in the answer and was dropped)"
            )
            if score - offline.score >= self.judge_gap and not evidence:
                reason = (
                    f"The judge gave {score}/5 without quoting the answer, where the offline "
                    f"scorer gave {offline.score}/5 ({covered_offline} of "
                    f"{len(baseline.key_points)} key points covered); the offline score stands. "
                    f"{offline.reason}"
                )
                score, evidence = offline.score, offline.evidence  # hints already counted
                overruled.append(c.name)
            else:
                score = max(1, round(score - 0.5 * request.hints))
            criteria.append(
                CriterionScore(
                    id=c.id, name=c.name, score=score, evidence=evidence, reason=reason.strip()
                )
            )
        covered = {
            kp.id for kp in filter(None, (_match_point(x, q) for x in judgement.covered_key_points))
        }
        offline_kp = {kp.id: kp for kp in baseline.key_points}
        points = [
            KeyPointResult(
                id=kp.id,
                text=kp.text,
                weight=kp.weight,
                covered=kp.id in covered,
                similarity=offline_kp[kp.id].similarity if kp.id in offline_kp else 0.0,
                evidence=offline_kp[kp.id].evidence if kp.id in offline_kp else "",
            )
            for kp in q.key_points
        ]
        points_by = ""
        if not covered:
            # The judge named no key point it found: its silence is no evidence of a miss, so
            # the offline scorer's reading (with the sentences that cover each point) stands.
            points = list(baseline.key_points)
            points_by = baseline.scorer
        flags = list(baseline.flags)
        for name in judgement.flags:
            try:
                flag = Flag(name)
            except ValueError:
                continue
            if flag not in flags:
                flags.append(flag)
        total = sum(c.weight for c in request.rubric.criteria)
        overall = (
            sum(c.weight * s.score for c, s in zip(request.rubric.criteria, criteria, strict=True))
            / total
        )
        return AnswerScore(
            question_id=q.id,
            criteria=criteria,
            overall=round(overall, 2),
            key_points=points,
            red_flags=baseline.red_flags,
            flags=flags,
            scorer=self.name,
            key_points_by=points_by,
            follow_up_closeness=baseline.follow_up_closeness if points_by else [],
            notice=(
                f"The judge's scores for {', '.join(overruled)} were far above the offline "
                "scorer's without evidence quoted from the answer; the offline scores stand."
                if overruled
                else ""
            ),
        )

    def _prompt(self, request: ScoringRequest) -> str:
        q = request.question
        return self.pack.render(
            "judge",
            question=q.question,
            level=request.level.value,
            key_points="\n".join(
                f"- [{kp.id}] {kp.text} (weight {kp.weight}, expected from {kp.level.value})"
                for kp in q.key_points
            ),
            reference_answer=q.reference_answer,
            rubric=request.rubric.render(),
            answer=fence(request.answer),
            red_flags="\n".join(f"- {r}" for r in q.red_flags) or "(none)",
        )
