"""The protocol plugin contract: build an ``httpx.Request``, decode a body or one SSE event. No I/O.

A plugin never sends, retries, sleeps or reads the environment: the core does. That is what lets
one plugin serve sync and async calls, live traffic and replayed fixtures alike.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

import httpx

from .._options import Options
from .._sse import ServerSentEvent
from .._types import Message, StreamChunk
from ..errors import APIError, InvalidOptionError, ResponseDecodeError, error_class
from ..registry import Model, Provider

__all__ = [
    "MALFORMED",
    "OBJECT_TOOL_NAME",
    "Call",
    "Decoded",
    "DecodedEmbeddings",
    "ErrorInfo",
    "ErrorKind",
    "Operation",
    "Protocol",
    "StreamState",
    "parse_arguments",
    "reasoning_effort",
    "require",
]

Operation = Literal["chat", "object", "embed"]
ErrorKind = Literal["auth", "invalid_request", "rate_limit", "unavailable", "overloaded", "other"]

#: What a plugin raises on malformed provider input; the core turns these into ResponseDecodeError.
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError, ArithmeticError)

#: Name of the tool a protocol forces when it produces an object through a tool call.
OBJECT_TOOL_NAME = "structured_output"


@dataclasses.dataclass(slots=True)
class Call:
    """Everything a plugin needs to build one request, resolved and validated by the core."""

    operation: Operation
    model: Model
    provider: Provider
    options: Options
    base_url: str
    api_key: str | None = dataclasses.field(repr=False)
    messages: list[Message] = dataclasses.field(default_factory=list)
    stream: bool = False
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    input: list[str] = dataclasses.field(default_factory=list)

    @property
    def quirks(self) -> dict[str, Any]:
        """The provider's protocol switches (see the plugin's ``QUIRKS``)."""
        return self.provider.quirks


@dataclasses.dataclass(slots=True)
class ErrorInfo:
    """What a plugin reads from an error body: the provider's message and what kind it is."""

    message: str
    kind: ErrorKind | None = None
    code: str | None = None
    retry_after: float | None = None


@dataclasses.dataclass(slots=True)
class Decoded:
    """A decoded non-stream answer; the core adds cost and normalizes it into a Response.

    ``usage`` holds counts under Usage's field names (see ``reqllm._usage`` for their meaning).
    """

    message: Message
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    id: str | None = None


@dataclasses.dataclass(slots=True)
class DecodedEmbeddings:
    """Decoded embeddings of one batch, in input order."""

    embeddings: list[list[float]]
    usage: dict[str, int] | None = None


