"""Provider faults, injected by a real loopback server, through reqllm's public API.

Every test scripts what the server does (``server.script(...)``), makes one public call with
``base_url`` pointing at it, and checks the typed error (or the recovered answer), the attempts
the server counted, and the chunks a stream yielded before it failed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import errors
from reqllm.providers import get_protocol

from .faultserver import FaultServer, cut, reply, sse, stall
from .payloads import ANTHROPIC, CASES, GEMINI, OPENAI_CHAT, OPENAI_RESPONSES, Case, encode

CHAT = OPENAI_CHAT.model
SYNC_ASYNC = pytest.mark.parametrize("mode", ["sync", "async"])
EVERY_PROTOCOL = pytest.mark.parametrize("case", CASES, ids=str)
#: How many events of each case's stream carry the text "Hello" (and everything before it).
HELLO = {"openai_chat": 3, "anthropic": 9, "openai_responses": 9, "gemini": 3}
#: How many events come before each case's terminal one (OpenAI Chat ends at finish_reason).
BEFORE_END = {"openai_chat": 6, "anthropic": 15, "openai_responses": 15, "gemini": 3}
OPENAI_503 = {"error": {"message": "The server is overloaded or not ready yet.", "type": "server_error",
                        "param": None, "code": None}}
OPENAI_429 = {"error": {"message": "Rate limit reached for gpt-4o-mini in organization org-x on requests "
                                   "per min (RPM): Limit 3, Used 3, Requested 1.",
                        "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
ANTHROPIC_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
PROXY_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
             "</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")


def needs(case: Case) -> None:
    """Skip until the protocol's plugin module exists (others are writing some of them)."""
    try:
        get_protocol(case.protocol)
    except errors.UnknownProviderError:
        pytest.skip(f"the {case.protocol} plugin does not exist yet")


def opts(server: FaultServer | str, **extra: Any) -> dict[str, Any]:
    """Options pointing a call at the fault server."""
    url = server if isinstance(server, str) else server.url
    return {"base_url": url, "api_key": "test-key", **extra}


def generate(mode: str, model: str, **options: Any) -> reqllm.Response:
    """generate_text or agenerate_text."""
    if mode == "sync":
        return reqllm.generate_text(model, "Say hello", **options)
    return asyncio.run(reqllm.agenerate_text(model, "Say hello", **options))


def stream(mode: str, model: str, *, seen: Callable[[list[reqllm.StreamChunk]], None] | None = None,
           **options: Any) -> tuple[list[reqllm.StreamChunk], Any]:
    """Every chunk a stream yields, then its final Response or the ReqLLMError it raised (``seen`` is
    called with the chunks so far after each one)."""
    chunks: list[reqllm.StreamChunk] = []
    if mode == "sync":
        s = reqllm.stream_text(model, "Say hello", **options)
        try:
            for chunk in s:
                chunks.append(chunk)
                if seen is not None:
                    seen(chunks)
            return chunks, s.to_response()
        except reqllm.ReqLLMError as exc:
            assert s.chunks == chunks, "the stream keeps what it yielded"
            return chunks, exc

    async def run() -> Any:
        s = reqllm.astream_text(model, "Say hello", **options)
        try:
            async for chunk in s:
                chunks.append(chunk)
                if seen is not None:
                    seen(chunks)
            return await s.to_response()
        except reqllm.ReqLLMError as exc:
            assert s.chunks == chunks, "the stream keeps what it yielded"
            return exc

    return chunks, asyncio.run(run())


def texts(chunks: list[reqllm.StreamChunk]) -> str:
    return "".join(c.text for c in chunks if c.type == "content")


def events(case: Case, upto: int | None = None) -> list[bytes]:
    """The case's stream as one SSE byte string per event (the first ``upto`` events)."""
    return [encode([e]) for e in case.events[:upto]]


