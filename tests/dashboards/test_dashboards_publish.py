"""`sre dashboards diff` and `publish` against fake_grafana, a local server answering like Grafana's API."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from fake_grafana import EDITOR_TOKEN, VIEWER_TOKEN, FakeGrafana
from sre_cli import run

from sre.grafana.client import Grafana, GrafanaError, GrafanaTarget

SEED_DASHBOARDS = 23
SEED_FOLDERS = 5


def posts(grafana: FakeGrafana) -> list[str]:
    return [p for m, p in grafana.writes() if p == "/api/dashboards/db"]


def saved_uids(grafana: FakeGrafana, since: int = 0) -> set[str]:
    return {s["dashboard"]["uid"] for s in grafana.state.saves[since:]}


def edit_platform(project: Path, path: list[str], value: object) -> None:
    file = project / "platform.yaml"
    data = yaml.safe_load(file.read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_first_publish_creates_folders_and_every_dashboard(
    project: Path,
    grafana_env: FakeGrafana,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    code, out, err = run(["dashboards", "publish", "--message", "ci: pipeline 42"], capsys)
    assert (code, err) == (0, "")
    assert out.endswith(
        f"{SEED_DASHBOARDS} created, 0 updated, 0 unchanged; {SEED_FOLDERS} folders created\n"
    )
    state = grafana_env.state
    assert set(state.folders) == {
        "sre-platform",
        "sre-zone-dmz",
        "sre-zone-internal",
        "sre-zone-data",
        "sre-zone-monitoring",
    }
    assert state.folders["sre-zone-dmz"]["title"] == "acme-platform / DMZ"
    assert len(state.dashboards) == SEED_DASHBOARDS
    for save in state.saves:
        # Always the folder, always overwrite, always the commit.
        assert save["overwrite"] is True
        assert save["folderUid"] == (
            "sre-platform" if "platform" in save["dashboard"]["uid"] else save["folderUid"]
        )
        assert save["message"] == "ci: pipeline 42 (commit 0123456789ab)"
    assert state.dashboards["sre-service-redis"]["folderUid"] == "sre-zone-internal"
    # Folders are created before the dashboards that go into them.
    writes = grafana_env.writes()
    assert {p for _, p in writes[:SEED_FOLDERS]} == {"/api/folders"}


def test_second_publish_with_no_change_writes_nothing(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dashboards", "publish"], capsys)[0] == 0
    versions = {uid: d["dashboard"]["version"] for uid, d in grafana_env.state.dashboards.items()}
    writes = len(grafana_env.writes())
    code, out, _ = run(["dashboards", "publish"], capsys)
    assert code == 0
    assert out.endswith(f"0 created, 0 updated, {SEED_DASHBOARDS} unchanged; 0 folders created\n")
    assert len(grafana_env.writes()) == writes  # nothing at all, so no new versions in Grafana's history
    assert {uid: d["dashboard"]["version"] for uid, d in grafana_env.state.dashboards.items()} == versions
    code, out, _ = run(["dashboards", "diff"], capsys)
    assert (code, out) == (0, f"0 to create, 0 to update, {SEED_DASHBOARDS} unchanged\n")


def test_changing_one_service_changes_only_its_dashboards(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dashboards", "publish"], capsys)[0] == 0
    before = len(grafana_env.state.saves)

    edit_platform(project, ["services", "ext_api", "name"], "Public API Gateway")
    code, out, _ = run(["dashboards", "diff"], capsys)
    assert code == 0
    assert "dashboard sre-service-ext_api: update 'Public API Gateway (ext_api)' in sre-zone-dmz" in out
    assert (
        '-  "title": "External API GW (ext_api)"' in out
        and '+  "title": "Public API Gateway (ext_api)"' in out
    )
    # The overview's grid links to the service's dashboard by its name.
    assert "dashboard sre-platform-overview: update 'Platform overview' in sre-platform" in out
    assert out.endswith(f"0 to create, 2 to update, {SEED_DASHBOARDS - 2} unchanged\n")
    code, out, _ = run(["dashboards", "publish"], capsys)
    assert code == 0 and f"0 created, 2 updated, {SEED_DASHBOARDS - 2} unchanged" in out
    assert saved_uids(grafana_env, before) == {"sre-service-ext_api", "sre-platform-overview"}

    # A stateful service's replication bound shows on its own dashboard and in DR readiness.
    before = len(grafana_env.state.saves)
    edit_platform(project, ["services", "db_postgres", "tiers", "secondary", "max_lag_seconds"], 9)
    assert run(["dashboards", "publish"], capsys)[0] == 0
    assert saved_uids(grafana_env, before) == {"sre-service-db_postgres", "sre-platform-dr-readiness"}
    assert grafana_env.state.dashboards["sre-service-db_postgres"]["dashboard"]["version"] == 2


def test_diff_shows_edits_made_in_grafana_and_ignores_what_grafana_adds(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dashboards", "publish"], capsys)[0] == 0
    stored = grafana_env.state.dashboards["sre-service-redis"]["dashboard"]
    assert stored["id"] and stored["version"] == 1  # what Grafana added on save
    stored["panels"][1]["title"] = "Edited by hand"
    grafana_env.state.dashboards["sre-service-cdn"]["folderUid"] = "sre-zone-internal"
    code, out, _ = run(["dashboards", "diff", "--exit-code"], capsys)
    assert code == 3
    assert "dashboard sre-service-redis: update" in out
    assert '-      "title": "Edited by hand",' in out
    assert (
        "dashboard sre-service-cdn: update 'CDN - SPA (cdn)' in sre-zone-dmz (move from folder sre-zone-internal)"
        in out
    )
    assert '"version"' not in out and '"id": ' not in out.replace('"id": 2,', "")
    assert out.endswith(f"0 to create, 2 to update, {SEED_DASHBOARDS - 2} unchanged\n")
    assert run(["dashboards", "publish"], capsys)[0] == 0
    assert grafana_env.state.dashboards["sre-service-cdn"]["folderUid"] == "sre-zone-dmz"


def test_dry_run_reads_and_writes_nothing(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["dashboards", "publish", "--dry-run", "--datasource-url", "http://prometheus:9090"], capsys
    )
    assert code == 0
    assert out == (
        "datasource prometheus: created (dry run)\n"
        f"dry run: would create {SEED_FOLDERS} folders, {SEED_DASHBOARDS} dashboards, update 0; 0 unchanged\n"
    )
    assert grafana_env.writes() == []


def test_the_prometheus_datasource_is_provisioned(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dashboards", "publish", "--datasource-url", "http://prometheus:9090"]
    assert run(args, capsys)[1].startswith("datasource prometheus: created\n")
    live = grafana_env.state.datasources["prometheus"]
    assert (live["type"], live["url"], live["access"], live["name"]) == (
        "prometheus",
        "http://prometheus:9090",
        "proxy",
        "Prometheus",
    )
    assert run(args, capsys)[1].startswith("datasource prometheus: unchanged\n")
    assert run([*args[:-1], "http://prom.monitoring:9090"], capsys)[1].startswith(
        "datasource prometheus: updated\n"
    )
    assert grafana_env.state.datasources["prometheus"]["url"] == "http://prom.monitoring:9090"


def test_message_names_the_commit_of_the_project(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "dashboards"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert run(["dashboards", "publish"], capsys)[0] == 0
    assert {s["message"] for s in grafana_env.state.saves} == {f"sre dashboards publish (commit {sha[:12]})"}


def test_a_failure_midway_says_what_was_written_and_a_rerun_finishes(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    grafana_env.fail(
        "POST", "/api/dashboards/db", status=503, body=b'{"message":"database is locked"}', after=2
    )
    code, out, err = run(["dashboards", "publish"], capsys)
    assert code == 1 and out == ""
    first, second = err.splitlines()
    assert first == (
        f"Grafana {grafana_env.url}: POST /api/dashboards/db (sre-platform-probes): "
        "Grafana failed with 503: database is locked"
    )
    assert second.startswith(
        "publish stopped: wrote 2 dashboard(s) (sre-platform-dr-readiness, sre-platform-overview) and 5 folder(s); "
        f"not written: {SEED_DASHBOARDS - 2} (sre-platform-probes, sre-service-ai_engine, "
    )
    assert set(grafana_env.state.dashboards) == {"sre-platform-dr-readiness", "sre-platform-overview"}
    code, out, _ = run(["dashboards", "publish"], capsys)
    assert code == 0
    assert f"{SEED_DASHBOARDS - 2} created, 0 updated, 2 unchanged; 0 folders created" in out


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            {
                "status": 412,
                "body": b'{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}',
            },
            "412 Precondition failed (version-mismatch): The dashboard has been changed by someone else; "
            "the dashboard was changed by someone else since it was read",
        ),
        (
            {
                "status": 412,
                "body": b'{"message":"A dashboard with the same name in the folder already exists","status":"name-exists"}',
            },
            "412 Precondition failed (name-exists): A dashboard with the same name in the folder already exists; "
            "another dashboard in that folder already has this title or UID",
        ),
        (
            {"status": 502, "body": b"<html>Bad Gateway</html>", "content_type": "text/html"},
            "Grafana failed with 502: not JSON: <html>Bad Gateway</html>",
        ),
        (
            {"status": 200, "body": b"<html>login</html>", "content_type": "text/html"},
            "expected a JSON object, got text (is this Grafana?)",
        ),
        (
            {"status": 200, "body": b"{not json", "content_type": "application/json"},
            "the answer is not JSON (is this Grafana?)",
        ),
        ({"status": 200, "body": b"[1, 2]"}, "expected a JSON object, got list (is this Grafana?)"),
    ],
)
def test_grafana_errors_on_write_are_one_clear_line(
    project: Path,
    grafana_env: FakeGrafana,
    capsys: pytest.CaptureFixture[str],
    fault: dict,  # type: ignore[type-arg]
    expected: str,
) -> None:
    grafana_env.fail("POST", "/api/dashboards/db", **fault)
    code, _out, err = run(["dashboards", "publish"], capsys)
    assert code == 1
    lines = err.splitlines()
    assert (
        lines[0]
        == f"Grafana {grafana_env.url}: POST /api/dashboards/db (sre-platform-dr-readiness): {expected}"
    )
    assert lines[1].startswith(
        f"publish stopped: wrote 0 dashboard(s) and {SEED_FOLDERS} folder(s); not written: 23"
    )
    assert "Traceback" not in err


def test_unauthorized_and_forbidden(
    project: Path,
    fake_grafana: FakeGrafana,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRAFANA_URL", fake_grafana.url)
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
    code, _, err = run(["dashboards", "diff"], capsys)
    assert code == 1
    assert err == (
        f"Grafana {fake_grafana.url}: GET /api/folders/sre-platform: "
        "401 Unauthorized: the token was refused (check GRAFANA_TOKEN or --token-file)\n"
    )
    token = project / "viewer.token"
    token.write_text(VIEWER_TOKEN + "\n")
    code, _, err = run(["dashboards", "publish", "--token-file", str(token)], capsys)
    assert code == 1
    assert err.startswith(
        f"Grafana {fake_grafana.url}: POST /api/folders (sre-platform): 403 Forbidden: the token may not do this"
    )
    assert "Permissions needed: dashboards:write" in err
    assert VIEWER_TOKEN not in err and fake_grafana.state.folders == {}


def test_timeouts_and_closed_ports(
    project: Path,
    grafana_env: FakeGrafana,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grafana_env.fail("GET", "/api/folders/.*", delay=2.0)
    code, _, err = run(["dashboards", "diff", "--timeout", "0.3"], capsys)
    assert code == 1
    assert err == f"Grafana {grafana_env.url}: GET /api/folders/sre-platform: no answer within 0.3 s\n"

    closed = FakeGrafana()  # bound, then closed: nothing listens on its port
    url = closed.url
    closed.server.server_close()
    monkeypatch.setenv("GRAFANA_URL", url)
    code, _, err = run(["dashboards", "diff"], capsys)
    assert code == 1
    assert err.startswith(f"Grafana {url}: GET /api/folders/sre-platform: cannot connect: ")
    assert len(err.splitlines()) == 1


def test_a_missing_folder_is_reported_by_grafana(fake_grafana: FakeGrafana) -> None:
    grafana = Grafana(GrafanaTarget(fake_grafana.url, EDITOR_TOKEN, 5))
    payload = {"dashboard": {"uid": "x", "title": "X"}, "folderUid": "nowhere", "overwrite": True}
    with pytest.raises(GrafanaError) as failure:
        grafana.save_dashboard(payload)
    assert failure.value.status == 400
    assert str(failure.value).endswith("POST /api/dashboards/db (x): 400: folder not found")
    assert grafana.get_folder("nowhere") is None and grafana.get_dashboard("x") is None


def test_grafana_under_a_sub_path(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeGrafana(prefix="/grafana").start()
    try:
        monkeypatch.setenv("GRAFANA_URL", server.url)  # no trailing slash
        monkeypatch.setenv("GRAFANA_TOKEN", EDITOR_TOKEN)
        code, out, _ = run(["dashboards", "publish"], capsys)
        assert code == 0 and f"{SEED_DASHBOARDS} created" in out
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, "no Grafana URL: give --url or set GRAFANA_URL"),
        (["--url", "grafana:3000"], {}, "--url: expected http(s)://host[:port][/path]; got 'grafana:3000'"),
        (
            ["--url", "http://g:3000"],
            {},
            "no Grafana token: set GRAFANA_TOKEN, or give --token-file (a service-account token file)",
        ),
        (
            ["--url", "http://g:3000", "--token-env", "MY_TOKEN"],
            {"GRAFANA_TOKEN": "x"},
            "no Grafana token: set MY_TOKEN, or give --token-file (a service-account token file)",
        ),
        (
            ["--url", "http://g:3000", "--token-file", "absent.token"],
            {},
            "--token-file: absent.token: file not found",
        ),
        (
            ["--url", "http://g:3000", "--token-file", "empty.token"],
            {},
            "--token-file: empty.token: the file is empty",
        ),
        (
            ["--url", "http://g:3000", "--timeout", "0"],
            {"GRAFANA_TOKEN": "x"},
            "--timeout: expected seconds from 0.1 to 600; got 0.0",
        ),
        *(
            (
                ["--url", "http://g:3000", "--timeout", given],
                {"GRAFANA_TOKEN": "x"},
                f"--timeout: expected seconds from 0.1 to 600; got {shown}",
            )
            for given, shown in (("inf", "inf"), ("nan", "nan"), ("1e9", "1000000000.0"))
        ),
        (
            [],
            {"GRAFANA_URL": "http://g:99999", "GRAFANA_TOKEN": "x"},
            "$GRAFANA_URL: expected http(s)://host[:port][/path]; got 'http://g:99999': "
            "Port out of range 0-65535",
        ),
        (
            [],
            {"GRAFANA_URL": "https://[::1", "GRAFANA_TOKEN": "x"},
            "$GRAFANA_URL: expected http(s)://host[:port][/path]; got 'https://[::1': Invalid IPv6 URL",
        ),
        (
            [],
            {"GRAFANA_URL": "https://" + "g" * 10_000, "GRAFANA_TOKEN": "x"},
            "$GRAFANA_URL: the URL is longer than 2048 characters",
        ),
        (
            ["--url", "http://g:3000", "--token-file", "/dev/zero"],
            {},
            "--token-file: /dev/zero: not a regular file (a character device); expected a file",
        ),
        (
            ["--url", "http://g:3000", "--token-file", "binary.token"],
            {},
            "--token-file: binary.token: not UTF-8 text (invalid start byte at byte 0)",
        ),
        (
            ["--url", "http://g:3000", "--token-file", "token.fifo"],
            {},
            "--token-file: token.fifo: not a regular file (a FIFO); expected a file",
        ),
    ],
)
def test_bad_connection_settings_exit_2(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    (project / "empty.token").write_text("\n")
    (project / "binary.token").write_bytes(b"\xff\xfe\x01binary")
    os.mkfifo(project / "token.fifo")  # before: reading it blocked forever
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(["dashboards", "diff", *args], capsys)
    assert (code, out, err) == (2, "", expected + "\n")


def test_a_url_that_is_not_grafanas_api_gives_404(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeGrafana(prefix="/grafana").start()
    try:
        root = server.url.removesuffix("/grafana")  # the API lives under /grafana, not at the root
        monkeypatch.setenv("GRAFANA_URL", root)
        monkeypatch.setenv("GRAFANA_TOKEN", EDITOR_TOKEN)
        code, out, err = run(["dashboards", "publish"], capsys)
        assert (code, out) == (1, "")
        assert err.splitlines()[0] == (
            f"Grafana {root}: POST /api/folders (sre-platform): 404 Not found: not JSON: 404 page not found"
        )
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://prometheus:99999", "got 'http://prometheus:99999': Port out of range 0-65535"),
        ("prometheus:9090", "got 'prometheus:9090'"),
    ],
)
def test_a_bad_datasource_url_is_refused_before_anything_is_read(
    project: Path, capsys: pytest.CaptureFixture[str], given: str, expected: str
) -> None:
    code, out, err = run(
        ["dashboards", "publish", "--datasource-url", given, "--url", "http://127.0.0.1:1"], capsys
    )
    assert (code, out) == (2, "")
    assert err == f"--datasource-url: expected http(s)://host[:port][/path]; {expected}\n"


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/dashboards/db"), ("GET", "/api/folders/.*")])
def test_a_redirect_to_another_host_is_not_followed(
    project: Path, grafana_env: FakeGrafana, capsys: pytest.CaptureFixture[str], method: str, path: str
) -> None:
    elsewhere = FakeGrafana().start()
    try:
        grafana_env.fail(
            method, path, status=307, body=b"", times=100, headers={"Location": f"{elsewhere.url}/api/x"}
        )
        code, _, err = run(["dashboards", "publish"], capsys)
        assert code == 1
        assert "answered 307 redirecting to" in err and "not followed" in err
        assert "Traceback" not in err
        assert elsewhere.state.requests == []  # nothing re-posted there, no token sent there
    finally:
        elsewhere.stop()
