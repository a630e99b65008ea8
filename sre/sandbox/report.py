"""`sre sandbox status` output: every service in every tier, and the components, as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sre.sandbox.state import SandboxState, TierRow

STYLE = {
    "running": "green",
    "stopped": "yellow",
    "failed": "bold red",
    "skipped": "magenta",
    "not_in_sandbox": "dim",
}
LABEL = {"not_in_sandbox": "not in sandbox"}


def as_json(root: str, state: SandboxState, rows: list[TierRow], processes: dict[str, bool]) -> str:
    body: dict[str, Any] = {
        "dir": root,
        "up": state.complete,
        "profile": state.profile,
        "environment_file": state.environment_file,
        "services": [row.model_dump() for row in rows],
        "components": [c.model_dump() for c in state.components],
        "processes": [
            {
                "name": r.name,
                "component": r.component,
                "running": processes.get(r.name, False),
                "pid": r.pid,
                "ports": r.ports,
                "log": r.log,
            }
            for r in state.processes.values()
        ],
    }
    return json.dumps(body, indent=2)


def collapse(rows: list[TierRow]) -> list[TierRow]:
    """One row for a service whose tiers all share a state and reason (not in sandbox, skipped)."""
    out: list[TierRow] = []
    by_service: dict[str, list[TierRow]] = {}
    for row in rows:
        by_service.setdefault(row.service, []).append(row)
    for service_rows in by_service.values():
        first = service_rows[0]
        same = all(
            r.state == first.state and r.reason == first.reason and not r.endpoint for r in service_rows
        )
        if len(service_rows) > 1 and same:
            out.append(first.model_copy(update={"tier": "all"}))
        else:
            out.extend(service_rows)
    return out


def tier_table(title: str, rows: list[TierRow]) -> Table:
    table = Table(title=title)
    for column in ("service", "tier", "state", "endpoint", "why"):
        table.add_column(column, overflow="fold")
    previous = None
    for row in collapse(rows):
        style = STYLE.get(row.state, "")
        table.add_row(
            row.service if row.service != previous else "",
            row.tier,
            f"[{style}]{LABEL.get(row.state, row.state)}[/]",
            row.endpoint or "",
            row.reason,
            end_section=False,
        )
        previous = row.service
    return table


WIDE_ENOUGH = 120  # columns below which status is one block per service


def tier_blocks(title: str, rows: list[TierRow]) -> Group:
    """For a narrow terminal: a line per service (or per tier of it), endpoints whole, then why."""
    lines = [Text(title, style="bold")]
    collapsed = collapse(rows)
    width = max((len(r.tier) for r in collapsed), default=0)
    previous = None
    for row in collapsed:
        state = LABEL.get(row.state, row.state)
        detail = " ".join(bit for bit in (row.endpoint or "", row.reason) if bit)
        if row.tier == "all":
            lines.append(
                Text.assemble((row.service, "bold"), "  ", (state, STYLE.get(row.state, "")), f"  {detail}")
            )
            previous = None
            continue
        if row.service != previous:
            lines.append(Text(row.service, style="bold"))
        previous = row.service
        lines.append(
            Text.assemble(f"  {row.tier:<{width}}  ", (state, STYLE.get(row.state, "")), f"  {detail}")
        )
    return Group(*lines)


def component_table(state: SandboxState, processes: dict[str, bool]) -> Table:
    table = Table(title="components")
    for column in ("component", "state", "processes", "runs on / why"):
        table.add_column(column, overflow="fold")
    for comp in state.components:
        procs = [
            f"{r.name} {'up' if processes.get(r.name) else 'down'}"
            for r in state.processes.values()
            if r.component == comp.name
        ]
        urls = ", ".join(f"{k} {v}" for k, v in comp.urls.items())
        detail = comp.reason or comp.title + (f"; {urls}" if urls else "")
        style = STYLE.get(comp.state, "")
        table.add_row(comp.name, f"[{style}]{comp.state}[/]", ", ".join(procs), detail)
    return table
