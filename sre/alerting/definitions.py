"""What an SRE edits in alerts/: settings.yaml (where things are) and rules.yaml (what alerts say).

Both go through sre.yamlfile, so a mistake reads `file:line: field.path: message` (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from sre.errors import InputError
from sre.strict import Strict as _Strict
from sre.yamlfile import read_document, validate

DEFAULT_DIR = "alerts"
Severity = Literal["page", "ticket", "info"]
SEVERITIES: tuple[str, ...] = ("page", "ticket", "info")
# Prometheus durations as written in rule files: 30s, 2m, 1h, 3d.
Duration = Annotated[str, StringConstraints(pattern=r"^[0-9]+(s|m|h|d)$")]
Address = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Size = Annotated[str, StringConstraints(pattern=r"^[0-9]+(B|KiB|MiB|GiB)$")]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def seconds(duration: str) -> int:
    return int(duration[:-1]) * _UNITS[duration[-1]]


def size_bytes(size: str) -> int:
    number = re.match(r"\d+", size)
    assert number is not None  # checked by the Size pattern
    return int(number.group()) * _SIZES[size[number.end() :]]


class Strict(_Strict):
    model_config = ConfigDict(populate_by_name=True)


class Scrape(Strict):
    job: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_-]*$")] = "sre-probe"
    exporter: Address = "127.0.0.1:9116"
    interval: Duration = "30s"
    timeout: Duration = "10s"
    sd_refresh: Duration = "1m"
    evaluation_interval: Duration = "30s"


class AlertmanagerSettings(Strict):
    resolve_timeout: Duration = "5m"
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    notify_url: Url
    runbook_webhook: Url
    credentials_file: Annotated[str, StringConstraints(pattern=r"^/\S+$")]
    max_alerts: Annotated[int, Field(ge=0, le=10000)] = 50

    @field_validator("notify_url")
    @classmethod
    def _names_receiver(cls, value: str) -> str:
        if "{receiver}" not in value:
            raise ValueError("must contain {receiver}, so each receiver posts to its own address")
        return value


class SandboxOverrides(Strict):
    interval: Duration = "5s"
    timeout: Duration = "4s"
    sd_refresh: Duration = "10s"
    evaluation_interval: Duration = "5s"
    for_: Duration = Field("15s", alias="for")
    group_wait: Duration = "1s"
    group_interval: Duration = "5s"
    repeat_interval: Duration = "1h"


class Settings(Strict):
    version: Literal[1]
    scrape: Scrape = Scrape()
    runbook_url: Url
    alert_doc_url: Url
    runbooks: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")], list[str]] = {}
    tier_team: str
    alertmanager: AlertmanagerSettings
    sandbox: SandboxOverrides = SandboxOverrides()


class Window(Strict):
    long: Duration
    short: Duration
    factor: Annotated[float, Field(gt=0)]


class BurnAlert(Strict):
    for_: Duration = Field(alias="for")
    windows: list[Window]


class Texts(Strict):
    summary: str
    description: str


class SloRules(Strict):
    page: BurnAlert
    ticket: BurnAlert
    availability: Texts
    latency: Texts
    requests: Texts


class AlertDef(Texts):
    severity: Severity | dict[Literal["active", "hot", "cold"], Severity]
    for_: Duration = Field(alias="for")
    max_bytes: dict[str, Size] = {}
    within: Duration | None = None
    share: Annotated[float, Field(gt=0, le=1)] | None = None

    def severity_for(self, standby: str) -> Severity:
        if isinstance(self.severity, str):
            return self.severity
        return self.severity.get(standby, "ticket")  # type: ignore[call-overload,no-any-return]


ALERT_NAMES = (
    "ProbeFailed",
    "ReplicaNotReady",
    "ReplicationLagHigh",
    "ReplicationLagBytesHigh",
    "ColdBackupTooOld",
    "TwoActives",
    "CertificateExpiring",
    "TierDegraded",
    "DatacenterTierDown",
)


class RuleDefs(Strict):
    version: Literal[1]
    slo: SloRules
    alerts: dict[str, AlertDef]

    @field_validator("alerts")
    @classmethod
    def _known(cls, value: dict[str, AlertDef]) -> dict[str, AlertDef]:
        unknown = sorted(set(value) - set(ALERT_NAMES))
        if unknown:
            raise ValueError(f"unknown alert {unknown[0]!r}; the engine writes: {', '.join(ALERT_NAMES)}")
        return value


MetricName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]


class Metrics(Strict):
    version: Literal[1]
    exporters: dict[str, list[MetricName]]

    def names(self) -> dict[str, str]:
        """metric -> the exporter that emits it."""
        return {m: exporter for exporter, metrics in self.exporters.items() for m in metrics}


@dataclass(frozen=True)
class Definitions:
    folder: Path
    settings: Settings
    rules: RuleDefs
    metrics: Metrics


def alerts_dir(platform_source: Path, option: Path | None) -> Path:
    """--alerts DIR, else the alerts/ folder beside platform.yaml."""
    return option if option is not None else platform_source.parent / DEFAULT_DIR


def load(folder: Path) -> Definitions:
    if not folder.is_dir():
        raise InputError(f"{folder}: alerts folder not found (use --alerts DIR)")
    files = {name: folder / f"{name}.yaml" for name in ("settings", "rules", "metrics")}
    for path in files.values():
        if not path.is_file():
            raise InputError(f"{path}: file not found")
    settings = validate(Settings, read_document(files["settings"]))
    rules = validate(RuleDefs, read_document(files["rules"]))
    metrics = validate(Metrics, read_document(files["metrics"]))
    return Definitions(folder, settings, rules, metrics)
