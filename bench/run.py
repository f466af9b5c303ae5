"""Run the benchmarks and print one table of medians and ratios: ``python bench/run.py [--quick]``.

Everything is measured in this one process and run (subprocesses where a whole process is the
thing measured), so the ratios compare like with like on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # ``python bench/run.py``: make ``bench`` importable as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._sizes import FULL, QUICK, Sizes
from bench._timing import Result, table

__all__ = ["SECTIONS", "main", "run_sections"]

#: Section name -> module (each has ``run(workdir, sizes) -> list[Result]``).
SECTIONS = {"replay": "bench.replay", "stream": "bench.stream", "large": "bench.large",
            "startup": "bench.startup", "matrix": "bench.matrix", "memory": "bench.memory",
            "clouds": "bench.clouds", "script": "bench.script", "format": "bench.fixture_format",
            "suite": "bench.suite", "plugin": "bench.plugin_cost", "sdk": "bench.sdk"}


def run_sections(names: Sequence[str], sizes: Sizes, workdir: Path) -> list[Result]:
    """Run the named sections in order; their results, in order."""
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(SECTIONS[name])
        directory = workdir / name
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        results.extend(module.run(directory, sizes))
        print(f"# {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return results


def machine() -> str:
    """One line naming the machine: CPUs, CPU model, Python."""
    import os

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``--quick`` for tiny sizes, ``--only`` to pick sections, ``--markdown`` for the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds; numbers meaningless)")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help="run only this section")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reqllm-bench-") as tmp:
        results = run_sections(args.only or list(SECTIONS), sizes, Path(tmp))
    print(f"{time.strftime('%Y-%m-%d')} · {machine()} · python bench/run.py{' --quick' if args.quick else ''}"
          f" · {time.perf_counter() - started:.0f} s")
    if args.quick:
        print("(--quick: tiny sizes to check that the code runs; the numbers mean nothing)")
    print(table(results, markdown=args.markdown))
    missed = [r for r in results if r.verdict == "MISSED"]
    if missed:
        print(f"\n{len(missed)} target(s) missed: " + "; ".join(r.name for r in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
