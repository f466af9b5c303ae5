"""Pure stream machinery shared by sync and async: bytes -> StreamChunks -> a final Response."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import ValidationError

from ._eventstream import EventStreamDecoder
from ._sse import SSEDecoder
from ._types import FinishReason, Message, Response, StreamChunk, TextPart, ThinkingPart, ToolCall
from ._usage import build_usage
from .errors import ReqLLMError, ResponseDecodeError, StreamTruncatedError
from .providers.base import MALFORMED as _MALFORMED
from .providers.base import Call, Protocol, parse_arguments

__all__ = ["ResponseBuilder", "StreamDecoder", "parse_arguments"]

#: The type each StreamChunk field must have once a plugin made it.
_CHUNK_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("text", str), ("index", int), ("id", (str, type(None))), ("name", (str, type(None))),
    ("arguments", (str, type(None))), ("metadata", (dict, type(None))))
_FINISH_REASONS = frozenset(get_args(FinishReason))


class StreamDecoder:
    """Feeds raw bytes through the stream decoder the protocol names (SSE or AWS event stream) and the plugin.

    ``feed`` returns the chunks a read completed; if an event raised (an in-stream error, a
    malformed event), the chunks before it are returned and the error waits in ``error``.
    """

    __slots__ = ("call", "error", "protocol", "sse", "state")

    def __init__(self, protocol: Protocol, call: Call) -> None:
        self.protocol = protocol
        self.call = call
        self.sse: SSEDecoder | EventStreamDecoder = (
            EventStreamDecoder() if protocol.stream_format == "eventstream" else SSEDecoder())
        self.state = protocol.new_stream(call)
        self.error: ReqLLMError | None = None

    def feed(self, data: bytes) -> list[StreamChunk]:
        """Decode one read."""
        try:
            events = self.sse.feed(data)
        except ReqLLMError as exc:
            self.error = exc
            return []
        return self._events(events)

    def close(self) -> list[StreamChunk]:
        """End of body: the last events, then the plugin's pending chunks; truncation is an error."""
        try:
            events = self.sse.close()
        except ReqLLMError as exc:
            self.error = exc
            return []
        chunks = self._events(events)
        if self.error is not None:
            return chunks
        try:
            chunks.extend(self._checked(self.protocol.end_stream(self.state), "end of stream"))
        except ReqLLMError as exc:
            self.error = exc
            return chunks
        except _MALFORMED as exc:
            self.error = ResponseDecodeError(f"malformed end of stream: {exc!r}",
                                             provider=self.call.provider.id, field="end_stream")
            return chunks
        if not self.state.done:
            self.error = StreamTruncatedError(
                f"the {self.protocol.id} stream from provider {self.call.provider.id!r} "
                f"(model {self.call.model.spec}) ended before its terminal event"
            )
        return chunks

    def _events(self, events: list[Any]) -> list[StreamChunk]:
        chunks: list[StreamChunk] = []
        parse = self.protocol.parse_event
        state = self.state
        for event in events:
            try:
                chunks.extend(self._checked(parse(state, event), f"event:{event.event}"))
            except ReqLLMError as exc:
                self.error = exc
                break
            except _MALFORMED as exc:
                self.error = ResponseDecodeError(
                    f"malformed {event.event!r} event: {exc!r}", provider=self.call.provider.id,
                    field=f"event:{event.event}", raw=event.data)
                break
        return chunks

    def _checked(self, chunks: list[StreamChunk], where: str) -> list[StreamChunk]:
        """The plugin's chunks, once each field holds its type (a wrong value came from the wire)."""
        for chunk in chunks:
            for name, kind in _CHUNK_FIELDS:
                value = getattr(chunk, name)
                if not isinstance(value, kind):
                    raise ResponseDecodeError(
                        f"a {chunk.type} chunk decoded from {where} has {name}={value!r:.80}",
                        provider=self.call.provider.id, field=where, raw=chunk)
        return chunks


class _ToolBuffer:
    __slots__ = ("arguments", "id", "metadata", "name")

    def __init__(self, chunk: StreamChunk) -> None:
        self.id = chunk.id or ""
        self.name = chunk.name or ""
        self.arguments: list[str] = []
        self.metadata: dict[str, Any] = {}


