"""One incremental AWS event-stream decoder (``application/vnd.amazon.eventstream``): bytes in, messages out.

The same shape as ``_sse.py``: pure, no I/O, correct under any split of the body into reads. A
message on the wire is::

    prelude   total length (uint32 BE) | headers length (uint32 BE) | prelude CRC32 (of the 8 bytes)
    headers   name length (uint8) | name (UTF-8) | type (uint8) | value ... repeated
    payload   total - headers - 16 bytes
    trailer   message CRC32 (of every byte before it)

Header value types: 0 true, 1 false, 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes (uint16 length),
7 string (uint16 length), 8 timestamp (int64 ms since the epoch), 9 UUID (16 bytes). A frame whose
lengths are impossible or whose CRCs do not match is an ``EventStreamError`` (a ResponseDecodeError)
naming the frame's offset; so is a body that ends inside a frame.

Each message becomes an ``EventStreamMessage``, a ``ServerSentEvent`` whose ``event`` is the
``:event-type`` (or ``:exception-type`` / ``:error-code``) header and whose ``data`` is the payload,
so a protocol plugin reads either kind of stream through one ``parse_event``.
"""

from __future__ import annotations

import dataclasses
import datetime
import struct
import uuid
import zlib
from collections.abc import Mapping

from ._sse import ServerSentEvent
from .errors import ResponseDecodeError

__all__ = ["EventStreamDecoder", "EventStreamError", "EventStreamMessage", "HeaderValue", "encode_message"]

#: Prelude (12 bytes) plus the message CRC (4 bytes).
_OVERHEAD = 16
_PRELUDE = struct.Struct(">III")
#: The limits AWS documents (and botocore enforces): 24 MiB of payload, 128 KiB of headers.
MAX_PAYLOAD = 24 * 1024 * 1024
MAX_HEADERS = 128 * 1024

HeaderValue = bool | int | bytes | str | datetime.datetime | uuid.UUID
_INTS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q")}
_U16 = struct.Struct(">H")
_I64 = struct.Struct(">q")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
#: Decoded header blocks by their bytes: a stream repeats a handful of them (one per event type).
_HEADER_CACHE: dict[bytes, dict[str, HeaderValue]] = {}
_HEADER_CACHE_SIZE = 256


class EventStreamError(ResponseDecodeError):
    """A malformed event-stream frame: impossible lengths, a CRC mismatch, a bad header, a cut body."""


@dataclasses.dataclass(slots=True)
class EventStreamMessage(ServerSentEvent):
    """One decoded message: its typed headers and raw payload (``data`` is the payload as text)."""

    headers: dict[str, HeaderValue] = dataclasses.field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str:
        """``:message-type``: "event", "exception" or "error"."""
        value = self.headers.get(":message-type", "event")
        return value if isinstance(value, str) else "event"


class EventStreamDecoder:
    """Feed it bytes as they arrive; it returns the messages each read completed."""

    __slots__ = ("_buffer", "_max_headers", "_max_payload", "_offset")

    def __init__(self, max_payload: int = MAX_PAYLOAD, max_headers: int = MAX_HEADERS) -> None:
        self._buffer = bytearray()
        #: Stream offset of the first byte in the buffer (for error messages).
        self._offset = 0
        self._max_payload = max_payload
        self._max_headers = max_headers

    def feed(self, chunk: bytes) -> list[EventStreamMessage]:
        """Decode one read; returns the messages it completed (possibly none)."""
        buffer = self._buffer
        buffer += chunk
        messages: list[EventStreamMessage] = []
        start = 0
        size = len(buffer)
        while size - start >= 12:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer, start)
            self._check_prelude(buffer, start, total, headers_length, prelude_crc)
            if size - start < total:
                break
            end = start + total
            frame = memoryview(buffer)[start:end]
            try:
                expected = int.from_bytes(frame[total - 4:], "big")
                actual = zlib.crc32(frame[:total - 4])
                if actual != expected:
                    raise self._error(start, f"message CRC mismatch (computed {actual:#010x}, "
                                             f"frame says {expected:#010x})")
                raw_headers = bytes(frame[12:12 + headers_length])
                cached = _HEADER_CACHE.get(raw_headers)
                if cached is None:
                    cached = _decode_headers(memoryview(raw_headers), self._offset + start)
                    if len(_HEADER_CACHE) < _HEADER_CACHE_SIZE:
                        _HEADER_CACHE[raw_headers] = cached
                headers = dict(cached)
                payload = bytes(frame[12 + headers_length:total - 4])
            finally:
                frame.release()
            messages.append(_message(headers, payload))
            start = end
        if start:
            del buffer[:start]
            self._offset += start
        return messages

    def close(self) -> list[EventStreamMessage]:
        """End of body: an EventStreamError if it stopped inside a frame."""
        if self._buffer:
            raise self._error(0, f"the stream ended inside a frame ({len(self._buffer)} bytes of it received)")
        return []

    def _check_prelude(self, buffer: bytearray, start: int, total: int, headers_length: int, crc: int) -> None:
        actual = zlib.crc32(memoryview(buffer)[start:start + 8])
        if actual != crc:
            raise self._error(start, f"prelude CRC mismatch (computed {actual:#010x}, frame says {crc:#010x})")
        if headers_length > self._max_headers:
            raise self._error(start, f"headers of {headers_length} bytes exceed the {self._max_headers}-byte limit")
        payload = total - headers_length - _OVERHEAD
        if payload < 0:
            raise self._error(start, f"total length {total} is shorter than its headers ({headers_length} bytes) "
                                     f"and the 16 bytes of prelude and CRC")
        if payload > self._max_payload:
            raise self._error(start, f"payload of {payload} bytes exceeds the {self._max_payload}-byte limit")

    def _error(self, start: int, detail: str) -> EventStreamError:
        offset = self._offset + start
        return EventStreamError(f"malformed event-stream frame at byte {offset}: {detail}",
                                field=f"eventstream[{offset}]")


