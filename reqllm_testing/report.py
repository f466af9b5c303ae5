"""The capability report: a rich provider x capability table, and JSON + Markdown files."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

__all__ = ["render_table", "summarize", "summary_line", "write_report"]

STATUSES = ("passed", "failed", "not recorded")


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, Counter[str]]]:
    """Counts by provider, then capability, then status."""
    table: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for entry in results:
        table[entry["model"].partition(":")[0]][entry["capability"]][entry["status"]] += 1
    return table


def render_table(results: list[dict[str, Any]], terminalreporter: Any, *, everything: bool = True) -> None:
    """Print the provider x capability table (cells: passed/failed/not recorded).

    ``everything=False`` leaves out the providers with nothing recorded (their count is in the summary line).
    """
    from rich.console import Console
    from rich.table import Table

    table_data = summarize(results)
    capabilities = sorted({e["capability"] for e in results})
    table = Table(title="reqllm capabilities (passed / failed / not recorded)")
    table.add_column("provider")
    for cap in capabilities:
        table.add_column(cap, justify="center")
    for provider in sorted(table_data):
        cells = [table_data[provider].get(cap, Counter()) for cap in capabilities]
        if not everything and not any(c["passed"] or c["failed"] for c in cells):
            continue
        table.add_row(provider, *(_cell(c) for c in cells))
    console = Console(file=terminalreporter._tw._file if hasattr(terminalreporter, "_tw") else None,
                      width=max(120, 20 + 16 * len(capabilities)))
    console.print(table)


def summary_line(results: list[dict[str, Any]], *, deselected: int = 0) -> str:
    """One line: passed, failed and not recorded cases, and how to record the missing ones."""
    totals = Counter(e["status"] for e in results)
    line = (f"reqllm capabilities: {totals['passed']} passed, {totals['failed']} failed, "
            f"{totals['not recorded']} not recorded")
    if totals["not recorded"]:
        how = ("deselected, no fixture; " if deselected else "") + \
              "record with: pytest -m capability --reqllm-record=missing --reqllm-provider P (the provider's key set)"
        line += f" ({how}); the table: --reqllm-table"
    return line


def _cell(counts: Counter[str]) -> str:
    if not counts:
        return "-"
    return f"[green]{counts['passed']}[/]/[red]{counts['failed']}[/]/[dim]{counts['not recorded']}[/]"


def _age(path: str) -> str | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        recorded = dt.datetime.fromisoformat(str(data["recorded_at"]).replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    days = (dt.datetime.now(dt.UTC) - recorded).days
    return f"{days}d"


def write_report(results: list[dict[str, Any]], path: Path) -> None:
    """Write ``path``.json (every case) and ``path``.md (per model, per capability, fixture age)."""
    rows = sorted(({**e, "fixture_age": _age(e["fixture"]) if e["status"] != "not recorded" else None}
                   for e in results), key=lambda e: (e["model"], e["capability"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {p: {c: dict(v) for c, v in caps.items()} for p, caps in summarize(results).items()}
    Path(f"{path}.json").write_text(json.dumps({"summary": summary, "cases": rows}, indent=2, sort_keys=True) + "\n",
                                    encoding="utf-8")
    lines = ["# reqllm capability report", "", "| model | capability | status | fixture age |", "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['capability']} | {r['status']} | {r['fixture_age'] or '-'} |" for r in rows
              if r["status"] != "not recorded"]
    missing = sum(1 for r in rows if r["status"] == "not recorded")
    lines += ["", f"{missing} cases not recorded."]
    Path(f"{path}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
