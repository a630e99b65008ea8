"""The platform at a glance: a tier x zone grid of probe results, each cell linking to the dashboards
of its services; SLO attainment and error-budget burn."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sre.grafana import JOB, Board, Context, PanelLink, now, q, selector
from sre.grafana.panels.common import UP, UP_COLD, failures_by_reason

# Burn rates of the multi-window alerts: 14.4 pages (2 % of a 30-day budget in 1 h), 6 pages slower.
BURN_STEPS = [(None, "green"), (6, "orange"), (14.4, "red")]


def dashboards(ctx: Context) -> Iterator[Board]:
    platform = ctx.platform
    board = ctx.board(
        ctx.uid("platform", "overview"),
        "Platform overview",
        folder=ctx.platform_folder,
        description=f"{platform.platform.name}: every service by DC tier and zone, SLOs and error budgets",
        tags=["platform", "overview"],
    )
    board.variables("tier", "zone", "service")
    board.related("Services", "service")
    chosen = {"tier": "$tier", "zone": "$zone", "service": "$service", "job": JOB}

    board.row("Probe results by tier and zone")
    width = max(4, 24 // max(1, len(platform.zones)))
    for tid, tier in platform.tiers.items():
        for zid, zone in platform.zones.items():
            cell = {"tier": tid, "zone": zid, "service": "$service", "job": JOB}
            services = platform.services_in_zone(zid)
            board.stat(
                f"{tid} ({tier.dc}) · {zone.name}",
                now(f"min by (service) ({selector('probe_success', cell)})", "{{service}}"),
                unit="none",
                description=f"Whether each service of {zone.name} answers its probes in the {tid} tier "
                f"({tier.dc}, {tier.standby} standby). Click a service for its dashboard.",
                mappings=UP_COLD if tier.standby == "cold" else UP,
                links=[PanelLink(f"{s.name} ({sid})", ctx.service_url(sid)) for sid, s in services.items()],
                value_link=_service_link(ctx, list(services)),
                width=width,
                height=5,
            )

    board.row("Probe failures")
    failures_by_reason(board, chosen, width=24)

    # Services that share an SLO target share a panel, so the thresholds are exact for each of them.
    targets: dict[tuple[float, int], list[str]] = defaultdict(list)
    for sid, service in platform.services.items():
        if service.slo:
            targets[(service.slo.availability, service.slo.window_days)].append(sid)
    active = "|".join(t for t, tier in platform.tiers.items() if tier.standby == "active")
    if targets:
        board.row("SLO attainment (active tier)")
        for (availability, days), sids in sorted(targets.items(), reverse=True):
            slo = {"tier": f"~{active}", "service": "~" + "|".join(sids), "job": JOB}
            board.stat(
                f"SLO {availability:g} %: availability over {days} d",
                now(
                    f"avg by (service) (avg_over_time({selector('probe_success', slo)}[{days}d]))",
                    "{{service}}",
                ),
                unit="percentunit",
                description=f"Share of successful probes of the active tier over the {days}-day SLO window, "
                f"per service; green from {availability:g} %.",
                thresholds=[(None, "red"), (availability / 100, "green")],
                decimals=3,
                width=12,
                height=6,
            )
        board.row("Error-budget burn rate (active tier, 1 h)")
        for (availability, _days), sids in sorted(targets.items(), reverse=True):
            slo = {"tier": f"~{active}", "service": "~" + "|".join(sids), "job": JOB}
            budget = 1 - availability / 100
            board.graph(
                f"SLO {availability:g} %: burn rate",
                q(
                    f"(1 - avg by (service) (avg_over_time({selector('probe_success', slo)}[1h])))"
                    f" / {budget:g}",
                    "{{service}}",
                ),
                unit="short",
                description="1 spends the budget exactly over the SLO window; 14.4 pages.",
                thresholds=BURN_STEPS,
                width=12,
            )
    yield board


def _service_link(ctx: Context, sids: list[str]) -> PanelLink | None:
    """A click on a service's value opens its dashboard: the UID is built from the series' service
    label, which is exact unless a long id was cut to fit Grafana's 40 characters (then the panel's
    own links, which name every UID, are the way)."""
    prefix = f"/d/{ctx.settings.uid_prefix}-service-"
    if any(ctx.service_url(sid) != prefix + sid for sid in sids):
        return None
    return PanelLink("Service dashboard", prefix + "${__field.labels.service}?${__url_time_range}")
