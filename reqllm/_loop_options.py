"""The orchestration options of one call: ``max_steps``, ``tool_errors``, ``usage_limit`` and ``model=[...]``.

They are popped from the call's options and validated before any request, so a wrong value raises
an InvalidOptionError naming the option and what it accepts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ._tool_run import ToolErrors
from ._types import UsageLimit
from .errors import InvalidOptionError
from .providers.base import Operation
from .registry import Model

__all__ = ["Settings", "model_chain", "pop_settings", "priced"]


@dataclasses.dataclass(slots=True, frozen=True)
class Settings:
    """The orchestration options of one call."""

    max_steps: int = 1
    tool_errors: ToolErrors = "return"
    limit: UsageLimit | None = None


_DEFAULT = Settings()
_NAMES = frozenset({"max_steps", "tool_errors", "usage_limit"})


def pop_settings(opts: dict[str, Any], operation: Operation) -> Settings:
    """Pop and validate max_steps, tool_errors and usage_limit from ``opts``."""
    if _NAMES.isdisjoint(opts):
        return _DEFAULT
    max_steps = opts.pop("max_steps", None)
    if max_steps is not None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise InvalidOptionError(f"option max_steps={max_steps!r} must be an integer >= 1")
        if operation != "chat" and max_steps != 1:
            raise InvalidOptionError(f"option max_steps={max_steps} applies to generate_text and stream_text only")
    errors = opts.pop("tool_errors", None)
    if errors is not None and errors not in ("return", "raise"):
        raise InvalidOptionError(f"option tool_errors={errors!r} must be 'return' or 'raise'")
    limit = opts.pop("usage_limit", None)
    if limit is not None:
        if isinstance(limit, Mapping):
            try:
                limit = UsageLimit.model_validate(dict(limit))
            except ValidationError as exc:
                raise InvalidOptionError(f"option usage_limit is not valid: {exc}") from None
        if not isinstance(limit, UsageLimit):
            raise InvalidOptionError(
                f"option usage_limit must be a reqllm.UsageLimit or a dict, not {type(limit).__name__}")
    return Settings(max_steps=max_steps or 1, tool_errors=errors or "return", limit=limit)


def model_chain(model: Any) -> list[str | Model]:
    """The models a call tries in order: ``model=`` itself, or each of a list."""
    if isinstance(model, list | tuple):
        if not model:
            raise InvalidOptionError("model=[] names no model: give a spec, a reqllm.Model or a list of them")
        return list(model)
    return [model]


def priced(model: Model) -> bool:
    """True when the model's input and output prices are known (a cost limit can be kept)."""
    return model.cost is not None and model.cost.input is not None and model.cost.output is not None
