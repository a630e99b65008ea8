"""`up`, `down`, `status` and starting or stopping one process, over one sandbox directory.

`up` stops whatever it already started when anything fails or it is
interrupted (Ctrl-C, SIGTERM, SIGHUP); the state file lists every process from
the moment it exists, so even after a SIGKILL of `up` a later `up` or `down`
finds and stops the leftovers.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sre.errors import InputError, SreError
from sre.platform.model import Platform
from sre.sandbox import binaries, catalog, health
from sre.sandbox.context import Launcher, Profile, Run
from sre.sandbox.environment import environment_path, remove_environment, write_environment, written_by
from sre.sandbox.ports import PortAllocator
from sre.sandbox.state import ComponentRow, SandboxState, StateFile, TierRow
from sre.sandbox.supervisor import StartFailed, Supervisor, is_ours
from sre.sandbox.tls import ensure_tls

DEFAULT_DIR = Path(".sre/sandbox")
MARKER = ".sre-sandbox"
KEEP = {MARKER, ".lock", "state.json", "ports.json", "tls"}  # what a fresh `up` does not wipe

Echo = Callable[[str], None]


def default_dir(platform_file: Path) -> Path:
    return platform_file.parent / DEFAULT_DIR


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP during `up`: unwinds like Ctrl-C so `up` stops what it started."""


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupted(signum: int, _: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, raise_interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class UpResult:
    already_running: bool
    state: SandboxState
    seconds: float = 0.0
    moved_ports: dict[str, tuple[int, int]] = field(default_factory=dict)


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.state_file = StateFile(self.root / "state.json")

    # --- locking and the directory ----------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        # Checked before the lock file is made: a folder that is not ours gets nothing written in it.
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"--dir {self.root}: exists and is not a folder")
        if self.root.is_dir() and not self._is_ours() and any(self.root.iterdir()):
            raise InputError(f"--dir {self.root}: not empty and not a sandbox folder; choose another --dir")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = (self.root / ".lock").open("a")
        except OSError as exc:
            raise InputError(f"--dir {self.root}: cannot use the folder: {exc.strerror or exc}") from None
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SreError(f"{self.root}: another `sre sandbox` command is working on it") from None
            yield

    def _is_ours(self) -> bool:
        # A folder of an older release has a state file but no marker.
        return (self.root / MARKER).exists() or self.state_file.path.exists()

    def _claim(self) -> None:
        """Refuse a non-empty folder that is no sandbox: a fresh `up` wipes its data."""
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        if not marker.exists():
            if any(p.name != ".lock" for p in self.root.iterdir()):
                raise InputError(f"{self.root}: not empty and not a sandbox folder; choose another --dir")
            marker.write_text("Folder of `sre sandbox`: `sre sandbox down` stops its servers.\n")
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            _check_traversable(self.root)

    def _check_environment_owner(self, env_file: Path) -> None:
        """One environment file per platform: refuse to take it from another sandbox that is up."""
        other = written_by(env_file)
        if other is None or other == self.root:
            return
        try:
            theirs = StateFile(other / "state.json").load()
        except SreError:
            return  # a broken sandbox folder runs nothing we could take the file from
        if theirs.complete and any(is_ours(r) for r in theirs.processes.values()):
            raise SreError(
                f"{env_file}: the environment `sandbox` belongs to the sandbox running in {other}; "
                f"`sre sandbox down --dir {other}` first, or use that --dir"
            )

    def _wipe(self) -> None:
        for path in self.root.iterdir():
            if path.name in KEEP:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    # --- up -----------------------------------------------------------------------------------
    def up(
        self,
        platform: Platform,
        profile: Profile = "core",
        *,
        strict: bool = False,
        launchers: Sequence[Launcher] | None = None,
        echo: Echo = lambda _: None,
    ) -> UpResult:
        chosen = list(launchers) if launchers is not None else catalog.launchers(profile)
        with self.locked():
            state = self.state_file.load()
            sup = Supervisor(self.root, self.state_file, state)
            if state.processes:
                alive = {r.name for r in sup.running()}
                expected = {r.name for r in state.processes.values() if r.pid is not None}
                if state.complete and expected and alive == expected:
                    if state.profile != profile:
                        raise SreError(
                            f"{self.root}: the sandbox already runs the {state.profile} profile; "
                            "`sre sandbox down` first"
                        )
                    return UpResult(already_running=True, state=state)
                leftovers = sup.stop_all()
                if leftovers:
                    echo(f"stopped leftovers of an earlier run: {', '.join(sorted(leftovers))}")
            return self._fresh_up(platform, profile, strict, chosen, echo)

    def _fresh_up(
        self, platform: Platform, profile: Profile, strict: bool, chosen: list[Launcher], echo: Echo
    ) -> UpResult:
        began = time.monotonic()
        self._claim()
        env_file = environment_path(platform)
        self._check_environment_owner(env_file)
        found, skipped = plan(chosen)
        if strict and skipped:
            raise SreError("\n".join(f"{name}: {why} (--strict)" for name, why in skipped.items()))
        self._wipe()
        state = SandboxState(profile=profile, platform=str(platform.source.absolute()))
        sup = Supervisor(self.root, self.state_file, state)
        sup.save()
        ports = PortAllocator.load(self.root / "ports.json")
        run = Run(
            root=self.root,
            platform=platform,
            supervisor=sup,
            port_of=ports,
            tls=ensure_tls(self.root / "tls", f"sre sandbox CA ({platform.platform.name})"),
            found=found,
            bound=catalog.bindings(platform, [*catalog.all_launchers(), *chosen]),
        )
        for launcher in chosen:
            if launcher.name in skipped:
                echo(f"{launcher.name:<12} skipped: {skipped[launcher.name]}")
        with _signals_interrupt():
            try:
                for stage in sorted({launcher.stage for launcher in chosen}):
                    batch = [c for c in chosen if c.stage == stage and c.name not in skipped]
                    _start_stage(run, batch, echo)
            except BaseException as exc:
                sup.cancelled.set()
                failed = exc.component if isinstance(exc, ComponentFailed) else run.component
                cause = exc.__cause__ if isinstance(exc, ComponentFailed) else exc
                what = "interrupted" if isinstance(cause, KeyboardInterrupt) else f"{failed or 'up'}: failed"
                echo(f"{what}; stopping what this run started")
                sup.stop_all()
                state.complete = False
                sup.save()
                if isinstance(cause, StartFailed | SreError):
                    raise SreError(f"sandbox up failed in {failed}: {cause}") from None
                if isinstance(cause, BaseException) and cause is not exc:
                    raise cause from None
                raise
        components = [
            _component(c, "skipped", skipped[c.name])
            if c.name in skipped
            else _component(c, "running", urls=run.urls.get(c.name, {}))
            for c in chosen
        ]
        ports.save(self.root / "ports.json")
        state.rows = fill_rows(platform, run.rows, chosen, skipped, profile)
        state.components = components + _not_in_profile(profile)
        write_environment(
            env_file, platform, run.endpoints, state.rows, root=self.root, ca_file=run.tls.ca_cert
        )
        state.environment_file = str(env_file)
        state.complete = True
        sup.save()
        return UpResult(
            already_running=False,
            state=state,
            seconds=time.monotonic() - began,
            moved_ports=dict(ports.moved),
        )

    # --- down, status, one process ------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every recorded process; the names of those that were running. Nothing running is fine."""
        if not self.state_file.path.exists():
            return []
        with self.locked():
            state = self.state_file.load()
            stopped = Supervisor(self.root, self.state_file, state).stop_all()
            if state.environment_file:
                remove_environment(Path(state.environment_file), self.root)
            state.complete = False
            self.state_file.save(state)
            return stopped

    def state(self) -> SandboxState:
        return self.state_file.load()

    def live_rows(self) -> tuple[SandboxState, list[TierRow], list[str]]:
        """The recorded rows with each process checked now, and the servers of an up sandbox that died."""
        state = self.state_file.load()
        rows = []
        died: set[str] = set()
        for row in state.rows:
            record = state.processes.get(row.process) if row.process else None
            update: dict[str, str] = {}
            if record is not None and state.complete:
                alive = is_ours(record)
                if row.state == "running" and not alive:
                    died.add(record.name)
                    update = {"state": "stopped", "reason": f"{record.name} is not running; log {record.log}"}
                elif row.state == "stopped" and alive:
                    update = {"state": "running", "reason": f"{record.name} started"}
            elif record is not None and row.state == "running":
                update = {"state": "stopped", "reason": "sandbox is down"}
            rows.append(row.model_copy(update=update) if update else row)
        components = [_live_component(comp, state, died) for comp in state.components]
        return state.model_copy(update={"components": components}), rows, sorted(died)

    def start_process(self, name: str, timeout: float = 60.0) -> None:
        """Start one recorded process (a cold tier, or one stopped for a drill); healthy when it listens."""
        with self.locked():
            state = self.state_file.load()
            record = self._record(state, name)
            sup = Supervisor(self.root, self.state_file, state)
            checks = [health.tcp(p) for p in record.ports.values()]
            if (
                "postgres" in record.ports
            ):  # listening is not yet answering: "the database system is starting up"
                checks.append(health.postgres_accepting(record.ports["postgres"]))
            check = health.all_of(*checks)
            sup.launch(record, check, timeout)

    def stop_process(self, name: str) -> bool:
        with self.locked():
            state = self.state_file.load()
            record = self._record(state, name)
            return Supervisor(self.root, self.state_file, state).stop(record)

    def _record(self, state: SandboxState, name: str) -> Any:
        if not state.complete:
            raise SreError(f"{self.root}: the sandbox is not up; `sre sandbox up` first")
        record = state.processes.get(name)
        if record is None:
            known = ", ".join(sorted(state.processes))
            raise InputError(f"unknown sandbox process {name!r}; known: {known}")
        return record


