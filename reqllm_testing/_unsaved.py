"""Recordings that were made but not (yet) saved: reported loudly at the end, never dropped in silence.

A ``FixtureTransport`` recording holds itself here from its creation until it is saved or discarded
(its owner ended with an exception). Whatever is still held when the pytest session ends (the
plugin reports it and fails the run) or, outside pytest, when the interpreter exits (a message on
stderr) is a recording whose client was never closed, or was closed while an exception was raised.
No heavy imports: the pytest plugin imports this module at the end of every session.
"""

from __future__ import annotations

import atexit
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Recording", "hold", "release", "take"]


class Recording(Protocol):
    """What is reported of a recording: its file and how many interactions it holds."""

    path: Path
    entries: list[Any]


_held: dict[int, tuple[Recording, str]] = {}
_lock = threading.Lock()
_atexit = [False]

NEVER_CLOSED = "its transport (or the client using it) was never closed"


def hold(recording: Recording, reason: str = NEVER_CLOSED) -> None:
    """Hold ``recording`` as unsaved, for ``reason``, until ``release``."""
    with _lock:
        _held[id(recording)] = (recording, reason)
        if not _atexit[0]:
            _atexit[0] = True
            atexit.register(_report_at_exit)


def release(recording: Recording) -> None:
    """``recording`` was saved or deliberately discarded."""
    with _lock:
        _held.pop(id(recording), None)


def take() -> list[str]:
    """One line per recording still unsaved that holds interactions (and forget them all)."""
    with _lock:
        held = list(_held.values())
        _held.clear()
    return [f"recording not saved: {r.path} ({len(r.entries)} interaction(s)): {reason}; close the client "
            f"(or use `with FixtureTransport(...)`) when the code under it succeeds, then record again"
            for r, reason in held if r.entries]


def _report_at_exit() -> None:
    for line in take():
        print(f"reqllm_testing: {line}", file=sys.stderr)
