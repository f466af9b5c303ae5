"""``reqllm models`` and ``reqllm providers``: the registry as tables on a terminal, plain text otherwise.

On a terminal the output is a rich table; piped or redirected (CI logs, ``grep``, ``cut``) it is a
header row and tab-separated columns, never truncated; ``--json`` gives JSON either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ._cli_common import print_rows, stdout_is_terminal

if TYPE_CHECKING:
    from .registry import Model, Provider

__all__ = ["register"]

_MODEL_COLUMNS = ("spec", "tools", "reasoning", "objects", "images", "context", "output", "usd_in_per_m",
                  "usd_out_per_m")


def register(subparsers: Any) -> None:
    """Add the registry subcommands."""
    models = subparsers.add_parser(
        "models", help="list models with capabilities, limits and prices",
        description="List a provider's models with capabilities, limits and prices. On a terminal: a table; "
        "piped or redirected: a header row and tab-separated columns; --json: JSON.")
    models.add_argument("provider", nargs="?", help="only this provider's models (see: reqllm providers)")
    models.add_argument("--all", action="store_true", help="every model of every provider")
    models.add_argument("--json", action="store_true", help="print JSON (a list of objects)")
    models.set_defaults(handler=_models)
    providers = subparsers.add_parser(
        "providers", help="list providers: protocol, base URL, key, models",
        description="List the providers reqllm can call. On a terminal: a table; piped or redirected: a "
        "header row and tab-separated columns; --json: JSON.")
    providers.add_argument("--all", action="store_true",
                           help="also list providers that are not usable, and why")
    providers.add_argument("--json", action="store_true", help="print JSON (a list of objects)")
    providers.set_defaults(handler=_providers)


# -- models ---------------------------------------------------------------------------------------
def _model_row(m: Model) -> dict[str, Any]:
    cost = m.cost
    return {"spec": m.spec, "tools": m.tool_call, "reasoning": m.reasoning,
            "objects": bool(m.structured_output), "images": m.attachment,
            "context": m.limit.context, "output": m.limit.output,
            "input_per_m": None if cost is None else cost.input,
            "output_per_m": None if cost is None else cost.output}


def _models(args: argparse.Namespace) -> int:
    from .registry import REGISTRY

    if args.provider is None and not args.all:
        return _models_summary()
    provider = REGISTRY.provider(args.provider) if args.provider else None
    rows = [_model_row(REGISTRY.model(spec)) for spec in REGISTRY.models(args.provider)]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if provider is not None and provider.open_models:
        known = f"; {len(rows)} catalogued:" if rows else ""
        _note(f"{provider.id} takes any model id: the server decides which exist "
              f"(e.g. reqllm.generate_text(\"{provider.id}:<model id>\", ...)){known}")
        if not rows:
            return 0
    elif not rows:
        _note(f"{args.provider}: no models in the catalogue")
        return 0
    if not stdout_is_terminal():
        cells = [[r["spec"], _yes(r["tools"]), _yes(r["reasoning"]), _yes(r["objects"]), _yes(r["images"]),
                  _num(r["context"]), _num(r["output"]), _price(r["input_per_m"]), _price(r["output_per_m"])]
                 for r in rows]
        print_rows(cells, _MODEL_COLUMNS)
        return 0
    _models_table(rows, args.provider)
    return 0


def _models_table(rows: list[dict[str, Any]], provider: str | None) -> None:
    """A compact table for a terminal. The spec column is never cut: on a narrow terminal the columns
    at the right are left out (and the caption says which), never shortened."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    cells = {"spec": [r["spec"] for r in rows]}
    for name, key in (("tool", "tools"), ("rsn", "reasoning"), ("obj", "objects"), ("img", "images")):
        cells[name] = [_tick(r[key]) for r in rows]
    for name, key in (("ctx", "context"), ("out", "output")):
        cells[name] = [_tokens(r[key]) for r in rows]
    for name, key in (("$in", "input_per_m"), ("$out", "output_per_m")):
        cells[name] = [_price(r[key]) for r in rows]
    widths = {name: max(len(name), *(len(v) for v in values)) + 3 for name, values in cells.items()}
    console = Console()
    shown = list(cells)
    while len(shown) > 1 and sum(widths[n] for n in shown) > console.width:
        shown.pop()
    hidden = [n for n in cells if n not in shown]
    legend = {"tool": "tool calls", "rsn": "reasoning", "obj": "structured output", "img": "image input",
              "ctx": "context tokens", "out": "output tokens", "$in": "USD per 1M input tokens",
              "$out": "USD per 1M output tokens"}
    caption = "; ".join(f"{n}: {legend[n]}" for n in shown[1:])
    if hidden:
        caption += f"\n(too narrow for {', '.join(hidden)}: widen the terminal, or pipe / --json for every column)"
    table = Table(title=f"models of {provider}" if provider else f"models ({len(rows)})", box=box.SIMPLE_HEAD,
                  pad_edge=False, caption=caption, caption_justify="left")
    for name in shown:
        table.add_column(name, no_wrap=True, min_width=widths[name] - 3,
                         justify="left" if name == "spec" else "center" if widths[name] < 6 else "right")
    for i in range(len(rows)):
        table.add_row(*(cells[name][i] for name in shown))
    console.print(table)