def _live_component(comp: ComponentRow, state: SandboxState, died: set[str]) -> ComponentRow:
    """A component as its processes are now, not as `up` left it: stopped after `down`, failed if one died."""
    if comp.state != "running":
        return comp
    if not state.complete:
        return comp.model_copy(update={"state": "stopped", "reason": "sandbox is down"})
    # A process stopped on purpose (`sre sandbox stop`, a cold tier) has no pid; one that died keeps it.
    meant = [r for r in state.processes.values() if r.component == comp.name and r.pid is not None]
    dead = [r for r in meant if not is_ours(r)]
    if dead:
        died.update(r.name for r in dead)
        why = "; ".join(f"{r.name} is not running (log {r.log})" for r in dead)
        return comp.model_copy(update={"state": "failed", "reason": why})
    if not meant:
        return comp.model_copy(update={"state": "stopped", "reason": "its processes are stopped"})
    return comp


class ComponentFailed(Exception):
    """A component of a stage failed; __cause__ holds why."""

    def __init__(self, component: str) -> None:
        super().__init__(component)
        self.component = component


def _start_one(run: Run, launcher: Launcher, echo: Echo) -> None:
    began = time.monotonic()
    try:
        launcher.start(dataclasses.replace(run, component=launcher.name))
    except Exception as exc:
        raise ComponentFailed(launcher.name) from exc
    run.started.add(launcher.name)
    echo(f"{launcher.name:<12} running ({time.monotonic() - began:.1f} s): {launcher.title}")


