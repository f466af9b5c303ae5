"""AWS Bedrock Converse: requests as the API reference documents them, responses and ConverseStream event
streams (built frame by frame, delivered split at every byte), reasoning round-trips, usage with cache
counts, stop reasons, and every documented error mapped, retried or not."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import Message, Tool, ToolCall, errors
from reqllm._eventstream import encode_message
from reqllm._http import prepare
from reqllm._stream import ResponseBuilder, StreamDecoder
from reqllm.providers.bedrock import STOP_REASONS
from tests.openai_fakes import patch_sleep

CLAUDE = "amazon-bedrock:anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon-bedrock:amazon.nova-pro-v1:0"
WEATHER = Tool(name="get_weather", description="Weather for a city",
               parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def credentials() -> dict[str, str]:
    """Fake AWS credentials built at run time (no key-shaped literal in the repository)."""
    return {"aws_access_key_id": "AKIA" + uuid.uuid4().hex[:16].upper(),
            "aws_secret_access_key": uuid.uuid4().hex + uuid.uuid4().hex[:8], "region": "us-west-2"}


def converse_answer(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    """A Converse response body as the API reference documents it."""
    counts = {"inputTokens": 12, "outputTokens": 6, "totalTokens": 18, **usage}
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": counts, "metrics": {"latencyMs": 321}}


def frame(kind: str, payload: dict[str, Any]) -> bytes:
    return encode_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps({**payload, "p": "abcdefghij"}).encode())


def exception_frame(kind: str, message: str) -> bytes:
    return encode_message({":exception-type": kind, ":content-type": "application/json",
                           ":message-type": "exception"}, json.dumps({"message": message}).encode())


class Bedrock:
    """A MockTransport speaking Converse: it records requests and answers with queued replies."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.replies.pop(0)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def json_reply(payload: dict[str, Any], status: int = 200, error_type: str | None = None) -> httpx.Response:
    headers = {"x-amzn-errortype": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"} \
        if error_type else {}
    return httpx.Response(status, json=payload, headers=headers)


def stream_reply(frames: list[bytes], split: int | None = None) -> httpx.Response:
    data = b"".join(frames)

    def pieces() -> Iterator[bytes]:
        if split is None:
            yield data
        else:
            yield data[:split]
            yield data[split:]

    return httpx.Response(200, headers={"content-type": "application/vnd.amazon.eventstream"},
                          content=pieces())


# -- requests ----------------------------------------------------------------------------------------
def test_a_chat_request_is_a_signed_converse_call_with_the_model_id_encoded() -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "Hi"}])))
    creds = credentials()

    response = reqllm.generate_text(NOVA, "Hello", system="Be brief.", max_tokens=100, temperature=0.3, top_p=0.9,
                                    stop=["END"], http_client=server.client(), **creds)

    assert response.text == "Hi"
    (request,) = server.requests
    assert str(request.url) == "https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={creds['aws_access_key_id']}/")
    assert "/us-west-2/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, " \
        in request.headers["authorization"]
    assert creds["aws_secret_access_key"] not in str(request.headers)
    assert server.body() == {
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]},
    }


def test_tools_tool_calls_and_results_use_converse_blocks() -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "Sunny."}])))
    call = ToolCall(id="tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name="get_weather", arguments={"city": "Paris"})
    messages = [Message.user("Weather in Paris and Rome?"),
                Message.assistant("Checking.", tool_calls=[call, ToolCall(id="tooluse_2", name="get_weather",
                                                                           arguments={"city": "Rome"})]),
                Message.tool_result(call, {"sky": "sunny"}), Message.tool_result("tooluse_2", "rain")]

    reqllm.generate_text(NOVA, messages, tools=[WEATHER], tool_choice="required", http_client=server.client(),
                         **credentials())

    body = server.body()
    assert body["toolConfig"] == {"tools": [{"toolSpec": {
        "name": "get_weather", "description": "Weather for a city",
        "inputSchema": {"json": WEATHER.parameters}}}], "toolChoice": {"any": {}}}
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
        {"role": "assistant", "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather",
                         "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "tooluse_2", "name": "get_weather", "input": {"city": "Rome"}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": [{"text": '{"sky": "sunny"}'}]}},
            {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "rain"}]}}]},
    ]


