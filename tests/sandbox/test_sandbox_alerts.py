"""The observability loop on the full sandbox: probe exporter -> Prometheus (targets from /sd, the
generated rules) -> Alertmanager (the generated routes) -> `sre serve` (the runbook receiver) and the
stand-in for the human receivers, for real.

Every probe query of every generated dashboard returns data for what the sandbox runs; alerts fire
when a server stops, reach `sre serve` with the bearer token (its API lists their episodes and the
runs they asked for), are muted by a tier going down, and resolve when it comes back.
"""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from requirements import SETUP, missing
from sandbox_helpers import REPO, Place, eventually, temporary_place

from sre.alerting.lint import dashboard_queries
from sre.alerting.queries import selectors
from sre.cli.main import main
from sre.sandbox import binaries
from sre.sandbox.catalog import launchers, not_in_sandbox
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.state import TierRow

pytestmark = pytest.mark.integration

CONTROL_PLANE = ("prometheus", "alertmanager", "blackbox", "probe-exporter", "sre-serve", "webhook")
# Fire: `for` 15 s, rules every 5 s, a scrape every 5 s; Alertmanager waits 1 s. About half a minute.
FIRE_TIMEOUT = 120.0


class Loop:
    def __init__(self, place: Place, sandbox: Sandbox) -> None:
        self.place, self.sandbox = place, sandbox
        state = sandbox.state()
        self.urls = {c.name: c.urls for c in state.components}
        self.rows: list[TierRow] = state.rows
        self.prometheus = self.urls["prometheus"]["http"]
        self.alertmanager = self.urls["alertmanager"]["http"]
        self.webhook = self.urls["webhook"]["http"]
        self.serve = self.urls["sre-serve"]["http"]
        secrets = sandbox.root / "secrets"
        self.token = (secrets / "sre-serve.password").read_text().strip()
        self.api_token = (secrets / "sre-serve-api.password").read_text().strip()

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = self.prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)["data"]["result"]  # type: ignore[no-any-return]

    def get(self, url: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return json.load(resp)

    def api(self, path: str) -> Any:
        """`sre serve`'s JSON API, with its API token."""
        return self.get(self.serve + "/api/v1" + path, self.api_token)

    def firing(self) -> list[dict[str, str]]:
        alerts = self.get(self.prometheus + "/api/v1/alerts")["data"]["alerts"]
        return [a["labels"] for a in alerts if a["state"] == "firing"]

    def notifications(self) -> list[dict[str, Any]]:
        return self.get(self.webhook + "/notifications")  # type: ignore[no-any-return]

    def received(self, since: float, status: str, **labels: str) -> list[dict[str, Any]]:
        """Alert episodes `sre serve` stored since `since` with these labels: first seen then (firing),
        or resolved since then."""
        out = []
        for e in self.api("/episodes?limit=1000"):
            if not all(e["labels"].get(k) == v for k, v in labels.items()):
                continue
            new = e["first_seen"] >= since
            over = e["status"] == "resolved" and e["updated_at"] >= since
            if new if status == "firing" else over:
                out.append(e)
        return out

    def delivered(self, since: float, status: str, path: str, **labels: str) -> list[dict[str, Any]]:
        """Notifications to the stand-in's `path` since `since` holding an alert with these labels and status."""
        out = []
        for n in self.notifications():
            if n["received_at"] < since or n["path"] != path:
                continue
            for a in n["alerts"]:
                if a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items()):
                    out.append(n)
                    break
        return out


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    absent = [
        b.install
        for launcher in launchers("full")
        for b in launcher.binaries
        if launcher.name != "mlflow" and binaries.find(b) is None
    ]
    if absent:
        missing("full-profile servers: " + "; ".join(absent), SETUP)
    for place in temporary_place():
        sandbox = Sandbox(place.sandbox_dir)
        sandbox.up(place.platform(), "full")
        loop = Loop(place, sandbox)
        # A few scrapes: every endpoint the exporter serves has been probed.
        expected = len(loop.get(loop.urls["probe-exporter"]["sd"]))

        def scraped(lp: Loop = loop, n: int = expected) -> bool:
            return len(lp.query('probe_success{job="sre-probe"}')) >= n

        eventually(
            scraped,
            timeout=60,
            every=1,
        )
        # A few scrapes of every exporter target, so rates over a minute have data for each of them.
        jobs = 'job=~"postgres_exporter|redis_exporter|node_exporter"'
        every_target = f"count(count_over_time(up{{{jobs}}}[1m]) >= 3) == count(up{{{jobs}}})"
        eventually(functools.partial(loop.query, every_target), timeout=90, every=1)
        # ClickHouse 18.16 fills system.asynchronous_metrics once a minute, the first time within one.
        uptime = functools.partial(loop.query, "ClickHouseAsyncMetrics_Uptime")
        eventually(uptime, timeout=90, every=1)
        yield loop


