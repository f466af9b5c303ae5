"""Repository-wide pytest configuration: hypothesis profiles, and one line naming what was skipped and why."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import httpcore  # noqa: F401  (see below)
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# httpx imports httpcore lazily and keeps a map of httpcore's exception classes after the first
# request. pytester's in-process runs drop the modules first imported inside them, so an httpcore
# imported there would come back as new classes that map does not know, and a raw
# httpcore.RemoteProtocolError would escape instead of httpx's. Importing it here keeps one copy.

_SKIPPED: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count skipped tests by reason (reports from xdist workers arrive here too)."""
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        _SKIPPED[str(report.longrepr[2]).removeprefix("Skipped: ")] += 1


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """``skipped N: k x reason; ...`` in one line, so that nothing skips silently (e.g. an absent corpus)."""
    if _SKIPPED and not hasattr(config, "workerinput"):
        reasons = "; ".join(f"{count} x {reason}" for reason, count in _SKIPPED.most_common())
        terminalreporter.write_line(f"skipped {sum(_SKIPPED.values())}: {reasons}")
