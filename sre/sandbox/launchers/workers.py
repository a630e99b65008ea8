"""The kubernetes service (k8s_workers here): the worker stand-in (sre/sandbox/worker.py), one per tier,
on that tier's data stores (the cold tier's on the active tier's Redis and NATS).

The active and hot tiers' workers run; the cold tier's is set up but stopped,
like the rest of that tier (it would use the cold PostgreSQL once started).
There is no Kubernetes API here: the endpoint is the worker itself, HTTP for
`/healthz` and the standard gRPC health service at `params.grpc`.
"""

from __future__ import annotations

import json
import sys

from sre.sandbox import health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers import nats, postgres
from sre.sandbox.supervisor import ProcessSpec


def start(run: Run) -> None:
    active = run.tier("active")
    folder = run.folder("workers", mode=0o700)
    to_start = []
    for standby in ("active", "hot", "cold"):
        tier = run.tier(standby)
        if tier is None:
            continue
        name = f"worker-{tier}"
        http_port, grpc_port = run.port(f"worker.{tier}.http"), run.port(f"worker.{tier}.grpc")
        own = tier if standby != "cold" else active  # the cold tier has no Redis or NATS of its own
        assert active is not None and own is not None
        config = {
            "tier": tier,
            "http_port": http_port,
            "grpc_port": grpc_port,
            "pg_port": run.port(f"postgres.{tier}"),
            "pg_user": postgres.APP_USER,
            "pg_db": postgres.APP_DB,
            "pg_password_file": str(run.secret("postgres-app")),
            "redis_port": run.port(f"redis.{own}"),
            "redis_password_file": str(run.secret("redis")),
            "nats_url": f"nats://127.0.0.1:{nats.ports_of(run, own, active)[0]}",
            "service": run.service() or "workers",
            # Dependencies are reported under the platform's names for them.
            "names": {c: sid for c in ("postgres", "redis", "nats") if (sid := _first(run, c))},
        }
        config_file = folder / f"{tier}.json"
        config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        spec = ProcessSpec(
            name=name,
            component="workers",
            argv=[sys.executable, "-m", "sre.sandbox.worker", str(config_file)],
            health=health.http_get(http_port, "/healthz"),
            ports={"http": http_port, "grpc": grpc_port},
        )
        endpoint = {
            "url": run.url("http", http_port),
            "params": {"grpc": f"127.0.0.1:{grpc_port}"},
            "unavailable": {"kubernetes": "no Kubernetes API here; the endpoint is the worker stand-in"},
        }
        if standby == "cold":
            run.supervisor.record(spec)
            reason = "cold standby: not started (`sre sandbox start worker-tertiary` after the cold database)"
            run.serve(
                run.service(),
                tier,
                endpoint,
                process=name,
                state="stopped",
                reason=reason.replace("tertiary", tier),
            )
        else:
            to_start.append(spec)
            run.serve(
                run.service(), tier, endpoint, process=name, reason="worker stand-in; no Kubernetes API here"
            )
    run.supervisor.start_many(to_start)  # side by side: each spends its first second importing


def _first(run: Run, component: str) -> str | None:
    return next(iter(run.bound.get(component, ())), None)


LAUNCHER = Launcher(
    name="workers",
    title="Worker stand-in for the kubernetes service (aiohttp + gRPC health; PostgreSQL, Redis, NATS)",
    kinds=("kubernetes",),
    binaries=(),
    start=start,
    needs=("postgres", "redis", "nats"),
    stage=1,
)