class ResponseBuilder:
    """Folds StreamChunks, in order, into the final Response."""

    __slots__ = ("_current", "_parts", "_tools", "call", "finish_reason", "response_id", "usage")

    def __init__(self, call: Call) -> None:
        self.call = call
        self._parts: list[tuple[str, int, list[str], dict[str, Any]]] = []
        self._current: tuple[str, int, list[str], dict[str, Any]] | None = None
        self._tools: dict[int, _ToolBuffer] = {}
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.response_id: str | None = None

    def add(self, chunk: StreamChunk) -> None:
        """Fold one chunk."""
        kind = chunk.type
        if kind == "content" or kind == "thinking":
            current = self._current
            if current is None or current[0] != kind or current[1] != chunk.index:
                current = (kind, chunk.index, [], {})
                self._parts.append(current)
                self._current = current
            if chunk.text:
                current[2].append(chunk.text)
            if chunk.metadata:
                current[3].update(chunk.metadata)
        elif kind == "tool_call":
            buffer = self._tools.get(chunk.index)
            if buffer is None:
                buffer = self._tools[chunk.index] = _ToolBuffer(chunk)
            else:
                if chunk.id:
                    buffer.id = chunk.id
                if chunk.name:
                    buffer.name = chunk.name
            if chunk.arguments:
                buffer.arguments.append(chunk.arguments)
            if chunk.metadata:
                buffer.metadata.update(chunk.metadata)
        else:
            meta = chunk.metadata
            if meta:
                usage = meta.get("usage")
                if isinstance(usage, dict):
                    self.usage.update(usage)
                if meta.get("finish_reason"):
                    self.finish_reason = meta["finish_reason"]
                if meta.get("id"):
                    self.response_id = meta["id"]

    def build(self) -> Response:
        """The Response the chunks so far describe; a ResponseDecodeError when they cannot make one."""
        try:
            return self._build()
        except _MALFORMED as exc:
            raise ResponseDecodeError(f"the streamed chunks do not make a response: {exc!r}",
                                      provider=self.call.provider.id,
                                      field=_location(exc, "stream")) from None

    def _build(self) -> Response:
        content: list[TextPart | ThinkingPart] = []
        for kind, _, texts, meta in self._parts:
            text = "".join(texts)
            if kind == "content":
                if text or meta:
                    content.append(TextPart(text=text, metadata=meta))
            else:
                rest = {k: v for k, v in meta.items() if k != "signature"}
                content.append(ThinkingPart(text=text, signature=meta.get("signature"), metadata=rest))
        truncated = self.finish_reason == "length"
        provider = self.call.provider.id
        calls = [
            ToolCall(id=b.id, name=b.name, metadata=b.metadata,
                     arguments=parse_arguments("".join(b.arguments), name=b.name, provider=provider,
                                               truncated=truncated))
            for b in self._tools.values()
        ]
        return finish_response(self.call, Message(role="assistant", content=content, tool_calls=calls),
                               self.finish_reason, self.usage, self.response_id, None)


def finish_response(call: Call, message: Message, finish_reason: str | None, usage: dict[str, Any] | None,
                    response_id: str | None, raw: Any) -> Response:
    """The core's last word on every Response: normalized finish reason, usage with cost.

    Values a plugin passed on from the wire unchecked (counts that are not numbers, an id that is
    not a string) make a ResponseDecodeError naming the field.
    """
    reason = finish_reason or "stop"
    if not isinstance(reason, str) or reason not in _FINISH_REASONS:
        reason = "other"
    if message.tool_calls and reason == "stop":
        # Forced tool choice (OpenAI) and Gemini function calls report "stop"; the call is the answer.
        reason = "tool_calls"
    try:
        counts = build_usage(usage, call.model)
    except _MALFORMED as exc:
        raise ResponseDecodeError(f"usage counts are not numbers: {exc!r}", provider=call.provider.id,
                                  field="usage", raw=raw if raw is not None else usage) from None
    try:
        return Response(model=call.model.spec, message=message, finish_reason=reason,
                        usage=counts, id=response_id, raw=raw)
    except ValidationError as exc:
        raise ResponseDecodeError(f"the decoded response is malformed: {exc}", provider=call.provider.id,
                                  field=_location(exc, "body"), raw=raw) from None


def _location(exc: Exception, default: str) -> str:
    """The dotted location of the first pydantic validation error, else ``default``."""
    if isinstance(exc, ValidationError) and exc.errors():
        return ".".join(str(p) for p in exc.errors()[0]["loc"]) or default
    return default
