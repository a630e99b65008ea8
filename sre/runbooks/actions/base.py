"""What every runbook action is: check (read-only), apply (idempotent), verify (read back), compensate.

An action observes and changes one thing through a driver, with arguments that
were rendered from a reviewed definition and checked by its `Args` model. It
finds its endpoints and secrets in the platform model, never in alert data, and
every message it raises passes through the context's scrubber.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from sre.errors import SreError
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from sre.platform.model import Endpoint, EnvironmentBody, Platform


class ActionFailed(SreError):
    """The action could not do (or confirm) its part. `permanent`: retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class Check:
    done: bool  # the step's effect is already there: apply is skipped
    facts: dict[str, Any] = field(default_factory=dict)  # what the plan shows and its hash covers


@dataclass
class Settings:
    """Where the engine's own peers are: from `sre runbook`/`sre serve` flags, not from runbooks."""

    env: str = DEFAULT_ENVIRONMENT
    probes_dir: Path | None = None
    alertmanager_url: str | None = None
    notify_url: str | None = None
    vantage: str = "runbook"
    control_plane_tier: str | None = None  # where this engine really runs, when not the model's


class Scrubber:
    """Remembers every secret an action resolved, so no journal line, API answer or span carries one."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 3:
            self._values.add(value)

    def add_url(self, url: str) -> None:
        self.add(urlsplit(url).password)

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


@dataclass
class Context:
    run_id: str
    platform: Platform
    environment: EnvironmentBody | None
    settings: Settings
    scrub: Scrubber = field(default_factory=Scrubber)
    facts: dict[str, Any] = field(default_factory=dict)  # this step's facts from its last check

    def endpoint(self, service: str, tier: str) -> Endpoint:
        if service not in self.platform.services:
            raise ActionFailed(f"service {service!r} is not in the model", permanent=True)
        if self.environment is None:
            raise ActionFailed(f"no environment loaded to find {service}/{tier}", permanent=True)
        found = self.environment.endpoints.get(service, {}).get(tier)
        if found is None:
            raise ActionFailed(
                f"environment {self.settings.env} has no endpoint for {service} in tier {tier}",
                permanent=True,
            )
        self.scrub.add_url(found.url)
        return found

    def secret(self, endpoint: Endpoint, name: str) -> str | None:
        from sre.probes.context import resolve_secret
        from sre.probes.model import ProbeError

        ref = endpoint.secrets.get(name)
        if ref is None:
            return None
        try:
            value = resolve_secret(ref, name)
        except ProbeError as exc:
            raise ActionFailed(exc.message, permanent=True) from None
        self.scrub.add(value)
        return value


class Action(abc.ABC):
    """The base: no effect to check (never done), nothing to verify or compensate."""

    name: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    # Shown in the plan: whether `compensate` can undo `apply`.
    reversible: ClassVar[bool] = False

    def reverses(self, args: Any) -> bool:
        """Whether `compensate` undoes `apply` for these arguments."""
        return self.reversible

    async def check(self, args: Any, ctx: Context) -> Check:
        return Check(done=False)

    @abc.abstractmethod
    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        """Make it so (idempotent); the facts to journal."""

    async def verify(self, args: Any, ctx: Context) -> None:
        return None

    async def compensate(self, args: Any, ctx: Context) -> None:
        return None

    async def finish(self, args: Any, ctx: Context) -> None:
        """At the end of the run, whatever its outcome (a silence is expired here)."""
        return None
