"""Item 5: the capability matrix — collection over the whole registry, replay of what is recorded (-n 0 / -n 2)."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from ._sizes import Sizes
from ._timing import Result

__all__ = ["recorded_cases", "run"]

SECTION = "5 matrix"
ROOT = Path(__file__).resolve().parents[1]
_PYTEST = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-m", "capability", "-q"]
_COLLECTED = re.compile(r"(\d+)(?:/(\d+))? tests? collected")
_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors)")


def _fixtures_roots() -> list[Path]:
    """Where capability fixtures may live: the configured ``reqllm_fixtures_dir``, then ``fixtures/``."""
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    roots = [ROOT / str(ini.get("reqllm_fixtures_dir", "tests/fixtures/reqllm")), ROOT / "fixtures"]
    return list(dict.fromkeys(roots))


def recorded_cases() -> tuple[Path, list[str]]:
    """The fixtures root holding recordings and the ids of the capability cases recorded there."""
    from reqllm_testing.matrix import capability_cases, fixture_path

    cases = capability_cases()
    for root in _fixtures_roots():
        if root.is_dir():
            found = [c.id for c in cases if fixture_path(root, c.model, c.capability).exists()]
            if found:
                return root, found
    return _fixtures_roots()[0], []


def _pytest(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(_PYTEST + args, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def _outcome(output: str) -> str:
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    return ", ".join(f"{n} {what}" for n, what in _SUMMARY.findall(tail)) or "no summary"


def run(workdir: Path, sizes: Sizes) -> list[Result]:
    """Measure item 5 (``--quick``: collection of one provider only, replay of at most two cases, -n 0)."""
    scope = ["--reqllm-provider", "anthropic"] if sizes.quick else []
    runs = [_pytest(["--collect-only", *scope]) for _ in range(1 if sizes.quick else 2)]
    found = _COLLECTED.search(runs[-1][1])
    count = f"{int(found.group(1)):,} cases" if found else "count not found"
    what = "anthropic only" if sizes.quick else "whole registry"
    results = [Result(SECTION, f"pytest -m capability --collect-only ({what})",
                      statistics.median(r[0] for r in runs), "s", note=count)]
    root, cases = recorded_cases()
    if sizes.quick:
        cases = cases[:2]
    if not cases:
        results.append(Result(SECTION, "replay of the recorded capability suite", 0.0, "s",
                              note=f"nothing recorded under {root.relative_to(ROOT)} yet"))
        return results
    providers = sorted({c.partition(":")[0] for c in cases})
    args = ["--reqllm-fixtures-dir", str(root), "--reqllm-provider", ",".join(providers), "-p", "xdist",
            *(f"capabilities/test_capabilities.py::test_capability[{c}]" for c in cases)]
    serial, output = _pytest([*args, "-n", "0"])
    results.append(Result(SECTION, f"replay of {len(cases)} recorded capability cases, -n 0", serial, "s",
                          note=_outcome(output)))
    if not sizes.quick:
        parallel, output = _pytest([*args, "-n", "2"])
        results.append(Result(SECTION, f"replay of {len(cases)} recorded capability cases, -n 2", parallel, "s",
                              parallel / serial, "-n 0", note=_outcome(output)))
    return results
