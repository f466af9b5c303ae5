"""Sync and async twins give equal results, send equal requests and raise equal errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

import reqllm
from reqllm import errors
from tests.openai_fakes import (
    MODEL,
    Recorder,
    chunk,
    completion,
    embeddings,
    error_body,
    patch_sleep,
    reply,
    stream_reply,
    text_chunks,
    tool_call,
    usage,
)


class Answer(BaseModel):
    value: int
    unit: str


ADD = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
       "required": ["a", "b"]}
TOOLS = [{"type": "function", "function": {"name": "add", "description": "Add two integers",
                                           "parameters": ADD}}]


def _both(make: Any, sync_call: Any, async_call: Any) -> tuple[Any, Any, Recorder, Recorder]:
    """Run the sync call and the async call each on its own recorder built from ``make``."""
    sync_rec, async_rec = Recorder(*make()), Recorder(*make())
    sync_result = sync_call(sync_rec)

    async def run() -> Any:
        return await async_call(async_rec)

    async_result = asyncio.run(run())
    assert sync_rec.bodies == async_rec.bodies
    assert [str(r.url) for r in sync_rec.requests] == [str(r.url) for r in async_rec.requests]
    return sync_result, async_result, sync_rec, async_rec


def test_generate_text_parity() -> None:
    def make() -> list[Any]:
        return [reply(json_=completion(None, finish_reason="tool_calls",
                                       tool_calls=[tool_call("call_1", "add", {"a": 2, "b": 3})],
                                       reasoning_content="Use the tool.",
                                       usage_=usage(prompt=50, completion=20, cached=10, reasoning=5)))]

    sync, async_, _, _ = _both(
        make,
        lambda rec: reqllm.generate_text(MODEL, "2+3?", tools=TOOLS, temperature=0, **rec.opts()),
        lambda rec: reqllm.agenerate_text(MODEL, "2+3?", tools=TOOLS, temperature=0, **rec.aopts()),
    )
    assert sync.model_dump() == async_.model_dump()
    assert sync.tool_calls[0].arguments == {"a": 2, "b": 3} and sync.thinking == "Use the tool."


def test_stream_text_parity() -> None:
    payloads = [chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": "hmm"}),
                *text_chunks("The ", "answer ", "is 5.", usage_=usage(prompt=9, completion=4))[1:]]

    def make() -> list[Any]:
        return [stream_reply(payloads, size=37)]

    def sync_call(rec: Recorder) -> Any:
        stream = reqllm.stream_text(MODEL, "2+3?", **rec.opts())
        return list(stream), stream.to_response()

    async def async_call(rec: Recorder) -> Any:
        stream = reqllm.astream_text(MODEL, "2+3?", **rec.aopts())
        return [c async for c in stream], await stream.to_response()

    (sync_chunks, sync_response), (async_chunks, async_response), _, _ = _both(make, sync_call, async_call)
    assert sync_chunks == async_chunks and len(sync_chunks) >= 5
    assert sync_response.model_dump() == async_response.model_dump()
    assert sync_response.text == "The answer is 5." and sync_response.thinking == "hmm"


def test_generate_object_parity() -> None:
    def make() -> list[Any]:
        return [reply(json_=completion('{"value": 5, "unit": "apples"}'))]

    sync, async_, _, _ = _both(
        make,
        lambda rec: reqllm.generate_object(MODEL, "How many?", Answer, **rec.opts()),
        lambda rec: reqllm.agenerate_object(MODEL, "How many?", Answer, **rec.aopts()),
    )
    assert sync.object == async_.object == Answer(value=5, unit="apples")
    assert sync.model_dump() == async_.model_dump()


def test_embed_parity() -> None:
    def make() -> list[Any]:
        return [reply(json_=embeddings([[0.1, 0.2], [0.3, 0.4]], order=[1, 0]))]

    sync, async_, _, _ = _both(
        make,
        lambda rec: reqllm.embed("openai:text-embedding-3-small", ["a", "b"], **rec.opts()),
        lambda rec: reqllm.aembed("openai:text-embedding-3-small", ["a", "b"], **rec.aopts()),
    )
    assert sync.model_dump() == async_.model_dump()
    assert sync.embeddings == [[0.1, 0.2], [0.3, 0.4]]


def _error_of(call: Any) -> errors.ReqLLMError:
    try:
        call()
    except errors.ReqLLMError as exc:
        return exc
    raise AssertionError("no error raised")


@pytest.mark.parametrize("scenario", ["rate limited", "truncated stream", "in-stream error", "bad option"])
def test_error_parity(scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    delays = patch_sleep(monkeypatch)
    limited = reply(429, error_body("Rate limit reached", "requests", "rate_limit_exceeded"))
    stream = scenario in ("truncated stream", "in-stream error")
    payloads: list[Any] = [chunk({"content": "so far"})]
    if scenario == "in-stream error":
        payloads.append(error_body("Internal error", "server_error"))
    answer = stream_reply(payloads, done=False) if stream else limited
    opts: dict[str, Any] = {"temperature": 9} if scenario == "bad option" else {}

    def sync() -> Any:
        rec = Recorder(answer)
        if stream:
            return reqllm.stream_text(MODEL, "Hi", **rec.opts(**opts)).to_response()
        return reqllm.generate_text(MODEL, "Hi", **rec.opts(**opts))

    def async_() -> Any:
        rec = Recorder(answer)

        async def run() -> Any:
            if stream:
                return await reqllm.astream_text(MODEL, "Hi", **rec.aopts(**opts)).to_response()
            return await reqllm.agenerate_text(MODEL, "Hi", **rec.aopts(**opts))

        return asyncio.run(run())

    sync_error, async_error = _error_of(sync), _error_of(async_)
    assert type(sync_error) is type(async_error)
    assert str(sync_error) == str(async_error)
    assert sync_error.chunks == async_error.chunks
    assert getattr(sync_error, "attempts", None) == getattr(async_error, "attempts", None)
    if scenario == "rate limited":
        assert len(delays) == 4  # two retries each
