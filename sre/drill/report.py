"""`sre drill dr` output: per cycle, its steps, the totals and every tier's final state; a table or JSON."""

from __future__ import annotations

import json

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sre.drill.dr import Cycle, Report


def as_json(report: Report) -> str:
    return json.dumps(report.body(), indent=2)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _cycles(report: Report) -> Table:
    table = Table(title=f"{report.runbook}: {len(report.cycles)} cycles, {report.writers} writers")
    for name in (
        "cycle",
        "switch",
        "run",
        "state",
        "took",
        "RTO",
        "acked",
        "lost",
        "data age",
        "slowest step",
    ):
        table.add_column(
            name, justify="right" if name in ("cycle", "took", "RTO", "acked", "lost") else "left"
        )
    for c in report.cycles:
        timed = [s for s in c.steps if s.seconds is not None]
        slowest = max(timed, key=lambda s: s.seconds or 0.0, default=None)
        table.add_row(
            str(c.number),
            f"{c.from_} -> {c.to}",
            c.run_id or "-",
            Text(c.state or "-", style="green" if c.ok else "bold red"),
            _secs(c.ended - c.started),
            _secs(c.rto_seconds),
            str(c.rows_acknowledged),
            Text(str(c.rows_lost), style="bold red" if c.rows_lost else "green"),
            _secs(c.data_age_seconds),
            f"{slowest.id} {_secs(slowest.seconds)}" if slowest else "-",
        )
    return table


def _steps(cycle: Cycle) -> Table:
    table = Table(title=f"cycle {cycle.number} steps ({cycle.from_} -> {cycle.to})", title_justify="left")
    for name in ("step", "outcome", "time", "reason"):
        table.add_column(name, justify="right" if name == "time" else "left")
    style = {"failed": "bold red", "compensated": "yellow", "skipped": "magenta", "not run": "dim"}
    for s in cycle.steps:
        table.add_row(s.id, Text(s.outcome, style=style.get(s.outcome, "green")), _secs(s.seconds), s.reason)
    return table


def as_table(report: Report) -> RenderableType:
    summary = report.summary()
    verdict = Text(
        "PASS" if report.ok else "FAIL",
        style="bold green" if report.ok else "bold red",
    )
    totals = Text.assemble(
        verdict,
        f"  RTO p50 {summary['rto_p50']:.2f} s, p95 {summary['rto_p95']:.2f} s,"
        f" max {summary['rto_max']:.2f} s; {summary['rows_acknowledged']} rows acknowledged, ",
        Text(f"{summary['rows_lost']} lost", style="bold red" if summary["rows_lost"] else "green"),
        f"; {summary['failed_writes']} writes refused during the cut-overs",
    )
    tiers = Table(title="final state of every tier", title_justify="left")
    services = sorted({s for row in report.tiers.values() for s in row})
    tiers.add_column("tier")
    for s in services:
        tiers.add_column(s)
    for tier, row in report.tiers.items():
        tiers.add_row(tier, *(row.get(s, "-") for s in services))
    parts: list[RenderableType] = [_cycles(report)]
    # Every step of the first cycle shows where the time goes; a failed cycle shows where it broke.
    shown = [c for i, c in enumerate(report.cycles) if i == 0 or not c.ok]
    parts += [_steps(c) for c in shown]
    parts += [
        Text(f"cycle {c.number} FAILED: {c.failure}", style="bold red") for c in report.cycles if not c.ok
    ]
    parts += [tiers, totals, *(Text(f"note: {n}", style="dim") for n in report.notes)]
    return Group(*parts)
