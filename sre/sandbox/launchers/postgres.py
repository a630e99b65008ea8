"""The postgres service (db_postgres here): a primary, a streaming replica (pg_basebackup -R) and a
cold copy from a base backup.

The servers run as the `postgres` OS user when we are root (initdb refuses
root). Only TCP on 127.0.0.1, SCRAM passwords from files under secrets/. The
cold tier is a base backup on disk plus a stopped standby cluster made from it;
its replication slot on the primary keeps the WAL it needs to catch up.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run, chown, write_private
from sre.sandbox.render import render
from sre.sandbox.supervisor import HealthCheck, ProcessSpec

OS_USER = "postgres"
ADMIN = "postgres"
APP_USER = "app"
APP_DB = "app"
REPLICATION_USER = "replicator"

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    service text NOT NULL,
    tier text NOT NULL
);
CREATE TABLE IF NOT EXISTS drill_writes (
    writer int NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    tier text NOT NULL,
    PRIMARY KEY (writer, seq)
)
"""


def os_user() -> str | None:
    """The user the servers run as: `postgres` when we are root, else ourselves (None)."""
    return OS_USER if os.geteuid() == 0 else None


def dsn(port: int, password: str, user: str = ADMIN, dbname: str = "postgres") -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host="127.0.0.1", port=port, user=user, password=password, dbname=dbname, connect_timeout=2
    )


def query(port: int, password: str, sql: str, *, user: str = ADMIN, dbname: str = "postgres") -> list[tuple]:  # type: ignore[type-arg]
    import psycopg

    with psycopg.connect(dsn(port, password, user, dbname), autocommit=True) as conn:
        cur = conn.execute(sql.encode())
        return cur.fetchall() if cur.description else []


def _answers(port: int, password: str, sql: str, want: object) -> HealthCheck:
    def check() -> str | None:
        import psycopg

        try:
            rows = query(port, password, sql)
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        got = rows[0][0] if rows else None
        return None if got == want else f"{sql!r} gave {got!r}, expected {want!r}"

    return check


def _streaming(primary_port: int, password: str, name: str) -> HealthCheck:
    sql = f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'"  # noqa: S608
    return _answers(primary_port, password, sql, "streaming")


