"""The OpenAI Responses protocol: request bodies, responses, streams, errors (payloads as documented)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import reqllm
from reqllm import Message, TextPart, ThinkingPart, Tool, ToolCall
from reqllm.errors import (
    APIError,
    InvalidOptionError,
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitError,
    StreamTruncatedError,
)

WEATHER = Tool(name="get_weather", description="Weather of a city",
               parameters={"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]})
USAGE = {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1000}, "output_tokens": 300,
         "output_tokens_details": {"reasoning_tokens": 256}, "total_tokens": 1500}


class Recorder:
    """A MockTransport handler that answers with canned responses and keeps the requests."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def body(self, position: int = -1) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.requests[position].content)
        return body


def opts(recorder: Recorder, **extra: Any) -> dict[str, Any]:
    return {"protocol": "openai_responses", "api_key": "test-key", "http_client": recorder.client(),
            "max_retries": 0, **extra}


def response_body(*output: dict[str, Any], status: str = "completed", usage: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1741476542, "status": status,
            "model": "o3-2025-04-16", "output": list(output), "usage": usage or USAGE, **extra}


def message_item(text: str, item_id: str = "msg_1") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def reasoning_item(*summaries: str, encrypted: str | None = "gAAAA-enc",
                   item_id: str = "rs_1") -> dict[str, Any]:
    item: dict[str, Any] = {"type": "reasoning", "id": item_id,
                            "summary": [{"type": "summary_text", "text": s} for s in summaries]}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def function_item(call_id: str, name: str, arguments: str, item_id: str) -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name, "arguments": arguments,
            "status": "completed"}


def sse(*events: dict[str, Any], sequence: bool = True) -> bytes:
    """Events framed as the API sends them: ``event:`` name plus the same name in ``type``."""
    out = []
    for number, event in enumerate(events):
        data = {**event, "sequence_number": number} if sequence else event
        out.append(f"event: {event['type']}\ndata: {json.dumps(data)}\n\n")
    return "".join(out).encode()


def stream_response(body: bytes, split: int | None = None) -> httpx.Response:
    def pieces() -> Iterator[bytes]:
        assert split is not None
        for start in range(0, len(body), split):
            yield body[start:start + split]

    content: Any = body if split is None else pieces()
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)


def part_metadata(response: reqllm.Response, position: int) -> dict[str, Any]:
    part = response.message.content[position]
    assert isinstance(part, TextPart | ThinkingPart)
    return part.metadata


def answer(text: str) -> httpx.Response:
    return httpx.Response(200, json=response_body(message_item(text)))


def streamed(model: str, body: bytes) -> reqllm.Response:
    return reqllm.stream_text(model, "hi", **opts(Recorder(stream_response(body)))).to_response()


def created() -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": "resp_s", "status": "in_progress", "output": []}}


def completed(status: str = "completed", **extra: Any) -> dict[str, Any]:
    kind = "response.completed" if status == "completed" else f"response.{status}"
    return {"type": kind, "response": {"id": "resp_s", "status": status, "output": [],
                                       "usage": USAGE, **extra}}