def test_status_lists_each_control_plane_component_with_its_url(
    loop: Loop, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(
            [
                "sandbox",
                "status",
                "--format",
                "json",
                "--dir",
                str(loop.sandbox.root),
                "--platform",
                str(loop.place.platform_file),
            ]
        )
    assert done.value.code in (0, None)
    components = {c["name"]: c for c in json.loads(capsys.readouterr().out)["components"]}
    for name in CONTROL_PLANE:
        assert components[name]["state"] == "running", name
        assert components[name]["urls"]["http"].startswith("http://127.0.0.1:"), name
    sd = loop.get(components["probe-exporter"]["urls"]["sd"])
    assert {g["labels"]["service"] for g in sd} >= {"ext_api", "redis", "db_postgres", "k8s_workers"}


def test_prometheus_discovers_through_sd_and_loads_the_generated_rules(loop: Loop) -> None:
    targets = loop.get(loop.prometheus + "/api/v1/targets")["data"]["activeTargets"]
    probes = [t for t in targets if t["labels"]["job"] == "sre-probe"]
    assert probes and all(t["health"] == "up" for t in probes), [t["lastError"] for t in probes]
    for t in probes:
        assert {"service", "zone", "tier", "dc", "kind", "check", "vantage"} <= set(t["labels"])
    groups = loop.get(loop.prometheus + "/api/v1/rules")["data"]["groups"]
    assert {"redis-probes", "platform-tiers", "ext_api-primary-slo"} <= {g["name"] for g in groups}
    assert all(g["interval"] <= 5 for g in groups)
    # The rules run every 5 s: the SLO recording rules have data after one evaluation, the probes'
    # and the one from the gateway's own request metric (slo.requests in platform.yaml).
    eventually(lambda: loop.query('slo:sli_error:ratio_rate5m{service="ext_api"}'), timeout=30)
    (requests,) = eventually(
        lambda: loop.query('slo:sli_error:ratio_rate5m{slo_id="ext_api-primary-requests"}'), timeout=30
    )
    assert 0 <= float(requests["value"][1]) < 1  # the share of 5xx among the requests served


# --- every panel has data -------------------------------------------------------------------------


def _expand(expr: str) -> str:
    """Grafana's macros and variables as a dashboard viewer's defaults: every value of a variable."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
    return re.sub(r"\$\{?\w+(?::\w+)?\}?", ".+", expr)


def _probe_exception(expr: str, rows: list[TierRow]) -> str | None:
    """Why a probe query may return nothing here: it selects only services or tiers the sandbox does
    not run (from the sandbox's own rows); None when something it selects is probed."""
    fixed: dict[str, set[str]] = {}
    for s in selectors(_expand(expr)):  # a variable matches anything: it fixes nothing
        for name, op, value in s.labels:
            if name not in ("service", "tier", "zone"):
                continue
            if op == "Equal":
                fixed[name] = {value}
            elif op == "Re" and re.fullmatch(r"[\w|]+", value):  # a fixed list: "ext_api|cdn"
                fixed[name] = set(value.split("|"))
    from sre.platform.loader import load_platform

    platform = load_platform(REPO / "platform.yaml")

    def selected(r: TierRow, keys: tuple[str, ...] = ("service", "tier", "zone")) -> bool:
        have = {"service": r.service, "tier": r.tier, "zone": platform.services[r.service].zone}
        return all(have[k] in v for k, v in fixed.items() if k in keys)

    if any(r.endpoint and selected(r) for r in rows):
        return None
    chosen = [r for r in rows if selected(r, ("service", "tier"))]
    reasons = sorted({f"{r.service} {r.tier}: {r.state}: {r.reason}" for r in chosen}) or [
        f"nothing the sandbox runs matches {fixed}"
    ]
    return "; ".join(reasons[:3])


def _has_data_soon(loop: Loop, expr: str) -> bool:
    try:
        eventually(lambda: loop.query(expr), timeout=20, every=1)
    except AssertionError:
        return False
    return True


def _no_server(expr: str, rows: list[TierRow]) -> bool:
    """The query names services and tiers whose servers do not run here (a cold tier, a tier the
    sandbox does not run), as the sandbox's rows say: its exporters have nothing to report."""
    fixed: dict[str, str] = {}
    for s in selectors(_expand(expr)):
        for name, op, value in s.labels:
            if name in ("service", "tier") and op == "Equal":
                fixed[name] = value
    if set(fixed) != {"service", "tier"}:
        return False
    return not any(
        r.service == fixed["service"] and r.tier == fixed["tier"] and r.state == "running" for r in rows
    )


def test_every_probe_query_of_every_dashboard_has_data(loop: Loop) -> None:
    platform_file = loop.place.platform_file
    from sre.platform.loader import load_platform

    queries = dashboard_queries(load_platform(platform_file), REPO / "dashboards")
    empty, excepted, checked = [], {}, 0
    for where, expr in queries:
        metrics = {s.metric for s in selectors(expr)}
        if not any(m and m.startswith("probe_") for m in metrics):
            continue
        why = _probe_exception(expr, loop.rows)
        if why is not None:
            excepted[f"{where}: {expr}"] = why
            continue
        checked += 1
        if not loop.query(_expand(expr)):
            empty.append(f"{where}: {expr}")
    assert not empty, "probe queries with no data:\n" + "\n".join(empty)
    assert checked > 90  # 97 when written: the probe queries of what the sandbox runs
    # Each exception is a service or tier the sandbox itself reports as not running.
    for query, why in excepted.items():
        assert "not_in_sandbox" in why or "skipped" in why or "nothing the sandbox runs" in why, (query, why)
    not_here = {r.service for r in loop.rows if r.state == "not_in_sandbox"}
    assert set(not_in_sandbox(load_platform(loop.place.platform_file))) <= not_here


# Metrics of exporters the sandbox does not run yet: their panels stay empty here, each for this reason.
# The test below fails when a query reads a metric that is neither probed nor listed, so the list
# cannot grow silently (and an entry whose metric starts to have data must be removed).
NO_EXPORTER_HERE = {
    "ALERTS": "no alert fires while the sandbox is healthy (the panel shows `none`)",
    "sre_runbook_": "no switchover drill has run in this sandbox",
    "flask_http_": "the sandbox's Prometheus does not scrape MLflow's /metrics (when the extra is installed)",
    "aws_s3_": "S3 request metrics come from CloudWatch, which the sandbox has not",
    "kube_": "the sandbox has no Kubernetes API",
    "apiserver_": "the sandbox has no Kubernetes API",
}


def test_other_dashboard_queries_are_empty_only_for_a_listed_reason(loop: Loop) -> None:
    from sre.platform.loader import load_platform

    platform = load_platform(loop.place.platform_file)
    # Services with no server on any tier here (not in the sandbox, or skipped like MLflow without its
    # optional extra): their panels are excepted, as the sandbox's own rows say.
    running = {r.service for r in loop.rows if r.endpoint}
    absent = set(platform.services) - running
    assert set(not_in_sandbox(platform)) <= absent
    unexplained, seen = [], set()
    for where, expr in dashboard_queries(platform, REPO / "dashboards"):
        metrics = {s.metric or "" for s in selectors(expr)}
        if any(m.startswith("probe_") for m in metrics):
            continue
        services = {v for s in selectors(expr) for n, op, v in s.labels if n == "service" and op == "Equal"}
        if services and services <= absent:
            continue
        if _no_server(expr, loop.rows):
            continue
        if loop.query(_expand(expr)):
            continue
        reasons = {p for m in metrics for p in NO_EXPORTER_HERE if m.startswith(p)}
        seen |= reasons
        if not reasons:
            unexplained.append((where, expr))
    # On a busy machine a scrape may lag: give each unexplained query a few more scrapes.
    still = [f"{w}: {e}" for w, e in unexplained if not _has_data_soon(loop, _expand(e))]
    assert not still, "queries with no data and no listed reason:\n" + "\n".join(still)
    stale = set(NO_EXPORTER_HERE) - seen - ({"flask_http_"} if "mlflow" in absent else set())
    assert not stale, f"listed but not needed any more: {stale}"


# --- alerts fire and resolve ----------------------------------------------------------------------


def _wait(what: Callable[[], Any], timeout: float = FIRE_TIMEOUT) -> Any:
    return eventually(what, timeout=timeout, every=0.5)


def _serve_metric(loop: Loop, name: str) -> dict[str, float]:
    """Samples of one metric of `sre serve`'s /metrics: labels text -> value."""
    with urllib.request.urlopen(loop.serve + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name) :]] = float(value)
    return out


