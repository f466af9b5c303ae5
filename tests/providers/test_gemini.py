"""The Gemini protocol plugin: requests, responses, streams, thought signatures, errors, embeddings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import reqllm
from reqllm import ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall
from reqllm.errors import (
    AuthenticationError,
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitError,
    StreamTruncatedError,
)

SPEC = "google:gemini-2.5-flash"
BASE = "https://generativelanguage.googleapis.com/v1beta/models"
SIGNATURE = "CloBvj72+4/aTlyeodvVsF6WQseQLaqynO0Ocu6hCxSIV1rJ=="
WEATHER = Tool(name="get_weather", description="Weather in a city", parameters={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def recorder(*responses: httpx.Response) -> tuple[list[httpx.Request], httpx.Client]:
    """A client answering with ``responses`` in order and the list of requests it saw."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return seen, httpx.Client(transport=httpx.MockTransport(handler))


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def usage(prompt: int, candidates: int | None, total: int, thoughts: int | None = None,
          cached: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"promptTokenCount": prompt, "totalTokenCount": total,
                            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if candidates is not None:
        meta["candidatesTokenCount"] = candidates
    if thoughts is not None:
        meta["thoughtsTokenCount"] = thoughts
    if cached is not None:
        meta["cachedContentTokenCount"] = cached
    return meta


def answer(parts: list[dict[str, Any]], finish: str | None = "STOP", meta: dict[str, Any] | None = None,
           response_id: str = "resp-1") -> dict[str, Any]:
    """One GenerateContentResponse, as generateContent returns it or a stream carries it."""
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": meta or usage(10, 5, 15),
            "modelVersion": "gemini-2.5-flash", "responseId": response_id}


def sse(*payloads: dict[str, Any]) -> bytes:
    """A CRLF-framed SSE body, as Gemini sends it."""
    return b"".join(b"data: " + json.dumps(p).encode() + b"\r\n\r\n" for p in payloads)


def stream_response(data: bytes, piece: int | None = None) -> httpx.Response:
    """A streaming 200 answer, delivered in reads of ``piece`` bytes when given."""
    if piece is None:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=data)
    reads = [data[i:i + piece] for i in range(0, len(data), piece)]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(reads))


def weather_call(city: str, signature: str | None = None) -> dict[str, Any]:
    """A functionCall part asking for the weather in ``city``."""
    part: dict[str, Any] = {"functionCall": {"name": "get_weather", "args": {"city": city}}}
    if signature:
        part["thoughtSignature"] = signature
    return part


def error_body(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


# -- requests ------------------------------------------------------------------------------------
def test_generate_text_posts_generate_content_with_the_key_only_in_a_header() -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client)
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "test-key"
    assert "authorization" not in request.headers
    assert "test-key" not in str(request.url)


def test_stream_text_posts_stream_generate_content_with_alt_sse() -> None:
    seen, client = recorder(stream_response(sse(answer([{"text": "Hi"}]))))
    reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client).to_response()
    request = seen[0]
    assert str(request.url) == f"{BASE}/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert request.url.params.get("key") is None
    assert request.headers["x-goog-api-key"] == "test-key"
    assert request.headers["accept"] == "text/event-stream"


def test_body_carries_system_instruction_contents_and_generation_config() -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, [Message.system("Be brief."), Message.user("Hello")], api_key="test-key",
                         http_client=client, temperature=0.2, top_p=0.9, max_tokens=256, stop=["END"], seed=7)
    body = body_of(seen[0])
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello"}]}]
    assert body["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 256,
                                        "stopSequences": ["END"], "seed": 7}
    assert "tools" not in body and "toolConfig" not in body


@pytest.mark.parametrize(("reasoning", "expected"), [
    ("low", {"thinkingBudget": 1024, "includeThoughts": True}),
    ("medium", {"thinkingBudget": 8192, "includeThoughts": True}),
    ("high", {"thinkingBudget": 24576, "includeThoughts": True}),
    ("xhigh", {"thinkingBudget": 24576, "includeThoughts": True}),  # capped at Flash's maximum
    (2000, {"thinkingBudget": 2000, "includeThoughts": True}),
    ("none", {"thinkingBudget": 0}),
    (0, {"thinkingBudget": 0}),
])
def test_reasoning_becomes_a_thinking_config(reasoning: Any, expected: dict[str, Any]) -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client, reasoning=reasoning)
    assert body_of(seen[0])["generationConfig"]["thinkingConfig"] == expected


