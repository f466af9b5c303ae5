"""Telemetry: subscribe a handler to see every request reqllm makes.

Events (``TelemetryEvent.name``):

- ``request.start``  a call begins (after validation, before the first attempt)
- ``request.retry``  an attempt failed and will be retried (``attempt``, ``error``, ``delay``)
- ``request.stop``   a call succeeded (``duration``, ``usage``; for streams when fully consumed)
- ``request.error``  a call failed for good (``duration``, ``error``)
- ``stream.first_chunk``  a stream's first chunk arrived (``duration`` = time to first chunk)

Handlers run synchronously in the caller's thread; an exception in a handler is not swallowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["EVENTS", "TelemetryEvent", "emit", "subscribe"]

EVENTS = ("request.start", "request.retry", "request.stop", "request.error", "stream.first_chunk")


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