# -- 429 and the provider's retry hint ----------------------------------------------------------
@SYNC_ASYNC
@pytest.mark.parametrize(("header", "value", "seconds"), [("retry-after", "0.15", 0.15),
                                                          ("retry-after-ms", "150", 0.15)])
def test_429_waits_as_long_as_the_provider_says(server: FaultServer, mode: str, header: str, value: str,
                                                seconds: float) -> None:
    server.script(reply(429, OPENAI_429, headers={header: value}), reply(200, OPENAI_CHAT.body))
    response = generate(mode, CHAT, **opts(server))
    assert response.text == "Hello there"
    assert server.attempts == 2
    # honoured: not sooner than the hint, and not the >= 1 s floor used for a 429 without a hint
    assert seconds <= server.gaps()[0] < 0.9


def test_retry_after_ms_wins_over_retry_after(server: FaultServer) -> None:
    server.script(reply(429, OPENAI_429, headers={"retry-after": "30", "retry-after-ms": "50"}),
                  reply(200, OPENAI_CHAT.body))
    started = time.monotonic()
    assert reqllm.generate_text(CHAT, "hi", **opts(server)).text == "Hello there"
    assert time.monotonic() - started < 5


def test_a_retry_after_beyond_the_cap_raises_at_once_with_the_hint(server: FaultServer) -> None:
    server.script(reply(429, OPENAI_429, headers={"retry-after": "3600"}))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server))
    assert time.monotonic() - started < 2
    assert server.attempts == 1
    assert caught.value.retry_after == 3600
    assert caught.value.attempts == 1
    assert caught.value.code == "rate_limit_exceeded"
    assert "Rate limit reached" in caught.value.provider_message


def test_an_unparseable_retry_after_is_ignored_not_a_crash(server: FaultServer) -> None:
    server.script(reply(429, OPENAI_429, headers={"retry-after": "soon, maybe"}))
    with pytest.raises(errors.RateLimitError) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server, max_retries=0))
    assert caught.value.retry_after is None
    assert caught.value.status == 429


# -- 5xx then success, and the retry budget ----------------------------------------------------------
@SYNC_ASYNC
@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_retried_until_success(server: FaultServer, mode: str, status: int) -> None:
    body = ANTHROPIC_OVERLOADED if status == 529 else OPENAI_503
    server.script(reply(status, body), reply(status, body), reply(200, OPENAI_CHAT.body))
    response = generate(mode, CHAT, **opts(server, max_retries=2))
    assert response.text == "Hello there"
    assert response.tool_calls[0].arguments == {"city": "Paris"}
    assert server.attempts == 3
    assert all(r.json() == server.requests[0].json() for r in server.requests), "a retry resends the request"


@SYNC_ASYNC
@pytest.mark.parametrize(("status", "error"), [(503, errors.ProviderUnavailableError),
                                               (529, errors.OverloadedError),
                                               (429, errors.RateLimitError)])
def test_an_exhausted_retry_budget_raises_the_typed_error_with_its_attempts(
        server: FaultServer, mode: str, status: int, error: type[errors.APIError]) -> None:
    server.script(reply(status, OPENAI_503, headers={"retry-after-ms": "10"}))
    with pytest.raises(error) as caught:
        generate(mode, CHAT, **opts(server, max_retries=3))
    assert type(caught.value) is error
    assert caught.value.attempts == 4
    assert server.attempts == 4
    assert caught.value.status == status
    assert caught.value.provider_message == "The server is overloaded or not ready yet."


def test_a_client_error_is_not_retried(server: FaultServer) -> None:
    server.script(reply(400, {"error": {"message": "Invalid 'messages': empty array.",
                                        "type": "invalid_request_error", "code": "empty_array"}}))
    with pytest.raises(errors.InvalidRequestError) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server, max_retries=3))
    assert server.attempts == 1
    assert caught.value.attempts == 1
    assert caught.value.code == "empty_array"


