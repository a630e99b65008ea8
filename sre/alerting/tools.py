"""promtool and amtool on the generated files: rules checked and unit-tested, the config and its routes.

They come from Debian's prometheus and prometheus-alertmanager packages. Each runs as an argument list
with a deadline; a failure comes back as the tool's own words, naming the file.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sre.alerting.build import ALERTMANAGER, ROUTES_TEST, RULES, TESTS
from sre.errors import SreError
from sre.sandbox import binaries

PROMTOOL = binaries.apt("promtool", "prometheus")
AMTOOL = binaries.apt("amtool", "prometheus-alertmanager")
TIMEOUT = 120.0


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _tool(binary: binaries.Binary) -> Path:
    try:
        return binaries.require(binary)
    except binaries.Missing as exc:
        raise SreError(str(exc)) from None


def run(argv: list[str], cwd: Path) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return 1, f"{Path(argv[0]).name} did not finish in {TIMEOUT:.0f} s"
    return done.returncode, (done.stdout + done.stderr).strip()


def check(out: Path) -> Report:
    """Every check `sre alerts test` runs, on a folder `sre alerts build` wrote."""
    promtool, amtool = _tool(PROMTOOL), _tool(AMTOOL)
    report = Report()
    rules = sorted(str(p.relative_to(out)) for p in (out / RULES).glob("*.yml"))
    tests = sorted(str(p.relative_to(out)) for p in (out / TESTS).glob("*.yml"))

    def record(what: str, argv: list[str]) -> None:
        code, text = run(argv, out)
        if code == 0:
            report.passed.append(what)
        else:
            lines = [ln for ln in text.splitlines() if ln.strip() and "SUCCESS" not in ln]
            report.failed.append(f"{what}: " + "\n  ".join(lines[-40:]))

    record(
        f"promtool check rules ({len(rules)} files)",
        [str(promtool), "check", "rules", "--lint=all", "--lint-fatal", *rules],
    )
    for test in tests:
        record(f"promtool test rules {test}", [str(promtool), "test", "rules", test])
    config = str(ALERTMANAGER)
    record(f"amtool check-config {config}", [str(amtool), "check-config", config])
    table = yaml.safe_load((out / ROUTES_TEST).read_text(encoding="utf-8")) or {}
    rows: list[dict[str, Any]] = table.get("tests") or []
    for row in rows:
        labels = [f"{k}={v}" for k, v in row["labels"].items()]
        want = ",".join(row["receivers"])
        code, text = run(
            [
                str(amtool),
                "config",
                "routes",
                "test",
                f"--config.file={config}",
                f"--verify.receivers={want}",
                *labels,
            ],
            out,
        )
        if code != 0:
            got = text.splitlines()[-1] if text else ""
            report.failed.append(f"{ROUTES_TEST}: {' '.join(labels)}: expected {want}, got {got}")
    if rows and not any(f.startswith(str(ROUTES_TEST)) for f in report.failed):
        report.passed.append(f"amtool config routes test ({len(rows)} label sets)")
    return report