def _bootstrap(port: int, admin_pw: str, app_pw: str, replication_pw: str) -> None:
    """Roles and the app database. Passwords go over the wire as SCRAM verifiers, never in clear."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn(port, admin_pw), autocommit=True) as conn:

        def verifier(user: str, password: str) -> str:
            return conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()

        for user, password, extra in (
            (REPLICATION_USER, replication_pw, "REPLICATION"),
            (APP_USER, app_pw, "NOREPLICATION"),
        ):
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN {} PASSWORD {}").format(
                    sql.Identifier(user), sql.SQL(extra), sql.Literal(verifier(user, password))
                )
            )
        conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(APP_USER)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(APP_DB), sql.Identifier(APP_USER))
        )
    with psycopg.connect(dsn(port, app_pw, APP_USER, APP_DB), autocommit=True) as conn:
        conn.execute(SCHEMA.encode())


def _server(run: Run, name: str, data: Path, port: int, health: HealthCheck) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        component="postgres",
        argv=[str(run.binary("postgres")), "-D", str(data), "-p", str(port), "-c", f"cluster_name={name}"],
        health=health,
        ports={"postgres": port},
        user=os_user(),
        stop_signal=signal.SIGINT,  # fast shutdown: SIGTERM would wait for every client to leave
        start_timeout=60,
    )


def _standby_conf(data: Path, primary_port: int, passfile: Path, slot: str, user: str | None) -> None:
    conninfo = f"host=127.0.0.1 port={primary_port} user={REPLICATION_USER} passfile={passfile}"
    auto = data / "postgresql.auto.conf"
    with auto.open("a", encoding="utf-8") as fh:
        fh.write(f"primary_conninfo = '{conninfo}'\nprimary_slot_name = '{slot}'\n")
    signal_file = data / "standby.signal"
    signal_file.touch()
    for path in (auto, signal_file):
        chown(path, user)


def start(run: Run) -> None:
    user = os_user()
    pg = run.folder("postgres", owner=user, mode=0o700)
    backups = run.folder("backups", "postgres", owner=user, mode=0o700)
    chown(backups.parent, user)
    admin_pw = run.read_secret("postgres-admin")
    app_pw = run.read_secret("postgres-app")
    replication_pw = run.read_secret("postgres-replication")
    passfile = write_private(pg / "pgpass", f"127.0.0.1:*:*:{REPLICATION_USER}:{replication_pw}\n", user)
    pwfile = write_private(pg / "initdb.pw", admin_pw + "\n", user)

    active, hot, cold = run.tier("active"), run.tier("hot"), run.tier("cold")
    primary = pg / "primary"
    try:
        run.command(
            "postgres-initdb",
            [
                str(run.binary("initdb")),
                "-D",
                str(primary),
                "-U",
                ADMIN,
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user=user,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    for name, text in (
        ("sandbox.conf", render("postgresql.conf.j2")),
        ("pg_hba.conf", render("pg_hba.conf.j2", replication_user=REPLICATION_USER)),
    ):
        write_private(primary / name, text, user)
    with (primary / "postgresql.conf").open("a", encoding="utf-8") as fh:
        fh.write("\ninclude 'sandbox.conf'\n")

    p_port = run.port("postgres.primary")
    run.supervisor.start(
        _server(run, "postgres-primary", primary, p_port, _answers(p_port, admin_pw, "SELECT 1", 1))
    )
    _bootstrap(p_port, admin_pw, app_pw, replication_pw)
    # The superuser is for runbooks (promote, read-only, pg_rewind); probes use the app role.
    secrets = {
        "password": {"file": str(run.secret("postgres-app"))},
        "admin_password": {"file": str(run.secret("postgres-admin"))},
    }

    def endpoint(port: int, process: str, **params: str) -> dict[str, object]:
        url = f"postgresql://{APP_USER}@127.0.0.1:{port}/{APP_DB}?sslmode=disable"
        # Where the sandbox supervises this cluster: how a runbook restarts it as a standby.
        control = {"admin_user": ADMIN, "sandbox_dir": str(run.root), "sandbox_process": process}
        return {"url": url, "params": {**control, **params}, "secrets": secrets}

    run.serve(run.service(), active, endpoint(p_port, "postgres-primary"), process="postgres-primary")
    replication = f"host=127.0.0.1 port={p_port} user={REPLICATION_USER} passfile={passfile}"
    basebackup = [
        str(run.binary("pg_basebackup")),
        "-d",
        replication,
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync",
    ]

    if hot is not None:
        secondary = pg / "secondary"
        run.command(
            "postgres-secondary",
            [*basebackup, "-D", str(secondary), "-R", "-C", "-S", "secondary"],
            user=user,
        )
        s_port = run.port("postgres.secondary")
        run.supervisor.start(
            _server(
                run,
                "postgres-secondary",
                secondary,
                s_port,
                _streaming(p_port, admin_pw, "postgres-secondary"),
            )
        )
        run.serve(run.service(), hot, endpoint(s_port, "postgres-secondary"), process="postgres-secondary")

    if cold is not None:
        base = backups / "base"
        run.command("postgres-tertiary", [*basebackup, "-D", str(base), "-C", "-S", "tertiary"], user=user)
        tertiary = pg / "tertiary"
        run.command("postgres-tertiary", ["cp", "-a", str(base), str(tertiary)], user=user)
        _standby_conf(tertiary, p_port, passfile, "tertiary", user)
        t_port = run.port("postgres.tertiary")
        run.supervisor.record(
            _server(
                run, "postgres-tertiary", tertiary, t_port, _streaming(p_port, admin_pw, "postgres-tertiary")
            )
        )
        run.serve(
            run.service(),
            cold,
            endpoint(t_port, "postgres-tertiary", base_backup=str(base)),
            process="postgres-tertiary",
            state="stopped",
            reason=f"cold standby: a stopped cluster from the base backup in {base}; "
            "`sre sandbox start postgres-tertiary` starts it and it catches up",
        )


LAUNCHER = Launcher(
    name="postgres",
    title="PostgreSQL (Debian postgresql): primary, streaming replica, cold copy from a base backup",
    kinds=("postgres",),
    binaries=(binaries.postgres("postgres"), binaries.postgres("initdb"), binaries.postgres("pg_basebackup")),
    start=start,
)