@pytest.mark.parametrize(("status", "body", "error"), [(429, OPENAI_429, errors.RateLimitError),
                                                      (503, OPENAI_503, errors.ProviderUnavailableError)])
def test_x_should_retry_false_stops_retrying_a_429_or_5xx(server: FaultServer, status: int, body: Any,
                                                          error: type[errors.APIError]) -> None:
    server.script(reply(status, body, headers={"x-should-retry": "false", "retry-after-ms": "10"}))
    with pytest.raises(error) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server, max_retries=3))
    assert server.attempts == 1 and caught.value.attempts == 1


@SYNC_ASYNC
def test_x_should_retry_true_retries_even_a_400(server: FaultServer, mode: str) -> None:
    """Issue 13.22: the provider's hint wins over the status, as in the official OpenAI and Anthropic SDKs."""
    invalid = {"error": {"message": "try again", "type": "invalid_request_error", "code": None}}
    server.script(reply(400, invalid, headers={"x-should-retry": "true", "retry-after-ms": "10"}),
                  reply(200, OPENAI_CHAT.body))
    assert generate(mode, CHAT, **opts(server)).text == "Hello there"
    assert server.attempts == 2


def test_a_stream_request_is_retried_before_its_first_byte(server: FaultServer) -> None:
    server.script(reply(503, OPENAI_503), sse(events(OPENAI_CHAT)))
    chunks, result = stream("sync", CHAT, **opts(server))
    assert isinstance(result, reqllm.Response), result
    assert texts(chunks) == "Hello"
    assert server.attempts == 2


# -- the connection fails ---------------------------------------------------------------------
@SYNC_ASYNC
def test_connection_refused_is_a_connection_error_after_the_retries(refused_url: str, mode: str) -> None:
    started = time.monotonic()
    with pytest.raises(errors.APIConnectionError) as caught:
        generate(mode, CHAT, **opts(refused_url, max_retries=2))
    assert time.monotonic() - started < 5
    assert caught.value.attempts == 3
    assert "ConnectError" in str(caught.value)


@SYNC_ASYNC
def test_connection_refused_on_a_stream(refused_url: str, mode: str) -> None:
    chunks, result = stream(mode, CHAT, **opts(refused_url, max_retries=0))
    assert isinstance(result, errors.APIConnectionError)
    assert chunks == [] and result.chunks == []


