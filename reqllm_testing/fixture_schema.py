"""The schema of each fixture format version: one validator per version, errors as JSON paths.

``validate(document, version)`` checks a whole parsed document and returns ``None`` or the first
problem as ``(json_path, message)``, e.g. ``("$.interactions[2].response.headers", "Input should
be a valid dictionary (got a list)")``. A new format version adds its own ``TypedDict`` tree and
one entry in ``SCHEMAS``; the loader (``fixture_file.parse``) stays the same.

Validation only checks: the loaded document keeps its plain dicts and lists (replay reads them as
they are). Unknown keys are allowed (a newer writer may add some); known keys must have their type.

The annotations are evaluated when the module runs (no ``from __future__ import annotations``): the
validators are built on first use, from inside a function, and must not depend on finding this module
in ``sys.modules`` then to resolve the names (pytester's in-process runs, for one, drop modules first
imported inside them).
"""

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from pydantic import AfterValidator, ConfigDict, PlainValidator, TypeAdapter, ValidationError
from typing_extensions import TypedDict

__all__ = ["SCHEMAS", "json_path", "validate"]

_STRICT = ConfigDict(strict=True, extra="allow")


def _b64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    return value


def _chunk(value: Any) -> Any:
    """A stored network chunk: its UTF-8 text, or ``{"b64": "<base64 of the bytes>"}``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"a chunk is a string or an object {{\"b64\": ...}}, not a {_kind(value)}")
    if not isinstance(value.get("b64"), str):
        raise ValueError("a chunk object needs its body as a string under 'b64'")
    _b64(value["b64"])
    return value


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(value), type(value).__name__)


B64 = Annotated[str, AfterValidator(_b64)]
Chunk = Annotated[Any, PlainValidator(_chunk)]


# -- format 1 -----------------------------------------------------------------------------------
class ErrorV1(TypedDict):
    """An exception as stored: its class name and message."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    type: str
    message: str


class RequestV1(TypedDict):
    """A recorded request: method, redacted URL, allow-listed headers, parsed body."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    method: str
    url: str
    headers: NotRequired[dict[str, str]]
    body: NotRequired[Any]


class EventV1(TypedDict):
    """One SSE event: name, parsed data (or its text), id."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    event: NotRequired[str]
    data: NotRequired[Any]
    id: NotRequired[str | None]


class ResponseV1(TypedDict):
    """A recorded response: status (None for a transport error), headers, and its body in one form."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    status: NotRequired[int | None]
    headers: NotRequired[dict[str, str]]
    body: NotRequired[Any]
    text: NotRequired[str]
    b64: NotRequired[B64]
    chunks: NotRequired[list[Chunk]]
    events: NotRequired[list[EventV1]]
    timing_ms: NotRequired[list[float]]
    error: NotRequired[ErrorV1 | None]


_R = TypeVar("_R", bound=Mapping[str, Any])


def _status_or_error(response: _R) -> _R:
    """A response of either format needs a status, or an error when the transport failed."""
    if response.get("status") is None and not response.get("error"):
        raise ValueError("a response needs a 'status' (or an 'error' when the transport failed)")
    return response


_OBJECTS = TypeAdapter(list[dict[str, Any]])


def _objects(value: Any) -> Any:
    """A stream's decoded chunks, JSON objects: checked in one loop, item by item only to name a bad one."""
    if type(value) is list and all(type(item) is dict for item in value):
        return value
    return _OBJECTS.validate_python(value, strict=True)  # raises, naming the item (and its JSON path)


Objects = Annotated[Any, PlainValidator(_objects)]


class DecodedV1(TypedDict):
    """What reqllm decoded from the response: its StreamChunks or its Response, and the error."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    chunks: NotRequired[Objects]
    response: NotRequired[dict[str, Any]]
    error: NotRequired[ErrorV1]


class MetaV1(TypedDict):
    """Where an interaction comes from (reqllm call, test) — informative only."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    provider: NotRequired[str | None]
    model: NotRequired[str | None]
    operation: NotRequired[str | None]
    stream: NotRequired[bool | None]
    protocol: NotRequired[str | None]
    test: NotRequired[str | None]
    #: Digest of the response the decoded part was made from (tells an edited response from a parser change).
    decoded_from: NotRequired[str | None]


