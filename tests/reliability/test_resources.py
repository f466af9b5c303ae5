"""Bounded resources: decompression bombs and huge bodies stop at ``max_response_bytes``; ``deadline=``
bounds a whole call, however slowly a server keeps it alive. Real loopback sockets throughout."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest

import reqllm
from reqllm import errors

from .faultserver import Action, Conn, FaultServer, Seen, _head, reply, sse
from .payloads import OPENAI_CHAT, encode
from .test_faults import events, opts, stream, texts

CHAT = OPENAI_CHAT.model
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _catalogue_loaded() -> None:
    """The registry loads its catalogue on the first lookup: not inside a measured call."""
    reqllm.model(CHAT)


def bomb(size: int) -> bytes:
    """A gzip body that inflates to ``size`` bytes: a JSON string of zeros (~1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"0" * MiB
    parts = [packer.compress(b'{"id": "x", "pad": "')]
    parts += [packer.compress(block) for _ in range(size // MiB)]
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


def gzip_reply(status: int, data: bytes, content_type: str = "application/json") -> Action:
    def act(conn: Conn, seen: Seen) -> None:
        conn.write(_head(status, {"content-type": content_type, "content-encoding": "gzip",
                                  "content-length": str(len(data)), "connection": "close"}) + data)

    return act


def peak_during(call: Callable[[], Any]) -> tuple[Any, int]:
    """What ``call`` returned or raised, and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = call()
        except reqllm.ReqLLMError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- max_response_bytes ---------------------------------------------------------------------------
def test_a_gzip_bomb_stops_at_the_limit_with_memory_in_proportion_to_the_limit(server: FaultServer) -> None:
    data = bomb(256 * MiB)
    assert len(data) < 400_000  # 256 MiB behind a few hundred kB
    server.script(gzip_reply(200, data))
    error, peak = peak_during(lambda: reqllm.generate_text(CHAT, "hi", **opts(server, max_response_bytes=8 * MiB)))
    assert isinstance(error, errors.ResponseTooLargeError), error
    assert error.limit == 8 * MiB and "max_response_bytes=8388608" in str(error)
    assert peak < 3 * 8 * MiB, f"peak {peak / MiB:.1f} MiB for an 8 MiB limit"
    assert server.attempts == 1, "a body too large is not retried"


def test_the_default_limit_is_64_mib() -> None:
    assert reqllm._options.Options().max_response_bytes == 64 * MiB


def test_the_default_limit_stops_a_bomb_past_64_mib(server: FaultServer) -> None:
    server.script(gzip_reply(200, bomb(96 * MiB)))
    error, peak = peak_during(lambda: reqllm.generate_text(CHAT, "hi", **opts(server)))
    assert isinstance(error, errors.ResponseTooLargeError) and error.limit == 64 * MiB, error
    assert peak < 2 * 64 * MiB


def test_a_plain_body_larger_than_the_limit_stops_too(server: FaultServer) -> None:
    data = b"[" + b"0," * (8 * MiB) + b"0]"

    def act(conn: Conn, seen: Seen) -> None:  # no copy of the 16 MiB in the server while it is measured
        conn.write(_head(200, {"content-type": "application/json", "content-length": str(len(data))}))
        conn.write(data)

    server.script(act)
    error, peak = peak_during(lambda: reqllm.generate_text(CHAT, "hi", **opts(server, max_response_bytes=MiB)))
    assert isinstance(error, errors.ResponseTooLargeError), error
    assert peak < 3 * MiB


def test_an_error_body_bomb_stops_at_the_limit_and_is_not_retried(server: FaultServer) -> None:
    server.script(gzip_reply(503, bomb(32 * MiB)))
    with pytest.raises(errors.ResponseTooLargeError):
        reqllm.generate_text(CHAT, "hi", **opts(server, max_response_bytes=MiB))
    assert server.attempts == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_gzip_stream_bomb_stops_at_the_limit_keeping_its_chunks(server: FaultServer, mode: str) -> None:
    head = encode(OPENAI_CHAT.events[:3])
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = packer.compress(head) + packer.compress(b": " + b"0" * (16 * MiB)) + packer.flush()
    server.script(gzip_reply(200, data, "text/event-stream"))
    chunks, result = stream(mode, CHAT, **opts(server, max_response_bytes=4 * MiB))
    assert isinstance(result, errors.ResponseTooLargeError), result
    assert texts(chunks) == "Hello" and result.chunks == chunks


def test_a_body_within_the_limit_decodes_as_before(server: FaultServer) -> None:
    body = json.dumps(OPENAI_CHAT.body).encode()
    server.script(gzip_reply(200, zlib.compress(body, wbits=31)))
    assert reqllm.generate_text(CHAT, "hi", **opts(server, max_response_bytes=len(body))).text == "Hello there"


# -- deadline ---------------------------------------------------------------------------------
def keep_alive(first: list[bytes], every: float = 0.1) -> Action:
    """An SSE stream: ``first`` events, then a comment every ``every`` seconds, forever."""

    def act(conn: Conn, seen: Seen) -> None:
        conn.write(_head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"}))
        for event in first:
            conn.write(b"%x\r\n%s\r\n" % (len(event), event))
        while not conn.stop.is_set():
            conn.write(b"9\r\n: ping\n\n\n\r\n")
            conn.wait(every)

    return act


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_kept_alive_by_comments_ends_at_the_deadline_with_its_chunks(server: FaultServer,
                                                                              mode: str) -> None:
    server.script(keep_alive(events(OPENAI_CHAT, 3)))
    started = time.monotonic()
    chunks, result = stream(mode, CHAT, **opts(server, timeout=3, deadline=0.8))
    took = time.monotonic() - started
    assert isinstance(result, errors.APITimeoutError), result
    assert "deadline=0.8" in str(result) and texts(chunks) == "Hello" and result.chunks == chunks
    assert 0.8 <= took < 2.5, took


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_trickled_body_ends_at_the_deadline(server: FaultServer, mode: str) -> None:
    body = json.dumps(OPENAI_CHAT.body).encode()

    def trickle(conn: Conn, seen: Seen) -> None:
        conn.write(_head(200, {"content-type": "application/json", "content-length": str(len(body))}))
        for byte in body:
            conn.write(bytes([byte]))
            conn.wait(0.05)

    server.script(trickle)
    started = time.monotonic()
    call = reqllm.generate_text if mode == "sync" else (
        lambda *a, **k: asyncio.run(reqllm.agenerate_text(*a, **k)))
    with pytest.raises(errors.APITimeoutError, match=r"deadline=0\.5"):
        call(CHAT, "hi", **opts(server, timeout=5, deadline=0.5))
    assert time.monotonic() - started < 2.0


def test_a_stalled_server_times_out_at_the_deadline_not_at_the_timeout(server: FaultServer) -> None:
    server.script(sse(events(OPENAI_CHAT, 3), end="stall"))
    started = time.monotonic()
    chunks, result = stream("sync", CHAT, **opts(server, timeout=20, deadline=0.6))
    assert isinstance(result, errors.APITimeoutError) and texts(chunks) == "Hello", result
    assert time.monotonic() - started < 2.5


def test_no_retry_starts_that_the_deadline_leaves_no_time_for(server: FaultServer) -> None:
    failure = {"error": {"message": "overloaded", "type": "server_error"}}
    server.script(reply(503, failure, headers={"retry-after": "2"}), reply(200, OPENAI_CHAT.body))
    started = time.monotonic()
    with pytest.raises(errors.ProviderUnavailableError) as info:
        reqllm.generate_text(CHAT, "hi", **opts(server, deadline=1.0))
    assert time.monotonic() - started < 0.9 and server.attempts == 1 and info.value.attempts == 1
    server.script(reply(503, failure, headers={"retry-after": "0.05"}), reply(200, OPENAI_CHAT.body))
    assert reqllm.generate_text(CHAT, "hi", **opts(server, deadline=5.0)).text == "Hello there"
