"""Telemetry: subscribe a handler to see every request reqllm makes.

Events (``TelemetryEvent.name``):

- ``request.start``  a call begins (after validation, before the first attempt)
- ``request.retry``  an attempt failed and will be retried (``attempt``, ``error``, ``delay``)
- ``request.stop``   a call succeeded (``duration``, ``usage``; for streams when fully consumed)
- ``request.error``  a call failed for good (``duration``, ``error``)
- ``stream.first_chunk``  a stream's first chunk arrived (``duration`` = time to first chunk)
- ``request.fallback``  a model failed for good and the next one of ``model=[...]`` is tried
  (``error``; ``fallback_model`` names the next)
- ``loop.start`` / ``loop.stop`` / ``loop.error``  a tool loop (``max_steps`` > 1) as a whole
- ``tool.start`` / ``tool.stop`` / ``tool.error``  one tool execution (``tool``, ``tool_call_id``)

Events of one call share an ``id``; ``parent_id`` is the id of the loop a request or tool
execution belongs to, and ``step`` its 1-based step. ``instrument_opentelemetry`` turns these events
into OpenTelemetry spans (``pip install 'reqllm[otel]'``).

Handlers run synchronously in the caller's thread; an exception in a handler is not swallowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["EVENTS", "TelemetryEvent", "emit", "instrument_opentelemetry", "subscribe"]

EVENTS = ("request.start", "request.retry", "request.stop", "request.error", "stream.first_chunk",
          "request.fallback", "loop.start", "loop.stop", "loop.error", "tool.start", "tool.stop", "tool.error")


@dataclasses.dataclass(slots=True, frozen=True)
class TelemetryEvent:
    """One telemetry event about one call."""

    name: str
    provider: str
    model: str
    operation: str
    stream: bool
    attempt: int = 1
    duration: float | None = None
    usage: Any = None
    error: BaseException | None = None
    delay: float | None = None
    id: int | None = None
    parent_id: int | None = None
    step: int | None = None
    tool: str | None = None
    tool_call_id: str | None = None
    finish_reason: str | None = None
    response_id: str | None = None
    fallback_model: str | None = None
    #: The messages sent (request.start), the answer (request.stop) or a tool's arguments and result:
    #: references, not copies; a handler that keeps them must not change them.
    input: Any = None
    output: Any = None


_handlers: list[Callable[[TelemetryEvent], None]] = []


def subscribe(handler: Callable[[TelemetryEvent], None]) -> Callable[[], None]:
    """Call ``handler`` for every event; returns a function that unsubscribes it."""
    _handlers.append(handler)

    def unsubscribe() -> None:
        if handler in _handlers:
            _handlers.remove(handler)

    return unsubscribe


def active() -> bool:
    """True when anyone listens (lets the hot path skip building events)."""
    return bool(_handlers)


def emit(event: TelemetryEvent) -> None:
    """Deliver ``event`` to every handler."""
    for handler in tuple(_handlers):
        handler(event)


def instrument_opentelemetry(tracer_provider: Any = None, *, capture_content: bool = False) -> Callable[[], None]:
    """Report every call as OpenTelemetry spans (GenAI semantic conventions); returns an uninstall function.

    ``tracer_provider`` defaults to the global one; message content is recorded only with
    ``capture_content=True``. Needs ``opentelemetry-api`` (``pip install 'reqllm[otel]'``).
    """
    try:
        from ._otel import SpanBridge
    except ImportError as exc:
        from .errors import ConfigurationError

        raise ConfigurationError(f"instrument_opentelemetry needs opentelemetry-api ({exc}): "
                                 "pip install 'reqllm[otel]'") from None
    return subscribe(SpanBridge(tracer_provider, capture_content=capture_content))
