"""DR readiness: per stateful service, how far its hot secondary lags and how old its cold
tertiary's backup is, against the bounds in platform.yaml; and the last switchover drill's RTO and RPO."""

from __future__ import annotations

from collections.abc import Iterator

from sre.grafana import JOB, Board, Context, now, q, selector
from sre.grafana.panels.common import BACKUP_AGE, REPLICATION_LAG, bound

RTO = "sre_runbook_rto_seconds"
RPO = "sre_runbook_rpo_seconds"


def dashboards(ctx: Context) -> Iterator[Board]:
    platform = ctx.platform
    board = ctx.board(
        ctx.uid("platform", "dr-readiness"),
        "DR readiness",
        folder=ctx.platform_folder,
        description="Replication lag of hot standbys, backup age of cold standbys, "
        "RTO and RPO of the last drills",
        tags=["platform", "dr"],
    )
    board.variables("service", source=REPLICATION_LAG)
    board.related("Platform", "platform")

    board.row("Every stateful service")
    board.graph(
        "Replication lag of every replica",
        q(
            f"max by (service, tier) ({selector(REPLICATION_LAG, service='$service', job=JOB)})",
            "{{service}} {{tier}}",
        ),
        unit="s",
        description="How far each hot standby is behind its primary, as the probes measured it.",
        width=12,
    )
    board.graph(
        "Backup age of every cold standby",
        q(
            f"max by (service, tier) ({selector(BACKUP_AGE, service='$service', job=JOB)})",
            "{{service}} {{tier}}",
        ),
        unit="s",
        description="Age of the last backup each cold standby could start from.",
        width=12,
    )

    for sid, service in ctx.stateful.items():
        board.row(f"{service.name} ({sid}, {service.kind})")
        for tid, role in service.tiers.items():
            labels = {"service": sid, "tier": tid, "job": JOB}
            dc = platform.tiers[tid].dc
            if role.role == "replica":
                board.stat(
                    f"{tid} ({dc}) replication lag",
                    now(f"max({selector(REPLICATION_LAG, labels)})", "lag"),
                    unit="s",
                    description="The replica's lag now; red from its bound in platform.yaml.",
                    thresholds=bound(role.max_lag_seconds) or [(None, "blue")],
                    no_value="not measured",
                    width=6,
                )
            elif role.role == "cold":
                hours = role.max_backup_age_hours
                board.stat(
                    f"{tid} ({dc}) backup age",
                    now(f"max({selector(BACKUP_AGE, labels)})", "age"),
                    unit="s",
                    description="The cold copy's backup age now; red from its bound in platform.yaml.",
                    thresholds=bound(hours * 3600 if hours else None) or [(None, "blue")],
                    no_value="not measured",
                    width=6,
                )
        for name, metric in (("RTO", RTO), ("RPO", RPO)):
            board.stat(
                f"Last drill {name}",
                now(f"max({selector(metric, service=sid)})", name),
                unit="s",
                description=f"The {name} the last switchover drill of this service measured (sre runbook).",
                no_value="no drill yet",
                width=6,
            )
    yield board
