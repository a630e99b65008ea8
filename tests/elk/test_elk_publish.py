"""sre elk diff / publish against the in-memory cluster of elk_fake_cluster (respx on httpx).

The cluster stores what is PUT and answers GET the way Elasticsearch does (settings as nested
strings, defaults filled in, dates added), so "a second publish writes nothing" is the tool's
normalisation at work, not an echo.
"""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from elk_fake_cluster import COMPAT, PRODUCT, FakeCluster, error
from elk_support import Cli, fake, project, sre  # noqa: F401 (fixtures, used as arguments)

KEYS = ("writer-key", "reader-key")


def _no_key_in(text: str) -> None:
    for key in KEYS:
        assert key not in text


def test_first_publish_creates_everything_in_order_and_marks_rollovers(fake: FakeCluster, sre: Cli) -> None:
    run = sre("publish")
    assert run.code == 0, run.text
    assert "66 to create, 0 to update, 0 unchanged, 0 conflicts" in run.out
    assert "written: 66 created; 0 unchanged" in run.out
    puts = [path for method, path in fake.writes if method == "PUT"]
    kinds = [path.split("/")[1] for path in puts]
    assert kinds == ["_ilm"] * 4 + ["_ingest"] * 20 + ["_component_template"] * 22 + ["_index_template"] * 20
    # Streams made earlier by the stack's logs template now match ours: their next write rolls over.
    assert fake.lazily_rolled_over() == ["logs-ext_api-prod", "logs-ext_api-staging", "logs-vault-prod"]
    assert "marked for lazy rollover: logs-ext_api-prod, logs-ext_api-staging, logs-vault-prod" in run.out
    stored = fake.index_templates["logs-ext_api"]
    assert stored["template"]["settings"] == {
        "index": {
            "final_pipeline": "logs-ext_api-ingest",
            "lifecycle": {"name": "platform-logs-pii"},
            "mode": "logsdb",
        }
    }
    assert fake.ilm["platform-logs-pii"]["policy"]["phases"]["delete"]["min_age"] == "29d"
    _no_key_in(run.text)


def test_a_second_publish_writes_nothing(fake: FakeCluster, sre: Cli) -> None:
    assert sre("publish").code == 0
    before = json.dumps([fake.ilm, fake.pipelines, fake.components, fake.index_templates], sort_keys=True)
    fake.log.clear()
    run = sre("publish")
    assert run.code == 0, run.text
    assert "0 to create, 0 to update, 66 unchanged, 0 conflicts" in run.out
    assert "written: nothing to write; 66 unchanged" in run.out
    assert fake.writes == []
    assert (
        json.dumps([fake.ilm, fake.pipelines, fake.components, fake.index_templates], sort_keys=True)
        == before
    )
    assert sre("diff").out.splitlines()[-1] == "0 to create, 0 to update, 66 unchanged, 0 conflicts"


def test_dry_run_reports_and_writes_nothing(fake: FakeCluster, sre: Cli) -> None:
    run = sre("publish", "--dry-run")
    assert run.code == 0
    assert "create    ilm/platform-logs-audit" in run.out
    assert "dry run: nothing written (66 would be)" in run.out
    assert fake.writes == []


def test_a_changed_field_updates_one_component_and_rolls_over_its_streams(
    fake: FakeCluster, sre: Cli, project: Path
) -> None:
    fake.add_data_stream("logs-kafka-prod", template="logs-kafka")
    assert sre("publish").code == 0
    for ds in fake.data_streams.values():
        ds["rollover_on_write"] = False
    fake.log.clear()
    with (project / "elk" / "services" / "kafka.yaml").open("a") as f:
        f.write("  kafka.offset: long\n")
    diff = sre("diff")
    assert diff.code == 0
    assert "update    component_templates/logs-kafka@mappings" in diff.out
    assert '+            "offset": {' in diff.out
    assert "0 to create, 1 to update, 65 unchanged, 0 conflicts" in diff.out
    assert fake.writes == []
    run = sre("publish")
    assert run.code == 0, run.text
    assert fake.writes == [
        ("PUT", "/_component_template/logs-kafka@mappings"),
        ("POST", "/logs-kafka-prod/_rollover"),
    ]
    assert fake.lazily_rolled_over() == ["logs-kafka-prod"]


