"""Which wire protocol a call uses: the provider's, the Responses API for OpenAI reasoning models,
or the caller's explicit ``protocol=``."""

from __future__ import annotations

import json

import httpx

import reqllm


def _capture() -> tuple[list[httpx.Request], httpx.Client]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/responses"):
            return httpx.Response(200, json={
                "id": "resp_1", "object": "response", "status": "completed",
                "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                            "content": [{"type": "output_text", "text": "hi", "annotations": []}]}],
                "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}})
        return httpx.Response(200, json={
            "id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                    "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})

    return seen, httpx.Client(transport=httpx.MockTransport(handler))


def test_openai_reasoning_models_use_the_responses_api() -> None:
    assert reqllm.model("openai:o3").protocol == "openai_responses"
    seen, client = _capture()
    reqllm.generate_text("openai:o4-mini", "hi", api_key="k", http_client=client)
    assert seen[0].url.path == "/v1/responses"


def test_other_openai_models_use_chat_completions() -> None:
    assert reqllm.model("openai:gpt-4o-mini").protocol is None
    seen, client = _capture()
    reqllm.generate_text("openai:gpt-4o-mini", "hi", api_key="k", http_client=client)
    assert seen[0].url.path == "/v1/chat/completions"


def test_a_caller_chooses_the_protocol_explicitly() -> None:
    seen, client = _capture()
    r = reqllm.generate_text("openai:gpt-4o-mini", "hi", api_key="k", http_client=client,
                             protocol="openai_responses")
    assert seen[0].url.path == "/v1/responses"
    assert json.loads(seen[0].content)["model"] == "gpt-4o-mini"
    assert r.text == "hi"
    seen, client = _capture()
    reqllm.generate_text("openai:o3", "hi", api_key="k", http_client=client, protocol="openai_chat")
    assert seen[0].url.path == "/v1/chat/completions"