@SYNC_ASYNC
@pytest.mark.parametrize("end", ["reset", "close"])
def test_a_body_cut_mid_way_is_a_connection_error_and_retried(server: FaultServer, mode: str,
                                                              end: str) -> None:
    body = json.dumps(OPENAI_CHAT.body).encode()
    server.script(cut(200, body, keep=len(body) // 2, end=end))
    with pytest.raises(errors.APIConnectionError) as caught:
        generate(mode, CHAT, **opts(server, max_retries=1))
    assert server.attempts == 2
    assert caught.value.attempts == 2


def test_a_body_cut_once_then_complete_succeeds(server: FaultServer) -> None:
    body = json.dumps(OPENAI_CHAT.body).encode()
    server.script(cut(200, body, keep=30), reply(200, body))
    assert reqllm.generate_text(CHAT, "hi", **opts(server)).text == "Hello there"
    assert server.attempts == 2


@SYNC_ASYNC
def test_a_stream_reset_mid_way_yields_its_chunks_then_a_typed_error(server: FaultServer, mode: str) -> None:
    read = threading.Event()
    server.script(sse(events(OPENAI_CHAT, 3), delay=0.02, end="reset", read=read))
    chunks, result = stream(mode, CHAT, seen=lambda got: texts(got) == "Hello" and read.set(), **opts(server))
    assert isinstance(result, errors.APIConnectionError), result
    assert texts(chunks) == "Hello"
    assert result.chunks == chunks
    assert server.attempts == 1, "a stream that already yielded is not silently re-sent"


@SYNC_ASYNC
def test_a_stream_without_its_terminal_event_is_truncated_not_short(server: FaultServer, mode: str) -> None:
    server.script(sse(events(OPENAI_CHAT, 6)))  # tool call half-streamed, no finish_reason, no [DONE]
    chunks, result = stream(mode, CHAT, **opts(server))
    assert isinstance(result, errors.StreamTruncatedError), result
    assert texts(chunks) == "Hello"
    assert [c.type for c in chunks].count("tool_call") == 3
    assert result.chunks == chunks


def test_an_empty_stream_body_is_truncated(server: FaultServer) -> None:
    server.script(sse([]))
    chunks, result = stream("sync", CHAT, **opts(server))
    assert isinstance(result, errors.StreamTruncatedError)
    assert chunks == []


def test_to_response_of_a_truncated_stream_raises_rather_than_returning_part(server: FaultServer) -> None:
    server.script(sse(events(OPENAI_CHAT, 3)))
    s = reqllm.stream_text(CHAT, "hi", **opts(server))
    with pytest.raises(errors.StreamTruncatedError):
        s.to_response()
    assert texts(s.chunks) == "Hello"


# -- stalls -------------------------------------------------------------------------------------
@SYNC_ASYNC
def test_a_server_that_never_answers_times_out(server: FaultServer, mode: str) -> None:
    server.script(stall())
    started = time.monotonic()
    with pytest.raises(errors.APITimeoutError) as caught:
        generate(mode, CHAT, **opts(server, timeout=0.3, max_retries=1))
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 2.5, elapsed
    assert caught.value.attempts == 2
    assert server.attempts == 2


def test_a_body_that_stalls_half_way_times_out(server: FaultServer) -> None:
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n"
            b'{"id": "chatcmpl-9zR", "choices": [')
    server.script(stall(head=head))
    started = time.monotonic()
    with pytest.raises(errors.APITimeoutError):
        reqllm.generate_text(CHAT, "hi", **opts(server, timeout=0.3, max_retries=0))
    assert time.monotonic() - started < 2


@SYNC_ASYNC
def test_a_stream_that_stalls_times_out_after_its_chunks(server: FaultServer, mode: str) -> None:
    server.script(sse(events(OPENAI_CHAT, 3), end="stall"))
    started = time.monotonic()
    chunks, result = stream(mode, CHAT, **opts(server, timeout=0.3, max_retries=0))
    assert time.monotonic() - started < 2.5
    assert isinstance(result, errors.APITimeoutError), result
    assert texts(chunks) == "Hello"
    assert result.chunks == chunks


def test_a_slow_but_steady_stream_is_not_a_timeout(server: FaultServer) -> None:
    # each read arrives within the read timeout, though the whole stream takes longer than it
    server.script(sse(events(OPENAI_CHAT), delay=0.06))
    _, result = stream("sync", CHAT, **opts(server, timeout=0.3))
    assert isinstance(result, reqllm.Response), result
    assert result.text == "Hello"
    assert result.tool_calls[0].arguments == {"city": "Paris"}


# -- HTTP 200 streams that carry an error --------------------------------------------------------
@SYNC_ASYNC
def test_an_openai_error_payload_in_a_200_stream_is_a_typed_error(server: FaultServer, mode: str) -> None:
    error = {"error": {"message": "The server had an error while processing your request.",
                       "type": "server_error", "param": None, "code": None}}
    server.script(sse([*events(OPENAI_CHAT, 3), encode([(None, error)]), *events(OPENAI_CHAT)[3:]]))
    chunks, result = stream(mode, CHAT, **opts(server))
    assert isinstance(result, errors.ProviderUnavailableError), result
    assert result.status is None
    assert "had an error" in result.provider_message
    assert texts(chunks) == "Hello" and result.chunks == chunks


@SYNC_ASYNC
def test_an_anthropic_overloaded_error_event_is_an_overloaded_error(server: FaultServer, mode: str) -> None:
    needs(ANTHROPIC)
    upto = 9  # thinking block, then "Hel", "lo" of the text block
    server.script(sse([*events(ANTHROPIC, upto), encode([("error", ANTHROPIC_OVERLOADED)])]))
    chunks, result = stream(mode, ANTHROPIC.model, **opts(server))
    assert isinstance(result, errors.OverloadedError), result
    assert result.provider_message == "Overloaded"
    assert texts(chunks) == "Hello" and result.chunks == chunks
    assert server.requests[0].path == "/v1/messages"
    assert server.requests[0].headers["x-api-key"] == "test-key"


@SYNC_ASYNC
def test_a_responses_failed_event_is_a_typed_error(server: FaultServer, mode: str) -> None:
    needs(OPENAI_RESPONSES)
    failed = {**OPENAI_RESPONSES.body, "status": "failed", "output": [], "usage": None,
              "error": {"code": "server_error", "message": "The model failed to generate a response."}}
    upto = 9  # reasoning item, then "Hel", "lo"
    server.script(sse([*events(OPENAI_RESPONSES, upto),
                       encode([("response.failed", {"type": "response.failed", "sequence_number": upto,
                                                    "response": failed})])]))
    chunks, result = stream(mode, OPENAI_RESPONSES.model, **opts(server, **OPENAI_RESPONSES.options))
    assert isinstance(result, errors.APIError), result
    assert "failed to generate" in result.provider_message
    assert texts(chunks) == "Hello" and result.chunks == chunks
    assert server.requests[0].path == "/v1/responses"


def test_a_responses_error_event_is_a_typed_error(server: FaultServer) -> None:
    needs(OPENAI_RESPONSES)
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4o.",
             "param": None, "sequence_number": 3}
    server.script(sse([*events(OPENAI_RESPONSES, 3), encode([("error", error)])]))
    _, result = stream("sync", OPENAI_RESPONSES.model, **opts(server, **OPENAI_RESPONSES.options))
    assert isinstance(result, errors.APIError), result
    assert "Rate limit reached" in result.provider_message