def text_events(text_deltas: list[str], output_index: int = 0,
                item_id: str = "msg_s") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": output_index,
         "item": {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant",
                  "content": []}},
        {"type": "response.content_part.added", "item_id": item_id, "output_index": output_index,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    events += [{"type": "response.output_text.delta", "item_id": item_id, "output_index": output_index,
                "content_index": 0, "delta": d} for d in text_deltas]
    events += [
        {"type": "response.output_text.done", "item_id": item_id, "output_index": output_index,
         "content_index": 0, "text": "".join(text_deltas)},
        {"type": "response.output_item.done", "output_index": output_index,
         "item": message_item("".join(text_deltas), item_id)},
    ]
    return events


# -- requests --------------------------------------------------------------------------------
def test_request_maps_messages_tools_and_options() -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    messages = [
        Message.system("Be brief."),
        Message.user([{"type": "text", "text": "What is this?"},
                      {"type": "image", "url": "https://example.com/cat.png"}]),
        Message.assistant("Let me check.",
                          [ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})]),
        Message.tool_result(ToolCall(id="call_1", name="get_weather"), {"temp": 21}),
        Message.system("Answer in French."),
    ]
    reqllm.generate_text("openai:gpt-4o", messages, **opts(rec, max_tokens=500, temperature=0.2, top_p=0.9,
                                                            tools=[WEATHER], tool_choice="get_weather"))
    request = rec.requests[0]
    assert str(request.url) == "https://api.openai.com/v1/responses"
    assert request.headers["authorization"] == "Bearer test-key"
    assert rec.body() == {
        "model": "gpt-4o",
        "instructions": "Be brief.\n\nAnswer in French.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is this?"},
                                         {"type": "input_image", "image_url": "https://example.com/cat.png"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather",
             "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'},
        ],
        "max_output_tokens": 500,
        "temperature": 0.2,
        "top_p": 0.9,
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather of a city",
                   "parameters": WEATHER.parameters, "strict": False}],
        "tool_choice": {"type": "function", "name": "get_weather"},
    }


def test_base64_image_becomes_a_data_url() -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    image = {"type": "image", "data": "iVBORw0KGgo=", "media_type": "image/png"}
    reqllm.generate_text("openai:gpt-4o", [Message.user([{"type": "text", "text": "Describe"}, image])],
                         **opts(rec))
    assert rec.body()["input"][0]["content"][1] == {"type": "input_image",
                                                    "image_url": "data:image/png;base64,iVBORw0KGgo="}


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_modes_pass_through(choice: str) -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    reqllm.generate_text("openai:gpt-4o", "hi", **opts(rec, tools=[WEATHER], tool_choice=choice))
    assert rec.body()["tool_choice"] == choice


@pytest.mark.parametrize(("reasoning", "expected"), [
    ("high", {"effort": "high", "summary": "auto"}),
    (1024, {"effort": "low", "summary": "auto"}),
    (4096, {"effort": "medium", "summary": "auto"}),
    (32000, {"effort": "high", "summary": "auto"}),
])
def test_reasoning_option_sets_effort_summary_and_encrypted_content(reasoning: Any,
                                                                    expected: dict[str, str]) -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    reqllm.generate_text("openai:o3", "hi", **opts(rec, reasoning=reasoning))
    body = rec.body()
    assert body["reasoning"] == expected
    assert body["include"] == ["reasoning.encrypted_content"]


def test_plain_model_without_reasoning_sends_no_reasoning_fields() -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    reqllm.generate_text("openai:gpt-4o", "hi", **opts(rec))
    body = rec.body()
    assert body == {"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                                "text": "hi"}]}]}


def test_reasoning_model_asks_for_encrypted_reasoning_even_without_the_option() -> None:
    rec = Recorder(httpx.Response(200, json=response_body(message_item("ok"))))
    reqllm.generate_text("openai:o3", "hi", **opts(rec))
    assert rec.body()["include"] == ["reasoning.encrypted_content"]
    assert "reasoning" not in rec.body()


@pytest.mark.parametrize(("option", "value"), [("stop", ["\n"]), ("seed", 7)])
def test_stop_and_seed_are_rejected_before_any_request(option: str, value: Any) -> None:
    rec = Recorder()
    with pytest.raises(InvalidOptionError, match=rf"option {option} .*openai_responses"):
        reqllm.generate_text("openai:gpt-4o", "hi", **opts(rec, **{option: value}))
    with pytest.raises(InvalidOptionError, match=option):
        list(reqllm.stream_text("openai:gpt-4o", "hi", **opts(rec, **{option: value})))
    assert rec.requests == []


def test_stream_request_sets_stream_true() -> None:
    rec = Recorder(stream_response(sse(created(), *text_events(["hi"]), completed())))
    reqllm.stream_text("openai:gpt-4o", "hi", **opts(rec)).to_response()
    assert rec.body()["stream"] is True
    assert rec.requests[0].headers["accept"] == "text/event-stream"


# -- non-stream responses ----------------------------------------------------------------------
def test_message_reasoning_usage_and_cost() -> None:
    body = response_body(reasoning_item("**Plan**\n\nCheck units.", "**Answer**"), message_item("42 km"))
    rec = Recorder(httpx.Response(200, json=body))
    response = reqllm.generate_text("openai:o3", "How far?", **opts(rec))
    assert response.text == "42 km"
    assert response.thinking == "**Plan**\n\nCheck units.\n\n**Answer**"
    assert response.message.content[0].type == "thinking"
    assert part_metadata(response, 0) == {"id": "rs_1", "encrypted_content": "gAAAA-enc"}
    assert part_metadata(response, 1) == {"id": "msg_1"}
    assert response.finish_reason == "stop"
    assert response.id == "resp_1"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 300, 1500)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (1000, 256)
    # o3: $2 input, $0.5 cache read, $8 output per million tokens
    assert usage.cost == pytest.approx((200 * 2.0 + 1000 * 0.5 + 300 * 8.0) / 1_000_000)


