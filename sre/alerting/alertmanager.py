"""Alertmanager's configuration from the model: routes by severity, zone and team, the runbook
automation route, inhibitions, and the routing table that `amtool config routes test` checks.

Route order (first match wins unless `continue`): the automation route sees every alert that names a
runbook and continues, so people are still told; each zone's on-call sees the pages of its zone and
continues; then pages and tickets go to the owning team. Inhibitions compare only labels every
generated alert carries (source matchers require them), so `equal:` never matches two missing labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sre.alerting.definitions import Definitions, SandboxOverrides
from sre.platform.model import EVERY_SERVICE, Platform

AUTOMATION = "runbook-automation"
DEFAULT = "default"
INFO = "info"
GROUP_BY = ["alertname", "service", "zone", "tier", "dc"]
# The labels that name a runbook's target: one notification per runbook run.
AUTOMATION_GROUP_BY = ["alertname", "runbook", "service", "tier", "dc"]


@dataclass(frozen=True)
class Endpoints:
    """Where notifications go; the sandbox replaces them with its own receiver."""

    notify_url: str
    runbook_webhook: str
    credentials_file: str


def config(
    platform: Platform, defs: Definitions, where: Endpoints, sandbox: SandboxOverrides | None = None
) -> dict[str, Any]:
    am = defs.settings.alertmanager
    timing = {
        "group_wait": sandbox.group_wait if sandbox else am.group_wait,
        "group_interval": sandbox.group_interval if sandbox else am.group_interval,
        "repeat_interval": sandbox.repeat_interval if sandbox else am.repeat_interval,
    }
    teams = sorted(platform.teams) or sorted({s.owner for s in platform.services.values()})
    routes: list[dict[str, Any]] = [
        {
            "receiver": AUTOMATION,
            "matchers": ['runbook=~".+"'],
            "group_by": AUTOMATION_GROUP_BY,
            "continue": True,
        }
    ]
    for zone in platform.zones:
        routes.append(
            {
                "receiver": f"zone-{zone}-page",
                "matchers": ['severity="page"', f'zone="{zone}"'],
                "continue": True,
            }
        )
    for severity in ("page", "ticket"):
        routes.append(
            {
                "receiver": DEFAULT,
                "matchers": [f'severity="{severity}"'],
                "routes": [
                    {"receiver": f"{team}-{severity}", "matchers": [f'team="{team}"']} for team in teams
                ],
            }
        )
    routes.append({"receiver": INFO, "matchers": ['severity="info"']})

    def human(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "webhook_configs": [
                {
                    "url": where.notify_url.format(receiver=name),
                    "send_resolved": True,
                    "max_alerts": am.max_alerts,
                    "http_config": {"follow_redirects": False},
                }
            ],
        }

    receivers: list[dict[str, Any]] = [
        human(DEFAULT),
        {
            "name": AUTOMATION,
            "webhook_configs": [
                {
                    "url": where.runbook_webhook,
                    "send_resolved": True,
                    "max_alerts": am.max_alerts,
                    "http_config": {
                        "follow_redirects": False,
                        "authorization": {"type": "Bearer", "credentials_file": where.credentials_file},
                    },
                }
            ],
        },
        *(human(f"zone-{zone}-page") for zone in platform.zones),
        *(human(f"{team}-{severity}") for team in teams for severity in ("page", "ticket")),
        {"name": INFO},  # recorded in Alertmanager, sent nowhere
    ]
    every = [f'{label}=~".+"' for label in GROUP_BY]
    return {
        "global": {"resolve_timeout": am.resolve_timeout},
        "route": {"receiver": DEFAULT, "group_by": GROUP_BY, **timing, "routes": routes},
        "inhibit_rules": [
            {
                # A tier down mutes every other alert of that tier and DC.
                "source_matchers": ['alertname="DatacenterTierDown"', 'tier=~".+"', 'dc=~".+"'],
                "target_matchers": ['alertname!="DatacenterTierDown"'],
                "equal": ["tier", "dc"],
            },
            {
                # A page mutes the ticket of the same alert on the same target.
                "source_matchers": ['severity="page"', *every],
                "target_matchers": ['severity="ticket"'],
                "equal": GROUP_BY,
            },
        ],
        "receivers": receivers,
    }


def routing_table(platform: Platform, defs: Definitions) -> list[dict[str, Any]]:
    """Label sets and the receivers they must reach, in route order: one row per kind of alert."""
    teams = set(platform.teams) or {s.owner for s in platform.services.values()}
    rows: list[dict[str, Any]] = []

    def row(labels: Mapping[str, str], receivers: list[str]) -> None:
        rows.append({"labels": dict(labels), "receivers": receivers})

    for sid, svc in platform.services.items():
        team = svc.owner if svc.owner in teams else None
        base = {"service": sid, "zone": svc.zone, "team": svc.owner}
        page = [f"zone-{svc.zone}-page", f"{team}-page" if team else DEFAULT]
        row({"alertname": "ProbeFailed", "severity": "page", **base}, page)
        row(
            {"alertname": "ProbeFailed", "severity": "ticket", **base},
            [f"{team}-ticket" if team else DEFAULT],
        )
        if svc.kind == "kubernetes":
            row(
                {"alertname": "ProbeFailed", "severity": "page", "runbook": "restart-worker", **base},
                [AUTOMATION, *page],
            )
        if svc.stateful:
            row(
                {"alertname": "ReplicaNotReady", "severity": "page", "runbook": "rebuild-replica", **base},
                [AUTOMATION, *page],
            )
    team = defs.settings.tier_team
    tier_wide = {"service": EVERY_SERVICE, "zone": EVERY_SERVICE, "team": team}
    row(
        {"alertname": "DatacenterTierDown", "severity": "page", "runbook": "dr-failover", **tier_wide},
        [AUTOMATION, f"{team}-page" if team in teams else DEFAULT],
    )
    row({"alertname": "Unowned", "severity": "page", "team": "nobody"}, [DEFAULT])
    row({"alertname": "Unowned", "severity": "info", "team": "nobody"}, [INFO])
    return rows
