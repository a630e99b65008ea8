"""A realistic run to render: the repository's platform planned for prod, with fixed outcomes.

Every outcome is fixed (no clock, no network), so the rendering is the same on every machine:
the redis replica on secondary lags, the cold tertiary is down as allowed, and a handful of
services are not in the environment, as in a sandbox without vault or kafka.
"""

from __future__ import annotations

from dataclasses import replace

from requirements import REPO

from sre.platform.loader import load_environment, load_platform
from sre.platform.model import Platform
from sre.probes.definitions import definitions_dir, load_definitions
from sre.probes.model import Reason, Result, Status
from sre.probes.plan import make_plan
from sre.probes.verdict import Topology

ABSENT = {"vault", "kafka", "mongo", "clickhouse", "ai_engine", "mlflow", "delta_lake", "elk"}


def platform() -> Platform:
    return load_platform(REPO / "platform.yaml")


def results(*, failing_replica: bool = True) -> tuple[Platform, list[Result], Topology]:
    plat = platform()
    env = load_environment(plat, "prod")
    defs = load_definitions(definitions_dir(plat.source, None), plat)
    plan = make_plan(plat, env, defs, vantage="snapshot", services=[], tiers=[], zones=[])
    out: list[Result] = list(plan.skipped)
    for t in plan.targets:
        base = Result(
            service=t.service,
            check=t.check,
            zone=t.zone,
            tier=t.tier,
            dc=t.dc,
            endpoint=t.endpoint.url.split("?")[0],
            vantage="snapshot",
            status=Status.ok,
            duration_seconds=0.012,
        )
        if t.service in ABSENT:
            out.append(
                replace(
                    base,
                    status=Status.skipped,
                    reason=Reason.not_in_environment,
                    message=f"not in sandbox: no {t.service} server here",
                    attempts=0,
                    duration_seconds=0.0,
                )
            )
        elif t.tier == "tertiary":
            out.append(
                replace(
                    base,
                    status=Status.expected_down,
                    reason=Reason.connect_refused,
                    message="connection refused (cold standby)",
                    duration_seconds=0.002,
                )
            )
        elif failing_replica and t.service == "redis" and t.tier == "secondary":
            out.append(
                replace(
                    base,
                    status=Status.failed,
                    reason=Reason.connect_refused,
                    message="connection refused by 127.0.0.1:6380",
                    duration_seconds=0.001,
                )
            )
        else:
            facts = {"http_status": 200, "tls_version": "1.3"} if t.check in ("https", "http") else {}
            out.append(replace(base, facts=facts))
    tiers = {tid: i for i, tid in enumerate(plat.tiers)}
    out.sort(key=lambda r: (tiers[r.tier], list(plat.services).index(r.service)))
    return plat, out, Topology.of(plat)
