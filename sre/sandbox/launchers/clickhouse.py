"""clickhouse: Debian's clickhouse-server (18.16, old but real) on loopback, as the `clickhouse` user."""

from __future__ import annotations

import os
from pathlib import Path

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.render import render
from sre.sandbox.supervisor import ProcessSpec

OS_USER = "clickhouse"
USERS = Path("/etc/clickhouse-server/users.xml")  # Debian's: user `default`, no password, loopback


def start(run: Run) -> None:
    user = OS_USER if os.geteuid() == 0 else None
    folder = run.folder("clickhouse", mode=0o755)
    data = run.folder("clickhouse", "data", owner=user, mode=0o700)
    http_port, tcp_port = run.port("clickhouse.http"), run.port("clickhouse.tcp")
    conf = folder / "config.xml"
    conf.write_text(
        render("clickhouse.xml.j2", http_port=http_port, tcp_port=tcp_port, data=data, users=USERS),
        encoding="utf-8",
    )
    run.supervisor.start(
        ProcessSpec(
            name="clickhouse",
            component="clickhouse",
            argv=[str(run.binary("clickhouse-server")), f"--config-file={conf}"],
            health=health.http_get(http_port, "/ping", accept=lambda body: body.strip() == "Ok."),
            ports={"http": http_port, "tcp": tcp_port},
            user=user,
            cwd=data,
            start_timeout=60,
        )
    )
    run.serve(run.service(), run.tier("active"), run.url("http", http_port), process="clickhouse")


LAUNCHER = Launcher(
    name="clickhouse",
    title="ClickHouse (Debian clickhouse-server 18.16)",
    kinds=("clickhouse",),
    binaries=(binaries.apt("clickhouse-server"),),
    start=start,
    profile="full",
)
