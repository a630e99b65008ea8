"""What the sandbox remembers between commands: processes, ports and per-tier rows, in one JSON file.

The file is rewritten (atomically) after every process start and stop, so a
`down` after a crashed `up` still finds every process that was started.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sre.errors import InputError
from sre.safefile import MIB, FileProblem, read_text

STATE_VERSION = 1
STATE_LIMIT = 16 * MIB

TierState = Literal["running", "stopped", "skipped", "not_in_sandbox"]


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProcessRecord(Loose):
    """One supervised process. `pid` is None for a process that is set up but not started (a cold tier)."""

    name: str
    component: str
    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] = {}
    user: str | None = None
    stop_signal: int = 15
    log: str
    ports: dict[str, int] = {}
    pid: int | None = None
    create_time: float | None = None  # with pid, tells our process from a later one with a reused PID
    started_at: float | None = None


class TierRow(Loose):
    """What one service runs on in one tier, as `status` shows it."""

    service: str
    tier: str
    state: TierState
    component: str | None = None
    process: str | None = None  # the server process that stands for this tier
    endpoint: str | None = None
    reason: str = ""


class ComponentRow(Loose):
    """A sandbox component (a launcher): started, skipped or left out, and why."""

    name: str
    title: str
    # Recorded at `up` as running, skipped or failed; `status` shows it as it is now (stopped, failed).
    state: Literal["running", "stopped", "skipped", "failed"]
    reason: str = ""
    urls: dict[str, str] = {}  # for components that are no platform service (Prometheus, ...)


class SandboxState(Loose):
    version: int = STATE_VERSION
    profile: str | None = None
    platform: str | None = None
    environment_file: str | None = None
    complete: bool = False  # `up` finished and every component is health-checked
    processes: dict[str, ProcessRecord] = {}
    rows: list[TierRow] = []
    components: list[ComponentRow] = []


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> SandboxState:
        if not self.path.exists() and not self.path.is_symlink():
            return SandboxState()
        advice = "stop any leftover servers by hand and remove the file"
        try:
            text = read_text(self.path, limit=STATE_LIMIT)
        except FileProblem as exc:
            raise InputError(f"{exc}: unreadable sandbox state; {advice}") from None
        try:
            raw = json.loads(text)
            version = raw.get("version") if isinstance(raw, dict) else None
            state = SandboxState.model_validate(raw) if version == STATE_VERSION else None
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0][:120]
            raise InputError(f"{self.path}: unreadable sandbox state ({first}); {advice}") from None
        if state is None:
            # Another layout may name processes this one cannot read: never mistake it for "no sandbox".
            raise InputError(
                f"{self.path}: sandbox state version {version!r}, but this sre reads version "
                f"{STATE_VERSION}; stop its servers with the sre that started them, or by hand, "
                "and remove the file"
            )
        return state

    def save(self, state: SandboxState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
