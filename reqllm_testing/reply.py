"""What a script says: a model ``Reply``, the faults a provider can answer with, and ``Embeddings``.

    Reply("Paris")                                          # text; finish reason and usage filled in
    Reply(tool_calls=[("get_weather", {"city": "Paris"})])  # a tool call (id in the provider's format)
    Reply("Once upon a time", cut_after=2)                  # a stream that drops after 2 chunks
    rate_limited(retry_after=1), overloaded(), http_error(404), disconnect()

These are data, independent of any wire protocol: ``reqllm_testing.wire`` encodes them as the
exact bytes a provider speaking a given protocol sends.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from reqllm import ToolCall, Usage
from reqllm._types import FinishReason

__all__ = [
    "Embeddings",
    "Fault",
    "Reply",
    "disconnect",
    "http_error",
    "overloaded",
    "rate_limited",
]

FaultKind = Literal["rate_limited", "overloaded", "http_error", "disconnect"]


class Fault(BaseModel):
    """A failed answer: an HTTP error in the provider's own error format, or a dropped connection.

    Made by ``rate_limited``, ``overloaded``, ``http_error`` and ``disconnect``; usable as a script
    item, or as ``Reply(error=...)`` for the provider's in-stream error event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    status: int | None = None
    message: str | None = None
    retry_after: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Fault:
        if self.kind == "http_error" and (self.status is None or not 400 <= self.status <= 599):
            raise ValueError(f"http_error needs an HTTP error status (400-599), got {self.status!r}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {self.retry_after!r}")
        return self


def rate_limited(retry_after: float | None = None) -> Fault:
    """HTTP 429 in the provider's format; ``retry_after`` seconds go in its retry header(s)."""
    return Fault(kind="rate_limited", status=429, retry_after=retry_after)


def overloaded() -> Fault:
    """The provider is overloaded: Anthropic's 529 ``overloaded_error``, a 503 elsewhere."""
    return Fault(kind="overloaded")


def http_error(status: int, message: str | None = None) -> Fault:
    """Any HTTP error status, with the provider's error type for it and ``message`` (or its usual one)."""
    return Fault(kind="http_error", status=status, message=message)


def disconnect() -> Fault:
    """The server closes the connection without answering (the client sees a protocol error)."""
    return Fault(kind="disconnect")


def _tool_call(value: Any, position: int) -> Any:
    if isinstance(value, tuple | list) and len(value) == 2 and isinstance(value[0], str):
        name, arguments = value
        if not isinstance(arguments, dict):
            raise ValueError(f"tool_calls[{position}]: arguments of {name!r} must be a dict, "
                             f"got {type(arguments).__name__}")
        return ToolCall(id="", name=name, arguments=arguments)
    if isinstance(value, dict) and "id" not in value:
        return ToolCall(id="", **value)
    return value


class Reply(BaseModel):
    """One model answer to serve: text, thinking, tool calls; what is omitted gets a sensible value.

    ``tool_calls`` items are ``reqllm.ToolCall`` or ``(name, arguments)``; an empty id gets one in the
    provider's format. ``finish_reason`` defaults to "tool_calls" when there are calls, else "stop";
    ``usage`` (a Usage or a dict) defaults to counts of the request and the reply.

    Stream faults count network chunks (one SSE event each with natural chunking):
    ``cut_after=k`` drops the connection after k chunks, ``error_after=k`` with ``error=<fault>``
    sends the provider's in-stream error event after k chunks, ``stall_after=k`` sends nothing more
    (the client's read timeout decides).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    cut_after: int | None = Field(default=None, ge=0)
    error_after: int | None = Field(default=None, ge=0)
    error: Fault | None = None
    stall_after: int | None = Field(default=None, ge=0)
    _fingerprint: str | None = PrivateAttr(default=None)

    def __init__(self, text: str | None = None, /, **data: Any) -> None:
        if text is not None:
            data["text"] = text
        super().__init__(**data)

    @property
    def fingerprint(self) -> str:
        """A digest of the reply's content (seeds its generated ids; computed once)."""
        private = self.__pydantic_private__  # read directly: pydantic's attribute path is slow
        value = private.get("_fingerprint") if private is not None else None
        if value is None:
            value = hashlib.blake2b(self.model_dump_json().encode(), digest_size=16).hexdigest()
            self._fingerprint = value
        return value

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _calls(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            value = [value]  # one (name, arguments) pair
        return tuple(_tool_call(v, i) for i, v in enumerate(value))

    @field_validator("usage", mode="before")
    @classmethod
    def _usage(cls, value: Any) -> Any:
        return Usage(**value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _check(self) -> Reply:
        if self.finish_reason == "tool_calls" and not self.tool_calls:
            raise ValueError("finish_reason='tool_calls' needs tool_calls")
        if self.error is not None and self.error.kind == "disconnect":
            raise ValueError("error=disconnect() is not an in-stream error event; use cut_after=k")
        if (self.error is None) != (self.error_after is None):
            raise ValueError("error_after=k and error=<fault> go together")
        faults = [n for n in ("cut_after", "error_after", "stall_after") if getattr(self, n) is not None]
        if len(faults) > 1:
            raise ValueError(f"a reply breaks one way at most, got {', '.join(faults)}")
        return self


class Embeddings(BaseModel):
    """An embeddings answer: one vector per input, in input order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vectors: tuple[tuple[float, ...], ...]
    usage: Usage | None = None
    model: str | None = None

    def __init__(self, vectors: Any = None, /, **data: Any) -> None:
        if vectors is not None:
            data["vectors"] = vectors
        super().__init__(**data)

    @field_validator("usage", mode="before")
    @classmethod
    def _usage(cls, value: Any) -> Any:
        return Usage(**value) if isinstance(value, dict) else value
