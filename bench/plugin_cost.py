"""Issue 14: what the pytest plugin costs a test that never uses it (an empty suite, plugin on vs off).

A suite of ``Sizes.plugin_tests`` empty tests runs as a ``pytest`` subprocess with reqllm's plugins
loaded (as in any project that has reqllm installed) and with ``-p no:reqllm -p no:reqllm_capabilities``,
interleaved. The per-test cost is the difference of the two process times, less the difference of the
same two runs of a one-test suite (the plugins' import and configure time), divided by the tests.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

from ._sizes import Sizes
from ._timing import Result
from .suite import UNRELATED

__all__ = ["run"]

SECTION = "10 plugin"
ROOT = Path(__file__).resolve().parents[1]
OFF = ("-p", "no:reqllm", "-p", "no:reqllm_capabilities")


def _suite(directory: Path, tests: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    for start in range(0, tests, 500):
        body = "".join(f"\n\ndef test_{i}() -> None:\n    pass\n" for i in range(start, min(tests, start + 500)))
        (directory / f"test_empty_{start // 500}.py").write_text(body)
    return directory


def _cpu(directory: Path, *args: str) -> float:
    """CPU seconds (user + system) of one ``pytest`` run in ``directory`` (less noisy than wall time here)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", *UNRELATED, *args],
                          cwd=directory, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(args)} in {directory} failed:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Per-test cost of the installed plugins for a test that uses neither ``reqllm_fixture`` nor the marker."""
    tests = sizes.plugin_tests
    many, one = _suite(workdir / "many", tests), _suite(workdir / "one", 1)
    on, off, diffs = [], [], []
    for r in range(sizes.plugin_repeat):
        runs = [("on", many, ()), ("off", many, OFF), ("one_on", one, ()), ("one_off", one, OFF)]
        measured = {}
        for name, directory, args in runs[r % 4:] + runs[:r % 4]:
            measured[name] = _cpu(directory, *args)
        on.append(measured["on"])
        off.append(measured["off"])
        diffs.append(((measured["on"] - measured["off"]) - (measured["one_on"] - measured["one_off"])) / (tests - 1))
    per_test = statistics.median(diffs)
    return [
        Result(SECTION, f"{tests:,} empty tests, reqllm plugins off", statistics.median(off), "s"),
        Result(SECTION, f"{tests:,} empty tests, reqllm plugins on", statistics.median(on), "s",
               statistics.median(a / b for a, b in zip(on, off, strict=True)), "plugins off"),
        Result(SECTION, "plugin cost per test not using it", per_test, "s", None, "", None,
               f"median of {len(diffs)} paired runs; startup difference removed"),
    ]
