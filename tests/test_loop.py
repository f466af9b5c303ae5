"""The tool loop, on every protocol: the core runs the tools, sends their results back and asks again.

Each scenario runs through every row of the protocol table (``tests/test_protocol_table.py``): the
provider's documented wire format answers, and the requests of later steps must carry the tool
turns in that protocol's own shape (tool_result blocks, functionResponse, function_call_output).
Variants: ``body`` / ``stream`` (sync) and ``abody`` / ``astream`` (async).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import reqllm
from reqllm import Message, StreamChunk, Tool, ToolCall
from reqllm.errors import InvalidOptionError
from tests.test_protocol_table import (
    CASES,
    CLOCK,
    PARALLEL,
    PARIS,
    WEATHER,
    ZONE,
    Answer,
    Case,
    Counts,
    Fn,
    Server,
    assert_tool_turns,
    cost,
    each,
    expected,
    model_of,
    reply,
)

FINAL = Answer(text="21 °C, ciel dégagé ; il est 14 h 05 à Paris. ☀️", usage=Counts(160, 20))
WEATHER_RESULT = {"temp_c": 21, "sky": "dégagé"}
CLOCK_RESULT = "14 h 05"
VARIANTS = ("body", "stream", "abody", "astream")


def row(protocol: str) -> Case:
    return next(c for c in CASES if c.protocol == protocol)


def with_callable(tool: Tool, fn: Callable[..., Any]) -> Tool:
    return tool.model_copy(update={"callable": fn})


def sync_tools(log: list[str] | None = None) -> list[Tool]:
    def weather(city: str, district: str | None = None) -> dict[str, Any]:
        if log is not None:
            log.append(f"weather:{city}")
        return WEATHER_RESULT

    def clock(zone: str) -> str:
        if log is not None:
            log.append(f"clock:{zone}")
        return CLOCK_RESULT

    return [with_callable(WEATHER, weather), with_callable(CLOCK, clock)]


def concurrent_tools() -> list[Tool]:
    """Async tools that finish only once both have started: run one after the other, they time out."""
    started: list[str] = []
    both = asyncio.Event()

    async def arrive(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 2.0)

    async def weather(city: str, district: str | None = None) -> dict[str, Any]:
        await arrive("weather")
        return WEATHER_RESULT

    async def clock(zone: str) -> str:
        await arrive("clock")
        return CLOCK_RESULT

    return [with_callable(WEATHER, weather), with_callable(CLOCK, clock)]


class Run:
    """One call through ``server`` in a variant; keeps the chunks a stream yielded."""

    def __init__(self, case: Case, server: Server, variant: str) -> None:
        self.case, self.server, self.variant = case, server, variant
        self.chunks: list[StreamChunk] = []

    def options(self, **opts: Any) -> dict[str, Any]:
        client: Any = (httpx.AsyncClient if self.variant.startswith("a") else httpx.Client)(
            transport=httpx.MockTransport(self.server))
        return {"api_key": "test-key", "max_retries": 0, "http_client": client, **self.case.options, **opts}

    def __call__(self, messages: Any = "Météo et heure à Paris ?", model: Any = None, **opts: Any) -> reqllm.Response:
        target = model if model is not None else model_of(self.case)
        options = self.options(**opts)
        if self.variant == "body":
            return reqllm.generate_text(target, messages, **options)
        if self.variant == "stream":
            stream = reqllm.stream_text(target, messages, **options)
            try:
                for chunk in stream:
                    self.chunks.append(chunk)
            finally:
                self.chunks = list(stream.chunks)
            return stream.to_response()
        return asyncio.run(self._async(target, messages, options))

    async def _async(self, target: Any, messages: Any, options: dict[str, Any]) -> reqllm.Response:
        if self.variant == "abody":
            return await reqllm.agenerate_text(target, messages, **options)
        stream = reqllm.astream_text(target, messages, **options)
        try:
            async for chunk in stream:
                self.chunks.append(chunk)
        finally:
            self.chunks = list(stream.chunks)
        return await stream.to_response()


def mode(variant: str) -> str:
    return "stream" if variant.endswith("stream") else "body"


def tool_results(chunks: list[StreamChunk]) -> list[dict[str, Any]]:
    return [c.metadata["tool_result"] for c in chunks if c.type == "meta" and c.metadata
            and "tool_result" in c.metadata]


# -- the loop -------------------------------------------------------------------------------------
@each(*VARIANTS)
def test_a_loop_runs_two_tool_calls_and_asks_again(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, mode(variant)), reply(case, FINAL, mode(variant)))
    log: list[str] = []
    tools = concurrent_tools() if variant.startswith("a") else sync_tools(log)
    run = Run(case, server, variant)

    response = run(tools=tools, max_steps=5)

    assert response.normalized()["text"] == FINAL.text
    assert response.finish_reason == "stop"
    assert [s.normalized() for s in response.steps] == [expected(case, PARALLEL), expected(case, FINAL)]
    if not variant.startswith("a"):
        assert log == ["weather:Paris", "clock:Europe/Paris"]  # sync: one after the other, in order
    # The second request carries the assistant's calls and both results, in the protocol's shape.
    calls = response.steps[0].tool_calls
    pairs: list[tuple[ToolCall, Any]] = [(calls[0], WEATHER_RESULT), (calls[1], CLOCK_RESULT)]
    assert_tool_turns(case, server.body(1), PARALLEL, pairs)
    # The whole conversation, ready to continue.
    assert [m.role for m in response.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert response.messages[1] == response.steps[0].message
    assert [m.tool_call_id for m in response.messages[2:4]] == [c.id for c in calls]
    assert response.messages[-1] == response.message
    # Usage is the sum over the steps, cost included.
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (85 + 160, 40 + 20)
    assert usage.total_tokens == 85 + 160 + 40 + 20
    assert usage.cost == pytest.approx(cost(PARALLEL.usage) + cost(FINAL.usage), rel=1e-9)
    if mode(variant) == "stream":
        kinds = [c.type for c in run.chunks]
        metas = [i for i, c in enumerate(run.chunks) if c.type == "meta" and "tool_result" in (c.metadata or {})]
        step_two = [c for c in run.chunks[metas[-1] + 1:] if c.type == "content"]
        assert "tool_call" in kinds[:metas[0]], "step 1's chunks come first"
        assert "".join(c.text for c in step_two) == FINAL.text, "then step 2's, after the tool results"
        assert tool_results(run.chunks) == [
            {"id": calls[0].id, "name": "get_weather", "content": json.dumps(WEATHER_RESULT, ensure_ascii=False),
             "value": WEATHER_RESULT, "is_error": False},
            {"id": calls[1].id, "name": "get_time", "content": CLOCK_RESULT, "value": CLOCK_RESULT,
             "is_error": False}]


@each("body", "stream", "astream")
def test_a_tool_that_raises_sends_the_error_back_and_the_loop_goes_on(case: Case, variant: str) -> None:
    said = Answer(calls=(PARIS,), finish="tool_calls", usage=Counts(85, 16))
    server = Server(reply(case, said, mode(variant)), reply(case, FINAL, mode(variant)))

    def broken(city: str, district: str | None = None) -> Any:
        raise ConnectionError(f"no weather station answers for {city}")

    run = Run(case, server, variant)
    response = run(tools=[with_callable(WEATHER, broken)], max_steps=3)

    assert response.text == FINAL.text and len(response.steps) == 2
    text = "Error: tool 'get_weather' raised ConnectionError: no weather station answers for Paris"
    assert_tool_turns(case, server.body(1), said, [(response.steps[0].tool_calls[0], text)])
    assert response.messages[2].text == text
    if mode(variant) == "stream":
        assert [r["is_error"] for r in tool_results(run.chunks)] == [True]


@each("body", "stream", "abody")
def test_tool_errors_raise_re_raises_the_tools_exception(case: Case, variant: str) -> None:
    said = Answer(calls=(PARIS,), finish="tool_calls", usage=Counts(85, 16))
    server = Server(reply(case, said, mode(variant)), reply(case, FINAL, mode(variant)))

    def broken(city: str, district: str | None = None) -> Any:
        raise ConnectionError("station down")

    with pytest.raises(ConnectionError, match="station down"):
        Run(case, server, variant)(tools=[with_callable(WEATHER, broken)], max_steps=3, tool_errors="raise")
    assert len(server.requests) == 1


@each("body", "stream")
def test_unknown_tools_and_arguments_that_break_the_schema_go_back_as_error_results(case: Case,
                                                                                   variant: str) -> None:
    said = Answer(calls=(Fn("Bq1xT7", "get_weather", {"town": "Paris"}), Fn("Zk9pQ2", "get_tide", {"port": "Brest"})),
                  finish="tool_calls", usage=Counts(85, 30))
    server = Server(reply(case, said, variant), reply(case, FINAL, variant))
    ran: list[str] = []
    response = Run(case, server, variant)(tools=sync_tools(ran), max_steps=2)

    assert ran == [], "neither call reached a tool"
    calls = response.steps[0].tool_calls
    assert_tool_turns(case, server.body(1), said, [
        (calls[0], "Error: invalid arguments for tool 'get_weather' at city: required field is missing"),
        (calls[1], "Error: there is no tool named 'get_tide'; the tools are: get_time, get_weather")])
    assert response.text == FINAL.text


@each("body", "stream")
def test_max_steps_ends_the_loop_and_leaves_the_last_calls_to_the_caller(case: Case, variant: str) -> None:
    again = Answer(calls=(ZONE,), finish="tool_calls", usage=Counts(90, 12))
    server = Server(reply(case, PARALLEL, variant), reply(case, again, variant))
    log: list[str] = []
    response = Run(case, server, variant)(tools=sync_tools(log), max_steps=2)
    assert len(server.requests) == 2 and len(response.steps) == 2
    assert log == ["weather:Paris", "clock:Europe/Paris"]  # step 2's call was not run
    assert response.finish_reason == "tool_calls" and [c.name for c in response.tool_calls] == ["get_time"]
    assert response.messages[-1] == response.message


@each("body", "stream")
def test_by_default_there_is_one_step_and_no_tool_runs(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, variant))
    log: list[str] = []
    response = Run(case, server, variant)(tools=sync_tools(log))
    assert log == [] and len(server.requests) == 1
    assert response.normalized() == expected(case, PARALLEL)
    assert response.steps == [response.model_copy(update={"steps": [], "messages": []})]
    assert [m.role for m in response.messages] == ["user", "assistant"]


@each("body")
def test_a_call_of_a_tool_without_a_callable_ends_the_loop(case: Case, variant: str) -> None:
    server = Server(reply(case, PARALLEL, variant))
    log: list[str] = []
    weather, _ = sync_tools(log)
    response = Run(case, server, variant)(tools=[weather, CLOCK], max_steps=4)
    assert log == [] and len(server.requests) == 1  # the caller answers get_time, so the caller answers both
    assert response.finish_reason == "tool_calls"


def test_async_tools_in_the_sync_api_run_to_completion() -> None:
    case = row("openai_chat")
    said = Answer(calls=(PARIS,), finish="tool_calls", usage=Counts(85, 16))
    server = Server(reply(case, said, "body"), reply(case, FINAL, "body"))

    async def weather(city: str, district: str | None = None) -> dict[str, Any]:
        await asyncio.sleep(0)
        return WEATHER_RESULT

    response = Run(case, server, "body")(tools=[with_callable(WEATHER, weather)], max_steps=2)
    assert response.messages[2].text == json.dumps(WEATHER_RESULT, ensure_ascii=False)


@pytest.mark.parametrize(("option", "message"), [
    ({"max_steps": 0}, "max_steps=0 must be an integer >= 1"),
    ({"max_steps": True}, "max_steps=True must be an integer >= 1"),
    ({"tool_errors": "ignore"}, "tool_errors='ignore' must be 'return' or 'raise'"),
    ({"usage_limit": 5}, "usage_limit must be a reqllm.UsageLimit or a dict, not int"),
    ({"usage_limit": {"tokens": 5}}, "usage_limit is not valid"),
    ({"model": []}, "model=[] names no model"),
])
def test_bad_loop_options_raise_before_any_request(option: dict[str, Any], message: str) -> None:
    server = Server()
    opts = {"model": "openai:gpt-4o-mini", **option}
    with pytest.raises(InvalidOptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reqllm.generate_text(opts.pop("model"), "hi", api_key="k", http_client=server.client(), **opts)
    assert server.requests == []


def test_max_steps_is_refused_for_objects() -> None:
    with pytest.raises(InvalidOptionError, match="max_steps=3 applies to generate_text and stream_text only"):
        reqllm.generate_object("openai:gpt-4o-mini", "hi", {"type": "object"}, api_key="k", max_steps=3)


def test_tool_result_messages_continue_the_conversation() -> None:
    """``response.messages`` goes back as the next call's input unchanged."""
    case = row("anthropic")
    server = Server(reply(case, PARALLEL, "body"), reply(case, FINAL, "body"), reply(case, FINAL, "body"))
    run = Run(case, server, "body")
    first = run(tools=sync_tools(), max_steps=2)
    second = run([*first.messages, Message.user("Et demain ?")], tools=sync_tools(), max_steps=2)
    assert [m.role for m in second.messages] == ["user", "assistant", "tool", "tool", "assistant", "user",
                                                 "assistant"]
    sent = server.body(2)["messages"]
    assert sent[:3] == server.body(1)["messages"]  # the first call's turns, unchanged
    assert [m["role"] for m in sent[3:]] == ["assistant", "user"]
    assert "Et demain ?" in json.dumps(sent[-1], ensure_ascii=False)
