"""The Anthropic Messages protocol: request bodies, non-stream and stream decoding, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pydantic
import pytest

import reqllm
from reqllm import ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall
from reqllm.errors import (
    AuthenticationError,
    InvalidRequestError,
    OverloadedError,
    ProviderUnavailableError,
    RateLimitError,
    StreamTruncatedError,
)
from reqllm.providers.anthropic import AnthropicMessages, anthropic_usage
from reqllm.providers.base import OBJECT_TOOL_NAME
from reqllm.registry import Limit, Model

SONNET = "anthropic:claude-sonnet-4-20250514"  # limit.output 64000; $3 / $15, cache $0.30 / $3.75
HAIKU = "anthropic:claude-3-5-haiku-20241022"  # limit.output 8192

Handler = Callable[[httpx.Request], httpx.Response]

ADD = Tool(name="add", description="Add two numbers",
           parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                       "required": ["a", "b"]})
MULTIPLY = Tool(name="multiply", description="Multiply two numbers", parameters=ADD.parameters)


# -- helpers ------------------------------------------------------------------------------------
def _client(handler: Handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _json_answer(body: dict[str, Any], sent: list[httpx.Request] | None = None, status: int = 200) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if sent is not None:
            sent.append(request)
        return httpx.Response(status, json=body)
    return handler


def _message(content: list[dict[str, Any]], stop_reason: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-20250514", "content": content, "stop_reason": stop_reason,
            "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 6, **usage}}


def _body_of(messages: Any = "Hello", model: str | Model = SONNET, **opts: Any) -> dict[str, Any]:
    """The wire body reqllm sends for one generate_text call."""
    sent: list[httpx.Request] = []
    reqllm.generate_text(model, messages, api_key="test-key", max_retries=0,
                         http_client=_client(_json_answer(_message([{"type": "text", "text": "ok"}]), sent)),
                         **opts)
    return dict(json.loads(sent[0].content))


def _sse(*events: dict[str, Any]) -> bytes:
    """An Anthropic event stream: the event name repeats the payload's ``type``, as the API does."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def _stream(pieces: list[bytes] | bytes, model: str = SONNET, sent: list[httpx.Request] | None = None,
            **opts: Any) -> reqllm.StreamResponse:
    parts = [pieces] if isinstance(pieces, bytes) else pieces

    def handler(request: httpx.Request) -> httpx.Response:
        if sent is not None:
            sent.append(request)
        return httpx.Response(200, stream=_Pieces(parts), headers={"content-type": "text/event-stream"})
    return reqllm.stream_text(model, "Hello", api_key="test-key", max_retries=0, http_client=_client(handler),
                              **opts)


