"""promtool and amtool on the generated files: rules checked and unit-tested, the config and its routes.

They come from Debian's prometheus and prometheus-alertmanager packages. Each runs as an argument list
with a deadline; a failure comes back as the tool's own words, naming the file.
"""

from __future__ import annotations

import re
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
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream: promtool's per-file sections stay in order
            text=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return 1, f"{Path(argv[0]).name} did not finish in {TIMEOUT:.0f} s"
    return done.returncode, done.stdout.strip()


def _sections(text: str) -> list[tuple[str, str]]:
    """(test file, what promtool said about it) from `promtool test rules A B ...`."""
    parts = re.split(r"^Unit Testing:\s+(\S+)\s*$", text, flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


ALL = frozenset({"rules", "tests", "config", "routes"})


def check(out: Path, parts: frozenset[str] = ALL) -> Report:
    """Every check `sre alerts test` runs (or some `parts` of them), on a folder `sre alerts build` wrote."""
    promtool, amtool = _tool(PROMTOOL), _tool(AMTOOL)
    report = Report()
    if "rules" in parts:
        rules = sorted(str(p.relative_to(out)) for p in (out / RULES).glob("*.yml"))
        code, text = run([str(promtool), "check", "rules", "--lint=all", "--lint-fatal", *rules], out)
        what = f"promtool check rules ({len(rules)} files)"
        if code == 0:
            report.passed.append(what)
        else:
            lines = [ln for ln in text.splitlines() if ln.strip() and "SUCCESS" not in ln]
            report.failed.append(f"{what}: " + "\n  ".join(lines[-40:]))
    if "tests" in parts:
        _unit_tests(out, promtool, report)
    config = str(ALERTMANAGER)
    if "config" in parts:
        code, text = run([str(amtool), "check-config", config], out)
        if code == 0:
            report.passed.append(f"amtool check-config {config}")
        else:
            report.failed.append(f"amtool check-config {config}: " + " ".join(text.split())[:1000])
    if "routes" in parts:
        _routes(out, amtool, config, report)
    return report


def _unit_tests(out: Path, promtool: Path, report: Report) -> None:
    # One promtool for every test file (a process each costs more than the tests); its output has a
    # section per file, which says which failed.
    tests = sorted(str(p.relative_to(out)) for p in (out / TESTS).glob("*.yml"))
    code, text = run([str(promtool), "test", "rules", *tests], out)
    sections = dict(_sections(text))
    for test in tests:
        body = sections.get(test, "")
        if code == 0 or "SUCCESS" in body:
            report.passed.append(f"promtool test rules {test}")
        else:
            lines = [ln for ln in (body or text).splitlines() if ln.strip()]
            report.failed.append(f"promtool test rules {test}: " + "\n  ".join(lines[:40]))


def _routes(out: Path, amtool: Path, config: str, report: Report) -> None:
    table = yaml.safe_load((out / ROUTES_TEST).read_text(encoding="utf-8")) or {}
    rows: list[dict[str, Any]] = table.get("tests") or []
    failed = 0
    for row in rows:
        labels = [f"{k}={v}" for k, v in row["labels"].items()]
        want = ",".join(row["receivers"])
        argv = [
            str(amtool),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={want}",
        ]
        code, text = run([*argv, *labels], out)
        if code != 0:
            failed += 1
            got = next((ln for ln in text.splitlines() if ln and not ln.lower().startswith("warning")), "")
            report.failed.append(f"{ROUTES_TEST}: {' '.join(labels)}: expected {want}, got {got}")
    if rows and not failed:
        report.passed.append(f"amtool config routes test ({len(rows)} label sets)")
