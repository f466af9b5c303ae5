"""Item 8: a scripted reply (``reqllm_testing.Script``) against the MockTransport floor of the same bytes.

The floor answers with the bytes ``encode`` makes for the reply, built once; the script parses each
request, fills in the reply for its protocol and encodes it per request. Both go through the same
``reqllm`` call (a Messages body, and a Messages stream of many deltas, one event per read).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import httpx

import reqllm
from reqllm_testing import Reply, Script, encode

from ._recordings import KEY
from ._sizes import Sizes
from ._timing import Result, Round, interleaved, loop

__all__ = ["run"]

SECTION = "8 script"
MODEL = "anthropic:claude-3-5-haiku-20241022"
TARGET = 1.2


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def _floor(reply: Reply, stream: bool) -> httpx.Client:
    """A MockTransport serving the reply's encoded bytes, built once (one event per read when streaming)."""
    response = encode(reply, "anthropic", stream=stream)
    headers = dict(response.headers)
    chunks = list(response.iter_raw()) if stream else [response.read()]

    def handler(request: httpx.Request) -> httpx.Response:
        if stream:
            return httpx.Response(200, headers=headers, stream=_Chunks(chunks))
        return httpx.Response(200, headers=headers, content=chunks[0])

    return httpx.Client(transport=httpx.MockTransport(handler))


def _call(client: httpx.Client, stream: bool) -> reqllm.Response:
    if stream:
        return reqllm.stream_text(MODEL, "Tell me a story.", http_client=client, api_key=KEY,
                                  max_retries=0).to_response()
    return reqllm.generate_text(MODEL, "Tell me a story.", http_client=client, api_key=KEY, max_retries=0)


def _script_round(reply: Reply, stream: bool) -> Round:
    """A fresh script of ``number`` replies per round, made before the clock starts."""
    import time

    def run(number: int) -> float:
        client = httpx.Client(transport=Script([reply] * number))
        started = time.perf_counter()
        for _ in range(number):
            _call(client, stream)
        return time.perf_counter() - started

    return run


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 7: a body, and a stream of each size."""
    results = []
    cases = [("body", Reply("The capital of France is Paris. " * 8), False)]
    cases += [(f"stream of {n:,} deltas", Reply(" word" * n), True) for n in sizes.stream_deltas]
    for label, reply, stream in cases:
        floor = _floor(reply, stream)
        scripted = _call(httpx.Client(transport=Script([reply])), stream)
        assert scripted.text == _call(floor, stream).text == reply.text, "the script serves another answer"
        deltas = reply.text.count(" ") or 1
        number = max(1, min(sizes.number, 5_000 // deltas)) if stream else sizes.number
        m = interleaved({"floor": loop(functools.partial(_call, floor, stream)),
                         "script": _script_round(reply, stream)},
                        number, sizes.stream_repeat if stream else sizes.repeat)
        results += [
            Result(SECTION, f"{label}: MockTransport floor, same bytes", m.median("floor"), "s"),
            Result(SECTION, f"{label}: Script (parse request, encode reply)", m.median("script"), "s",
                   m.ratio("script", "floor"), "floor", TARGET),
        ]
    return results