def test_function_call_item_becomes_a_tool_call_keyed_by_call_id() -> None:
    body = response_body(function_item("call_abc", "get_weather", '{"city":"Paris"}', "fc_1"))
    rec = Recorder(httpx.Response(200, json=body))
    response = reqllm.generate_text("openai:gpt-4o", "Weather?", **opts(rec, tools=[WEATHER]))
    assert response.finish_reason == "tool_calls"
    [call] = response.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_abc", "get_weather", {"city": "Paris"})
    assert call.metadata == {"item_id": "fc_1"}


def test_refusal_is_text_with_content_filter() -> None:
    item = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    rec = Recorder(httpx.Response(200, json=response_body(item)))
    response = reqllm.generate_text("openai:gpt-4o", "bad", **opts(rec))
    assert response.text == "I can't help with that."
    assert response.finish_reason == "content_filter"


@pytest.mark.parametrize(("reason", "finish"), [("max_output_tokens", "length"),
                                                ("content_filter", "content_filter")])
def test_incomplete_response_maps_its_reason(reason: str, finish: str) -> None:
    body = response_body(message_item("The answer is"), status="incomplete",
                         incomplete_details={"reason": reason})
    rec = Recorder(httpx.Response(200, json=body))
    response = reqllm.generate_text("openai:gpt-4o", "hi", **opts(rec))
    assert response.finish_reason == finish
    assert response.text == "The answer is"


def test_failed_response_raises_the_typed_error() -> None:
    body = response_body(status="failed", error={"code": "server_error", "message": "The model crashed."})
    rec = Recorder(httpx.Response(200, json=body))
    with pytest.raises(ProviderUnavailableError, match=r"The model crashed\.") as info:
        reqllm.generate_text("openai:gpt-4o", "hi", **opts(rec))
    assert info.value.code == "server_error"
    assert info.value.provider == "openai"


def test_http_error_body_gives_typed_error_with_provider_message() -> None:
    error = {"error": {"message": "Unsupported parameter: 'temperature'", "type": "invalid_request_error",
                       "param": "temperature", "code": "unsupported_parameter"}}
    rec = Recorder(httpx.Response(400, json=error))
    with pytest.raises(InvalidRequestError) as info:
        reqllm.generate_text("openai:o3", "hi", **opts(rec, temperature=0.5))
    assert info.value.status == 400
    assert info.value.provider_message == "Unsupported parameter: 'temperature'"
    assert info.value.code == "unsupported_parameter"