@pytest.mark.parametrize(("choice", "wire"), [("auto", {"auto": {}}), (None, None),
                                              ("get_weather", {"tool": {"name": "get_weather"}})])
def test_tool_choice_maps_to_converse_words(choice: str | None, wire: dict[str, Any] | None) -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "ok"}])))
    reqllm.generate_text(NOVA, "Hi", tools=[WEATHER], tool_choice=choice, http_client=server.client(), **credentials())
    assert server.body()["toolConfig"].get("toolChoice") == wire


def test_tool_choice_none_sends_no_tools() -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "ok"}])))
    reqllm.generate_text(NOVA, "Hi", tools=[WEATHER], tool_choice="none", http_client=server.client(), **credentials())
    assert "toolConfig" not in server.body()


def test_images_travel_as_bytes() -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "A dot."}])))
    image = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}
    reqllm.generate_text(NOVA, [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}],
                         http_client=server.client(), **credentials())
    assert server.body()["messages"][0]["content"][1] == {"image": {"format": "jpeg",
                                                                    "source": {"bytes": "/9j/4AAQSkZJRg=="}}}


def test_generate_object_forces_the_structured_output_tool() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    answer = converse_answer([{"toolUse": {"toolUseId": "tooluse_obj", "name": "structured_output",
                                           "input": {"name": "Ada", "age": 36}}}], stop="tool_use")
    server = Bedrock(json_reply(answer))

    result = reqllm.generate_object(CLAUDE, "Ada Lovelace, 36", schema, http_client=server.client(), **credentials())

    assert result.object == {"name": "Ada", "age": 36}
    tool_config = server.body()["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": "structured_output"}}
    assert tool_config["tools"][0]["toolSpec"]["inputSchema"] == {"json": schema}


def test_claude_thinking_goes_through_additional_model_request_fields_and_round_trips() -> None:
    signature = "EqoBCkgIARABGAIiQL" + "x" * 40
    answer = converse_answer([
        {"reasoningContent": {"reasoningText": {"text": "2+2 is 4.", "signature": signature}}},
        {"reasoningContent": {"redactedContent": "UmVkYWN0ZWQgcmVhc29uaW5n"}},
        {"text": "4"}])
    server = Bedrock(json_reply(answer), json_reply(converse_answer([{"text": "8"}])))
    creds = credentials()

    first = reqllm.generate_text(CLAUDE, "2+2?", reasoning=2048, max_tokens=500, http_client=server.client(), **creds)
    history = [Message.user("2+2?"), first.message, Message.user("Double it.")]
    reqllm.generate_text(CLAUDE, history, reasoning=2048, max_tokens=500, http_client=server.client(), **creds)

    assert first.text == "4" and first.thinking == "2+2 is 4."
    body = server.body(0)
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert body["inferenceConfig"]["maxTokens"] == 2548  # max_tokens is what is left after thinking
    assert server.body(1)["messages"][1] == {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "2+2 is 4.", "signature": signature}}},
        {"reasoningContent": {"redactedContent": "UmVkYWN0ZWQgcmVhc29uaW5n"}},
        {"text": "4"}]}


# -- responses -----------------------------------------------------------------------------------------
def test_usage_counts_cache_reads_and_writes_into_input() -> None:
    answer = converse_answer([{"text": "Hi"}], inputTokens=10, outputTokens=5, totalTokens=2015,
                             cacheReadInputTokens=1500, cacheWriteInputTokens=500)
    server = Bedrock(json_reply(answer))
    usage = reqllm.generate_text(CLAUDE, "Hi", http_client=server.client(), **credentials()).usage
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_write_tokens, usage.output_tokens) == \
        (2010, 1500, 500, 5)
    assert usage.cost is not None and usage.cost > 0


@pytest.mark.parametrize(("stop", "reason"), [*sorted(STOP_REASONS.items()), ("something_new", "other")])
def test_stop_reasons_are_mapped(stop: str, reason: str) -> None:
    server = Bedrock(json_reply(converse_answer([{"text": "x"}], stop=stop)))
    assert reqllm.generate_text(NOVA, "Hi", http_client=server.client(), **credentials()).finish_reason == reason