# -- what a proxy says ----------------------------------------------------------------------------
@SYNC_ASYNC
def test_an_html_502_from_a_proxy_is_a_typed_error_saying_it_was_not_json(server: FaultServer,
                                                                        mode: str) -> None:
    server.script(reply(502, PROXY_502, content_type="text/html"))
    with pytest.raises(errors.ProviderUnavailableError) as caught:
        generate(mode, CHAT, **opts(server, max_retries=1))
    message = str(caught.value)
    assert "non-JSON" in message and "text/html" in message
    assert "502 Bad Gateway" in message and "<center>" not in message
    assert caught.value.status == 502 and caught.value.attempts == 2
    assert isinstance(caught.value.body, str)


def test_a_plain_text_503_from_a_proxy_is_a_typed_error_saying_it_was_not_json(server: FaultServer) -> None:
    envoy = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
    server.script(reply(503, envoy, content_type="text/plain"))
    with pytest.raises(errors.ProviderUnavailableError) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server, max_retries=0))
    assert "non-JSON" in str(caught.value) and "upstream connect error" in str(caught.value)


@SYNC_ASYNC
def test_an_html_page_with_status_200_is_a_decode_error(server: FaultServer, mode: str) -> None:
    portal = "<html><body>Please log in to the Wi-Fi</body></html>"
    server.script(reply(200, portal, content_type="text/html"))
    with pytest.raises(errors.ResponseDecodeError) as caught:
        generate(mode, CHAT, **opts(server))
    assert "not JSON" in str(caught.value) and caught.value.field == "body"


def test_an_html_page_with_status_200_on_a_stream_is_truncated(server: FaultServer) -> None:
    server.script(reply(200, "<html><body>Please log in</body></html>", content_type="text/html"))
    chunks, result = stream("sync", CHAT, **opts(server))
    assert isinstance(result, errors.StreamTruncatedError) and chunks == []