class StreamState:
    """Per-stream decoding state; plugins subclass it. ``done`` is set by the terminal event."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.done = False


class Protocol:
    """Base of every wire protocol plugin."""

    id: ClassVar[str]
    #: How the key is sent when the provider does not say otherwise.
    auth: ClassVar[str] = "bearer"
    default_base_url: ClassVar[str | None] = None
    operations: ClassVar[frozenset[str]] = frozenset({"chat", "object"})
    #: How many inputs one embeddings request may carry.
    embed_batch_size: ClassVar[int] = 2048
    #: Provider quirks this plugin understands: name -> what it switches on.
    QUIRKS: ClassVar[Mapping[str, str]] = {}
    #: How a stream's body is framed: "sse" (Server-Sent Events) or "eventstream" (AWS event stream).
    stream_format: ClassVar[str] = "sse"

    # -- requests ----------------------------------------------------------------------------
    def build_request(self, call: Call) -> httpx.Request:
        """The request for ``call`` (chat, object or one embed batch)."""
        raise NotImplementedError

    # -- responses ---------------------------------------------------------------------------
    def parse_response(self, call: Call, body: Any) -> Decoded | DecodedEmbeddings:
        """Decode a successful non-stream JSON body."""
        raise NotImplementedError

    def new_stream(self, call: Call) -> StreamState:
        """Fresh state for one stream."""
        return StreamState(call)

    def parse_event(self, state: StreamState, event: ServerSentEvent) -> list[StreamChunk]:
        """Decode one SSE event into chunks; raise an APIError subclass for an error event."""
        raise NotImplementedError

    def end_stream(self, state: StreamState) -> list[StreamChunk]:
        """The body ended: emit what is pending; the core raises StreamTruncatedError if not ``done``."""
        return []

    def parse_error(self, status: int | None, body: Any) -> ErrorInfo:
        """Read the provider's own message (and kind, code, retry delay) from an error body."""
        if isinstance(body, Mapping):
            err = body.get("error", body)
            if isinstance(err, Mapping):
                return ErrorInfo(message=str(err.get("message") or err), code=_str(err.get("code") or err.get("type")))
            return ErrorInfo(message=str(err))
        return ErrorInfo(message=str(body)[:500] if body else f"HTTP {status}")

    def parse_error_response(self, status: int, headers: httpx.Headers, body: Any) -> ErrorInfo:
        """Like ``parse_error``, for protocols that also read the error response's headers."""
        return self.parse_error(status, body)

    def stream_error(self, call: Call, payload: Mapping[str, Any]) -> APIError:
        """The typed error for an in-stream error payload (read with ``parse_error``)."""
        info = self.parse_error(None, payload)
        return error_class(info.kind, None)(info.message, provider=call.provider.id, model=call.model.spec,
                                            body=payload, code=info.code, retry_after=info.retry_after)

    # -- helpers shared by plugins -----------------------------------------------------------
    def headers(self, call: Call, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Auth, content type and user headers for ``call``."""
        headers = {"content-type": "application/json", "accept": "application/json"}
        if call.stream:
            headers["accept"] = "text/event-stream"
        scheme = call.provider.auth or self.auth
        if call.api_key and scheme != "none":
            if scheme == "bearer":
                headers["authorization"] = f"Bearer {call.api_key}"
            else:
                headers[scheme] = call.api_key
        if extra:
            headers.update(extra)
        headers.update(call.provider.headers)
        if call.options.headers:
            headers.update(call.options.headers)
        return headers

    def post(self, call: Call, path: str, body: dict[str, Any], extra_headers: Mapping[str, str] | None = None,
             params: Mapping[str, str] | None = None) -> httpx.Request:
        """A JSON POST to ``base_url + path`` with ``provider_options`` merged into the body."""
        if call.options.provider_options:
            body = _deep_merge(body, call.options.provider_options)
        base, _, query = call.base_url.partition("?")
        url = base.rstrip("/") + path
        if query:  # a base URL may carry parameters every request needs (Azure's api-version)
            params = {**dict(parse_qsl(query, keep_blank_values=True)), **(params or {})}
        try:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise InvalidOptionError(f"the request holds text that is not valid Unicode ({exc.reason} at "
                                     f"{exc.object[max(exc.start - 20, 0):exc.end + 20]!r})") from None
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError(f"the request holds a value that is not JSON: {exc}") from None
        target = url if "@" in url else _parsed(url)
        return httpx.Request("POST", target, params=params, headers=self.headers(call, extra_headers),
                             content=content)


@functools.lru_cache(maxsize=256)
def _parsed(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per process (the parse was ~12% of a mocked call); httpx URLs are
    immutable. Not used for a URL with userinfo, which may hold a password (the query is not part of it)."""
    return httpx.URL(url)


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def require(data: Any, key: str, kind: type | tuple[type, ...], *, where: str, provider: str | None = None) -> Any:
    """``data[key]`` checked to be of ``kind``; a ResponseDecodeError naming ``where.key`` otherwise."""
    if not isinstance(data, Mapping):
        raise ResponseDecodeError(f"expected an object at {where}, got {type(data).__name__}",
                                  provider=provider, field=where, raw=data)
    value = data.get(key)
    if not isinstance(value, kind):
        raise ResponseDecodeError(
            f"expected {getattr(kind, '__name__', kind)} at {where}.{key}, got {type(value).__name__}",
            provider=provider, field=f"{where}.{key}", raw=data)
    return value


def parse_arguments(raw: str, *, name: str, provider: str, truncated: bool = False) -> dict[str, Any]:
    """A tool call's JSON arguments as a dict; a typed error naming the tool when they are not JSON."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        if truncated:
            return {}
        raise ResponseDecodeError(f"arguments of tool call {name!r} are not valid JSON: {exc}",
                                  provider=provider, field=f"tool_calls[{name}].arguments", raw=raw) from None
    if not isinstance(value, dict):
        raise ResponseDecodeError(f"arguments of tool call {name!r} are not a JSON object",
                                  provider=provider, field=f"tool_calls[{name}].arguments", raw=raw)
    return value


def reasoning_effort(call: Call) -> str | None:
    """The call's reasoning effort; a token budget maps to low (<= 2048), medium (<= 8192) or high."""
    options = call.options
    if options.reasoning_effort is not None:
        return options.reasoning_effort
    budget = options.reasoning_budget
    if budget is None:
        return None
    if budget == 0:
        return "none"
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"
