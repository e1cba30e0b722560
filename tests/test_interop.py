"""LLM mode against a third-party OpenAI-compatible server: LiteLLM's proxy.

Each test body runs twice: against our own fake server (``fake_llm``) and against LiteLLM's
proxy (``litellm_proxy``), both answering with the script of ``tests/interop/scripted_model.py``
(model ``scripted-good``). The project's real code path is used throughout: ``Services`` builds
the LangChain chat model from settings, the conductor streams, the judge asks for ``json_schema``
structured output. A change in the openai or LangChain clients, or in what an OpenAI-compatible
server sends back, shows up here as a difference between the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from factories import LOCAL
from fake_llm import FakeLLM
from interop.scripted_model import BAD, BAD_ASKS, GOOD, OFF_TOPIC_QUESTION, reply
from interop.scripted_model import prompt_of as prompt_text
from litellm_proxy import LiteLLMProxy
from pydantic import SecretStr

from interviewer.domain import Level, Phase, Speaker, TurnKind
from interviewer.engine import Interview
from interviewer.report import to_json, to_markdown
from interviewer.services import Services
from interviewer.store import SessionStore

BACKENDS = ("fake_llm", "litellm")
ANSWER = (
    "I would take a row lock with SELECT ... FOR UPDATE inside a transaction, so two writers "
    "cannot both read the old value, and keep the transaction short to limit contention."
)


@dataclass
class Backend:
    """One OpenAI-compatible server speaking the script, as the tests need it."""

    name: str
    base_url: str
    key: str
    refuse_keys: Callable[[int], None] = field(default=lambda _count: None)
    """Make the next ``count`` calls fail authentication (the proxy refuses wrong keys itself)."""
    refusal: str = "the API key was refused"
    """How ``describe_failure`` names this server's answer to a wrong key."""


def _scripted(body: dict[str, Any]) -> str:
    """The fake server answers with the same script as the proxy's ``scripted-good``."""
    structured = isinstance(body.get("response_format"), dict)
    return reply(GOOD, prompt_text(body.get("messages", [])), structured=structured)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Our fake server or LiteLLM's proxy, both serving ``scripted-good``'s script."""
    if request.param == "fake_llm":
        fake: FakeLLM = request.getfixturevalue("fake_llm")
        fake.responder = _scripted

        def refuse(count: int) -> None:
            for _ in range(count):
                fake.reply("Incorrect API key provided.", status=401)

        return Backend("fake_llm", fake.base_url, "sk-fake", refuse_keys=refuse)
    proxy: LiteLLMProxy = request.getfixturevalue("litellm_proxy")
    # Without a database, LiteLLM's proxy answers any key but its master key with
    # 400 no_db_connection ("No connected db."), not 401, so the notice names the status.
    return Backend("litellm", proxy.base_url, proxy.key, refusal="error 400")


def llm_services(offline: Services, backend: Backend, tmp_path: Path, **update: Any) -> Services:
    """The shared corpus and index, in LLM mode against ``backend``'s ``scripted-good``."""
    settings = offline.settings.model_copy(
        update={
            "model": f"openai:{GOOD}",
            "base_url": backend.base_url,
            "api_key": SecretStr(backend.key),
            "llm_timeout": 20.0,
            "llm_max_retries": 0,
            **update,
        }
    )
    return offline.sharing(settings, SessionStore.for_data_dir(tmp_path))


@pytest.fixture
def services(shipped_services: Services, backend: Backend, tmp_path: Path) -> Iterator[Services]:
    yield llm_services(shipped_services, backend, tmp_path)


def _questions(interview: Interview) -> list[tuple[str, str]]:
    """(asked text, corpus question) for every question turn so far."""
    return [
        (t.text, interview.questions[t.question_id].question)
        for t in interview.session.turns
        if t.kind is TurnKind.QUESTION and t.question_id
    ]


def _offline_notices(interview: Interview) -> list[str]:
    """Notices of a model call that failed (not of a guard overruling a reply or a score)."""
    return [
        n for n in interview.session.notices if "continuing offline" in n or "scored offline" in n
    ]


def test_the_conductor_streams_a_question_through_services(
    services: Services, backend: Backend
) -> None:
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    chunks: list[str] = []
    interview.start(chunks.append)
    assert len(chunks) > 3, "the greeting and a question streamed in several chunks"
    (asked, question), *_ = _questions(interview)
    assert asked == f"Let's move on. {question}"
    assert asked in "".join(chunks)
    assert not interview.session.notices
    stored = services.store.load(interview.session.id, viewer=LOCAL)
    assert [t.text for t in stored.turns] == [t.text for t in interview.session.turns]


