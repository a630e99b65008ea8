"""Every output stays its format whatever a server said: well-formed JUnit XML, a table without
terminal escapes or markup, a Prometheus exposition that parses, JSON without NaN; and a vantage
that would break a header or a line is refused."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from sre_cli import exit_code as sre

from sre.probes.merge import merge
from sre.probes.model import Reason, Result, Status
from sre.probes.output import jsonfile, junit, prometheus, table
from sre.probes.output.merged import render_table

HOSTILE = (
    "\x1b[2J\x1b]0;owned\x07 \x00\x08\x0b\x0c\r\x7f\x9b\ud800\ufffe [/bold] [link=file:///etc/passwd]x[/link]"
)


def _result(**changes: Any) -> Result:
    fields: dict[str, Any] = {
        "service": "web",
        "check": "https",
        "zone": "dmz",
        "tier": "primary",
        "dc": "fra1",
        "endpoint": "https://web",
        "vantage": "zone-a",
        "status": Status.failed,
        "reason": Reason.assertion,
        "message": f"condition failed: body ({HOSTILE}) contains nope",
        "facts": {
            "tls_cipher": HOSTILE,
            "grpc_status": HOSTILE,
            "lag_seconds": float("nan"),
            "x": [float("inf")],
        },
    }
    fields.update(changes)
    return Result(**fields)


def test_junit_is_well_formed_xml() -> None:
    results = [_result(), _result(service="w2", status=Status.skipped, tier=HOSTILE)]
    text = junit.render(results, ["primary", HOSTILE])
    root = ET.fromstring(text.encode())
    failure = root.find(".//failure")
    assert failure is not None and "\\x1b[2J" in (failure.get("message") or "")


def test_the_table_shows_escapes_and_markup_as_text() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=500, color_system=None, force_terminal=False)
    console.print(table.render([_result(zone=HOSTILE)], ["primary"], [HOSTILE]))
    out = buffer.getvalue()
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\x00" not in out
    assert "\\x1b[2J" in out and "[/bold]" in out and "[link=file:///etc/passwd]" in out


def test_the_merged_table_shows_foreign_json_as_text() -> None:
    runs = [[_result(vantage="a")], [_result(vantage=HOSTILE, service=HOSTILE)]]
    buffer = io.StringIO()
    Console(file=buffer, width=500, color_system=None).print(render_table(merge(runs)))
    assert "\x1b" not in buffer.getvalue() and "[/bold]" in buffer.getvalue()


def test_prometheus_exposition_parses() -> None:
    text = prometheus.render([_result(status=Status.ok, reason=None, vantage="v", service=HOSTILE)])
    families = {f.name: f for f in text_string_to_metric_families(text)}
    cipher = families["probe_tls_cipher_info"].samples[0].labels["cipher"]
    assert "\\x1b" in cipher and "\x1b" not in cipher
    promtool = shutil.which("promtool")
    if promtool:
        check = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert "error" not in (check.stdout + check.stderr).lower()


def test_json_has_no_nan_and_reads_back() -> None:
    text = jsonfile.render([_result()], vantage="v", environment="e", started_at=0.0)

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    doc = json.loads(text, parse_constant=refuse)
    assert doc["results"][0]["facts"]["lag_seconds"] is None
    assert jsonfile.parse(text, "x").results[0].message.startswith("condition failed")


@pytest.mark.parametrize("vantage", ["zone\na", "zone\r\nX-Evil: 1", "a\x1b[2J", "a/b", "", "x" * 100])
def test_a_vantage_that_breaks_a_line_or_a_header_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, vantage: str
) -> None:
    argv = ["probe", "--target", "127.0.0.1:1", "--kind", "tcp", "--platform", str(tmp_path / "none.yaml")]
    if vantage:
        code = sre(*argv, "--vantage", vantage)
        err = capsys.readouterr().err
        assert code == 2 and "--vantage" in err and "\x1b" not in err, err
    monkeypatch.setenv("SRE_VANTAGE", vantage or "bad vantage")
    code = sre(*argv)
    err = capsys.readouterr().err
    assert code == 2 and "SRE_VANTAGE" in err, err


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"\x1b[2J\x1b]0;owned\x07\x00\x08 \xff\xfe [/bold] \xed\xa0\x80 not ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["junit", "table", "prometheus", "json"])
def test_a_hostile_body_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile: int, fmt: str
) -> None:
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "kinds.yaml").write_text(
        "version: 1\nkinds:\n  http:\n    conditions: ['body contains \"nope\"']\n"
    )
    url = f"http://127.0.0.1:{hostile}/"
    code = sre(
        "probe", "--target", url, "--kind", "http", "--platform", str(tmp_path / "none.yaml"), "-f", fmt
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "\x1b" not in out and "\x00" not in out and "\x07" not in out
    if fmt == "junit":
        ET.fromstring(out.encode())
    elif fmt == "prometheus":
        list(text_string_to_metric_families(out))
    elif fmt == "json":
        assert "nope" in json.loads(out)["results"][0]["message"]
