"""Usage limits of one call: the usage so far, checked before each request and after each response.

Input tokens are estimated before a request (``estimate_input_tokens``) as one token per four
characters of the text, tool-call arguments and tool definitions sent, plus four per message:
OpenAI's rule of thumb for English, without loading a tokenizer. It errs either way by up to a third
(more for code and for languages other than English); the counts a provider reports replace the
estimate as soon as a response arrives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ._types import Message, Tool, Usage, UsageLimit
from .errors import UsageLimitExceeded
from .providers.base import Call

__all__ = ["Budget", "add_usage", "estimate_input_tokens"]


def estimate_input_tokens(messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> int:
    """Input tokens of a request, estimated: ceil(characters / 4) plus 4 per message (see the module doc)."""
    chars = 0
    for message in messages:
        for part in message.content:
            chars += len(getattr(part, "text", "") or "")
        for call in message.tool_calls:
            chars += len(call.name) + len(json.dumps(call.arguments))
    for tool in tools or ():
        chars += len(tool.name) + len(tool.description) + len(json.dumps(tool.parameters))
    return -(-chars // 4) + 4 * len(messages)


def add_usage(a: Usage, b: Usage) -> Usage:
    """The sum of two usages; the cost is known only when both are."""
    cost = None if a.cost is None or b.cost is None else round(a.cost + b.cost, 10)
    return Usage(input_tokens=a.input_tokens + b.input_tokens, output_tokens=a.output_tokens + b.output_tokens,
                 total_tokens=a.total_tokens + b.total_tokens, reasoning_tokens=a.reasoning_tokens + b.reasoning_tokens,
                 cached_tokens=a.cached_tokens + b.cached_tokens,
                 cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens, cost=cost)


class Budget:
    """The requests sent and usage summed so far by one call, against its ``UsageLimit`` (or none)."""

    __slots__ = ("limit", "requests", "usage")

    def __init__(self, limit: UsageLimit | None) -> None:
        self.limit = limit
        self.usage: Usage | None = None
        self.requests = 0

    def exceeded(self, field: str, message: str, response: object = None) -> UsageLimitExceeded:
        """The error for ceiling ``field``, carrying the usage so far and ``response`` (None before a request)."""
        return UsageLimitExceeded(message, field=field, limit=self.limit, usage=self.usage or Usage(),
                                  response=response)

    def before(self, call: Call) -> None:
        """Count the request ``call`` is about to send; raise UsageLimitExceeded when it would pass the limit."""
        limit = self.limit
        if limit is not None:
            self._check(limit, call)
        self.requests += 1

    def _check(self, limit: UsageLimit, call: Call) -> None:
        used = self.usage or Usage()
        where = f"before request {self.requests + 1} (model {call.model.spec})"
        if limit.requests is not None and self.requests + 1 > limit.requests:
            raise self.exceeded("requests", f"usage limit requests={limit.requests} reached {where}")
        if limit.output_tokens is not None and used.output_tokens >= limit.output_tokens:
            raise self.exceeded("output_tokens", f"usage limit output_tokens={limit.output_tokens} reached "
                                f"({used.output_tokens} used) {where}")
        if limit.cost is not None and (used.cost or 0.0) >= limit.cost:
            raise self.exceeded("cost", f"usage limit cost={limit.cost} reached (${used.cost}) {where}")
        if limit.input_tokens is None and limit.total_tokens is None:
            return
        estimate = estimate_input_tokens(call.messages, call.options.tools)
        for field, ceiling, so_far in (("input_tokens", limit.input_tokens, used.input_tokens),
                                       ("total_tokens", limit.total_tokens, used.total_tokens)):
            if ceiling is not None and so_far + estimate > ceiling:
                raise self.exceeded(field, f"usage limit {field}={ceiling} would be passed {where}: {so_far} "
                                    f"used + ~{estimate} estimated input tokens")

    def after(self, usage: Usage, step: int, model: str) -> tuple[str, str] | None:
        """Add the usage of step ``step``'s response (from ``model``); the ceiling it passed and why, or None
        within the limit."""
        self.usage = usage if self.usage is None else add_usage(self.usage, usage)
        if self.limit is None:
            return None
        for field in ("input_tokens", "output_tokens", "total_tokens", "cost"):
            ceiling = getattr(self.limit, field)
            value = getattr(self.usage, field)
            if ceiling is not None and value is not None and value > ceiling:
                return field, f"usage limit {field}={ceiling} passed by step {step} (model {model}): {value} used"
        return None
