"""OpenTelemetry: reqllm's telemetry events become spans after the GenAI semantic conventions,
checked with the SDK's in-memory exporter; reqllm imports and runs without opentelemetry."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import reqllm
from tests.test_fallback import ANTHROPIC, CHAT, failure, target
from tests.test_loop import FINAL, Run, row, sync_tools, with_callable
from tests.test_protocol_table import PARALLEL, PARIS, PLAIN, WEATHER, Answer, Counts, Server, reply


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    uninstrument = reqllm.telemetry.instrument_opentelemetry(provider)
    yield memory
    uninstrument()


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.mark.parametrize("variant", ["body", "stream"])
def test_one_call_is_one_client_span(exporter: InMemorySpanExporter, variant: str) -> None:
    Run(CHAT, Server(reply(CHAT, PLAIN, variant)), variant)()
    [span] = spans(exporter)
    assert span.name == "chat gpt-4o-mini" and span.kind == SpanKind.CLIENT
    assert attrs(span) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.id": CHAT.wire.response_id, "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 8,
        "reqllm.usage.cost": pytest.approx((12 * 1.0 + 8 * 4.0) / 1e6), "reqllm.stream": variant == "stream"}
    assert "gen_ai.input.messages" not in attrs(span), "no content unless asked for"


@pytest.mark.parametrize("protocol", ["openai_chat", "openai_responses", "anthropic", "gemini"])
@pytest.mark.parametrize("variant", ["body", "stream"])
def test_a_loop_is_a_parent_span_with_a_child_per_step_and_per_tool(exporter: InMemorySpanExporter,
                                                                    protocol: str, variant: str) -> None:
    case = row(protocol)
    server = Server(reply(case, PARALLEL, variant), reply(case, FINAL, variant))
    Run(case, server, variant)(tools=sync_tools(), max_steps=3)

    found = spans(exporter)
    [loop] = [s for s in found if s.name == "invoke_agent"]
    children = [s for s in found if s is not loop]
    assert loop.parent is None
    assert all(s.parent is not None and s.parent.span_id == loop.context.span_id for s in children)
    assert all(s.context.trace_id == loop.context.trace_id for s in children)
    model_id = case.spec.partition(":")[2]
    assert [s.name for s in children] == [f"chat {model_id}", "execute_tool get_weather", "execute_tool get_time",
                                          f"chat {model_id}"]
    assert [attrs(s)["reqllm.step"] for s in children] == [1, 1, 1, 2]
    tool = attrs(children[1])
    assert tool["gen_ai.operation.name"] == "execute_tool" and tool["gen_ai.tool.type"] == "function"
    assert tool["gen_ai.tool.call.id"]
    assert attrs(children[0])["gen_ai.response.finish_reasons"] == ("tool_calls",)
    summed = attrs(loop)
    assert summed["gen_ai.operation.name"] == "invoke_agent"
    assert (summed["gen_ai.usage.input_tokens"], summed["gen_ai.usage.output_tokens"]) == (85 + 160, 40 + 20)
    assert summed["gen_ai.provider.name"] == {"gemini": "gcp.gemini"}.get(protocol, case.spec.partition(":")[0])


def test_content_is_recorded_only_when_asked_for() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    uninstrument = reqllm.telemetry.instrument_opentelemetry(provider, capture_content=True)
    try:
        Run(CHAT, Server(reply(CHAT, PARALLEL, "body"), reply(CHAT, FINAL, "body")), "body")(
            "Météo à Paris ?", tools=sync_tools(), max_steps=2)
    finally:
        uninstrument()
    found = spans(memory)
    first = next(s for s in found if s.name.startswith("chat"))
    assert json.loads(attrs(first)["gen_ai.input.messages"])[0]["content"][0]["text"] == "Météo à Paris ?"
    assert json.loads(attrs(first)["gen_ai.output.messages"])[0]["tool_calls"][0]["name"] == "get_weather"
    tool = next(s for s in found if s.name == "execute_tool get_weather")
    assert json.loads(attrs(tool)["gen_ai.tool.call.arguments"])["city"] == "Paris"
    assert json.loads(attrs(tool)["gen_ai.tool.call.result"]) == {"temp_c": 21, "sky": "dégagé"}


def test_errors_set_the_status_and_error_type(exporter: InMemorySpanExporter) -> None:
    server = Server(failure(ANTHROPIC, "overloaded"), reply(CHAT, PLAIN, "body"))
    Run(CHAT, server, "body")(model=[target(ANTHROPIC), target(CHAT)])
    failed, answered = spans(exporter)
    assert failed.name == "chat claude-3-5-haiku-20241022" and failed.status.status_code == StatusCode.ERROR
    assert attrs(failed)["error.type"] == "OverloadedError"
    assert attrs(failed)["gen_ai.provider.name"] == "anthropic"
    assert [e.name for e in failed.events] == ["exception"]
    assert answered.status.status_code == StatusCode.UNSET and attrs(answered)["gen_ai.request.model"] == "gpt-4o-mini"


def test_a_tool_that_raises_is_an_error_span(exporter: InMemorySpanExporter) -> None:
    said = Answer(calls=(PARIS,), finish="tool_calls", usage=Counts(85, 16))

    def broken(city: str, district: str | None = None) -> Any:
        raise TimeoutError("station timed out")

    Run(CHAT, Server(reply(CHAT, said, "body"), reply(CHAT, FINAL, "body")), "body")(
        tools=[with_callable(WEATHER, broken)], max_steps=2)
    tool = next(s for s in spans(exporter) if s.name == "execute_tool get_weather")
    assert tool.status.status_code == StatusCode.ERROR and attrs(tool)["error.type"] == "TimeoutError"


def test_embeddings_are_spans_too(exporter: InMemorySpanExporter) -> None:
    from tests.test_protocol_table import OpenAIEmbeddings, json_reply

    body = OpenAIEmbeddings().embed_body({"input": ["a"]}, [[0.1, 0.2]])
    reqllm.embed("openai:text-embedding-3-small", "a", api_key="k", http_client=Server(json_reply(body)).client())
    [span] = spans(exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs(span)["gen_ai.operation.name"] == "embeddings" and attrs(span)["gen_ai.usage.input_tokens"] == 3


def test_uninstrumenting_stops_the_spans(exporter: InMemorySpanExporter) -> None:
    assert reqllm.telemetry.active()


def test_reqllm_imports_and_runs_without_opentelemetry() -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["opentelemetry"] = None  # as if it were not installed
        import httpx, reqllm
        body = {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Bonjour"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
        client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
        assert reqllm.generate_text("openai:gpt-4o-mini", "hi", api_key="k", http_client=client).text == "Bonjour"
        try:
            reqllm.telemetry.instrument_opentelemetry()
        except reqllm.errors.ConfigurationError as exc:
            print(exc)
        assert "opentelemetry" not in [m for m in sys.modules if sys.modules[m] is not None]
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'reqllm[otel]'" in out.stdout
