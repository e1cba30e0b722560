"""The fake OpenAI server works with the real openai and LangChain clients over loopback HTTP."""

# The imported `fake_llm` fixture is requested as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from fake_llm import FakeLLM, fake_llm  # noqa: F401
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel


class Verdict(BaseModel):
    """A small structured answer used by the structured-output tests."""

    score: int
    feedback: str


@pytest.fixture
def make_client(fake_llm: FakeLLM) -> Iterator[Callable[..., openai.OpenAI]]:
    """Build real openai clients pointed at the fake server; all are closed after the test."""
    clients: list[openai.OpenAI] = []

    def make(**kwargs: Any) -> openai.OpenAI:
        client = openai.OpenAI(base_url=fake_llm.base_url, api_key="test", **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _chat(fake: FakeLLM, **kwargs: Any) -> ChatOpenAI:
    """A real LangChain ChatOpenAI pointed at the fake server."""
    return ChatOpenAI(base_url=fake.base_url, api_key="test", model="fake-model", **kwargs)


def test_base_url_is_loopback_v1(fake_llm: FakeLLM) -> None:
    assert fake_llm.base_url == f"http://127.0.0.1:{fake_llm.port}/v1"
    assert fake_llm.port > 0


def test_openai_chat_returns_scripted_text_and_records_request(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("Tell me about a time you disagreed with a colleague.")
    completion = make_client().chat.completions.create(
        model="my-model",
        temperature=0,
        messages=[
            {"role": "system", "content": "You are a strict interviewer."},
            {"role": "user", "content": "Start the interview."},
        ],
    )

    assert completion.object == "chat.completion"
    assert completion.model == "my-model"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Tell me about a time you disagreed with a colleague."
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 10
    assert completion.usage.prompt_tokens == 8
    assert completion.usage.total_tokens == 18

    request = fake_llm.last_request
    assert request["method"] == "POST"
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer test"
    body = request["json"]
    assert body["model"] == "my-model"
    assert body["temperature"] == 0
    assert body["messages"][0] == {"role": "system", "content": "You are a strict interviewer."}
    assert fake_llm.chat_requests == [body]


def test_replies_are_fifo_then_default(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("first")
    fake_llm.reply("second")
    fake_llm.default = "fallback"
    client = make_client()

    def ask() -> str | None:
        completion = client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}]
        )
        return completion.choices[0].message.content

    assert [ask(), ask(), ask(), ask()] == ["first", "second", "fallback", "fallback"]
    assert fake_llm.pending == 0
    assert len(fake_llm.requests) == 4


def test_langchain_stream_yields_several_chunks(fake_llm: FakeLLM) -> None:
    text = "Great answer. Now, walk me through  the trade-offs you considered.\n"
    fake_llm.reply(text)
    chunks = list(_chat(fake_llm).stream([HumanMessage("My answer is ...")]))

    contents = [c.content for c in chunks if c.content]
    assert len(contents) >= 5
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c) for c in contents) == text
    body = fake_llm.last_request["json"]
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "My answer is ..."}]


