"""Planning: every service x tier with an endpoint; the rest skipped with a reason; filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from platforms import write_platform

from sre.errors import InputError
from sre.platform.loader import load_environment, load_platform
from sre.probes.definitions import load_definitions
from sre.probes.model import Reason
from sre.probes.plan import Plan, make_plan


def _plan(tmp_path: Path, **filters: list[str]) -> Plan:
    platform = load_platform(write_platform(tmp_path, web=1, web12=2, closed=3, grpc=4, ca="ca.pem"))
    env = load_environment(platform, "test")
    defs = load_definitions(tmp_path / "probes", platform)
    return make_plan(platform, env, defs, vantage="v1", **filters)


def test_every_service_and_tier(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    keys = sorted(t.key for t in plan.targets)
    assert keys == [
        "db/primary/postgres",
        "k8s/primary/grpc",
        "k8s/primary/kubernetes",
        "k8s/secondary/kubernetes",
        "web/primary/https",
        "web/secondary/https",
        "web/tertiary/https",
    ]
    skipped = {(r.service, r.tier, r.check): (r.reason, r.message) for r in plan.skipped}
    assert skipped[("db", "secondary", "postgres")] == (Reason.no_endpoint, "no endpoint for tier secondary")
    assert skipped[("k8s", "secondary", "grpc")][0] is Reason.no_endpoint
    assert skipped[("vault", "primary", "vault")] == (
        Reason.not_in_environment,
        "no Vault server in this environment",
    )
    assert all(r.vantage == "v1" for r in plan.skipped)


def test_expectations_follow_the_tier(tmp_path: Path) -> None:
    targets = {t.key: t for t in _plan(tmp_path).targets}
    db = targets["db/primary/postgres"]
    assert db.expect.role == "primary" and db.expect.standby == "active"
    assert targets["web/tertiary/https"].expect.standby == "cold"
    grpc = targets["k8s/primary/grpc"]
    assert grpc.endpoint.url == "grpc://127.0.0.1:4"
    assert grpc.timeout == 2.0
    web = targets["web/primary/https"]
    assert [str(c) for c in web.conditions] == ['body.$.status == "ok"']
    assert web.endpoint.ca_file is not None and web.endpoint.ca_file.endswith("ca.pem")


def test_skipped_endpoints_hide_credentials(tmp_path: Path) -> None:
    plan = _plan(tmp_path, tiers=["primary"], services=["db"])
    assert [t.key for t in plan.targets] == ["db/primary/postgres"]
    plan_all = _plan(tmp_path, services=["db"])
    assert all("hunter2" not in r.endpoint for r in plan_all.skipped)


def test_filters(tmp_path: Path) -> None:
    assert {t.service for t in _plan(tmp_path, zones=["dmz"]).targets} == {"web"}
    assert {t.tier for t in _plan(tmp_path, tiers=["secondary"]).targets} == {"secondary"}
    only = _plan(tmp_path, services=["web"], tiers=["primary"])
    assert [t.key for t in only.targets] == ["web/primary/https"] and not only.skipped


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"services": ["nope"]}, "unknown service 'nope'"),
        ({"tiers": ["quaternary"]}, "unknown tier 'quaternary'"),
        ({"zones": ["moon"]}, "unknown zone 'moon'"),
    ],
)
def test_unknown_filter_values_are_input_errors(
    tmp_path: Path, filters: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        _plan(tmp_path, **filters)


def test_a_check_the_endpoint_cannot_answer_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = write_platform(tmp_path, web=1, web12=2, closed=3, grpc=4, ca="ca.pem")
    text = path.read_text()
    old = 'secondary: "https://k8s.ams1:6443"'
    assert old in text
    new = 'secondary: {url: "https://k8s.ams1:6443", unavailable: {kubernetes: "no Kubernetes API here"}}'
    path.write_text(text.replace(old, new))
    platform = load_platform(path)
    plan = make_plan(
        platform,
        load_environment(platform, "test"),
        load_definitions(tmp_path / "probes", platform),
        vantage="v",
    )
    assert "k8s/secondary/kubernetes" not in [t.key for t in plan.targets]
    assert "k8s/primary/kubernetes" in [t.key for t in plan.targets]
    skipped = {(r.service, r.tier, r.check): (r.reason, r.message) for r in plan.skipped}
    assert skipped[("k8s", "secondary", "kubernetes")] == (
        Reason.not_in_environment,
        "no Kubernetes API here",
    )
