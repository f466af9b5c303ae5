"""One incremental Server-Sent Events decoder for every protocol: bytes in, events out, no I/O.

Follows the WHATWG event-stream rules: ``\\r\\n``, ``\\r`` and ``\\n`` line endings (also when a
read splits a ``\\r\\n`` pair or a multi-byte character), ``:`` comments, multi-line ``data``,
``event``/``id``/``retry`` fields, a byte order mark opening the stream. A line longer than
``max_line_bytes`` (counted in decoded characters) is a ResponseDecodeError, so a hostile stream
cannot grow memory without bound; any other bytes decode (invalid UTF-8 becomes U+FFFD).
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
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser goes
            raise ResponseDecodeError(
                f"SSE event {self.event!r} carries data that is not JSON: {exc}", field="data", raw=self.data
            ) from None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events each read completed."""

    __slots__ = ("_data", "_data_len", "_decoder", "_event", "_id", "_max_line", "_pending", "_pending_cr",
                 "_pending_len", "_retry")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE) -> None:
        # utf-8-sig: a byte order mark opening the stream is dropped, as the standard says.
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        #: Pieces of the line being received (no line break yet), and their total length.
        self._pending: list[str] = []
        self._pending_len = 0
        self._pending_cr = False
        self._max_line = max_line_bytes
        self._data: list[str] = []
        #: Characters of data the event being received holds: bounded like a line.
        self._data_len = 0
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one read; returns the events it completed (possibly none)."""
        return self.feed_text(self._decoder.decode(chunk))

    def feed_text(self, text: str) -> list[ServerSentEvent]:
        """Like ``feed`` for already-decoded text."""
        if self._pending_cr and text:
            # The previous read ended with \r: a \n opening this one completes that line break.
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return []
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            # Only the new text is scanned, so a long line arriving in many reads costs O(length).
            self._pending.append(text)
            self._pending_len += len(text)
            self._check_length(self._pending_len)
            return []
        lines = text.split("\n")
        if self._pending:
            lines[0] = "".join(self._pending) + lines[0]
            self._pending.clear()
        tail = lines.pop()
        self._pending_len = len(tail)
        if tail:
            self._pending.append(tail)
        events: list[ServerSentEvent] = []
        for line in lines:
            self._check_length(len(line))
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._check_length(self._pending_len)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: the last line and a last event not followed by a blank line are kept."""
        events = self.feed_text(self._decoder.decode(b"", final=True))
        self._pending_cr = False
        if self._pending:
            line = "".join(self._pending)
            self._pending.clear()
            self._pending_len = 0
            event = self._line(line)
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _check_length(self, length: int) -> None:
        if length > self._max_line:
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
            self._data_len = 0
            self._event = ""
            return event
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data_len += len(value) + 1
            if self._data_len > self._max_line:
                raise ResponseDecodeError(f"SSE event longer than {self._max_line} characters of data",
                                          field="event")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None
