"""Vertex AI: Gemini through the Gemini protocol at the regional and global endpoints, Claude through
rawPredict / streamRawPredict (model in the URL, anthropic_version in the body), partner models through
the OpenAI-compatible endpoint; OAuth bearer tokens; RESOURCE_EXHAUSTED mapped and retried."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import Tool, errors
from tests.openai_fakes import patch_sleep

TOKEN = "ya29.a0AfB_byC-test-token"
PLACE = {"access_token": TOKEN, "project": "my-project-123", "region": "us-central1"}
GEMINI = "google-vertex:gemini-2.5-flash"
CLAUDE = "google-vertex-anthropic:claude-sonnet-4-5@20250929"
WEATHER = Tool(name="get_weather", description="Weather for a city",
               parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})

GEMINI_ANSWER = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Bonjour"}]},
                                 "finishReason": "STOP", "avgLogprobs": -0.12}],
                 "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7,
                                   "trafficType": "ON_DEMAND"},
                 "modelVersion": "gemini-2.5-flash", "createTime": "2026-12-04T10:00:00.000000Z",
                 "responseId": "vtx-resp-1"}
CLAUDE_ANSWER = {"id": "msg_vrtx_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
                 "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "Hello!"}],
                 "stop_reason": "end_turn", "stop_sequence": None,
                 "usage": {"input_tokens": 10, "output_tokens": 3, "cache_read_input_tokens": 0,
                           "cache_creation_input_tokens": 0}}
EXHAUSTED = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                       "message": "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_"
                                  "per_project_per_base_model with base model: gemini-2.5-flash. Please submit a "
                                  "quota increase request."}}


class Vertex:
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


def sse(*events: dict[str, Any], named: bool = False) -> httpx.Response:
    text = "".join((f"event: {e['type']}\n" if named else "") + f"data: {json.dumps(e)}\r\n\r\n" for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=text.encode())


def test_gemini_on_a_regional_endpoint() -> None:
    server = Vertex(httpx.Response(200, json=GEMINI_ANSWER))
    response = reqllm.generate_text(GEMINI, "Salut", http_client=server.client(), **PLACE)
    (request,) = server.requests
    assert str(request.url) == ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-project-123/locations/"
                                "us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-goog-api-key" not in request.headers
    assert server.body() == {"contents": [{"role": "user", "parts": [{"text": "Salut"}]}]}
    assert (response.text, response.id, response.usage.total_tokens) == ("Bonjour", "vtx-resp-1", 7)


def test_gemini_streams_from_the_global_endpoint_with_alt_sse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    monkeypatch.delenv("GOOGLE_CLOUD_LOCATION", raising=False)
    monkeypatch.delenv("GOOGLE_VERTEX_LOCATION", raising=False)
    first = {**GEMINI_ANSWER, "candidates": [{"content": {"role": "model", "parts": [{"text": "Bon"}]}}]}
    server = Vertex(sse(first, GEMINI_ANSWER | {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "jour"}]}, "finishReason": "STOP"}]}))
    response = reqllm.stream_text(GEMINI, "Salut", http_client=server.client(), access_token=TOKEN).to_response()
    assert str(server.requests[0].url) == ("https://aiplatform.googleapis.com/v1/projects/env-project/locations/global/"
                                           "publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert response.text == "Bonjour"


def test_claude_on_vertex_puts_the_model_in_the_url_and_the_version_in_the_body() -> None:
    server = Vertex(httpx.Response(200, json=CLAUDE_ANSWER))
    response = reqllm.generate_text(CLAUDE, "Hi", max_tokens=256, tools=[WEATHER], http_client=server.client(),
                                    **PLACE)
    (request,) = server.requests
    assert str(request.url) == ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-project-123/locations/"
                                "us-central1/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    body = server.body()
    assert body["anthropic_version"] == "vertex-2023-10-16"
    assert "model" not in body and "anthropic-version" not in request.headers and "x-api-key" not in request.headers
    assert body["max_tokens"] == 256 and body["tools"][0]["name"] == "get_weather"
    assert response.text == "Hello!"


def test_claude_on_vertex_streams_through_stream_raw_predict() -> None:
    message = {**CLAUDE_ANSWER, "content": [], "stop_reason": None}
    server = Vertex(sse({"type": "message_start", "message": message},
                        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo!"}},
                        {"type": "content_block_stop", "index": 0},
                        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
                        {"type": "message_stop"}, named=True))
    response = reqllm.stream_text("google-vertex:claude-sonnet-4-5@20250929", "Hi", http_client=server.client(),
                                  **PLACE).to_response()
    assert server.requests[0].url.path.endswith(
        "/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
    assert server.body()["stream"] is True and "model" not in server.body()
    assert response.text == "Hello!" and response.usage.output_tokens == 3


def test_partner_models_use_the_openai_compatible_endpoint_with_the_bearer_token() -> None:
    answer = {"id": "c1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
    server = Vertex(httpx.Response(200, json=answer))
    reqllm.generate_text("google-vertex:zai-org/glm-5-maas", "Hi", http_client=server.client(), **PLACE)
    request = server.requests[0]
    assert str(request.url) == ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-project-123/locations/"
                                "us-central1/endpoints/openapi/chat/completions")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content)["model"] == "zai-org/glm-5-maas"


@pytest.mark.parametrize("spec", [GEMINI, CLAUDE])
def test_resource_exhausted_is_a_rate_limit_retried_then_raised(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    delays = patch_sleep(monkeypatch)
    server = Vertex(*[httpx.Response(429, json=EXHAUSTED) for _ in range(3)])
    with pytest.raises(errors.RateLimitError, match="Quota exceeded") as info:
        reqllm.generate_text(spec, "Hi", http_client=server.client(), max_retries=2, **PLACE)
    assert info.value.status == 429 and len(server.requests) == 3 and len(delays) == 2
    if spec == GEMINI:
        assert info.value.code == "RESOURCE_EXHAUSTED"


def test_an_expired_token_is_an_authentication_error() -> None:
    body = {"error": {"code": 401, "status": "UNAUTHENTICATED",
                      "message": "Request had invalid authentication credentials. Expected OAuth 2 access token."}}
    server = Vertex(httpx.Response(401, json=body))
    with pytest.raises(errors.AuthenticationError, match="OAuth 2 access token"):
        reqllm.generate_text(GEMINI, "Hi", http_client=server.client(), max_retries=0, **PLACE)