def _start(input_tokens: int = 472, output_tokens: int = 2, **cache: int) -> dict[str, Any]:
    return {"type": "message_start", "message": {
        "id": "msg_01Hz7dYuDEmVfUbzTG2bW4Ls", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-20250514", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, **cache}}}


def _block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _end(stop_reason: str = "end_turn", **usage: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": usage or {"output_tokens": 89}}, {"type": "message_stop"})


PING = {"type": "ping"}
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"

#: A small realistic stream: thinking with its signature, text, then a tool call in three fragments.
THINK_TEXT_TOOL = _sse(
    _start(cache_read_input_tokens=100, cache_creation_input_tokens=20),
    _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
    PING,
    _delta(0, {"type": "thinking_delta", "thinking": "The user wants 2+3. "}),
    _delta(0, {"type": "thinking_delta", "thinking": "Use the add tool."}),
    _delta(0, {"type": "signature_delta", "signature": SIGNATURE}),
    _stop(0),
    _block(1, {"type": "text", "text": ""}),
    _delta(1, {"type": "text_delta", "text": "Let me add "}),
    _delta(1, {"type": "text_delta", "text": "them — 🙂"}),
    _stop(1),
    _block(2, {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "add", "input": {}}),
    _delta(2, {"type": "input_json_delta", "partial_json": ""}),
    _delta(2, {"type": "input_json_delta", "partial_json": "{\"a\": 2"}),
    _delta(2, {"type": "input_json_delta", "partial_json": ", \"b\": 3}"}),
    _stop(2),
    *_end("tool_use", output_tokens=89),
)


# -- requests -----------------------------------------------------------------------------------
def test_request_url_headers_and_default_max_tokens() -> None:
    sent: list[httpx.Request] = []
    reqllm.generate_text(SONNET, "Hello", api_key="test-key",
                         http_client=_client(_json_answer(_message([{"type": "text", "text": "Hi"}]), sent)))
    request = sent[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "test-key"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = json.loads(request.content)
    assert body == {"model": "claude-sonnet-4-20250514", "max_tokens": 4096,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]}


def test_max_tokens_default_is_capped_by_the_model_limit_and_caller_value_wins() -> None:
    small = Model(provider="anthropic", id="claude-small", limit=Limit(output=1000))
    assert _body_of(model=small)["max_tokens"] == 1000
    assert _body_of(model=HAIKU)["max_tokens"] == 4096
    assert _body_of(max_tokens=300)["max_tokens"] == 300


def test_system_messages_join_into_the_top_level_field() -> None:
    body = _body_of([Message.system("You are terse."), {"role": "system", "content": "Answer in French."},
                     Message.user("Hi")])
    assert body["system"] == "You are terse.\n\nAnswer in French."
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert _body_of("Hi", system="Be brief.")["system"] == "Be brief."


def test_cache_control_on_a_system_part_sends_system_blocks() -> None:
    system = Message(role="system", content=[TextPart(text="Long rules", metadata={
        "cache_control": {"type": "ephemeral"}})])
    body = _body_of([system, Message.user("Hi")])
    assert body["system"] == [{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}]


def test_sampling_options_map_to_anthropic_fields() -> None:
    body = _body_of(temperature=0.2, top_p=0.9, stop=["\n\nHuman:", "END"])
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["stop_sequences"] == ["\n\nHuman:", "END"]
    assert "stop" not in body


def test_tools_and_tool_choice() -> None:
    body = _body_of(tools=[ADD, MULTIPLY])
    assert body["tools"] == [
        {"name": "add", "description": "Add two numbers", "input_schema": ADD.parameters},
        {"name": "multiply", "description": "Multiply two numbers", "input_schema": ADD.parameters},
    ]
    assert "tool_choice" not in body
    assert _body_of(tools=[ADD], tool_choice="auto")["tool_choice"] == {"type": "auto"}
    assert _body_of(tools=[ADD], tool_choice="required")["tool_choice"] == {"type": "any"}
    assert _body_of(tools=[ADD], tool_choice="none")["tool_choice"] == {"type": "none"}
    named = _body_of(tools=[ADD, MULTIPLY], tool_choice="add")
    assert named["tool_choice"] == {"type": "tool", "name": "add"}


@pytest.mark.parametrize(("reasoning", "budget"), [
    ("low", 1024), ("medium", 4096), ("high", 16384), (2048, 2048), (300, 1024),
    ({"budget_tokens": 5000}, 5000)])
def test_reasoning_becomes_a_thinking_budget_below_max_tokens(reasoning: Any, budget: int) -> None:
    body = _body_of(reasoning=reasoning)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] > budget


def test_max_tokens_at_or_below_the_budget_is_what_is_left_after_thinking() -> None:
    body = _body_of(reasoning="high", max_tokens=1000)
    assert body["thinking"]["budget_tokens"] == 16384
    assert body["max_tokens"] == 16384 + 1000
    assert _body_of(reasoning=1024, max_tokens=8000)["max_tokens"] == 8000


def test_no_thinking_unless_asked() -> None:
    assert "thinking" not in _body_of()
    assert "thinking" not in _body_of(reasoning="none")
    assert "thinking" not in _body_of(reasoning=0)


def test_images_become_base64_or_url_sources() -> None:
    body = _body_of([Message.user([
        TextPart(text="What is in these images?"),
        ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
        ImagePart(url="https://upload.wikimedia.org/ant.jpg"),
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
    ])])
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/ant.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
    ]


def test_tool_results_merge_into_one_user_turn() -> None:
    add = ToolCall(id="toolu_01A", name="add", arguments={"a": 2, "b": 3})
    mul = ToolCall(id="toolu_01B", name="multiply", arguments={"a": 2, "b": 3})
    body = _body_of([
        Message.user("Add and multiply 2 and 3"),
        Message.assistant("I'll use both tools.", tool_calls=[add, mul]),
        Message.tool_result(add, "5"),
        Message.tool_result(mul, {"value": 6}),
        Message.user("Now explain."),
    ], tools=[ADD, MULTIPLY])
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Add and multiply 2 and 3"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "I'll use both tools."},
            {"type": "tool_use", "id": "toolu_01A", "name": "add", "input": {"a": 2, "b": 3}},
            {"type": "tool_use", "id": "toolu_01B", "name": "multiply", "input": {"a": 2, "b": 3}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "5"},
            {"type": "tool_result", "tool_use_id": "toolu_01B", "content": '{"value": 6}'},
            {"type": "text", "text": "Now explain."},
        ]},
    ]


