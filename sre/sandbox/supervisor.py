"""A small process supervisor: start argument lists in their own session, health-check, stop completely.

Every process runs in a new session (so its own process group), writes stdout
and stderr to one log file, and is recorded in the state file the moment it
exists. Stopping sends the process's stop signal, waits, then SIGKILLs whatever
is left of its group. A recorded PID is signalled only after checking that it
is still the process we started (same PID and same creation time).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from sre.errors import SreError
from sre.sandbox.state import ProcessRecord, SandboxState, StateFile

# A health check returns None when healthy, else why not (shown when the deadline passes).
HealthCheck = Callable[[], str | None]

LOG_TAIL_LINES = 20
POLL_SECONDS = 0.05
GRACE_SECONDS = 0.3  # without a health check, a process must at least live this long


class Cancelled(Exception):
    """`up` is unwinding (another component failed, or an interrupt): start nothing more."""


class StartFailed(SreError):
    """A server did not come up; the message names it and carries the end of its log."""

    def __init__(self, name: str, why: str, log: Path) -> None:
        tail = log_tail(log)
        text = f"{name}: {why}; log {log}"
        if tail:
            text += ", last lines:\n" + "\n".join(f"  | {line}" for line in tail)
        super().__init__(text)
        self.name = name


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    component: str
    argv: Sequence[str]
    health: HealthCheck | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # added to our environment; never secrets
    user: str | None = None  # run as this OS user (when we are root and it differs)
    stop_signal: int = signal.SIGTERM
    start_timeout: float = 30.0


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines()[-lines:]]


def _identity(pid: int) -> float | None:
    """The creation time of a live, non-zombie process, else None."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _reap(pid: int) -> None:
    # Our own children stay zombies until waited for; others are reaped by init.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_ours(record: ProcessRecord) -> bool:
    """Whether the recorded process still runs: same PID and same creation time (no PID reuse)."""
    if record.pid is None or record.create_time is None:
        return False
    created = _identity(record.pid)
    return created is not None and abs(created - record.create_time) < 0.05


