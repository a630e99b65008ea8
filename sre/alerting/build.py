"""Build every generated file from the model and alerts/: the same input always gives the same bytes.

prometheus/rules/<name>.yml     rule groups (a file per service, its SLOs apart, and platform.yml)
prometheus/tests/<name>.yml     the promtool unit tests of those groups
prometheus/scrape.yml           the scrape job of the probe exporter, targets from its /sd
alertmanager/alertmanager.yml   routes, receivers and inhibitions
alertmanager/routes-test.yml    label sets and the receivers they must reach (amtool routes test)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sre.alerting import alertmanager
from sre.alerting.definitions import Definitions
from sre.alerting.model import RuleFile
from sre.alerting.probe_rules import Build, platform_file, service_file
from sre.alerting.scrape import scrape_config
from sre.alerting.slo_rules import slo_file
from sre.alerting.yamlout import dump
from sre.errors import InputError
from sre.platform.model import Platform

MARKER = ".sre-alerts"  # marks an output folder as ours, so stale files may be removed from it
RULES = Path("prometheus/rules")
TESTS = Path("prometheus/tests")
SCRAPE = Path("prometheus/scrape.yml")
ALERTMANAGER = Path("alertmanager/alertmanager.yml")
ROUTES_TEST = Path("alertmanager/routes-test.yml")


@dataclass(frozen=True)
class Local:
    """The sandbox's own build: its exporter and receivers, and short intervals."""

    exporter: str
    notify_url: str
    runbook_webhook: str
    credentials_file: str


def rule_files(platform: Platform, defs: Definitions, *, sandbox: bool = False) -> list[RuleFile]:
    b = Build(platform, defs, defs.settings.sandbox.for_ if sandbox else None)
    files: list[RuleFile] = []
    for sid in platform.services:
        files.append(service_file(b, sid))
        if (slo := slo_file(b, sid)) is not None:
            files.append(slo)
    files.append(platform_file(b))
    return files


def build(platform: Platform, defs: Definitions, local: Local | None = None) -> dict[Path, bytes]:
    settings = defs.settings
    scrape = settings.scrape
    if local is not None:
        o = settings.sandbox
        scrape = scrape.model_copy(
            update={
                "interval": o.interval,
                "timeout": o.timeout,
                "sd_refresh": o.sd_refresh,
                "evaluation_interval": o.evaluation_interval,
                "exporter": local.exporter,
            }
        )
        defs = Definitions(
            defs.folder, settings.model_copy(update={"scrape": scrape}), defs.rules, defs.metrics
        )
    out: dict[Path, bytes] = {}
    for rf in rule_files(platform, defs, sandbox=local is not None):
        out[RULES / f"{rf.name}.yml"] = dump(rf.rules_doc())
        out[TESTS / f"{rf.name}.yml"] = dump(rf.tests_doc(f"../rules/{rf.name}.yml"))
    out[SCRAPE] = dump(scrape_config(scrape))
    am = settings.alertmanager
    where = alertmanager.Endpoints(
        local.notify_url if local else am.notify_url,
        local.runbook_webhook if local else am.runbook_webhook,
        local.credentials_file if local else am.credentials_file,
    )
    sandbox = settings.sandbox if local else None
    out[ALERTMANAGER] = dump(alertmanager.config(platform, defs, where, sandbox))
    out[ROUTES_TEST] = dump({"tests": alertmanager.routing_table(platform, defs)})
    return dict(sorted(out.items()))


def write(files: dict[Path, bytes], out: Path) -> list[Path]:
    """Write the files under `out` (unchanged ones untouched); remove generated files this build dropped."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"{out}: folder is not empty and was not written by `sre alerts build`")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text("written by `sre alerts build`; stale files here are removed\n")
        written = []
        for rel, data in files.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
            written.append(path)
        keep = set(written)
        for stale in out.rglob("*.yml"):
            if stale not in keep:
                stale.unlink()
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror}") from None
    return written
