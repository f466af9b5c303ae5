"""Retries: which failures retry, how long the core waits, provider hints, the attempt budget."""

from __future__ import annotations

import asyncio
import email.utils
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import errors
from reqllm._retry import MAX_DELAY, RETRY_STATUSES, delay_for, retry_after, should_retry
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

OK = reply(json_=completion("recovered"))


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return patch_sleep(monkeypatch)


def failing(status: int, **headers: str) -> object:
    return reply(status, error_body(f"status {status}", "server_error" if status >= 500 else "requests"),
                 headers=headers or None)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses_are_retried(status: int, delays: list[float]) -> None:
    rec = Recorder(failing(status), failing(status), OK)
    response = reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert response.text == "recovered"
    assert len(rec.requests) == 3
    assert len(delays) == 2 and all(d > 0 for d in delays)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(status: int, delays: list[float]) -> None:
    rec = Recorder(failing(status), OK)
    with pytest.raises(errors.APIError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=5))
    assert len(rec.requests) == 1 and delays == []
    assert info.value.attempts == 1


@pytest.mark.parametrize("exc, cls", [
    (httpx.ConnectError("[Errno 111] Connection refused"), errors.APIConnectionError),
    (httpx.ReadTimeout("The read operation timed out"), errors.APITimeoutError),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), errors.APIConnectionError),
])
def test_connection_errors_are_retried(exc: Exception, cls: type[errors.TransportError],
                                       delays: list[float]) -> None:
    rec = Recorder(exc, OK)
    assert reqllm.generate_text(MODEL, "Hi", **rec.opts()).text == "recovered"
    assert len(rec.requests) == 2 and len(delays) == 1
    rec = Recorder(exc)
    with pytest.raises(cls) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.attempts == 3 and len(rec.requests) == 3


def test_default_budget_is_two_retries_three_attempts(delays: list[float]) -> None:
    rec = Recorder(failing(503))
    with pytest.raises(errors.ProviderUnavailableError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert len(rec.requests) == 3
    assert info.value.attempts == 3
    assert len(delays) == 2


@pytest.mark.parametrize("max_retries, attempts", [(0, 1), (1, 2), (4, 5)])
def test_max_retries_sets_the_budget(max_retries: int, attempts: int, delays: list[float]) -> None:
    rec = Recorder(failing(500))
    with pytest.raises(errors.ProviderUnavailableError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=max_retries))
    assert len(rec.requests) == attempts == info.value.attempts
    assert len(delays) == attempts - 1


def test_retry_after_seconds_is_honoured(delays: list[float]) -> None:
    rec = Recorder(failing(429, **{"retry-after": "3"}), OK)
    reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert delays == [3.0]


def test_retry_after_ms_is_honoured_and_wins(delays: list[float]) -> None:
    rec = Recorder(failing(429, **{"retry-after-ms": "1500", "retry-after": "2"}), OK)
    reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert delays == [1.5]


