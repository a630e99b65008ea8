"""Probe, DR-readiness and certificate alerts per service and tier, and the tier-wide alerts.

Every rule selects one service and tier (or one tier) and carries that service's labels as static
labels, so every alert has severity, service, zone, tier, dc and team even when the series has
none of them, and Alertmanager's `equal:` never compares two missing labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sre.alerting.definitions import AlertDef, Definitions, seconds, size_bytes
from sre.alerting.model import Alert, Case, Expect, Group, RuleFile, Series, fill
from sre.grafana.promql import selector
from sre.platform.model import EVERY_SERVICE, Platform
from sre.probes.conditions import format_duration

TEST_VANTAGE = "test"
STEPS = 30  # samples of each unit-test series, one a minute


@dataclass(frozen=True)
class Build:
    """What every generator needs: the model, the definitions, and the `for` override of the sandbox."""

    platform: Platform
    defs: Definitions
    for_override: str | None = None

    @property
    def job(self) -> str:
        return self.defs.settings.scrape.job

    def for_(self, declared: str) -> str:
        return self.for_override or declared

    def runbook_url(self, alert: str, runbook: str | None) -> str:
        s = self.defs.settings
        if runbook is not None:
            return s.runbook_url.format(runbook=runbook)
        return s.alert_doc_url.format(anchor=alert.lower())

    def interval(self) -> str:
        return self.defs.settings.scrape.evaluation_interval


def service_labels(platform: Platform, sid: str, tid: str) -> dict[str, str]:
    svc = platform.services[sid]
    return {
        "service": sid,
        "zone": svc.zone,
        "tier": tid,
        "dc": platform.tiers[tid].dc,
        "team": svc.owner,
    }


def make_alert(
    b: Build,
    name: str,
    expr: str,
    d: AlertDef,
    labels: dict[str, str],
    *,
    severity: str,
    threshold: str = "",
    runbook: str | None = None,
    service_name: str = "",
    extra: dict[str, str] | None = None,
) -> Alert:
    values = {**labels, "threshold": threshold, "service_name": service_name or labels["service"]}
    full = {"severity": severity, **labels, **(extra or {})}
    if runbook is not None:
        full["runbook"] = runbook
    return Alert(
        alert=name,
        expr=expr,
        for_=b.for_(d.for_),
        labels=full,
        annotations={
            "summary": fill(d.summary, values),
            "description": fill(d.description, values),
            "runbook_url": b.runbook_url(name, runbook),
        },
    )


def _series(b: Build, metric: str, labels: dict[str, str], check: str, values: str, **extra: str) -> Series:
    keep = {k: labels[k] for k in ("service", "zone", "tier", "dc")}
    return Series(metric, {"job": b.job, "check": check, **keep, "vantage": TEST_VANTAGE, **extra}, values)


def _steady(value: float | int) -> str:
    return f"{value:g}x{STEPS}"


def _cases(
    alert: Alert, firing: tuple[Series, ...], healthy: tuple[Series, ...], extra: dict[str, str] | None = None
) -> list[Case]:
    after = seconds(alert.for_) + 180
    return [
        Case(
            f"{alert.alert} {alert.labels['tier']} firing",
            firing,
            after,
            (alert.alert,),
            (Expect(alert, extra or {}),),
        ),
        Case(f"{alert.alert} {alert.labels['tier']} not firing", healthy, after, (alert.alert,)),
    ]


def service_file(b: Build, sid: str) -> RuleFile:
    """prometheus/rules/<service>.yml: the service's probe, DR and certificate alerts on every tier."""
    group = Group(f"{sid}-probes", b.interval())
    for alert, cases in _service_alerts(b, sid):
        group.rules.append(alert)
        group.cases.extend(cases)
    return RuleFile(sid, [group])


