"""Fallbacks: ``model=[...]`` tries the next model, with its own protocol, when retrying did not cure.

Every protocol fails in its own wire format (HTTP error bodies, in-stream error events) and hands
over to the next row of the protocol table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import reqllm
from reqllm.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    InvalidRequestError,
    OverloadedError,
    ProviderUnavailableError,
    RateLimitError,
)
from reqllm.telemetry import TelemetryEvent
from tests.openai_fakes import patch_sleep
from tests.test_loop import FINAL, VARIANTS, Run, mode, row, sync_tools
from tests.test_protocol_table import (
    CASES,
    PARALLEL,
    PLAIN,
    Case,
    Server,
    expected,
    json_reply,
    model_of,
    reply,
    stream_reply,
)

ANTHROPIC, CHAT = row("anthropic"), row("openai_chat")


def target(case: Case) -> reqllm.Model:
    """The row's model with its protocol on the Model itself, so a chain can mix protocols."""
    return model_of(case).model_copy(update={"protocol": case.options.get("protocol", case.protocol)})


def failure(case: Case, kind: str) -> httpx.Response:
    status, headers, body = case.wire.error(kind)
    return json_reply(body, status, headers)


@pytest.fixture
def events() -> Iterator[list[TelemetryEvent]]:
    seen: list[TelemetryEvent] = []
    unsubscribe = reqllm.telemetry.subscribe(seen.append)
    yield seen
    unsubscribe()


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_overloaded_anthropic_falls_back_to_openai(variant: str, events: list[TelemetryEvent]) -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), reply(CHAT, PLAIN, mode(variant)))
    run = Run(CHAT, server, variant)
    response = run(model=[target(ANTHROPIC), target(CHAT)])

    assert [r.url.host for r in server.requests] == ["api.anthropic.com", "api.openai.com"]
    assert response.model == "openai:gpt-4o-mini"
    assert response.normalized() == expected(CHAT, PLAIN)
    [error] = response.fallback_errors
    assert isinstance(error, OverloadedError) and error.status == 529
    assert error.provider == "anthropic"
    attempts = [(e.name, e.model) for e in events if e.name.startswith("request.")]
    assert attempts == [("request.start", "anthropic:claude-3-5-haiku-20241022"),
                        ("request.error", "anthropic:claude-3-5-haiku-20241022"),
                        ("request.fallback", "anthropic:claude-3-5-haiku-20241022"),
                        ("request.start", "openai:gpt-4o-mini"),
                        ("request.stop", "openai:gpt-4o-mini")]
    fallback = next(e for e in events if e.name == "request.fallback")
    assert fallback.fallback_model == "openai:gpt-4o-mini" and fallback.error is error


def test_the_core_retries_before_it_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    delays = patch_sleep(monkeypatch)
    server = Server(failure(ANTHROPIC, "overloaded"), failure(ANTHROPIC, "overloaded"), reply(CHAT, PLAIN, "body"))
    response = Run(CHAT, server, "body")(model=[target(ANTHROPIC), target(CHAT)], max_retries=1)
    assert len(delays) == 1 and len(server.requests) == 3
    assert response.model == "openai:gpt-4o-mini" and response.fallback_errors[0].attempts == 2


@pytest.mark.parametrize("kind", ["overloaded", "rate_limit", "server_error"])
@pytest.mark.parametrize("position", range(len(CASES)), ids=[c.protocol for c in CASES])
def test_every_protocol_hands_over_to_the_next_on(position: int, kind: str) -> None:
    failing, answering = CASES[position], CASES[(position + 1) % len(CASES)]
    server = Server(failure(failing, kind), reply(answering, PLAIN, "body"))
    run = Run(answering, server, "body")
    response = run(model=[target(failing), target(answering)], **{"protocol": None})
    assert response.model == answering.spec
    assert response.normalized() == expected(answering, PLAIN)
    assert isinstance(response.fallback_errors[0], RateLimitError | ProviderUnavailableError)


@pytest.mark.parametrize("kind", ["auth", "invalid_request", "not_found"])
def test_input_and_auth_errors_never_fall_back(kind: str) -> None:
    server = Server(failure(ANTHROPIC, kind), reply(CHAT, PLAIN, "body"))
    with pytest.raises(AuthenticationError if kind == "auth" else InvalidRequestError):
        Run(CHAT, server, "body")(model=[target(ANTHROPIC), target(CHAT)])
    assert len(server.requests) == 1


