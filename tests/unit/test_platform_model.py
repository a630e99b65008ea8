"""The real platform.yaml loads and says what the seed platform says."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.platform.loader import load_environment, load_platform

ROOT = Path(__file__).resolve().parents[2]

SEED_ZONES = {
    "dmz": ["ext_api", "cdn", "push_svc", "analytics_gw"],
    "internal": ["int_api", "k8s_workers", "db_postgres", "mongo", "clickhouse", "redis", "s3", "vault"],
    "data": ["kafka", "nats_js", "ai_engine", "mlflow", "delta_lake"],
    "monitoring": ["otel", "grafana", "elk"],
}


def test_seed_components_are_in_their_zones() -> None:
    p = load_platform(ROOT / "platform.yaml")
    assert {z: list(p.services_in_zone(z)) for z in p.zones} == SEED_ZONES
    assert len(p.services) == 20


def test_three_tiers_on_more_than_one_cloud() -> None:
    p = load_platform(ROOT / "platform.yaml")
    assert [(t, p.tiers[t].standby) for t in p.tiers] == [
        ("primary", "active"),
        ("secondary", "hot"),
        ("tertiary", "cold"),
    ]
    assert len({t.provider for t in p.tiers.values()}) == 3


def test_stateful_services_have_a_role_in_every_tier() -> None:
    p = load_platform(ROOT / "platform.yaml")
    stateful = [sid for sid, s in p.services.items() if s.stateful]
    assert {"db_postgres", "redis", "kafka", "nats_js", "vault", "s3"} <= set(stateful)
    for sid in stateful:
        assert [p.role(sid, t) for t in p.tiers] == ["primary", "replica", "cold"], sid


def test_policies_and_slos() -> None:
    p = load_platform(ROOT / "platform.yaml")
    assert p.policies.tls.min_version == "1.3"
    assert p.policies.pii.encryption_at_rest == "AES-256"
    for sid, svc in p.services.items():
        if svc.user_facing:
            assert svc.slo is not None and svc.slo.latency is not None, sid
        if svc.pii:
            assert svc.encryption_at_rest == "AES-256", sid
    assert p.services["db_postgres"].pii


def test_prod_has_an_endpoint_for_every_service_and_tier() -> None:
    p = load_platform(ROOT / "platform.yaml")
    prod = load_environment(p, "prod")
    assert set(prod.endpoints) == set(p.services)
    for sid, per_tier in prod.endpoints.items():
        assert set(per_tier) == set(p.tiers), sid
    assert prod.endpoints["k8s_workers"]["primary"].params["grpc"].endswith(":443")


def test_json_output_round_trips_into_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    from sre.cli.main import main
    from sre.platform.model import Platform

    with pytest.raises(SystemExit) as exit_info:
        main(["inventory", "show", "--format", "json", "--platform", str(ROOT / "platform.yaml")])
    assert exit_info.value.code == 0
    again = Platform.model_validate_json(capsys.readouterr().out)
    original = load_platform(ROOT / "platform.yaml")
    assert again.model_dump() == original.model_dump()
    assert again.services["redis"].tiers["secondary"].max_lag_seconds == 2
