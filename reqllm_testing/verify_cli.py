"""``reqllm verify SPEC... [-c CAPABILITY] [--record[=MODE]]``: run capability verifiers, print a table.

Fixtures are looked up where pytest's capability matrix keeps them: ``reqllm_fixtures_dir`` from the
project's pytest configuration (or ``--fixtures-dir``), then ``<provider>/<model>/<capability>.json``.
A recording whose capability fails is not written: the previous fixture, if any, stays.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    from .modes import MODES_HELP

    parser = subparsers.add_parser(
        "verify", help="verify models' capabilities (replay fixtures, or --record)",
        description="Verify what models advertise, by replaying their capability fixtures (or recording "
        "them with --record). Fixtures live in reqllm_fixtures_dir of the project's pytest configuration "
        "(pytest.toml, pytest.ini, pyproject.toml, tox.ini or setup.cfg), or --fixtures-dir.")
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="model specs, e.g. openai:gpt-4o-mini")
    parser.add_argument("--capability", "-c", action="append", default=None,
                        help="only this capability (repeatable); default: every advertised one")
    parser.add_argument("--record", nargs="?", const="record", default=None, metavar="MODE",
                        help=f"record mode (a bare --record means 'record'; needs the provider's API key). "
                        f"Modes: {MODES_HELP}")
    parser.add_argument("--fixtures-dir", type=Path, default=None,
                        help="where capability fixtures live (default: reqllm_fixtures_dir from the pytest "
                        "configuration, else tests/fixtures/reqllm)")
    parser.add_argument("--live", action="store_true", help="call providers directly, without fixtures")
    parser.add_argument("--allow-unknown", action="store_true",
                        help="verify a model the catalogue does not list (yet)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=_verify)


def _check_specs(specs: list[str], allow_unknown: bool) -> None:
    """Every spec names a known provider and (unless allow_unknown) a catalogued model."""
    import reqllm
    from reqllm._cli_common import CLIError
    from reqllm.errors import UnknownModelError

    for spec in specs:
        try:
            reqllm.model(spec, allow_unknown=allow_unknown)
        except UnknownModelError as exc:
            message = str(exc).split("; pass allow_unknown=True", 1)[0]
            raise CLIError(message, hint="--allow-unknown verifies a model the catalogue does not list "
                                         "yet") from None


def _check_capabilities(names: list[str]) -> None:
    from reqllm._cli_common import CLIError

    from .capabilities import CAPABILITIES

    for name in names:
        if name not in CAPABILITIES:
            close = difflib.get_close_matches(name, list(CAPABILITIES), n=1, cutoff=0.5)
            raise CLIError(f"unknown capability {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                           hint=f"the capabilities: {', '.join(CAPABILITIES)}")


def _verify(args: argparse.Namespace) -> int:
    from reqllm._cli_common import print_rows, stdout_is_terminal

    from .modes import normalize_mode
    from .project_config import FixturesDir, find_fixtures_dir

    mode = normalize_mode(args.record, where="--record") if args.record is not None else "replay"
    _check_capabilities(args.capability or [])
    _check_specs(args.specs, args.allow_unknown)
    root = FixturesDir(args.fixtures_dir.resolve(), "--fixtures-dir") if args.fixtures_dir else find_fixtures_dir()
    if not args.live:
        print(f"fixtures: {root.path} ({root.source})", file=sys.stderr)

    from .capabilities import advertised_capabilities

    jobs = [(spec, cap) for spec in args.specs for cap in (args.capability or advertised_capabilities(spec))]
    rows = [_run_case(spec, cap, root.path, mode, args.live) for spec, cap in _progress(jobs)]
    if args.json:
        json.dump([dict(zip(("model", "capability", "status", "detail"), r, strict=True)) for r in rows],
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not stdout_is_terminal():
        print_rows(rows, ["model", "capability", "status", "detail"])
    else:
        _table(rows)
    counts = {s: sum(r[2] == s for r in rows) for s in ("passed", "failed", "not recorded")}
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['not recorded']} not recorded",
          file=sys.stderr)
    return 1 if counts["failed"] else 0


def _progress(jobs: list[tuple[str, str]]) -> Any:
    """The jobs, with a transient progress bar on a terminal's stderr."""
    if not sys.stderr.isatty():
        yield from jobs
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("verifying", total=len(jobs))
        for job in jobs:
            progress.update(task, description=f"{job[0]}/{job[1]}")
            yield job
            progress.advance(task)


class _NotWritten(Exception):
    """Raised inside a recording block so that a failed capability's recording is not written."""


def _run_case(spec: str, cap: str, root: Path, mode: str, live: bool) -> tuple[str, str, str, str]:
    from .block import use_fixture
    from .capabilities import CapabilityResult, verify
    from .errors import ReqLLMTestingError
    from .matrix import fixture_path

    if live:
        result = verify(spec, cap)
        return spec, cap, _status(result), "" if result.passed else result.summary()
    path = fixture_path(root, spec, cap)
    if mode == "replay" and not path.exists():
        return spec, cap, "not recorded", (f"no {path}; record it with: reqllm verify {spec} -c {cap} "
                                           f"--record=missing (with the provider's API key set)")
    block = use_fixture(path, mode=mode, allow_unused=True)
    recording = block.session.mode == "record"
    outcome: CapabilityResult | None = None
    try:
        with block:
            outcome = verify(spec, cap)
            if recording and not outcome.passed:
                raise _NotWritten
    except _NotWritten:
        kept = "the previous fixture is kept" if path.exists() else "nothing was written"
        assert outcome is not None
        return spec, cap, "failed", f"{outcome.summary()} — not written: capability failed ({kept})"
    except ReqLLMTestingError as exc:
        return spec, cap, "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    assert outcome is not None
    detail = f"recorded {path}" if recording else ("" if outcome.passed else outcome.summary())
    if not outcome.passed and not recording:
        detail = f"{detail} (replayed from {path})"
    return spec, cap, _status(outcome), detail


def _status(result: Any) -> str:
    return "passed" if result.passed else "failed"


def _table(rows: list[tuple[str, str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="reqllm verify")
    for i, column in enumerate(("model", "capability", "status", "detail")):
        table.add_column(column, no_wrap=i < 3, overflow="fold")
    colours = {"passed": "green", "failed": "red", "not recorded": "yellow"}
    for spec, cap, status, detail in rows:
        table.add_row(Text(spec), Text(cap), Text(status, style=colours[status]), Text(detail))
    Console().print(table)