def test_the_last_models_error_carries_the_earlier_ones() -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), failure(CHAT, "rate_limit"))
    with pytest.raises(RateLimitError) as caught:
        Run(CHAT, server, "body")(model=[target(ANTHROPIC), target(CHAT)])
    assert [type(e) for e in caught.value.fallback_errors] == [OverloadedError]


def test_a_connection_failure_falls_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.anthropic.com":
            raise httpx.ConnectError("connection refused")
        return reply(CHAT, PLAIN, "body")

    response = reqllm.generate_text([target(ANTHROPIC), target(CHAT)], "hi", api_key="test-key", max_retries=0,
                                    http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert response.model == CHAT.spec
    assert isinstance(response.fallback_errors[0], APIConnectionError)


@pytest.mark.parametrize("variant", ["stream", "astream"])
def test_a_stream_falls_back_on_an_error_event_before_its_first_chunk(variant: str) -> None:
    # Anthropic answers 200 and then an overloaded error event, before any content.
    data = ANTHROPIC.wire.error_event(PLAIN, "overloaded")
    server = Server(stream_reply(data), reply(CHAT, PLAIN, "stream"))
    run = Run(CHAT, server, variant)
    response = run(model=[target(ANTHROPIC), target(CHAT)])
    assert response.model == CHAT.spec and isinstance(response.fallback_errors[0], OverloadedError)
    assert "".join(c.text for c in run.chunks if c.type == "content") == PLAIN.text


@pytest.mark.parametrize("variant", ["stream", "astream"])
def test_a_stream_never_falls_back_after_its_first_chunk(variant: str) -> None:
    data = ANTHROPIC.wire.head(PLAIN) + ANTHROPIC.wire.error_event(PLAIN, "overloaded")
    server = Server(stream_reply(data), reply(CHAT, PLAIN, "stream"))
    run = Run(CHAT, server, variant)
    with pytest.raises(OverloadedError) as caught:
        run(model=[target(ANTHROPIC), target(CHAT)])
    assert len(server.requests) == 1
    assert "".join(c.text for c in caught.value.chunks if c.type == "content") == PLAIN.text


def test_a_stream_reports_the_model_that_answered() -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), reply(CHAT, PLAIN, "stream"))
    stream = reqllm.stream_text([target(ANTHROPIC), target(CHAT)], "hi", api_key="test-key", max_retries=0,
                                http_client=server.client())
    assert stream.model == ANTHROPIC.spec  # nothing was tried yet
    list(stream)
    assert stream.model == CHAT.spec == stream.to_response().model


@pytest.mark.parametrize("variant", ["body", "stream"])
def test_each_step_of_a_loop_starts_from_the_first_model(variant: str) -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), reply(CHAT, PARALLEL, variant),
                    reply(ANTHROPIC, FINAL, variant))
    response = Run(CHAT, server, variant)(model=[target(ANTHROPIC), target(CHAT)], tools=sync_tools(),
                                          max_steps=3)
    assert [s.model for s in response.steps] == [CHAT.spec, ANTHROPIC.spec]
    assert response.model == ANTHROPIC.spec and len(response.fallback_errors) == 1
    # Anthropic gets the OpenAI step's calls and results as tool_use / tool_result blocks.
    blocks = [b["type"] for m in server.body(2)["messages"] for b in m["content"] if isinstance(m["content"], list)]
    assert blocks.count("tool_use") == 2 and blocks.count("tool_result") == 2


def test_objects_fall_back_too() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    answer_body: dict[str, Any] = CHAT.wire.body(type(PLAIN)(text='{"name": "Zürich"}'))
    server = Server(failure(ANTHROPIC, "overloaded"), json_reply(answer_body))
    result = reqllm.generate_object([target(ANTHROPIC), target(CHAT)], "Une ville ?", schema, api_key="test-key",
                                    max_retries=0, http_client=server.client())
    assert result.object == {"name": "Zürich"} and result.model == CHAT.spec


def test_a_chain_is_validated_before_any_request() -> None:
    server = Server()
    with pytest.raises(reqllm.errors.UnknownModelError):
        reqllm.generate_text(["openai:gpt-4o-mini", "anthropic:claude-nope"], "hi", api_key="k",
                             http_client=server.client())
    assert server.requests == []


def test_api_error_is_the_base_of_what_falls_back() -> None:
    from reqllm._loop import FALLBACK_ERRORS

    assert all(issubclass(e, APIError | reqllm.errors.TransportError) for e in FALLBACK_ERRORS)
    assert not any(issubclass(AuthenticationError, e) or issubclass(InvalidRequestError, e) for e in FALLBACK_ERRORS)
