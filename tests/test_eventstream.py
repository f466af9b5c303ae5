"""The AWS event-stream decoder: frames built byte by byte from the documented layout, decoded under every
read split, checked against botocore's own parser, and every kind of damage named."""

from __future__ import annotations

import datetime
import json
import struct
import uuid
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer

from reqllm._eventstream import EventStreamDecoder, EventStreamError, EventStreamMessage, encode_message
from reqllm.errors import ResponseDecodeError


def event(kind: str, payload: dict[str, object]) -> bytes:
    """A ConverseStream event as Bedrock frames it."""
    return encode_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps(payload).encode())


def frame_by_hand(headers: bytes, payload: bytes) -> bytes:
    """A frame assembled from the documented layout, without the module's encoder."""
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    message = prelude + headers + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def string_header(name: str, value: str) -> bytes:
    return bytes([len(name)]) + name.encode() + b"\x07" + len(value.encode()).to_bytes(2, "big") + value.encode()


STREAM = b"".join([
    event("messageStart", {"p": "abcdefghijklmn", "role": "assistant"}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo"}, "p": "abcd"}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": " world"}, "p": "abcdefgh"}),
    event("contentBlockStop", {"contentBlockIndex": 0, "p": "ab"}),
    event("messageStop", {"p": "abcdefghijklmnopqr", "stopReason": "end_turn"}),
    event("metadata", {"metrics": {"latencyMs": 412}, "p": "abc",
                       "usage": {"inputTokens": 9, "outputTokens": 3, "totalTokens": 12}}),
])


def test_a_hand_built_frame_decodes_to_its_headers_and_payload() -> None:
    raw = frame_by_hand(string_header(":event-type", "messageStart") + string_header(":message-type", "event"),
                        b'{"role":"assistant"}')
    (message,) = EventStreamDecoder().feed(raw)
    assert message.event == "messageStart"
    assert message.message_type == "event"
    assert message.json() == {"role": "assistant"}
    assert message.payload == b'{"role":"assistant"}'
    assert encode_message(message.headers, message.payload) == raw  # the encoder is the exact inverse


def test_every_split_of_a_converse_stream_gives_the_same_messages() -> None:
    whole = [(m.event, m.data) for m in EventStreamDecoder().feed(STREAM)]
    assert [name for name, _ in whole] == ["messageStart", "contentBlockDelta", "contentBlockDelta",
                                           "contentBlockStop", "messageStop", "metadata"]
    for cut in range(1, len(STREAM)):
        decoder = EventStreamDecoder()
        got = decoder.feed(STREAM[:cut]) + decoder.feed(STREAM[cut:]) + decoder.close()
        assert [(m.event, m.data) for m in got] == whole, f"split at byte {cut}"


def test_byte_by_byte_reads_decode_each_message_once_it_is_complete() -> None:
    decoder = EventStreamDecoder()
    got: list[EventStreamMessage] = []
    completed_at = []
    for position in range(len(STREAM)):
        new = decoder.feed(STREAM[position:position + 1])
        if new:
            completed_at.append(position + 1)
        got.extend(new)
    assert len(got) == 6
    ends, offset = [], 0
    for m in got:
        offset += len(encode_message(m.headers, m.payload))
        ends.append(offset)
    assert completed_at == ends  # a message is returned on the read that completes it, not later


def test_botocore_parses_the_same_frames_the_same_way() -> None:
    oracle = EventStreamBuffer()
    oracle.add_data(STREAM)
    theirs = [(m.headers, m.payload) for m in oracle]
    ours = [(m.headers, m.payload) for m in EventStreamDecoder().feed(STREAM)]
    assert ours == theirs