def test_xhigh_reasoning_on_a_pro_model_is_not_capped() -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text("google:gemini-2.5-pro", "Hello", api_key="test-key", http_client=client,
                         reasoning="xhigh")
    assert body_of(seen[0])["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 32768


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ("get_weather", {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
])
def test_tools_become_function_declarations_and_tool_choice_a_tool_config(choice: str,
                                                                         expected: dict[str, Any]) -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, "Weather?", api_key="test-key", http_client=client, tools=[WEATHER],
                         tool_choice=choice)
    body = body_of(seen[0])
    declaration = {"name": "get_weather", "description": "Weather in a city",
                   "parametersJsonSchema": WEATHER.parameters}
    assert body["tools"] == [{"functionDeclarations": [declaration]}]
    assert body["toolConfig"] == {"functionCallingConfig": expected}


def test_no_tool_config_without_a_tool_choice() -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, "Weather?", api_key="test-key", http_client=client, tools=[WEATHER])
    assert "toolConfig" not in body_of(seen[0])


def test_tool_results_become_one_user_turn_of_function_responses() -> None:
    calls = [ToolCall(id="c1", name="get_weather", arguments={"city": "Paris"}),
             ToolCall(id="c2", name="get_weather", arguments={"city": "Rome"})]
    messages = [Message.user("Weather in Paris and Rome?"), Message.assistant("", tool_calls=calls),
                Message.tool_result(calls[0], {"temp": 21}),
                Message(role="tool", content="sunny", tool_call_id="c2"),  # no name: looked up by id
                Message.user("Thanks; and tomorrow?")]
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    reqllm.generate_text(SPEC, messages, api_key="test-key", http_client=client, tools=[WEATHER])
    contents = body_of(seen[0])["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "user"]
    assert contents[1]["parts"] == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                                    {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"result": {"temp": 21}}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
    ]
    assert contents[3]["parts"] == [{"text": "Thanks; and tomorrow?"}]


def test_images_become_inline_data_or_file_data() -> None:
    message = Message.user([TextPart(text="What is this?"),
                            ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
                            ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
                            ImagePart(url="https://example.com/cat.jpg")])
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "A cat"}])))
    reqllm.generate_text(SPEC, [message], api_key="test-key", http_client=client)
    assert body_of(seen[0])["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
    ]


def test_provider_options_are_merged_into_the_body() -> None:
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Hi"}])))
    safety = [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
    reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client, temperature=0.5,
                         provider_options={"safetySettings": safety, "generationConfig": {"topK": 40}})
    body = body_of(seen[0])
    assert body["safetySettings"] == safety
    assert body["generationConfig"] == {"temperature": 0.5, "topK": 40}


# -- non-stream responses --------------------------------------------------------------------------
def test_text_thought_and_usage_with_cached_tokens_and_cost() -> None:
    parts: list[dict[str, Any]] = [{"text": "Let me add them.", "thought": True},
                                   {"text": "2 + 2 = 4.", "thoughtSignature": SIGNATURE}]
    meta = usage(1000, 50, 1150, thoughts=100, cached=400)
    _, client = recorder(httpx.Response(200, json=answer(parts, meta=meta, response_id="abc")))
    response = reqllm.generate_text(SPEC, "2+2?", api_key="test-key", http_client=client)
    assert response.text == "2 + 2 = 4."
    assert response.thinking == "Let me add them."
    signed = {"thought_signature": SIGNATURE}
    assert response.message.content[1] == TextPart(text="2 + 2 = 4.", metadata=signed)
    assert response.finish_reason == "stop"
    assert response.id == "abc"
    u = response.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (1000, 150, 1150)
    assert (u.reasoning_tokens, u.cached_tokens) == (100, 400)
    price = reqllm.model(SPEC).cost
    assert price is not None and price.input is not None and price.output is not None
    cache_read = price.cache_read if price.cache_read is not None else price.input
    expected = (600 * price.input + 400 * cache_read + 150 * price.output) / 1_000_000
    assert u.cost == pytest.approx(expected)


