"""`sre runbook`: list, show, plan, run, approve, status, resume and abort runbooks.

    sre runbook plan restart-worker --param service=k8s_workers --param tier=primary
    sre runbook approve 3f2a...                       # someone else, when the runbook says four eyes
    sre runbook run restart-worker --param ... --approve 3f2a...
    sre runbook status [RUN] [--format json]

Only typer and the standard library are imported here; the engine loads when a command runs.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import EnvOption, PlatformOption, TableOrJson, command_group, shared_options
from sre.errors import InputError
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from sre.runbooks.engine import Engine
    from sre.runbooks.plan import Plan
    from sre.runbooks.store import Run

app = command_group("Runbooks: plan, approve and run them; see their runs and journals.")

RunbooksOption = Annotated[
    Path | None,
    typer.Option("--runbooks", help="Runbook folder. Default: runbooks/ beside the platform file."),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="SRE_RUNBOOK_STORE",
        help="postgresql://... or a SQLite file. Default: .sre/runbooks.db beside the platform file.",
        show_default=False,
    ),
]
ParamOption = Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE (repeatable).")]
AlertmanagerOption = Annotated[
    str | None,
    typer.Option("--alertmanager-url", envvar="SRE_ALERTMANAGER_URL", help="Alertmanager for silences."),
]
NotifyOption = Annotated[
    str | None,
    typer.Option("--notify-url", envvar="SRE_NOTIFY_URL", help="Webhook told when a run needs a human."),
]


def who() -> str:
    """Who asks or approves: $SRE_USER, else the login name."""
    return os.environ.get("SRE_USER") or getpass.getuser()


def default_store(platform_source: Path) -> Path:
    return platform_source.parent / ".sre" / "runbooks.db"


def open_engine(
    platform_file: Path | None,
    runbooks: Path | None,
    store_url: str | None,
    *,
    env: str | None = None,
    alertmanager_url: str | None = None,
    notify_url: str | None = None,
) -> Engine:
    from sre.cli.options import open_platform
    from sre.platform.loader import load_environment
    from sre.runbooks.actions import Settings
    from sre.runbooks.db import open_database
    from sre.runbooks.definitions import load_catalog, runbooks_dir
    from sre.runbooks.engine import Engine
    from sre.runbooks.store import Store

    platform = open_platform(platform_file)
    catalog = load_catalog(runbooks_dir(platform.source, runbooks), platform)
    environment = load_environment(platform, env) if env else None
    store = Store(open_database(store_url, default_store(platform.source)))
    settings = Settings(
        env=env or DEFAULT_ENVIRONMENT,
        alertmanager_url=alertmanager_url,
        notify_url=notify_url,
        # Where this engine and its store really run, when not the model's control_plane.tier.
        control_plane_tier=os.environ.get("SRE_CONTROL_PLANE_TIER")
        or (environment.control_plane_tier if environment is not None else None),
    )
    return Engine(store=store, catalog=catalog, platform=platform, environment=environment, settings=settings)


@dataclass(frozen=True)
class EngineArgs:
    """The options of the commands that run steps: the model, the runbooks, the store, who to tell."""

    env: EnvOption = DEFAULT_ENVIRONMENT
    platform_file: PlatformOption = None
    runbooks: RunbooksOption = None
    store: StoreOption = None
    alertmanager_url: AlertmanagerOption = None
    notify_url: NotifyOption = None

    def open(self) -> Engine:
        return open_engine(
            self.platform_file,
            self.runbooks,
            self.store,
            env=self.env,
            alertmanager_url=self.alertmanager_url,
            notify_url=self.notify_url,
        )


@app.command("list")
def list_(platform_file: PlatformOption = None, runbooks: RunbooksOption = None) -> None:
    """Every runbook: name, revision, parameters, approval and steps."""
    from sre.cli.options import open_platform
    from sre.runbooks.definitions import load_catalog, runbooks_dir

    platform = open_platform(platform_file)
    catalog = load_catalog(runbooks_dir(platform.source, runbooks), platform)
    for rb in catalog.runbooks.values():
        params = ", ".join(f"{n}:{p.type}" for n, p in rb.spec.params.items())
        approval = (
            "four eyes" if rb.spec.approval.four_eyes else "approval" if rb.needs_approval else "no approval"
        )
        typer.echo(
            f"{rb.name:<18} r{rb.spec.revision:<3} ({params}) {approval}, {len(rb.spec.steps)} steps: "
            + rb.spec.description
        )
    for rule in catalog.rules:
        matchers = ", ".join(
            [f"{k}={v}" for k, v in rule.match.items()] + [f"{k}=~{v}" for k, v in rule.match_re.items()]
        )
        typer.echo(f"rule {rule.name}: {{{matchers}}} -> {rule.runbook}")


@app.command()
def show(name: str, platform_file: PlatformOption = None, runbooks: RunbooksOption = None) -> None:
    """One runbook's parameters and steps."""
    from sre.cli.options import open_platform
    from sre.runbooks.actions import REGISTRY
    from sre.runbooks.definitions import load_catalog, runbooks_dir

    platform = open_platform(platform_file)
    rb = load_catalog(runbooks_dir(platform.source, runbooks), platform).get(name)
    spec = rb.spec
    typer.echo(f"{spec.name} revision {spec.revision} ({rb.source}): {spec.description}")
    typer.echo(f"target: {spec.target}; at most {spec.limits.runs} runs per {spec.limits.per:g} s")
    typer.echo(
        f"approval: {'required' if rb.needs_approval else 'none'}"
        + (", four eyes" if spec.approval.four_eyes else "")
        + (f", valid {spec.approval.ttl:g} s" if rb.needs_approval else "")
    )
    for pname, param in spec.params.items():
        typer.echo(f"param {pname}: {param.type} {param.description}".rstrip())
    for i, step in enumerate(spec.steps, 1):
        marks = [
            m
            for m, on in (("POINT OF NO RETURN", step.point_of_no_return), ("approval", step.approval))
            if on
        ]
        undo = "compensates" if REGISTRY[step.action].reversible else "no compensation"
        typer.echo(
            f"{i:>2}. {step.id} [{step.action}] timeout {step.timeout:g} s, "
            f"{step.retry.attempts} attempt(s), {undo}" + (f"  ({', '.join(marks)})" if marks else "")
        )


