"""One incremental Server-Sent Events decoder for every protocol: bytes in, events out, no I/O.

Follows the WHATWG event-stream rules: ``\\r\\n``, ``\\r`` and ``\\n`` line endings (also when a
read splits a ``\\r\\n`` pair or a multi-byte character), ``:`` comments, multi-line ``data``,
``event``/``id``/``retry`` fields. A line longer than ``max_line_bytes`` is an error, so a
hostile stream cannot grow memory without bound.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
from typing import Any

from .errors import ResponseDecodeError

__all__ = ["SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_LINE = 16 * 1024 * 1024


@dataclasses.dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event: ``event`` defaults to "message"; ``data`` lines joined with \\n."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """``data`` parsed as JSON; a typed ResponseDecodeError when it is not JSON."""
        try:
            return json.loads(self.data)
        except ValueError as exc:
            raise ResponseDecodeError(
                f"SSE event {self.event!r} carries data that is not JSON: {exc}", field="data", raw=self.data
            ) from None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events each read completed."""

    __slots__ = ("_buffer", "_data", "_decoder", "_event", "_id", "_max_line", "_pending_cr", "_retry")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False
        self._max_line = max_line_bytes
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one read; returns the events it completed (possibly none)."""
        return self.feed_text(self._decoder.decode(chunk))

    def feed_text(self, text: str) -> list[ServerSentEvent]:
        """Like ``feed`` for already-decoded text."""
        if not text:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        buffer = self._buffer + text if self._buffer else text
        if "\r" in buffer:
            self._pending_cr = buffer[-1] == "\r"
            buffer = buffer.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in buffer:
            self._check_length(buffer)
            self._buffer = buffer
            return []
        lines = buffer.split("\n")
        self._buffer = lines.pop()
        self._check_length(self._buffer)
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: the last line and a last event not followed by a blank line are kept."""
        events = self.feed_text(self._decoder.decode(b"", final=True))
        if self._buffer:
            event = self._line(self._buffer)
            self._buffer = ""
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _check_length(self, buffer: str) -> None:
        if len(buffer) > self._max_line:
            raise ResponseDecodeError(
                f"SSE line longer than {self._max_line} characters without a line break", field="line"
            )

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = ServerSentEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
            self._data = []
            self._event = ""
            return event
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
