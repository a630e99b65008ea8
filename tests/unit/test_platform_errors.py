"""Every broken platform file gives one line naming file, line and field, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "platform.yaml").read_text(encoding="utf-8")


def mutate(tmp_path: Path, old: str, new: str, *, count: int = 1) -> tuple[Path, int]:
    """Write platform.yaml with one edit; return the file and the line the edit starts on."""
    assert SEED.count(old) >= count, old
    text = SEED.replace(old, new, count)
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    at = text.index(new) if new else SEED.index(old)
    return path, text[:at].count("\n") + 1


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["inventory", "validate", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exit_info.value.code or 0), err.strip()


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


def test_role_outside_the_enum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(
        tmp_path, "      secondary: {role: replica, max_lag_seconds: 2}", "      secondary: {role: leader}"
    )
    code, err = validate(path, capsys)
    line = line_of(path, "secondary: {role: leader}")
    assert (code, err) == (
        2,
        f"{path}:{line}: services.redis.tiers.secondary.role: expected one of primary, replica, cold; got 'leader'",
    )


def test_duplicate_service_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(tmp_path, "  int_api:\n    name: Internal API GW", "  cdn:\n    name: Internal API GW")
    code, err = validate(path, capsys)
    first = line_of(path, "  cdn:")
    second = line_of(path, "  cdn:", 2)
    assert (code, err) == (2, f"{path}:{second}: services.cdn: duplicate key 'cdn' (first at line {first})")


def test_unknown_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(
        tmp_path, "    name: Kafka Cluster\n    zone: data", "    name: Kafka Cluster\n    zone: dataa"
    )
    code, err = validate(path, capsys)
    line = line_of(path, "zone: dataa")
    assert (code, err) == (
        2,
        f"{path}:{line}: services.kafka.zone: unknown zone 'dataa'; expected one of data, dmz, internal, monitoring",
    )


def test_edge_to_unknown_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line = mutate(
        tmp_path, "{from: kafka, to: ai_engine, label: Stream}", "{from: kafka, to: ai, label: Stream}"
    )
    code, err = validate(path, capsys)
    assert (code, err) == (2, f"{path}:{line}: edges[14].to: unknown service or external 'ai'")


def test_endpoint_for_unknown_tier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "        tertiary: https://api.dub1.prod.acme.example"
    path, line = mutate(tmp_path, old, "        quaternary: https://api.dub1.prod.acme.example")
    code, err = validate(path, capsys)
    assert (code, err) == (
        2,
        f"{path}:{line}: environments.prod.endpoints.ext_api.quaternary: "
        "unknown tier 'quaternary'; expected one of primary, secondary, tertiary",
    )


def test_endpoint_for_unknown_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line = mutate(
        tmp_path, "      cdn:\n        primary: https://cdn", "      cdnx:\n        primary: https://cdn"
    )
    code, err = validate(path, capsys)
    assert (code, err) == (2, f"{path}:{line}: environments.prod.endpoints.cdnx: unknown service 'cdnx'")


def test_endpoint_without_scheme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "        primary: https://push.fra1.prod.acme.example"
    path, line = mutate(tmp_path, old, "        primary: push.fra1.prod.acme.example")
    code, err = validate(path, capsys)
    assert code == 2
    assert err.startswith(
        f"{path}:{line}: environments.prod.endpoints.push_svc.primary.url: expected a URL with"
    )


def test_stateful_service_without_a_role_in_a_tier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = mutate(tmp_path, "      tertiary: {role: cold, max_backup_age_hours: 48}\n", "")
    code, err = validate(path, capsys)
    tiers_line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), start=1)
        if n > line_of(path, "  delta_lake:") and text == "    tiers:"
    )
    assert (code, err) == (
        2,
        f"{path}:{tiers_line}: services.delta_lake.tiers: stateful service has no replication role for tier 'tertiary'",
    )


def test_missing_required_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(tmp_path, "    kind: vault\n", "")
    code, err = validate(path, capsys)
    assert (code, err) == (
        2,
        f"{path}:{line_of(path, '  vault:')}: services.vault.kind: required field is missing",
    )


def test_unknown_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line = mutate(tmp_path, "    owner: security\n", "    owner: security\n    ownr: security\n")
    code, err = validate(path, capsys)
    assert (code, err) == (2, f"{path}:{line + 1}: services.vault.ownr: unknown field")


def test_wrong_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line = mutate(
        tmp_path,
        "    stateful: false\n    user_facing: true\n    slo: {availability: 99.99",
        "    stateful: maybe\n    user_facing: true\n    slo: {availability: 99.99",
    )
    code, err = validate(path, capsys)
    assert (code, err) == (2, f"{path}:{line}: services.cdn.stateful: expected true or false; got 'maybe'")


def test_user_facing_service_without_slo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "    slo: {availability: 99.5, latency: {threshold_ms: 2000, percentile: 95}}\n"
    path, _ = mutate(tmp_path, old, "")
    code, err = validate(path, capsys)
    assert (code, err) == (
        2,
        f"{path}:{line_of(path, '  grafana:')}: services.grafana.slo: "
        "a user-facing service needs an SLO (availability, latency)",
    )


def test_yaml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line = mutate(tmp_path, "  dmz:\n    name: DMZ", "  dmz:\n    name: [DMZ")
    code, err = validate(path, capsys)
    assert (code, err) == (
        2,
        f"{path}:{line + 2}: YAML syntax error: did not find expected ',' or ']' "
        f"(while parsing a flow sequence at line {line + 1})",
    )


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("# nothing here\n")
    assert validate(path, capsys) == (2, f"{path}:1: the file is empty; expected a mapping")


def test_not_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("- ext_api\n- cdn\n")
    assert validate(path, capsys) == (2, f"{path}:1: expected a mapping at the top level; got a list")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.yaml"
    assert validate(path, capsys) == (2, f"{path}: file not found")


def test_unknown_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["inventory", "show", "--platform", str(ROOT / "platform.yaml"), "--env", "staging"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"{ROOT / 'platform.yaml'}: unknown environment 'staging'; defined: prod, sandbox"
    )


def test_broken_environment_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(SEED, encoding="utf-8")
    env_file = tmp_path / ".sre" / "sandbox" / "environment.yaml"
    env_file.parent.mkdir(parents=True)
    env_file.write_text(
        "endpoints:\n  redis:\n    primary: redis://127.0.0.1:1\n  ghost:\n    primary: tcp://x:1\n"
    )
    code, err = validate(path, capsys)
    assert (code, err) == (2, f"{env_file}:4: endpoints.ghost: unknown service 'ghost'")


def test_sandbox_environment_not_written_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(SEED, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["inventory", "show", "--platform", str(path), "--env", "sandbox"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("which does not exist; `sre sandbox up` writes it")
    assert "environment 'sandbox'" in err


def test_an_endpoint_port_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(tmp_path, "rediss://redis.fra1.prod.acme.internal:6380", "rediss://redis.fra1:99999")
    code, err = validate(path, capsys)
    line = line_of(path, "rediss://redis.fra1:99999")
    assert (code, err) == (
        2,
        f"{path}:{line}: environments.prod.endpoints.redis.primary.url: not a usable URL "
        "(Port out of range 0-65535); got 'rediss://redis.fra1:99999'",
    )


def test_a_port_error_does_not_show_the_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(
        tmp_path,
        "postgresql://pg.fra1.prod.acme.internal:5432/app?sslmode=verify-full",
        "postgresql://app:hunter2@pg.fra1:70000/app?password=hunter2",
    )
    code, err = validate(path, capsys)
    assert code == 2 and "hunter2" not in err
    assert err.endswith("got 'postgresql://pg.fra1:70000/...'")


def test_an_endpoint_scheme_that_does_not_fit_the_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = mutate(
        tmp_path,
        "postgresql://pg.ams1.prod.acme.internal:5432/app?sslmode=verify-full",
        "https://pg.ams1.prod.acme.internal:5432/app",
    )
    code, err = validate(path, capsys)
    line = line_of(path, "https://pg.ams1.prod.acme.internal:5432/app")
    assert (code, err) == (
        2,
        f"{path}:{line}: environments.prod.endpoints.db_postgres.secondary: a postgres service is reached "
        "over postgres:///postgresql://; got https://",
    )


def test_role_primary_on_two_tiers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = mutate(
        tmp_path,
        "      secondary: {role: replica, max_lag_seconds: 2}",
        "      secondary: {role: primary}",
    )
    code, err = validate(path, capsys)
    line = line_of(path, "secondary: {role: primary}")
    assert (code, err) == (
        2,
        f"{path}:{line}: services.redis.tiers.secondary.role: tier 'primary' is already the primary; "
        "a service has one primary",
    )


def test_role_replica_on_the_active_tier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "    tiers:\n      primary: {role: primary}\n      secondary: {role: replica, max_lag_seconds: 2}"
    new = "    tiers:\n      primary: {role: replica}\n      secondary: {role: primary}"
    path, _ = mutate(tmp_path, old, new)
    code, err = validate(path, capsys)
    line = line_of(path, "primary: {role: replica}")
    assert (code, err) == (
        2,
        f"{path}:{line}: services.redis.tiers.primary.role: tier 'primary' serves traffic (standby: active), "
        "so it holds the primary, not a replica",
    )


def test_sandbox_section_names_unknown_and_twice_given_services(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = mutate(tmp_path, "    cdn: [cdn]\n", "    cdn: [cdn, ext_api, cdnn]\n")
    code, err = validate(path, capsys)
    assert code == 2
    assert (
        f"{path}:{line}: sandbox.components.cdn[1]: service 'ext_api' is already given to component 'gateway'"
        in err
    )
    assert f"{path}:{line}: sandbox.components.cdn[2]: unknown service 'cdnn'; expected one of" in err