def _print_plan(plan: Plan, fmt: TableOrJson) -> None:
    if fmt is TableOrJson.json:
        typer.echo(json.dumps({**plan.body(), "hash": plan.hash}, indent=2, default=str))
        return
    typer.echo(f"plan {plan.hash} for {plan.runbook} r{plan.revision} on {plan.target}")
    for i, s in enumerate(plan.steps, 1):
        state = "already done" if s.done else f"check failed: {s.error}" if s.error else "to do"
        marks = [
            m
            for m, on in (("POINT OF NO RETURN", s.point_of_no_return), ("needs approval", s.approval))
            if on
        ]
        facts = ", ".join(f"{k}={v}" for k, v in s.facts.items())
        typer.echo(
            f"{i:>2}. {s.id} [{s.action}] {state}"
            + (f"; facts: {facts}" if facts else "")
            + (f"  ({', '.join(marks)})" if marks else "")
        )
    if plan.needs_approval:
        typer.echo(
            f"approval required{' (four eyes)' if plan.four_eyes else ''}: sre runbook approve {plan.hash}"
        )


@app.command()
def plan(  # noqa: PLR0917  (typer maps parameters to options)
    name: str,
    param: ParamOption = None,
    env: EnvOption = DEFAULT_ENVIRONMENT,
    platform_file: PlatformOption = None,
    runbooks: RunbooksOption = None,
    store: StoreOption = None,
    alertmanager_url: AlertmanagerOption = None,
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
) -> None:
    """Evaluate every step's check read-only; print the steps, their facts and the plan hash."""
    from sre.probes.loop import run as run_loop
    from sre.runbooks.params import check_params, parse_flags

    engine = open_engine(platform_file, runbooks, store, env=env, alertmanager_url=alertmanager_url)
    rb = engine.catalog.get(name)
    params = check_params(rb, parse_flags(param or []), engine.platform)
    _print_plan(run_loop(engine.plan(rb, params, who())), fmt)


@app.command()
@shared_options(EngineArgs)
def run(
    engine_args: EngineArgs,
    name: str,
    param: ParamOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; change nothing.")] = False,
    approve: Annotated[
        str | None, typer.Option("--approve", help="The approved plan hash this run must match.")
    ] = None,
) -> None:
    """Run a runbook now. Exit 0 when it succeeded, 1 when it did not (or waits for approval)."""
    from sre.probes.loop import run as run_loop
    from sre.runbooks.params import check_params, parse_flags

    engine = engine_args.open()
    rb = engine.catalog.get(name)
    params = check_params(rb, parse_flags(param or []), engine.platform)
    if dry_run:
        _print_plan(run_loop(engine.plan(rb, params, who())), TableOrJson.table)
        typer.echo("dry run: nothing was changed")
        return
    run_id, _ = run_loop(engine.request(rb, params, requested_by=who(), trigger="cli", approved_hash=approve))
    _drive(engine, run_id)