# -- gzip -----------------------------------------------------------------------------------------
@SYNC_ASYNC
def test_a_gzip_body_is_decoded(server: FaultServer, mode: str) -> None:
    server.script(reply(200, OPENAI_CHAT.body, gzip=True))
    response = generate(mode, CHAT, **opts(server))
    assert response.text == "Hello there"
    assert response.usage.input_tokens == 19


@SYNC_ASYNC
def test_a_gzip_event_stream_is_decoded_as_it_arrives(server: FaultServer, mode: str) -> None:
    server.script(sse(events(OPENAI_CHAT), gzip=True, delay=0.01))
    chunks, result = stream(mode, CHAT, **opts(server))
    assert isinstance(result, reqllm.Response), result
    assert texts(chunks) == "Hello"
    assert result.tool_calls[0].arguments == {"city": "Paris"}
    assert result.usage.output_tokens == 12


def test_a_gzip_error_body_keeps_the_provider_message(server: FaultServer) -> None:
    server.script(reply(429, OPENAI_429, gzip=True, headers={"retry-after-ms": "3600000"}))
    with pytest.raises(errors.RateLimitError) as caught:
        reqllm.generate_text(CHAT, "hi", **opts(server))
    assert caught.value.code == "rate_limit_exceeded"


def test_a_corrupt_gzip_body_is_a_typed_error(server: FaultServer) -> None:
    server.script(reply(200, b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"content-encoding": "gzip"}))
    with pytest.raises(reqllm.ReqLLMError):
        reqllm.generate_text(CHAT, "hi", **opts(server, max_retries=0))


@SYNC_ASYNC
def test_anthropic_stream_over_gzip_and_slow_chunks(server: FaultServer, mode: str) -> None:
    needs(ANTHROPIC)
    server.script(sse(events(ANTHROPIC), gzip=True, delay=0.005))
    _, result = stream(mode, ANTHROPIC.model, **opts(server))
    assert isinstance(result, reqllm.Response), result
    assert result.text == "Hello"
    assert result.message.content[0].signature == "EqQBCgIYAhIM1gbc"  # type: ignore[union-attr]
    assert result.tool_calls[0].arguments == {"city": "Paris"}



# -- every protocol, over real sockets ------------------------------------------------------------
@EVERY_PROTOCOL
def test_every_protocol_retries_a_5xx_then_answers(server: FaultServer, case: Case) -> None:
    needs(case)
    server.script(reply(503, case.error), reply(529, case.error), reply(200, case.body))
    response = generate("sync", case.model, **opts(server, **case.options))
    assert response.text == "Hello there"
    assert response.tool_calls[0].arguments == {"city": "Paris"}
    assert server.attempts == 3


@EVERY_PROTOCOL
@SYNC_ASYNC
def test_every_protocol_streams_after_a_retry(server: FaultServer, case: Case, mode: str) -> None:
    needs(case)
    server.script(reply(429, case.error, headers={"retry-after-ms": "20"}), sse(events(case), delay=0.002))
    chunks, result = stream(mode, case.model, **opts(server, **case.options))
    assert isinstance(result, reqllm.Response), result
    assert texts(chunks) == "Hello" and result.text == "Hello"
    assert result.tool_calls[0].arguments == {"city": "Paris"}
    assert server.attempts == 2


@EVERY_PROTOCOL
def test_every_protocol_exhausts_its_retry_budget_with_a_typed_error(server: FaultServer, case: Case) -> None:
    needs(case)
    server.script(reply(503, case.error))
    with pytest.raises(errors.ProviderUnavailableError) as caught:
        generate("sync", case.model, **opts(server, max_retries=2, **case.options))
    assert caught.value.attempts == 3 and server.attempts == 3
    assert caught.value.status == 503


