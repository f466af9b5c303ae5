"""reqllm's telemetry events as OpenTelemetry spans, after the GenAI semantic conventions.

One span per request (``chat {model}`` / ``embeddings {model}``, kind CLIENT), per tool loop
(``invoke_agent``) and per tool execution (``execute_tool {name}``); requests and tool executions of
a loop are its children. Attributes: ``gen_ai.operation.name``, ``gen_ai.provider.name`` (and the
older ``gen_ai.system``), ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.response.id``,
``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
``error.type``; message content (``gen_ai.input.messages``, ``gen_ai.output.messages``, tool
arguments and results) only with ``capture_content=True``. Imported only by
``reqllm.telemetry.instrument_opentelemetry``: reqllm runs without ``opentelemetry-api``.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ._version import __version__

if TYPE_CHECKING:  # telemetry imports this module lazily; at run time the arrow goes one way only
    from .telemetry import TelemetryEvent

__all__ = ["PROVIDER_NAMES", "SpanBridge"]

#: reqllm provider ids whose well-known ``gen_ai.provider.name`` differs from the id.
PROVIDER_NAMES = {"google": "gcp.gemini", "google-vertex": "gcp.vertex_ai", "amazon-bedrock": "aws.bedrock",
                  "azure": "azure.ai.openai", "mistral": "mistral_ai", "xai": "x_ai"}
_OPERATIONS = {"chat": "chat", "object": "chat", "embed": "embeddings"}


def _json(value: Any) -> str:
    def plain(item: Any) -> Any:
        dump = getattr(item, "model_dump", None)
        return dump(mode="json", exclude_defaults=True) if callable(dump) else str(item)

    return json.dumps(value, default=plain, ensure_ascii=False)


class SpanBridge:
    """A telemetry handler that opens a span on each ``*.start`` event and ends it on stop or error."""

    def __init__(self, tracer_provider: Any = None, *, capture_content: bool = False) -> None:
        self.tracer = trace.get_tracer("reqllm", __version__, tracer_provider=tracer_provider)
        self.capture_content = capture_content
        self._spans: dict[int, Span] = {}
        self._lock = threading.Lock()

    def __call__(self, event: TelemetryEvent) -> None:
        if event.id is None:
            return
        kind, _, what = event.name.partition(".")
        if what == "start":
            self._start(kind, event)
            return
        with self._lock:
            span = self._spans.get(event.id)
        if span is None:
            return
        if what == "retry":
            span.add_event("reqllm.retry", {"reqllm.attempt": event.attempt, "reqllm.delay": event.delay or 0.0,
                                            "error.type": type(event.error).__name__})
        elif what == "first_chunk":
            span.add_event("reqllm.first_chunk", {"reqllm.duration": event.duration or 0.0})
        elif what == "stop":
            self._stop(span, event)
        elif what == "error":
            error = event.error
            name = type(error).__name__ if error is not None else "error"
            span.set_attribute("error.type", name)
            if error is not None:
                span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)[:200] if error is not None else name))
            self._end(event.id)

    # -- spans ------------------------------------------------------------------------------
    def _start(self, kind: str, event: TelemetryEvent) -> None:
        provider = event.provider
        provider_name = PROVIDER_NAMES.get(provider, provider)
        model_id = event.model.partition(":")[2] or event.model
        attributes: dict[str, Any] = {"gen_ai.provider.name": provider_name, "gen_ai.system": provider_name,
                                      "gen_ai.request.model": model_id}
        if kind == "request":
            operation = _OPERATIONS.get(event.operation, event.operation)
            name = f"{operation} {model_id}"
            if self.capture_content and event.input is not None:
                attributes["gen_ai.input.messages"] = _json(event.input)
        elif kind == "loop":
            operation, name = "invoke_agent", "invoke_agent"
            if self.capture_content and event.input is not None:
                attributes["gen_ai.input.messages"] = _json(event.input)
        elif kind == "tool":
            operation, name = "execute_tool", f"execute_tool {event.tool}"
            attributes.update({"gen_ai.tool.name": event.tool or "", "gen_ai.tool.call.id": event.tool_call_id or "",
                               "gen_ai.tool.type": "function"})
            if self.capture_content and event.input is not None:
                attributes["gen_ai.tool.call.arguments"] = _json(event.input)
        else:
            return
        attributes["gen_ai.operation.name"] = operation
        if event.step is not None:
            attributes["reqllm.step"] = event.step
        attributes["reqllm.stream"] = event.stream
        with self._lock:
            parent = self._spans.get(event.parent_id) if event.parent_id is not None else None
        context = trace.set_span_in_context(parent) if parent is not None else None
        span_kind = SpanKind.CLIENT if kind == "request" else SpanKind.INTERNAL
        span = self.tracer.start_span(name, context=context, kind=span_kind, attributes=attributes)
        with self._lock:
            if event.id is not None:
                self._spans[event.id] = span

    def _stop(self, span: Span, event: TelemetryEvent) -> None:
        usage = event.usage
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            if usage.cost is not None:
                span.set_attribute("reqllm.usage.cost", usage.cost)
        if event.name == "request.stop":
            span.set_attribute("gen_ai.response.model", event.model.partition(":")[2] or event.model)
        if event.finish_reason is not None:
            span.set_attribute("gen_ai.response.finish_reasons", [event.finish_reason])
        if event.response_id:
            span.set_attribute("gen_ai.response.id", event.response_id)
        if self.capture_content and event.output is not None:
            key = "gen_ai.tool.call.result" if event.name == "tool.stop" else "gen_ai.output.messages"
            span.set_attribute(key, _json(event.output if key != "gen_ai.output.messages" else [event.output]))
        assert event.id is not None
        self._end(event.id)

    def _end(self, span_id: int) -> None:
        with self._lock:
            span = self._spans.pop(span_id, None)
        if span is not None:
            span.end()
