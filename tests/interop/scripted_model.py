"""Scripted chat models served by LiteLLM's proxy: a LiteLLM custom provider, and its script.

The proxy loads ``handler`` from this module (``custom_provider_map`` in the config that
``tests/litellm_proxy.py`` writes) and routes two model names to it:

``scripted-good``
    behaves: asks the question it was given ("Let's move on. " + the exact question), asks the
    suggested follow-up verbatim, judges with a valid JSON judgement (every rubric criterion,
    score 3, no evidence) and answers the candidate's own questions in a short polite reply.
``scripted-bad``
    misbehaves the ways a real model does: its questions cycle, call by call, through a
    different question entirely, a leaked key point, a bulleted list of three sub-questions and
    praise followed by two questions; its follow-ups reveal the first missed point; its
    judgement scores every criterion 5 with no evidence.

The script itself (``reply``) is plain Python over the prompt text, so it is unit-tested
without LiteLLM; only ``ScriptedLLM`` needs LiteLLM, which is imported when the proxy loads
this module (``handler`` exists only there).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

GOOD, BAD = "scripted-good", "scripted-bad"
MODELS = (GOOD, BAD)
PROVIDER = "scripted"

OFF_TOPIC_QUESTION = "Tell me about your favourite programming language and why you like it?"
CANDIDATE_REPLY = (
    "Thanks for asking. This is a practice interview, so your report comes next with the "
    "scores and what to improve; the specifics of a real team are worth asking its interviewer."
)
FALLBACK_REPLY = "Understood."
BAD_ASKS = 4  # scripted-bad's ask replies cycle through this many misbehaviours

_RUBRIC_LINE = re.compile(r"^- ([a-z0-9-]+) \(", re.MULTILINE)
_ANY_BLOCK = re.compile(r"^<<<([A-Z_]+)\n.*?\n\1>>>$", re.MULTILINE | re.DOTALL)


def block(prompt: str, name: str) -> str | None:
    """The text between ``<<<NAME`` and ``NAME>>>`` (each on a line of its own), if present."""
    found = re.search(rf"^<<<{name}\n(.*?)\n{name}>>>$", prompt, flags=re.MULTILINE | re.DOTALL)
    return found.group(1) if found else None


def rubric_ids(prompt: str) -> list[str]:
    """The rubric's criterion ids (``- <id> (``), outside every fenced block of the prompt."""
    return _RUBRIC_LINE.findall(_ANY_BLOCK.sub("", prompt))


def kind_of(prompt: str, structured: bool = False) -> str:
    """Which of our prompts this is: judge, follow_up, ask, candidate_reply or other."""
    if structured or rubric_ids(prompt):
        return "judge"
    if block(prompt, "SUGGESTED_FOLLOW_UP") is not None:
        return "follow_up"
    if block(prompt, "QUESTION") is not None and block(prompt, "KEY_POINTS") is not None:
        return "ask"
    if "<<<ANSWER" in prompt and block(prompt, "QUESTION") is None:
        return "candidate_reply"
    return "other"


def _first_point(text: str | None) -> str:
    """The first line of a key-point list, without its bullet, as a sentence."""
    for line in (text or "").splitlines():
        point = line.strip().removeprefix("-").strip()
        if point and point != "(none)":
            return point.rstrip(".")
    return "the most important part"


def judgement(prompt: str, score: int) -> str:
    """A valid judgement: every rubric criterion in the prompt at ``score``, no evidence."""
    criteria = [
        {"id": cid, "score": score, "evidence": "", "reason": "scripted"}
        for cid in rubric_ids(prompt)
    ]
    return json.dumps(
        {"criteria": criteria, "covered_key_points": [], "missed_key_points": [], "flags": []}
    )