def test_a_pipeline_edited_by_hand_is_put_back(fake: FakeCluster, sre: Cli) -> None:
    assert sre("publish").code == 0
    fake.pipelines["logs-ext_api-ingest"]["processors"].pop()  # someone dropped a PII step in the UI
    fake.log.clear()
    run = sre("publish")
    assert run.code == 0
    assert "update    pipelines/logs-ext_api-ingest" in run.out
    assert fake.writes == [("PUT", "/_ingest/pipeline/logs-ext_api-ingest")]  # no rollover for a pipeline


def test_an_object_sre_does_not_manage_blocks_publish_until_forced(fake: FakeCluster, sre: Cli) -> None:
    fake.ilm["platform-logs-pii"] = {
        "version": 3,
        "modified_date": "2026-01-01T00:00:00.000Z",
        "policy": {"phases": {"delete": {"min_age": "400d", "actions": {"delete": {}}}}},
    }
    run = sre("publish")
    assert run.code == 1
    assert "conflict  ilm/platform-logs-pii: managed by nobody (no _meta.managed_by), not by sre" in run.out
    assert "nothing written: ilm/platform-logs-pii exist on the cluster but are not managed by sre" in run.out
    assert fake.writes == []
    forced = sre("publish", "--force")
    assert forced.code == 0, forced.text
    assert "written: 65 created, 1 overwritten" in forced.out
    assert fake.ilm["platform-logs-pii"]["policy"]["_meta"]["managed_by"] == "sre"


def test_publish_refuses_definitions_that_fail_lint(fake: FakeCluster, sre: Cli, project: Path) -> None:
    (project / "elk" / "services" / "kafka.yaml").write_text(
        "fields:\n  http.response.status_code: {type: keyword, ignore_above: 1024}\n"
    )
    run = sre("publish")
    assert run.code == 1
    assert "refusing to publish: 2 lint findings, nothing written" in run.err
    assert fake.log == []  # the cluster was not even asked


def test_a_missing_stack_component_stops_before_any_write(fake: FakeCluster, sre: Cli) -> None:
    del fake.components["ecs@mappings"]
    run = sre("publish")
    assert run.code == 1
    assert "the cluster has no component template ecs@mappings (stack templates disabled?)" in run.err
    assert fake.writes == []


def test_wrong_api_key(fake: FakeCluster, sre: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "stolen-or-stale")
    run = sre("publish")
    assert run.code == 1
    assert run.err.strip() == (
        "GET /: 401 authentication failed: security_exception: unable to authenticate with provided "
        "credentials and anonymous access is not allowed for this request; check the API key "
        "(ELASTICSEARCH_API_KEY or --api-key-file)"
    )
    assert "stolen-or-stale" not in run.text
    assert fake.writes == []


