"""The run as a rich table: a section per DC tier (with its verdict), rows grouped by zone."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sre.probes.conditions import format_duration
from sre.probes.model import Result, Status
from sre.probes.output.escape import visible
from sre.probes.verdict import Topology, tier_verdict

STYLE = {
    Status.ok: "green",
    Status.degraded: "yellow",
    Status.failed: "bold red",
    Status.expected_down: "blue",
    Status.skipped: "dim",
}
VERDICT_STYLE = {
    "healthy": "green",
    "degraded": "yellow",
    "critical": "bold red",
    "down": "bold red",
    "incomplete": "yellow",
    "not probed": "dim",
}


def render(
    results: list[Result], tiers: Iterable[str], zones: Iterable[str], topology: Topology | None = None
) -> Group:
    parts: list[Table | Text] = []
    zone_order = list(zones)
    for tier in tiers:
        in_tier = [r for r in results if r.tier == tier]
        if not in_tier:
            continue
        verdict = tier_verdict(tier, in_tier, topology)
        style = "blue" if verdict.expected else VERDICT_STYLE[verdict.word]
        head = (visible(f"{tier} ({in_tier[0].dc}): "), "bold")
        parts.append(Text.assemble(head, (verdict.word, style), visible(f": {verdict.why}")))
        parts.append(_tier_table(in_tier, zone_order))
    return Group(*parts)


def _tier_table(results: list[Result], zones: list[str]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    for name in ("zone", "service", "check", "status", "time"):
        table.add_column(name, no_wrap=True)
    table.add_column("observed")
    table.add_column("why", overflow="fold", ratio=1)
    order = {z: i for i, z in enumerate(zones)}
    rows = sorted(results, key=lambda r: (order.get(r.zone, len(order)), r.zone))
    last_zone = None
    for r in rows:
        zone = r.zone if r.zone != last_zone else ""
        last_zone = r.zone
        status = Text(str(r.status), style=STYLE[r.status])
        took = "" if r.status is Status.skipped else format_duration(r.duration_seconds)
        why = f"{r.reason}: {r.message}" if r.reason and r.message else (r.reason or r.message or "")
        # Text, not markup: a server's "[/]" or "[link=...]" is shown as written; escapes are visible.
        cells = (zone, r.service, r.check)
        table.add_row(*(cell(c) for c in cells), status, took, cell(observed(r)), cell(str(why)))
    return table


def cell(text: str, style: str = "") -> Text:
    """A table cell that shows `text` as it is: no markup, no terminal control."""
    return Text(visible(text), style=style)


def observed(r: Result) -> str:
    """The few facts a reader wants at a glance."""
    f = r.facts
    bits: list[str] = []
    if "http_status" in f:
        bits.append(f"HTTP {f['http_status']}")
    if "tls_version" in f:
        bits.append(f"TLS {f['tls_version']}")
    if "role" in f:
        bits.append(str(f["role"]))
    if isinstance(f.get("lag_seconds"), int | float):
        bits.append(f"lag {format_duration(float(f['lag_seconds']))}")
    if "grpc_status" in f:
        bits.append(str(f["grpc_status"]))
    if "dns_rcode" in f:
        bits.append(str(f["dns_rcode"]))
    if r.attempts > 1:
        bits.append(f"{r.attempts} attempts")
    return ", ".join(bits)
