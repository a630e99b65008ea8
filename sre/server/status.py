"""What the status page shows, as plain data: the JSON API returns it and the templates render it.

The grid is the platform's tier x zone diagram, each cell the worst latest verdict
of its services there; a tier carries its verdict and root causes from the probe
run's own `tiers` document. A run view adds what a person needs to decide and to
review: the plan's facts while it waits, the journal, RTO (request to last step)
and RPO (the replication lag its steps saw) once it is over.
"""

from __future__ import annotations

import time
from typing import Any

from sre.platform.model import Platform
from sre.runbooks.store import FINAL, WAITING_APPROVAL

# Worst first: a cell takes the worst state of its probes.
ORDER = ("failed", "degraded", "incomplete", "expected_down", "ok", "skipped", "unknown")
SYMBOL = {
    "failed": "✗",
    "degraded": "!",
    "incomplete": "?",
    "expected_down": "○",
    "ok": "✓",
    "skipped": "-",
    "unknown": "?",
    # tier verdicts
    "healthy": "✓",
    "critical": "✗",
    "down": "✗",
    "not probed": "-",
}
WORD = {"expected_down": "down, as allowed", "skipped": "not probed", "unknown": "no data"}
TIER_CLASS = {"healthy": "ok", "degraded": "degraded", "critical": "failed", "down": "failed"}


def worst(states: list[str]) -> str:
    return min(states, key=ORDER.index) if states else "unknown"


def grid(platform: Platform, latest: dict[str, Any] | None) -> dict[str, Any]:
    """Tiers (with verdicts), zones, and a cell per zone and tier naming its failing services."""
    body = (latest or {}).get("body") or {}
    results = body.get("results") or []
    verdicts = {v["tier"]: v for v in body.get("tiers") or []}
    tiers = []
    for tid, tier in platform.tiers.items():
        v = verdicts.get(tid)
        word = v["status"] if v else "not probed"
        css = "expected" if v and v.get("expected") else TIER_CLASS.get(word, "unknown")
        if v and v.get("counts", {}).get("failed"):
            css = "failed"  # a failed probe makes the tier red, whatever word its verdict has
        causes = [
            f"{c['service']} ({c['reason'].replace('_', ' ')})" for c in (v or {}).get("root_causes", [])
        ]
        tiers.append(
            {
                "id": tid,
                "dc": tier.dc,
                "standby": tier.standby,
                "word": word,
                "symbol": "○" if css == "expected" else SYMBOL.get(word, "?"),
                "css": css,
                "why": v["why"] if v else "no probe run yet",
                "root_causes": causes,
            }
        )
    zones = []
    for zid, zone in platform.zones.items():
        cells = []
        for tid in platform.tiers:
            services = []
            for sid in platform.services_in_zone(zid):
                mine = [r for r in results if r["service"] == sid and r["tier"] == tid]
                if not mine:
                    continue
                state = worst([r["status"] for r in mine])
                bad = next((r for r in mine if r["status"] == state), mine[0])
                services.append(
                    {
                        "id": sid,
                        "state": state,
                        "symbol": SYMBOL[state],
                        "reason": (bad.get("reason") or "").replace("_", " "),
                        "message": bad.get("message") or "",
                    }
                )
            state = worst([s["state"] for s in services if s["state"] != "skipped"] or ["skipped"])
            if not services:
                state = "unknown"
            failing = [s for s in services if s["state"] in ("failed", "degraded")]
            cause = ", ".join(f"{s['id']} ({s['reason'] or s['state']})" for s in failing)
            cells.append(
                {
                    "tier": tid,
                    "state": state,
                    "symbol": SYMBOL[state],
                    "word": WORD.get(state, state),
                    "cause": cause,
                    "services": services,
                }
            )
        zones.append({"id": zid, "name": zone.name, "cells": cells})
    return {
        "probed_at": body.get("started_at"),
        "probe_run": (latest or {}).get("id"),
        "probe_error": (latest or {}).get("error"),
        "environment": body.get("environment"),
        "tiers": tiers,
        "zones": zones,
    }


def service(platform: Platform, sid: str, recent: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One service: its latest checks per tier (facts, reason, message) and its history over the runs."""
    svc = platform.services.get(sid)
    if svc is None:
        return None
    latest = (recent[0]["body"].get("results") or []) if recent and recent[0].get("body") else []
    checks = [r for r in latest if r["service"] == sid]
    history = []
    for run in recent:
        mine = [r for r in (run.get("body") or {}).get("results") or [] if r["service"] == sid]
        by_tier = {tid: worst([r["status"] for r in mine if r["tier"] == tid]) for tid in platform.tiers}
        history.append(
            {
                "started_at": run["started_at"],
                "error": run.get("error"),
                "tiers": [{"tier": t, "state": s, "symbol": SYMBOL[s]} for t, s in by_tier.items()],
            }
        )
    return {
        "id": sid,
        "kind": svc.kind,
        "owner": svc.owner,
        "zone": svc.zone,
        "checks": [c | {"symbol": SYMBOL.get(c["status"], "?")} for c in checks],
        "history": history,
        "tiers": list(platform.tiers),
    }


def run_view(run: dict[str, Any], plan: dict[str, Any] | None) -> dict[str, Any]:
    """A run as the page shows it: state, the plan while it waits, RTO and RPO once it is over."""
    journal = run.get("journal") or []
    over = run["state"] in FINAL
    rto = (run["ended_at"] - run["created_at"]) if over and run.get("ended_at") else None
    lags = [
        float(v)
        for entry in journal
        for k, v in _walk(entry)
        if k in ("lag_seconds", "replication_lag_seconds") and isinstance(v, int | float)
    ]
    return run | {
        "on": str(run["target"]).removeprefix(f"{run['runbook']}:"),  # the target names its runbook
        "waiting": run["state"] == WAITING_APPROVAL,
        "over": over,
        "plan": plan,
        "rto_seconds": rto,
        "rpo_seconds": max(lags) if lags else None,
        "age_seconds": time.time() - run["created_at"],
    }


def _walk(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) of nested dicts and lists: where facts sit in a journal entry varies by step."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((str(k), v))
            out.extend(_walk(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_walk(v))
    return out


def fate(episode: dict[str, Any]) -> str:
    """What became of an alert: the run it started, or why it started none."""
    if episode.get("run_id"):
        return f"run {episode['run_id']} ({episode.get('runbook')})"
    if episode.get("reason"):
        return f"rejected: {episode['reason']}"
    if episode.get("status") == "resolved":
        return "resolved"
    return "no runbook"
