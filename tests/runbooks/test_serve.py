"""The webhook receiver in process (Starlette's TestClient runs its lifespan, so the inbox and workers run).

Notifications are shaped as Alertmanager 0.25+ sends them; the end-to-end test with
a real Alertmanager is test_serve_alertmanager.py.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rb_support import World
from starlette.testclient import TestClient

from sre.server.app import Config, build_app

TOKEN = "webhook-token-0123456789"
API = "api-token-alice-0123456789"
API_BOB = "api-token-bob-0123456789ab"

RUNBOOK = """\
version: 1
name: fix-tier
revision: 1
params:
  service: {type: service, kinds: [postgres]}
  tier: {type: tier, standby: [active, hot]}
target: "{{ service }}/{{ tier }}"
limits: {runs: 10, per: 1h}
steps:
  - id: record
    action: postgres_sql
    with:
      service: "{{ service }}"
      tier: "{{ tier }}"
      check_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = %(k)s)"
      apply_sql: "INSERT INTO changes (k, n) VALUES (%(k)s, 1) ON CONFLICT (k) DO UPDATE SET n = changes.n + 1"
      params: {k: "{{ run_id }}"}
"""

GUARDED = RUNBOOK.replace("name: fix-tier", "name: guarded").replace(
    "limits:", "approval: {required: true, four_eyes: true}\nlimits:"
)

RULES = """\
version: 1
rules:
  - name: fix
    match: {alertname: DbBroken, runbook: fix-tier}
    runbook: fix-tier
    params: {service: service, tier: tier}
  - name: guarded
    match: {alertname: DbGuarded}
    runbook: guarded
    params: {service: service, tier: tier}