def test_the_judge_scores_through_structured_output(services: Services, backend: Backend) -> None:
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    state = interview.session.active
    assert state is not None
    # the question's own reference: the offline scorer agrees enough that the judge's 3/5
    # stands without evidence (a 3 on an answer the offline scorer gives 1 would not)
    turns = interview.handle(interview.questions[state.question_id].reference_answer)
    score = interview.session.scores[state.question_id]
    assert score.scorer == f"llm:openai:{GOOD}", score.notice
    rubric = interview.pack.rubric(interview.questions[state.question_id].category)
    assert [c.id for c in score.criteria] == [c.id for c in rubric.criteria]
    assert {c.score for c in score.criteria} == {3}
    assert all(c.evidence == "" for c in score.criteria)
    assert not score.notice
    said = [t for t in turns if t.speaker is Speaker.INTERVIEWER]
    q = interview.questions[state.question_id]
    if said[0].kind is TurnKind.FOLLOW_UP:  # scripted-good asks the suggested one verbatim
        assert said[0].text in {f.text for f in q.follow_ups}
    else:
        assert said[-1].text.startswith("Let's move on. ")
    assert not _offline_notices(interview)


def test_a_short_interview_runs_to_its_report_with_no_fallback(
    services: Services, backend: Backend
) -> None:
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    first = interview.session.active
    assert first is not None

    def answer() -> None:  # the question's own reference: the judge's 3/5 stands unquoted
        state = interview.session.active
        assert state is not None
        interview.handle(interview.questions[state.question_id].reference_answer)

    answer()
    if interview.session.active is first:  # a follow-up was asked: answer it too
        interview.handle("Under heavy contention I would retry with backoff.")
    interview.handle("skip")
    answer()
    while interview.session.phase is Phase.QUESTION:
        interview.handle("skip")
    interview.handle("What does a typical week look like on your team?")
    interview.handle("end")
    assert interview.session.phase is Phase.DONE
    assert not _offline_notices(interview), interview.session.notices
    for asked, question in _questions(interview):
        assert asked == f"Let's move on. {question}"
    replies = [t.text for t in interview.session.turns if t.kind is TurnKind.REPLY]
    assert reply(GOOD, "<<<ANSWER\nx\nANSWER>>>") in replies
    scores = interview.session.scores
    judged = [s for s in scores.values() if s.scorer.startswith("llm:")]
    assert len(judged) >= 2 and all(not s.notice for s in judged)
    report = services.report(interview.session)
    assert f"llm:openai:{GOOD}" in report.scorers
    assert not report.notices
    assert report.overall is not None and len(report.questions) == len(scores)
    assert f"llm:openai:{GOOD}" in to_markdown(report)
    assert json.loads(to_json(report))["session_id"] == interview.session.id
    assert services.store.load(interview.session.id, viewer=LOCAL).phase is Phase.DONE


def test_a_refused_key_continues_offline_with_a_notice(
    shipped_services: Services, backend: Backend, tmp_path: Path
) -> None:
    wrong = "sk-not-the-key-0123456789"
    services = llm_services(shipped_services, backend, tmp_path, api_key=SecretStr(wrong))
    backend.refuse_keys(3)
    interview = services.new_interview("backend-developer", Level.MID, "phone-screen", viewer=LOCAL)
    interview.start()
    interview.handle(ANSWER)
    notices = interview.session.notices
    assert any(
        f"could not ask the question ({backend.refusal}); continuing offline" in n for n in notices
    ), notices
    score = next(iter(interview.session.scores.values()))
    assert score.scorer == "offline"
    assert backend.refusal in score.notice
    (asked, question), *_ = _questions(interview)
    assert asked == question, "the offline conductor asked the corpus question"
    assert all(wrong not in n for n in notices)


def test_scripted_bad_is_served_by_the_proxy(litellm_proxy: LiteLLMProxy) -> None:
    """Both model names route to the script; scripted-bad cycles through its misbehaviours."""
    prompt = (
        "<<<QUESTION\nHow do you find a slow query?\nQUESTION>>>\n"
        "<<<KEY_POINTS\n- Reads the query plan with EXPLAIN\nKEY_POINTS>>>"
    )
    client = openai.OpenAI(base_url=litellm_proxy.base_url, api_key=litellm_proxy.key)
    with client:
        listed = {m.id for m in client.models.list()}
        assert set(litellm_proxy.models) <= listed
        answers = [
            client.chat.completions.create(
                model=BAD, messages=[{"role": "user", "content": prompt}]
            )
            .choices[0]
            .message.content
            for _ in range(BAD_ASKS)
        ]
    assert OFF_TOPIC_QUESTION in answers
    expected = {reply(BAD, prompt, call=n) for n in range(BAD_ASKS)}
    assert set(answers) == expected, litellm_proxy.log_tail()
