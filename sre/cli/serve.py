"""`sre serve`: receive Alertmanager notifications, start the runbooks they map to, answer the API.

    sre serve --listen 127.0.0.1:9095 --token-file /run/secrets/am-token --api-token-file /run/secrets/api

Only typer and the standard library are imported here; the server loads when it starts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import EnvOption, PlatformOption
from sre.cli.runbook import AlertmanagerOption, NotifyOption, RunbooksOption, StoreOption, open_engine
from sre.errors import InputError
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from sre.platform.model import Platform

DEFAULT_LISTEN = "127.0.0.1:9095"


def read_token(path: Path, flag: str) -> bytes:
    from sre.safefile import SECRET_LIMIT, read_text

    text = read_text(path, limit=SECRET_LIMIT, what=flag).strip()
    if len(text) < 16 or any(c.isspace() for c in text):
        raise InputError(f"{flag} {path}: expected one token of 16 or more characters, no spaces")
    return text.encode()


def read_api_tokens(path: Path) -> dict[str, bytes]:
    """`NAME: TOKEN` lines (the name is who approves through the API), or one bare token (named `api`)."""
    from sre.safefile import SECRET_LIMIT, read_text

    text = read_text(path, limit=SECRET_LIMIT, what="--api-token-file")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if len(lines) == 1 and ":" not in lines[0]:
        lines = [f"api: {lines[0]}"]
    out: dict[str, bytes] = {}
    for number, line in enumerate(lines, 1):
        name, sep, token = (part.strip() for part in line.partition(":"))
        if not sep or not name or len(token) < 16 or any(c.isspace() for c in token):
            raise InputError(
                f"--api-token-file {path}: entry {number}: expected NAME: TOKEN (16+ characters)"
            )
        out[name] = token.encode()
    if not out:
        raise InputError(f"--api-token-file {path}: no token in it")
    return out


def serve(  # noqa: PLR0917  (typer maps parameters to options)
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = DEFAULT_LISTEN,
    store: StoreOption = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="The bearer token Alertmanager sends (credentials_file)."),
    ] = None,
    api_token_file: Annotated[
        Path | None, typer.Option("--api-token-file", help="Tokens of the JSON API: NAME: TOKEN lines.")
    ] = None,
    no_token: Annotated[
        bool, typer.Option("--no-token", help="Accept notifications without a token (loopback tests only).")
    ] = False,
    env: EnvOption = DEFAULT_ENVIRONMENT,
    platform_file: PlatformOption = None,
    runbooks: RunbooksOption = None,
    alertmanager_url: AlertmanagerOption = None,
    notify_url: NotifyOption = None,
    lease: Annotated[
        float, typer.Option("--lease", min=1.0, max=3600.0, help="Seconds a dead worker's runs stay locked.")
    ] = 30.0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Runs executed at once.")] = 4,
    probe_interval: Annotated[
        float | None,
        typer.Option(
            "--probe-interval",
            min=1.0,
            max=86400.0,
            help="Seconds between `sre probe --all` rounds for the status page. "
            "Default: control_plane.probe_interval_seconds in platform.yaml.",
            show_default=False,
        ),
    ] = None,
    no_probes: Annotated[
        bool, typer.Option("--no-probes", help="Run no probes (the status page shows no grid).")
    ] = False,
    probes_dir: Annotated[
        Path | None,
        typer.Option("--probes", help="Probe definitions folder. Default: probes/ beside the platform file."),
    ] = None,
) -> None:
    """Alertmanager webhook receiver (POST /alerts), /healthz, /metrics and the runbook API."""
    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--listen: expected HOST:PORT, such as {DEFAULT_LISTEN}; got {listen!r}")
    if token_file is None and not no_token:
        raise InputError("--token-file is required (the bearer token Alertmanager sends), or --no-token")
    if token_file is not None and no_token:
        raise InputError("give --token-file or --no-token, not both")
    token = read_token(token_file, "--token-file") if token_file else None
    api_tokens = read_api_tokens(api_token_file) if api_token_file else {}

    import uvicorn

    from sre.server.app import Config, build_app

    engine = open_engine(
        platform_file, runbooks, store, env=env, alertmanager_url=alertmanager_url, notify_url=notify_url
    )
    engine.lease = lease
    _placement_warning(engine.platform)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    schedule = None
    if not no_probes:
        from sre.server.probing import ProbeSchedule

        where = engine.platform.control_plane
        interval = probe_interval or (where.probe_interval_seconds if where else 60.0)
        schedule = ProbeSchedule(
            platform_file=engine.platform.source.resolve(),
            env=env,
            interval=interval,
            probes_dir=probes_dir,
            timeout=min(60.0, max(5.0, interval)),
        )
    config = Config(engine=engine, token=token, api_tokens=api_tokens, workers=workers, probes=schedule)
    app = build_app(config)
    typer.echo(f"sre serve on http://{listen}/ (store {engine.store.db.url.split('@')[-1]})", err=True)
    server_config = uvicorn.Config(
        app, host=host.strip("[]"), port=int(port_text), log_level="warning", access_log=False, lifespan="on"
    )
    try:
        uvicorn.Server(server_config).run()
    except OSError as exc:
        raise InputError(f"--listen {listen}: {exc.strerror or exc}") from None


def _placement_warning(platform: Platform) -> None:
    """The receiver must not live where a switchover leaves from: say so when the model says it does."""
    where = platform.control_plane
    if where is None:
        typer.echo(
            f"warning: {platform.source} names no control_plane tier; run sre serve and its store "
            "outside the DC a runbook may switch away from",
            err=True,
        )
    elif platform.tiers[where.tier].standby == "active":
        typer.echo(
            f"warning: control_plane.tier is {where.tier}, the active tier: a switchover away from it "
            "would take the runbook receiver and its store down with it",
            err=True,
        )
