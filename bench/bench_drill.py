"""`sre drill dr --cycles N` (a process) on a fresh core sandbox, against a bare `pg_promote` in the same run.

The drill switches PostgreSQL, the gateways and the rest back and forth N times while writers write
through the gateway; its RTO is the longest time no write was acknowledged. The anchor is the
smallest part of that: promoting the same sandbox's standby with nothing else around it.
Goals (issue 15): 0 acknowledged rows lost over 20 cycles, RTO p50 <= 5 s, p95 <= 8 s.
Run: `.venv/bin/python bench/bench_drill.py [CYCLES]` (or `make bench`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from sre.platform.loader import load_environment, load_platform
from sre.sandbox.launchers import postgres
from sre.sandbox.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
GOALS = {"rto_p50": 5.0, "rto_p95": 8.0}


def bare_promote(folder: Path, sandbox_dir: Path) -> float:
    """Seconds of `pg_promote(wait => true)` on whichever tier is the standby now."""
    env = load_environment(load_platform(folder / "platform.yaml"), "sandbox")
    admin = (sandbox_dir / "secrets" / "postgres-admin.password").read_text().strip()
    for endpoint in env.endpoints["db_postgres"].values():
        port = urlsplit(endpoint.url).port or 5432
        try:
            standby = postgres.query(port, admin, "SELECT pg_is_in_recovery()")[0][0]
        except Exception:  # the cold tier is not running
            continue
        if standby:
            began = time.perf_counter()
            postgres.query(port, admin, "SELECT pg_promote(wait => true, wait_seconds => 60)")
            return time.perf_counter() - began
    raise SystemExit("no standby PostgreSQL to promote")


def main(cycles: int) -> int:
    folder = Path(tempfile.mkdtemp(prefix="sre-bench-drill-"))
    folder.chmod(0o755)
    shutil.copy(REPO / "platform.yaml", folder / "platform.yaml")
    for content in ("runbooks", "probes"):  # the runbook's probe steps read the probe definitions
        shutil.copytree(REPO / content, folder / content)
    sandbox = Sandbox(folder / "sb")
    try:
        sandbox.up(load_platform(folder / "platform.yaml"), "core")
        # Where the drill's engine runs comes from the sandbox's environment file, as for a user.
        env = {k: v for k, v in os.environ.items() if k != "SRE_CONTROL_PLANE_TIER"}
        env["SRE_PLATFORM"] = str(folder / "platform.yaml")
        argv = [sys.executable, "-m", "sre", "drill", "dr", "--cycles", str(cycles), "--writers", "4",
                "--store", str(folder / "store.db"), "--format", "json"]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60 * cycles, check=False)
        took = time.perf_counter() - began
        if not done.stdout.strip():
            print(f"drill failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
            return 1
        report = json.loads(done.stdout)
        summary = report["summary"]
        for cycle in report["cycles"]:
            if not cycle["ok"]:
                print(f"cycle {cycle['cycle']} failed: {cycle['failure']}")
        anchor = bare_promote(folder, folder / "sb")
    finally:
        sandbox.down()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"sre drill dr --cycles {cycles}: {summary['cycles']} cycles in {took:.1f} s, "
        f"{summary['rows_acknowledged']} rows acknowledged, {summary['rows_lost']} lost, "
        f"{summary['cycles_failed']} cycles failed"
    )
    print(
        f"RTO p50 {summary['rto_p50']:.2f} s, p95 {summary['rto_p95']:.2f} s, max {summary['rto_max']:.2f} s"
    )
    ratio = summary["rto_p50"] / anchor
    print(f"anchor: bare pg_promote {anchor:.3f} s; ratio (RTO p50 / bare promote): {ratio:.1f}")
    met = (
        summary["rows_lost"] == 0
        and summary["cycles_failed"] == 0
        and all(summary[k] <= v for k, v in GOALS.items())
    )
    print(f"goals (0 rows lost, RTO p50 <= 5 s, p95 <= 8 s): {'met' if met else 'NOT met'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
