"""Item 6: memory — peak RSS replaying the long stream, and RSS over many sequential replayed calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ._recordings import record_cassette, record_fixture
from ._sizes import Sizes
from ._timing import Result

__all__ = ["run"]

SECTION = "6 memory"
_CHILD = Path(__file__).with_name("_memory_child.py")


def _child(*args: object) -> dict[str, int]:
    done = subprocess.run([sys.executable, str(_CHILD), *map(str, args)], capture_output=True, text=True,
                          check=True)
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _mib(kb: int) -> float:
    return kb / 1024


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 6, each workload in its own fresh process."""
    deltas = sizes.memory_deltas
    path = record_fixture(workdir / "stream.json", [0], deltas)
    cassette = record_cassette(workdir / "stream.yaml", [0], deltas)
    one = record_fixture(workdir / "one.json", [0])
    runs = {"fixture": _child("stream-fixture", path), "floor": _child("stream-floor", deltas),
            "vcr": _child("stream-vcr", cassette)}
    for name, figures in runs.items():
        assert figures["chunks"] >= deltas, f"{name} replay decoded {figures['chunks']} chunks"
    growth = {name: _mib(r["peak_kb"] - r["baseline_kb"]) for name, r in runs.items()}
    first, total = sizes.memory_calls
    calls = _child("calls", one, first, total)
    files = workdir / "per_test"
    files.mkdir()
    data = one.read_bytes()
    for i in range(total):
        (files / f"test_{i:05d}.json").write_bytes(data)
    tests = _child("files", files, first, total)
    name = f"{deltas:,}-delta stream"
    return [
        Result(SECTION, f"{name}: floor, peak RSS above baseline", growth["floor"], "MiB",
               note=f"peak {_mib(runs['floor']['peak_kb']):.0f} MiB"),
        Result(SECTION, f"{name}: reqllm fixture replay, peak RSS above baseline", growth["fixture"], "MiB",
               growth["fixture"] / max(growth["floor"], 0.1), "floor",
               note=f"peak {_mib(runs['fixture']['peak_kb']):.0f} MiB, incl. loading the fixture"),
        Result(SECTION, f"{name}: vcrpy replay, peak RSS above baseline", growth["vcr"], "MiB",
               growth["vcr"] / max(growth["floor"], 0.1), "floor",
               note=f"peak {_mib(runs['vcr']['peak_kb']):.0f} MiB, incl. loading the cassette"),
        Result(SECTION, f"RSS after {first:,} replayed calls", _mib(calls["first_kb"]), "MiB"),
        Result(SECTION, f"RSS after {total:,} replayed calls", _mib(calls["total_kb"]), "MiB",
               calls["total_kb"] / calls["first_kb"], f"after {first:,}", 1.05,
               note=f"+{_mib(calls['total_kb'] - calls['first_kb']):.1f} MiB"),
        Result(SECTION, f"RSS after {first:,} tests, one fixture file each", _mib(tests["first_kb"]), "MiB"),
        Result(SECTION, f"RSS after {total:,} tests, one fixture file each", _mib(tests["total_kb"]), "MiB",
               tests["total_kb"] / tests["first_kb"], f"after {first:,}", 1.05,
               note=f"+{_mib(tests['total_kb'] - tests['first_kb']):.1f} MiB"),
    ]
