"""The process supervisor and the port allocator, on small throwaway processes (no servers needed)."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest
from requirements import need

from sre.sandbox import health
from sre.sandbox.ports import PortAllocator, ephemeral_port, port_is_free
from sre.sandbox.state import ProcessRecord, SandboxState, StateFile
from sre.sandbox.supervisor import ProcessSpec, StartFailed, Supervisor, is_ours

PY = sys.executable


def supervisor(tmp_path: Path) -> Supervisor:
    state_file = StateFile(tmp_path / "state.json")
    return Supervisor(tmp_path, state_file, SandboxState())


def http_server(port: int) -> list[str]:
    return [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_start_records_pid_log_and_ports_then_stop_ends_it(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    port = ephemeral_port()
    record = sup.start(ProcessSpec("web", "test", http_server(port), health.tcp(port), ports={"http": port}))
    saved = StateFile(tmp_path / "state.json").load().processes["web"]
    assert saved.pid == record.pid and saved.ports == {"http": port}
    assert is_ours(saved)
    assert os.getpgid(record.pid or 0) == record.pid  # its own process group
    assert sup.stop(record)
    assert not is_ours(saved) and port_is_free(port)
    assert StateFile(tmp_path / "state.json").load().processes["web"].pid is None
    assert "start:" in Path(record.log).read_text()


def test_a_process_that_exits_while_starting_fails_with_its_log(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    argv = [PY, "-c", "import sys; print('bad config line 3', flush=True); sys.exit(3)"]
    with pytest.raises(
        StartFailed, match=r"(?s)boom: exited with code 3 while starting.*\| bad config line 3"
    ):
        sup.start(ProcessSpec("boom", "test", argv, health.tcp(ephemeral_port())))


def test_a_process_that_never_gets_healthy_is_stopped(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    argv = [PY, "-c", "import time; time.sleep(60)"]
    with pytest.raises(StartFailed, match="not healthy after 1 s"):
        sup.start(ProcessSpec("mute", "test", argv, health.tcp(ephemeral_port()), start_timeout=1))
    assert not is_ours(sup.state.processes["mute"])
    assert sup.state.processes["mute"].pid is None


def test_stop_kills_the_whole_group_when_term_is_ignored(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    # A leader that ignores SIGTERM and leaves a child behind: only SIGKILL of the group ends both.
    code = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']);"
        "print('set' + 'tled', flush=True);"
        "time.sleep(300)"
    )
    log = tmp_path / "logs" / "stubborn.log"
    record = sup.start(
        ProcessSpec(
            "stubborn", "test", [PY, "-c", code], lambda: None if "settled" in log.read_text() else "no"
        )
    )
    child = psutil.Process(record.pid or 0).children()
    assert child
    started = time.monotonic()
    assert sup.stop(record, timeout=0.5)
    assert time.monotonic() - started < 5
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in child)


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    me = psutil.Process()
    # Our own PID with another creation time: what a recorded PID looks like after reuse.
    record = ProcessRecord(
        name="stranger",
        component="test",
        argv=["x"],
        log=str(tmp_path / "x.log"),
        pid=me.pid,
        create_time=me.create_time() - 100,
    )
    assert not is_ours(record)
    assert sup.stop(record) is False  # and we are still here to assert it


def test_stop_all_goes_in_reverse_start_order(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    ports = [ephemeral_port(), ephemeral_port()]
    for name, port in zip(("first", "second"), ports, strict=True):
        sup.start(ProcessSpec(name, "test", http_server(port), health.tcp(port)))
    assert sup.stop_all() == ["second", "first"]
    assert sup.stop_all() == []


def test_port_allocator_keeps_free_preferred_ports_and_moves_busy_ones() -> None:
    free, busy = ephemeral_port(), ephemeral_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", busy))
        squatter.listen()
        ports = PortAllocator({"a": free, "b": busy})
        assert ports("a") == free
        got = ports("b")
        assert got not in (busy, free)
        assert ports.moved == {"b": (busy, got)}
        assert ports("a") == free  # the same key, the same port
        assert len({ports(f"k{i}") for i in range(20)} | {free, got}) == 22


def test_port_allocator_round_trips_through_its_file(tmp_path: Path) -> None:
    ports = PortAllocator()
    one = ports("one")
    ports.save(tmp_path / "ports.json")
    assert PortAllocator.load(tmp_path / "ports.json").preferred == {"one": one}
    (tmp_path / "bad.json").write_text("not json")
    assert PortAllocator.load(tmp_path / "bad.json").preferred == {}


def test_port_pair_leaves_room_for_the_offset() -> None:
    ports = PortAllocator()
    port = ports.pair("weed", 10000)
    assert port + 10000 <= 65535 and port_is_free(port + 10000)


def test_a_port_that_listens_is_not_yet_a_postgres_that_accepts_sessions() -> None:
    # What `sre sandbox start postgres-tertiary` waits for: PostgreSQL listens while it still refuses
    # sessions ("the database system is starting up"), so an open port alone is not ready.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert health.tcp(port)() is None
        why = health.postgres_accepting(port)()
    assert why is not None and "does not accept sessions" in why


def test_a_running_postgres_accepts_sessions() -> None:
    assert health.postgres_accepting(5432)() is None  # the machine's own PostgreSQL, as the runbook tests use


def test_a_process_for_another_user_runs_as_that_user_under_the_recorded_pid(tmp_path: Path) -> None:
    # setpriv switches and execs in place: the pid the supervisor records is the program's own.
    need(os.geteuid() == 0 or None, "root (to switch users)", "run the tests as root, as CI does")
    import pwd

    nobody = pwd.getpwnam("nobody")
    tmp_path.chmod(0o755)
    sup = supervisor(tmp_path)
    port = ephemeral_port()
    record = sup.start(ProcessSpec("web", "test", http_server(port), health.tcp(port), user="nobody"))
    try:
        proc = psutil.Process(record.pid)
        assert proc.username() == "nobody"
        assert proc.cmdline()[:3] == http_server(port)[:3]
        status = Path(f"/proc/{record.pid}/status").read_text()
        groups = next(line.split()[1:] for line in status.splitlines() if line.startswith("Groups:"))
        assert proc.gids().real == nobody.pw_gid and groups == []
    finally:
        sup.stop_all()