def test_tool_calls_are_decoded() -> None:
    answer = converse_answer([{"text": "Let me check."}, {"toolUse": {
        "toolUseId": "tooluse_abc", "name": "get_weather", "input": {"city": "Oslo"}}}], stop="tool_use")
    server = Bedrock(json_reply(answer))
    response = reqllm.generate_text(NOVA, "Weather?", tools=[WEATHER], http_client=server.client(), **credentials())
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == [ToolCall(id="tooluse_abc", name="get_weather", arguments={"city": "Oslo"})]


def test_a_malformed_answer_is_a_decode_error_naming_the_field() -> None:
    server = Bedrock(json_reply({"output": {"message": {"role": "assistant"}}, "stopReason": "end_turn"}))
    with pytest.raises(errors.ResponseDecodeError, match=r"response\.output\.message\.content"):
        reqllm.generate_text(NOVA, "Hi", http_client=server.client(), **credentials())


# -- streams ---------------------------------------------------------------------------------------
SIGNATURE = "ErcBCkgIAhABGAIiQM" + "s" * 30
STREAM = [
    frame("messageStart", {"role": "assistant"}),
    frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "User wants "}}}),
    frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "weather."}}}),
    frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": SIGNATURE}}}),
    frame("contentBlockStop", {"contentBlockIndex": 0}),
    frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Checking Oslo "}}),
    frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "— one moment."}}),
    frame("contentBlockStop", {"contentBlockIndex": 1}),
    frame("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {
        "toolUseId": "tooluse_stream1", "name": "get_weather"}}}),
    frame("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"city\": "}}}),
    frame("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"Oslo\"}"}}}),
    frame("contentBlockStop", {"contentBlockIndex": 2}),
    frame("messageStop", {"stopReason": "tool_use"}),
    frame("metadata", {"usage": {"inputTokens": 40, "outputTokens": 22, "totalTokens": 62,
                                 "cacheReadInputTokens": 1024, "cacheWriteInputTokens": 0},
                       "metrics": {"latencyMs": 987}}),
]
WHOLE = b"".join(STREAM)


def check_streamed(response: reqllm.Response) -> None:
    assert response.thinking == "User wants weather."
    assert response.message.content[0].signature == SIGNATURE  # type: ignore[union-attr]
    assert response.text == "Checking Oslo — one moment."
    assert response.tool_calls == [ToolCall(id="tooluse_stream1", name="get_weather", arguments={"city": "Oslo"})]
    assert response.finish_reason == "tool_calls"
    assert (response.usage.input_tokens, response.usage.cached_tokens, response.usage.output_tokens) == (1064, 1024, 22)


def test_a_converse_stream_decodes_to_thinking_text_and_tool_calls() -> None:
    server = Bedrock(stream_reply(STREAM))
    stream = reqllm.stream_text(CLAUDE, "Weather in Oslo?", tools=[WEATHER], reasoning=1024,
                                http_client=server.client(), **credentials())
    chunks = list(stream)
    request = server.requests[0]
    assert request.url.raw_path == b"/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert [c.type for c in chunks][:3] == ["thinking", "thinking", "thinking"]
    check_streamed(stream.to_response())


