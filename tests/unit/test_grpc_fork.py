"""A process that has spoken gRPC can still start servers: gRPC's fork handlers stay off in sre.

The sandbox supervisor and the runbooks start servers (fork and exec) from processes that have probed
gRPC. With gRPC's fork handlers on, each fork runs them while gRPC's poller threads are busy, which
printed "skipping fork() handlers" and once crashed a child PostgreSQL before it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, subprocess, sys
import sre.probes.checks.grpc  # what a probe run imports first
sys.path.insert(0, "tests/probes")
from probe_servers import start_grpc_health
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

server, port = start_grpc_health()

async def main() -> None:
    for _ in range(5):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        await channel.close()
        subprocess.run(["true"], check=True, start_new_session=True)

asyncio.run(main())
server.stop(None)
"""


def test_forking_after_a_grpc_probe_runs_no_grpc_fork_handlers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_ENABLE_FORK_SUPPORT"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fork() handlers" not in done.stderr, done.stderr[-2000:]
