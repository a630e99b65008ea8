"""Synthetic probes: success, latency by phase, TLS version and certificate expiry, by vantage point.

The probe exporter emits blackbox_exporter's metric names plus probe_failure_reason, labelled
service, zone, tier, dc and vantage.
"""

from __future__ import annotations

from collections.abc import Iterator

from sre.grafana import JOB, Board, Context, now, q, selector
from sre.grafana.panels.common import (
    AVAILABILITY_STEPS,
    CERT_EXPIRY_STEPS,
    failures_by_reason,
    probe_duration,
)


def dashboards(ctx: Context) -> Iterator[Board]:
    board = ctx.board(
        ctx.uid("platform", "probes"),
        "Synthetic probes",
        folder=ctx.platform_folder,
        description="What the probes saw from each vantage point",
        tags=["platform", "probes"],
    )
    board.variables("tier", "zone", "service", "vantage")
    board.related("Platform", "platform")
    chosen = {"service": "$service", "tier": "$tier", "zone": "$zone", "vantage": "$vantage", "job": JOB}

    board.row("Success")
    board.stat(
        "Success over the time range, by vantage",
        now(
            f"avg by (vantage) (avg_over_time({selector('probe_success', chosen)}[$__range]))", "{{vantage}}"
        ),
        unit="percentunit",
        description="Share of successful probes over the time range, per vantage point.",
        thresholds=AVAILABILITY_STEPS,
        decimals=2,
        width=8,
        height=8,
    )
    board.graph(
        "Failing probes by service",
        q(f"count by (service, tier) ({selector('probe_success', chosen)} == 0)", "{{service}} {{tier}}"),
        unit="short",
        description="Probes failing now, per service and tier.",
        width=8,
    )
    failures_by_reason(board, chosen, width=8)

    board.row("Latency")
    board.graph(
        "HTTP latency by phase",
        q(f"avg by (phase) ({selector('probe_http_duration_seconds', chosen)})", "{{phase}}"),
        unit="s",
        description="Time of each phase of the HTTP probes: resolve, connect, tls, processing, transfer.",
        stacked=True,
        width=12,
    )
    probe_duration(board, chosen, width=12)

    board.row("TLS")
    board.stat(
        "TLS versions negotiated",
        now(f"count by (version) ({selector('probe_tls_version_info', chosen)} == 1)", "{{version}}"),
        unit="short",
        description="Probes by the TLS version they negotiated; the platform requires 1.3.",
        width=8,
        height=8,
    )
    board.stat(
        "Certificates expiring soonest",
        now(
            "bottomk(8, min by (service, tier) "
            f"({selector('probe_ssl_earliest_cert_expiry', chosen)}) - time())",
            "{{service}} {{tier}}",
        ),
        unit="s",
        description="The eight certificates that expire soonest; orange under 30 days, red under 14.",
        thresholds=CERT_EXPIRY_STEPS,
        width=16,
        height=8,
    )
    board.graph(
        "Certificate expiry over time",
        q(
            f"min by (service, tier) ({selector('probe_ssl_earliest_cert_expiry', chosen)}) - time()",
            "{{service}} {{tier}}",
        ),
        unit="s",
        description="Time left until each service's earliest certificate expires.",
        thresholds=CERT_EXPIRY_STEPS,
        width=24,
    )
    yield board
