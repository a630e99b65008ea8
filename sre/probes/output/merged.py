"""Render merged multi-vantage results: a reachability table or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sre.probes.merge import Merged
from sre.probes.output.table import STYLE, cell


def render_table(merged: Merged) -> Group:
    table = Table(show_header=True, header_style="bold")
    for name in ("tier", "zone", "service", "check", "status", "reached", "failed from"):
        table.add_column(name)
    for s in sorted(merged.services, key=lambda s: (s.tier, s.zone, s.service, s.check)):
        reached = f"{s.reached}/{s.vantages} ({s.share:.0%})" if s.vantages else "-"
        where = ", ".join(f"{v} ({why})" for v, why in sorted(s.failed_from.items()))
        names = (cell(s.tier), cell(s.zone), cell(s.service), cell(s.check))
        table.add_row(*names, Text(str(s.status), STYLE[s.status]), reached, cell(where))
    lines = [
        cell(f"vantage {v}: {share:.0%} of its probes passed") for v, share in sorted(merged.vantages.items())
    ]
    for v in merged.suspects:
        lines.append(cell(f"vantage {v} is suspect: it reached far less than the others", style="yellow"))
    return Group(table, *lines)


def render_json(merged: Merged) -> str:
    doc = {
        "services": [
            {**asdict(s), "status": str(s.status), "share": round(s.share, 4)} for s in merged.services
        ],
        "vantages": merged.vantages,
        "suspect_vantages": merged.suspects,
    }
    return json.dumps(doc, indent=2) + "\n"