def test_retry_after_http_date_is_honoured(delays: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    rec = Recorder(failing(503, **{"retry-after": when}), OK)
    reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert len(delays) == 1 and 3.0 <= delays[0] <= 5.5


def test_garbage_retry_after_falls_back_to_backoff(delays: list[float]) -> None:
    rec = Recorder(failing(503, **{"retry-after": "soon", "retry-after-ms": "nan"}), OK)
    assert reqllm.generate_text(MODEL, "Hi", **rec.opts()).text == "recovered"
    assert len(delays) == 1 and 0 < delays[0] <= 0.5


def test_retry_after_zero_retries_at_once(delays: list[float]) -> None:
    rec = Recorder(failing(429, **{"retry-after": "0"}), OK)
    reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert delays == [0.0]


def test_retry_after_beyond_the_longest_wait_raises_at_once(delays: list[float]) -> None:
    rec = Recorder(failing(429, **{"retry-after": str(int(MAX_DELAY) + 1)}), OK)
    with pytest.raises(errors.RateLimitError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert len(rec.requests) == 1 and delays == []
    assert info.value.retry_after == MAX_DELAY + 1 and info.value.attempts == 1


def test_x_should_retry_false_stops_retries(delays: list[float]) -> None:
    rec = Recorder(failing(503, **{"x-should-retry": "false"}), OK)
    with pytest.raises(errors.ProviderUnavailableError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert len(rec.requests) == 1 and info.value.attempts == 1


def test_x_should_retry_true_retries_even_a_400(delays: list[float]) -> None:
    rec = Recorder(failing(400, **{"x-should-retry": "true"}), OK)
    assert reqllm.generate_text(MODEL, "Hi", **rec.opts()).text == "recovered"
    assert len(rec.requests) == 2


@pytest.fixture(scope="module")
def sdk_decisions() -> list[object]:
    """The ``_should_retry`` of the official OpenAI and Anthropic clients: the oracles."""
    import anthropic
    import openai

    return [openai.OpenAI(api_key="test-key")._should_retry, anthropic.Anthropic(api_key="test-key")._should_retry]


@pytest.mark.parametrize("hint", [None, "true", "false", "TRUE", ""])
@pytest.mark.parametrize("status", [400, 401, 404, 408, 409, 422, 429, 500, 503, 529])
def test_the_retry_decision_is_the_official_sdks(status: int, hint: str | None, sdk_decisions: list[Any]) -> None:
    """Status and ``x-should-retry`` decide as in the OpenAI and Anthropic SDKs (issue 13.22: the hint
    wins, so ``true`` retries a 400 and ``false`` stops a 429 or 5xx)."""
    import httpx2

    headers = {} if hint is None else {"x-should-retry": hint}
    ours = should_retry(errors.APIError("x", status=status), _response(status, **headers))
    for decide in sdk_decisions:
        assert ours == decide(httpx2.Response(status, headers=headers)), decide


def test_the_readme_retry_rules_say_what_should_retry_does() -> None:
    """The README's "Retried" rule names every retried status and the x-should-retry override."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rule = " ".join(readme.split("- **Retried**:", 1)[1].split("\n- ", 1)[0].split())
    for status in sorted(RETRY_STATUSES - set(range(500, 600)) | {529}):
        assert str(status) in rule, status
    assert "5xx" in rule
    assert "`x-should-retry` wins over the" in rule and "`true` retries even a 400" in rule
    assert "`false` never retries even a 503" in rule


def test_backoff_grows_with_jitter_and_rate_limits_wait_at_least_a_second(delays: list[float]) -> None:
    rec = Recorder(failing(500))
    with pytest.raises(errors.ProviderUnavailableError):
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=3))
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0 and 1.5 <= delays[2] <= 2.0
    delays.clear()
    rec = Recorder(failing(429))
    with pytest.raises(errors.RateLimitError):
        reqllm.generate_text(MODEL, "Hi", **rec.opts(max_retries=1))
    assert delays[0] >= 1.0


def test_each_attempt_sends_the_same_request(delays: list[float]) -> None:
    rec = Recorder(httpx.ConnectError("refused"), failing(502), OK)
    reqllm.generate_text(MODEL, "Hi", temperature=0.5, **rec.opts())
    assert len(rec.requests) == 3
    assert rec.bodies[0] == rec.bodies[1] == rec.bodies[2]


def test_stream_is_retried_before_its_first_byte(delays: list[float]) -> None:
    rec = Recorder(failing(503), stream_reply(text_chunks("fine")))
    assert reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response().text == "fine"
    assert len(rec.requests) == 2 and len(delays) == 1


def test_stream_broken_mid_body_is_not_retried(delays: list[float]) -> None:
    rec = Recorder(stream_reply(text_chunks("partial", "answer")[:2], done=False,
                                fail=httpx.ReadError("connection reset")))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    with pytest.raises(errors.APIConnectionError) as info:
        stream.to_response()
    assert len(rec.requests) == 1 and delays == []
    assert [c.text for c in info.value.chunks] == ["partial"]


def test_async_retries_use_asyncio_sleep(delays: list[float]) -> None:
    rec = Recorder(httpx.ConnectError("refused"), failing(429, **{"retry-after": "2"}), OK)

    async def run() -> str:
        return (await reqllm.agenerate_text(MODEL, "Hi", **rec.aopts())).text

    assert asyncio.run(run()) == "recovered"
    assert len(rec.requests) == 3
    assert len(delays) == 2 and delays[1] == 2.0


def test_async_budget_exhausted(delays: list[float]) -> None:
    rec = Recorder(failing(529))

    async def run() -> None:
        await reqllm.agenerate_text(MODEL, "Hi", **rec.aopts())

    with pytest.raises(errors.OverloadedError) as info:
        asyncio.run(run())
    assert info.value.attempts == 3 and len(rec.requests) == 3


# -- the policy's pieces ---------------------------------------------------------------------------------
def _response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_should_retry() -> None:
    assert should_retry(errors.APIError("x", status=500), None)
    assert should_retry(errors.APIError("x", status=599), None)
    assert not should_retry(errors.APIError("x", status=400), None)
    assert not should_retry(errors.APIError("x"), None)  # in-stream: no status
    assert should_retry(errors.APIConnectionError("x"), None)
    assert not should_retry(errors.ResponseDecodeError("x"), None)
    assert not should_retry(errors.APIError("x", status=500), _response(500, **{"x-should-retry": "false"}))


def test_retry_after_parsing() -> None:
    assert retry_after(None) is None
    assert retry_after(_response(429)) is None
    assert retry_after(_response(429, **{"retry-after": "1.5"})) == 1.5
    assert retry_after(_response(429, **{"retry-after": "-4"})) == 0.0
    assert retry_after(_response(429, **{"retry-after": "inf"})) is None
    assert retry_after(_response(429, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(_response(429, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 -0000"})) == 0.0
    assert retry_after(_response(429, **{"retry-after": "later please"})) is None
    assert retry_after(_response(429, **{"retry-after-ms": "250"})) == 0.25


def test_delay_for() -> None:
    assert delay_for(1, errors.APIError("x", status=500, retry_after=7.0)) == 7.0
    assert delay_for(1, errors.APIError("x", status=500, retry_after=MAX_DELAY + 1)) is None
    assert all(0.375 <= (delay_for(1, errors.APIConnectionError("x")) or 0) <= 0.5 for _ in range(50))
    assert delay_for(20, errors.APIConnectionError("x")) <= 8.0  # type: ignore[operator]