def _service_alerts(b: Build, sid: str) -> Iterator[tuple[Alert, list[Case]]]:
    platform, rules = b.platform, b.defs.rules.alerts
    svc = platform.services[sid]
    check = svc.kind
    for tid, tier in platform.tiers.items():
        labels = service_labels(platform, sid, tid)
        where = {"job": b.job, "service": sid, "tier": tid}
        role = svc.tiers.get(tid)
        success = selector("probe_success", where)
        ok = (_series(b, "probe_success", labels, check, _steady(1)),)
        down = (_series(b, "probe_success", labels, check, _steady(0)),)
        name_of = svc.name

        if tier.standby != "cold" and (d := rules.get("ProbeFailed")):
            runbook = "restart-worker" if svc.kind == "kubernetes" and tier.standby == "active" else None
            alert = make_alert(
                b,
                "ProbeFailed",
                f"max by (check) ({success}) == 0",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                runbook=runbook,
                service_name=name_of,
            )
            yield alert, _cases(alert, down, ok, {"check": check})

        if role is not None and role.role == "replica":
            if d := rules.get("ReplicaNotReady"):
                alert = make_alert(
                    b,
                    "ReplicaNotReady",
                    f"max({success}) == 0",
                    d,
                    labels,
                    severity=d.severity_for(tier.standby),
                    runbook="rebuild-replica",
                    service_name=name_of,
                )
                yield alert, _cases(alert, down, ok)
            if role.max_lag_seconds is not None and (d := rules.get("ReplicationLagHigh")):
                bound = role.max_lag_seconds
                lag = selector("probe_replication_lag_seconds", where)
                alert = make_alert(
                    b,
                    "ReplicationLagHigh",
                    f"max({lag}) > {bound:g}",
                    d,
                    labels,
                    severity=d.severity_for(tier.standby),
                    threshold=format_duration(bound),
                    runbook="rebuild-replica",
                    service_name=name_of,
                    extra={"lag": "seconds"},
                )
                metric = "probe_replication_lag_seconds"
                yield (
                    alert,
                    _cases(
                        alert,
                        (_series(b, metric, labels, check, _steady(bound * 2 + 1)),),
                        (_series(b, metric, labels, check, _steady(0)),),
                    ),
                )
            d = rules.get("ReplicationLagBytesHigh")
            if d is not None and svc.kind in d.max_bytes:
                size = d.max_bytes[svc.kind]
                bound_bytes = size_bytes(size)
                lag = selector("probe_replication_lag_bytes", where)
                alert = make_alert(
                    b,
                    "ReplicationLagHigh",
                    f"max({lag}) > {bound_bytes}",
                    d,
                    labels,
                    severity=d.severity_for(tier.standby),
                    threshold=size,
                    runbook="rebuild-replica",
                    service_name=name_of,
                    extra={"lag": "bytes"},
                )
                metric = "probe_replication_lag_bytes"
                yield (
                    alert,
                    _cases(
                        alert,
                        (_series(b, metric, labels, check, _steady(bound_bytes * 2)),),
                        (_series(b, metric, labels, check, _steady(0)),),
                    ),
                )

        cold_bound = role.max_backup_age_hours if role is not None and role.role == "cold" else None
        if cold_bound is not None and (d := rules.get("ColdBackupTooOld")):
            bound = cold_bound * 3600
            age = selector("probe_backup_age_seconds", where)
            alert = make_alert(
                b,
                "ColdBackupTooOld",
                f"max({age}) > {bound:g}",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                threshold=format_duration(bound),
                service_name=name_of,
            )
            metric = "probe_backup_age_seconds"
            yield (
                alert,
                _cases(
                    alert,
                    (_series(b, metric, labels, check, _steady(bound * 2)),),
                    (_series(b, metric, labels, check, _steady(3600)),),
                ),
            )

        if svc.stateful and role is not None and role.role != "primary" and (d := rules.get("TwoActives")):
            mismatch = selector("probe_failure_reason", where, reason="role_mismatch")
            alert = make_alert(
                b,
                "TwoActives",
                f"max({mismatch}) == 1",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                service_name=name_of,
            )
            reason = (_series(b, "probe_failure_reason", labels, check, _steady(1), reason="role_mismatch"),)
            yield alert, _cases(alert, down + reason, ok)

        if tier.standby != "cold" and (d := rules.get("CertificateExpiring")):
            within = seconds(d.within or "14d")
            expiry = selector("probe_ssl_earliest_cert_expiry", where)
            alert = make_alert(
                b,
                "CertificateExpiring",
                f"min({expiry}) - time() < {within}",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                threshold=format_duration(within),
                service_name=name_of,
            )
            metric = "probe_ssl_earliest_cert_expiry"
            # Unit tests start at the Unix epoch: a certificate that ends a day later is about to expire.
            yield (
                alert,
                _cases(
                    alert,
                    (_series(b, metric, labels, check, _steady(86400)),),
                    (_series(b, metric, labels, check, _steady(90 * 86400)),),
                ),
            )


def platform_file(b: Build) -> RuleFile:
    """prometheus/rules/platform.yml: a tier degraded (many services fail), a tier down (all fail)."""
    group = Group("platform-tiers", b.interval())
    platform, rules, team = b.platform, b.defs.rules.alerts, b.defs.settings.tier_team
    two = [sid for sid in platform.services][:2]
    for tid, tier in platform.tiers.items():
        if tier.standby == "cold":
            continue  # a cold tier is down on purpose
        labels = {"service": EVERY_SERVICE, "zone": EVERY_SERVICE, "tier": tid, "dc": tier.dc, "team": team}
        per_service = f"max by (service) ({selector('probe_success', job=b.job, tier=tid)})"

        def series(sid: str, value: int, tid: str = tid) -> Series:
            svc = platform.services[sid]
            return _series(b, "probe_success", service_labels(platform, sid, tid), svc.kind, _steady(value))

        all_ok = tuple(series(sid, 1) for sid in two)
        if d := rules.get("TierDegraded"):
            share = d.share or 0.5
            alert = make_alert(
                b,
                "TierDegraded",
                f"count({per_service} == 0) >= {share:g} * count({per_service})",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                threshold=f"{share:.0%}",
                runbook="drain-tier",
            )
            group.rules.append(alert)
            group.cases.extend(_cases(alert, (series(two[0], 0), series(two[1], 1)), all_ok))
        if d := rules.get("DatacenterTierDown"):
            alert = make_alert(
                b,
                "DatacenterTierDown",
                f"max({selector('probe_success', job=b.job, tier=tid)}) == 0",
                d,
                labels,
                severity=d.severity_for(tier.standby),
                runbook="dr-failover",
            )
            group.rules.append(alert)
            some_down = (series(two[0], 0), series(two[1], 1))
            group.cases.extend(_cases(alert, tuple(series(sid, 0) for sid in two), some_down))
    return RuleFile("platform", [group])
