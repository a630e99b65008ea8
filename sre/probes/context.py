"""What a check may use besides its target: shared TLS contexts, secrets, the observation it fills."""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from sre import __version__
from sre.platform.model import SecretSource
from sre.probes.model import Observation, ProbeError, Reason, Target
from sre.scrub import Scrubber


@dataclass
class RunContext:
    """Shared by every probe of one run. Building an SSLContext costs ~27 ms: one per trust profile."""

    vantage: str = "local"
    tls_min_version: str = "1.3"
    cert_warn_seconds: float = 14 * 86400.0  # a certificate closer to expiry than this is degraded
    user_agent: str = f"sre-probe/{__version__}"
    run_id: str = field(default_factory=lambda: secrets.token_hex(6))
    # Every secret a probe of this run is handed; the runner masks them in every result.
    scrubber: Scrubber = field(default_factory=Scrubber)
    # Makes the one context of every verified handshake of this run (a blackbox module's tls_config),
    # at its first use: a context holding the system's roots costs about a megabyte.
    ssl_preset: Callable[[], ssl.SSLContext] | None = None
    _ssl: dict[tuple[str | None, bool], ssl.SSLContext] = field(default_factory=dict)

    def ssl_context(self, ca_file: str | None, *, verify: bool = True) -> ssl.SSLContext:
        """A client context that accepts TLS 1.2 and up, so a 1.2 server is observed, then judged."""
        if verify and self.ssl_preset is not None:
            return self.ssl_preset()
        key = (ca_file, verify)
        found = self._ssl.get(key)
        if found is None:
            found = ssl.create_default_context(cafile=ca_file) if verify else ssl.create_default_context()
            found.minimum_version = ssl.TLSVersion.TLSv1_2
            if not verify:
                found.check_hostname = False
                found.verify_mode = ssl.CERT_NONE
            self._ssl[key] = found
        return found


@dataclass
class ProbeContext:
    """One per probe: the run's shared state and the observation this probe fills."""

    run: RunContext
    target: Target
    observation: Observation = field(default_factory=Observation)
    deadline: float | None = None  # the event loop's time at which the runner cancels this attempt

    def time_left(self) -> float:
        if self.deadline is None:
            return self.target.timeout
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    def side_budget(self, share: float = 0.5) -> float:
        """How long a secondary question (a replica asking its primary) may take: a share of what is left,
        so the probe still has time to report what its own server said when the other one hangs."""
        return self.time_left() * share

    @property
    def probe_id(self) -> str:
        """Sent as X-SRE-Probe-Id, so a target can tell synthetic traffic from users."""
        return f"{self.run.vantage}/{self.run.run_id}/{self.target.key}"

    def fact(self, name: str, value: object) -> None:
        self.observation.facts[name] = value

    def phase(self, name: str) -> AbstractContextManager[None]:
        return self.observation.phase(name)

    def ssl_context(self, *, verify: bool = True) -> ssl.SSLContext:
        return self.run.ssl_context(self.target.endpoint.ca_file, verify=verify)

    def secret(self, name: str) -> str | None:
        """The value of a secret named in the probe definition; None when the definition names none."""
        ref = self.target.secrets.get(name)
        if ref is None:
            return None
        value = resolve_secret(ref, name)
        self.run.scrubber.add(value)
        return value


def resolve_secret(ref: SecretSource, name: str) -> str:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise ProbeError(Reason.auth, f"secret {name!r}: environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        from sre.safefile import SECRET_LIMIT, FileProblem, read_text

        try:
            return read_text(Path(ref.file), limit=SECRET_LIMIT).strip()
        except FileProblem as exc:
            raise ProbeError(Reason.auth, f"secret {name!r}: {exc}") from None
    raise ProbeError(Reason.auth, f"secret {name!r}: no env or file given")
