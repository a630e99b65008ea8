"""redis: a primary and a linked replica (`--repl-diskless-sync-delay 0`: the link is up in milliseconds)."""

from __future__ import annotations

from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run, write_private
from sre.sandbox.render import render
from sre.sandbox.supervisor import HealthCheck, ProcessSpec


def info(port: int, password: str, section: str) -> dict[str, object]:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2)
    try:
        return dict(client.info(section))
    finally:
        client.close()


def _role(port: int, password: str, role: str) -> HealthCheck:
    def check() -> str | None:
        import redis

        try:
            found = info(port, password, "replication")
        except redis.RedisError as exc:
            return f"{type(exc).__name__}: {exc}"
        if found.get("role") != role:
            return f"role {found.get('role')!r}, expected {role!r}"
        if role == "slave" and found.get("master_link_status") != "up":
            return f"replica link {found.get('master_link_status')!r}"
        return None

    return check


def start(run: Run) -> None:
    password = run.read_secret("redis")
    secret = {"password": {"file": str(run.secret("redis"))}}
    primary_port = None
    for standby, role in (("active", "master"), ("hot", "slave")):
        tier = run.tier(standby)  # type: ignore[arg-type]
        if tier is None:
            continue
        name = f"redis-{tier}"
        port = run.port(f"redis.{tier}")
        data = run.folder("redis", tier, mode=0o700)
        conf = write_private(
            run.root / "redis" / f"{tier}.conf",
            render("redis.conf.j2", port=port, data=data, password=password, primary_port=primary_port),
        )
        run.supervisor.start(
            ProcessSpec(
                name=name,
                component="redis",
                argv=[str(run.binary("redis-server")), str(conf)],
                health=_role(port, password, role),
                ports={"redis": port},
            )
        )
        run.serve(
            run.service(), tier, {"url": f"redis://127.0.0.1:{port}/0", "secrets": secret}, process=name
        )
        if primary_port is None:
            primary_port = port


LAUNCHER = Launcher(
    name="redis",
    title="Redis (Debian redis-server): primary and replica",
    kinds=("redis",),
    binaries=(binaries.apt("redis-server"),),
    start=start,
)
