"""Secrets go by reference: `inventory validate` refuses them in URLs, `inventory show` never prints
them, a token or API key that would break an HTTP header is refused without being printed, and a
probe outside the model never puts a URL's user:password in its name or its X-SRE-Probe-Id."""

from __future__ import annotations

from pathlib import Path

import pytest
from sre_cli import run

from sre.errors import InputError
from sre.grafana.client import resolve_target
from sre.probes.context import ProbeContext, RunContext
from sre.probes.definitions import Definitions
from sre.probes.plan import adhoc_target

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "hunter2-literal"


def _platform(tmp_path: Path, url: str) -> Path:
    text = (ROOT / "platform.yaml").read_text()
    head, _, _ = text.partition("environments:")
    path = tmp_path / "platform.yaml"
    path.write_text(
        head + "environments:\n  prod:\n    endpoints:\n      db_postgres:\n" + f'        primary: "{url}"\n'
    )
    return path


@pytest.mark.parametrize(
    ("url", "what"),
    [
        (f"postgresql://app:{PASSWORD}@db.internal:5432/app", "a password in the URL"),
        (f"postgresql://db.internal:5432/app?password={PASSWORD}", "the query parameter 'password'"),
        (f"postgresql://db.internal:5432/app?token={PASSWORD}", "the query parameter 'token'"),
    ],
)
def test_validate_refuses_literal_secrets_in_endpoint_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, what: str
) -> None:
    code, _, err = run(["inventory", "validate", str(_platform(tmp_path, url))], capsys)
    assert code == 2, err
    assert "endpoints.db_postgres.primary.url" in err and what in err and "by reference" in err
    assert PASSWORD not in err


def test_a_user_name_alone_is_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _platform(tmp_path, "postgresql://app@db.internal:5432/app?sslmode=verify-full")
    code, _, err = run(["inventory", "validate", str(path)], capsys)
    assert code == 0, err


def test_show_never_prints_a_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    path = _platform(tmp_path, f"postgresql://app:{PASSWORD}@db.internal:5432/app?password={PASSWORD}")
    code, out, err = run(["inventory", "show", "--platform", str(path)], capsys)
    assert code == 0, err
    assert "db.internal:5432" in out and PASSWORD not in out
    code, out, err = run(["inventory", "show", "--format", "json", "--platform", str(path)], capsys)
    assert code == 0, err
    assert "db.internal:5432" in out and PASSWORD not in out


@pytest.mark.parametrize("token", ["glsa_first\nsecond-line", "glsa_with\rreturn", "glsa_\x7fdel"])
def test_a_grafana_token_that_would_break_a_header_is_refused_unprinted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    path = tmp_path / "token"
    path.write_text(token)
    for source in ("file", "env"):
        monkeypatch.setenv("SRE_TEST_GRAFANA_TOKEN", token)
        with pytest.raises(InputError) as info:
            resolve_target("http://127.0.0.1:1", path if source == "file" else None, "SRE_TEST_GRAFANA_TOKEN")
        message = str(info.value)
        assert "one line" in message and "glsa" not in message and "second" not in message


def test_an_es_api_key_with_a_newline_is_refused_unprinted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    key = tmp_path / "key"
    key.write_text("VnVhQ2ZHY0JDZGJr\nUW0tZTVhT3g6dWky")
    code, out, err = run(["elk", "diff", "--url", "http://127.0.0.1:1", "--api-key-file", str(key)], capsys)
    assert code == 2, err
    assert "--api-key-file" in err and "one line" in err
    assert "VnVh" not in err + out and "UW0t" not in err + out
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "VnVhQ2ZHY0JDZGJr\nUW0tZTVhT3g6dWky")
    code, out, err = run(["elk", "diff", "--url", "http://127.0.0.1:1"], capsys)
    assert code == 2, err
    assert "ELASTICSEARCH_API_KEY" in err and "VnVh" not in err + out


def test_a_probe_outside_the_model_is_named_by_its_host_only() -> None:
    target = adhoc_target(f"http://admin:{PASSWORD}@127.0.0.1:8080/", Definitions().for_kind("http"))
    ctx = ProbeContext(RunContext(vantage="v"), target)
    assert target.service == "127.0.0.1:8080"
    assert PASSWORD not in ctx.probe_id
