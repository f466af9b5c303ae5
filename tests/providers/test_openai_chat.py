"""OpenAI Chat Completions: requests as the API reference documents them, and decoding of bodies and
streams (text, tools, reasoning, usage and cost, structured output, embeddings, errors in streams)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import reqllm
from reqllm import Message, StreamChunk, Tool, ToolCall
from reqllm._http import prepare
from reqllm._stream import ResponseBuilder, StreamDecoder
from reqllm.errors import (
    AuthenticationError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseDecodeError,
    StreamTruncatedError,
)
from reqllm.providers import register_protocol
from reqllm.providers.openai_chat import OpenAIChat, error_kind, openai_usage
from tests.openai_fakes import (
    API_KEY,
    MODEL,
    Recorder,
    chunk,
    completion,
    embeddings,
    error_body,
    registry_snapshot,
    reply,
    sse,
    stream_reply,
    text_chunks,
    tool_call,
    usage,
)

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = Tool(name="get_weather", description="Current weather in a city", parameters=CITY)
TIME = Tool(name="get_time", description="Local time in a city", parameters=CITY)


def sent(rec: Recorder) -> dict[str, Any]:
    assert len(rec.requests) == 1
    body: dict[str, Any] = rec.bodies[0]
    return body


# -- requests --------------------------------------------------------------------------------------
def test_text_request_url_auth_and_body() -> None:
    rec = Recorder()
    reqllm.generate_text(MODEL, [Message.system("Be brief."), Message.user("Hi")], temperature=0.2,
                         max_tokens=50, top_p=0.9, stop=["\n\n"], seed=7, **rec.opts())
    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert sent(rec) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.2, "max_tokens": 50, "top_p": 0.9, "stop": ["\n\n"], "seed": 7,
    }


def test_stream_request_asks_for_usage() -> None:
    rec = Recorder(stream_reply(text_chunks("Hi")))
    reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    body = sent(rec)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert rec.requests[0].headers["accept"] == "text/event-stream"


def test_tools_and_a_named_tool_choice() -> None:
    rec = Recorder()
    reqllm.generate_text(MODEL, "Weather in Paris?", tools=[WEATHER], tool_choice="get_weather", **rec.opts())
    body = sent(rec)
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city", "parameters": WEATHER.parameters}}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_openai_style_tool_dicts_are_accepted() -> None:
    rec = Recorder()
    spec = {"type": "function", "function": {"name": "get_time", "description": "Local time",
                                             "parameters": TIME.parameters}}
    reqllm.generate_text(MODEL, "Time?", tools=[spec], tool_choice="required", **rec.opts())
    body = sent(rec)
    assert body["tools"][0]["function"]["name"] == "get_time"
    assert body["tool_choice"] == "required"


def test_conversation_with_tool_call_and_result_round_trips() -> None:
    rec = Recorder()
    call = ToolCall(id="call_abc", name="get_weather", arguments={"city": "Paris"})
    history = [
        Message.user("Weather in Paris?"),
        Message.assistant("", tool_calls=[call]),
        Message.tool_result(call, {"temp_c": 18}),
        Message.user([{"type": "text", "text": "And this?"},
                      {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]),
    ]
    reqllm.generate_text(MODEL, history, tools=[WEATHER], **rec.opts())
    messages = sent(rec)["messages"]
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_abc", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_abc", "content": '{"temp_c": 18}'}
    assert messages[3]["content"] == [{"type": "text", "text": "And this?"},
                                      {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]


def test_reasoning_model_uses_max_completion_tokens_and_effort() -> None:
    rec = Recorder()
    # o3-mini defaults to the Responses API; the protocol option pins Chat Completions.
    reqllm.generate_text("openai:o3-mini", "Prove it.", max_tokens=2000, reasoning="high",
                         protocol="openai_chat", **rec.opts())
    body = sent(rec)
    assert body["max_completion_tokens"] == 2000 and "max_tokens" not in body
    assert body["reasoning_effort"] == "high"


def test_provider_options_merge_into_the_body() -> None:
    rec = Recorder()
    reqllm.generate_text(MODEL, "Hi", provider_options={"user": "u-42", "metadata": {"k": "v"}},
                         headers={"OpenAI-Organization": "org-1"}, **rec.opts())
    body = sent(rec)
    assert body["user"] == "u-42" and body["metadata"] == {"k": "v"}
    assert rec.requests[0].headers["openai-organization"] == "org-1"


class City(BaseModel):
    name: str
    country: str
    population: int


def test_structured_output_request_uses_json_schema_response_format() -> None:
    rec = Recorder(reply(json_=completion('{"name": "Paris", "country": "France", "population": 2102650}')))
    result = reqllm.generate_object(MODEL, "Largest city of France?", City, **rec.opts())
    body = sent(rec)
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "City", "schema": City.model_json_schema(), "strict": False}}
    assert "tools" not in body
    assert result.object == City(name="Paris", country="France", population=2102650)


def test_strict_structured_output_for_a_closed_schema() -> None:
    schema = {"type": "object", "title": "verdict", "properties": {"ok": {"type": "boolean"}},
              "required": ["ok"], "additionalProperties": False}
    rec = Recorder(reply(json_=completion('{"ok": true}')))
    result = reqllm.generate_object(MODEL, "Is it fine?", schema, **rec.opts())
    fmt = sent(rec)["response_format"]
    assert fmt["json_schema"]["strict"] is True and fmt["json_schema"]["name"] == "verdict"
    assert result.object == {"ok": True}


# -- non-stream responses ----------------------------------------------------------------------------
def test_text_response() -> None:
    body = completion("Hello! How can I help you today?")
    rec = Recorder(reply(json_=body))
    response = reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert response.text == "Hello! How can I help you today?"
    assert response.finish_reason == "stop"
    assert response.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert response.model == MODEL
    assert response.raw == body
    assert response.message.role == "assistant"
    assert response.tool_calls == [] and response.thinking == ""
    u = response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (19, 10, 29)


def test_tool_call_response() -> None:
    body = completion(None, finish_reason="tool_calls", tool_calls=[
        tool_call("call_q1", "get_weather", {"city": "Paris"}),
        tool_call("call_q2", "get_time", {"city": "Tokyo"})])
    rec = Recorder(reply(json_=body))
    response = reqllm.generate_text(MODEL, "Weather in Paris and time in Tokyo?", tools=[WEATHER, TIME],
                                    **rec.opts())
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_q1", "get_weather", {"city": "Paris"}), ("call_q2", "get_time", {"city": "Tokyo"})]
    assert response.text == ""


def test_forced_tool_call_reported_as_stop_becomes_tool_calls() -> None:
    calls = [tool_call("call_1", "get_weather", {"city": "Oslo"})]
    rec = Recorder(reply(json_=completion(None, finish_reason="stop", tool_calls=calls)))
    response = reqllm.generate_text(MODEL, "Weather?", tools=[WEATHER], tool_choice="get_weather",
                                    **rec.opts())
    assert response.finish_reason == "tool_calls"


def test_tool_call_with_invalid_json_arguments_is_a_typed_error() -> None:
    bad = {"id": "call_1", "type": "function",
           "function": {"name": "get_weather", "arguments": '{"city": "Par'}}
    rec = Recorder(reply(json_=completion(None, finish_reason="tool_calls", tool_calls=[bad])))
    with pytest.raises(ResponseDecodeError) as info:
        reqllm.generate_text(MODEL, "Weather?", tools=[WEATHER], **rec.opts())
    assert "get_weather" in str(info.value)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_in_the_message_is_thinking(field: str) -> None:
    body = completion("The answer is 4.", **{field: "2 + 2: add the units."})
    rec = Recorder(reply(json_=body))
    response = reqllm.generate_text(MODEL, "2+2?", **rec.opts())
    assert response.thinking == "2 + 2: add the units."
    assert response.text == "The answer is 4."
    assert [p.type for p in response.message.content] == ["thinking", "text"]


def test_cached_and_reasoning_tokens_and_cost_from_registry_prices() -> None:
    price = reqllm.model(MODEL).cost
    assert price is not None and (price.input, price.output) == (0.15, 0.6)
    body = completion("ok", usage_=usage(prompt=2000, completion=300, cached=1024, reasoning=64))
    rec = Recorder(reply(json_=body))
    u = reqllm.generate_text(MODEL, "Hi", **rec.opts()).usage
    assert (u.input_tokens, u.cached_tokens, u.output_tokens, u.reasoning_tokens, u.total_tokens) == (
        2000, 1024, 300, 64, 2300)
    cache_read = price.cache_read if price.cache_read is not None else price.input
    expected = (976 * 0.15 + 1024 * cache_read + 300 * 0.6) / 1_000_000
    assert u.cost == pytest.approx(expected)
    assert u.cost is not None and u.cost > 0


def test_cost_is_none_not_zero_when_the_model_is_unpriced() -> None:
    unpriced = reqllm.model("openai:gpt-9-preview", allow_unknown=True)
    assert unpriced.cost is None and unpriced.uncatalogued
    rec = Recorder(reply(json_=completion("ok", usage_=usage(prompt=10, completion=5))))
    response = reqllm.generate_text(unpriced, "Hi", **rec.opts())
    assert response.usage.input_tokens == 10
    assert response.usage.cost is None
    assert sent(rec)["model"] == "gpt-9-preview"


def test_refusal_is_the_text_and_finishes_as_content_filter() -> None:
    body = completion(None, refusal="I'm sorry, I can't help with that.")
    rec = Recorder(reply(json_=body))
    response = reqllm.generate_text(MODEL, "Something bad", **rec.opts())
    assert response.text == "I'm sorry, I can't help with that."
    assert response.finish_reason == "content_filter"


def test_unknown_fields_are_ignored() -> None:
    body = completion("Hi there", audio=None, brand_new_field={"x": 1})
    body["choices"][0]["content_filter_results"] = {"hate": {"filtered": False}}
    body["prompt_filter_results"] = []
    body["usage"]["prompt_tokens_details"]["future_tokens"] = 3
    body["something_new"] = [1, 2, 3]
    rec = Recorder(reply(json_=body))
    response = reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert response.text == "Hi there" and response.usage.input_tokens == 19


@pytest.mark.parametrize("reason, expected", [("length", "length"), ("content_filter", "content_filter"),
                                              ("function_call", "tool_calls"), ("something_else", "other")])
def test_finish_reasons_are_normalized(reason: str, expected: str) -> None:
    rec = Recorder(reply(json_=completion("partial", finish_reason=reason)))
    assert reqllm.generate_text(MODEL, "Hi", **rec.opts()).finish_reason == expected


def test_body_without_choices_is_a_decode_error() -> None:
    rec = Recorder(reply(json_={"id": "x", "object": "chat.completion", "choices": []}))
    with pytest.raises(ResponseDecodeError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.field == "choices"


def test_non_json_success_body_is_a_decode_error() -> None:
    rec = Recorder(reply(content=b"<html>gateway</html>", headers={"content-type": "text/html"}))
    with pytest.raises(ResponseDecodeError) as info:
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.field == "body" and "gateway" in str(info.value)


# -- embeddings --------------------------------------------------------------------------------------
def test_embeddings_ordered_by_index_in_one_batch() -> None:
    vectors = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    rec = Recorder(reply(json_=embeddings(vectors, order=[2, 0, 1], prompt_tokens=12)))
    result = reqllm.embed("openai:text-embedding-3-small", ["a", "b", "c"], dimensions=2, **rec.opts())
    assert result.embeddings == vectors
    request = rec.requests[0]
    assert str(request.url) == "https://api.openai.com/v1/embeddings"
    assert rec.bodies[0] == {"model": "text-embedding-3-small", "input": ["a", "b", "c"], "dimensions": 2}
    assert result.usage.input_tokens == 12 and result.usage.total_tokens == 12
    assert result.usage.cost == pytest.approx(12 * 0.02 / 1_000_000)
    assert result.model == "openai:text-embedding-3-small"


def test_embed_one_string() -> None:
    rec = Recorder(reply(json_=embeddings([[1.0, 0.0]])))
    result = reqllm.embed("openai:text-embedding-3-small", "hello", **rec.opts())
    assert result.embeddings == [[1.0, 0.0]] and rec.bodies[0]["input"] == ["hello"]


class _SmallBatches(OpenAIChat):
    id: ClassVar[str] = "openai_chat_batches_of_2"
    embed_batch_size: ClassVar[int] = 2


@registry_snapshot()
def test_embeddings_in_several_batches_keep_input_order_and_sum_usage() -> None:
    register_protocol(_SmallBatches)
    reqllm.register_provider("test-batches", base_url="https://embed.example.test/v1",
                             protocol="openai_chat_batches_of_2", models=["embed-small"])

    def answer(request: Any) -> Any:
        inputs = json.loads(request.content)["input"]
        vectors = [[float(ord(text[0])), float(len(text))] for text in inputs]
        order = list(reversed(range(len(inputs))))
        return reply(json_=embeddings(vectors, order=order, prompt_tokens=len(inputs)))(request)

    rec = Recorder(answer)
    texts = ["alpha", "beta", "gamma", "delta", "epsilon"]
    result = reqllm.embed("test-batches:embed-small", texts, **rec.opts())
    assert [b["input"] for b in rec.bodies] == [["alpha", "beta"], ["gamma", "delta"], ["epsilon"]]
    assert result.embeddings == [[float(ord(t[0])), float(len(t))] for t in texts]
    assert result.usage.input_tokens == 5
    assert result.usage.cost is None
    assert isinstance(result.raw, list) and len(result.raw) == 3


def test_embedding_count_mismatch_is_a_decode_error() -> None:
    rec = Recorder(reply(json_=embeddings([[0.1]])))
    with pytest.raises(ResponseDecodeError):
        reqllm.embed("openai:text-embedding-3-small", ["a", "b"], **rec.opts())


# -- streams -------------------------------------------------------------------------------------------
def test_stream_with_include_usage() -> None:
    rec = Recorder(stream_reply(text_chunks("Hel", "lo", " world", usage_=usage(prompt=12, completion=3))))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    chunks = list(stream)
    assert [c.text for c in chunks if c.type == "content"] == ["Hel", "lo", " world"]
    response = stream.to_response()
    assert response.text == "Hello world"
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert response.usage.cost == pytest.approx((12 * 0.15 + 3 * 0.6) / 1_000_000)
    assert response.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert stream.chunks == chunks


def test_text_stream_yields_only_text() -> None:
    rec = Recorder(stream_reply(text_chunks("a", "b")))
    assert list(reqllm.stream_text(MODEL, "Hi", **rec.opts()).text_stream()) == ["a", "b"]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_are_thinking(field: str) -> None:
    payloads = [chunk({"role": "assistant", "content": None}), chunk({field: "Let me "}),
                chunk({field: "think."}), chunk({"content": "42"}), chunk({}, finish_reason="stop"),
                chunk(usage_=usage(prompt=5, completion=20, reasoning=12), choices=False)]
    rec = Recorder(stream_reply(payloads))
    stream = reqllm.stream_text(MODEL, "Q?", **rec.opts())
    kinds = [(c.type, c.text) for c in stream if c.type != "meta"]
    assert kinds == [("thinking", "Let me "), ("thinking", "think."), ("content", "42")]
    response = stream.to_response()
    assert response.thinking == "Let me think." and response.text == "42"
    assert response.usage.reasoning_tokens == 12


def _parallel_tool_payloads() -> list[dict[str, Any]]:
    def frag(index: int, arguments: str, id: str | None = None, name: str | None = None) -> dict[str, Any]:
        call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
        if id is not None:
            call.update(id=id, type="function")
            call["function"]["name"] = name
        return chunk({"tool_calls": [call]})

    return [
        chunk({"role": "assistant", "content": None}),
        frag(0, "", id="call_w", name="get_weather"),
        frag(1, "", id="call_t", name="get_time"),
        frag(0, '{"ci'),
        frag(1, '{"city"'),
        frag(0, 'ty": "Par'),
        frag(1, ': "Tokyo"}'),
        frag(0, 'is"}'),
        chunk({}, finish_reason="tool_calls"),
        chunk(usage_=usage(prompt=80, completion=40), choices=False),
    ]


def test_parallel_tool_calls_with_interleaved_argument_fragments() -> None:
    rec = Recorder(stream_reply(_parallel_tool_payloads()))
    stream = reqllm.stream_text(MODEL, "Weather in Paris, time in Tokyo", tools=[WEATHER, TIME], **rec.opts())
    fragments = [(c.index, c.arguments) for c in stream if c.type == "tool_call"]
    assert fragments[2:] == [(0, '{"ci'), (1, '{"city"'), (0, 'ty": "Par'), (1, ': "Tokyo"}'), (0, 'is"}')]
    response = stream.to_response()
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_w", "get_weather", {"city": "Paris"}), ("call_t", "get_time", {"city": "Tokyo"})]


def test_in_stream_error_is_raised_after_the_chunks_before_it() -> None:
    payloads = [chunk({"role": "assistant", "content": ""}), chunk({"content": "The"}),
                chunk({"content": " answer"}),
                error_body("The server had an error while processing your request.", "server_error")]
    rec = Recorder(stream_reply(payloads, done=False))
    seen: list[StreamChunk] = []
    with pytest.raises(ProviderUnavailableError) as info:
        for piece in reqllm.stream_text(MODEL, "Hi", **rec.opts()):
            seen.append(piece)
    assert [c.text for c in seen] == ["The", " answer"]
    err = info.value
    assert err.chunks == seen
    assert err.status is None and err.provider == "openai" and err.model == MODEL
    assert err.provider_message == "The server had an error while processing your request."
    assert err.body == payloads[-1]
    assert len(rec.requests) == 1  # an error inside a stream is not retried


def test_in_stream_error_in_the_same_read_as_earlier_chunks() -> None:
    limited = error_body("Rate limit reached", "requests", "rate_limit_exceeded")
    payloads = [chunk({"content": "partial"}), limited]
    rec = Recorder(stream_reply(payloads, done=False))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    with pytest.raises(RateLimitError) as info:
        stream.to_response()
    assert [c.text for c in info.value.chunks] == ["partial"]
    assert stream.chunks == info.value.chunks


def test_stream_without_done_or_finish_reason_is_truncated() -> None:
    payloads = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Once upon"})]
    rec = Recorder(stream_reply(payloads, done=False))
    stream = reqllm.stream_text(MODEL, "Tell a story", **rec.opts())
    with pytest.raises(StreamTruncatedError) as info:
        stream.to_response()
    assert [c.text for c in info.value.chunks] == ["Once upon"]
    assert "openai" in str(info.value)


def test_a_stream_that_finished_every_choice_is_complete_without_done() -> None:
    # Cerebras ends every stream after the finish and usage chunks, without data: [DONE].
    rec = Recorder(stream_reply(text_chunks("fine", usage_=usage(7, 1)), done=False))
    response = reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    assert response.text == "fine" and response.finish_reason == "stop" and response.usage.input_tokens == 7


def test_a_stream_cut_before_a_choice_finished_stays_truncated() -> None:
    # choice 0 finished, choice 1 (n=2) did not: the answer is incomplete
    second = {**chunk({}), "choices": [{"index": 1, "delta": {"content": "b"}, "finish_reason": None}]}
    rec = Recorder(stream_reply([chunk({"content": "a"}), second, chunk({}, finish_reason="stop")], done=False))
    with pytest.raises(StreamTruncatedError):
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    rec = Recorder(stream_reply([chunk({"content": "a"})], done=False))
    with pytest.raises(StreamTruncatedError):
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()


@registry_snapshot()
def test_every_openai_compatible_provider_ends_at_finish_reason() -> None:
    reqllm.register_provider("no-done", base_url="https://nodone.example/v1", models=["m"])
    rec = Recorder(stream_reply(text_chunks("fine"), done=False))
    assert reqllm.stream_text("no-done:m", "Hi", **rec.opts()).to_response().text == "fine"


OPENROUTER_CHOICE_ERROR = {
    "id": "gen-1", "object": "chat.completion", "model": "anthropic/claude-sonnet-4", "provider": "Anthropic",
    "choices": [{"index": 0, "finish_reason": "error", "native_finish_reason": "error", "logprobs": None,
                 "error": {"code": 502, "message": "Provider returned error",
                           "metadata": {"raw": "upstream overloaded", "provider_name": "Anthropic"}},
                 "message": {"role": "assistant", "content": "", "tool_calls": [
                     {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": '}}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}}


def test_a_choice_level_error_in_a_200_body_is_a_typed_api_error() -> None:
    rec = Recorder(reply(200, OPENROUTER_CHOICE_ERROR))
    with pytest.raises(ProviderUnavailableError) as info:  # its code, 502
        reqllm.generate_text(MODEL, "Hi", **rec.opts())
    assert info.value.provider_message == "Provider returned error"
    assert info.value.status is None and len(rec.requests) == 1  # a 200: not retried


def test_a_choice_level_error_in_a_stream_is_a_typed_api_error_after_the_chunks() -> None:
    failed = {**chunk({}), "choices": [{"index": 0, "delta": {}, "finish_reason": "error",
                                        "error": {"code": 502, "message": "Provider returned error"}}]}
    rec = Recorder(stream_reply([chunk({"content": "par"}), failed]))
    with pytest.raises(ProviderUnavailableError) as info:
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    assert info.value.provider_message == "Provider returned error"
    assert [c.text for c in info.value.chunks] == ["par"]


def test_stream_with_a_malformed_event_raises_a_decode_error_after_earlier_chunks() -> None:
    rec = Recorder(stream_reply([chunk({"content": "ok"}), "{not json"], done=False))
    with pytest.raises(ResponseDecodeError) as info:
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    assert [c.text for c in info.value.chunks] == ["ok"]


def test_stream_refusal_finishes_as_content_filter() -> None:
    payloads = [chunk({"role": "assistant", "content": None, "refusal": ""}),
                chunk({"refusal": "I'm sorry, "}), chunk({"refusal": "I can't help with that."}),
                chunk({}, finish_reason="stop")]
    rec = Recorder(stream_reply(payloads))
    response = reqllm.stream_text(MODEL, "Something bad", **rec.opts()).to_response()
    assert response.text == "I'm sorry, I can't help with that."
    assert response.finish_reason == "content_filter"


def test_stream_ignores_unknown_fields_and_other_choices() -> None:
    first = chunk({"content": "A"})
    first["obfuscation"] = "xyz"
    first["choices"][0]["delta"]["annotations"] = []
    other = chunk({"content": "IGNORED"})
    other["choices"][0]["index"] = 1
    rec = Recorder(stream_reply([first, other, chunk({}, finish_reason="stop")]))
    assert reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response().text == "A"


def test_length_finish_keeps_cut_tool_arguments_as_empty() -> None:
    payloads = [chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                       "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
                chunk({}, finish_reason="length")]
    rec = Recorder(stream_reply(payloads))
    response = reqllm.stream_text(MODEL, "Hi", tools=[WEATHER], **rec.opts()).to_response()
    assert response.finish_reason == "length"
    assert response.tool_calls[0].name == "get_weather" and response.tool_calls[0].arguments == {}


def _mixed_stream() -> bytes:
    payloads = [chunk({"role": "assistant", "content": ""}),
                chunk({"reasoning_content": "h\u00e9 \U0001f914"}),
                chunk({"content": "caf\u00e9 \u2014 \u65e5\u672c"}), *_parallel_tool_payloads()[1:]]
    return sse(payloads)


def _decode_reads(reads: list[bytes]) -> list[StreamChunk]:
    exchange = prepare("chat", MODEL, {"api_key": API_KEY}, messages="Hi", stream=True)
    decoder = StreamDecoder(exchange.protocol, exchange.call)
    out: list[StreamChunk] = []
    for read in reads:
        out += decoder.feed(read)
        assert decoder.error is None
    out += decoder.close()
    assert decoder.error is None
    return out


def test_stream_split_at_every_byte_boundary_gives_identical_chunks() -> None:
    body = _mixed_stream()
    whole = _decode_reads([body])
    assert len(whole) > 10
    for i in range(len(body) + 1):
        assert _decode_reads([body[:i], body[i:]]) == whole, i
    assert _decode_reads([body[i:i + 1] for i in range(len(body))]) == whole


def test_stream_one_byte_per_read_end_to_end() -> None:
    body = _mixed_stream()
    whole = list(reqllm.stream_text(MODEL, "Hi", **Recorder(reply(pieces=[body])).opts()))
    rec = Recorder(reply(pieces=[body[i:i + 1] for i in range(len(body))]))
    stream = reqllm.stream_text(MODEL, "Hi", **rec.opts())
    assert list(stream) == whole
    response = stream.to_response()
    assert response.thinking == "h\u00e9 \U0001f914" and response.text == "caf\u00e9 \u2014 \u65e5\u672c"
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_time"]


def test_stream_chunks_fold_into_the_same_response_as_the_builder() -> None:
    exchange = prepare("chat", MODEL, {"api_key": API_KEY}, messages="Hi", stream=True)
    builder = ResponseBuilder(exchange.call)
    for piece in _decode_reads([_mixed_stream()]):
        builder.add(piece)
    built = builder.build()
    rec = Recorder(reply(pieces=[_mixed_stream()]))
    assert reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response().normalized() == built.normalized()


# -- error bodies -------------------------------------------------------------------------------------
def test_error_kind_reads_openai_types_and_codes() -> None:
    assert error_kind("invalid_api_key") == "auth"
    assert error_kind("rate_limit_exceeded") == "rate_limit"
    assert error_kind("insufficient_quota") == "rate_limit"
    assert error_kind("server_error") == "unavailable"
    assert error_kind("invalid_request_error") == "invalid_request"
    assert error_kind(None) is None and error_kind("requests") is None


def test_parse_error_prefers_the_specific_code() -> None:
    body = error_body("Incorrect API key provided: sk-...", "invalid_request_error", "invalid_api_key")
    info = OpenAIChat().parse_error(401, body)
    assert info.kind == "auth" and info.code == "invalid_api_key"
    assert info.message == "Incorrect API key provided: sk-..."


def test_in_stream_bad_key_error_is_an_authentication_error() -> None:
    rec = Recorder(stream_reply([error_body("Incorrect API key", "invalid_request_error", "invalid_api_key")],
                                done=False))
    with pytest.raises(AuthenticationError):
        reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()


def test_openai_usage_tolerates_missing_details() -> None:
    assert openai_usage({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                         "prompt_tokens_details": None}) == {
        "input_tokens": 3, "output_tokens": 4, "total_tokens": 7, "cached_tokens": 0, "reasoning_tokens": 0}
    assert openai_usage({"prompt_tokens": 10, "prompt_cache_hit_tokens": 6})["cached_tokens"] == 6  # DeepSeek
    assert openai_usage(None) is None and openai_usage("nonsense") is None  # type: ignore[arg-type]


# -- fuzz: whatever a server sends, the caller gets a Response or a ReqLLMError --------------------------
_ANY = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)
_TEXT = st.text(max_size=6)
_FRAGMENT = st.fixed_dictionaries({}, optional={
    "index": st.integers(0, 2) | _ANY, "id": _TEXT | _ANY, "type": st.just("function"),
    "function": st.fixed_dictionaries({}, optional={"name": _TEXT | _ANY, "arguments": _TEXT | _ANY}) | _ANY})
_DELTA = st.fixed_dictionaries({}, optional={
    "role": st.just("assistant"), "content": _TEXT | _ANY, "reasoning_content": _TEXT | _ANY,
    "reasoning": _TEXT | _ANY, "refusal": _TEXT | _ANY, "tool_calls": st.lists(_FRAGMENT, max_size=2) | _ANY})
_CHOICE = st.fixed_dictionaries({"index": st.just(0) | _ANY, "delta": _DELTA | _ANY}, optional={
    "finish_reason": st.sampled_from(["stop", "length", "tool_calls", "content_filter"]) | _ANY})
_USAGE = st.fixed_dictionaries({}, optional={
    "prompt_tokens": st.integers(0, 100) | _ANY, "completion_tokens": st.integers(0, 100) | _ANY,
    "prompt_tokens_details": st.fixed_dictionaries({}, optional={"cached_tokens": st.integers(0, 9) | _ANY})})
_CHUNK = st.fixed_dictionaries({"choices": st.lists(_CHOICE, max_size=2) | _ANY}, optional={
    "id": _TEXT | _ANY, "usage": _USAGE | _ANY, "error": _ANY, "object": st.just("chat.completion.chunk")})


def _stream_outcome(payloads: list[Any], done: bool) -> None:
    rec = Recorder(stream_reply(payloads, done=done))
    try:
        response = reqllm.stream_text(MODEL, "Hi", **rec.opts()).to_response()
    except reqllm.ReqLLMError:
        return
    assert isinstance(response, reqllm.Response)


@given(st.lists(_CHUNK | _ANY, max_size=5), st.booleans())
def test_any_stream_gives_a_response_or_a_reqllm_error(payloads: list[Any], done: bool) -> None:
    _stream_outcome(payloads, done)


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.lists(_CHUNK | _ANY, max_size=8), st.booleans())
def test_any_stream_gives_a_response_or_a_reqllm_error_deep(payloads: list[Any], done: bool) -> None:
    _stream_outcome(payloads, done)


_MESSAGE = st.fixed_dictionaries({"role": st.just("assistant")}, optional={
    "content": _TEXT | _ANY, "reasoning_content": _TEXT | _ANY, "refusal": _TEXT | _ANY,
    "tool_calls": st.lists(_FRAGMENT, max_size=2) | _ANY})
_BODY = st.fixed_dictionaries({"choices": st.lists(st.fixed_dictionaries(
    {"index": st.just(0), "message": _MESSAGE | _ANY},
    optional={"finish_reason": st.sampled_from(["stop", "tool_calls"]) | _ANY}), max_size=2) | _ANY},
    optional={"id": _TEXT | _ANY, "usage": _USAGE | _ANY})


@given(_BODY | _ANY)
def test_any_body_gives_a_response_or_a_reqllm_error(body: Any) -> None:
    rec = Recorder(reply(content=json.dumps(body).encode()))
    try:
        response = reqllm.generate_text(MODEL, "Hi", **rec.opts())
    except reqllm.ReqLLMError:
        return
    assert isinstance(response, reqllm.Response)