@EVERY_PROTOCOL
@SYNC_ASYNC
def test_every_protocol_reports_a_stream_cut_before_its_terminal_event(server: FaultServer, case: Case,
                                                                       mode: str) -> None:
    needs(case)
    assert BEFORE_END[case.protocol] == len(case.events) - (3 if case.protocol == "openai_chat" else 1)
    server.script(sse(events(case, BEFORE_END[case.protocol])))
    chunks, result = stream(mode, case.model, **opts(server, **case.options))
    assert isinstance(result, errors.StreamTruncatedError), result
    assert texts(chunks) == "Hello"
    assert result.chunks == chunks


@EVERY_PROTOCOL
@SYNC_ASYNC
def test_every_protocol_keeps_the_chunks_of_a_stream_reset_mid_way(server: FaultServer, case: Case,
                                                                   mode: str) -> None:
    needs(case)
    read = threading.Event()  # the reset comes once the client has the chunks: deterministic under load
    server.script(sse(events(case, HELLO[case.protocol]), end="reset", read=read))
    chunks, result = stream(mode, case.model, seen=lambda got: texts(got) == "Hello" and read.set(),
                            **opts(server, **case.options))
    assert isinstance(result, errors.APIConnectionError), result
    assert texts(chunks) == "Hello" and result.chunks == chunks


#: SSE comment lines (every decoder skips them) before the last "Hello" event: more than a 4 KiB
#: receive window and the kernel's buffers hold, so that event waits in the server's send queue.
PADDING = b"".join(b": %s\n" % (b"." * 1000) for _ in range(48))


@SYNC_ASYNC
def test_a_reset_waits_until_a_slow_reader_has_every_event(server: FaultServer, mode: str) -> None:
    """Issue 13.21: a RST discards what the server's kernel has not sent yet, so a reset right after the
    last write lost the last events whenever the reader lagged (``'Hel' == 'Hello'`` under CPU load).
    Here the reader always lags (a 4 KiB receive window, 48 KiB before the last event): without the gate
    it loses "lo" every time; ``sse(..., read=...)`` holds the reset until the reader has every event."""
    read = threading.Event()
    sent = events(GEMINI, HELLO["gemini"])
    server.script(sse([*sent[:-1], PADDING, sent[-1]], end="reset", read=read))
    window = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
    options: dict[str, Any] = opts(server, **GEMINI.options)
    seen = lambda got: texts(got) == "Hello" and read.set()  # noqa: E731
    if mode == "sync":
        with httpx.Client(transport=httpx.HTTPTransport(socket_options=window)) as client:
            chunks, result = stream(mode, GEMINI.model, seen=seen, http_client=client, **options)
    else:
        aclient = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(socket_options=window))
        chunks, result = stream(mode, GEMINI.model, seen=seen, http_client=aclient, **options)
        asyncio.run(aclient.aclose())
    assert isinstance(result, errors.APIConnectionError), result
    assert texts(chunks) == "Hello" and result.chunks == chunks


@EVERY_PROTOCOL
def test_every_protocol_decodes_gzip(server: FaultServer, case: Case) -> None:
    needs(case)
    server.script(reply(200, case.body, gzip=True), sse(events(case), gzip=True))
    assert generate("sync", case.model, **opts(server, **case.options)).text == "Hello there"
    _, result = stream("sync", case.model, **opts(server, **case.options))
    assert isinstance(result, reqllm.Response) and result.text == "Hello", result


def test_a_gemini_error_payload_in_a_200_stream_is_a_typed_error(server: FaultServer) -> None:
    needs(GEMINI)
    error = {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                       "status": "UNAVAILABLE"}}
    server.script(sse([*events(GEMINI, 3), encode([(None, error)])]))
    chunks, result = stream("sync", GEMINI.model, **opts(server))
    assert isinstance(result, errors.ProviderUnavailableError), result
    assert "overloaded" in result.provider_message
    assert texts(chunks) == "Hello" and result.chunks == chunks
    assert server.requests[0].path.startswith("/v1/models/gemini-2.0-flash:streamGenerateContent")