"""


def alert(fp: str = "a1b2c3d4e5f60718", status: str = "firing", **labels: str) -> dict[str, Any]:
    base = {"alertname": "DbBroken", "runbook": "fix-tier", "service": "db", "tier": "primary"}
    return {
        "status": status,
        "labels": {**base, **labels},
        "annotations": {"summary": "db broken"},
        "startsAt": "2026-12-01T10:15:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T10:20:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fp,
    }


def notification(*alerts: dict[str, Any], reason: str = "first notification") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DbBroken"}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "sre",
        "groupLabels": {"alertname": "DbBroken"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "notification_reason": reason,
        "alerts": list(alerts),
    }


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    world.runbook("fix-tier", RUNBOOK)
    world.runbook("guarded", GUARDED)
    (world.folder / "runbooks" / "rules.yaml").write_text(RULES)
    engine = world.engine()
    config = Config(
        engine=engine, token=TOKEN.encode(), api_tokens={"alice": API.encode(), "bob": API_BOB.encode()}
    )
    with TestClient(build_app(config)) as c:
        yield c


def post(client: TestClient, body: Any, token: str | None = TOKEN, raw: bytes | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return client.post(
        "/alerts", content=raw if raw is not None else json.dumps(body).encode(), headers=headers
    )


def api(client: TestClient, path: str, token: str = API, method: str = "GET") -> Any:
    return client.request(method, f"/api/v1/{path}", headers={"authorization": f"Bearer {token}"})


def wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def episodes(client: TestClient) -> list[dict[str, Any]]:
    return list(api(client, "episodes").json())


def decided(client: TestClient, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_for(
        lambda: (
            (eps := episodes(client))
            and all(e["run_id"] or e["reason"] for e in eps)
            and len(eps) >= n
            and eps
        )
    )
    return found


def test_an_alert_starts_one_run_and_resends_and_copies_start_nothing(
    client: TestClient, world: World
) -> None:
    body = notification(alert())
    assert post(client, body).json() == {"status": "stored"}
    # A resend, and an HA peer's copy with another notification_reason: the same delivery.
    assert post(client, body).json() == {"status": "duplicate"}
    assert post(client, {**body, "notification_reason": "repeat interval elapsed"}).json() == {
        "status": "duplicate"
    }
    # The group grew: a new delivery, but the first alert's episode is the same.
    assert post(client, notification(alert(), alert(fp="ffff0000ffff0000", tier="secondary"))).json() == {
        "status": "stored"
    }
    eps = decided(client, 2)
    runs = wait_for(
        lambda: (
            [r for r in api(client, "runs").json() if r["state"] == "succeeded"]
            if len([r for r in api(client, "runs").json() if r["state"] == "succeeded"]) == 2
            else None
        )
    )
    assert {r["target"] for r in runs} == {"fix-tier:db/primary", "fix-tier:db/secondary"}
    assert {e["run_id"] for e in eps} == {r["id"] for r in runs}
    assert world.sql("SELECT count(*), sum(n) FROM changes") == [(2, 2)]
    one = api(client, f"runs/{runs[0]['id']}").json()
    assert one["journal"][0]["event"] == "started"
    assert one["requested_by"] == "alertmanager:sre"
    metrics = client.get("/metrics").text
    assert 'sre_runbook_duplicates_total{level="delivery"} 2.0' in metrics
    assert 'sre_runbook_duplicates_total{level="episode"} 1.0' in metrics
    assert 'sre_runbook_runs{state="succeeded"} 2.0' in metrics
    assert "sre_runbook_step_duration_seconds_count" in metrics


def test_a_late_firing_after_the_resolve_is_stale(client: TestClient, world: World) -> None:
    assert post(client, notification(alert(status="resolved"))).json() == {"status": "stored"}
    wait_for(lambda: episodes(client))
    assert post(client, notification(alert())).json() == {"status": "stored"}
    wait_for(lambda: "sre_runbook_stale_alerts_total 1.0" in client.get("/metrics").text)
    assert api(client, "runs").json() == []
    (episode,) = episodes(client)
    assert episode["status"] == "resolved" and episode["run_id"] is None


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"service": "db_postgres; rm -rf /"}, "is not a service of the model"),
        ({"service": "$(reboot)"}, "is not a service of the model"),
        ({"tier": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "is not a tier of the model"),
        ({"tier": "tertiary"}, "tier tertiary is cold"),
        ({"service": "cache"}, "is a redis; expected postgres"),
        ({"runbook": "rm -rf"}, "no rule matches"),
    ],
)
def test_hostile_labels_are_rejected_with_their_reason_and_start_nothing(
    client: TestClient, world: World, labels: dict[str, str], reason: str
) -> None:
    assert post(client, notification(alert(**labels))).status_code == 200
    (episode,) = decided(client, 1)
    assert reason in episode["reason"]
    assert episode["run_id"] is None
    assert api(client, "runs").json() == []
    assert world.sql("SELECT count(*) FROM changes") == [(0,)]


def test_a_missing_label_is_a_recorded_rejection(client: TestClient) -> None:
    hostile = alert()
    del hostile["labels"]["tier"]
    post(client, notification(hostile))
    (episode,) = decided(client, 1)
    assert "label 'tier' is missing" in episode["reason"]


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b'{"version": "4", "alerts": [', 400, "not JSON"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (json.dumps({**notification(alert()), "version": 4}).encode(), 400, "version"),
        (json.dumps({**notification(alert()), "alerts": "x"}).encode(), 400, "alerts"),
        (json.dumps(notification({**alert(), "startsAt": "yesterday"})).encode(), 400, "alerts.0.startsAt"),
        (json.dumps(notification({**alert(), "labels": {"a": 1}})).encode(), 400, "alerts.0.labels.a"),
        (json.dumps(notification({**alert(), "fingerprint": "../../x"})).encode(), 400, "fingerprint"),
        (b"[" * 100_000 + b"]" * 100_000, 400, ""),
        (b"{" + b" " * (10 << 20) + b"}", 413, "larger than"),
    ],
)
def test_malformed_bodies_are_4xx_with_the_reason_and_store_nothing(
    client: TestClient, world: World, raw: bytes, status: int, message: str
) -> None:
    response = post(client, None, raw=raw)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert client.app.state.receiver.engine.store.notification_count() == 0  # type: ignore[attr-defined]


def test_a_wrong_or_missing_token_is_401(client: TestClient) -> None:
    assert post(client, notification(alert()), token=None).status_code == 401
    assert post(client, notification(alert()), token="wrong-token-0123456789").status_code == 401
    assert (
        post(client, notification(alert()), token=API).status_code == 401
    )  # the API's token is not the webhook's
    assert api(client, "runs", token=TOKEN).status_code == 401  # nor the other way round
    assert client.get("/api/v1/runs").status_code == 401
    assert client.get("/healthz").json() == {"status": "ok"}


def test_an_alert_for_a_guarded_runbook_waits_for_an_api_approval_by_someone_else(
    client: TestClient, world: World
) -> None:
    post(client, notification(alert(alertname="DbGuarded")))
    run = wait_for(lambda: [r for r in api(client, "runs").json() if r["state"] == "waiting_approval"])[0]
    plan = api(client, f"plans/{run['plan_hash']}").json()
    assert plan["runbook"] == "guarded" and plan["steps"][0]["id"] == "record"
    assert api(client, "plans/nope/approve", method="POST").status_code == 404
    approved = api(client, f"plans/{run['plan_hash']}/approve", method="POST")
    assert approved.status_code == 200, approved.text
    assert approved.json()["requeued"] == [run["id"]]
    done = wait_for(lambda: (r := api(client, f"runs/{run['id']}").json())["state"] == "succeeded" and r)
    assert done["approved_by"] == "alice"
    assert world.sql("SELECT count(*) FROM changes") == [(1,)]


def test_the_api_hides_nothing_it_should_not_show_and_secrets_are_never_in_it(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = notification(alert())
    post(client, copy.deepcopy(body))
    decided(client, 1)
    text = json.dumps([api(client, "runs").json(), api(client, "episodes").json()])
    assert TOKEN not in text and API not in text


def test_a_store_failure_is_503_so_alertmanager_retries(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sre.runbooks.db import StoreError

    store = client.app.state.receiver.engine.store  # type: ignore[attr-defined]

    def broken(batch: Any) -> Any:
        raise StoreError("store: disk I/O error")

    monkeypatch.setattr(store, "add_notifications", broken)
    response = post(client, notification(alert()))
    assert response.status_code == 503
    assert "retry" in response.json()["error"]


def test_a_truncated_group_is_read_in_full_from_alertmanager(world: World, tmp_path: Any) -> None:
    import httpx
    from rb_support import free_port, start_alertmanager

    world.runbook("fix-tier", RUNBOOK)
    world.runbook("guarded", GUARDED)
    (world.folder / "runbooks" / "rules.yaml").write_text(RULES)
    (world.folder / "am-token").write_text("x" * 20)
    proc, url = start_alertmanager(tmp_path / "am", free_port(), world.folder / "am-token")
    try:
        labels = {"alertname": "DbBroken", "runbook": "fix-tier", "service": "db"}
        posted = [
            {"labels": {**labels, "tier": t}, "startsAt": "2026-12-01T10:15:30Z"}
            for t in ("primary", "secondary")
        ]
        assert httpx.post(f"{url}/api/v2/alerts", json=posted).status_code == 200
        in_am = httpx.get(f"{url}/api/v2/alerts").json()
        first = next(a for a in in_am if a["labels"]["tier"] == "primary")
        engine = world.engine(alertmanager_url=url)
        with TestClient(
            build_app(Config(engine=engine, token=TOKEN.encode(), api_tokens={"alice": API.encode()}))
        ) as c:
            only_one = alert(fp=first["fingerprint"])
            only_one["startsAt"] = first["startsAt"]
            post(c, {**notification(only_one), "truncatedAlerts": 1})
            eps = decided(c, 2)
        assert {e["labels"]["tier"] for e in eps} == {"primary", "secondary"}
        assert all(e["run_id"] for e in eps)
    finally:
        proc.terminate()
        proc.wait(10)
