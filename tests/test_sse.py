"""The SSE decoder: WHATWG event-stream rules, reads split anywhere, bounded memory."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reqllm import ServerSentEvent, SSEDecoder
from reqllm.errors import ResponseDecodeError


def decode(*reads: bytes, max_line_bytes: int | None = None) -> list[ServerSentEvent]:
    decoder = SSEDecoder() if max_line_bytes is None else SSEDecoder(max_line_bytes=max_line_bytes)
    events: list[ServerSentEvent] = []
    for read in reads:
        events += decoder.feed(read)
    return events + decoder.close()


def ev(data: str, event: str = "message", id: str | None = None, retry: int | None = None) -> ServerSentEvent:
    return ServerSentEvent(data=data, event=event, id=id, retry=retry)


CASES = {
    "lf": ([b"data: hello\n\n"], [ev("hello")]),
    "crlf": ([b"data: hello\r\n\r\n"], [ev("hello")]),
    "cr": ([b"data: hello\r\r"], [ev("hello")]),
    "mixed endings": ([b"data: a\r\n\ndata: b\r\rdata: c\n\r\n"], [ev("a"), ev("b"), ev("c")]),
    "comment lines are skipped": ([b": keep-alive\ndata: x\n: another\n\n"], [ev("x")]),
    "a comment alone dispatches nothing": ([b": OPENROUTER PROCESSING\n\n"], []),
    "multi-line data joined with LF": ([b"data: line 1\ndata: line 2\ndata:\n\n"], [ev("line 1\nline 2\n")]),
    "event name": ([b"event: content_block_delta\ndata: {\"type\":\"x\"}\n\n"],
                   [ev('{"type":"x"}', event="content_block_delta")]),
    "event name resets after dispatch": ([b"event: ping\ndata: 1\n\ndata: 2\n\n"],
                                         [ev("1", event="ping"), ev("2")]),
    "event without data is dropped, its name too": ([b"event: ping\n\ndata: x\n\n"], [ev("x")]),
    "id and retry": ([b"id: 42\nretry: 3000\ndata: x\n\n"], [ev("x", id="42", retry=3000)]),
    "id persists across events": ([b"id: 7\ndata: a\n\ndata: b\n\n"], [ev("a", id="7"), ev("b", id="7")]),
    "id with NUL is ignored": ([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"],
                               [ev("a", id="1"), ev("b", id="1")]),
    "retry that is not ASCII digits is ignored": ([b"retry: 1.5\nretry: \xc2\xb2\ndata: a\n\n"], [ev("a")]),
    "no space after the colon": ([b"data:x\n\n"], [ev("x")]),
    "only one leading space is removed": ([b"data:  x \n\n"], [ev(" x ")]),
    "a field name alone has an empty value": ([b"data\n\n"], [ev("")]),
    "colon inside the value is kept": ([b"data: {\"a\": \"b:c\"}\n\n"], [ev('{"a": "b:c"}')]),
    "unknown fields are ignored": ([b"foo: bar\ndata: x\n\n"], [ev("x")]),
    "CRLF pair split across reads": ([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"], [ev("a"), ev("b")]),
    "CR at the end of a read, then a new line": ([b"data: a\r", b"\r"], [ev("a")]),
    "multi-byte UTF-8 split across reads": ([b"data: h\xc3", b"\xa9llo \xf0\x9f", b"\x8c\x8d\n\n"],
                                            [ev("h\u00e9llo \U0001f30d")]),
    "invalid UTF-8 becomes U+FFFD": ([b"data: \xff\xfe ok\n\n"], [ev("\ufffd\ufffd ok")]),
    "last event without trailing blank line": ([b"data: a\n\ndata: last"], [ev("a"), ev("last")]),
    "last event with one newline": ([b"data: last\n"], [ev("last")]),
    "byte order mark at the start is dropped": ([b"\xef\xbb", b"\xbfdata: x\n\n"], [ev("x")]),
    "OpenAI [DONE] sentinel is plain data": ([b"data: {\"id\":\"1\"}\n\ndata: [DONE]\n\n"],
                                             [ev('{"id":"1"}'), ev("[DONE]")]),
    "Gemini CRLF framing": ([b'data: {"candidates": []}\r\n\r\n'], [ev('{"candidates": []}')]),
    "empty reads are harmless": ([b"", b"data: a", b"", b"\n\n", b""], [ev("a")]),
}


@pytest.mark.parametrize("reads, expected", list(CASES.values()), ids=list(CASES))
def test_decoder_table(reads: list[bytes], expected: list[ServerSentEvent]) -> None:
    assert decode(*reads) == expected


@pytest.mark.parametrize("reads, expected", list(CASES.values()), ids=list(CASES))
def test_decoder_table_byte_by_byte(reads: list[bytes], expected: list[ServerSentEvent]) -> None:
    whole = b"".join(reads)
    assert decode(*(whole[i:i + 1] for i in range(len(whole)))) == expected


def test_events_come_out_of_the_read_that_completes_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b\n\nda") == [ev("a"), ev("b")]
    assert decoder.feed(b"ta: c\n\n") == [ev("c")]
    assert decoder.close() == []


def test_feed_text_takes_decoded_text() -> None:
    decoder = SSEDecoder()
    assert decoder.feed_text("data: caf\u00e9\r") == []
    assert decoder.feed_text("\n\r\n") == [ev("caf\u00e9")]


def test_event_json_and_its_typed_error() -> None:
    assert ev('{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(ResponseDecodeError) as info:
        ev("not json", event="message_delta").json()
    assert info.value.field == "data" and info.value.raw == "not json"
    assert "message_delta" in str(info.value)


# -- bounded memory ------------------------------------------------------------------------------
def test_huge_line_without_newline_raises_before_it_grows_past_the_bound() -> None:
    decoder = SSEDecoder(max_line_bytes=1024)
    fed = 0
    with pytest.raises(ResponseDecodeError) as info:
        for _ in range(1000):
            decoder.feed(b"x" * 100)
            fed += 100
    assert fed <= 1024  # it raised on the read that crossed the bound, not later
    assert info.value.field == "line"
    assert "1024" in str(info.value)


def test_huge_complete_line_in_one_read_raises() -> None:
    with pytest.raises(ResponseDecodeError):
        decode(b"data: " + b"x" * 5000 + b"\n\n", max_line_bytes=1024)


def test_line_at_the_bound_is_accepted() -> None:
    line = b"data: " + b"y" * (1024 - 6)
    assert decode(line[:500], line[500:] + b"\n\n", max_line_bytes=1024) == [ev("y" * 1018)]


def test_default_bound_accepts_a_large_realistic_event() -> None:
    image = "A" * 3_000_000  # a base64 image in one event
    body = f'data: {{"b64": "{image}"}}\n\n'.encode()
    events = decode(*(body[i:i + 65536] for i in range(0, len(body), 65536)))
    assert len(events) == 1 and len(events[0].data) == len(image) + 11


# -- properties ------------------------------------------------------------------------------------
_VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
_NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n:"), min_size=1,
                max_size=8)


@dataclasses.dataclass
class _Event:
    data: list[str]
    name: str | None
    id: str | None
    retry: int | None
    comment: str | None
    newline: str


_EVENTS = st.lists(st.builds(
    _Event,
    data=st.lists(_VALUE, min_size=1, max_size=3),
    name=st.none() | _NAME,
    id=st.none() | _VALUE.filter(lambda v: "\0" not in v),
    retry=st.none() | st.integers(0, 10**6),
    comment=st.none() | _VALUE,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
), max_size=6)


def _serialize(events: list[_Event]) -> tuple[bytes, list[ServerSentEvent]]:
    """Wire text and the events a conforming decoder yields (id and retry persist)."""
    text: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    last_retry: int | None = None
    for e in events:
        nl = e.newline
        if e.comment is not None:
            text.append(f":{e.comment}{nl}")
        if e.name is not None:
            text.append(f"event: {e.name}{nl}")
        if e.id is not None:
            text.append(f"id: {e.id}{nl}")
            last_id = e.id
        if e.retry is not None:
            text.append(f"retry: {e.retry}{nl}")
            last_retry = e.retry
        text.extend(f"data: {line}{nl}" for line in e.data)
        text.append(nl)
        expected.append(ServerSentEvent("\n".join(e.data), e.name or "message", last_id, last_retry))
    return "".join(text).encode(), expected


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _check_split_equals_whole(events: list[_Event], cuts: list[int]) -> None:
    wire, expected = _serialize(events)
    whole = decode(wire)
    assert whole == expected
    assert decode(*_split(wire, cuts)) == whole


@given(_EVENTS, st.lists(st.integers(0, 10_000), max_size=12))
def test_split_reads_decode_like_one_read(events: list[_Event], cuts: list[int]) -> None:
    _check_split_equals_whole(events, cuts)


@pytest.mark.slow
@settings(max_examples=5000)
@given(_EVENTS, st.lists(st.integers(0, 10_000), max_size=40))
def test_split_reads_decode_like_one_read_deep(events: list[_Event], cuts: list[int]) -> None:
    _check_split_equals_whole(events, cuts)


def _check_arbitrary_bytes(data: bytes, cuts: list[int], max_line: int) -> None:
    pieces = _split(data, cuts)
    try:
        split_events = decode(*pieces, max_line_bytes=max_line)
    except ResponseDecodeError:
        return
    assert split_events == decode(data, max_line_bytes=max_line)
    assert all(isinstance(e.data, str) for e in split_events)


_BYTES = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"data:", b"data: ", b"event:", b"id:", b"retry:", b"\r", b"\n", b"\r\n", b":", b" ",
                     b"x", b"\xc3", b"\xa9", b"\xf0\x9f\x8c\x8d", b"\xff", b"\x00", b"\xef\xbb\xbf", b"7"]),
    max_size=60).map(b"".join)


@given(_BYTES, st.lists(st.integers(0, 10_000), max_size=10), st.sampled_from([16, 64, 1 << 20]))
def test_arbitrary_bytes_raise_only_response_decode_error(data: bytes, cuts: list[int],
                                                          max_line: int) -> None:
    _check_arbitrary_bytes(data, cuts, max_line)


@pytest.mark.slow
@settings(max_examples=5000)
@given(_BYTES, st.lists(st.integers(0, 10_000), max_size=30), st.sampled_from([16, 64, 1 << 20]))
def test_arbitrary_bytes_raise_only_response_decode_error_deep(data: bytes, cuts: list[int],
                                                               max_line: int) -> None:
    _check_arbitrary_bytes(data, cuts, max_line)
