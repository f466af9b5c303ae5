"""stream_object's result: partial objects as the JSON arrives, then the validated ObjectResponse.

Whichever way a protocol produces objects — a response format or responseJsonSchema (the JSON
arrives as text) or a forced tool (it arrives as the tool call's arguments) — the text so far is
parsed as a prefix (``reqllm._partial_json``) and each new partial value is yielded once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._attempt import object_of
from ._partial_json import MISSING, parse_partial
from ._schema import ObjectSchema
from ._streaming import AsyncStreamResponse, StreamResponse
from ._types import ObjectResponse, StreamChunk
from .providers.base import OBJECT_TOOL_NAME

__all__ = ["AsyncObjectStreamResponse", "ObjectStreamResponse"]


class _Partials:
    """Folds chunks into the object's JSON text and says when its parsed value grew."""

    __slots__ = ("_broken", "_last", "_text", "_tool_index", "_tool_text")

    def __init__(self) -> None:
        self._text: list[str] = []
        self._tool_text: list[str] = []
        self._tool_index: int | None = None
        self._last: Any = MISSING
        self._broken = False

    def add(self, chunk: StreamChunk) -> Any:
        """The new partial object after ``chunk``, or MISSING when it did not change."""
        if chunk.type == "content" and chunk.text:
            self._text.append(chunk.text)
        elif chunk.type == "tool_call":
            if chunk.name == OBJECT_TOOL_NAME:
                self._tool_index = chunk.index
            if chunk.index == self._tool_index and chunk.arguments:
                self._tool_text.append(chunk.arguments)
        else:
            return MISSING
        if self._broken:
            return MISSING
        try:
            value = parse_partial("".join(self._tool_text if self._tool_index is not None else self._text))
        except ValueError:  # not JSON (yet): the final validation says what is wrong
            self._broken = True
            return MISSING
        if value is MISSING or value == self._last:
            return MISSING
        self._last = value
        return value


class _ObjectStream:
    """What both object streams keep: the text stream, the target schema and the partials so far."""

    __slots__ = ("_partials", "_started", "_target")
    _stream: StreamResponse | AsyncStreamResponse

    def __init__(self, target: ObjectSchema) -> None:
        self._target = target
        self._partials = _Partials()
        self._started = False

    @property
    def chunks(self) -> list[StreamChunk]:
        """Every chunk that arrived so far."""
        return self._stream.chunks

    @property
    def model(self) -> str:
        """The model spec that answers."""
        return self._stream.model

    def _start(self) -> None:
        if self._started:
            raise RuntimeError(f"an {type(self).__name__} can be iterated only once; use .to_response()")
        self._started = True


class ObjectStreamResponse(_ObjectStream):
    """Iterate once for partial objects (dicts that grow), then ``.to_response()`` for the ObjectResponse."""

    __slots__ = ("_stream",)

    def __init__(self, stream: StreamResponse, target: ObjectSchema) -> None:
        super().__init__(target)
        self._stream: StreamResponse = stream

    def __iter__(self) -> Iterator[Any]:
        self._start()
        for chunk in self._stream:
            value = self._partials.add(chunk)
            if value is not MISSING:
                yield value

    def __enter__(self) -> ObjectStreamResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._stream.close()

    def to_response(self) -> ObjectResponse:
        """Consume what is left; the ObjectResponse validated against the schema."""
        return object_of(self._stream.to_response(), self._target)


class AsyncObjectStreamResponse(_ObjectStream):
    """Async twin of ObjectStreamResponse."""

    __slots__ = ("_stream",)

    def __init__(self, stream: AsyncStreamResponse, target: ObjectSchema) -> None:
        super().__init__(target)
        self._stream: AsyncStreamResponse = stream

    def __aiter__(self) -> AsyncIterator[Any]:
        self._start()
        return self._run()

    async def _run(self) -> AsyncIterator[Any]:
        async for chunk in self._stream:
            value = self._partials.add(chunk)
            if value is not MISSING:
                yield value

    async def __aenter__(self) -> AsyncObjectStreamResponse:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._stream.aclose()

    async def to_response(self) -> ObjectResponse:
        """Consume what is left; the ObjectResponse validated against the schema."""
        return object_of(await self._stream.to_response(), self._target)