def _start_stage(run: Run, batch: list[Launcher], echo: Echo) -> None:
    """Start the components of one stage side by side; every thread has ended when this returns."""
    if len(batch) == 1:
        run.component = batch[0].name
        _start_one(run, batch[0], echo)
        return
    pool = ThreadPoolExecutor(max_workers=len(batch), thread_name_prefix="sandbox-up")
    futures = [pool.submit(_start_one, run, launcher, echo) for launcher in batch]
    try:
        first: BaseException | None = None
        for future in as_completed(futures):
            error = future.exception()
            if error is not None and first is None:
                first = error
                run.supervisor.cancelled.set()  # the others stop waiting and start nothing more
        if first is not None:
            raise first
    except BaseException:
        # Also on Ctrl-C: no thread may start a process once `up` begins to stop everything.
        run.supervisor.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_traversable(root: Path) -> None:
    """Servers run as other users (postgres, nginx workers): every parent folder must let them through."""
    for folder in [root, *root.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise InputError(
                f"{root}: other users cannot enter {folder} (mode {stat.filemode(mode)}), "
                "but PostgreSQL runs as `postgres`; choose a --dir below folders with o+x"
            )


def plan(chosen: Sequence[Launcher]) -> tuple[dict[str, Path], dict[str, str]]:
    """The binaries found, and the components to skip with the reason (a missing binary or dependency)."""
    found: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    names = {launcher.name for launcher in chosen}
    for launcher in chosen:
        missing = []
        for binary in launcher.binaries:
            path = binaries.find(binary)
            if path is None:
                missing.append(f"{binary.name} not found (install it: {binary.install})")
            else:
                found[binary.name] = path
        blocked = [n for n in launcher.needs if n in skipped or n not in names]
        if missing:
            skipped[launcher.name] = "; ".join(missing)
        elif blocked:
            skipped[launcher.name] = f"needs {', '.join(blocked)}, which is skipped"
    return found, skipped


def _component(
    launcher: Launcher, state: Any, reason: str = "", urls: dict[str, str] | None = None
) -> ComponentRow:
    return ComponentRow(name=launcher.name, title=launcher.title, state=state, reason=reason, urls=urls or {})


def _not_in_profile(profile: Profile) -> list[ComponentRow]:
    if profile == "full":
        return []
    names = {launcher.name for launcher in catalog.launchers(profile)}
    return [
        _component(launcher, "skipped", "not in the core profile (`sre sandbox up --profile full`)")
        for launcher in catalog.all_launchers()
        if launcher.name not in names
    ]


def fill_rows(
    platform: Platform,
    rows: list[TierRow],
    chosen: Sequence[Launcher],
    skipped: dict[str, str],
    profile: Profile,
) -> list[TierRow]:
    """Every service in every tier: the rows launchers recorded, and why the others have no server."""
    everyone = catalog.all_launchers()
    bound = catalog.bindings(platform, [*everyone, *chosen])
    owner = {s: launcher for launcher in everyone for s in bound[launcher.name]}
    owner.update({s: launcher for launcher in chosen for s in bound[launcher.name]})
    absent = catalog.not_in_sandbox(platform)
    chosen_names = {launcher.name for launcher in chosen}
    have = {(r.service, r.tier): r for r in rows}
    out: list[TierRow] = []
    for sid, svc in platform.services.items():
        served = any(r.service == sid for r in rows)
        launcher = owner.get(sid)
        for tid in platform.tiers:
            row = have.get((sid, tid))
            if row is not None:
                out.append(row)
                continue
            if sid in absent:
                state, why = "not_in_sandbox", absent[sid]
            elif launcher is None:
                state, why = "not_in_sandbox", f"the sandbox has no server for kind {svc.kind}"
            elif launcher.name in skipped:
                state, why = "skipped", skipped[launcher.name]
            elif launcher.name not in chosen_names:
                state, why = "skipped", f"not in the {profile} profile (`sre sandbox up --profile full`)"
            elif served:
                state, why = "not_in_sandbox", f"the sandbox runs no {tid} {sid}"
            else:
                state, why = "skipped", f"{launcher.name} started no server for it"
            out.append(
                TierRow(
                    service=sid,
                    tier=tid,
                    state=state,
                    component=launcher.name if launcher else None,
                    reason=why,
                )
            )
    return out
