"""Usage normalization and cost: one place, for every protocol.

Convention (OpenAI's): ``input_tokens`` counts every prompt token, cached ones included;
``cached_tokens`` are the cache reads among them and ``cache_write_tokens`` the cache writes;
``output_tokens`` include ``reasoning_tokens``.
"""

from __future__ import annotations

from typing import Any

from ._types import Usage
from .registry import Model

__all__ = ["build_usage", "cost_of"]

_FIELDS = ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cached_tokens",
           "cache_write_tokens")


def build_usage(counts: dict[str, Any] | None, model: Model) -> Usage:
    """A Usage from the counts a plugin decoded, with total and cost filled in.

    No counts at all (the provider reported no usage) leave the cost unknown: None, not 0.
    """
    values = {k: int(counts.get(k) or 0) for k in _FIELDS} if counts else dict.fromkeys(_FIELDS, 0)
    if not values["total_tokens"]:
        values["total_tokens"] = values["input_tokens"] + values["output_tokens"]
    usage = Usage(**values)
    usage.cost = cost_of(usage, model) if counts else None
    return usage


def cost_of(usage: Usage, model: Model) -> float | None:
    """USD cost from the model's catalogue prices; None (not 0) when a needed price is unknown."""
    price = model.cost
    if price is None or price.input is None or price.output is None:
        return None
    if not (usage.input_tokens or usage.output_tokens):
        return 0.0
    cached = usage.cached_tokens
    written = usage.cache_write_tokens
    fresh = max(usage.input_tokens - cached - written, 0)
    total = fresh * price.input
    total += cached * (price.cache_read if price.cache_read is not None else price.input)
    total += written * (price.cache_write if price.cache_write is not None else price.input)
    if price.reasoning is not None and usage.reasoning_tokens:
        reasoning = min(usage.reasoning_tokens, usage.output_tokens)
        total += reasoning * price.reasoning + (usage.output_tokens - reasoning) * price.output
    else:
        total += usage.output_tokens * price.output
    return round(total / 1_000_000, 10)
