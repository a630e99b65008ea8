"""The inventory for a terminal: a table (a section per zone, a column per DC tier) on a wide one,
one block per service on a narrow one; endpoints are folded, never cut."""

from __future__ import annotations

from urllib.parse import urlsplit

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sre.platform.model import Endpoint, EnvironmentBody, Platform
from sre.urls import public_url


def _where(endpoint: Endpoint | None) -> str:
    if endpoint is None:
        return "[dim]no endpoint[/]"
    # The host and port only: a user:password@ in the URL is never shown.
    return urlsplit(endpoint.url).netloc.rpartition("@")[2] or escape(public_url(endpoint.url))


def inventory_table(platform: Platform, env: EnvironmentBody, env_name: str, *, plain: bool = False) -> Table:
    table = Table(
        title=f"{platform.platform.name} ({env_name})",
        show_lines=False,
        box=None if plain else box.HEAVY_HEAD,  # no box drawing in piped output
    )
    table.add_column("service", overflow="fold")
    table.add_column("kind", overflow="fold")
    table.add_column("owner", overflow="fold")
    for tid, tier in platform.tiers.items():
        heading = f"{tid}\n{tier.dc} {tier.provider} {tier.region}\n{tier.standby}"
        table.add_column(heading, overflow="fold", min_width=12)
    for zid, zone in platform.zones.items():
        table.add_row(f"[bold]{zone.name}[/] ({zid})", end_section=False)
        services = platform.services_in_zone(zid)
        for i, (sid, svc) in enumerate(services.items()):
            cells = []
            for tid in platform.tiers:
                role = platform.role(sid, tid)
                where = _where(env.endpoints.get(sid, {}).get(tid))
                cells.append(f"{role}: {where}" if role else where)
            owner = svc.owner + (" [yellow]PII[/]" if svc.pii else "")
            table.add_row(f"  {sid}", svc.kind, owner, *cells, end_section=i == len(services) - 1)
    return table


WIDE_ENOUGH = 120  # columns below which the inventory is one block per service


def inventory_blocks(
    platform: Platform, env: EnvironmentBody, env_name: str, *, plain: bool = False
) -> Group:
    """One block per service: its kind and owner, then a line per DC tier with role and endpoint."""
    lines: list[Text] = [Text(f"{platform.platform.name} ({env_name})", style="bold")]
    tiers = {tid: f"{tid} ({tier.dc}, {tier.standby})" for tid, tier in platform.tiers.items()}
    label = max(len(t) for t in tiers.values()) if tiers else 0
    for zid, zone in platform.zones.items():
        lines.append(Text(""))
        lines.append(Text(f"{zone.name} ({zid})", style="bold underline"))
        for sid, svc in platform.services_in_zone(zid).items():
            about = ", ".join([svc.kind, svc.owner, *(["PII"] if svc.pii else [])])
            lines.append(Text.assemble(("  " + sid, "bold"), f"  {about}"))
            for tid, heading in tiers.items():
                role = platform.role(sid, tid)
                where = Text.from_markup(_where(env.endpoints.get(sid, {}).get(tid)))
                line = Text(f"    {heading:<{label}}  " + (f"{role}: " if role else ""), overflow="fold")
                lines.append(line.append_text(where))
    return Group(*lines)