def test_every_split_of_the_stream_gives_the_same_response() -> None:
    exchange = prepare("chat", CLAUDE, {"tools": [WEATHER], **credentials()}, messages="Weather?", stream=True)
    for cut in range(1, len(WHOLE)):
        decoder = StreamDecoder(exchange.protocol, exchange.call)
        builder = ResponseBuilder(exchange.call)
        for chunk in decoder.feed(WHOLE[:cut]) + decoder.feed(WHOLE[cut:]) + decoder.close():
            builder.add(chunk)
        assert decoder.error is None, f"split at byte {cut}: {decoder.error}"
        check_streamed(builder.build())
    for cut in (1, len(STREAM[0]), len(WHOLE) // 2, len(WHOLE) - 1):  # and through HTTP, as reads
        server = Bedrock(stream_reply(STREAM, split=cut))
        check_streamed(reqllm.stream_text(CLAUDE, "Weather?", http_client=server.client(), **credentials())
                       .to_response())


def test_async_streams_decode_the_same() -> None:
    async def run() -> reqllm.Response:
        server = Bedrock(httpx.Response(200, headers={"content-type": "application/vnd.amazon.eventstream"},
                                        content=WHOLE))
        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
            stream = reqllm.astream_text(CLAUDE, "Weather in Oslo?", http_client=client, **credentials())
            return await stream.to_response()

    check_streamed(asyncio.run(run()))


@pytest.mark.parametrize(("exception", "error"), [
    ("throttlingException", errors.RateLimitError),
    ("serviceUnavailableException", errors.ProviderUnavailableError),
    ("internalServerException", errors.ProviderUnavailableError),
    ("modelStreamErrorException", errors.ProviderUnavailableError),
    ("validationException", errors.InvalidRequestError),
])
def test_an_exception_frame_mid_stream_raises_its_typed_error_after_the_chunks(exception: str,
                                                                               error: type[Exception]) -> None:
    frames = [*STREAM[:2], exception_frame(exception, "Something went wrong.")]
    server = Bedrock(stream_reply(frames))
    stream = reqllm.stream_text(CLAUDE, "Hi", http_client=server.client(), **credentials())
    with pytest.raises(error, match=f"{exception}: Something went wrong.") as info:
        stream.to_response()
    assert info.value.code == exception  # type: ignore[attr-defined]
    assert [c.text for c in info.value.chunks] == ["User wants "]  # type: ignore[attr-defined]


def test_a_corrupted_frame_is_a_decode_error_not_garbage() -> None:
    damaged = bytearray(WHOLE)
    damaged[len(STREAM[0]) + 30] ^= 0xFF
    server = Bedrock(stream_reply([bytes(damaged)]))
    with pytest.raises(errors.ResponseDecodeError, match="message CRC mismatch"):
        reqllm.stream_text(CLAUDE, "Hi", http_client=server.client(), **credentials()).to_response()


def test_a_stream_cut_before_message_stop_is_truncated() -> None:
    server = Bedrock(stream_reply(STREAM[:6]))
    with pytest.raises(errors.StreamTruncatedError):
        reqllm.stream_text(CLAUDE, "Hi", http_client=server.client(), **credentials()).to_response()


# -- errors and retries ----------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "error_type", "error", "retried"), [
    (429, "ThrottlingException", errors.RateLimitError, True),
    (429, "ModelNotReadyException", errors.RateLimitError, True),
    (503, "ServiceUnavailableException", errors.ProviderUnavailableError, True),
    (500, "InternalServerException", errors.ProviderUnavailableError, True),
    (408, "ModelTimeoutException", errors.APIError, True),
    (400, "ValidationException", errors.InvalidRequestError, False),
    (404, "ResourceNotFoundException", errors.InvalidRequestError, False),
    (403, "AccessDeniedException", errors.AuthenticationError, False),
    (403, "UnrecognizedClientException", errors.AuthenticationError, False),
])
def test_http_errors_are_typed_by_their_error_type_and_retried_when_transient(
        status: int, error_type: str, error: type[Exception], retried: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    delays = patch_sleep(monkeypatch)
    message = {"message": f"{error_type} says: try again later."}
    server = Bedrock(*[json_reply(message, status, error_type) for _ in range(3)])

    with pytest.raises(error, match=f"{error_type}: {error_type} says") as info:
        reqllm.generate_text(NOVA, "Hi", http_client=server.client(), max_retries=2, **credentials())

    assert info.value.code == error_type  # type: ignore[attr-defined]
    assert info.value.status == status  # type: ignore[attr-defined]
    assert len(server.requests) == (3 if retried else 1)
    assert len(delays) == (2 if retried else 0)
    if retried:  # each attempt is signed anew (a fresh x-amz-date), never with stacked headers
        assert all(len(r.headers.get_list("authorization")) == 1 for r in server.requests)


def test_a_throttled_call_that_recovers_returns_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_sleep(monkeypatch)
    server = Bedrock(json_reply({"message": "Too many requests, please wait before trying again."}, 429,
                                "ThrottlingException"),
                     json_reply(converse_answer([{"text": "Finally."}])))
    response = reqllm.generate_text(NOVA, "Hi", http_client=server.client(), **credentials())
    assert response.text == "Finally." and len(server.requests) == 2


def test_a_bedrock_api_key_is_sent_as_a_bearer_token_unsigned(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "ABSKQmVkcm9ja0FQSUtleS" + uuid.uuid4().hex
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    server = Bedrock(json_reply(converse_answer([{"text": "Hi"}])))
    reqllm.generate_text(NOVA, "Hi", http_client=server.client())
    (request,) = server.requests
    assert request.headers["authorization"] == f"Bearer {key}"
    assert "x-amz-date" not in request.headers
    assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"


def test_no_credentials_is_a_clear_error_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.MissingAPIKeyError, match="AWS_ACCESS_KEY_ID"):
        reqllm.generate_text(NOVA, "Hi")


# -- botocore's service model as the oracle of the API's vocabulary --------------------------------------
def test_the_plugin_knows_every_stop_reason_stream_event_and_error_the_service_model_names() -> None:
    import botocore.session

    from reqllm.providers.bedrock import _ERROR_KINDS

    model = botocore.session.Session().get_service_model("bedrock-runtime")
    assert set(model.shape_for("StopReason").enum) == set(STOP_REASONS)
    stream_members = set(model.shape_for("ConverseStreamOutput").members)
    events = {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop",
              "metadata"}
    assert {m for m in stream_members if not m.endswith("Exception")} == events
    exceptions = {m.lower() for m in stream_members if m.endswith("Exception")}
    errors_ = {e.name.lower() for name in ("Converse", "ConverseStream")
               for e in model.operation_model(name).error_shapes}
    assert exceptions | errors_ <= set(_ERROR_KINDS)
    assert set(model.shape_for("TokenUsage").members) >= {"inputTokens", "outputTokens", "cacheReadInputTokens",
                                                          "cacheWriteInputTokens"}
    assert set(model.shape_for("ToolChoice").members) == {"auto", "any", "tool"}


# -- embeddings (InvokeModel) -------------------------------------------------------------------------
def test_titan_embeddings_go_one_text_per_invoke_in_input_order() -> None:
    server = Bedrock(json_reply({"embedding": [0.1, -0.2, 0.3], "inputTextTokenCount": 4,
                                 "embeddingsByType": {"float": [0.1, -0.2, 0.3]}}),
                     json_reply({"embedding": [0.4, 0.5, -0.6], "inputTextTokenCount": 6}))
    result = reqllm.embed("amazon-bedrock:amazon.titan-embed-text-v2:0", ["café crème", "croissant au beurre"],
                          dimensions=256, http_client=server.client(), **credentials())
    assert result.embeddings == [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
    assert result.usage.input_tokens == 10 and result.usage.cost == pytest.approx(10 * 0.02 / 1e6)
    assert [r.url.raw_path for r in server.requests] == [b"/model/amazon.titan-embed-text-v2%3A0/invoke"] * 2
    assert [json.loads(r.content) for r in server.requests] == [{"inputText": "café crème", "dimensions": 256},
                                                                {"inputText": "croissant au beurre",
                                                                 "dimensions": 256}]
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256 ") for r in server.requests)


def test_cohere_embeddings_on_bedrock_use_cohere_s_body() -> None:
    server = Bedrock(json_reply({"id": "emb-1", "response_type": "embeddings_floats", "texts": ["hello"],
                                 "embeddings": [[0.5, 0.25]]}))
    result = reqllm.embed("amazon-bedrock:cohere.embed-multilingual-v3", "hello", http_client=server.client(),
                          **credentials())
    assert result.embeddings == [[0.5, 0.25]]
    assert json.loads(server.requests[0].content) == {"texts": ["hello"], "input_type": "search_document"}


def test_an_unknown_embeddings_answer_is_a_decode_error() -> None:
    server = Bedrock(json_reply({"vectors": []}))
    with pytest.raises(errors.ResponseDecodeError, match="neither 'embedding'"):
        reqllm.embed("amazon-bedrock:amazon.titan-embed-text-v2:0", "x", http_client=server.client(), **credentials())
