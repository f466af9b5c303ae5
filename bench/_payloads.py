"""What the fake Anthropic server sends: a Messages body and a Messages SSE stream, as wire bytes.

These are the *inner* transport's responses; the fixtures and cassettes the benchmarks replay are
recorded from them through the real API (see ``_recordings``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import httpx

__all__ = ["MODEL", "URL", "message_bytes", "mock_client", "prompt", "sse_chunks"]

MODEL = "anthropic:claude-3-5-haiku-20241022"
URL = "https://api.anthropic.com/v1/messages"
_WORDS = ("The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. ", "Then ", "it ",
          "naps, ", "dreaming ", "of ", "résumés ", "and ", "naïve ", "cafés.\n")


def prompt(i: int = 0) -> str:
    """The user prompt of call number ``i`` (distinct per ``i``, so requests differ)."""
    return f"Write two sentences about a fox and a dog (variant {i})."


def message_bytes(i: int = 0) -> bytes:
    """A non-streaming Messages response body (answer to ``prompt(i)``), as the server sends it."""
    body = {
        "id": f"msg_01XFDUDYJgAACzvnptvVoYEL{i:04d}", "type": "message", "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": "The quick brown fox jumps over the lazy dog. "
                                             f"Then it naps, dreaming of résumés and naïve cafés ({i})."}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 21, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 31, "service_tier": "standard"},
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _event(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def sse_chunks(deltas: int) -> list[bytes]:
    """A Messages stream with ``deltas`` text deltas, one SSE event per network read."""
    chunks = [
        _event("message_start", {"type": "message_start", "message": {
            "id": "msg_01Stream", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 1}}}),
        _event("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}),
        _event("ping", {"type": "ping"}),
    ]
    for i in range(deltas):
        chunks.append(_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                     "delta": {"type": "text_delta",
                                                               "text": _WORDS[i % len(_WORDS)]}}))
    chunks += [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                    "stop_sequence": None},
                                 "usage": {"output_tokens": deltas}}),
        _event("message_stop", {"type": "message_stop"}),
    ]
    return chunks


def mock_client(respond: Callable[[httpx.Request], bytes | Sequence[bytes]]) -> httpx.Client:
    """An ``httpx.Client`` over ``httpx.MockTransport``: one body, or a list of chunks served as an SSE stream."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = respond(request)
        if isinstance(body, bytes):
            return httpx.Response(200, headers={"content-type": "application/json"}, content=body)
        chunks: Iterator[bytes] = iter(body)
        return httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=chunks)

    return httpx.Client(transport=httpx.MockTransport(handler))
