"""A small local OpenAI-compatible HTTP server for tests (standard library only).

Tests talk to it through the real ``openai`` / LangChain clients over loopback HTTP::

    def test_something(fake_llm: FakeLLM) -> None:
        fake_llm.reply("Hello there")
        client = openai.OpenAI(base_url=fake_llm.base_url, api_key="test")
        ...
        assert fake_llm.requests[-1]["json"]["temperature"] == 0

Scripted replies are served first-in first-out to ``POST /v1/chat/completions``;
when the queue is empty, ``fake.default`` is served. Every request is recorded.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import pytest

__all__ = ["FakeLLM", "ScriptedReply", "fake_llm", "judge_reply"]

MODEL_ID = "fake-model"
EMBEDDING_DIMS = 8

_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout_error", None),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}
_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass(frozen=True)
class ScriptedReply:
    """One queued answer: body text (or error message), HTTP status, delay, extra headers."""

    content: str
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def count_tokens(text: str) -> int:
    """Crude token estimate: the number of whitespace-separated words."""
    return len(text.split())


def split_for_stream(text: str) -> list[str]:
    """Split ``text`` into word-sized pieces (spaces kept) whose concatenation is ``text``."""
    pieces = re.findall(r"\s*\S+\s*", text)
    if not pieces and text:
        return [text]
    return pieces


def fake_embedding(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A deterministic unit-length pseudo-embedding derived from a hash of ``text``."""
    values: list[float] = []
    for block in itertools.count():
        digest = hashlib.sha256(f"{block}:{text}".encode()).digest()
        values.extend((byte / 127.5) - 1.0 for byte in digest)
        if len(values) >= dims:
            break
    values = values[:dims]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OpenAI-style error payload for ``status``."""
    kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _text_of(content: Any) -> str:
    """The plain text of a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(count_tokens(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))


def _forced_tool_name(body: dict[str, Any]) -> str | None:
    """The function the request forces via ``tool_choice``, if it has ``tools`` and names one."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools:
        return None
    if isinstance(choice, dict):
        function = choice.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
        if isinstance(choice.get("name"), str):
            return str(choice["name"])
    if choice in ("required", "any") and len(tools) == 1 and isinstance(tools[0], dict):
        function = tools[0].get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeLLM and can drop open connections on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients hanging up (timeouts, closed streams) are expected in tests."""

    def drop_connections(self) -> None:
        """Shut down every open client connection so idle keep-alive threads end."""
        with self.connections_lock:
            connections = list(self.connections)
            self.connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the fake OpenAI endpoints."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"
    timeout = 60.0

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging to stderr."""

    # -- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send_error_json(400, "Could not read the request body.")
            return
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        fake = self.server.fake
        fake._record(method=method, path=path, headers=dict(self.headers.items()), body=body)
        try:
            if bad_json:
                self._send_error_json(400, "The request body is not valid JSON.")
            elif method == "POST" and path == "/v1/chat/completions":
                self._chat_completions(body if isinstance(body, dict) else {})
            elif method == "POST" and path == "/v1/embeddings":
                self._embeddings(body if isinstance(body, dict) else {})
            elif method == "GET" and path == "/v1/models":
                self._send_json(200, {"object": "list", "data": [_model_card()]})
            else:
                self._send_error_json(404, f"Unknown endpoint: {method} {path}")
        except _CONNECTION_ERRORS:
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- endpoints -------------------------------------------------------------------------

    def _chat_completions(self, body: dict[str, Any]) -> None:
        fake = self.server.fake
        scripted = fake._next_reply(body)
        if scripted.delay > 0 and fake._stopping.wait(scripted.delay):
            self.close_connection = True
            return
        if scripted.status != 200:
            self._send_error_json(scripted.status, scripted.content, scripted.headers)
            return
        model = str(body.get("model") or MODEL_ID)
        completion_id = fake._new_id("chatcmpl")
        tool_name = _forced_tool_name(body)
        prompt_tokens = _prompt_tokens(body)
        completion_tokens = count_tokens(scripted.content)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            self._stream_chat(
                completion_id,
                model,
                scripted,
                tool_name,
                usage if include_usage else None,
            )
            return
        message: dict[str, Any] = {
            "role": "assistant",
            "content": scripted.content,
            "refusal": None,
        }
        finish_reason = "stop"
        if tool_name is not None:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": fake._new_id("call"),
                    "type": "function",
                    "function": {"name": tool_name, "arguments": scripted.content},
                }
            ]
            finish_reason = "tool_calls"
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": usage,
        }
        self._send_json(200, payload, scripted.headers)

    def _stream_chat(
        self,
        completion_id: str,
        model: str,
        scripted: ScriptedReply,
        tool_name: str | None,
        usage: dict[str, int] | None,
    ) -> None:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if usage is not None:
                data["usage"] = None
            return data

        pieces = split_for_stream(scripted.content)
        events: list[dict[str, Any]] = []
        if tool_name is None:
            events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
            events.extend(chunk({"content": piece}) for piece in pieces)
            events.append(chunk({}, "stop"))
        else:
            call = {
                "index": 0,
                "id": self.server.fake._new_id("call"),
                "type": "function",
                "function": {"name": tool_name, "arguments": ""},
            }
            events.append(chunk({"role": "assistant", "content": None, "tool_calls": [call]}))
            events.extend(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                for piece in pieces
            )
            events.append(chunk({}, "tool_calls"))
        if usage is not None:
            final = chunk({})
            final["choices"] = []
            final["usage"] = usage
            events.append(final)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in scripted.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for event in events:
            self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _embeddings(self, body: dict[str, Any]) -> None:
        raw_input = body.get("input", "")
        inputs: list[Any]
        if isinstance(raw_input, str):
            inputs = [raw_input]
        elif (
            isinstance(raw_input, list) and raw_input and all(isinstance(x, int) for x in raw_input)
        ):
            inputs = [raw_input]  # a single pre-tokenised input
        elif isinstance(raw_input, list):
            inputs = raw_input
        else:
            inputs = [raw_input]
        dims = body.get("dimensions")
        size = dims if isinstance(dims, int) and dims > 0 else EMBEDDING_DIMS
        as_base64 = body.get("encoding_format") == "base64"
        data: list[dict[str, Any]] = []
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else json.dumps(item)
            vector = fake_embedding(text, size)
            embedding: Any = vector
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(count_tokens(i) if isinstance(i, str) else len(i) for i in inputs)
        payload = {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or MODEL_ID),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        self._send_json(200, payload)

    # -- low-level writers -----------------------------------------------------------------

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error_json(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(status, error_body(status, message), headers)

    def _write_chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk (an empty one ends the body) and flush it."""
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "fake-llm"}


