"""Item 2: an Anthropic SSE stream of many deltas consumed as StreamChunks: fixture, floor, httpx-sse, vcrpy."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

from reqllm_testing import fixture_file, use_fixture

from ._payloads import URL
from ._recordings import KEY, record_cassette, record_fixture, server, stream, vcr_cassette
from ._sizes import Sizes
from ._timing import Result, Round, interleaved, loop

__all__ = ["run"]

SECTION = "2 stream"


def _httpx_sse(path: Path, deltas: int) -> Round:
    """httpx.Client.stream + httpx_sse.EventSource + json.loads of each event, same bytes and reads."""
    from httpx_sse import EventSource

    request = fixture_file.read(path).interactions[0]["request"]
    content = json.dumps(request["body"], separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "accept": "text/event-stream", "x-api-key": KEY,
               "anthropic-version": "2023-06-01"}
    client = server(deltas)

    def call() -> object:
        with client.stream("POST", URL, content=content, headers=headers) as response:
            return [json.loads(event.data) for event in EventSource(response).iter_sse()]

    return loop(call)


def _fixture(path: Path) -> Round:
    def call() -> object:
        with use_fixture(path, mode="replay"):
            return stream(0)

    return loop(call)


def _vcr(path: Path) -> Round:
    def run(number: int) -> float:
        with vcr_cassette(path):
            started = time.perf_counter()
            for _ in range(number):
                stream(0)
            return time.perf_counter() - started

    return run


def _check(path: Path, cassette: Path, deltas: int) -> None:
    expected = [c.to_dict() for c in stream(0, server(deltas))]
    assert sum(c["type"] == "content" for c in expected) == deltas
    with use_fixture(path, mode="replay"):
        assert [c.to_dict() for c in stream(0)] == expected, "fixture replay differs from the floor"
    with vcr_cassette(cassette):
        assert [c.to_dict() for c in stream(0)] == expected, "vcrpy replay differs from the floor"


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 2 for each stream size."""
    results = []
    for deltas in sizes.stream_deltas:
        path = record_fixture(workdir / f"stream_{deltas}.json", [0], deltas)
        cassette = record_cassette(workdir / f"stream_{deltas}.yaml", [0], deltas)
        _check(path, cassette, deltas)
        floor, whole = server(deltas), server(deltas, one_read=True)
        number = max(1, min(sizes.number, 5_000 // deltas))
        m = interleaved({
            "floor": loop(functools.partial(stream, 0, floor)),
            "whole": loop(functools.partial(stream, 0, whole)),
            "sse": _httpx_sse(path, deltas),
            "fixture": _fixture(path),
            "vcr": _vcr(cassette),
        }, number, sizes.stream_repeat)
        name = f"{deltas:,} deltas"
        results += [
            Result(SECTION, f"{name}: httpx-sse + json.loads (raw)", m.median("sse"), "s"),
            Result(SECTION, f"{name}: floor, StreamChunks via MockTransport", m.median("floor"), "s",
                   m.ratio("floor", "sse"), "httpx-sse", 2.0),
            Result(SECTION, f"{name}: reqllm fixture replay", m.median("fixture"), "s", m.ratio("fixture", "sse"),
                   "httpx-sse", 2.0),
            Result(SECTION, f"{name}: reqllm fixture replay vs floor", m.median("fixture"), "s",
                   m.ratio("fixture", "floor"), "floor"),
            Result(SECTION, f"{name}: floor, whole body in one read", m.median("whole"), "s", m.ratio("whole", "floor"),
                   "floor"),
            Result(SECTION, f"{name}: vcrpy replay (cassette loaded; one read)", m.median("vcr"), "s",
                   m.ratio("vcr", "whole"), "floor, one read"),
        ]
    return results
