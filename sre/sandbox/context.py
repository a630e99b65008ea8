"""What a launcher gets: folders, ports, secrets, binaries, the supervisor, where to record endpoints."""

from __future__ import annotations

import os
import secrets as pysecrets
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sre.platform.model import Platform, Standby
from sre.sandbox import binaries
from sre.sandbox.ports import HOST, PortAllocator
from sre.sandbox.state import TierRow
from sre.sandbox.supervisor import StartFailed, Supervisor
from sre.sandbox.tls import TlsFiles

Profile = Literal["core", "full"]


@dataclass(frozen=True)
class Launcher:
    """One sandbox component: what it needs, which platform services it stands for, how it starts."""

    name: str
    title: str  # what it runs on, for `status` and the docs
    kinds: tuple[str, ...]  # service kinds it stands for (platform.yaml `sandbox:` may give it more)
    binaries: tuple[binaries.Binary, ...]
    start: Callable[[Run], None]
    needs: tuple[str, ...] = ()  # components that must run first
    profile: Profile = "core"
    stage: int = 0  # components of one stage start side by side, after every earlier stage


def chown(path: Path, user: str | None) -> None:
    if user is not None and os.geteuid() == 0:
        import shutil

        shutil.chown(path, user, user_group(user))


def user_group(user: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def write_private(path: Path, text: str, owner: str | None = None) -> Path:
    """A file only its owner can read (secrets, configs that hold one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
    chown(path, owner)
    return path


@dataclass
class Run:
    """The state of one `up`: shared by every launcher, in start order."""

    root: Path
    platform: Platform
    supervisor: Supervisor
    port_of: PortAllocator
    tls: TlsFiles
    found: Mapping[str, Path]  # binary name -> path, for every binary of the profile that exists
    started: set[str] = field(default_factory=set)  # components that run
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: list[TierRow] = field(default_factory=list)
    urls: dict[str, dict[str, str]] = field(default_factory=dict)  # component -> name -> URL
    component: str = ""  # the launcher running now
    bound: Mapping[str, list[str]] = field(default_factory=dict)  # component -> services it stands for

    # --- places and names -------------------------------------------------------------------
    def folder(self, *parts: str, owner: str | None = None, mode: int = 0o755) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        chown(path, owner)
        return path

    def port(self, key: str) -> int:
        return self.port_of(key)

    def url(self, scheme: str, port: int) -> str:
        return f"{scheme}://{HOST}:{port}"

    def secret(self, name: str) -> Path:
        """A generated password in secrets/NAME.password (mode 0600): made once per run, then reused."""
        folder = self.folder("secrets", mode=0o700)
        path = folder / f"{name}.password"
        if not path.exists():
            write_private(path, pysecrets.token_urlsafe(24))
        return path

    def read_secret(self, name: str) -> str:
        return self.secret(name).read_text(encoding="utf-8").strip()

    def binary(self, name: str) -> Path:
        return self.found[name]

    def tier(self, standby: Standby) -> str | None:
        """The platform's tier with this standby (active, hot, cold), if it has one."""
        for tid, tier in self.platform.tiers.items():
            if tier.standby == standby:
                return tid
        return None

    def services(self) -> list[str]:
        """The platform services the running component stands for."""
        return list(self.bound.get(self.component, ()))

    def service(self) -> str | None:
        """The service a one-server component stands for (the first of its kind), if the platform has one."""
        return next(iter(self.bound.get(self.component, ())), None)

    def log(self, name: str) -> Path:
        self.supervisor.logs.mkdir(parents=True, exist_ok=True)
        return self.supervisor.logs / f"{name}.log"

    # --- one-shot commands ------------------------------------------------------------------
    def command(
        self, name: str, argv: Sequence[str], *, user: str | None = None, timeout: float = 120
    ) -> None:
        """Run a set-up command (initdb, pg_basebackup), as `user` via runuser when we are root."""
        full = list(argv)
        if user is not None and os.geteuid() == 0:
            full = ["runuser", "-u", user, "--", *full]
        log = self.log(name)
        with log.open("ab") as out:
            out.write(f"--- run: {full}\n".encode())
            out.flush()
            try:
                done = subprocess.run(
                    full,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise StartFailed(name, f"{argv[0]} did not finish in {timeout:.0f} s", log) from None
            except OSError as exc:
                raise StartFailed(name, f"cannot run {argv[0]}: {exc.strerror}", log) from None
        if done.returncode != 0:
            raise StartFailed(name, f"{Path(argv[0]).name} exited with code {done.returncode}", log)

    # --- what the environment file and `status` will say -------------------------------------
    def serve(
        self,
        service: str | None,
        tier: str | None,
        endpoint: str | dict[str, Any],
        *,
        process: str | None,
        state: Literal["running", "stopped"] = "running",
        reason: str = "",
    ) -> None:
        """Record the endpoint of a service in a tier (also for a cold tier whose server is stopped)."""
        if service is None or tier is None or service not in self.platform.services:
            return
        self.endpoints.setdefault(service, {})[tier] = endpoint
        url = endpoint if isinstance(endpoint, str) else str(endpoint["url"])
        self.rows.append(
            TierRow(
                service=service,
                tier=tier,
                state=state,
                component=self.component,
                process=process,
                endpoint=url,
                reason=reason,
            )
        )

    def serve_cold(self, service: str | None, port_key: str, scheme: str, what: str) -> None:
        """The address a cold tier's server would listen on: written, so probes expect it down."""
        cold = self.tier("cold")
        if cold is not None:
            self.serve(
                service,
                cold,
                self.url(scheme, self.port(f"{port_key}.{cold}")),
                process=None,
                state="stopped",
                reason=f"cold standby: {what} of this tier is not running",
            )
