"""The orchestrator through the fixture layer: scripted interactions (``reqllm_fixture.script``) on
every protocol, and a whole tool loop recorded into one fixture and replayed offline from it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import reqllm
import reqllm_testing
from reqllm_testing import Reply, Script, overloaded

MODELS = {
    "openai_chat": ("openai:gpt-4o-mini", {}),
    "openai_responses": ("openai:gpt-4o", {"protocol": "openai_responses"}),
    "anthropic": ("anthropic:claude-3-5-haiku-20241022", {}),
    "gemini": ("google:gemini-2.5-flash", {}),
}
PROTOCOLS = list(MODELS)
WEATHER_PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ZONE_PARAMETERS = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
BOTH = Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {"zone": "Europe/Paris"})])
ANSWER = Reply("Il fait 21 °C à Paris et il est 14 h 05. ☀️")


def tools(log: list[str], *, broken: bool = False) -> list[reqllm.Tool]:
    def get_weather(city: str) -> dict[str, Any]:
        log.append(f"weather:{city}")
        if broken:
            raise RuntimeError("the weather service is down")
        return {"temp_c": 21}

    def get_time(zone: str) -> str:
        log.append(f"time:{zone}")
        return "14 h 05"

    return [reqllm.Tool(name="get_weather", parameters=WEATHER_PARAMETERS, callable=get_weather),
            reqllm.Tool(name="get_time", parameters=ZONE_PARAMETERS, callable=get_time)]


def call(protocol: str, variant: str, **opts: Any) -> reqllm.Response:
    spec, options = MODELS[protocol]
    options = {"api_key": "test-key", "max_retries": 0, **options, **opts}
    if variant == "body":
        return reqllm.generate_text(spec, "Météo et heure à Paris ?", **options)
    if variant == "stream":
        stream = reqllm.stream_text(spec, "Météo et heure à Paris ?", **options)
        list(stream)
        return stream.to_response()

    async def run() -> reqllm.Response:
        stream = reqllm.astream_text(spec, "Météo et heure à Paris ?", **options)
        return await stream.to_response()

    return asyncio.run(run())


@pytest.mark.parametrize("variant", ["body", "stream", "astream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_scripted_loop_calls_two_tools_in_parallel(reqllm_fixture: Any, protocol: str, variant: str) -> None:
    script = reqllm_fixture.script(BOTH, ANSWER)
    log: list[str] = []
    response = call(protocol, variant, tools=tools(log), max_steps=4)

    assert sorted(log) == ["time:Europe/Paris", "weather:Paris"]
    assert response.text == ANSWER.text and len(response.steps) == 2
    second = script.requests[1]
    results = [m for m in second.messages if m.role == "tool"]
    assert [json.loads(m.text) if m.text.startswith("{") else m.text for m in results] == [{"temp_c": 21}, "14 h 05"]
    if protocol != "gemini":  # Gemini's wire carries no call ids
        assert [m.tool_call_id for m in results] == [c.id for c in response.steps[0].tool_calls]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_scripted_tool_that_raises(reqllm_fixture: Any, protocol: str) -> None:
    script = reqllm_fixture.script(Reply(tool_calls=[("get_weather", {"city": "Paris"})]), ANSWER)
    response = call(protocol, "body", tools=tools([], broken=True), max_steps=2)
    [result] = [m for m in script.requests[1].messages if m.role == "tool"]
    assert "RuntimeError: the weather service is down" in result.text
    assert response.text == ANSWER.text


@pytest.mark.parametrize("variant", ["body", "stream"])
def test_a_scripted_529_from_anthropic_falls_back_to_openai(reqllm_fixture: Any, variant: str) -> None:
    script = reqllm_fixture.script(overloaded(), Reply("Bonjour !"))
    chain = ["anthropic:claude-3-5-haiku-20241022", "openai:gpt-4o-mini"]
    if variant == "body":
        response = reqllm.generate_text(chain, "Salut", api_key="test-key", max_retries=0)
    else:
        stream = reqllm.stream_text(chain, "Salut", api_key="test-key", max_retries=0)
        response = stream.to_response()
    assert [r.protocol for r in script.requests] == ["anthropic", "openai_chat"]
    assert response.model == "openai:gpt-4o-mini" and response.text == "Bonjour !"
    [error] = response.fallback_errors
    assert isinstance(error, reqllm.errors.OverloadedError) and error.status == 529


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_scripted_limit_hit_in_step_two(reqllm_fixture: Any, protocol: str) -> None:
    reqllm_fixture.script(Reply(tool_calls=[("get_time", {"zone": "UTC"})], usage={"input_tokens": 50,
                                                                                   "output_tokens": 10}),
                          Reply("Il est 12 h.", usage={"input_tokens": 70, "output_tokens": 12}))
    with pytest.raises(reqllm.UsageLimitExceeded) as caught:
        call(protocol, "body", tools=tools([]), max_steps=3, usage_limit=reqllm.UsageLimit(output_tokens=15))
    assert caught.value.field == "output_tokens" and caught.value.usage.output_tokens == 22
    assert caught.value.usage.total_tokens == 142
    assert caught.value.response is not None and caught.value.response.text == "Il est 12 h."


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_scripted_object_stream(reqllm_fixture: Any, protocol: str) -> None:
    person = {"name": "Ada Lovelace", "age": 36, "fields": ["mathématiques", "calcul"]}
    reqllm_fixture.script(Reply(json.dumps(person, ensure_ascii=False)))
    spec, options = MODELS[protocol]
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                               "fields": {"type": "array", "items": {"type": "string"}}}}
    stream = reqllm.stream_object(spec, "Qui était Ada ?", schema, api_key="test-key", **options)
    partials = list(stream)
    assert partials and partials[-1] == person
    assert stream.to_response().object == person


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_loop_is_one_fixture_with_every_step_and_replays_offline(tmp_path: Path, protocol: str) -> None:
    path = tmp_path / f"{protocol}-loop.json"
    script = Script([BOTH, ANSWER])
    with reqllm_testing.use_fixture(path, mode="record"):
        recorded = call(protocol, "stream", tools=tools([]), max_steps=3,
                        http_client=httpx.Client(transport=script))
    interactions = json.loads(path.read_text())["interactions"]
    assert len(interactions) == 2, "one fixture holds every step of the loop"

    log: list[str] = []
    with reqllm_testing.use_fixture(path, mode="replay"):
        replayed = call(protocol, "stream", tools=tools(log), max_steps=3)
    assert sorted(log) == ["time:Europe/Paris", "weather:Paris"], "the tools run again on replay"
    assert replayed.text == recorded.text == ANSWER.text
    assert [s.normalized() for s in replayed.steps] == [s.normalized() for s in recorded.steps]
    assert replayed.usage == recorded.usage
