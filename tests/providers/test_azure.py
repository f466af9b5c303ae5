"""Azure: the OpenAI v1 API (deployment name as model id, api-key or Entra ID bearer), the older deployment
URLs with api-version, and Claude on Azure AI Foundry through the Anthropic protocol; plus every catalogued
model of the four cloud providers resolving to a request."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import errors
from reqllm._http import prepare

KEY = "azure-test-key-0123456789"
CHAT = {"id": "chatcmpl-AzB1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop",
                     "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}],
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


class Azure:
    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.replies.pop(0)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def test_the_v1_api_takes_the_deployment_name_as_model_and_the_key_in_api_key() -> None:
    server = Azure(httpx.Response(200, json=CHAT))
    reqllm.generate_text("azure:my-gpt4o-deployment", "Hi", api_key=KEY, resource="contoso",
                         http_client=server.client())
    (request,) = server.requests
    assert str(request.url) == "https://contoso.openai.azure.com/openai/v1/chat/completions"
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers
    assert json.loads(request.content)["model"] == "my-gpt4o-deployment"


def test_the_resource_comes_from_the_endpoint_variable_and_entra_tokens_are_bearer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_RESOURCE_NAME", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://fabrikam-eu.openai.azure.com/")
    token = ".".join(["eyJ0eXAiOiJKV1Qi", "entra", "token"])  # built at run time: no token-like literal
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", token)
    server = Azure(httpx.Response(200, json=CHAT))
    reqllm.generate_text("azure:gpt-4o-mini", "Hi", http_client=server.client())
    request = server.requests[0]
    assert request.url.host == "fabrikam-eu.openai.azure.com"
    assert request.headers["authorization"] == f"Bearer {token}"
    assert "api-key" not in request.headers


def test_reasoning_deployments_use_the_responses_api() -> None:
    answer = {"id": "resp_az", "object": "response", "status": "completed", "output": [
        {"type": "message", "id": "m", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}],
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}}
    server = Azure(httpx.Response(200, json=answer))
    reqllm.generate_text("azure:o4-mini", "Hi", api_key=KEY, resource="contoso", http_client=server.client())
    assert str(server.requests[0].url) == "https://contoso.openai.azure.com/openai/v1/responses"


def test_an_older_deployment_url_keeps_its_api_version_on_every_request() -> None:
    server = Azure(httpx.Response(200, json=CHAT))
    base = "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod?api-version=2024-10-21"
    reqllm.generate_text("azure:gpt-4o-prod", "Hi", api_key=KEY, base_url=base, http_client=server.client())
    assert str(server.requests[0].url) == \
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    assert server.requests[0].headers["api-key"] == KEY


def test_claude_on_azure_ai_foundry_speaks_anthropic_with_x_api_key() -> None:
    answer = {"id": "msg_az", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
              "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
              "usage": {"input_tokens": 3, "output_tokens": 1}}
    server = Azure(httpx.Response(200, json=answer))
    reqllm.generate_text("azure:claude-sonnet-4-5", "Hi", api_key=KEY, resource="contoso", http_client=server.client())
    request = server.requests[0]
    assert str(request.url) == "https://contoso.services.ai.azure.com/anthropic/v1/messages"
    assert request.headers["x-api-key"] == KEY and request.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(request.content)["model"] == "claude-sonnet-4-5"


def test_azure_errors_are_typed() -> None:
    body = {"error": {"code": "429", "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI "
                                                "API version 2024-10-21 have exceeded token rate limit."}}
    server = Azure(httpx.Response(429, json=body, headers={"retry-after": "0"}),
                   httpx.Response(401, json={"error": {"code": "401", "message": "Access denied due to invalid "
                                                                                  "subscription key."}}))
    with pytest.raises(errors.AuthenticationError, match="invalid subscription key"):
        reqllm.generate_text("azure:gpt-4o-mini", "Hi", api_key=KEY, resource="contoso", http_client=server.client())
    assert len(server.requests) == 2  # the 429 was retried


# -- the whole catalogue of the four providers --------------------------------------------------------
CLOUD_OPTIONS: dict[str, dict[str, Any]] = {
    "amazon-bedrock": {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "test-secret-0123"},
    "google-vertex": {"access_token": "ya29.test", "project": "p", "region": "us-east5"},
    "google-vertex-anthropic": {"access_token": "ya29.test", "project": "p", "region": "us-east5"},
    "azure": {"api_key": KEY, "resource": "contoso"},
}


@pytest.mark.parametrize("provider", sorted(CLOUD_OPTIONS))
def test_every_catalogued_model_of_the_clouds_resolves_to_a_request(provider: str) -> None:
    specs = reqllm.models(provider)
    assert len(specs) >= 10
    for spec in specs:
        model = reqllm.model(spec)
        operation = "embed" if model.embedding else "chat"
        exchange = prepare(operation, spec, dict(CLOUD_OPTIONS[provider]), messages="Hi",
                           inputs=["Hi"] if operation == "embed" else None)
        request = exchange.build()
        assert request.url.scheme == "https", spec
        assert "${" not in str(request.url), spec
        assert request.headers.get("authorization") or request.headers.get("api-key") \
            or request.headers.get("x-api-key"), spec
