"""Item 1: replay of a non-streaming generate_text, per call and per test, against the floor and vcrpy."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

from reqllm_testing import fixture_file, use_fixture

from ._payloads import URL
from ._recordings import KEY, copies, generate, record_cassette, record_fixture, server, vcr_cassette
from ._sizes import Sizes
from ._timing import Result, Round, interleaved, loop

__all__ = ["run"]

SECTION = "1 replay"


def _per_test_fixture(paths: Iterator[Path]) -> Round:
    def run(number: int) -> float:
        started = time.perf_counter()
        for _ in range(number):
            with use_fixture(next(paths), mode="replay"):
                generate(0)
        return time.perf_counter() - started

    return run


def _per_test_vcr(paths: Iterator[Path]) -> Round:
    def run(number: int) -> float:
        started = time.perf_counter()
        for _ in range(number):
            with vcr_cassette(next(paths)):
                generate(0)
        return time.perf_counter() - started

    return run


def _fixture_loaded(paths: Iterator[Path]) -> Round:
    """Calls inside one session over a fixture holding one recorded interaction per call.

    Each round takes a fresh copy, loaded and indexed before the clock starts; each recorded
    interaction is then served once, as in a real run (so its response is prepared once, timed).
    """

    def run(number: int) -> float:
        with use_fixture(next(paths), mode="replay") as session:
            session.index()
            started = time.perf_counter()
            for _ in range(number):
                generate(0)
            return time.perf_counter() - started

    return run


def _vcr_loaded(path: Path) -> Round:
    def run(number: int) -> float:
        with vcr_cassette(path):
            started = time.perf_counter()
            for _ in range(number):
                generate(0)
            return time.perf_counter() - started

    return run


def _raw(path: Path) -> Round:
    """httpx.Client.post of the recorded request body + json.loads of the answer, on the floor's transport."""
    request = fixture_file.read(path).interactions[0]["request"]
    content = json.dumps(request["body"], separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
    client = server(variant=0)

    def call() -> object:
        response = client.post(URL, content=content, headers=headers)
        return json.loads(response.content)

    return loop(call)


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 1."""
    n, rounds = sizes.number, sizes.repeat + 1
    one = record_fixture(workdir / "one.json", [0])
    many = record_fixture(workdir / "per_call.json", [0] * n)
    cassette = record_cassette(workdir / "one.yaml", [0])
    floor = server(variant=0)
    expected = generate(0, floor).text
    with use_fixture(one, mode="replay"):
        assert generate(0).text == expected, "fixture replay differs from the floor"
    with vcr_cassette(cassette):
        assert generate(0).text == expected, "vcrpy replay differs from the floor"
    m = interleaved({
        "floor": loop(lambda: generate(0, floor)),
        "raw": _raw(one),
        "fixture": _fixture_loaded(copies(many, workdir / "per_call", rounds)),
        "vcr": _vcr_loaded(cassette),
        "fixture_test": _per_test_fixture(copies(one, workdir / "tests_fixture", n * rounds)),
        "fixture_test_cached": _per_test_fixture(itertools.repeat(one)),
        "vcr_test": _per_test_vcr(copies(cassette, workdir / "tests_vcr", n * rounds)),
    }, n, sizes.repeat)
    return [
        Result(SECTION, "floor: generate_text via MockTransport", m.median("floor"), "s"),
        Result(SECTION, "raw httpx.Client.post + json.loads", m.median("raw"), "s", m.ratio("raw", "floor"),
               "floor"),
        Result(SECTION, "reqllm fixture replay, per call (loaded)", m.median("fixture"), "s",
               m.ratio("fixture", "floor"), "floor", 1.25),
        Result(SECTION, "vcrpy replay, per call (loaded)", m.median("vcr"), "s", m.ratio("vcr", "floor"), "floor"),
        Result(SECTION, "reqllm vs vcrpy, per call", m.median("fixture"), "s", m.ratio("fixture", "vcr"), "vcrpy"),
        Result(SECTION, "reqllm fixture, per test (load + call)", m.median("fixture_test"), "s",
               m.ratio("fixture_test", "vcr_test"), "vcrpy per test", 0.2, "one file per test"),
        Result(SECTION, "reqllm fixture, per test (file cached)", m.median("fixture_test_cached"), "s",
               m.ratio("fixture_test_cached", "floor"), "floor"),
        Result(SECTION, "vcrpy, per test (load + call)", m.median("vcr_test"), "s", m.ratio("vcr_test", "floor"),
               "floor"),
    ]