def test_thinking_signature_and_redacted_thinking_go_back_unchanged() -> None:
    assistant = Message(role="assistant", content=[
        ThinkingPart(text="Let me think.", signature=SIGNATURE),
        ThinkingPart(metadata={"redacted_thinking": "EmwKAhgBEgy3va3pzix/LafPsn4a"}),
        ThinkingPart(text="reasoning from another provider"),
        TextPart(text="It is 5."),
    ])
    body = _body_of([Message.user("2+3?"), assistant, Message.user("Sure?")], reasoning="low")
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "text", "text": "It is 5."},
    ]


def test_provider_options_and_headers_reach_the_wire() -> None:
    sent: list[httpx.Request] = []
    reqllm.generate_text(SONNET, "Hi", api_key="test-key",
                         headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
                         provider_options={"metadata": {"user_id": "u-1"}},
                         http_client=_client(_json_answer(_message([{"type": "text", "text": "ok"}]), sent)))
    assert sent[0].headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert json.loads(sent[0].content)["metadata"] == {"user_id": "u-1"}


# -- non-stream responses -----------------------------------------------------------------------
def test_non_stream_text_thinking_tool_use_and_cached_usage_with_cost() -> None:
    body = _message([
        {"type": "thinking", "thinking": "I should add.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "text", "text": "I'll add them."},
        {"type": "tool_use", "id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "name": "add",
         "input": {"a": 2, "b": 3}},
    ], stop_reason="tool_use", cache_read_input_tokens=1000, cache_creation_input_tokens=200)
    response = reqllm.generate_text(SONNET, "2+3?", api_key="test-key", tools=[ADD],
                                    http_client=_client(_json_answer(body)))
    assert response.text == "I'll add them."
    assert response.thinking == "I should add."
    thinking = response.message.content[0]
    assert isinstance(thinking, ThinkingPart) and thinking.signature == SIGNATURE
    redacted = response.message.content[1]
    assert isinstance(redacted, ThinkingPart)
    assert redacted.metadata == {"redacted_thinking": "EmwKAhgBEgy3va3pzix"}
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_01D7FLrfh4GYq7yT1ULFeyMV", "add", {"a": 2, "b": 3})]
    assert response.finish_reason == "tool_calls"
    assert response.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    usage = response.usage
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_write_tokens) == (1212, 1000, 200)
    assert (usage.output_tokens, usage.total_tokens) == (6, 1218)
    # 12 fresh * $3 + 1000 read * $0.30 + 200 written * $3.75 + 6 out * $15, per million tokens
    assert usage.cost == pytest.approx((12 * 3 + 1000 * 0.3 + 200 * 3.75 + 6 * 15) / 1e6)


@pytest.mark.parametrize(("stop_reason", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter"),
    ("pause_turn", "other"), ("something_new", "other")])
def test_stop_reasons(stop_reason: str, finish: str) -> None:
    body = _message([{"type": "text", "text": "partial"}], stop_reason=stop_reason)
    response = reqllm.generate_text(SONNET, "Hi", api_key="test-key", http_client=_client(_json_answer(body)))
    assert response.finish_reason == finish


def test_usage_normalization() -> None:
    assert anthropic_usage({"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 90,
                            "cache_creation_input_tokens": 3}) == {
        "input_tokens": 98, "output_tokens": 7, "cached_tokens": 90, "cache_write_tokens": 3}
    assert anthropic_usage(None) is None


