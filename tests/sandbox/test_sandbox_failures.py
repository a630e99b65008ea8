"""What goes wrong during `up`: a server that fails, an interrupt, a crash, a busy port, a missing binary.

Real processes (Redis, NATS), but only the few each case needs, so the module stays fast.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sandbox_helpers import Place

from sre.cli.main import main
from sre.errors import SreError
from sre.sandbox import binaries, catalog, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers import nats, redis
from sre.sandbox.ports import port_is_open
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.supervisor import ProcessSpec, is_ours

pytestmark = pytest.mark.integration


def _broken_nats(run: Run) -> None:
    # A real server that refuses its command line: it exits at once and says why in its log.
    port = run.port("nats.client")
    run.supervisor.start(
        ProcessSpec(
            name="nats",
            component="broken",
            argv=[str(run.binary("nats-server")), "--port", str(port), "--config", "/nonexistent/nats.conf"],
            health=health.tcp(port),
            ports={"client": port},
        )
    )


BROKEN = Launcher("broken", "NATS with a bad flag", ("nats",), nats.LAUNCHER.binaries, _broken_nats)


def _interrupt(run: Run) -> None:
    raise KeyboardInterrupt


def _leftovers(sandbox: Sandbox) -> tuple[list[str], list[int]]:
    records = sandbox.state().processes.values()
    alive = [r.name for r in records if is_ours(r)]
    ports = [p for r in records for p in r.ports.values() if port_is_open(p)]
    return alive, ports


def test_failing_server_names_itself_shows_its_log_and_stops_the_rest(
    place: Place, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(catalog, "launchers", lambda profile: [redis.LAUNCHER, BROKEN])
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "up", "--platform", str(place.platform_file), "--dir", str(place.sandbox_dir)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "sandbox up failed in broken: nats: exited with code" in err
    assert "| nats-server: open /nonexistent/nats.conf" in err  # the last lines of its log
    sandbox = Sandbox(place.sandbox_dir)
    records = sandbox.state().processes
    assert records["redis-primary"].ports  # Redis did start before the failure...
    assert _leftovers(sandbox) == ([], [])  # ...and was stopped with every port closed


def test_interrupted_up_stops_what_it_started(place: Place) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    stop = Launcher("interrupt", "Ctrl-C", (), (), _interrupt)
    with pytest.raises(KeyboardInterrupt):
        sandbox.up(place.platform(), launchers=[redis.LAUNCHER, stop])
    assert "redis-primary" in sandbox.state().processes
    assert _leftovers(sandbox) == ([], [])


def test_leftovers_of_a_crashed_up_are_stopped_by_the_next_up(place: Place) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    first = sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
    old = first.state.processes["redis-primary"]
    # What a SIGKILLed `up` leaves: processes recorded, the run never marked complete.
    state = sandbox.state()
    state.complete = False
    sandbox.state_file.save(state)
    said: list[str] = []
    sandbox.up(place.platform(), launchers=[redis.LAUNCHER], echo=said.append)
    assert any("stopped leftovers" in line and "redis-primary" in line for line in said)
    assert not is_ours(old)
    assert is_ours(sandbox.state().processes["redis-primary"])


def test_up_twice_reports_and_down_twice_is_fine(place: Place) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    assert sandbox.down() == []
    sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
    again = sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
    assert again.already_running
    assert set(sandbox.down()) == {"redis-primary", "redis-secondary"}
    assert sandbox.down() == []


def test_a_port_in_use_picks_another(place: Place) -> None:
    sandbox = Sandbox(place.sandbox_dir)
    first = (
        sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
        .state.processes["redis-primary"]
        .ports["redis"]
    )
    sandbox.down()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first))
        squatter.listen()
        result = sandbox.up(place.platform(), launchers=[redis.LAUNCHER])
        port = result.state.processes["redis-primary"].ports["redis"]
        assert port != first
        assert result.moved_ports["redis.primary"] == (first, port)
        assert port_is_open(port)


def test_strict_fails_on_a_missing_binary_before_starting_anything(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = binaries.find
    monkeypatch.setattr(binaries, "find", lambda b: None if b.name == "haproxy" else real(b))
    sandbox = Sandbox(place.sandbox_dir)
    with pytest.raises(SreError, match=r"gateway: haproxy not found \(install it: apt-get install haproxy\)"):
        sandbox.up(place.platform(), "core", strict=True)
    assert sandbox.state().processes == {}


def test_a_folder_that_is_no_sandbox_is_refused(place: Place) -> None:
    (place.sandbox_dir).mkdir()
    (place.sandbox_dir / "precious.txt").write_text("keep me")
    with pytest.raises(SreError, match="not empty and not a sandbox folder"):
        Sandbox(place.sandbox_dir).up(place.platform(), launchers=[redis.LAUNCHER])
    assert (place.sandbox_dir / "precious.txt").read_text() == "keep me"


def test_two_sandbox_folders_do_not_share_one_environment_file(place: Place) -> None:
    first, second = Sandbox(place.sandbox_dir), Sandbox(place.folder / "sb2")
    try:
        up = first.up(place.platform(), launchers=[redis.LAUNCHER])
        env_file = up.state.environment_file
        assert env_file is not None
        written = Path(env_file).read_text(encoding="utf-8")
        with pytest.raises(SreError) as refused:
            second.up(place.platform(), launchers=[redis.LAUNCHER])
        assert str(refused.value) == (
            f"{env_file}: the environment `sandbox` belongs to the sandbox running in {first.root}; "
            f"`sre sandbox down --dir {first.root}` first, or use that --dir"
        )
        assert Path(env_file).read_text(encoding="utf-8") == written  # still the first sandbox's endpoints
        assert not second.state().processes  # nothing of the second was started
        first.down()
        assert second.up(place.platform(), launchers=[redis.LAUNCHER]).state.environment_file == env_file
    finally:
        second.down()
