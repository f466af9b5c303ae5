"""Fallbacks: the models of ``model=[...]`` tried in order for each request of a call.

The next model is tried after an error that retrying did not cure (``FALLBACK_ERRORS``: rate
limited, overloaded, unavailable, timeout, connection), never after an input, auth or decoding
error. The errors of the models that failed are kept for the Response (``.fallback_errors``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._attempt import Attempt
from ._http import Exchange
from ._types import Message
from .errors import ProviderUnavailableError as _Unavailable
from .errors import RateLimitError, ReqLLMError, TransportError
from .providers.base import Call

__all__ = ["FALLBACK_ERRORS", "Chain"]

#: Errors after which the next model of ``model=[...]`` is tried: rate limited, overloaded,
#: unavailable (5xx), timeout, connection. Never an input, auth or decoding error.
FALLBACK_ERRORS: tuple[type[ReqLLMError], ...] = (RateLimitError, _Unavailable, TransportError)


class Chain:
    """The prepared exchanges of a call, one per model, and the errors of those that failed."""

    __slots__ = ("_position", "errors", "exchanges")

    def __init__(self, exchanges: list[Exchange]) -> None:
        self.exchanges = exchanges
        self.errors: list[ReqLLMError] = []
        self._position = 0

    @property
    def first(self) -> Exchange:
        """The first model's exchange: what the call is reported as until a step answers."""
        return self.exchanges[0]

    def attempts(self, messages: Sequence[Message] | None, *, before: Callable[[Call], Any],
                 parent_id: int | None, step: int | None) -> Iterator[Attempt]:
        """One attempt per model, in order, with ``messages`` (None: as prepared); ``before`` vets each call."""
        for position, exchange in enumerate(self.exchanges):
            self._position = position
            call = dataclasses.replace(exchange.call, messages=list(messages)) if messages is not None else None
            attempt = Attempt.of(exchange, call, parent_id=parent_id, step=step)
            before(attempt.call)
            yield attempt

    def fall_back(self, attempt: Attempt, error: ReqLLMError) -> bool:
        """Record ``error`` of the attempt just made and say whether the next model should be tried."""
        position = self._position
        if not isinstance(error, FALLBACK_ERRORS) or position >= len(self.exchanges) - 1:
            error.fallback_errors = list(self.errors)
            return False
        self.errors.append(error)
        attempt.event("request.fallback", error=error, fallback_model=self.exchanges[position + 1].call.model.spec)
        return True
