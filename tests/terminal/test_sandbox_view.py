"""`sre sandbox status` on a narrow terminal: a block per service, endpoints whole."""

from __future__ import annotations

import pytest
from snapshots import check, text, widest

from sre.sandbox import report
from sre.sandbox.state import TierRow

ROWS = [
    TierRow(service="db_postgres", tier="primary", state="running", endpoint="127.0.0.1:41234/app"),
    TierRow(service="db_postgres", tier="secondary", state="running", endpoint="127.0.0.1:41235/app"),
    TierRow(
        service="db_postgres", tier="tertiary", state="stopped", reason="cold standby: started by a drill"
    ),
    *(
        TierRow(service="vault", tier=t, state="not_in_sandbox", reason="no vault server in the sandbox")
        for t in ("primary", "secondary", "tertiary")
    ),
    TierRow(
        service="analytics_gw",
        tier="primary",
        state="running",
        endpoint="https://analytics.primary.sandbox.localhost:43321/health/ready?probe=1",
    ),
]


@pytest.mark.parametrize("width", [80, 120])
def test_sandbox_status_snapshots(width: int) -> None:
    draw = report.tier_blocks if width < report.WIDE_ENOUGH else report.tier_table
    rendered = text(draw("sandbox up: /tmp/sandbox (core)", ROWS), width)
    check(f"sandbox-status-{width}.txt", rendered)
    assert widest(rendered) <= width
    if width == 80:
        assert "https://analytics.primary.sandbox.localhost:43321/health/ready?probe=1" in rendered
        assert rendered.count("vault") == 2  # one line for the three tiers (and its reason)