class InteractionV1(TypedDict):
    """One request and its response, plus the decoded part and meta data."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    request: RequestV1
    response: Annotated[ResponseV1, AfterValidator(_status_or_error)]
    decoded: NotRequired[DecodedV1 | None]
    meta: NotRequired[MetaV1 | None]


class FixtureV1(TypedDict):
    """A format-1 fixture document."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    format_version: Literal[1]
    reqllm_version: NotRequired[str | None]
    recorded_at: NotRequired[str | None]
    source: NotRequired[str | None]
    interactions: list[InteractionV1]


# -- format 2: a stream's network chunks as [offset_ms, chunk] pairs, no parsed-events copy -------
def _pair(value: Any) -> Any:
    """A stored network chunk of format 2: ``[offset_ms, chunk]`` (offset a number, or null when unknown)."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"a chunk is a pair [offset_ms, chunk], not a {_kind(value)} {_short(value)}")
    offset = value[0]
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int | float)):
        raise ValueError(f"a chunk's offset_ms is a number or null, not a {_kind(offset)}")
    _chunk(value[1])
    return value


Pair = Annotated[Any, PlainValidator(_pair)]
_PAIRS: TypeAdapter[list[Any]] = TypeAdapter(list[Pair])
_OFFSETS = (float, int, type(None))


def _pairs(value: Any) -> Any:
    """A stream's chunks: checked in one loop (a stream has hundreds), item by item only to name a bad one."""
    if type(value) is list:
        for pair in value:
            if not (type(pair) is list and len(pair) == 2 and type(pair[0]) in _OFFSETS
                    and (type(pair[1]) is str or _fine(pair))):
                break
        else:
            return value
    return _PAIRS.validate_python(value)  # raises, naming the item (and its JSON path)


def _fine(pair: list[Any]) -> bool:
    try:
        _pair(pair)
    except ValueError:
        return False
    return True


Pairs = Annotated[Any, PlainValidator(_pairs)]


class ResponseV2(TypedDict):
    """A recorded response: status (None for a transport error), headers, and its body in one form."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    status: NotRequired[int | None]
    headers: NotRequired[dict[str, str]]
    body: NotRequired[Any]
    text: NotRequired[str]
    b64: NotRequired[B64]
    chunks: NotRequired[Pairs]
    error: NotRequired[ErrorV1 | None]


class InteractionV2(TypedDict):
    """One request and its response, plus the decoded part and meta data (as in format 1)."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    request: RequestV1
    response: Annotated[ResponseV2, AfterValidator(_status_or_error)]
    decoded: NotRequired[DecodedV1 | None]
    meta: NotRequired[MetaV1 | None]


class FixtureV2(TypedDict):
    """A format-2 fixture document."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    format_version: Literal[2]
    reqllm_version: NotRequired[str | None]
    recorded_at: NotRequired[str | None]
    source: NotRequired[str | None]
    interactions: list[InteractionV2]


#: The document type of each format version.
SCHEMAS: dict[int, Any] = {1: FixtureV1, 2: FixtureV2}


@functools.cache
def _validator(version: int) -> TypeAdapter[Any]:
    """The validator of format ``version``, built on first use (building one costs more than validating a
    hundred files)."""
    return TypeAdapter(SCHEMAS[version])

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a JSON path: ``$.interactions[0].response.headers["x-a"]``."""
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += "[" + repr(part).replace("'", '"') + "]" if "'" not in part else f"[{part!r}]"
    return out


def validate(document: Any, version: int) -> tuple[str, str] | None:
    """The first problem of ``document`` against format ``version``: ``(json_path, message)``; None if valid."""
    try:
        _validator(version).validate_python(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] not in ("value_error", "missing", "literal_error"):
            message += f" (got {_kind(error['input'])} {_short(error['input'])})"
        return json_path(tuple(error["loc"])), message
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