def test_function_calls_get_stable_ids_and_keep_their_signature() -> None:
    parts = [weather_call("Paris", SIGNATURE), weather_call("Rome")]
    body = answer(parts, meta=usage(20, 10, 30), response_id="r42")
    responses = []
    for _ in range(2):
        _, client = recorder(httpx.Response(200, json=body))
        responses.append(reqllm.generate_text(SPEC, "Weather?", api_key="test-key", http_client=client,
                                              tools=[WEATHER]))
    first, again = responses
    assert first.finish_reason == "tool_calls"  # Gemini reports STOP; a call is the answer
    assert [c.arguments for c in first.tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    ids = [c.id for c in first.tool_calls]
    assert len(set(ids)) == 2
    assert ids == [c.id for c in again.tool_calls]
    assert first.tool_calls[0].metadata == {"thought_signature": SIGNATURE}
    assert first.tool_calls[1].metadata == {}


def test_a_function_call_id_from_the_provider_is_kept() -> None:
    parts = [{"functionCall": {"id": "fc-7", "name": "get_weather", "args": {"city": "Oslo"}}}]
    _, client = recorder(httpx.Response(200, json=answer(parts)))
    response = reqllm.generate_text(SPEC, "Weather?", api_key="test-key", http_client=client, tools=[WEATHER])
    assert response.tool_calls[0].id == "fc-7"


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
    ("MALFORMED_FUNCTION_CALL", "error"), ("LANGUAGE", "other"),
])
def test_finish_reasons(reason: str, expected: str) -> None:
    parts = [] if reason != "STOP" else [{"text": "ok"}]
    _, client = recorder(httpx.Response(200, json=answer(parts, finish=reason)))
    response = reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client)
    assert response.finish_reason == expected


def test_a_blocked_prompt_without_candidates_is_a_content_filter() -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(8, None, 8)}
    _, client = recorder(httpx.Response(200, json=body))
    response = reqllm.generate_text(SPEC, "Something bad", api_key="test-key", http_client=client)
    assert response.finish_reason == "content_filter"
    assert response.text == ""
    assert response.usage.input_tokens == 8


class City(BaseModel):
    name: str
    population: int


def test_generate_object_asks_for_json_with_the_schema() -> None:
    text = json.dumps({"name": "Paris", "population": 2100000})
    seen, client = recorder(httpx.Response(200, json=answer([{"text": text}])))
    result = reqllm.generate_object(SPEC, "Largest city of France?", City, api_key="test-key",
                                    http_client=client)
    assert result.object == City(name="Paris", population=2100000)
    config = body_of(seen[0])["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == City.model_json_schema()
    assert "tools" not in body_of(seen[0])


# -- streams -----------------------------------------------------------------------------------------
THINKING_STREAM = sse(
    answer([{"text": "Thinking about café ☕ first. ", "thought": True}], finish=None,
           meta=usage(12, None, 40, thoughts=28)),
    answer([{"text": "Still thinking.", "thought": True}], finish=None,
           meta=usage(12, None, 60, thoughts=48)),
    answer([{"text": "Le café ", "thoughtSignature": SIGNATURE}], finish=None,
           meta=usage(12, 3, 63, thoughts=48)),
    answer([{"text": "est prêt ☕."}], meta=usage(12, 9, 69, thoughts=48)),
)


@pytest.mark.parametrize("piece", [None, 1, 2, 3, 5, 7, 64])
def test_a_crlf_stream_split_at_any_byte_boundary_decodes_the_same(piece: int | None) -> None:
    _, client = recorder(stream_response(THINKING_STREAM, piece))
    response = reqllm.stream_text(SPEC, "Coffee?", api_key="test-key", http_client=client).to_response()
    assert response.thinking == "Thinking about café ☕ first. Still thinking."
    assert response.text == "Le café est prêt ☕."
    assert [type(p) for p in response.message.content] == [ThinkingPart, TextPart]
    signed = {"thought_signature": SIGNATURE}
    assert response.message.content[1] == TextPart(text="Le café est prêt ☕.", metadata=signed)
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.reasoning_tokens) == \
        (12, 57, 48)
    assert response.id == "resp-1"


