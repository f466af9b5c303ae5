"""``reqllm verify SPEC... [--capability C] [--record]``: run capability verifiers, print a table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser("verify", help="verify models' capabilities (replay fixtures, or --record)")
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="model specs, e.g. openai:gpt-4o-mini")
    parser.add_argument("--capability", "-c", action="append", default=None,
                        help="only this capability (repeatable); default: every advertised one")
    parser.add_argument("--record", nargs="?", const="record", default=None, choices=["record", "missing"],
                        help="record fixtures against the live provider (needs its API key)")
    parser.add_argument("--fixtures-dir", type=Path, default=Path("fixtures"),
                        help="where capability fixtures live (default: ./fixtures)")
    parser.add_argument("--live", action="store_true", help="call providers directly, without fixtures")
    parser.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .capabilities import CAPABILITIES, CapabilityResult, advertised_capabilities, verify
    from .matrix import fixture_path
    from .session import use_fixture

    console = Console()
    unknown = [c for c in args.capability or () if c not in CAPABILITIES]
    if unknown:
        console.print(f"[red]unknown capability {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}")
        return 2
    jobs = [(spec, cap) for spec in args.specs
            for cap in (args.capability or advertised_capabilities(spec))]
    rows: list[tuple[str, str, str, str]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("verifying", total=len(jobs))
        for spec, cap in jobs:
            path = fixture_path(args.fixtures_dir, spec, cap)
            progress.update(task, description=f"{spec}/{cap}")
            result: CapabilityResult | None = None
            if args.live:
                result = verify(spec, cap)
            elif args.record is None and not path.exists():
                rows.append((spec, cap, "not recorded", str(path)))
            else:
                mode = args.record or "replay"
                try:
                    with use_fixture(path, mode=mode, allow_unused=True):
                        result = verify(spec, cap)
                except Exception as exc:  # a fixture error is this case's failure, not the command's
                    rows.append((spec, cap, "failed", f"{type(exc).__name__}: {exc}"[:200]))
            if result is not None:
                rows.append((spec, cap, "passed" if result.passed else "failed",
                             "" if result.passed else result.summary()[:200]))
            progress.advance(task)
    table = Table(title="reqllm verify")
    for column in ("model", "capability", "status", "detail"):
        table.add_column(column)
    colours = {"passed": "green", "failed": "red", "not recorded": "yellow"}
    for spec, cap, status, detail in rows:
        table.add_row(spec, cap, f"[{colours[status]}]{status}[/]", detail)
    console.print(table)
    return 1 if any(r[2] == "failed" for r in rows) else 0
