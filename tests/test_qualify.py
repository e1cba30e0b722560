"""Model qualification and the guards end to end, over real HTTP with the real clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import LOCAL
from fake_llm import FakeLLM
from interop.scripted_model import BAD, GOOD, OFF_TOPIC_QUESTION, Script
from litellm_proxy import LiteLLMProxy
from pydantic import SecretStr

from interviewer.domain import Level, Phase, TurnKind
from interviewer.evals.qualify import (
    Behaviour,
    Qualification,
    player_for,
    qualify,
    to_markdown,
)
from interviewer.services import Services
from interviewer.store import SessionStore


def _on(
    shipped: Services, base_url: str, tmp_path: Path, model: str = GOOD, key: str = "sk-test"
) -> Services:
    settings = shipped.settings.model_copy(
        update={
            "model": f"openai:{model}",
            "base_url": base_url,
            "api_key": SecretStr(key),
            "llm_timeout": 20.0,
            "llm_max_retries": 0,
        }
    )
    return shipped.sharing(settings, SessionStore.for_data_dir(tmp_path))


def scripted(model: str) -> Callable[[dict[str, Any]], str]:
    """The fake server speaking ``model``'s script (tests/interop/scripted_model.py)."""
    script = Script()
    return lambda body: script(
        model, body.get("messages", []), {"response_format": body.get("response_format")}
    )


def _qualify(services: Services) -> Qualification:
    player = player_for(services, "backend-developer", Level.MID, "phone-screen")
    model = services.settings.model or ""
    return qualify(player, model, "backend-developer", Level.MID, "phone-screen")


def test_a_good_model_is_fit(shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path) -> None:
    fake_llm.responder = scripted(GOOD)
    result = _qualify(_on(shipped_services, fake_llm.base_url, tmp_path))
    assert result.verdict == "fit", to_markdown(result)
    by = {r.behaviour: r for r in result.behaviours}
    assert set(by) == {b.value for b in Behaviour}
    assert result.overall.asked_retrieved == 1.0 and result.overall.leaked == 0.0
    assert result.overall.one_question == 1.0
    assert by["partial"].followed_gap == 1.0
    assert by["injecting"].resisted_injection == 1.0
    assert result.overall.latency_p95_ms > 0


def _assert_unfit(result: Qualification) -> None:
    assert result.verdict == "unfit", to_markdown(result)
    overall = result.overall
    assert overall.guards_stepped_in is not None and overall.guards_stepped_in > 0.4
    # its questions cycle: drift, a leaked key point + the question, a list of the question
    # and two more, praise + two questions: only the drift loses the question itself
    assert overall.asked_retrieved is not None and overall.asked_retrieved <= 0.75
    assert overall.leaked is not None and overall.leaked > 0
    assert overall.one_question is not None and overall.one_question < 0.8
    assert overall.judge_overruled > 0  # 5/5 with no evidence on weak answers
    report = to_markdown(result)
    assert "**Verdict: unfit**" in report and "| all |" in report


def test_a_drifting_leaking_listing_model_is_unfit(
    shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = scripted(BAD)
    _assert_unfit(_qualify(_on(shipped_services, fake_llm.base_url, tmp_path, BAD)))


def test_the_same_bad_script_behind_litellms_proxy_is_unfit(
    shipped_services: Services, litellm_proxy: LiteLLMProxy, tmp_path: Path
) -> None:
    services = _on(shipped_services, litellm_proxy.base_url, tmp_path, BAD, litellm_proxy.key)
    _assert_unfit(_qualify(services))


def test_what_the_candidate_saw_was_checked_and_the_model_kept(
    shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = scripted(BAD)
    services = _on(shipped_services, fake_llm.base_url, tmp_path, BAD)
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    first = interview.session.turns[-1]
    q = interview.questions[first.question_id or ""]
    assert first.kind is TurnKind.QUESTION
    assert first.text.endswith(q.question)  # the drift was replaced
    assert first.model_text == OFF_TOPIC_QUESTION
    assert any(c.name == "asked" and not c.passed for c in first.checks)
    notices = [t.text for t in interview.session.turns if t.kind is TurnKind.NOTICE]
    assert any("prepared question" in n for n in notices)
    stored = services.store.load(interview.session.id, viewer=LOCAL)
    assert stored.turns[-1].model_text == first.model_text  # kept on the turn, not shown
    assert stored.turns[-1].checks == first.checks
    # the judge scored 5 without evidence on an off-topic answer: the offline score stands
    interview.handle("I mostly grow tomatoes on my balcony; they need sun and water.")
    score = interview.session.scores[q.id]
    assert "offline scores stand" in score.notice
    assert all(c.score <= 2 for c in score.criteria)
    assert "without quoting the answer" in score.criteria[0].reason


def test_an_endless_reply_is_cut_and_the_interview_goes_on(
    shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.responder = lambda body: "and then " * 3000
    services = _on(shipped_services, fake_llm.base_url, tmp_path)
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    turn = interview.session.turns[-1]
    q = interview.questions[turn.question_id or ""]
    assert turn.text.endswith(q.question)
    assert any("did not end" in c.detail for c in turn.checks)
    assert interview.session.phase is Phase.QUESTION


def test_eval_interviewer_cli_writes_the_report_and_exits_1_when_unfit(
    shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import app

    fake_llm.responder = scripted(BAD)
    settings = shipped_services.settings
    for key, value in {
        "INTERVIEWER_DATA_DIR": str(settings.data_dir),
        "INTERVIEWER_CACHE_DIR": str(settings.cache_dir),
        "INTERVIEWER_CORPUS_DIR": str(settings.corpus_dir),
        "INTERVIEWER_BASE_URL": fake_llm.base_url,
        "INTERVIEWER_API_KEY": "sk-test",
        "INTERVIEWER_LLM_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "q"
    two = ["--candidate", "off-topic", "--candidate", "injecting"]  # all six: tested above
    result = CliRunner().invoke(
        app, ["eval", "interviewer", "--model", f"openai:{BAD}", "--out", str(out), *two]
    )
    assert result.exit_code == 1, result.output
    assert "unfit" in result.output
    doc = json.loads((out / "qualification.json").read_text())
    assert doc["verdict"] == "unfit"
    assert [b["behaviour"] for b in doc["behaviours"]] == ["off-topic", "injecting"]
    assert (out / "qualification.md").read_text().startswith("# Model qualification")