def _group_members(pgid: int, not_before: float) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.create_time() >= not_before - 0.05:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    members.append(proc)
                else:
                    _reap(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def as_user(argv: list[str], user: str | None) -> list[str]:
    """argv, run as `user` (its group, no other groups) when we are root and it is another user.

    setpriv switches and then execs in place, so the supervised pid is still the server's. Popen's own
    user= cannot use vfork, and a plain fork runs the fork handlers of every library loaded: gRPC's, in
    a process that has probed gRPC, have crashed the child before its exec.
    """
    if user is None or os.geteuid() != 0:
        return argv
    import grp
    import pwd

    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        return argv
    group = grp.getgrgid(entry.pw_gid).gr_name
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--", *argv]


class Supervisor:
    """Starts and stops the processes of one sandbox directory, recording each in its state file."""

    def __init__(self, root: Path, state_file: StateFile, state: SandboxState) -> None:
        self.root = root
        self.logs = root / "logs"
        self.state_file = state_file
        self.state = state
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        # Components of one stage start in threads: state changes and saves go one at a time.
        self._lock = threading.RLock()
        self.cancelled = threading.Event()

    def save(self) -> None:
        with self._lock:
            self.state_file.save(self.state)

    def record(self, spec: ProcessSpec) -> ProcessRecord:
        """Remember a process without starting it (a cold tier that `start` can bring up later)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        record = ProcessRecord(
            name=spec.name,
            component=spec.component,
            argv=list(spec.argv),
            cwd=str(spec.cwd) if spec.cwd else None,
            env=dict(spec.env),
            user=spec.user,
            stop_signal=int(spec.stop_signal),
            log=str(self.logs / f"{spec.name}.log"),
            ports=dict(spec.ports),
        )
        with self._lock:
            self.state.processes[spec.name] = record
            self.save()
        return record

    def start(self, spec: ProcessSpec) -> ProcessRecord:
        """Start, record at once, wait until healthy; on failure stop it and raise StartFailed."""
        return self.start_many([spec])[0]

    def start_many(self, specs: Sequence[ProcessSpec]) -> list[ProcessRecord]:
        """Start all, then wait for each to be healthy; if one fails, stop them all and raise."""
        started: list[tuple[ProcessRecord, subprocess.Popen[bytes] | None, ProcessSpec]] = []
        try:
            for spec in specs:
                record = self.record(spec)
                started.append((record, self._spawn(record), spec))
            for record, proc, spec in started:
                if proc is not None:
                    self._wait_healthy(record, proc, spec.health, spec.start_timeout)
        except BaseException:
            for record, _, _ in reversed(started):
                self.stop(record)
            raise
        return [record for record, _, _ in started]

    def launch(self, record: ProcessRecord, health: HealthCheck | None, timeout: float) -> ProcessRecord:
        """Start a recorded process and wait until healthy; on failure stop it and raise."""
        proc = self._spawn(record)
        if proc is None:
            return record
        try:
            self._wait_healthy(record, proc, health, timeout)
        except BaseException:
            self.stop(record)
            raise
        return record

    def _spawn(self, record: ProcessRecord) -> subprocess.Popen[bytes] | None:
        """Popen in a new session, logging to its file; None when it already runs."""
        if self.cancelled.is_set():
            raise Cancelled(record.name)
        if is_ours(record):
            return None
        log = Path(record.log)
        env = {**os.environ, **record.env} if record.env else None
        with log.open("ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} start: {record.argv}\n".encode())
            out.flush()
            try:
                proc = subprocess.Popen(
                    as_user(record.argv, record.user),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=record.cwd,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StartFailed(
                    record.name, f"cannot start {record.argv[0]}: {exc.strerror}", log
                ) from None
        with self._lock:
            self._children[record.name] = proc
            record.pid = proc.pid
            record.create_time = psutil.Process(proc.pid).create_time()
            record.started_at = time.time()
            self.save()
        return proc

    def _wait_healthy(
        self, record: ProcessRecord, proc: subprocess.Popen[bytes], health: HealthCheck | None, timeout: float
    ) -> None:
        began = time.monotonic()
        deadline = began + timeout
        while True:
            if self.cancelled.is_set():
                raise Cancelled(record.name)
            code = proc.poll()
            if code is not None:
                raise StartFailed(record.name, f"exited with code {code} while starting", Path(record.log))
            if health is None:
                if time.monotonic() - began >= GRACE_SECONDS:
                    return
                time.sleep(POLL_SECONDS)
                continue
            why = health() or ""
            if not why:
                return
            if time.monotonic() > deadline:
                raise StartFailed(record.name, f"not healthy after {timeout:.0f} s ({why})", Path(record.log))
            time.sleep(POLL_SECONDS)

    def stop(self, record: ProcessRecord, timeout: float = 10.0) -> bool:
        """TERM (or the process's own stop signal), wait, then KILL its group. True if it was running."""
        pid, created = record.pid, record.create_time
        if pid is None or created is None:
            return False
        was_running = is_ours(record)
        if was_running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, record.stop_signal)
            deadline = time.monotonic() + timeout
            while is_ours(record) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
        if is_ours(record):
            # The leader is alive and verified, so its group id cannot belong to anyone else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        # Children left behind by a leader that died (postgres backends, nginx workers).
        for proc in _group_members(pid, created):
            with contextlib.suppress(psutil.Error):
                proc.kill()
        deadline = time.monotonic() + 5
        while (is_ours(record) or _group_members(pid, created)) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        with self._lock:
            child = self._children.pop(record.name, None)
            if child is not None:
                child.poll()
            record.pid = None
            record.create_time = None
            record.started_at = None
            self.save()
        return was_running

    def stop_all(self, names: Sequence[str] | None = None) -> list[str]:
        """Stop the given processes (default: all) in reverse start order; the names of those that ran."""
        chosen = list(self.state.processes) if names is None else list(names)
        order = sorted(
            (self.state.processes[n] for n in chosen if n in self.state.processes),
            key=lambda r: r.started_at or 0.0,
            reverse=True,
        )
        return [record.name for record in order if self.stop(record)]

    def running(self) -> list[ProcessRecord]:
        return [r for r in self.state.processes.values() if is_ours(r)]