def test_every_header_type_decodes_like_botocore() -> None:
    when = datetime.datetime(2026, 12, 4, 12, 30, 1, 250000, tzinfo=datetime.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    raw_headers = (
        b"\x01t\x00" + b"\x01f\x01" + b"\x01b\x02\xfe" + b"\x01s\x03" + struct.pack(">h", -300)
        + b"\x01i\x04" + struct.pack(">i", 70000) + b"\x01l\x05" + struct.pack(">q", 2**40)
        + b"\x01a\x06\x00\x03\x00\xff\x10" + string_header("str", "vålue")
        + b"\x02ts\x08" + struct.pack(">q", int(when.timestamp() * 1000)) + b"\x04uuid\x09" + ident.bytes
    )
    raw = frame_by_hand(raw_headers, b"payload")
    (message,) = EventStreamDecoder().feed(raw)
    assert message.headers == {"t": True, "f": False, "b": -2, "s": -300, "i": 70000, "l": 2**40,
                               "a": b"\x00\xff\x10", "str": "vålue", "ts": when, "uuid": ident}
    oracle = EventStreamBuffer()
    oracle.add_data(raw)
    (theirs,) = list(oracle)
    assert theirs.headers["str"] == "vålue" and theirs.headers["l"] == 2**40 and theirs.headers["a"] == b"\x00\xff\x10"


def test_exception_and_error_frames_are_named_by_their_type() -> None:
    exception = encode_message({":exception-type": "throttlingException", ":content-type": "application/json",
                                ":message-type": "exception"}, b'{"message":"Too many tokens, please wait."}')
    error = encode_message({":error-code": "InternalFailure", ":error-message": "boom", ":message-type": "error"})
    first, second = EventStreamDecoder().feed(exception + error)
    assert (first.message_type, first.event, first.json()) == \
        ("exception", "throttlingException", {"message": "Too many tokens, please wait."})
    assert (second.message_type, second.event, second.data) == ("error", "InternalFailure", "boom")


@pytest.mark.parametrize(("where", "match"), [(2, "prelude CRC mismatch"), (9, "prelude CRC mismatch"),
                                              (20, "message CRC mismatch"), (-1, "message CRC mismatch")])
def test_a_flipped_bit_anywhere_is_a_crc_error_naming_the_offset(where: int, match: str) -> None:
    good = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})
    damaged = bytearray(good + good)
    damaged[len(good) + where if where >= 0 else len(damaged) + where] ^= 0x01
    decoder = EventStreamDecoder()
    with pytest.raises(EventStreamError, match=f"at byte {len(good)}: {match}") as info:
        decoder.feed(bytes(damaged))
    assert isinstance(info.value, ResponseDecodeError)
    assert info.value.field == f"eventstream[{len(good)}]"


def test_impossible_lengths_are_refused_before_waiting_for_the_bytes() -> None:
    short = struct.pack(">II", 10, 0)
    with pytest.raises(EventStreamError, match="total length 10 is shorter"):
        EventStreamDecoder().feed(short + zlib.crc32(short).to_bytes(4, "big"))
    huge = struct.pack(">II", 100 * 1024 * 1024, 0)
    with pytest.raises(EventStreamError, match="exceeds the 25165824-byte limit"):
        EventStreamDecoder().feed(huge + zlib.crc32(huge).to_bytes(4, "big"))
    fat = struct.pack(">II", 300 * 1024, 200 * 1024)
    with pytest.raises(EventStreamError, match="headers of 204800 bytes exceed"):
        EventStreamDecoder().feed(fat + zlib.crc32(fat).to_bytes(4, "big"))


def test_bad_headers_inside_a_valid_frame_are_named() -> None:
    with pytest.raises(EventStreamError, match="unknown value type 42"):
        EventStreamDecoder().feed(frame_by_hand(b"\x01x\x2a", b""))
    with pytest.raises(EventStreamError, match="bad headers"):
        EventStreamDecoder().feed(frame_by_hand(b"\x01x\x07\x00\x09abc", b""))


def test_a_body_ending_inside_a_frame_is_an_error_at_close() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(STREAM[:-5]) != []
    with pytest.raises(EventStreamError, match=r"ended inside a frame \(\d+ bytes of it received\)"):
        decoder.close()
    assert EventStreamDecoder().close() == []
