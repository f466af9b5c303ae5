"""What every ``reqllm`` subcommand shares: the one-line error type and plain-text output for pipes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["CLIError", "print_rows", "stdout_is_terminal"]


class CLIError(Exception):
    """An error a subcommand reports as one line; ``hint`` (the next command to type) goes on a second line."""

    def __init__(self, message: str, *, hint: str | None = None, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


def print_rows(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Plain text for pipes and CI logs: a header row and tab-separated columns, nothing truncated."""
    out = sys.stdout
    out.write("\t".join(header) + "\n")
    for row in rows:
        out.write("\t".join("" if v is None else str(v) for v in row) + "\n")
    out.flush()


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal (tables), False for pipes, files and CI logs (plain text)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
