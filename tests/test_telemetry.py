"""Telemetry: start/stop with usage and duration, retries, errors, first chunk, unsubscribe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

import reqllm
from reqllm import errors, telemetry
from reqllm.telemetry import TelemetryEvent
from tests.openai_fakes import (
    MODEL,
    Recorder,
    completion,
    error_body,
    patch_sleep,
    reply,
    stream_reply,
    text_chunks,
)
from tests.openai_fakes import usage as usage_body


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[TelemetryEvent]]:
    patch_sleep(monkeypatch)
    seen: list[TelemetryEvent] = []
    unsubscribe = telemetry.subscribe(seen.append)
    yield seen
    unsubscribe()


def names(events: list[TelemetryEvent]) -> list[str]:
    return [e.name for e in events]


def test_start_and_stop_with_usage_and_duration(events: list[TelemetryEvent]) -> None:
    rec = Recorder(reply(json_=completion("hi", usage_=usage_body(prompt=7, completion=3))))
    response = reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert names(events) == ["request.start", "request.stop"]
    start, stop = events
    assert (start.provider, start.model, start.operation, start.stream) == ("openai", MODEL, "chat", False)
    assert stop.usage == response.usage and stop.usage.input_tokens == 7
    assert stop.duration is not None and stop.duration >= 0 and stop.error is None


def test_retry_events(events: list[TelemetryEvent]) -> None:
    limited = error_body("slow down", "requests", "rate_limit_exceeded")
    rec = Recorder(httpx.ConnectError("refused"), reply(429, limited, headers={"retry-after": "2"}),
                   reply(json_=completion()))
    reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert names(events) == ["request.start", "request.retry", "request.retry", "request.stop"]
    first, second = events[1], events[2]
    assert first.attempt == 1 and isinstance(first.error, errors.APIConnectionError)
    assert first.delay is not None and first.delay > 0
    assert second.attempt == 2 and isinstance(second.error, errors.RateLimitError) and second.delay == 2.0


def test_error_event(events: list[TelemetryEvent]) -> None:
    rec = Recorder(reply(401, error_body("Incorrect API key", "invalid_request_error", "invalid_api_key")))
    with pytest.raises(errors.AuthenticationError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert names(events) == ["request.start", "request.error"]
    assert events[1].error is info.value and events[1].duration is not None


def test_input_errors_emit_nothing(events: list[TelemetryEvent]) -> None:
    with pytest.raises(errors.InvalidOptionError):
        reqllm.generate_text(MODEL, "Hi", temperature=5, **Recorder().opts())
    assert events == []


def test_stream_events(events: list[TelemetryEvent]) -> None:
    rec = Recorder(stream_reply(text_chunks("a", "b", usage_=usage_body(prompt=4, completion=2)), size=40))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    assert names(events) == ["request.start"]
    response = stream.to_response()
    assert names(events) == ["request.start", "stream.first_chunk", "request.stop"]
    first, stop = events[1], events[2]
    assert first.stream and first.duration is not None and first.duration <= stop.duration  # type: ignore[operator]
    assert stop.usage == response.usage and stop.usage.input_tokens == 4


def test_stream_error_event(events: list[TelemetryEvent]) -> None:
    rec = Recorder(stream_reply(text_chunks("a")[:2], done=False))
    with pytest.raises(errors.StreamTruncatedError):
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    assert names(events) == ["request.start", "stream.first_chunk", "request.error"]


def test_embed_and_async_events(events: list[TelemetryEvent]) -> None:
    rec = Recorder(reply(json_=completion()))

    async def run() -> None:
        await reqllm.agenerate_text(MODEL, "Hi", **rec.aopts())

    asyncio.run(run())
    assert names(events) == ["request.start", "request.stop"]


def test_unsubscribe_stops_delivery() -> None:
    seen: list[TelemetryEvent] = []
    unsubscribe = telemetry.subscribe(seen.append)
    assert telemetry.active()
    unsubscribe()
    unsubscribe()  # twice is harmless
    reqllm.generate_text(MODEL, "Hi", **Recorder().opts())
    assert seen == []


def test_every_event_name_is_documented() -> None:
    for name in telemetry.EVENTS:
        assert name in (telemetry.__doc__ or "")
