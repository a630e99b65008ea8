"""The inventory as a rich table: a section per zone, a column per DC tier."""

from __future__ import annotations

from urllib.parse import urlsplit

from rich.markup import escape
from rich.table import Table

from sre.platform.model import Endpoint, EnvironmentBody, Platform
from sre.urls import public_url


def _where(endpoint: Endpoint | None) -> str:
    if endpoint is None:
        return "[dim]no endpoint[/]"
    # The host and port only: a user:password@ in the URL is never shown.
    return urlsplit(endpoint.url).netloc.rpartition("@")[2] or escape(public_url(endpoint.url))


def inventory_table(platform: Platform, env: EnvironmentBody, env_name: str) -> Table:
    table = Table(title=f"{platform.platform.name} ({env_name})", show_lines=False)
    table.add_column("service")
    table.add_column("kind")
    table.add_column("owner")
    for tid, tier in platform.tiers.items():
        table.add_column(f"{tid}\n{tier.dc} {tier.provider} {tier.region}\n{tier.standby}")
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