# -- streams ------------------------------------------------------------------------------------
def test_stream_thinking_text_and_tool_call() -> None:
    stream = _stream(THINK_TEXT_TOOL)
    chunks = list(stream)
    assert [c.index for c in chunks if c.type == "thinking"] == [0, 0, 0]
    assert [c.index for c in chunks if c.type == "content"] == [1, 1]
    assert {c.index for c in chunks if c.type == "tool_call"} == {2}
    response = stream.to_response()
    assert response.thinking == "The user wants 2+3. Use the add tool."
    assert response.text == "Let me add them — 🙂"
    first = response.message.content[0]
    assert isinstance(first, ThinkingPart) and first.signature == SIGNATURE and first.metadata == {}
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "add", {"a": 2, "b": 3})]
    assert response.finish_reason == "tool_calls"
    assert response.id == "msg_01Hz7dYuDEmVfUbzTG2bW4Ls"
    assert (response.usage.input_tokens, response.usage.cached_tokens, response.usage.cache_write_tokens,
            response.usage.output_tokens) == (592, 100, 20, 89)


def test_stream_request_asks_for_a_stream() -> None:
    sent: list[httpx.Request] = []
    _stream(THINK_TEXT_TOOL, sent=sent).to_response()
    assert json.loads(sent[0].content)["stream"] is True
    assert sent[0].headers["accept"] == "text/event-stream"


def test_every_split_position_gives_the_same_chunks() -> None:
    whole = [c.to_dict() for c in _stream(THINK_TEXT_TOOL)]
    assert [c["type"] for c in whole] == ["meta", "thinking", "thinking", "thinking", "content", "content",
                                          "tool_call", "tool_call", "tool_call", "meta"]
    for at in range(1, len(THINK_TEXT_TOOL)):
        pieces = [THINK_TEXT_TOOL[:at], THINK_TEXT_TOOL[at:]]
        assert [c.to_dict() for c in _stream(pieces)] == whole, f"split at byte {at}"
    one_byte_each = [THINK_TEXT_TOOL[i:i + 1] for i in range(len(THINK_TEXT_TOOL))]
    assert [c.to_dict() for c in _stream(one_byte_each)] == whole


def test_parallel_tool_calls_via_input_json_delta() -> None:
    body = _sse(
        _start(),
        _block(0, {"type": "text", "text": ""}),
        _delta(0, {"type": "text_delta", "text": "I'll add and multiply."}),
        _stop(0),
        _block(1, {"type": "tool_use", "id": "toolu_01UYxUYC2zRPY8wiutnF48eP", "name": "add", "input": {}}),
        _delta(1, {"type": "input_json_delta", "partial_json": "{\"a\": 2"}),
        _delta(1, {"type": "input_json_delta", "partial_json": ", \"b\": 3}"}),
        _stop(1),
        _block(2, {"type": "tool_use", "id": "toolu_01VaRx1jpWCvPhi7L4kywAcd", "name": "multiply",
                   "input": {}}),
        _delta(2, {"type": "input_json_delta", "partial_json": "{\"a\": 2, \"b\":"}),
        _delta(2, {"type": "input_json_delta", "partial_json": " 3}"}),
        _stop(2),
        *_end("tool_use", output_tokens=137),
    )
    stream = _stream(body, tools=[ADD, MULTIPLY])
    fragments = [(c.index, c.id, c.name, c.arguments) for c in stream if c.type == "tool_call"]
    assert fragments == [
        (1, "toolu_01UYxUYC2zRPY8wiutnF48eP", "add", None), (1, None, None, "{\"a\": 2"),
        (1, None, None, ", \"b\": 3}"), (2, "toolu_01VaRx1jpWCvPhi7L4kywAcd", "multiply", None),
        (2, None, None, "{\"a\": 2, \"b\":"), (2, None, None, " 3}")]
    response = stream.to_response()
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("add", {"a": 2, "b": 3}),
                                                                    ("multiply", {"a": 2, "b": 3})]
    assert response.text == "I'll add and multiply."


def test_pings_unknown_events_and_unknown_blocks_are_ignored() -> None:
    plain = _sse(_start(), _block(0, {"type": "text", "text": ""}),
                 _delta(0, {"type": "text_delta", "text": "Hi"}), _stop(0), *_end())
    noisy = _sse(
        _start(), PING, _block(0, {"type": "text", "text": ""}), PING,
        _delta(0, {"type": "text_delta", "text": "Hi"}),
        _delta(0, {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}),
        _stop(0),
        _block(1, {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}),
        _delta(1, {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}),
        _stop(1),
        {"type": "some_future_event", "payload": [1, 2]},
        PING, *_end())
    expected = [c.to_dict() for c in _stream(plain)]
    assert [c.to_dict() for c in _stream(noisy)] == expected
    assert _stream(noisy).to_response().tool_calls == []