def test_a_stopped_replica_fires_reaches_sre_serve_and_resolves(loop: Loop) -> None:
    started = time.time()
    loop.sandbox.stop_process("redis-secondary")
    try:
        hit = _wait(lambda: loop.received(started, "firing", alertname="ReplicaNotReady", service="redis"))
        fired_after = hit[0]["first_seen"] - started
        print(
            f"\ntime to fire: ReplicaNotReady reached sre serve {fired_after:.1f} s after the replica stopped"
        )
        # Stored means authorised: sre serve answers 401 to a notification without its bearer token.
        assert _serve_metric(loop, "sre_runbook_notifications_total")[""] >= 1
        assert '{reason="unauthorized"}' not in _serve_metric(loop, "sre_runbook_rejected_total")
        labels = hit[0]["labels"]
        assert labels["runbook"] == "rebuild-replica" and labels["severity"] == "page"
        assert {"zone", "dc", "team"} <= set(labels)
        # The episode asked for its runbook: a run of rebuild-replica on the replica, which waits for
        # its four-eyes approval before any step.
        episode = _wait(
            lambda: [e for e in loop.received(started, "firing", alertname="ReplicaNotReady") if e["run_id"]]
        )[0]
        run = loop.api(f"/runs/{episode['run_id']}")
        assert (run["runbook"], run["params"]) == (
            "rebuild-replica",
            {"service": "redis", "tier": "secondary"},
        )
        firing = loop.firing()
        names = {(a["alertname"], a["service"], a["tier"]) for a in firing}
        assert ("ReplicaNotReady", "redis", "secondary") in names
        assert ("ProbeFailed", "redis", "secondary") in names
        # People are told too: the page to the team and the zone, the probe's ticket to the team.
        for path, name in (
            ("/notify/platform-page", "ReplicaNotReady"),
            ("/notify/zone-internal-page", "ReplicaNotReady"),
            ("/notify/platform-ticket", "ProbeFailed"),
        ):
            _wait(functools.partial(loop.delivered, started, "firing", path, alertname=name, service="redis"))
    finally:
        loop.sandbox.start_process("redis-secondary")
    restarted = time.time()
    resolved = _wait(
        lambda: loop.received(restarted, "resolved", alertname="ReplicaNotReady", service="redis")
    )
    print(f"resolved notification {resolved[0]['updated_at'] - restarted:.1f} s after the replica started")
    # Nothing sre serve keeps or logs carries the token.
    assert loop.token not in json.dumps(loop.api("/episodes?limit=1000"))
    assert loop.token not in (loop.sandbox.root / "logs" / "sre-serve.log").read_text()