def reply(model: str, prompt: str, structured: bool = False, call: int = 0) -> str:
    """What ``model`` says to ``prompt``; ``call`` counts scripted-bad's questions (0, 1, ...)."""
    if model not in MODELS:
        raise ValueError(f"unknown scripted model {model!r}; use one of {', '.join(MODELS)}")
    kind = kind_of(prompt, structured)
    bad = model == BAD
    if kind == "judge":
        return judgement(prompt, 5 if bad else 3)
    if kind == "follow_up":
        if bad:
            missed = _first_point(block(prompt, "MISSED_POINTS"))
            return f"You missed that {missed[:1].lower()}{missed[1:]}. Can you elaborate?"
        return (block(prompt, "SUGGESTED_FOLLOW_UP") or "").strip() or "Can you go deeper?"
    if kind == "ask":
        question = (block(prompt, "QUESTION") or "").strip()
        if not bad:
            return f"Let's move on. {question}"
        variant = call % BAD_ASKS
        if variant == 0:
            return OFF_TOPIC_QUESTION
        if variant == 1:
            point = _first_point(block(prompt, "KEY_POINTS"))
            return f"{point[:1].upper()}{point[1:]}. {question}"
        if variant == 2:
            return f"- {question}\n- Which trade-offs would you weigh?\n- How would you test it?"
        return f"Great answer! {question} And how would you monitor it in production?"
    if kind == "candidate_reply":
        return CANDIDATE_REPLY
    return FALLBACK_REPLY


def pieces(text: str) -> list[str]:
    """Word-sized pieces (whitespace kept) whose concatenation is ``text``, for streaming."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def prompt_of(messages: list[Any]) -> str:
    """Every message's text, in order, one after another."""
    parts = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        parts.append(content if isinstance(content, str) else "")
    return "\n".join(parts)


def wants_structure(optional_params: dict[str, Any]) -> bool:
    """Whether the request asked for structured output (``response_format`` json_schema)."""
    fmt = optional_params.get("response_format")
    if isinstance(fmt, dict):
        return fmt.get("type") in ("json_schema", "json_object")
    return fmt is not None


class Script:
    """Both models' script with scripted-bad's question counter, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asks = itertools.count()

    def __call__(self, model: str, messages: list[Any], optional_params: dict[str, Any]) -> str:
        name = model.rsplit("/", 1)[-1]
        prompt = prompt_of(messages)
        structured = wants_structure(optional_params)
        call = 0
        if name == BAD and kind_of(prompt, structured) == "ask":
            with self._lock:
                call = next(self._asks)
        return reply(name, prompt, structured, call)


def _make_handler() -> Any:
    """The LiteLLM custom provider; only built where LiteLLM is installed (the proxy)."""
    from litellm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk

    script = Script()

    def answer(model_response: Any, model: str, text: str) -> Any:
        model_response.choices[0].message.content = text
        model_response.model = model
        return model_response

    def chunks(text: str) -> Iterator[GenericStreamingChunk]:
        parts = pieces(text)
        for number, part in enumerate(parts, 1):
            last = number == len(parts)
            yield GenericStreamingChunk(
                text=part,
                is_finished=last,
                finish_reason="stop" if last else "",
                usage=None,
                index=0,
                tool_use=None,
            )

    class ScriptedLLM(CustomLLM):
        """Answers from the script; ``model`` is the part after ``scripted/``."""

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            text = script(kwargs["model"], kwargs["messages"], kwargs["optional_params"])
            return answer(kwargs["model_response"], kwargs["model"], text)

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            return self.completion(*args, **kwargs)

        def streaming(self, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
            text = script(kwargs["model"], kwargs["messages"], kwargs["optional_params"])
            return chunks(text)

        async def astreaming(
            self, *args: Any, **kwargs: Any
        ) -> AsyncIterator[GenericStreamingChunk]:
            for chunk in self.streaming(*args, **kwargs):
                yield chunk

    return ScriptedLLM()


def __getattr__(name: str) -> Any:
    """``handler`` is created on first access, so importing this module needs no LiteLLM."""
    if name == "handler":
        value = _make_handler()
        globals()["handler"] = value
        return value
    raise AttributeError(name)
