"""`sre sandbox status` shows the processes as they are: a dead server, a sandbox that is down, a state file
this sre cannot read. Real Redis and NATS processes, only the few each case needs."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sandbox_helpers import Place, eventually

from sre.cli.main import main
from sre.sandbox.launchers import nats, redis
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.supervisor import is_ours

pytestmark = pytest.mark.integration


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exited:
        return int(exited.code or 0)
    return 0


def status(place: Place, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = run(
        [
            "sandbox",
            "status",
            "--format",
            "json",
            "--dir",
            str(place.sandbox_dir),
            "--platform",
            str(place.platform_file),
        ]
    )
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else {}, out.err


def components(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["state"], c["reason"]) for c in body["components"]}


def test_a_component_whose_server_died_is_failed_not_running(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    sandbox.up(place.platform(), launchers=[redis.LAUNCHER, nats.LAUNCHER])
    code, body, _ = status(place, capsys)
    assert code == 0
    assert components(body)["redis"][0] == components(body)["nats"][0] == "running"
    record = sandbox.state().processes["nats"]
    assert record.pid is not None
    os.kill(record.pid, signal.SIGKILL)
    eventually(lambda: not is_ours(record))
    code, body, err = status(place, capsys)
    assert code == 1
    state, why = components(body)["nats"]
    assert state == "failed" and why.startswith("nats is not running (log ")
    assert components(body)["redis"][0] == "running"
    assert "not running: nats" in err


def test_after_down_nothing_is_shown_running(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
    sandbox.down()
    code, body, _ = status(place, capsys)
    assert code == 0
    assert components(body)["redis"] == ("stopped", "sandbox is down")
    assert not [r for r in body["services"] if r["state"] == "running"]
    assert not [p for p in body["processes"] if p["running"]]


def test_a_state_file_of_another_version_is_an_error_not_no_sandbox(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    state = place.sandbox_dir / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"version": 2, "procs": {"redis-primary": {"pid": os.getpid()}}}))
    try:
        code = run(
            ["sandbox", "status", "--dir", str(place.sandbox_dir), "--platform", str(place.platform_file)]
        )
        down = run(
            ["sandbox", "down", "--dir", str(place.sandbox_dir), "--platform", str(place.platform_file)]
        )
    finally:
        state.unlink()
    err = capsys.readouterr().err
    assert code == down == 2  # a file this sre cannot read, as any bad input
    assert f"{Path(state)}: sandbox state version 2, but this sre reads version 1" in err
    assert "Traceback" not in err