# -- streams -----------------------------------------------------------------------------------
@pytest.mark.parametrize("split", [None, 1, 3, 7, 64])
def test_stream_text_and_usage_at_any_byte_boundary(split: int | None) -> None:
    body = sse(created(), {"type": "response.in_progress", "response": {"id": "resp_s"}},
               *text_events(["Café ", "☕ is", " hot."]), completed())
    rec = Recorder(stream_response(body, split))
    stream = reqllm.stream_text("openai:gpt-4o", "hi", **opts(rec))
    texts = list(stream.text_stream())
    response = stream.to_response()
    assert texts == ["Café ", "☕ is", " hot."]
    assert response.text == "Café ☕ is hot."
    assert part_metadata(response, 0) == {"id": "msg_s"}
    assert response.finish_reason == "stop"
    assert response.id == "resp_s"
    assert (response.usage.input_tokens, response.usage.cached_tokens, response.usage.reasoning_tokens) == (
        1200, 1000, 256)
    assert response.usage.cost is not None


def test_events_without_sequence_numbers_decode_the_same() -> None:
    events = [created(), *text_events(["Hello", " world"]), completed()]
    with_numbers = reqllm.stream_text("openai:gpt-4o", "hi", **opts(Recorder(stream_response(sse(*events))))
                                      ).to_response()
    rec = Recorder(stream_response(sse(*events, sequence=False)))
    without = reqllm.stream_text("openai:gpt-4o", "hi", **opts(rec)).to_response()
    assert without.normalized() == with_numbers.normalized()
    assert without.text == "Hello world"


def test_parallel_function_calls_with_interleaved_deltas_land_on_their_call() -> None:
    def added(index: int, item_id: str, call_id: str, name: str) -> dict[str, Any]:
        return {"type": "response.output_item.added", "output_index": index,
                "item": {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
                         "arguments": "", "status": "in_progress"}}

    def delta(item_id: str, index: int | None, text: str) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "response.function_call_arguments.delta", "item_id": item_id,
                                 "delta": text}
        if index is not None:
            event["output_index"] = index
        return event

    body = sse(
        created(),
        added(0, "fc_a", "call_a", "get_weather"),
        added(1, "fc_b", "call_b", "get_weather"),
        delta("fc_a", 0, '{"city":'), delta("fc_b", 1, '{"city":'),
        delta("fc_b", None, '"Oslo"}'),  # keyed by item id alone
        delta("fc_a", None, '"Lima"}'),
        {"type": "response.function_call_arguments.done", "item_id": "fc_a", "output_index": 0,
         "arguments": '{"city":"Lima"}'},
        {"type": "response.output_item.done", "output_index": 0,
         "item": function_item("call_a", "get_weather", '{"city":"Lima"}', "fc_a")},
        {"type": "response.output_item.done", "output_index": 1,
         "item": function_item("call_b", "get_weather", '{"city":"Oslo"}', "fc_b")},
        completed(),
    )
    rec = Recorder(stream_response(body, 5))
    stream = reqllm.stream_text("openai:gpt-4o", "Weather in Lima and Oslo?", **opts(rec, tools=[WEATHER]))
    chunks = list(stream)
    response = stream.to_response()
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "get_weather", {"city": "Lima"}), ("call_b", "get_weather", {"city": "Oslo"})]
    assert [c.metadata for c in response.tool_calls] == [{"item_id": "fc_a"}, {"item_id": "fc_b"}]
    assert response.finish_reason == "tool_calls"
    fragments = [(c.index, c.arguments) for c in chunks if c.type == "tool_call" and c.arguments]
    assert fragments == [(0, '{"city":'), (1, '{"city":'), (1, '"Oslo"}'), (0, '"Lima"}')]


def test_function_call_without_deltas_takes_arguments_from_the_done_item() -> None:
    body = sse(
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "function_call", "id": "fc_a", "call_id": "call_a", "name": "get_weather",
                  "arguments": ""}},
        {"type": "response.output_item.done", "output_index": 0,
         "item": function_item("call_a", "get_weather", '{"city":"Rome"}', "fc_a")},
        completed(),
    )
    response = streamed("openai:gpt-4o", body)
    assert [(c.id, c.arguments) for c in response.tool_calls] == [("call_a", {"city": "Rome"})]


