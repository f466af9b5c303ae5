"""``reqllm models`` and ``reqllm providers``: the registry as rich tables."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Provider

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the registry subcommands."""
    models = subparsers.add_parser("models", help="list models with capabilities, limits and prices")
    models.add_argument("provider", nargs="?", help="only this provider's models")
    models.set_defaults(handler=_models)
    providers = subparsers.add_parser("providers", help="list providers: protocol, base URL, key, models")
    providers.add_argument("--all", action="store_true",
                           help="also list providers that are not usable, and why")
    providers.set_defaults(handler=_providers)


def _models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import REGISTRY

    table = Table(title=f"models{' of ' + args.provider if args.provider else ''}")
    columns = ("spec", "tools", "reasoning", "objects", "images", "context", "output", "$ in/M", "$ out/M")
    for column in columns:
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
    from rich.text import Text

    from .registry import REGISTRY

    everything = sorted(REGISTRY.providers(include_unusable=True), key=lambda p: p.id)
    usable = [p for p in everything if p.usable]
    table = Table(title=f"providers reqllm can call ({len(usable)})")
    for column in ("provider", "protocol", "base URL", "key variable", "models"):
        table.add_column(column, overflow="fold")
    for p in usable:
        cells = (p.id, p.protocol or "-", _base_url(p), _key(p), _model_count(p, len(REGISTRY.models(p.id))))
        table.add_row(*(Text(c) for c in cells))
    console = Console()
    console.print(table)
    if not args.all:
        console.print(Text("(--all adds the catalogued providers reqllm cannot call, and why)"))
        return 0
    blocked = [p for p in everything if not p.usable]
    table = Table(title=f"catalogued providers reqllm cannot call yet ({len(blocked)})")
    for column in ("provider", "variables", "models", "why not"):
        table.add_column(column, overflow="fold")
    for p in blocked:
        why = (p.id, ", ".join(p.env) or "-", str(len(REGISTRY.models(p.id))), p.unusable_reason or "")
        table.add_row(*(Text(c) for c in why))
    console.print(table)
    return 0


def _base_url(p: Provider) -> str:
    url = p.base_url or "-"
    return f"{url} (or ${p.base_url_env})" if p.base_url_env else url


def _key(p: Provider) -> str:
    if p.needs:
        return p.needs
    names = ", ".join(p.env)
    if p.requires_key:
        return names or "(none declared)"
    return f"optional: {names}" if names else "none needed"


def _model_count(p: Provider, count: int) -> str:
    return f"{count} + any id" if p.open_models else str(count)


def _yes(value: bool) -> str:
    return "yes" if value else ""