def _drive(engine: Engine, run_id: str) -> None:
    from sre.probes.loop import run as run_loop
    from sre.runbooks import store as st

    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    if claimed is None:
        found = engine.store.run(run_id, journal=False)
        raise InputError(f"run {run_id} is {found.state if found else 'unknown'}; another worker holds it")
    state = run_loop(engine.execute(claimed))
    final = engine.store.run(run_id)
    assert final is not None
    _print_run(final)
    if state == st.WAITING_APPROVAL:
        typer.echo(
            f"waiting for approval: sre runbook approve {final.plan_hash}, then sre runbook resume {run_id}"
        )
    if state != st.SUCCEEDED:
        raise typer.Exit(1)


def _print_run(run: Run) -> None:
    typer.echo(
        f"run {run.id} {run.runbook} on {run.target}: {run.state}"
        + (f" ({run.message})" if run.message else "")
    )
    for e in run.journal:
        detail = {k: v for k, v in e.items() if k not in ("seq", "at", "step", "event", "fence")}
        extra = " ".join(f"{k}={v}" for k, v in detail.items())
        typer.echo(f"  {e['seq']:>3} {_clock(e['at'])} {e['step']:<16} {e['event']:<18} {extra}".rstrip())


def _clock(at: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.gmtime(at))


@app.command("approve")
def approve_(
    plan_hash: str,
    platform_file: PlatformOption = None,
    runbooks: RunbooksOption = None,
    store: StoreOption = None,
) -> None:
    """Approve a plan (as $SRE_USER or the login name); runs waiting for it go back to the queue."""
    engine = open_engine(platform_file, runbooks, store)
    found, requeued = engine.approve(plan_hash, who())
    typer.echo(f"approved plan {plan_hash} ({found['runbook']} on {found['target']}) as {who()}")
    for rid in requeued:
        typer.echo(f"run {rid} queued again")


@app.command()
def status(  # noqa: PLR0917  (typer maps parameters to options)
    run_id: Annotated[str | None, typer.Argument(help="One run, with its journal.")] = None,
    platform_file: PlatformOption = None,
    runbooks: RunbooksOption = None,
    store: StoreOption = None,
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 20,
) -> None:
    """The last runs, or one run and its journal."""
    engine = open_engine(platform_file, runbooks, store)
    if run_id is not None:
        found = engine.store.run(run_id)
        if found is None:
            raise InputError(f"no run {run_id!r}")
        if fmt is TableOrJson.json:
            typer.echo(json.dumps(found.as_json(), indent=2, default=str))
        else:
            _print_run(found)
        return
    runs = engine.store.runs(limit)
    if fmt is TableOrJson.json:
        typer.echo(json.dumps([r.as_json() | {"journal": None} for r in runs], indent=2, default=str))
        return
    for r in runs:
        typer.echo(f"{r.id}  {r.runbook:<16} {r.target:<32} {r.state:<16} {r.message or ''}")


@app.command()
@shared_options(EngineArgs)
def resume(engine_args: EngineArgs, run_id: str) -> None:
    """Go on with a run that stopped (its worker died, it waited for approval, or it needs a human)."""
    from sre.runbooks import store as st

    engine = engine_args.open()
    found = engine.store.run(run_id, journal=False)
    if found is None:
        raise InputError(f"no run {run_id!r}")
    if found.state in st.FINAL:
        raise InputError(f"run {run_id} is {found.state}; nothing to resume")
    if found.state in (st.WAITING_APPROVAL, st.NEEDS_HUMAN):
        engine.store.set_run(run_id, state=st.QUEUED)
        engine.store.note(run_id, "run", "resume_requested", by=who())
    _drive(engine, run_id)


@app.command()
@shared_options(EngineArgs)
def abort(engine_args: EngineArgs, run_id: str) -> None:
    """Stop a run: before its point of no return what it applied is compensated; after it, it just stops."""
    engine = engine_args.open()
    state = engine.abort(run_id, who())
    if state != "abort_requested":
        typer.echo(f"run {run_id}: {state}")
        return
    # A live worker sees the request before its next step; a dead one's run is unwound here.
    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    if claimed is None:
        typer.echo(f"run {run_id}: abort requested; its worker stops before the next step")
        return
    from sre.probes.loop import run as run_loop

    run_loop(engine.execute(claimed))
    final = engine.store.run(run_id)
    assert final is not None
    _print_run(final)