def test_stream_usage_chunk_when_requested(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("one two three")
    stream = make_client().chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "count to three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-1].usage.prompt_tokens == 3


def test_langchain_stream_usage_metadata(fake_llm: FakeLLM) -> None:
    fake_llm.reply("alpha beta")
    chunks = list(_chat(fake_llm, stream_usage=True).stream("hello there"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk

    assert merged.content == "alpha beta"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == 2
    assert fake_llm.last_request["json"]["stream_options"] == {"include_usage": True}


def test_langchain_invoke_sends_system_prompt_and_temperature(fake_llm: FakeLLM) -> None:
    fake_llm.reply("Hello, candidate.")
    message = _chat(fake_llm, temperature=0).invoke(
        [SystemMessage("You interview for backend roles."), HumanMessage("Hi")]
    )

    assert message.content == "Hello, candidate."
    body = fake_llm.last_request["json"]
    assert body["temperature"] == 0
    assert body["messages"][0] == {"role": "system", "content": "You interview for backend roles."}


def test_rate_limit_raises_without_retries(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("Slow down.", status=429, headers={"retry-after": "0"})
    with pytest.raises(openai.RateLimitError) as caught:
        make_client(max_retries=0).chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}]
        )

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "0"
    assert caught.value.body == {
        "message": "Slow down.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert len(fake_llm.requests) == 1


def test_client_retries_after_rate_limit(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("Slow down.", status=429, headers={"retry-after-ms": "1"})
    fake_llm.reply("Recovered.")
    completion = make_client(max_retries=1).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "Recovered."
    assert len(fake_llm.requests) == 2


def test_server_error_raises_internal_server_error(fake_llm: FakeLLM) -> None:
    fake_llm.reply("The server had an error.", status=500)
    with pytest.raises(openai.InternalServerError) as caught:
        _chat(fake_llm, max_retries=0).invoke("hi")

    assert caught.value.status_code == 500
    assert "The server had an error." in str(caught.value)


def test_delayed_reply_times_out(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("too late", delay=5.0)
    client = make_client(timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}]
        )

    assert time.monotonic() - started < 3.0
    assert len(fake_llm.requests) == 1


def test_short_delay_within_timeout_succeeds(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply("worth the wait", delay=0.2)
    started = time.monotonic()
    completion = make_client(timeout=5.0, max_retries=0).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "worth the wait"
    assert time.monotonic() - started >= 0.2


def test_structured_output_json_schema(fake_llm: FakeLLM) -> None:
    fake_llm.reply(json.dumps({"score": 4, "feedback": "Clear and concise."}))
    structured = _chat(fake_llm, temperature=0).with_structured_output(
        Verdict, method="json_schema"
    )
    verdict = structured.invoke("Grade this answer.")

    assert verdict == Verdict(score=4, feedback="Clear and concise.")
    body = fake_llm.last_request["json"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Verdict"
    assert set(body["response_format"]["json_schema"]["schema"]["properties"]) == {
        "score",
        "feedback",
    }
    assert "tools" not in body


def test_structured_output_json_mode(fake_llm: FakeLLM) -> None:
    fake_llm.reply('{"score": 2, "feedback": "Too vague."}')
    structured = _chat(fake_llm).with_structured_output(Verdict, method="json_mode")

    assert structured.invoke("Grade this answer as JSON.") == Verdict(
        score=2, feedback="Too vague."
    )
    assert fake_llm.last_request["json"]["response_format"] == {"type": "json_object"}


def test_structured_output_function_calling(fake_llm: FakeLLM) -> None:
    fake_llm.reply(json.dumps({"score": 5, "feedback": "Excellent."}))
    structured = _chat(fake_llm).with_structured_output(Verdict, method="function_calling")
    verdict = structured.invoke("Grade this answer.")

    assert verdict == Verdict(score=5, feedback="Excellent.")
    body = fake_llm.last_request["json"]
    assert [t["function"]["name"] for t in body["tools"]] == ["Verdict"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Verdict"}}


def test_tool_call_response_shape(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    fake_llm.reply('{"city": "Paris"}')
    completion = make_client().chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "Paris"}'


def test_streamed_function_calling_structured_output(fake_llm: FakeLLM) -> None:
    fake_llm.reply('{"score": 3, "feedback": "Decent, but add metrics."}')
    structured = _chat(fake_llm).with_structured_output(Verdict, method="function_calling")
    results = list(structured.stream("Grade this answer."))

    assert results[-1] == Verdict(score=3, feedback="Decent, but add metrics.")
    assert fake_llm.last_request["json"]["stream"] is True


def test_embeddings_are_deterministic(
    fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]
) -> None:
    client = make_client()
    first = client.embeddings.create(model="fake-embed", input=["alpha", "beta"])
    again = client.embeddings.create(model="fake-embed", input="alpha", encoding_format="float")

    vectors = [d.embedding for d in first.data]
    assert [d.index for d in first.data] == [0, 1]
    assert all(len(v) == 8 for v in vectors)
    assert vectors[0] != vectors[1]
    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert sum(x * x for x in vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert fake_llm.requests[0]["json"]["encoding_format"] == "base64"


def test_models_list(fake_llm: FakeLLM, make_client: Callable[..., openai.OpenAI]) -> None:
    models = make_client().models.list()
    assert [m.id for m in models] == ["fake-model"]


def test_unknown_path_is_404_json(fake_llm: FakeLLM) -> None:
    request = urllib.request.Request(
        f"{fake_llm.base_url}/nope",
        data=b'{"x": 1}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    with caught.value as error:
        assert error.code == 404
        assert error.headers["Content-Type"] == "application/json"
        assert json.loads(error.read())["error"]["code"] == "not_found"
    assert fake_llm.last_request["path"] == "/v1/nope"
    assert fake_llm.last_request["json"] == {"x": 1}


def test_stop_is_idempotent_and_context_manager_works() -> None:
    with FakeLLM(default="hi") as fake:
        url = fake.base_url
        with openai.OpenAI(base_url=url, api_key="test") as client:
            completion = client.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "hello"}]
            )
        assert completion.choices[0].message.content == "hi"
    fake.stop()
    with (
        openai.OpenAI(base_url=url, api_key="test", max_retries=0) as client,
        pytest.raises(openai.APIConnectionError),
    ):
        client.models.list()
