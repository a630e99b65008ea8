"""One dashboard per service, in its zone's folder: a summary, then a row per DC tier.

Request-serving kinds get RED panels; stateful kinds get their exporter's panels and the
USE panels of their hosts; each tier's row knows the service's role there (a replica shows
its lag against its bound, a cold standby its backup age).
"""

from __future__ import annotations

from collections.abc import Iterator

from sre.grafana import JOB, Board, Context, now, q, selector
from sre.grafana.panels.common import AVAILABILITY_STEPS, BACKUP_AGE, REPLICATION_LAG, bound, probe_panels
from sre.grafana.panels.kinds import KIND_PANELS, ON_HOSTS
from sre.grafana.panels.red import RED_PANELS
from sre.grafana.panels.use import use_panels


def dashboards(ctx: Context) -> Iterator[Board]:
    for sid in ctx.platform.services:
        yield service_board(ctx, sid)


def service_board(ctx: Context, sid: str) -> Board:
    platform = ctx.platform
    service = platform.services[sid]
    owner = platform.teams.get(service.owner)
    board = ctx.board(
        ctx.uid("service", sid),
        f"{service.name} ({sid})",
        folder=ctx.zone_folder(service.zone),
        description=f"{service.kind} service in {platform.zones[service.zone].name}, "
        f"owned by {owner.name if owner else service.owner}",
        tags=["service", f"zone:{service.zone}", f"kind:{service.kind}", f"team:{service.owner}"],
        service=sid,
    )
    board.variables("tier")
    if (logs := ctx.logs_url(sid)) is not None:
        board.link("Logs in Kibana", logs, tooltip=f"Data stream logs-{sid}-{ctx.settings.logs_namespace}")
    if (runbooks := ctx.runbooks_url(sid)) is not None:
        board.link("Runbooks", runbooks)
    board.related("Platform", "platform")

    here = {"service": sid, "tier": "$tier", "job": JOB}
    board.row("Summary")
    board.stat(
        "Availability over the time range",
        now(f"avg by (tier) (avg_over_time({selector('probe_success', here)}[$__range]))", "{{tier}}"),
        unit="percentunit",
        description="Share of successful probes over the dashboard's time range, per tier; green from "
        "the availability SLO.",
        thresholds=_slo_steps(service.slo.availability) if service.slo else AVAILABILITY_STEPS,
        decimals=3,
        width=12,
    )
    board.stat(
        "Firing alerts",
        now(
            f"count by (severity) ({selector('ALERTS', service=sid, alertstate='firing')})",
            "{{severity}}",
        ),
        unit="short",
        description="Alerts about this service firing now in Prometheus, by severity.",
        thresholds=[(None, "green"), (1, "red")],
        no_value="none",
        width=12,
    )

    primary = next((t for t, st in service.tiers.items() if st.role == "primary"), None)
    for tid, tier in platform.tiers.items():
        role = service.tiers.get(tid)
        labels = {"service": sid, "tier": tid}
        what = f", {role.role}" if role else ""
        board.row(f"{tid}: {tier.dc} ({tier.provider} {tier.region}, {tier.standby} standby{what})")
        probe_panels(board, labels, cold=tier.standby == "cold")
        if role and role.role == "replica":
            board.graph(
                "Replication lag (probe)",
                q(f"max({selector(REPLICATION_LAG, labels, job=JOB)})", "lag"),
                unit="s",
                description="How far this replica is behind its primary, as the probe measured it; red "
                "from the tier's max_lag_seconds in platform.yaml.",
                thresholds=bound(role.max_lag_seconds),
                width=12,
            )
        elif role and role.role == "cold":
            hours = role.max_backup_age_hours
            board.graph(
                "Age of the last backup (probe)",
                q(f"max({selector(BACKUP_AGE, labels, job=JOB)})", "age"),
                unit="s",
                description="Age of the last backup the cold standby could start from, as the probe "
                "measured it; red from the tier's max_backup_age_hours.",
                thresholds=bound(hours * 3600 if hours else None),
                width=12,
            )
        if (red := RED_PANELS.get(service.kind)) is not None:
            red(board, labels, service)
        if (kind := KIND_PANELS.get(service.kind)) is not None:
            kind(board, labels, role, {"service": sid, "tier": primary or tid})
        if service.stateful and service.kind in ON_HOSTS:
            use_panels(board, labels)
    return board


def _slo_steps(availability: float) -> list[tuple[float | None, str]]:
    return [(None, "red"), (availability / 100, "green")]