def test_reasoning_summary_deltas_become_thinking_with_item_metadata() -> None:
    def summary(index: int, text: str) -> dict[str, Any]:
        return {"type": "response.reasoning_summary_text.delta", "item_id": "rs_s", "output_index": 0,
                "summary_index": index, "delta": text}

    body = sse(
        created(),
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_s", "summary": [], "encrypted_content": "gAAAA-early"}},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_s", "output_index": 0,
         "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
        summary(0, "**Units**\n\n"), summary(0, "Convert miles."),
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_s", "output_index": 0,
         "summary_index": 1, "part": {"type": "summary_text", "text": ""}},
        summary(1, "**Check**"),
        {"type": "response.output_item.done", "output_index": 0,
         "item": reasoning_item("**Units**\n\nConvert miles.", "**Check**", encrypted="gAAAA-final",
                                item_id="rs_s")},
        *text_events(["About 42 km."], output_index=1),
        completed(),
    )
    stream = reqllm.stream_text("openai:o3", "How far?", **opts(Recorder(stream_response(body, 11))))
    chunks = list(stream)
    response = stream.to_response()
    assert [c.text for c in chunks if c.type == "thinking" and c.text] == [
        "**Units**\n\n", "Convert miles.", "\n\n**Check**"]
    assert response.thinking == "**Units**\n\nConvert miles.\n\n**Check**"
    assert part_metadata(response, 0) == {"id": "rs_s", "encrypted_content": "gAAAA-final"}
    assert response.text == "About 42 km."


def test_reasoning_text_deltas_are_thinking() -> None:
    body = sse(
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_t", "summary": []}},
        {"type": "response.reasoning_text.delta", "item_id": "rs_t", "output_index": 0, "content_index": 0,
         "delta": "2 + 2 = 4"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_t", "summary": [],
                  "content": [{"type": "reasoning_text", "text": "2 + 2 = 4"}]}},
        *text_events(["4"], output_index=1),
        completed(),
    )
    response = reqllm.stream_text("openai:o3", "2+2?", **opts(Recorder(stream_response(body)))).to_response()
    assert response.thinking == "2 + 2 = 4"
    assert response.text == "4"


def test_stream_incomplete_ends_with_length() -> None:
    body = sse(created(), *text_events(["The answer"]),
               completed("incomplete", incomplete_details={"reason": "max_output_tokens"}))
    response = streamed("openai:gpt-4o", body)
    assert response.finish_reason == "length"
    assert response.text == "The answer"
    assert response.usage.output_tokens == 300


def test_stream_failed_raises_after_the_chunks_that_arrived() -> None:
    failed = {"type": "response.failed", "response": {
        "id": "resp_s", "status": "failed", "output": [],
        "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached for o3."}}}
    body = sse(created(), *text_events(["Partial"])[:3], failed)
    stream = reqllm.stream_text("openai:gpt-4o", "hi", **opts(Recorder(stream_response(body))))
    seen = []
    with pytest.raises(RateLimitError, match="Rate limit reached") as info:
        for chunk in stream:
            seen.append(chunk)
    assert [c.text for c in seen] == ["Partial"]
    assert [c.text for c in info.value.chunks] == ["Partial"]
    assert info.value.code == "rate_limit_exceeded"


def test_error_event_raises_after_the_chunks_that_arrived() -> None:
    error = {"type": "error", "code": "server_error", "message": "The server had an error.", "param": None}
    body = sse(created(), *text_events(["Hel", "lo"])[:4], error)
    stream = reqllm.stream_text("openai:gpt-4o", "hi", **opts(Recorder(stream_response(body, 9))))
    with pytest.raises(ProviderUnavailableError, match=r"The server had an error\.") as info:
        stream.to_response()
    assert "".join(c.text for c in info.value.chunks) == "Hello"
    assert isinstance(info.value, APIError) and info.value.code == "server_error"