def _decode_headers(data: memoryview, offset: int) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    position = 0
    end = len(data)
    try:
        while position < end:
            name_length = data[position]
            position += 1
            name = bytes(data[position:position + name_length]).decode("utf-8")
            position += name_length
            kind = data[position]
            position += 1
            value: HeaderValue
            if kind == 0 or kind == 1:
                value = kind == 0
            elif kind in _INTS:
                fmt = _INTS[kind]
                (value,) = fmt.unpack_from(data, position)
                position += fmt.size
            elif kind == 6 or kind == 7:
                (length,) = _U16.unpack_from(data, position)
                position += 2
                raw = bytes(data[position:position + length])
                if len(raw) != length:
                    raise ValueError(f"header {name!r} runs past the headers")
                position += length
                value = raw if kind == 6 else raw.decode("utf-8")
            elif kind == 8:
                (millis,) = _I64.unpack_from(data, position)
                position += 8
                value = _EPOCH + datetime.timedelta(milliseconds=millis)
            elif kind == 9:
                raw = bytes(data[position:position + 16])
                if len(raw) != 16:
                    raise ValueError(f"header {name!r} runs past the headers")
                position += 16
                value = uuid.UUID(bytes=raw)
            else:
                raise ValueError(f"header {name!r} has unknown value type {kind}")
            if position > end:
                raise ValueError(f"header {name!r} runs past the headers")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise EventStreamError(f"malformed event-stream frame at byte {offset}: bad headers: {exc}",
                               field=f"eventstream[{offset}].headers") from None
    return headers


def _message(headers: dict[str, HeaderValue], payload: bytes) -> EventStreamMessage:
    kind = headers.get(":message-type", "event")
    name_header = {"exception": ":exception-type", "error": ":error-code"}.get(kind if isinstance(kind, str) else "",
                                                                                ":event-type")
    name = headers.get(name_header)
    data = payload.decode("utf-8", "replace")
    if kind == "error" and not payload:
        message = headers.get(":error-message")
        data = message if isinstance(message, str) else ""
    return EventStreamMessage(data=data, event=name if isinstance(name, str) else "message", headers=headers,
                              payload=payload)


# -- encoding (the inverse, for tests and scripted replies) ------------------------------------
def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("utf-8")
    head = bytes([len(raw_name)]) + raw_name
    if isinstance(value, bool):
        return head + bytes([0 if value else 1])
    if isinstance(value, int):
        return head + bytes([4]) + _INTS[4].pack(value)
    if isinstance(value, bytes):
        return head + bytes([6]) + _U16.pack(len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return head + bytes([7]) + _U16.pack(len(raw)) + raw
    if isinstance(value, datetime.datetime):
        millis = (value - _EPOCH) // datetime.timedelta(milliseconds=1)
        return head + bytes([8]) + _I64.pack(millis)
    return head + bytes([9]) + value.bytes


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """The exact bytes of one message (ints are sent as int32): the inverse of the decoder."""
    raw_headers = b"".join(_encode_header(k, v) for k, v in headers.items())
    total = len(raw_headers) + len(payload) + _OVERHEAD
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))
