"""How much each benchmark does: the full run, and ``--quick`` (tiny sizes, for the smoke test)."""

from __future__ import annotations

import dataclasses

__all__ = ["FULL", "QUICK", "Sizes"]


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Operations per timed round, rounds, and the sizes of streams, fixtures and process runs."""

    number: int = 100
    repeat: int = 21
    stream_deltas: tuple[int, ...] = (1_000, 20_000)
    stream_repeat: int = 7
    large: tuple[int, ...] = (1, 100, 1_000)
    large_number: int = 5
    startup_runs: int = 7
    lookups: int = 20_000
    memory_calls: tuple[int, int] = (1_000, 10_000)
    memory_deltas: int = 20_000
    matrix: bool = True
    suite_tests: int = 1_000
    suite_repeat: int = 3
    plugin_tests: int = 2_000
    plugin_repeat: int = 7
    quick: bool = False


FULL = Sizes()
QUICK = Sizes(number=5, repeat=2, stream_deltas=(20, 50), stream_repeat=2, large=(1, 3, 10), large_number=2,
              startup_runs=1, lookups=200, memory_calls=(20, 50), memory_deltas=50, matrix=True,
              suite_tests=20, suite_repeat=1, plugin_tests=50, plugin_repeat=1, quick=True)