def _models_summary() -> int:
    from .registry import REGISTRY

    providers = REGISTRY.providers()
    counts = sorted(((len(REGISTRY.models(p.id)), p.id) for p in providers), reverse=True)
    total = sum(c for c, _ in counts)
    largest = ", ".join(f"{pid} ({count})" for count, pid in counts[:5])
    open_ids = ", ".join(p.id for p in providers if p.open_models)
    print(f"{total} models from {len(providers)} usable providers; the most: {largest}.")
    if open_ids:
        print(f"These take any model id: {open_ids}.")
    print("One provider's models: reqllm models PROVIDER (e.g. reqllm models openai); providers: "
          "reqllm providers; every model: reqllm models --all (piped: reqllm models --all | grep gpt-4o).")
    return 0


# -- providers ------------------------------------------------------------------------------------
def _provider_row(p: Provider, count: int) -> dict[str, Any]:
    return {"provider": p.id, "usable": p.usable, "protocol": p.protocol, "base_url": p.base_url,
            "base_url_env": p.base_url_env, "key_variables": list(p.env), "requires_key": p.requires_key,
            "models": count, "any_model_id": p.open_models, "why_not": p.unusable_reason}


def _providers(args: argparse.Namespace) -> int:
    from .registry import REGISTRY

    everything = sorted(REGISTRY.providers(include_unusable=True), key=lambda p: p.id)
    usable = [p for p in everything if p.usable]
    blocked = [p for p in everything if not p.usable] if args.all else []
    counts = {p.id: len(REGISTRY.models(p.id)) for p in [*usable, *blocked]}
    if args.json:
        json.dump([_provider_row(p, counts[p.id]) for p in [*usable, *blocked]], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not stdout_is_terminal():
        header = ["provider", "protocol", "base_url", "key_variable", "models"] + (["why_not"] if args.all else [])
        rows = [[p.id, p.protocol or "-", _base_url(p), _key(p), _model_count(p, counts[p.id]),
                 *([""] if args.all else [])] for p in usable]
        rows += [[p.id, "-", "-", ", ".join(p.env) or "-", str(counts[p.id]), p.unusable_reason or ""]
                 for p in blocked]
        print_rows(rows, header)
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"providers reqllm can call ({len(usable)})")
    for column in ("provider", "protocol", "base URL", "key variable", "models"):
        table.add_column(column, overflow="fold")
    for p in usable:
        cells = (p.id, p.protocol or "-", _base_url(p), _key(p), _model_count(p, counts[p.id]))
        table.add_row(*(Text(c) for c in cells))
    console = Console()
    console.print(table)
    if not args.all:
        console.print(Text("(--all adds the catalogued providers reqllm cannot call, and why)"))
        return 0
    table = Table(title=f"catalogued providers reqllm cannot call yet ({len(blocked)})")
    for column in ("provider", "variables", "models", "why not"):
        table.add_column(column, overflow="fold")
    for p in blocked:
        why = (p.id, ", ".join(p.env) or "-", str(counts[p.id]), p.unusable_reason or "")
        table.add_row(*(Text(c) for c in why))
    console.print(table)
    return 0


def _note(text: str) -> None:
    print(text)


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
    return "yes" if value else "no"


def _tick(value: bool) -> str:
    return "✓" if value else ""


def _tokens(value: int | None) -> str:
    if not value:
        return ""
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    return f"{value / 1000:.0f}k" if value >= 10_000 else str(value)


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:g}"