def test_stream_without_a_terminal_event_is_truncated() -> None:
    body = sse(created(), *text_events(["Half an ans"])[:3])
    stream = reqllm.stream_text("openai:gpt-4o", "hi", **opts(Recorder(stream_response(body))))
    with pytest.raises(StreamTruncatedError, match="openai_responses") as info:
        stream.to_response()
    assert "".join(c.text for c in info.value.chunks) == "Half an ans"


def test_async_stream_matches_sync() -> None:
    body = sse(created(), *text_events(["Hello", " there"]), completed())
    sync = reqllm.stream_text("openai:gpt-4o", "hi", **opts(Recorder(stream_response(body)))).to_response()

    async def run() -> reqllm.Response:
        transport = httpx.MockTransport(lambda request: stream_response(body))
        async with httpx.AsyncClient(transport=transport) as client:
            stream = reqllm.astream_text("openai:gpt-4o", "hi", protocol="openai_responses",
                                         api_key="test-key", http_client=client)
            return await stream.to_response()

    response = asyncio.run(run())
    assert response.text == "Hello there"
    assert response.normalized() == sync.normalized()


# -- multi-turn --------------------------------------------------------------------------------
def test_function_call_round_trip_sends_reasoning_and_paired_items_back() -> None:
    first = response_body(reasoning_item("Need the weather.", item_id="rs_9"),
                          function_item("call_9", "get_weather", '{"city":"Paris"}', "fc_9"))
    rec = Recorder(httpx.Response(200, json=first),
                   httpx.Response(200, json=response_body(message_item("It is 21°C in Paris."))))
    options = opts(rec, tools=[WEATHER])
    history: list[Message] = [Message.user("Weather in Paris?")]
    turn = reqllm.generate_text("openai:o3", history, **options)
    [call] = turn.tool_calls
    history += [turn.message, Message.tool_result(call, "21°C")]
    final = reqllm.generate_text("openai:o3", history, **options)
    assert final.text == "It is 21°C in Paris."
    assert rec.body(1)["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"type": "reasoning", "id": "rs_9", "encrypted_content": "gAAAA-enc",
         "summary": [{"type": "summary_text", "text": "Need the weather."}]},
        {"type": "function_call", "call_id": "call_9", "name": "get_weather",
         "arguments": '{"city": "Paris"}', "id": "fc_9"},
        {"type": "function_call_output", "call_id": "call_9", "output": "21°C"},
    ]


def test_reasoning_then_message_is_sent_back_with_the_message_id() -> None:
    first = response_body(reasoning_item(item_id="rs_1"), message_item("Hi!", "msg_7"))
    rec = Recorder(httpx.Response(200, json=first), answer("Ok"))
    turn = reqllm.generate_text("openai:o3", "Hello", **opts(rec))
    reqllm.generate_text("openai:o3", [Message.user("Hello"), turn.message, Message.user("Bye")], **opts(rec))
    assert rec.body(1)["input"][1:3] == [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-enc"},
        {"type": "message", "role": "assistant", "id": "msg_7", "status": "completed",
         "content": [{"type": "output_text", "text": "Hi!", "annotations": []}]},
    ]


def test_reasoning_without_encrypted_content_is_not_sent_back() -> None:
    first = response_body(reasoning_item("Thinking.", encrypted=None),
                          function_item("call_9", "get_weather", '{"city":"Paris"}', "fc_9"))
    rec = Recorder(httpx.Response(200, json=first), answer("Ok"))
    options = opts(rec, tools=[WEATHER])
    turn = reqllm.generate_text("openai:o3", "Weather?", **options)
    reqllm.generate_text("openai:o3", [Message.user("Weather?"), turn.message,
                                       Message.tool_result(turn.tool_calls[0], "21°C")], **options)
    items = rec.body(1)["input"]
    assert [i.get("type") for i in items] == ["message", "function_call", "function_call_output"]
    assert "id" not in items[1]