# Every process of the secondary tier: its replicas (and NATS mirror), its worker (behind the gateway's secondary
# frontends) and nginx (both CDN tiers: the primary CDN goes down with it).
SECONDARY = ("worker-secondary", "postgres-secondary", "redis-secondary", "nats-secondary", "nginx")


def test_a_tier_down_fires_once_mutes_its_services_and_resolves(loop: Loop) -> None:
    started = time.time()
    for name in SECONDARY:
        loop.sandbox.stop_process(name)
    try:
        hit = _wait(
            lambda: loop.received(started, "firing", alertname="DatacenterTierDown", tier="secondary")
        )
        print(
            f"\ntime to fire: DatacenterTierDown reached sre serve {hit[0]['first_seen'] - started:.1f} s "
            "after the stop"
        )

        def muted() -> list[dict[str, Any]] | None:
            alerts = loop.get(loop.alertmanager + "/api/v2/alerts")
            down = [a for a in alerts if a["labels"]["alertname"] == "DatacenterTierDown"]
            others = [a for a in alerts if a["labels"].get("tier") == "secondary" and a not in down]
            names = {a["labels"]["alertname"] for a in others}
            if not names >= {"ProbeFailed", "ReplicaNotReady"}:
                return None  # not every alert of the tier has fired yet
            if any(a["status"]["state"] != "suppressed" for a in others):
                return None
            return down + others

        alerts = _wait(muted)
        down = [a for a in alerts if a["labels"]["alertname"] == "DatacenterTierDown"]
        assert len(down) == 1 and down[0]["status"]["state"] == "active"
        fingerprint = down[0]["fingerprint"]
        for a in alerts[1:]:
            assert a["status"]["inhibitedBy"] == [fingerprint], a["labels"]
        assert {a["labels"]["alertname"] for a in alerts[1:]} >= {"ProbeFailed", "ReplicaNotReady"}
    finally:
        for name in reversed(SECONDARY):
            loop.sandbox.start_process(name)
    restarted = time.time()
    resolved = _wait(lambda: loop.received(restarted, "resolved", alertname="DatacenterTierDown"))
    print(f"resolved notification {resolved[0]['updated_at'] - restarted:.1f} s after the tier started")


