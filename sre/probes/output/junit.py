"""JUnit XML for CI: a test suite per DC tier, a test case per probe, failures with their reason."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from sre.probes.model import Result, Status
from sre.probes.output.escape import visible
from sre.probes.output.table import observed


def _x(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped: they are shown as \xNN instead.
    return visible(text, lines=True)


def render(results: list[Result], tiers: Iterable[str]) -> str:
    root = ET.Element("testsuites", name="sre probe")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for tier in tiers:
        cases = [r for r in results if r.tier == tier]
        if not cases:
            continue
        suite = ET.SubElement(root, "testsuite", name=_x(f"probe.{tier}"))
        counts = {"tests": len(cases), "failures": 0, "skipped": 0}
        for r in cases:
            case = ET.SubElement(
                suite,
                "testcase",
                name=_x(f"{r.service}/{r.check}"),
                classname=_x(f"{r.tier}.{r.zone}"),
                time=f"{r.duration_seconds:.6f}",
            )
            if r.status is Status.failed:
                counts["failures"] += 1
                kind = str(r.reason or "failed")
                failure = ET.SubElement(case, "failure", message=_x(r.message), type=_x(kind))
                failure.text = _x(f"{r.endpoint}: {r.reason}: {r.message}")
            elif r.status in (Status.skipped, Status.expected_down):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_x(f"{r.status}: {r.reason}: {r.message}"))
            out = [f"status: {r.status}", f"endpoint: {r.endpoint}", f"vantage: {r.vantage}"]
            if r.status is Status.degraded:
                out.append(f"degraded: {r.reason}: {r.message}")
            if seen := observed(r):
                out.append(f"observed: {seen}")
            ET.SubElement(case, "system-out").text = _x("\n".join(out))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