def test_redacted_thinking_in_a_stream() -> None:
    body = _sse(_start(), _block(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}), _stop(0),
                _block(1, {"type": "text", "text": "Done."}), _stop(1), *_end())
    response = _stream(body).to_response()
    part = response.message.content[0]
    assert isinstance(part, ThinkingPart) and part.metadata == {"redacted_thinking": "EmwKAhgBEgy3va3pzix"}
    assert response.text == "Done."


def test_message_delta_usage_replaces_message_start_counts_zero_included() -> None:
    # The official SDK's accumulator: every count message_delta carries (not None) is final.
    newer = _sse(_start(input_tokens=0, output_tokens=1), _block(0, {"type": "text", "text": "ok"}), _stop(0),
                 *_end(input_tokens=502, cache_read_input_tokens=40, output_tokens=31))
    usage = _stream(newer).to_response().usage
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (542, 40, 31)
    # a compaction answer: a cache read of 55,096 at start, 0 at the end
    compacted = _sse(_start(input_tokens=12, cache_read_input_tokens=55_096, output_tokens=1),
                     _block(0, {"type": "text", "text": "ok"}), _stop(0),
                     *_end(input_tokens=3_000, cache_read_input_tokens=0, cache_creation_input_tokens=0,
                           output_tokens=80))
    usage = _stream(compacted).to_response().usage
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (3_000, 0, 80)
    # counts message_delta leaves out (absent or null) stay as message_start gave them
    partial = _sse(_start(input_tokens=471, cache_read_input_tokens=9, output_tokens=5),
                   _block(0, {"type": "text", "text": "ok"}), _stop(0),
                   *_end(input_tokens=None, output_tokens=80))
    usage = _stream(partial).to_response().usage
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (480, 9, 80)


def test_in_stream_overloaded_error_comes_after_the_chunks_that_arrived() -> None:
    body = _sse(_start(), _block(0, {"type": "text", "text": ""}),
                _delta(0, {"type": "text_delta", "text": "Once upon"}),
                _delta(0, {"type": "text_delta", "text": " a time"}),
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                _delta(0, {"type": "text_delta", "text": " never seen"}))
    seen: list[reqllm.StreamChunk] = []
    with pytest.raises(OverloadedError) as info:
        for chunk in _stream(body):
            seen.append(chunk)
    assert "".join(c.text for c in seen if c.type == "content") == "Once upon a time"
    assert info.value.chunks == seen
    assert info.value.provider_message == "Overloaded"
    assert info.value.code == "overloaded_error"
    assert info.value.status is None


@pytest.mark.parametrize(("error_type", "cls"), [
    ("rate_limit_error", RateLimitError), ("api_error", ProviderUnavailableError),
    ("invalid_request_error", InvalidRequestError), ("authentication_error", AuthenticationError),
    ("permission_error", AuthenticationError)])
def test_in_stream_error_types(error_type: str, cls: type[Exception]) -> None:
    body = _sse(_start(), {"type": "error", "error": {"type": error_type, "message": "boom"}})
    with pytest.raises(cls) as info:
        _stream(body).to_response()
    assert type(info.value) is cls


def test_stream_without_message_stop_is_truncated() -> None:
    body = _sse(_start(), _block(0, {"type": "text", "text": ""}),
                _delta(0, {"type": "text_delta", "text": "Half an ans"}),
                {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                 "usage": {"output_tokens": 3}})
    stream = _stream(body)
    with pytest.raises(StreamTruncatedError) as info:
        list(stream)
    assert [c.text for c in info.value.chunks if c.type == "content"] == ["Half an ans"]


def test_async_stream_matches_sync() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=THINK_TEXT_TOOL, headers={"content-type": "text/event-stream"})

    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            stream = reqllm.astream_text(SONNET, "Hello", api_key="test-key", http_client=client)
            return [c.to_dict() async for c in stream]

    assert asyncio.run(run()) == [c.to_dict() for c in _stream(THINK_TEXT_TOOL)]


# -- HTTP errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "error_type", "cls"), [
    (401, "authentication_error", AuthenticationError), (429, "rate_limit_error", RateLimitError),
    (529, "overloaded_error", OverloadedError), (529, "api_error", OverloadedError),
    (400, "invalid_request_error", InvalidRequestError), (500, "api_error", ProviderUnavailableError)])
