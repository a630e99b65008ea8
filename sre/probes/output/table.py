"""The run for a person: a compact table per DC tier, skipped probes folded, and a closing summary.

Read before it is studied: each tier opens with its verdict, lists the checks that
ran (zone, service, check, status, time, and one column of what was seen and why),
folds the probes skipped for one reason into a single line, and the run closes with
one line per tier (verdict and root cause) and what the exit code means. `wide`
shows every probe, the endpoint and the reason code in columns of their own;
`show_skipped` lists the skipped probes one per row. `plain` drops box drawing
(piped output, CI logs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sre.probes.conditions import format_duration
from sre.probes.model import Reason, Result, Status
from sre.probes.output.escape import visible
from sre.probes.verdict import TierVerdict, Topology, tier_verdict

STYLE = {
    Status.ok: "green",
    Status.degraded: "yellow",
    Status.failed: "bold red",
    Status.expected_down: "blue",
    Status.skipped: "dim",
}
# Colour is never the only signal: every state also has a symbol and a word.
SYMBOL = {
    Status.ok: "✓",
    Status.degraded: "!",
    Status.failed: "✗",
    Status.expected_down: "○",
    Status.skipped: "-",
}
VERDICT_STYLE = {
    "healthy": "green",
    "degraded": "yellow",
    "critical": "bold red",
    "down": "bold red",
    "incomplete": "yellow",
    "not probed": "dim",
}
VERDICT_SYMBOL = {
    "healthy": "✓",
    "degraded": "!",
    "critical": "✗",
    "down": "✗",
    "incomplete": "?",
    "not probed": "-",
}
# How a skip reason reads in a folded line: "12 not in this environment: vault, kafka, ...".
SKIP_WORDS = {
    Reason.not_in_environment: "not in this environment",
    Reason.no_endpoint: "without an endpoint",
    Reason.budget: "not started (the run's time budget ran out)",
    Reason.unsupported: "unsupported here",
}
FOLD_NAMES = 6  # services named in a folded line before "..."
EXIT_MEANING = {
    0: "exit 0: every probe as its tier expects",
    1: "exit 1: a probe failed",
}


@dataclass(frozen=True, slots=True)
class Layout:
    wide: bool = False  # every column, every probe
    show_skipped: bool = False  # skipped probes one per row instead of folded
    plain: bool = False  # no box drawing


def render(
    results: list[Result],
    tiers: Iterable[str],
    zones: Iterable[str],
    topology: Topology | None = None,
    layout: Layout | None = None,
) -> Group:
    layout = layout or Layout()
    parts: list[RenderableType] = []
    zone_order = list(zones)
    verdicts: list[tuple[TierVerdict, str]] = []
    for tier in tiers:
        in_tier = [r for r in results if r.tier == tier]
        if not in_tier:
            continue
        verdict = tier_verdict(tier, in_tier, topology)
        verdicts.append((verdict, in_tier[0].dc))
        parts.append(_heading(verdict, in_tier[0].dc))
        shown = in_tier if layout.wide or layout.show_skipped else [r for r in in_tier if not _folded(r)]
        if shown:
            parts.append(_tier_table(shown, zone_order, layout))
        if not (layout.wide or layout.show_skipped):
            parts.extend(_fold_lines([r for r in in_tier if _folded(r)]))
        parts.append(Text(""))
    if verdicts:
        parts.append(summary(verdicts, failed=any(not r.passed for r in results)))
    return Group(*parts)


def _folded(r: Result) -> bool:
    """Skipped, or down as a cold standby may be: said in one line each, not a row each."""
    return r.status in (Status.skipped, Status.expected_down)


def _heading(verdict: TierVerdict, dc: str) -> Text:
    style = "blue" if verdict.expected else VERDICT_STYLE[verdict.word]
    return Text.assemble(
        (visible(f"{verdict.tier} ({dc}) "), "bold"),
        (f"{_symbol(verdict)} {verdict.word}", style),
        visible(f": {verdict.why}"),
    )


def _symbol(verdict: TierVerdict) -> str:
    return SYMBOL[Status.expected_down] if verdict.expected else VERDICT_SYMBOL[verdict.word]


def _tier_table(results: list[Result], zones: list[str], layout: Layout) -> Table:
    table = Table(
        show_header=True,
        header_style="bold",
        expand=False,
        pad_edge=False,
        box=None if layout.plain else box.SIMPLE_HEAD,
        show_edge=False,
    )
    for name in ("zone", "service", "check", "status", "time"):
        table.add_column(name, no_wrap=True)
    if layout.wide:
        table.add_column("endpoint", overflow="fold")
        table.add_column("reason", no_wrap=True)
    table.add_column("seen / why", overflow="fold", ratio=1, min_width=20)
    order = {z: i for i, z in enumerate(zones)}
    rows = sorted(results, key=lambda r: (order.get(r.zone, len(order)), r.zone))
    last_zone = None
    for r in rows:
        zone = r.zone if r.zone != last_zone else ""
        last_zone = r.zone
        status = Text(f"{SYMBOL[r.status]} {r.status}", style=STYLE[r.status])
        took = "" if r.status is Status.skipped else format_duration(r.duration_seconds)
        extra = [cell(r.endpoint), cell(str(r.reason or ""))] if layout.wide else []
        # Text, not markup: a server's "[/]" or "[link=...]" is shown as written; escapes are visible.
        cells = (zone, r.service, r.check)
        table.add_row(*(cell(c) for c in cells), status, took, *extra, cell(seen(r, wide=layout.wide)))
    return table


def seen(r: Result, *, wide: bool = False) -> str:
    """What was observed and why, saying each thing once (the reason code only when there is no text)."""
    why = r.message or (_words(r.reason) if r.reason and not wide else "")
    return "; ".join(bit for bit in (observed(r), why) if bit)


def _words(reason: Reason) -> str:
    return str(reason).replace("_", " ")


def _fold_lines(skipped: list[Result]) -> list[Text]:
    """One line per skip reason: how many, which services, and where the rest is."""
    by_reason: dict[tuple[Status, str], list[Result]] = {}
    for r in skipped:
        if r.status is Status.expected_down:
            words = "down, as a cold standby may be"
        else:
            words = SKIP_WORDS.get(r.reason, _words(r.reason)) if r.reason else "skipped"
        by_reason.setdefault((r.status, words), []).append(r)
    lines = []
    for (status, words), probes in by_reason.items():
        names = list(dict.fromkeys(r.service for r in probes))
        listed = ", ".join(names[:FOLD_NAMES]) + (", ..." if len(names) > FOLD_NAMES else "")
        many = f"{len(probes)} probes of {len(names)} services"
        head = str(len(names)) if len(probes) == len(names) else many
        lines.append(
            Text.assemble(
                (f"{SYMBOL[status]} {head} {words}: ", STYLE[status]),
                visible(listed),
                (" (see --wide)" if status is Status.expected_down else " (see --show-skipped)", "dim"),
            )
        )
    return lines


def summary(verdicts: Sequence[tuple[TierVerdict, str]], *, failed: bool) -> Group:
    """The closing lines: one per tier (symbol, verdict, root cause), then what the exit code means."""
    table = Table(show_header=False, box=None, pad_edge=False, expand=False, title=None)
    table.add_column("tier", no_wrap=True, style="bold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("cause", overflow="fold", ratio=1)
    for verdict, dc in verdicts:
        style = "blue" if verdict.expected else VERDICT_STYLE[verdict.word]
        word = Text(f"{_symbol(verdict)} {verdict.word}", style=style)
        table.add_row(cell(f"{verdict.tier} ({dc})"), word, cell(cause(verdict)))
    code = 1 if failed else 0
    others = "; ".join(m for c, m in sorted(EXIT_MEANING.items()) if c != code)
    return Group(table, Text(f"{EXIT_MEANING[code]} ({others}; exit 2: bad input)", style="bold"))


def cause(verdict: TierVerdict) -> str:
    """The root cause in a few words: the services failing for reasons of their own."""
    if verdict.root_causes:
        roots = ", ".join(f"{s} ({r.replace('_', ' ')})" for s, r in verdict.root_causes)
        dependents = len(verdict.dependents)
        return f"root cause: {roots}" + (f"; {dependents} more depend on it" if dependents else "")
    if verdict.expected:
        return "cold standby, down as allowed"
    return verdict.why


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
