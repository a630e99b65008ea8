"""Restart a sandbox PostgreSQL cluster as a standby of another: what Patroni does when a former
primary rejoins after a switchover.

The cluster is stopped cleanly (fast shutdown), rewound onto the new primary
with pg_rewind (a no-op when its history did not diverge; it can run because
the clusters log hint bits, `wal_log_hints = on`), given a fresh
`primary_conninfo` and `standby.signal`, and started again by the sandbox's
supervisor. A runbook reaches this through the endpoint params the sandbox
writes (`sandbox_dir`, `sandbox_process`), never through arguments.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sre.errors import SreError
from sre.sandbox.context import chown
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.supervisor import as_user

REPLICATION_USER = "replicator"
# Settings a switchover leaves in postgresql.auto.conf that a standby must not keep.
STALE = ("primary_conninfo", "primary_slot_name", "default_transaction_read_only")
REWIND_TIMEOUT = 120.0


def data_dir(argv: list[str]) -> Path:
    if "-D" not in argv or argv.index("-D") + 1 >= len(argv):
        raise SreError(f"{argv[0]}: no -D in its command line")
    return Path(argv[argv.index("-D") + 1])


def rejoin_as_standby(
    root: Path, process: str, primary_port: int, admin_user: str, admin_password: str
) -> dict[str, object]:
    """Stop `process`, rewind it onto the primary at `primary_port`, start it as its standby.

    The slot it streams through (named after the process) must exist on the
    primary already. Returns what was done, for the journal.
    """
    sandbox = Sandbox(root)
    record = sandbox.state().processes.get(process)
    if record is None or "postgres" not in record.ports:
        raise SreError(f"{root}: no PostgreSQL process {process!r} in the sandbox")
    data = data_dir(record.argv)
    sandbox.stop_process(process)
    rewind = Path(record.argv[0]).with_name("pg_rewind")
    source = f"host=127.0.0.1 port={primary_port} user={admin_user} dbname=postgres connect_timeout=5"
    # The password goes in the environment, not the command line that `ps` and the log show.
    env = {**os.environ, "PGPASSWORD": admin_password}
    done = subprocess.run(
        as_user([str(rewind), "-D", str(data), f"--source-server={source}", "--no-sync"], record.user),
        capture_output=True,
        text=True,
        env=env,
        timeout=REWIND_TIMEOUT,
        check=False,
    )
    said = " ".join(done.stdout.split() + done.stderr.split())
    with Path(record.log).open("a", encoding="utf-8") as log:
        log.write(f"--- pg_rewind onto port {primary_port}: exit {done.returncode}: {said}\n")
    if done.returncode != 0:
        raise SreError(f"pg_rewind of {process} failed (exit {done.returncode}): {said[-300:]}")
    passfile = root / "postgres" / "pgpass"
    conninfo = f"host=127.0.0.1 port={primary_port} user={REPLICATION_USER} passfile={passfile}"
    auto = data / "postgresql.auto.conf"
    kept = [
        line for line in auto.read_text(encoding="utf-8").splitlines() if not line.strip().startswith(STALE)
    ]
    kept += [f"primary_conninfo = '{conninfo}'", f"primary_slot_name = '{slot_name(process)}'"]
    auto.write_text("\n".join(kept) + "\n", encoding="utf-8")
    standby = data / "standby.signal"
    standby.touch()
    for path in (auto, standby):
        chown(path, record.user)
    sandbox.start_process(process)
    return {"rewound": "no rewind required" not in said, "primary_port": primary_port}


def slot_name(process: str) -> str:
    """The replication slot a cluster streams through: its process name, as a slot name may be."""
    return process.removeprefix("postgres-").replace("-", "_")
