"""The orchestrator against a real server (``pytest -m live``): llama.cpp's tools server on loopback.

The ``tools`` server of ``scripts/local_llm.py`` (llama.cpp embedded by ``xllamacpp``, Gemma 3 270M with
``scripts/local_llm_tools.jinja``) returns real ``<tool_call>`` JSON on Chat, Messages and Responses, and the
``gemini`` server (LiteLLM's proxy in front of it) speaks Gemini's ``generateContent``. Each
tool loop here runs a real callable between two real requests, is recorded into one fixture with
``reqllm_testing.use_fixture`` and then replayed from that file alone. Object streams, a fallback from
a dead loopback port to another protocol and a usage limit passed in step 2 run live. The server is
started when it is not running (and then stopped at the end); a running one is reused and left
running. The same for the ``gemini`` proxy, which only the Gemini tests need.

The loops are also committed as recordings (``tests/data/live_loops/``, replayed offline by
``tests/test_loop_live_replay.py`` in every run). To record them again, with both servers running on their
default ports::

    python -m tests.live.test_live_orchestration tests/data/live_loops

Every answer of this server starts with up to 24 tokens of forced reasoning (``reasoning_budget_tokens``),
and a forced tool call costs 10-20 s on a loaded 2-core machine, so each test sends as few requests with as
few tokens as it can.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import reqllm
import reqllm_testing
from reqllm.errors import APIConnectionError, UsageLimitExceeded
from tests.live.local_servers import running

pytestmark = pytest.mark.live

#: The servers' default URLs, as in the committed recordings.
RECORDED_URLS = {"tools": "http://127.0.0.1:8082/v1", "gemini": "http://127.0.0.1:8083/v1beta"}


def server_of(protocol: str) -> str:
    """Which local server speaks ``protocol``: Gemini's is the LiteLLM proxy, the others the tools server."""
    return "gemini" if protocol == "gemini" else "tools"
MODEL_ID = "gemma-3-270m-q4_k_m"
SPECS = {  # the tools server's three protocols and Gemini's (LiteLLM in front of it), each with its variant
    "openai_chat": (f"local-llm-think:{MODEL_ID}", "body"),
    "anthropic": (f"local-llm-think-anthropic:{MODEL_ID}", "stream"),
    "openai_responses": (f"local-llm-think-responses:{MODEL_ID}", "astream"),
    "gemini": (f"local-llm-gemini:{MODEL_ID}", "stream"),
}
WEATHER = {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
           "required": ["city"]}
PROMPT = "What is the weather in Paris? Use the tool."
STEP_TOKENS = 64  # 24 of reasoning + one <tool_call> of ~15 tokens fit; a free-text answer stops here


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The tools server's base URL (``.../v1``): reused when running, else started and stopped at the end."""
    with running("tools") as url:
        yield url


