"""The errors reqllm_testing raises. They are not ``reqllm.ReqLLMError``s, so the core never catches them.

::

    ReqLLMTestingError
    ├── FixtureNotFoundError      replay needs a fixture file that does not exist (.path, .command)
    ├── FixtureCorruptError       not valid JSON, truncated, unknown version, a field off its schema
                                  (.json_path of the first bad field, .command that re-records it)
    ├── FixturePermissionError    a fixture or its directory this OS user may not read or write (names it)
    ├── FixtureMismatchError      no recorded request matches the actual one (.diff vs the nearest)
    ├── DecodedMismatchError      a recorded response decodes differently now (.cause: edited / parser)
    ├── UnusedInteractionsError   recorded interactions the test never asked for
    ├── NetworkBlockedError       a reqllm call outside any fixture under --reqllm-block-network
    ├── InvalidModeError          a record mode that is not replay / missing / record (also a ValueError)
    ├── InvalidFieldPathError     an ``ignore_fields`` path that cannot be parsed (also a ValueError)
    └── ScriptError               a script that cannot answer: bad item, unknown request, no item left
        ├── ScriptExhaustedError  a request after the last item (.request shows it)
        └── UnusedScriptItemsError  items the code under test never asked for (.items)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DecodedMismatchError",
    "FixtureCorruptError",
    "FixtureMismatchError",
    "FixtureNotFoundError",
    "FixturePermissionError",
    "InvalidFieldPathError",
    "InvalidModeError",
    "NetworkBlockedError",
    "ReqLLMTestingError",
    "ScriptError",
    "ScriptExhaustedError",
    "UnusedInteractionsError",
    "UnusedScriptItemsError",
]


class ReqLLMTestingError(Exception):
    """Base of every error reqllm_testing raises; ``path`` is the fixture file concerned (if any)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None


class FixtureNotFoundError(ReqLLMTestingError):
    """Replay mode and no fixture file: ``command`` is how to record it."""

    def __init__(self, message: str, *, path: str | Path | None = None, command: str | None = None) -> None:
        super().__init__(message, path=path)
        self.command = command


class FixtureCorruptError(ReqLLMTestingError):
    """The fixture file cannot be loaded: invalid JSON, truncated, wrong shape or unknown version.

    ``json_path`` is the first field that does not fit the format's schema (``$.interactions[0].meta``),
    ``command`` the command that re-records the file.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, json_path: str | None = None,
                 command: str | None = None) -> None:
        super().__init__(message, path=path)
        self.json_path = json_path
        self.command = command

    def with_command(self, command: str) -> FixtureCorruptError:
        """The same error naming ``command`` as the way to re-record the file."""
        message = self.message.replace(self.command, command) if self.command else \
            f"{self.message}; re-record it with: {command}"
        return FixtureCorruptError(message, path=self.path, json_path=self.json_path, command=command)


class FixturePermissionError(ReqLLMTestingError):
    """The fixture (or its directory) exists but this OS user may not read or write it; names the path."""


class FixtureMismatchError(ReqLLMTestingError):
    """The actual request matches no (unused) recorded one; ``diff`` shows the nearest recorded request."""

    def __init__(self, message: str, *, path: str | Path | None = None, diff: str = "") -> None:
        super().__init__(message, path=path)
        self.diff = diff


class DecodedMismatchError(ReqLLMTestingError):
    """Re-decoding a recorded response gives another result than its stored decoded part.

    ``cause`` says which side changed: ``"edited"`` (the recorded response was edited after its decoded
    part was written), ``"parser"`` (the response is as recorded: the parser changed) or ``"unknown"``
    (a fixture written before reqllm kept the fingerprint that tells them apart).
    """

    def __init__(self, message: str, *, path: str | Path | None = None, diff: str = "",
                 cause: str = "unknown") -> None:
        super().__init__(message, path=path)
        self.diff = diff
        self.cause = cause


class UnusedInteractionsError(ReqLLMTestingError):
    """Recorded interactions that the code under test never requested."""


class NetworkBlockedError(ReqLLMTestingError):
    """A reqllm call outside a fixture while --reqllm-block-network is set."""


class ScriptError(ReqLLMTestingError):
    """A script cannot answer: an item no protocol can encode, a request it does not understand."""


class ScriptExhaustedError(ScriptError):
    """A request arrived after the script's last item; ``request`` describes it."""

    def __init__(self, message: str, *, request: str = "") -> None:
        super().__init__(message)
        self.request = request


class UnusedScriptItemsError(ScriptError):
    """Script items the code under test never asked for; ``items`` lists them."""

    def __init__(self, message: str, *, items: list[str] | None = None) -> None:
        super().__init__(message)
        self.items = items or []


class InvalidModeError(ReqLLMTestingError, ValueError):
    """A record mode outside the vocabulary (``replay``, ``missing``, ``record``; aliases ``all``, ``none``)."""


class InvalidFieldPathError(ReqLLMTestingError, ValueError):
    """An ``ignore_fields`` entry that is not a field path such as ``messages[0].content`` or ``a.*.b``."""
