"""The ``reqllm`` command line: ``reqllm models | providers | verify | fixtures ...``.

Subcommands come from modules that register on the ``reqllm.cli`` entry-point group (each entry
point names a function ``register(subparsers)``), so ``reqllm_testing`` adds ``fixtures`` and
``verify`` without the client package importing it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="reqllm", description="One API for every LLM provider.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from ._cli_registry import register

    register(subparsers)
    for ep in sorted(entry_points(group="reqllm.cli"), key=lambda e: e.name):
        ep.load()(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