def test_parallel_calls_in_one_chunk_and_later_calls_get_indexes_in_arrival_order() -> None:
    data = sse(
        answer([weather_call("Paris", SIGNATURE), weather_call("Rome")], finish=None),
        answer([weather_call("Oslo")]),
    )
    _, client = recorder(stream_response(data))
    stream = reqllm.stream_text(SPEC, "Weather?", api_key="test-key", http_client=client, tools=[WEATHER])
    chunks = [c for c in stream if c.type == "tool_call"]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert [json.loads(c.arguments or "")["city"] for c in chunks] == ["Paris", "Rome", "Oslo"]
    response = stream.to_response()
    assert response.finish_reason == "tool_calls"
    assert len({c.id for c in response.tool_calls}) == 3
    assert response.tool_calls[0].metadata == {"thought_signature": SIGNATURE}
    assert response.tool_calls[1].metadata == {}


def test_thought_signatures_go_back_on_the_same_parts_next_turn() -> None:
    first = sse(
        answer([{"text": "Weighing the request.", "thought": True, "thoughtSignature": "THINK-SIG"}],
               finish=None),
        answer([{"text": "Checking. ", "thoughtSignature": "TEXT-SIG"}], finish=None),
        answer([weather_call("Paris", SIGNATURE), weather_call("Rome")]),
    )
    second = httpx.Response(200, json=answer([{"text": "Sunny both."}]))
    seen, client = recorder(stream_response(first), second)
    messages: list[Message] = [Message.user("Weather in Paris and Rome?")]
    response = reqllm.stream_text(SPEC, messages, api_key="test-key", http_client=client,
                                  tools=[WEATHER]).to_response()
    assert response.message.content[0] == ThinkingPart(text="Weighing the request.", signature="THINK-SIG")
    messages.append(response.message)
    messages += [Message.tool_result(c, f"sunny in {c.arguments['city']}") for c in response.tool_calls]
    reqllm.generate_text(SPEC, messages, api_key="test-key", http_client=client, tools=[WEATHER])
    contents = body_of(seen[1])["contents"]
    assert contents[1] == {"role": "model", "parts": [
        {"text": "Weighing the request.", "thought": True, "thoughtSignature": "THINK-SIG"},
        {"text": "Checking. ", "thoughtSignature": "TEXT-SIG"},
        weather_call("Paris", SIGNATURE),
        weather_call("Rome"),
    ]}
    assert contents[2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny in Paris"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny in Rome"}}},
    ]}


def test_a_gemini_3_call_without_a_signature_gets_the_documented_placeholder() -> None:
    call = ToolCall(id="x", name="get_weather", arguments={"city": "Paris"})
    messages = [Message.user("Weather?"), Message.assistant("", tool_calls=[call]),
                Message.tool_result(call, "sun")]
    seen, client = recorder(httpx.Response(200, json=answer([{"text": "Sunny."}])))
    reqllm.generate_text("google:gemini-3-pro-preview", messages, api_key="test-key", http_client=client,
                         tools=[WEATHER])
    part = body_of(seen[0])["contents"][1]["parts"][0]
    assert part["thoughtSignature"] == "skip_thought_signature_validator"


def test_stream_safety_finish_is_a_content_filter() -> None:
    data = sse(answer([{"text": "Here is how"}], finish=None), answer([], finish="SAFETY"))
    _, client = recorder(stream_response(data))
    response = reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client).to_response()
    assert response.finish_reason == "content_filter"
    assert response.text == "Here is how"


def test_stream_usage_is_not_monotonic_and_the_last_chunk_wins() -> None:
    data = sse(
        answer([{"text": "The"}], finish=None, meta=usage(55, 4, 300, thoughts=241, cached=32)),
        answer([{"text": " end."}], meta=usage(257, 8, 265)),
    )
    _, client = recorder(stream_response(data))
    u = reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client).to_response().usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (257, 8, 265)
    assert (u.reasoning_tokens, u.cached_tokens) == (0, 0)


def test_a_stream_without_a_finish_reason_is_truncated() -> None:
    data = sse(answer([{"text": "Half an"}], finish=None), answer([{"text": " answ"}], finish=None))
    _, client = recorder(stream_response(data))
    stream = reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client)
    with pytest.raises(StreamTruncatedError) as info:
        stream.to_response()
    assert "".join(c.text for c in info.value.chunks if c.type == "content") == "Half an answ"