def test_streamed_turn_round_trips_like_a_complete_one() -> None:
    body = sse(
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_s", "summary": []}},
        {"type": "response.output_item.done", "output_index": 0,
         "item": reasoning_item(encrypted="gAAAA-s", item_id="rs_s")},
        {"type": "response.output_item.added", "output_index": 1,
         "item": {"type": "function_call", "id": "fc_s", "call_id": "call_s", "name": "get_weather",
                  "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_s", "output_index": 1,
         "delta": '{"city":"Oslo"}'},
        {"type": "response.output_item.done", "output_index": 1,
         "item": function_item("call_s", "get_weather", '{"city":"Oslo"}', "fc_s")},
        completed(),
    )
    rec = Recorder(stream_response(body), httpx.Response(200, json=response_body(message_item("Cold."))))
    options = opts(rec, tools=[WEATHER])
    turn = reqllm.stream_text("openai:o3", "Weather in Oslo?", **options).to_response()
    reqllm.generate_text("openai:o3", [Message.user("Weather in Oslo?"), turn.message,
                                       Message.tool_result(turn.tool_calls[0], "-3°C")], **options)
    assert rec.body(1)["input"][1:] == [
        {"type": "reasoning", "id": "rs_s", "summary": [], "encrypted_content": "gAAAA-s"},
        {"type": "function_call", "call_id": "call_s", "name": "get_weather", "arguments": '{"city": "Oslo"}',
         "id": "fc_s"},
        {"type": "function_call_output", "call_id": "call_s", "output": "-3°C"},
    ]


# -- objects -----------------------------------------------------------------------------------
class City(BaseModel):
    name: str
    population: int


def test_generate_object_uses_text_format_json_schema() -> None:
    rec = Recorder(answer('{"name":"Lima","population":10000000}'))
    result = reqllm.generate_object("openai:gpt-4o", "Largest city of Peru?", City, **opts(rec))
    assert result.object == City(name="Lima", population=10_000_000)
    fmt = rec.body()["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "City", "schema": City.model_json_schema(), "strict": False}


def test_generate_object_with_a_strict_dict_schema() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    rec = Recorder(httpx.Response(200, json=response_body(message_item('{"ok": true}'))))
    result = reqllm.generate_object("openai:gpt-4o", "Ok?", schema, schema_name="verdict", **opts(rec))
    assert result.object == {"ok": True}
    assert rec.body()["text"]["format"] == {"type": "json_schema", "name": "verdict", "schema": schema,
                                            "strict": True}


def test_embeddings_are_not_offered() -> None:
    with pytest.raises(reqllm.errors.UnsupportedOperationError, match="openai_responses"):
        reqllm.embed("openai:text-embedding-3-small", "hi", protocol="openai_responses", api_key="test-key")


def test_separate_reasoning_items_are_joined_with_a_blank_line() -> None:
    body = response_body(reasoning_item("**Plan**", item_id="rs_1"), function_item("c1", "f", "{}", "fc_1"),
                         reasoning_item("**Check**", item_id="rs_2"), message_item("done"))
    response = reqllm.generate_text("openai:o3", "Go", **opts(Recorder(httpx.Response(200, json=body))))
    assert response.thinking == "**Plan**\n\n**Check**"
    assert [part_metadata(response, i).get("id") for i in (0, 1)] == ["rs_1", "rs_2"]  # still two items

    def item(number: int, text: str) -> list[dict[str, Any]]:
        item_id = f"rs_{number}"
        return [{"type": "response.output_item.added", "output_index": number,
                 "item": {"type": "reasoning", "id": item_id, "summary": []}},
                {"type": "response.reasoning_summary_text.delta", "item_id": item_id, "output_index": number,
                 "summary_index": 0, "delta": text},
                {"type": "response.output_item.done", "output_index": number,
                 "item": reasoning_item(text, item_id=item_id)}]

    streamed = sse(created(), *item(0, "**Plan**"), *item(1, "**Check**"), *text_events(["done"], output_index=2),
                   completed())
    response = reqllm.stream_text("openai:o3", "Go", **opts(Recorder(stream_response(streamed)))).to_response()
    assert response.thinking == "**Plan**\n\n**Check**"