@pytest.fixture(scope="module")
def gemini_server(server: str) -> Iterator[str]:
    """The LiteLLM Gemini proxy's base URL (``.../v1beta``), in front of the tools server; same rule."""
    with running("gemini", timeout=600.0) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_server_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URLs come from each test, not from a REQLLM_LOCAL_*_BASE_URL left in the environment."""
    monkeypatch.delenv("REQLLM_LOCAL_TOOLS_BASE_URL", raising=False)
    monkeypatch.delenv("REQLLM_LOCAL_GEMINI_BASE_URL", raising=False)


def weather_tool(log: list[dict[str, Any]]) -> reqllm.Tool:
    def get_weather(city: str) -> dict[str, Any]:
        log.append({"city": city})
        return {"city": city, "temp_c": 21, "sky": "sunny"}

    return reqllm.Tool(name="get_weather", description="Get the current weather for a city.",
                       parameters=WEATHER, callable=get_weather)


def run_loop(spec: str, variant: str, base_url: str, log: list[dict[str, Any]], **opts: Any) -> reqllm.Response:
    """One tool loop of at most two steps, in the given variant (body, stream, astream)."""
    options: dict[str, Any] = {"base_url": base_url, "tools": [weather_tool(log)], "tool_choice": "required",
                               "max_steps": 2, "max_tokens": STEP_TOKENS, "temperature": 0.0, **opts}
    if variant == "body":
        return reqllm.generate_text(spec, PROMPT, **options)
    if variant == "stream":
        stream = reqllm.stream_text(spec, PROMPT, **options)
        chunks = list(stream)
        response = stream.to_response()
        metas = [c.metadata["tool_result"] for c in chunks if c.type == "meta" and "tool_result" in c.metadata]
        assert [m["value"] for m in metas] == [{"city": e["city"], "temp_c": 21, "sky": "sunny"} for e in log]
        return response

    async def run() -> reqllm.Response:
        stream = reqllm.astream_text(spec, PROMPT, **options)
        return await stream.to_response()

    return asyncio.run(run())


def _sum(usages: list[reqllm.Usage]) -> tuple[int, int, int]:
    return (sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages),
            sum(u.total_tokens for u in usages))


@pytest.mark.parametrize("protocol", list(SPECS))
def test_a_real_tool_loop_runs_the_callable_then_replays_from_one_fixture(
        request: pytest.FixtureRequest, tmp_path: Path, protocol: str) -> None:
    spec, variant = SPECS[protocol]
    server = request.getfixturevalue("gemini_server" if server_of(protocol) == "gemini" else "server")
    path = tmp_path / f"{protocol}-loop.json"
    log: list[dict[str, Any]] = []
    with reqllm_testing.use_fixture(path, mode="record"):
        recorded = run_loop(spec, variant, server, log)

    assert len(recorded.steps) == 2, "the model's tool call was answered and the model asked again"
    first = recorded.steps[0]
    assert [c.name for c in first.tool_calls] == ["get_weather"] and len(log) == 1
    assert log[0]["city"] == first.tool_calls[0].arguments["city"], "the callable got the model's arguments"
    roles = [m.role for m in recorded.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert json.loads(recorded.messages[2].text)["temp_c"] == 21
    assert _sum([s.usage for s in recorded.steps]) == (recorded.usage.input_tokens, recorded.usage.output_tokens,
                                                       recorded.usage.total_tokens)
    assert recorded.steps[1].usage.input_tokens > 0 and recorded.model == recorded.steps[1].model

    # llama.cpp sometimes drops the kept-alive connection after a stream: the core's retry sends the
    # request again, and the fixture keeps the dropped attempt too (replay drops it the same way).
    interactions = json.loads(path.read_text())["interactions"]
    answered = [i for i in interactions if i["response"].get("status") == 200]
    dropped = [(i["response"].get("error") or {}).get("type") for i in interactions if i not in answered]
    sent = [(i["request"]["url"], i["response"].get("status")) for i in interactions]
    assert len(answered) == 2, f"one fixture holds both real requests of the loop, not {sent}"
    assert set(dropped) <= {"RemoteProtocolError"}, f"only dropped connections were retried: {sent}"
    assert "temp_c" in json.dumps(answered[1]["request"]["body"]), "step 2 sent the tool result"

    replay_log: list[dict[str, Any]] = []
    with reqllm_testing.use_fixture(path, mode="replay"):
        replayed = run_loop(spec, variant, server, replay_log)
    assert replay_log == log, "the callable runs again on replay, with the recorded arguments"
    assert [s.normalized() for s in replayed.steps] == [s.normalized() for s in recorded.steps]
    assert replayed.usage == recorded.usage and replayed.text == recorded.text


# Chat and Gemini ask for a response format that llama.cpp enforces by grammar, Messages for a forced tool;
# Responses' text.format is ignored by llama.cpp (scripts/LOCAL_LLM_NOTES.md), so it has no real object here.
@pytest.mark.parametrize("protocol", ["openai_chat", "anthropic", "gemini"])
def test_a_real_object_stream_grows_then_validates(request: pytest.FixtureRequest, protocol: str) -> None:
    server = request.getfixturevalue("gemini_server" if server_of(protocol) == "gemini" else "server")
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                               "temp_c": {"type": "integer", "minimum": -50, "maximum": 50}},
              "required": ["city", "temp_c"], "additionalProperties": False}
    stream = reqllm.stream_object(SPECS[protocol][0], PROMPT, schema,
                                  base_url=server, max_tokens=96, temperature=0.0)
    partials = list(stream)
    result = stream.to_response()

    assert set(result.object) == {"city", "temp_c"} and -50 <= result.object["temp_c"] <= 50
    assert len(partials) >= 2, "partial objects arrived as the JSON grew"
    assert partials[-1] == result.object
    for before, after in itertools.pairwise(partials):
        assert set(before) <= set(after), "each partial extends the one before"


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("variant", "first", "second"), [("body", "anthropic", "openai_chat"),
                                                         ("stream", "openai_chat", "anthropic"),
                                                         ("body", "gemini", "openai_responses"),
                                                         ("stream", "openai_responses", "gemini")])
def test_a_real_fallback_from_a_dead_port_to_the_server(request: pytest.FixtureRequest, variant: str, first: str,
                                                        second: str) -> None:
    """The first model (one protocol) is refused on a dead loopback port; the second (another protocol) answers."""
    server = request.getfixturevalue("gemini_server" if server_of(second) == "gemini" else "server")
    dead = reqllm.model(SPECS[first][0]).model_copy(update={"base_url": f"http://127.0.0.1:{_dead_port()}/v1"})
    live = reqllm.model(SPECS[second][0]).model_copy(update={"base_url": server})
    options: dict[str, Any] = {"max_tokens": 4, "temperature": 0.0, "max_retries": 0}
    if variant == "body":
        response = reqllm.generate_text([dead, live], "Say hi.", **options)
    else:
        stream = reqllm.stream_text([dead, live], "Say hi.", **options)
        assert list(stream)
        response = stream.to_response()

    assert [type(e) for e in response.fallback_errors] == [APIConnectionError]
    assert "Connection refused" in str(response.fallback_errors[0])
    assert response.model == live.spec and MODEL_ID in response.model
    assert response.usage.output_tokens > 0


@pytest.mark.parametrize("protocol", list(SPECS))
def test_a_real_usage_limit_is_passed_in_step_two(request: pytest.FixtureRequest, protocol: str) -> None:
    # Step 1 (reasoning + one tool call: 38 tokens measured, at most STEP_TOKENS) stays within the limit;
    # step 2 is sent (the limit is not reached yet) and its answer takes the sum past it.
    server = request.getfixturevalue("gemini_server" if server_of(protocol) == "gemini" else "server")
    log: list[dict[str, Any]] = []
    limit = reqllm.UsageLimit(output_tokens=STEP_TOKENS)
    with pytest.raises(UsageLimitExceeded, match="passed by step 2") as caught:
        run_loop(SPECS[protocol][0], "body", server, log, usage_limit=limit)

    error = caught.value
    assert error.field == "output_tokens" and len(log) == 1, "step 1 ran its tool; the limit stopped the loop"
    assert error.response is not None, "the error carries the result so far"
    first, second = error.response.steps
    assert first.usage.output_tokens <= STEP_TOKENS < first.usage.output_tokens + second.usage.output_tokens
    assert error.usage.output_tokens == error.response.usage.output_tokens > STEP_TOKENS


def record(directory: Path) -> None:
    """Record each protocol's tool loop into ``directory/<protocol>.json`` (the committed recordings)."""
    directory.mkdir(parents=True, exist_ok=True)
    for protocol, (spec, variant) in SPECS.items():
        with reqllm_testing.use_fixture(directory / f"{protocol}.json", mode="record"):
            response = run_loop(spec, variant, RECORDED_URLS[server_of(protocol)], [])
        print(f"{protocol}: {len(response.steps)} steps, {response.usage.total_tokens} tokens")


if __name__ == "__main__":
    import sys

    record(Path(sys.argv[1]))
