"""dashboards/settings.yaml: where the dashboards' links point, how their UIDs begin, and the
mixin-style `_config` of the boards (which scrape jobs they read, their timezone)."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from sre.yamlfile import read_document, validate

SETTINGS_FILE = "settings.yaml"
URL = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
JobName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,200}$")]


class Selectors(BaseModel):
    """Which series the boards read, as a mixin's `_config` selectors say it (`blackboxSelector`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A regex of the scrape jobs whose probe_* series the boards read: blackbox_exporter's and
    # `sre probe serve`'s. Every board's `job` variable offers the jobs matching it.
    probe_jobs: Annotated[str, StringConstraints(min_length=1, max_length=500)] = ".+"
    # The job a board opens on; where both exporters probe a service, one job counts each probe once.
    probe_job: JobName | None = None

    @field_validator("probe_jobs")
    @classmethod
    def _a_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class DashboardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Prefix of every folder and dashboard UID, so several platforms can share one Grafana.
    uid_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,11}$")] = "sre"
    # Kibana's base URL; each service dashboard links to its logs (data stream logs-<service>-<namespace>).
    kibana_url: URL | None = None
    logs_namespace: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")] = "default"
    # Where a service's runbooks are; {service} is replaced by the service id.
    runbooks_url: URL | None = None
    # Timezone of every board: utc for operations boards, `browser` for each viewer's own, or an
    # IANA name such as Europe/Berlin.
    timezone: Annotated[str, StringConstraints(pattern=r"^(utc|browser|[A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$")] = (
        "utc"
    )
    selectors: Selectors = Selectors()

    @field_validator("runbooks_url")
    @classmethod
    def _only_service_placeholder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        unknown = fields - {"service"}
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; only {{service}} is replaced")
        return value


def load_settings(directory: Path) -> DashboardSettings:
    """The settings file of a dashboards folder; defaults (no links) when it has none."""
    path = directory / SETTINGS_FILE
    if not path.exists():
        return DashboardSettings()
    return validate(DashboardSettings, read_document(path))
