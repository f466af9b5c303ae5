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
    FixturePermissionError,
    InvalidFieldPathError,
    InvalidModeError,
    NetworkBlockedError,
    ReqLLMTestingError,
    ScriptError,
    ScriptExhaustedError,
    UnusedInteractionsError,
    UnusedScriptItemsError,
)

if TYPE_CHECKING:
    from . import faults, intercept
    from .block import use_fixture
    from .matching import Matcher
    from .recorder import FixtureHook, FixtureTransport, RecordingTransport, ReplayTransport
    from .redaction import add_redaction, remove_redaction
    from .reply import Embeddings, Fault, Reply, disconnect, http_error, overloaded, rate_limited
    from .script import Script, ScriptRequest
    from .session import FixtureSession
    from .wire import encode

__all__ = [
    "DecodedMismatchError",
    "Embeddings",
    "Fault",
    "FixtureCorruptError",
    "FixtureHook",
    "FixtureMismatchError",
    "FixtureNotFoundError",
    "FixturePermissionError",
    "FixtureSession",
    "FixtureTransport",
    "InvalidFieldPathError",
    "InvalidModeError",
    "Matcher",
    "NetworkBlockedError",
    "RecordingTransport",
    "ReplayTransport",
    "Reply",
    "ReqLLMTestingError",
    "Script",
    "ScriptError",
    "ScriptExhaustedError",
    "ScriptRequest",
    "UnusedInteractionsError",
    "UnusedScriptItemsError",
    "add_redaction",
    "disconnect",
    "encode",
    "faults",
    "http_error",
    "intercept",
    "overloaded",
    "rate_limited",
    "remove_redaction",
    "use_fixture",
]

_LAZY = {
    "Embeddings": "reply",
    "Fault": "reply",
    "Reply": "reply",
    "Script": "script",
    "ScriptRequest": "script",
    "disconnect": "reply",
    "encode": "wire",
    "http_error": "reply",
    "overloaded": "reply",
    "rate_limited": "reply",
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
    "use_fixture": "block",
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
