"""Timing and reporting helpers: interleaved rounds, medians, ratios, one result table."""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["Result", "Round", "Samples", "interleaved", "loop", "rss_kb", "table"]

#: A variant under measurement: runs ``number`` operations and returns the seconds they took.
Round = Callable[[int], float]


def loop(call: Callable[[], object]) -> Round:
    """A Round that calls ``call`` ``number`` times."""

    def run(number: int) -> float:
        started = time.perf_counter()
        for _ in range(number):
            call()
        return time.perf_counter() - started

    return run


class Samples:
    """Seconds per operation of each variant, one sample per round."""

    def __init__(self, samples: dict[str, list[float]]) -> None:
        self.samples = samples

    def median(self, name: str) -> float:
        """The median seconds per operation of ``name``."""
        return statistics.median(self.samples[name])

    def ratio(self, name: str, versus: str) -> float:
        """The median of the per-round ratios ``name / versus``: rounds next to each other in time share
        the machine's load, so pairing them cancels most of its drift."""
        return statistics.median(a / b for a, b in zip(self.samples[name], self.samples[versus], strict=True))


def interleaved(variants: dict[str, Round], number: int, repeat: int, warmup: int = 1) -> Samples:
    """Time ``number`` operations of each variant per round, ``repeat`` rounds (after ``warmup``).

    Each round runs every variant once, in a rotating order, so noise hits all of them alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(warmup + repeat):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            gc.collect()
            elapsed = variants[name](number)
            if r >= warmup:
                samples[name].append(elapsed / number)
    return Samples(samples)


def rss_kb(field: str = "VmRSS") -> int:
    """Resident set size of this process in KiB: current (``VmRSS``) or peak (``VmHWM``); 0 without /proc.

    ``VmHWM`` is the peak of this program only: ``ru_maxrss`` would include the parent's RSS at fork.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclasses.dataclass(frozen=True)
class Result:
    """One measured row: a value, optionally a ratio against another row and a target it must meet."""

    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    versus: str = ""
    target: float | None = None  # the ratio must be <= target
    note: str = ""

    @property
    def verdict(self) -> str:
        """``ok`` / ``MISSED`` when there is a target, else empty."""
        if self.target is None or self.ratio is None:
            return ""
        return "ok" if self.ratio <= self.target else "MISSED"


def _value(result: Result) -> str:
    value, unit = result.value, result.unit
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:,.1f} µs"
        if value < 1:
            return f"{value * 1e3:,.2f} ms"
        return f"{value:,.2f} s"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.0f} {unit}".strip()


def _ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if 0.1 <= ratio < 100 else f"{ratio:.2g}x" if ratio < 0.1 else f"{ratio:,.0f}x"


def table(results: Sequence[Result], markdown: bool = False) -> str:
    """The results as an aligned text table (or a Markdown one)."""
    head = ("section", "measurement", "median", "ratio", "vs", "target", "")
    rows = [head]
    for r in results:
        ratio = _ratio(r.ratio) if r.ratio is not None else ""
        target = f"<= {r.target:g}x" if r.target is not None else ""
        name = f"{r.name} ({r.note})" if r.note else r.name
        rows.append((r.section, name, _value(r), ratio, r.versus, target, r.verdict))
    if markdown:
        lines = ["| " + " | ".join(head[:-1]) + " | verdict |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = []
    for n, row in enumerate(rows):
        cells = [cell.rjust(w) if i in (2, 3) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
