"""Synthetic probes: success, latency by phase, TLS version and certificate expiry, by vantage point.

The probe exporter emits blackbox_exporter's metric names plus probe_failure_reason, labelled
service, zone, tier, dc and vantage.
"""

from __future__ import annotations

from collections.abc import Iterator

from sre.grafana import Board, Context, now, q, selector

DAY = 86400


def dashboards(ctx: Context) -> Iterator[Board]:
    board = Board(
        ctx.uid("platform", "probes"),
        "Synthetic probes",
        folder=ctx.platform_folder,
        description="What the probes saw from each vantage point",
        tags=["platform", "probes"],
    )
    board.variables("tier", "zone", "service", "vantage")
    board.related("Platform", "platform")
    chosen = {"service": "$service", "tier": "$tier", "zone": "$zone", "vantage": "$vantage"}

    board.row("Success")
    board.stat(
        "Success over the time range, by vantage",
        now(
            f"avg by (vantage) (avg_over_time({selector('probe_success', chosen)}[$__range]))", "{{vantage}}"
        ),
        unit="percentunit",
        thresholds=[(None, "red"), (0.99, "yellow"), (0.999, "green")],
        decimals=2,
        width=8,
        height=8,
    )
    board.graph(
        "Failing probes by service",
        q(f"count by (service, tier) ({selector('probe_success', chosen)} == 0)", "{{service}} {{tier}}"),
        unit="short",
        width=8,
    )
    board.graph(
        "Failures by reason",
        q(f"count by (reason) ({selector('probe_failure_reason', chosen)} == 1)", "{{reason}}"),
        unit="short",
        stacked=True,
        width=8,
    )

    board.row("Latency")
    board.graph(
        "HTTP latency by phase",
        q(f"avg by (phase) ({selector('probe_http_duration_seconds', chosen)})", "{{phase}}"),
        unit="s",
        stacked=True,
        width=12,
    )
    board.graph(
        "Probe duration by vantage",
        q(f"max by (vantage) ({selector('probe_duration_seconds', chosen)})", "{{vantage}}"),
        unit="s",
        width=12,
    )

    board.row("TLS")
    board.stat(
        "TLS versions negotiated",
        now(f"count by (version) ({selector('probe_tls_version_info', chosen)} == 1)", "{{version}}"),
        unit="short",
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
        thresholds=[(None, "red"), (14 * DAY, "orange"), (30 * DAY, "green")],
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
        thresholds=[(None, "red"), (14 * DAY, "orange"), (30 * DAY, "green")],
        width=24,
    )
    yield board
