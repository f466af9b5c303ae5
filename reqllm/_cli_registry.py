"""``reqllm models`` and ``reqllm providers``: the registry as rich tables."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the registry subcommands."""
    models = subparsers.add_parser("models", help="list models with capabilities, limits and prices")
    models.add_argument("provider", nargs="?", help="only this provider's models")
    models.set_defaults(handler=_models)
    providers = subparsers.add_parser("providers", help="list providers: protocol, base URL, key, models")
    providers.add_argument("--all", action="store_true", help="also list providers that are not usable, and why")
    providers.set_defaults(handler=_providers)


def _models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import REGISTRY

    table = Table(title=f"models{' of ' + args.provider if args.provider else ''}")
    for column in ("spec", "tools", "reasoning", "objects", "images", "context", "output", "$ in/M", "$ out/M"):
        table.add_column(column)
    for spec in REGISTRY.models(args.provider):
        m = REGISTRY.model(spec)
        cost = m.cost
        table.add_row(spec, _yes(m.tool_call), _yes(m.reasoning), _yes(bool(m.structured_output)),
                      _yes(m.attachment), str(m.limit.context or ""), str(m.limit.output or ""),
                      "" if cost is None or cost.input is None else f"{cost.input:g}",
                      "" if cost is None or cost.output is None else f"{cost.output:g}")
    Console().print(table)
    return 0


def _providers(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import REGISTRY

    table = Table(title="providers")
    for column in ("provider", "protocol", "base URL", "key variable", "models", "status"):
        table.add_column(column)
    for p in REGISTRY.providers(include_unusable=True):
        if not p.usable and not args.all:
            continue
        table.add_row(p.id, p.protocol or "-", p.base_url or "-", ", ".join(p.env) or "(none)",
                      str(len(REGISTRY.models(p.id))), "usable" if p.usable else f"not usable: {p.unusable_reason}")
    Console().print(table)
    return 0


def _yes(value: bool) -> str:
    return "yes" if value else ""