def test_an_in_stream_error_raises_the_typed_error_after_the_chunks_before_it() -> None:
    data = sse(answer([{"text": "Part"}], finish=None),
               error_body(500, "INTERNAL", "An internal error has occurred."))
    _, client = recorder(stream_response(data))
    stream = reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client, max_retries=0)
    received: list[reqllm.StreamChunk] = []
    with pytest.raises(ProviderUnavailableError) as info:
        received.extend(stream)
    assert [c.text for c in received if c.type == "content"] == ["Part"]
    assert info.value.provider_message == "An internal error has occurred."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_stream_decodes_like_the_sync_one() -> None:
    async def reads() -> AsyncIterator[bytes]:
        for i in range(0, len(THINKING_STREAM), 3):
            yield THINKING_STREAM[i:i + 3]

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=reads())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stream = reqllm.astream_text(SPEC, "Coffee?", api_key="test-key", http_client=client)
        chunks = [c async for c in stream]
    text = "".join(c.text for c in chunks if c.type == "content")
    assert text == "Le café est prêt ☕."


# -- errors --------------------------------------------------------------------------------------------
def test_an_invalid_key_is_an_authentication_error_despite_its_400() -> None:
    body = error_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                      {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                       "domain": "googleapis.com",
                       "metadata": {"service": "generativelanguage.googleapis.com"}})
    _, client = recorder(httpx.Response(400, json=body))
    with pytest.raises(AuthenticationError) as info:
        reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client)
    assert info.value.status == 400
    assert info.value.code == "API_KEY_INVALID"
    assert info.value.provider_message == "API key not valid. Please pass a valid API key."


@pytest.mark.parametrize(("delay", "seconds"), [("37s", 37.0), ("1.5s", 1.5)])
def test_resource_exhausted_is_a_rate_limit_with_the_retry_delay(delay: str, seconds: float) -> None:
    body = error_body(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.",
                      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    seen, client = recorder(httpx.Response(429, json=body))
    with pytest.raises(RateLimitError) as info:
        reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client, max_retries=0)
    assert info.value.retry_after == seconds
    assert len(seen) == 1


def test_unavailable_is_a_provider_unavailable_error() -> None:
    body = error_body(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    _, client = recorder(httpx.Response(503, json=body))
    with pytest.raises(ProviderUnavailableError) as info:
        reqllm.stream_text(SPEC, "Hello", api_key="test-key", http_client=client, max_retries=0).to_response()
    assert info.value.status == 503


def test_a_bad_argument_is_an_invalid_request_error() -> None:
    body = error_body(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    _, client = recorder(httpx.Response(400, json=body))
    with pytest.raises(InvalidRequestError) as info:
        reqllm.generate_text(SPEC, "Hello", api_key="test-key", http_client=client)
    assert info.value.code == "INVALID_ARGUMENT"


# -- embeddings ----------------------------------------------------------------------------------------
EMBED_SPEC = "google:gemini-embedding-001"


def test_embed_one_input_uses_embed_content() -> None:
    seen, client = recorder(httpx.Response(200, json={"embedding": {"values": [0.1, -0.2, 0.3]}}))
    result = reqllm.embed(EMBED_SPEC, "hello", api_key="test-key", http_client=client, dimensions=3)
    assert result.embeddings == [[0.1, -0.2, 0.3]]
    assert str(seen[0].url) == f"{BASE}/gemini-embedding-001:embedContent"
    assert body_of(seen[0]) == {"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 3}


def test_embed_many_inputs_uses_batches_of_100_in_order() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        texts = [r["content"]["parts"][0]["text"] for r in body_of(request)["requests"]]
        vectors = [{"values": [float(t.split()[1]), 1.0]} for t in texts]
        return httpx.Response(200, json={"embeddings": vectors})

    inputs = [f"text {i}" for i in range(150)]
    result = reqllm.embed(EMBED_SPEC, inputs, api_key="test-key",
                          http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [str(r.url) for r in seen] == [f"{BASE}/gemini-embedding-001:batchEmbedContents"] * 2
    assert [len(body_of(r)["requests"]) for r in seen] == [100, 50]
    first = body_of(seen[0])["requests"][0]
    assert first == {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "text 0"}]}}
    assert [v[0] for v in result.embeddings] == [float(i) for i in range(150)]
