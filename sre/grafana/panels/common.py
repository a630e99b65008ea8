"""Value mappings, threshold steps and probe panels the boards share."""

from __future__ import annotations

from sre.grafana import JOB, Board, now, q, selector

Labels = dict[str, str]

UP = {0: ("down", "red"), 1: ("up", "green")}
# A cold standby may be down on purpose: its state is information, not an alarm.
UP_COLD = {0: ("down (cold)", "blue"), 1: ("up", "green")}
AVAILABILITY_STEPS = [(None, "red"), (0.99, "yellow"), (0.999, "green")]
DAY = 86400
# Certificates: orange under 30 days, red under 14.
CERT_EXPIRY_STEPS = [(None, "red"), (14 * DAY, "orange"), (30 * DAY, "green")]

# Metrics the sre probe exporter adds to blackbox_exporter's names for DR readiness.
REPLICATION_LAG = "probe_replication_lag_seconds"
BACKUP_AGE = "probe_backup_age_seconds"


def bound(seconds: float | None) -> list[tuple[float | None, str]] | None:
    """Green below the bound, red from it: the colours of a lag or an age with a limit."""
    return [(None, "green"), (seconds, "red")] if seconds else None


def probe_panels(board: Board, labels: Labels, *, cold: bool) -> None:
    board.stat(
        "Probe result by vantage",
        now(f"min by (vantage) ({selector('probe_success', labels, job=JOB)})", "{{vantage}}"),
        unit="none",
        description="Whether the last probe from each vantage point succeeded (probe_success)."
        + (" A cold standby may be down on purpose." if cold else ""),
        mappings=UP_COLD if cold else UP,
        width=6,
        height=8,
    )
    probe_duration(board, {**labels, "job": JOB}, width=6)


def probe_duration(board: Board, labels: Labels, *, width: int) -> None:
    board.graph(
        "Probe duration by vantage",
        q(f"max by (vantage) ({selector('probe_duration_seconds', labels)})", "{{vantage}}"),
        unit="s",
        description="The slowest probe from each vantage point, connection and checks included.",
        width=width,
    )


def failures_by_reason(board: Board, labels: Labels, *, width: int) -> None:
    board.graph(
        "Failing probes by reason",
        q(f"count by (reason) ({selector('probe_failure_reason', labels)} == 1)", "{{reason}}"),
        unit="short",
        description="Failing probes by the reason the probe gave (probe_failure_reason).",
        stacked=True,
        width=width,
    )
