"""The ``reqllm`` command line: ``reqllm models | providers | verify | fixtures ...``.

Subcommands come from modules that register on the ``reqllm.cli`` entry-point group (each entry
point names a function ``register(subparsers)``), so ``reqllm_testing`` adds ``fixtures`` and
``verify`` without the client package importing it.

Every error ends the command with one line on stderr (and a did-you-mean or the command to type
next, where there is one) and a non-zero exit status: 2 for wrong input, 1 for anything else.
``--debug`` (anywhere on the line, or ``REQLLM_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import NoReturn

from ._cli_common import CLIError

__all__ = ["CLIError", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a did-you-mean for a mistyped subcommand or choice."""

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        hint = f"see: {self.prog} --help"
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2)) or choice.group(2).split(", ")
            close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.5)
            message = f"unknown {'command' if 'COMMAND' in message else 'choice'} {choice.group(1)!r}"
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"(one of: {', '.join(options)})"
        sys.stderr.write(f"{self.prog}: error: {message}\n{hint}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = _Parser(prog="reqllm", description="One API for every LLM provider.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from ._cli_registry import register

    register(subparsers)
    for ep in sorted(entry_points(group="reqllm.cli"), key=lambda e: e.name):
        ep.load()(subparsers)
    _add_debug(parser, top=True)
    return parser


def _add_debug(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--debug`` on the parser and every subcommand (so it may follow the subcommand)."""
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="on an error, show the Python traceback")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                _add_debug(sub)


def _one_line(exc: BaseException) -> tuple[str, str | None]:
    """The first line of an error's message, and what to do next (the rest of a long message is elided)."""
    if isinstance(exc, CLIError):
        return exc.message, exc.hint
    text = str(exc).strip() or type(exc).__name__
    first, _, rest = text.partition("\n")
    if rest.strip():
        return first, "(more detail with --debug)"
    return first, None


def _is_input_error(exc: BaseException) -> bool:
    from .errors import ConfigurationError

    return isinstance(exc, ConfigurationError | FileNotFoundError | ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 wrong input, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("REQLLM_DEBUG", "") not in ("", "0")
    prog = "reqllm"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        prog = f"reqllm {args.command}" if getattr(args, "command", None) else "reqllm"
        debug = debug or bool(getattr(args, "debug", False))
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
        result: int = handler(args)
        return result
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
    except BrokenPipeError:  # `reqllm models openai | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except Exception as exc:
        if debug:
            raise
        return _report(prog, exc)


def _report(prog: str, exc: Exception) -> int:
    message, hint = _one_line(exc)
    status = exc.status if isinstance(exc, CLIError) else 2 if _is_input_error(exc) else 1
    if not isinstance(exc, CLIError) and not _known(exc):  # a bug: say so, and how to see more
        message = f"unexpected {type(exc).__name__}: {message}"
        hint = "run again with --debug for the traceback, and report it"
    sys.stderr.write(f"{prog}: error: {message}\n" + (f"{hint}\n" if hint else ""))
    sys.stderr.flush()
    return status


def _known(exc: Exception) -> bool:
    """Errors with a message meant for users: reqllm's, reqllm_testing's, the OS's."""
    from .errors import ReqLLMError

    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, ReqLLMError | OSError) or "ReqLLMTestingError" in names


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise BrokenPipeError again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
