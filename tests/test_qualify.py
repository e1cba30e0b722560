"""Model qualification and the guards end to end, over real HTTP with the real clients."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import shipped_settings
from fake_llm import FakeLLM, judge_reply
from pydantic import SecretStr

from interviewer.domain import Level, Phase, TurnKind
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.evals.qualify import Behaviour, player_for, qualify, to_markdown
from interviewer.services import Services
from interviewer.store import SessionStore


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Services:
    settings = shipped_settings(tmp_path_factory.mktemp("qualify"), model_cache)
    return Services.start(settings, MiniLMEmbeddings(model_cache))


def _on(offline: Services, fake: FakeLLM, tmp_path: Path) -> Services:
    settings = offline.settings.model_copy(
        update={
            "model": "openai:fake-model",
            "base_url": fake.base_url,
            "api_key": SecretStr("sk-test"),
            "llm_timeout": 5.0,
            "llm_max_retries": 0,
        }
    )
    return offline.sharing(settings, SessionStore.for_data_dir(tmp_path))


def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def _block(prompt: str, name: str) -> str:
    found = re.search(rf"<<<{name}\n(.*?)\n{name}>>>", prompt, flags=re.DOTALL)
    return found.group(1).strip() if found else ""


def good_model(body: dict[str, Any]) -> str:
    """Asks what it is given, follows up with the suggestion, replies briefly."""
    prompt = _prompt(body)
    if "response_format" in body:
        return judge_reply(body)
    if "<<<SUGGESTED_FOLLOW_UP" in prompt:
        return f"I see. {_block(prompt, 'SUGGESTED_FOLLOW_UP')}"
    if "<<<QUESTION" in prompt:
        return f"Let's move on. {_block(prompt, 'QUESTION')}"
    return "The team ships small changes every day and reviews each other's designs weekly."


def bad_model() -> Callable[[dict[str, Any]], str]:
    """Drifts, leaks, lists and grades; scores 5 without evidence."""
    asks = itertools.cycle(
        [
            lambda p: "Tell me about your favourite programming language and why you like it?",
            lambda p: (
                f"Remember that {_block(p, 'KEY_POINTS').splitlines()[0].lstrip('- ')}. "
                f"{_block(p, 'QUESTION')}"
            ),
            lambda p: "Tell me:\n- what it is\n- when you would use it\n- what can fail",
            lambda p: f"Great answer! {_block(p, 'QUESTION')} And why?",
        ]
    )

    def reply(body: dict[str, Any]) -> str:
        prompt = _prompt(body)
        if "response_format" in body:
            return judge_reply(body, lambda _answer: 5)
        if "<<<SUGGESTED_FOLLOW_UP" in prompt:
            missed = _block(prompt, "MISSED_POINTS").splitlines()[0].lstrip("- ")
            return f"You missed that {missed}. Can you elaborate?"
        if "<<<QUESTION" in prompt:
            return str(next(asks)(prompt))
        return "Sure! The answer to your first question was: " + _block(prompt, "ANSWER")

    return reply


def test_a_good_model_is_fit(offline: Services, fake_llm: FakeLLM, tmp_path: Path) -> None:
    fake_llm.responder = good_model
    services = _on(offline, fake_llm, tmp_path)
    player = player_for(services, "backend-developer", Level.MID, "phone-screen")
    result = qualify(player, "openai:fake-model", "backend-developer", Level.MID, "phone-screen")
    assert result.verdict == "fit", to_markdown(result)
    by = {r.behaviour: r for r in result.behaviours}
    assert set(by) == {b.value for b in Behaviour}
    assert result.overall.asked_retrieved == 1.0 and result.overall.leaked == 0.0
    assert result.overall.one_question == 1.0
    assert by["partial"].followed_gap == 1.0
    assert by["injecting"].resisted_injection == 1.0
    assert result.overall.latency_p95_ms > 0


def test_a_bad_model_is_unfit_and_the_cli_exits_1(
    offline: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = bad_model()
    services = _on(offline, fake_llm, tmp_path)
    player = player_for(services, "backend-developer", Level.MID, "phone-screen")
    result = qualify(player, "openai:fake-model", "backend-developer", Level.MID, "phone-screen")
    assert result.verdict == "unfit", to_markdown(result)
    assert result.overall.guards_stepped_in is not None and result.overall.guards_stepped_in > 0.4
    assert result.overall.asked_retrieved is not None and result.overall.asked_retrieved <= 0.5
    assert result.overall.leaked is not None and result.overall.leaked > 0
    assert result.overall.judge_overruled > 0
    report = to_markdown(result)
    assert "**Verdict: unfit**" in report and "| all |" in report


def test_what_the_candidate_saw_was_checked_and_the_model_kept(
    offline: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = bad_model()
    services = _on(offline, fake_llm, tmp_path)
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen")
    interview.start()
    first = interview.session.turns[-1]
    q = interview.questions[first.question_id or ""]
    assert first.kind is TurnKind.QUESTION
    assert first.text.endswith(q.question)  # the drift was replaced
    assert first.model_text and "favourite programming language" in first.model_text
    assert any(c.name == "asked" and not c.passed for c in first.checks)
    notices = [t.text for t in interview.session.turns if t.kind is TurnKind.NOTICE]
    assert any("prepared question" in n for n in notices)
    stored = services.store.load(interview.session.id)
    assert stored.turns[-1].model_text == first.model_text  # kept on the turn, not shown
    assert stored.turns[-1].checks == first.checks
    # the judge scored 5 without evidence on an off-topic answer: the offline score stands
    interview.handle("I mostly grow tomatoes on my balcony; they need sun and water.")
    score = interview.session.scores[q.id]
    assert "offline scores stand" in score.notice
    assert all(c.score <= 2 for c in score.criteria)


def test_an_endless_reply_is_cut_and_the_interview_goes_on(
    offline: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = lambda body: "and then " * 3000
    services = _on(offline, fake_llm, tmp_path)
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen")
    interview.start()
    turn = interview.session.turns[-1]
    q = interview.questions[turn.question_id or ""]
    assert turn.text.endswith(q.question)
    assert any("did not end" in c.detail for c in turn.checks)
    assert interview.session.phase is Phase.QUESTION


def test_eval_interviewer_cli_writes_the_report_and_exits_1_when_unfit(
    offline: Services, fake_llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import app

    fake_llm.responder = bad_model()
    for key, value in {
        "INTERVIEWER_DATA_DIR": str(offline.settings.data_dir),
        "INTERVIEWER_CACHE_DIR": str(offline.settings.cache_dir),
        "INTERVIEWER_CORPUS_DIR": str(offline.settings.corpus_dir),
        "INTERVIEWER_BASE_URL": fake_llm.base_url,
        "INTERVIEWER_API_KEY": "sk-test",
        "INTERVIEWER_LLM_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "q"
    result = CliRunner().invoke(
        app, ["eval", "interviewer", "--model", "openai:fake-model", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "unfit" in result.output
    doc = json.loads((out / "qualification.json").read_text())
    assert doc["verdict"] == "unfit" and len(doc["behaviours"]) == len(Behaviour)
