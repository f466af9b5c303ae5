"""Item 3: replay of the last interaction of fixtures / cassettes holding 1, 100 and 1,000 interactions."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from reqllm_testing import use_fixture

from ._recordings import copies, generate, record_cassette, record_fixture, vcr_cassette
from ._sizes import Sizes
from ._timing import Result, Round, interleaved

__all__ = ["run"]

SECTION = "3 large"
_COLD_ROUNDS = 5


def _fixture_test(path: Path, last: int) -> None:
    """One test's worth: a session over the fixture, the last recorded call replayed."""
    with use_fixture(path, mode="replay", allow_unused=True):
        generate(last)


def _vcr_test(path: Path, last: int) -> None:
    """The same with vcrpy (matching on the body, as distinct calls to one URL need)."""
    with vcr_cassette(path, body=True):
        generate(last)


def _each(paths: Iterator[Path], test: Callable[[Path, int], None], last: int) -> Round:
    def run(number: int) -> float:
        chosen = [next(paths) for _ in range(number)]
        started = time.perf_counter()
        for path in chosen:
            test(path, last)
        return time.perf_counter() - started

    return run


def _vcr_loaded(path: Path, last: int) -> Round:
    """Calls against the cassette loaded once."""

    def run(number: int) -> float:
        with vcr_cassette(path, body=True):
            started = time.perf_counter()
            for _ in range(number):
                generate(last)
            return time.perf_counter() - started

    return run


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 3: per call with the file loaded (reqllm keeps loaded files), and load + call."""
    fixtures, cassettes = {}, {}
    for n in sizes.large:
        fixtures[n] = record_fixture(workdir / f"large_{n}.json", list(range(n)))
        cassettes[n] = record_cassette(workdir / f"large_{n}.yaml", list(range(n)))
        with use_fixture(fixtures[n], mode="replay", allow_unused=True):
            assert f"({n - 1})" in generate(n - 1).text
        with vcr_cassette(cassettes[n], body=True):
            assert f"({n - 1})" in generate(n - 1).text
    ours = interleaved({str(n): _each(itertools.repeat(fixtures[n]), _fixture_test, n - 1) for n in sizes.large},
                       sizes.number, sizes.repeat)
    theirs = interleaved({str(n): _vcr_loaded(cassettes[n], n - 1) for n in sizes.large}, sizes.large_number,
                         min(sizes.repeat, 3))
    cold = {}
    for n in sizes.large:
        number = max(1, min(sizes.number // 5, 2_000 // n))  # vcrpy takes ~0.7 s per load of 1,000
        count = number * (_COLD_ROUNDS + 1)
        cold[n] = interleaved({
            "fixture": _each(copies(fixtures[n], workdir / f"cold_{n}", count), _fixture_test, n - 1),
            "vcr": _each(copies(cassettes[n], workdir / f"cold_{n}", count), _vcr_test, n - 1),
        }, number, _COLD_ROUNDS)
    first = str(sizes.large[0])
    results = []
    for size in sizes.large:
        key = str(size)
        results += [
            Result(SECTION, f"reqllm, last of {size:,}, per call (file loaded)", ours.median(key), "s",
                   ours.ratio(key, first), f"{first} interaction", 1.1 if key != first else None),
            Result(SECTION, f"vcrpy, last of {size:,}, per call (cassette loaded)", theirs.median(key), "s",
                   theirs.ratio(key, first), f"{first} interaction"),
            Result(SECTION, f"reqllm vs vcrpy, last of {size:,}, per call", ours.median(key), "s",
                   ours.median(key) / theirs.median(key), "vcrpy"),
            Result(SECTION, f"reqllm, last of {size:,}, load + call", cold[size].median("fixture"), "s",
                   cold[size].ratio("fixture", "vcr"), "vcrpy load + call"),
            Result(SECTION, f"vcrpy, last of {size:,}, load + call", cold[size].median("vcr"), "s"),
        ]
    return results
