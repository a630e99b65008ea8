"""mlflow: MLflow tracking server (PyPI mlflow, the optional `sre[mlflow]` extra), SQLite backend."""

from __future__ import annotations

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec


def start(run: Run) -> None:
    data = run.folder("mlflow", mode=0o700)
    port = run.port("mlflow.http")
    run.supervisor.start(
        ProcessSpec(
            name="mlflow",
            component="mlflow",
            argv=[
                str(run.binary("mlflow")),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{data}/mlflow.db",
                "--artifacts-destination",
                str(data / "artifacts"),
                "--workers",
                "1",
            ],
            health=health.http_get(port, "/health"),
            ports={"http": port},
            cwd=data,
            start_timeout=90,
        )
    )
    run.serve(run.service(), run.tier("active"), run.url("http", port), process="mlflow")


LAUNCHER = Launcher(
    name="mlflow",
    title="MLflow tracking server (PyPI mlflow, optional extra sre[mlflow])",
    kinds=("mlflow",),
    binaries=(binaries.Binary("mlflow", "pip install 'sre[mlflow]' (large, slow to install)"),),
    start=start,
    profile="full",
)