def test_http_errors(status: int, error_type: str, cls: type[Exception]) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": f"{error_type} happened"}}
    with pytest.raises(cls) as info:
        reqllm.generate_text(SONNET, "Hi", api_key="test-key", max_retries=0,
                             http_client=_client(_json_answer(body, status=status)))
    err = info.value
    assert type(err) is cls
    assert isinstance(err, reqllm.errors.APIError)
    assert err.status == status
    assert err.provider_message == f"{error_type} happened"
    assert err.code == error_type


def test_http_error_in_a_stream_request() -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests exceeded"}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json=body, headers={"retry-after": "7"})
    with pytest.raises(RateLimitError) as info:
        list(reqllm.stream_text(SONNET, "Hi", api_key="test-key", max_retries=0,
                                http_client=_client(handler)))
    assert info.value.retry_after == 7.0


def test_parse_error_without_a_json_body() -> None:
    plugin = AnthropicMessages()
    assert plugin.parse_error(529, "upstream overloaded").kind == "overloaded"
    assert plugin.parse_error(502, None).kind is None


# -- objects ------------------------------------------------------------------------------------
class Person(pydantic.BaseModel):
    name: str
    age: int


def test_generate_object_forces_the_object_tool() -> None:
    sent: list[httpx.Request] = []
    body = _message([{"type": "tool_use", "id": "toolu_01KUGVjCcSsLgVkmvQeDZdWE", "name": OBJECT_TOOL_NAME,
                      "input": {"name": "Alex Johnson", "age": 28}}], stop_reason="tool_use")
    result = reqllm.generate_object(SONNET, "Make a person", Person, api_key="test-key", tools=[ADD],
                                    http_client=_client(_json_answer(body, sent)))
    assert result.object == Person(name="Alex Johnson", age=28)
    wire = json.loads(sent[0].content)
    assert [t["name"] for t in wire["tools"]] == [OBJECT_TOOL_NAME]
    assert wire["tools"][0]["input_schema"] == Person.model_json_schema()
    assert wire["tool_choice"] == {"type": "tool", "name": OBJECT_TOOL_NAME}


def test_generate_object_with_thinking_lets_the_model_choose_the_tool() -> None:
    sent: list[httpx.Request] = []
    body = _message([{"type": "thinking", "thinking": "A person.", "signature": SIGNATURE},
                     {"type": "tool_use", "id": "toolu_01", "name": OBJECT_TOOL_NAME,
                      "input": {"name": "Ada", "age": 36}}], stop_reason="tool_use")
    result = reqllm.generate_object(SONNET, "Make a person", Person, api_key="test-key", reasoning="low",
                                    http_client=_client(_json_answer(body, sent)))
    assert result.object == Person(name="Ada", age=36)
    assert json.loads(sent[0].content)["tool_choice"] == {"type": "auto"}


def test_embeddings_are_not_supported() -> None:
    with pytest.raises(reqllm.errors.UnsupportedOperationError):
        reqllm.embed(SONNET, "text", api_key="test-key")


# -- multi-turn ---------------------------------------------------------------------------------
def test_multi_turn_sends_the_streamed_message_back() -> None:
    final = _sse(_start(), _block(0, {"type": "text", "text": "2 + 3 = 5"}), _stop(0), *_end())
    answers = iter([THINK_TEXT_TOOL, final])
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, content=next(answers), headers={"content-type": "text/event-stream"})
    client = _client(handler)
    messages: list[Message] = [Message.system("Use tools."), Message.user("What is 2+3?")]
    first = reqllm.stream_text(SONNET, messages, tools=[ADD], reasoning="low", api_key="test-key",
                               http_client=client).to_response()
    messages.append(first.message)
    messages.extend(Message.tool_result(c, "5") for c in first.tool_calls)
    second = reqllm.stream_text(SONNET, messages, tools=[ADD], reasoning="low", api_key="test-key",
                                http_client=client).to_response()
    assert second.text == "2 + 3 = 5"
    assert sent[1]["system"] == "Use tools."
    assert sent[1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is 2+3?"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "The user wants 2+3. Use the add tool.", "signature": SIGNATURE},
            {"type": "text", "text": "Let me add them — 🙂"},
            {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "add",
             "input": {"a": 2, "b": 3}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "content": "5"}]},
    ]
