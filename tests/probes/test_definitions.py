"""Probe definitions: loaded from probes/, merged per service, every mistake a `file:line: path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest
from platforms import write_platform

from sre.errors import InputError
from sre.platform.loader import load_platform
from sre.probes.definitions import load_definitions

REPO = Path(__file__).resolve().parents[2]


def test_repository_definitions_load_against_the_platform() -> None:
    platform = load_platform(REPO / "platform.yaml")
    defs = load_definitions(REPO / "probes", platform)
    assert "https" in defs.modules
    cdn = defs.for_service("cdn", "https")[0]
    assert cdn.settings["path"] == "/"  # the service overrides the kind's /healthz
    assert cdn.timeout == 5.0
    assert str(cdn.conditions[0]) == "status == 200"
    k8s = defs.for_service("k8s_workers", "kubernetes")
    assert [r.check for r in k8s] == ["kubernetes", "grpc"]
    assert k8s[1].endpoint_param == "grpc"
    assert defs.policy.cert_warn == 14 * 86400


def test_missing_folder_gives_built_in_defaults(tmp_path: Path) -> None:
    defs = load_definitions(tmp_path / "none")
    resolved = defs.for_kind("https")
    assert resolved.timeout == 10.0
    assert resolved.conditions == ()


def _load(tmp_path: Path, text: str) -> str:
    platform = load_platform(write_platform(tmp_path))
    (tmp_path / "probes" / "probes.yaml").write_text(text)
    with pytest.raises(InputError) as caught:
        load_definitions(tmp_path / "probes", platform)
    return str(caught.value)


def test_bad_condition_names_file_line_and_path(tmp_path: Path) -> None:
    message = _load(
        tmp_path,
        "version: 1\nservices:\n  web:\n    conditions:\n      - 'status == 200'\n      - 'latency < 300'\n",
    )
    assert message.startswith(f"{tmp_path / 'probes' / 'probes.yaml'}:6: services.web.conditions[1]: ")
    assert "give a unit" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nservices:\n  nope: {}\n", ":3: services.nope: unknown service 'nope'"),
        ("version: 1\nkinds:\n  smtp: {}\n", ":3: kinds.smtp: unknown check 'smtp'"),
        (
            "version: 1\nkinds:\n  https:\n    timeout: 5 sec\n",
            ":4: kinds.https.timeout: expected a duration",
        ),
        (
            "version: 1\nservices:\n  web:\n    settings: {pth: /x}\n",
            ":4: services.web.settings.pth: unknown field",
        ),
        (
            "version: 1\nservices:\n  web:\n    settings:\n      valid_status_codes: [700]\n",
            ":5: services.web.settings.valid_status_codes: expected HTTP status codes",
        ),
        (
            "version: 1\nservices:\n  k8s:\n    extra_checks:\n      - {check: smtp}\n",
            ":5: services.k8s.extra_checks[0].check: unknown check 'smtp'",
        ),
        (
            "version: 1\nservices:\n  web:\n    secrets: {token: {value: hunter2}}\n",
            "services.web.secrets.token",
        ),
    ],
)
def test_load_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _load(tmp_path, text)


def test_a_service_defined_twice_names_both_files(tmp_path: Path) -> None:
    platform = load_platform(write_platform(tmp_path))
    (tmp_path / "probes" / "more.yaml").write_text("version: 1\nservices:\n  web: {}\n")
    with pytest.raises(
        InputError, match=r"probes\.yaml:\d+: services\.web: already defined at .*more\.yaml:3"
    ):
        load_definitions(tmp_path / "probes", platform)


def test_secret_files_are_relative_to_the_definitions(tmp_path: Path) -> None:
    platform = load_platform(write_platform(tmp_path))
    (tmp_path / "probes" / "probes.yaml").write_text(
        "version: 1\nservices:\n  web:\n    secrets: {token: {file: token.txt}}\n"
    )
    defs = load_definitions(tmp_path / "probes", platform)
    ref = defs.for_service("web", "https")[0].secrets["token"]
    assert ref.file == str((tmp_path / "probes" / "token.txt").resolve())