class FakeLLM:
    """A scripted OpenAI-compatible server on 127.0.0.1 (a free port), run in a daemon thread.

    ``reply()`` queues answers for ``/v1/chat/completions`` (FIFO); ``default`` answers when
    the queue is empty; ``requests`` lists every request received (method, path, headers, json).
    """

    def __init__(self, default: str = "OK") -> None:
        self.default: str = default
        self.responder: Callable[[dict[str, Any]], str] | None = None
        """When set and no reply is queued, builds the answer from the request body."""
        self.latency: float = 0.0
        """Seconds every unscripted answer waits (a slow model)."""
        self._lock = threading.Lock()
        self._queue: deque[ScriptedReply] = deque()
        self._requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeLLM is already running")
        self._stopping.clear()
        server = _Server(self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeLLM:{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed replies and close open connections. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeLLM is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url`` to give clients, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------

    def reply(
        self,
        content: str,
        *,
        status: int = 200,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue the next chat answer; a non-200 ``status`` sends ``content`` as an error message.

        ``delay`` (seconds) is slept before answering. ``headers`` are added to the response,
        e.g. ``{"retry-after-ms": "1"}`` makes the openai client retry a 429 at once.
        """
        item = ScriptedReply(content, status, delay, dict(headers or {}))
        with self._lock:
            self._queue.append(item)

    @property
    def pending(self) -> int:
        """How many scripted replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of every request received: ``{"method", "path", "headers", "json"}``."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies sent to ``/v1/chat/completions``, oldest first."""
        return [r["json"] for r in self.requests if r["path"] == "/v1/chat/completions"]

    @property
    def last_request(self) -> dict[str, Any]:
        """The most recent request; fails the test if nothing was received."""
        requests = self.requests
        if not requests:
            raise AssertionError("FakeLLM received no requests")
        return requests[-1]

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # -- used by the handler ---------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any]) -> ScriptedReply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        content = self.responder(body) if self.responder is not None else self.default
        return ScriptedReply(content, delay=self.latency)

    def _record(self, *, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        entry = {
            "method": method,
            "path": path,
            "headers": {k.lower(): v for k, v in headers.items()},
            "json": body,
        }
        with self._lock:
            self._requests.append(entry)

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-fake{next(self._ids)}"


@pytest.fixture(name="fake_llm")
def fake_llm() -> Iterator[FakeLLM]:
    """A running FakeLLM for one test, stopped afterwards.

    Named explicitly, so ``from fake_llm import fake_llm as fake_llm_fixture  # noqa: F401``
    also provides the ``fake_llm`` fixture without tripping ruff's F811 in the test module.
    """
    with FakeLLM() as fake:
        yield fake


def judge_reply(body: dict[str, Any], score: Callable[[str], int] | None = None) -> str:
    """A valid judgement for a judge prompt: every rubric criterion in it, scored by ``score``
    applied to the fenced answer (default: 3)."""
    prompt = "\n".join(_text_of(m.get("content")) for m in body.get("messages", []))
    ids = re.findall(r"^- ([a-z0-9-]+) \(", prompt, flags=re.MULTILINE)
    fenced = re.search(r"<<<ANSWER\n(.*?)\nANSWER>>>", prompt, flags=re.DOTALL)
    answer = fenced.group(1) if fenced else prompt
    value = max(1, min(5, score(answer) if score else 3))
    criteria = [{"id": i, "score": value, "evidence": "", "reason": "scripted"} for i in ids]
    return json.dumps({"criteria": criteria, "covered_key_points": [], "flags": []})