def test_sre_serve_refuses_a_notification_without_its_token(loop: Loop) -> None:
    body = json.dumps({"version": "4", "status": "firing", "alerts": []}).encode()
    for headers in ({}, {"Authorization": "Bearer not-the-token-of-this-sandbox"}):
        request = urllib.request.Request(loop.serve + "/alerts", data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401


# --- a whole DC lost: the alert starts the failover, a person approves it -------------------------


def _primary_processes(loop: Loop) -> list[str]:
    """Every process serving the primary tier, as the sandbox's rows say, with nginx (one process
    serves both CDN tiers) and rotel (the collector HAProxy fronts). HAProxy stays: its primary
    frontends fail with what they front."""
    names = {r.process for r in loop.rows if r.tier == "primary" and r.process and r.process != "haproxy"}
    return sorted(names | {"rotel"})


def _run(loop: Loop, run_id: str) -> dict[str, Any]:
    return loop.api(f"/runs/{run_id}")  # type: ignore[no-any-return]


def _approve(loop: Loop, plan_hash: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{loop.serve}/api/v1/plans/{plan_hash}/approve",
        data=b"",
        headers={"Authorization": f"Bearer {loop.api_token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)  # type: ignore[no-any-return]


def test_the_primary_dc_down_fails_over_through_alertmanager_sre_serve_and_an_approval(loop: Loop) -> None:
    """DatacenterTierDown on the primary -> Alertmanager -> sre serve plans dr-failover (the old primary
    verified fenced) and waits -> a second person approves through the API -> the run promotes the
    secondary and moves traffic; no write acknowledged before the loss is missing. Then the old primary
    rejoins and a planned switchover returns the sandbox to where it started. Last in this module: it
    moves the primary."""
    from dr_support import back_to_the_primary, engine, missing, one, writers
    from sandbox_helpers import Running

    core = Running(loop.place, loop.sandbox, loop.sandbox.state())
    down = _primary_processes(loop)
    assert {"postgres-primary", "worker-primary", "redis-primary", "nats"} <= set(down), down
    with writers(core) as w:
        eventually(lambda: sum(map(len, w.acked.values())) > 20, timeout=30)
        started = time.time()
        for name in down:
            loop.sandbox.stop_process(name)
        acked_before = {k: list(v) for k, v in w.acked.items()}
        episode = _wait(
            lambda: [
                e
                for e in loop.received(started, "firing", alertname="DatacenterTierDown", tier="primary")
                if e["run_id"]
            ]
        )[0]
        print(
            f"\nDatacenterTierDown reached sre serve {episode['first_seen'] - started:.1f} s after the stop"
        )
        waiting = _wait(lambda: (r := _run(loop, episode["run_id"]))["state"] == "waiting_approval" and r)
        assert waiting["runbook"] == "dr-failover"
        assert waiting["params"] == {"from": "primary", "to": "secondary"}
        assert waiting["requested_by"].startswith("alertmanager:")
        # The plan a person reads before approving: the fence is verified, not claimed.
        plan = loop.api(f"/plans/{waiting['plan_hash']}")
        facts = {s["id"]: s["facts"] for s in plan["steps"]}
        assert facts["fenced"] == {"fenced": "unreachable"}
        assert facts["candidate"] == {"candidate": "secondary", "mode": "failover"}
        assert plan["four_eyes"] and not plan["approvals"]
        approved = _approve(loop, waiting["plan_hash"])
        assert approved["by"] == "api" and episode["run_id"] in approved["requeued"]
        done = _wait(
            lambda: (
                (r := _run(loop, episode["run_id"]))["state"] not in ("waiting_approval", "queued", "running")
                and r
            )
        )
        assert done["state"] == "succeeded", (done["message"], done["journal"][-4:])
        assert done["approved_by"] == "api"
        applied = [e["step"] for e in done["journal"] if e["event"] == "applied"]
        assert applied.index("promote") < applied.index("move-traffic") < applied.index("write-through")
        # Writers through the primary's gateway are acknowledged again, now by the secondary.
        eventually(
            lambda: sum(map(len, w.acked.values())) > sum(map(len, acked_before.values())) + 20, timeout=30
        )
    assert one(core, "secondary", "SELECT pg_is_in_recovery()") is False
    assert missing(core, "secondary", w) == []

    # Back to the start: the old primary is rewound and streams from the secondary, the rest of the
    # tier starts, and the planned switchover returns the primary role.
    started_again = tuple(name for name in down if name != "postgres-primary")
    back = back_to_the_primary(core, engine(core, loop.place.folder), start=started_again)
    assert back.ok, (back.message, back.journal[-3:])
    assert one(core, "primary", "SELECT pg_is_in_recovery()") is False
