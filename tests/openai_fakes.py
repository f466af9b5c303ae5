"""Fakes for the core tests: OpenAI Chat Completions payloads, as the API reference documents them,
and a recording ``httpx.MockTransport`` handler usable by sync and async clients alike."""

from __future__ import annotations

import contextlib
import importlib
import json
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import httpx

API_KEY = "test-key"
MODEL = "openai:gpt-4o-mini"
CREATED = 1_727_000_000


def usage(prompt: int = 19, completion: int = 10, *, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    """A ``usage`` object with the details OpenAI sends."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def completion(
    content: str | None = "Hello! How can I help you today?",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage_: dict[str, Any] | None = None,
    id: str = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    **message: Any,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice."""
    msg: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
    msg.update(message)
    return {
        "id": id,
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage_ if usage_ is not None else usage(),
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }


def tool_call(id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``message.tool_calls``."""
    return {"id": id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def chunk(delta: dict[str, Any] | None = None, *, finish_reason: str | None = None,
          usage_: dict[str, Any] | None = None, choices: bool = True,
          id: str = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG") -> dict[str, Any]:
    """A ``chat.completion.chunk``; ``choices=False`` gives the last, usage-only chunk."""
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_06737a9306",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
        if choices else [],
        "usage": usage_,
    }


def text_chunks(*pieces: str, usage_: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chunks of a plain text answer: role, content pieces, finish, then usage."""
    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"content": p}) for p in pieces]
    out.append(chunk({}, finish_reason="stop"))
    out.append(chunk(usage_=usage_ or usage(), choices=False))
    return out


def sse(payloads: Sequence[dict[str, Any] | str], *, done: bool = True, newline: str = "\n") -> bytes:
    """An event stream: one ``data:`` event per payload, then ``data: [DONE]``."""
    events = [p if isinstance(p, str) else json.dumps(p, separators=(",", ":")) for p in payloads]
    if done:
        events.append("[DONE]")
    return "".join(f"data: {e}{newline}{newline}" for e in events).encode()


def embeddings(vectors: Sequence[Sequence[float]], *, order: Sequence[int] | None = None,
               prompt_tokens: int = 8) -> dict[str, Any]:
    """An embeddings ``list`` object; ``order`` lists the indexes in the order the server sends them."""
    indexes = list(order) if order is not None else list(range(len(vectors)))
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": list(vectors[i])} for i in indexes],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def error_body(message: str, type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given pieces (so reads split where a test wants)."""

    def __init__(self, pieces: Sequence[bytes], fail: Exception | None = None) -> None:
        self.pieces = list(pieces)
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail is not None:
            raise self.fail


Reply = Callable[[httpx.Request], httpx.Response]


def reply(status: int = 200, json_: Any = None, *, content: bytes | None = None,
          headers: dict[str, str] | None = None, pieces: Sequence[bytes] | None = None,
          fail: Exception | None = None) -> Reply:
    """A factory of fresh responses (one per attempt)."""

    def make(request: httpx.Request) -> httpx.Response:
        if pieces is not None:
            return httpx.Response(status, headers={"content-type": "text/event-stream", **(headers or {})},
                                  stream=Pieces(pieces, fail))
        if json_ is not None:
            return httpx.Response(status, json=json_, headers=headers)
        return httpx.Response(status, content=content or b"", headers=headers)

    return make


def stream_reply(payloads: Sequence[dict[str, Any] | str], *, done: bool = True, size: int | None = None,
                 fail: Exception | None = None) -> Reply:
    """An SSE response for ``payloads``, cut into reads of ``size`` bytes (one read when None)."""
    body = sse(payloads, done=done)
    step = size or max(len(body), 1)
    return reply(pieces=[body[i:i + step] for i in range(0, len(body), step)], fail=fail)


class Recorder:
    """A MockTransport handler: answers with ``replies`` in turn (the last repeats), records requests.

    A reply may be an exception instance (raised, e.g. ``httpx.ConnectError``) or a ``reply(...)``.
    """

    def __init__(self, *replies: Reply | Exception) -> None:
        self.replies = list(replies) or [reply(json_=completion())]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        position = min(len(self.requests), len(self.replies) - 1)
        self.requests.append(request)
        answer = self.replies[position]
        if isinstance(answer, Exception):
            raise answer
        return answer(request)

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies sent, in order."""
        return [json.loads(r.content) for r in self.requests]

    def client(self) -> httpx.Client:
        """A sync client whose transport is this recorder."""
        return httpx.Client(transport=httpx.MockTransport(self))

    def async_client(self) -> httpx.AsyncClient:
        """An async client whose transport is this recorder."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def opts(self, **extra: Any) -> dict[str, Any]:
        """Call options sending through this recorder (sync)."""
        return {"api_key": API_KEY, "http_client": self.client(), **extra}

    def aopts(self, **extra: Any) -> dict[str, Any]:
        """Call options sending through this recorder (async)."""
        return {"api_key": API_KEY, "http_client": self.async_client(), **extra}


def patch_sleep(monkeypatch: Any) -> list[float]:
    """Make the core's retry sleeps (sync and async) instant; returns the list of requested delays."""
    from reqllm import _http

    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)

    async def asleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(_http, "time", types.SimpleNamespace(sleep=sleep, perf_counter=time.perf_counter))
    monkeypatch.setattr(_http, "asyncio", types.SimpleNamespace(sleep=asleep))
    return delays


@contextlib.contextmanager
def registry_snapshot() -> Iterator[None]:
    """Undo, on exit, every runtime registration and reload made inside (providers, models, protocols)."""
    from reqllm.registry import REGISTRY

    protocols = importlib.import_module("reqllm.providers")  # reqllm.providers is also a function's name

    saved = {k: dict(v) if isinstance(v, dict) else v for k, v in vars(REGISTRY).items()}
    registered, instances = dict(protocols._registered), dict(protocols._instances)
    try:
        yield
    finally:
        vars(REGISTRY).update(saved)
        protocols._registered.clear()
        protocols._registered.update(registered)
        protocols._instances.clear()
        protocols._instances.update(instances)