def test_a_key_that_may_read_but_not_write(fake: FakeCluster, sre: Cli, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("reader-key\n")
    run = sre("publish", "--api-key-file", str(key_file))
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert lines[0].startswith(
        "PUT /_ilm/policy/platform-logs-audit: 403 not allowed: security_exception: action "
    )
    assert "granted by the cluster privileges [manage_ilm,manage,all]; the API key needs" in lines[0]
    assert lines[1] == "written before the failure (0): nothing"
    assert lines[2].startswith("not written (66): ilm/platform-logs-audit, ilm/platform-logs-debug")
    assert fake.writes == [("PUT", "/_ilm/policy/platform-logs-audit")]
    _no_key_in(run.text)


def test_a_rejected_body_part_way_says_what_was_and_was_not_written(fake: FakeCluster, sre: Cli) -> None:
    fake.fail(
        "PUT",
        r"/_component_template/logs-kafka@mappings",
        error(400, "mapper_parsing_exception", "Failed to parse mapping: unknown parameter [ignore_abovee]"),
    )
    run = sre("publish")
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert lines[0] == (
        "PUT /_component_template/logs-kafka@mappings: 400 rejected: mapper_parsing_exception: "
        "Failed to parse mapping: unknown parameter [ignore_abovee]"
    )
    assert lines[1].startswith("written before the failure (35): ilm/platform-logs-audit (created), ")
    assert lines[2].startswith("not written (31): component_templates/logs-kafka@mappings, ")
    assert "index_templates/logs-vault" in lines[2]
    assert len(fake.pipelines) == 20 and "logs-kafka@mappings" not in fake.components
    assert fake.lazily_rolled_over() == []
    rerun = sre("publish")  # the next run finishes the job and creates only what is missing
    assert rerun.code == 0
    assert "31 to create, 0 to update, 35 unchanged" in rerun.out


@pytest.mark.parametrize(
    ("method", "path", "outcome", "expected"),
    [
        (
            "PUT",
            r"/_ingest/pipeline/logs-cdn-ingest",
            error(409, "version_conflict_engine_exception", "[logs-cdn-ingest]: version conflict"),
            "PUT /_ingest/pipeline/logs-cdn-ingest: 409 conflict: version_conflict_engine_exception: "
            "[logs-cdn-ingest]: version conflict; it changed on the cluster meanwhile: run `sre elk diff` "
            "again",
        ),
        (
            "GET",
            r"/_index_template/logs-cdn",
            error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"),
            "GET /_index_template/logs-cdn: 503 server error: cluster_block_exception: blocked by: "
            "[SERVICE_UNAVAILABLE/2/no master];; the cluster may be unhealthy, try again later",
        ),
        (
            "PUT",
            r"/_index_template/logs-cdn",
            httpx.ReadTimeout("timed out"),
            "PUT /_index_template/logs-cdn: no answer from http://es.test:9200 within 30s (timeout)",
        ),
        (
            "GET",
            r"/",
            httpx.ConnectError("[Errno 111] Connection refused"),
            "GET /: cannot connect to http://es.test:9200: ",
        ),
        (
            "GET",
            r"/",
            httpx.Response(200, json={"status": "ok"}),  # no X-Elastic-Product header
            "GET /: http://es.test:9200 is not Elasticsearch (a success response without the "
            "X-Elastic-Product: Elasticsearch header)",
        ),
        (
            "GET",
            r"/",
            httpx.Response(200, text="<html>Welcome to nginx!</html>", headers={"content-type": "text/html"}),
            "GET /: http://es.test:9200 is not Elasticsearch (a success response without the ",
        ),
        (
            "GET",
            r"/_ilm/policy/platform-logs-pii",
            httpx.Response(
                200, content=b'{"platform-logs-pii": {"pol', headers={**PRODUCT, "content-type": COMPAT}
            ),
            "GET /_ilm/policy/platform-logs-pii: http://es.test:9200 answered with something that is not "
            "Elasticsearch JSON",
        ),
        (
            "GET",
            r"/_ilm/policy/platform-logs-pii",
            httpx.Response(200, json={"acknowledged": True}, headers=PRODUCT),
            "GET /_ilm/policy/platform-logs-pii: unexpected answer, not an Elasticsearch ilm body",
        ),
    ],
    ids=["409", "503", "timeout", "refused", "no-product-header", "html", "truncated-json", "wrong-shape"],
)
def test_cluster_failures_are_one_clear_line(
    fake: FakeCluster, sre: Cli, method: str, path: str, outcome: object, expected: str
) -> None:
    fake.fail(method, path, outcome)  # type: ignore[arg-type]
    run = sre("publish")
    assert run.code == 1
    assert run.err.startswith(expected), run.err
    assert "Traceback" not in run.text
    _no_key_in(run.text)
    if method == "PUT":
        assert "written before the failure" in run.err and "not written" in run.err


def test_an_8x_cluster_is_refused_with_the_reason(fake: FakeCluster, sre: Cli) -> None:
    fake.version = "8.17.0"
    run = sre("diff")
    assert run.code == 1
    assert run.err.startswith(
        "GET /: 400 the server rejects this client's API version (Elasticsearch 9.x): "
        "media_type_header_exception"
    )
    assert fake.writes == []


def test_a_newer_major_is_accepted(fake: FakeCluster, sre: Cli) -> None:
    fake.version = "10.0.1"
    run = sre("diff")
    assert run.code == 0
    assert run.out.startswith("cluster: Elasticsearch 10.0.1 (acme-logs)")


def test_a_rollover_failure_after_the_writes_is_reported(fake: FakeCluster, sre: Cli) -> None:
    fake.fail("POST", r"/logs-ext_api-staging/_rollover", error(403, "security_exception", "no manage on it"))
    run = sre("publish")
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert lines[0] == (
        "POST /logs-ext_api-staging/_rollover?lazy=true: 403 not allowed: security_exception: no manage on "
        "it; the API key needs the cluster privileges manage_ilm, manage_pipeline and "
        "manage_index_templates, and manage on logs-*"
    )
    assert "(66 + 1)" not in lines[1] and lines[1].startswith("written before the failure (67): ")
    assert lines[1].endswith("rollover of logs-ext_api-prod")
    assert lines[2] == "not written (2): rollover of logs-ext_api-staging, rollover of logs-vault-prod"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {"ELASTICSEARCH_URL": None}, "no Elasticsearch URL: give --url or set ELASTICSEARCH_URL"),
        (("--url", "es.test:9200"), {}, "--url: expected http(s)://host[:port][/path]; got 'es.test:9200'"),
        (("--url", "https://ops:hunter2@es.test:9200/x"), {}, None),
        (("--api-key-file", "/nonexistent/key"), {}, "--api-key-file: /nonexistent/key: file not found"),
        (
            (),
            {"ELASTICSEARCH_URL": "http://es.test:99999"},
            "$ELASTICSEARCH_URL: expected http(s)://host[:port][/path]; got 'http://es.test:99999': "
            "Port out of range 0-65535",
        ),
        (
            (),
            {"ELASTICSEARCH_URL": "https://[::1"},
            "$ELASTICSEARCH_URL: expected http(s)://host[:port][/path]; got 'https://[::1': Invalid IPv6 URL",
        ),
        (
            (),
            {"ELASTICSEARCH_URL": "https://" + "h" * 10_000},
            "$ELASTICSEARCH_URL: the URL is longer than 2048 characters",
        ),
        (("--url", "https://" + "h" * 300), {}, "--url: the host name is longer than 253 characters"),
        (("--timeout", "inf"), {}, "--timeout: expected seconds from 0.1 to 600; got inf"),
        (("--timeout", "nan"), {}, "--timeout: expected seconds from 0.1 to 600; got nan"),
        (("--timeout", "1e9"), {}, "--timeout: expected seconds from 0.1 to 600; got 1000000000.0"),
        (
            ("--api-key-file", "/dev/zero"),
            {},
            "--api-key-file: /dev/zero: not a regular file (a character device); expected a file",
        ),
    ],
    ids=[
        "no-url",
        "no-scheme",
        "userinfo",
        "key-file",
        "port-99999",
        "ipv6-unclosed",
        "10kB-url",
        "long-host",
        "timeout-inf",
        "timeout-nan",
        "timeout-1e9",
        "key-file-dev-zero",
    ],
)
def test_bad_connection_input_is_exit_2(
    fake: FakeCluster,
    sre: Cli,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    expected: str | None,
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    run = sre("diff", *args)
    if expected is None:  # a URL with a password works, and the password never shows
        assert "hunter2" not in run.text
        return
    assert (run.code, run.err) == (2, expected + "\n")
    assert fake.log == []


def test_an_api_key_file_that_is_a_fifo_or_binary_is_refused_at_once(
    fake: FakeCluster, sre: Cli, tmp_path: Path
) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    run = sre("diff", "--api-key-file", str(fifo))  # before: blocked forever waiting for a writer
    assert (run.code, run.err) == (
        2,
        f"--api-key-file: {fifo}: not a regular file (a FIFO); expected a file\n",
    )
    binary = tmp_path / "key.bin"
    binary.write_bytes(bytes(range(256)))
    run = sre("diff", "--api-key-file", str(binary))
    assert (run.code, run.err) == (
        2,
        f"--api-key-file: {binary}: a binary file (NUL byte at offset 0), expected text\n",
    )
    lines = tmp_path / "key.txt"
    lines.write_text("first-key\nsecond-key\n")
    run = sre("diff", "--api-key-file", str(lines))
    assert run.code == 2 and "first-key" not in run.err
    assert (
        run.err
        == f"--api-key-file: {lines}: holds more than one line or control characters; expected one token\n"
    )
    assert fake.log == []


def test_responses_of_the_model_carry_the_elastic_headers() -> None:
    # The client refuses 2xx answers without the product header; the model must send it to be believed.
    cluster = FakeCluster()
    answer = cluster.handle(
        httpx.Request("GET", f"{cluster.url}/", headers={"authorization": "ApiKey writer-key"})
    )
    assert answer.headers["X-Elastic-Product"] == PRODUCT["X-Elastic-Product"]
    assert answer.headers["content-type"] == COMPAT
