"""reqllm_testing: record real LLM provider traffic into JSON fixtures and replay it in tests.

    def test_haiku(reqllm_fixture):          # pytest: replay; --reqllm-record to record
        assert reqllm.generate_text("openai:gpt-4o-mini", "Hi").text

    with reqllm_testing.use_fixture("fixtures/demo.json", mode="missing"):   # anywhere else
        reqllm.generate_text("openai:gpt-4o-mini", "Hi")

Names are loaded on first use, so importing the package (the pytest plugin does, in every test
session) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    DecodedMismatchError,
    FixtureCorruptError,
    FixtureMismatchError,
    FixtureNotFoundError,
    NetworkBlockedError,
    ReqLLMTestingError,
    UnusedInteractionsError,
)

if TYPE_CHECKING:
    from . import faults, intercept
    from .matching import Matcher
    from .recorder import FixtureHook, FixtureTransport, RecordingTransport, ReplayTransport
    from .redaction import add_redaction, remove_redaction
    from .session import FixtureSession, use_fixture

__all__ = [
    "DecodedMismatchError",
    "FixtureCorruptError",
    "FixtureHook",
    "FixtureMismatchError",
    "FixtureNotFoundError",
    "FixtureSession",
    "FixtureTransport",
    "Matcher",
    "NetworkBlockedError",
    "RecordingTransport",
    "ReplayTransport",
    "ReqLLMTestingError",
    "UnusedInteractionsError",
    "add_redaction",
    "faults",
    "intercept",
    "remove_redaction",
    "use_fixture",
]

_LAZY = {
    "FixtureHook": "recorder",
    "FixtureSession": "session",
    "FixtureTransport": "recorder",
    "Matcher": "matching",
    "RecordingTransport": "recorder",
    "ReplayTransport": "recorder",
    "add_redaction": "redaction",
    "faults": "",
    "intercept": "",
    "remove_redaction": "redaction",
    "use_fixture": "session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reqllm_testing' has no attribute {name!r}")
    value = importlib.import_module(f".{module or name}", __name__)
    if module:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
