"""Issue 14: whole pytest suites, one subprocess each: reqllm_fixture vs pytest-recording vs MockTransport.

Each suite is 1,000 tests (``Sizes.suite_tests``), each making one reqllm call through a module-level
``httpx.Client`` over an ``httpx.MockTransport`` that plays the Anthropic server: a stream of 200
deltas, or one non-streaming answer. The same test bodies run three ways:

- ``mock``: no fixture at all — the floor (every byte served by the MockTransport);
- ``reqllm``: each test requests ``reqllm_fixture`` and replays its own format-2 fixture file;
- ``vcr``: each test carries ``@pytest.mark.vcr`` (pytest-recording) and replays its own cassette.

Fixtures and cassettes are recorded first by the same suites (``--reqllm-record``, ``--record-mode=all``),
untimed. Every run has the same plugins installed and loaded; the time is the wall time of the whole
``pytest`` process (its CPU time: the machine is shared; wall times go to stderr). ``reqllm`` and
``reqllm_testing`` are byte-compiled first, as an installed package is: the runs do not write bytecode, and
compiling the sources in every run would be timed otherwise. For the same reason the untimed runs that
record (and one of the MockTransport suite) leave pytest's cache of rewritten modules behind — the test
modules, and the modules of pytest plugins, ``reqllm_testing``'s and ``pytest_recording``'s among them — as
any run on a developer's machine does.
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ._sizes import Sizes
from ._timing import Result

__all__ = ["run"]

SECTION = "9 suite"
ROOT = Path(__file__).resolve().parents[1]
#: Plugins installed here for other reasons (their import alone takes seconds), left out of every run alike.
UNRELATED = ("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:xdist.looponfail", "-p", "no:randomly",
             "-p", "no:langsmith_plugin", "-p", "no:hypothesispytest", "-p", "no:anyio", "-p", "no:platformdirs")

_HEADER = '''
import httpx
import pytest

import reqllm

import bench._payloads as payloads

MODEL = payloads.MODEL
KEY = "test-key-0123456789"
DELTAS = {deltas}
BODY = payloads.sse_chunks(DELTAS) if DELTAS else payloads.message_bytes(0)


def _answer(request: httpx.Request) -> httpx.Response:
    if DELTAS:
        return httpx.Response(200, headers={{"content-type": "text/event-stream; charset=utf-8"}},
                              content=iter(BODY))
    return httpx.Response(200, headers={{"content-type": "application/json"}}, content=BODY)


CLIENT = httpx.Client(transport=httpx.MockTransport(_answer))


def call() -> None:
    if DELTAS:
        chunks = list(reqllm.stream_text(MODEL, payloads.prompt(0), api_key=KEY, http_client=CLIENT))
        assert len(chunks) > DELTAS
    else:
        assert reqllm.generate_text(MODEL, payloads.prompt(0), api_key=KEY, http_client=CLIENT).text
'''

_TEST = {
    "mock": "\n\ndef test_{i}() -> None:\n    call()\n",
    "reqllm": "\n\ndef test_{i}(reqllm_fixture: object) -> None:\n    call()\n",
    "vcr": "\n\n@pytest.mark.vcr\ndef test_{i}() -> None:\n    call()\n",
}
_PER_MODULE = 100


def _write_suite(directory: Path, kind: str, tests: int, deltas: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\nreqllm_fixtures_dir = fixtures\n")
    (directory / "conftest.py").write_text("")
    for start in range(0, tests, _PER_MODULE):
        body = _HEADER.format(deltas=deltas) + "".join(
            _TEST[kind].format(i=i) for i in range(start, min(tests, start + _PER_MODULE)))
        (directory / f"test_suite_{start // _PER_MODULE}.py").write_text(body)
    return directory


def _pytest(directory: Path, *args: str, warm: bool = False) -> float:
    """CPU seconds (user + system) of one ``pytest`` run: the machine is shared, and wall time counts the
    other processes' load too (the wall time is printed to stderr alongside). A ``warm`` run (untimed) may
    write bytecode: pytest's cache of the modules it rewrites (tests, and pytest plugins' own modules)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    if warm:
        del env["PYTHONDONTWRITEBYTECODE"]
    env.pop("REQLLM_FIXTURES", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", *UNRELATED, *args], cwd=directory, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(args)} in {directory} failed:\n"
                           f"{done.stdout[-3000:]}{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"#   {directory.name} {' '.join(args)}: {cpu:.2f} s CPU, {wall:.2f} s wall", file=sys.stderr, flush=True)
    return cpu


def _suites(workdir: Path, tests: int, deltas: int) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """The three suites of one kind, recorded; name -> (directory, replay arguments)."""
    name = f"stream{deltas}" if deltas else "plain"
    mock = _write_suite(workdir / f"{name}_mock", "mock", tests, deltas)
    fixture = _write_suite(workdir / f"{name}_reqllm", "reqllm", tests, deltas)
    cassette = _write_suite(workdir / f"{name}_vcr", "vcr", tests, deltas)
    _pytest(fixture, "--reqllm-record", warm=True)
    _pytest(cassette, "--record-mode=all", warm=True)
    _pytest(mock, warm=True)
    return {"mock": (mock, ()), "reqllm": (fixture, ()),
            "vcr": (cassette, ("--record-mode=none",))}


def _size(directory: Path, suffix: str) -> int:
    files = [p for p in directory.rglob(f"*{suffix}") if "fixtures" in p.parts or "cassettes" in p.parts]
    return sum(p.stat().st_size for p in files) // max(1, len(files))


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Stream and non-stream suites, each run ``sizes.suite_repeat`` times per variant, interleaved."""
    for package in ("reqllm", "reqllm_testing"):
        compileall.compile_dir(ROOT / package, quiet=1)
    results = []
    for deltas in (200, 0):
        suites = _suites(workdir, sizes.suite_tests, deltas)
        times: dict[str, list[float]] = {name: [] for name in suites}
        for r in range(sizes.suite_repeat):
            names = list(suites)
            for name in names[r % 3:] + names[:r % 3]:
                directory, args = suites[name]
                times[name].append(_pytest(directory, *args))
        median = {name: statistics.median(values) for name, values in times.items()}
        what = f"{sizes.suite_tests:,} tests, " + (f"one {deltas}-delta stream each" if deltas else "one call each")
        reqllm_kb = _size(suites["reqllm"][0], ".json") / 1024
        vcr_kb = _size(suites["vcr"][0], ".yaml") / 1024
        results += [
            Result(SECTION, f"{what}: MockTransport suite", median["mock"], "s"),
            Result(SECTION, f"{what}: pytest-recording suite", median["vcr"], "s", median["vcr"] / median["mock"],
                   "MockTransport", None, f"cassette {vcr_kb:.0f} KB"),
            Result(SECTION, f"{what}: reqllm_fixture suite", median["reqllm"], "s",
                   median["reqllm"] / median["mock"], "MockTransport", 1.5 if deltas else None,
                   f"fixture {reqllm_kb:.0f} KB"),
            Result(SECTION, f"{what}: reqllm_fixture vs pytest-recording", median["reqllm"], "s",
                   median["reqllm"] / median["vcr"], "pytest-recording", 1.0 if deltas else 1 / 1.7),
        ]
    return results
