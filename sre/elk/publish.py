"""Bring a cluster in line with the built bodies: compare, then write only what changed.

Order: ILM policies, pipelines, component templates, index templates (each refers only to
objects before it). An object that exists but is not ours (its _meta.managed_by and platform are
not sre and this platform) is a conflict: nothing at all is written while one is left, unless
--force. An index template of someone else's (the stack's, Fleet's) whose patterns overlap ours at
the same priority (Elasticsearch refuses ours) or a higher one (ours would never apply) is a
collision: nothing is written, --force or not. After a template change that alters mappings or
settings, the data streams it matches are marked for lazy rollover, so their next write starts a
backing index with the new template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sre.elk.build import Bundle
from sre.elk.cluster import Cluster, ClusterError, ServerInfo
from sre.elk.lint import overlap
from sre.elk.meta import MANAGED_BY, Body, get_meta
from sre.elk.names import Kind
from sre.elk.normalize import normalize
from sre.errors import SreError

Action = Literal["create", "update", "unchanged", "conflict"]
# What a write did, by the action planned (a conflict is only written with --force).
DONE = {"create": "created", "update": "updated", "conflict": "overwritten"}


@dataclass
class Step:
    kind: Kind
    name: str
    action: Action
    desired: Body
    live: Body | None = None
    owner: str = ""  # for a conflict: who manages the live object

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Plan:
    server: ServerInfo
    steps: list[Step]
    force: bool = False
    collisions: list[str] = field(default_factory=list)

    def of(self, action: Action) -> list[Step]:
        return [s for s in self.steps if s.action == action]

    @property
    def writes(self) -> list[Step]:
        wanted: tuple[Action, ...] = ("create", "update", "conflict") if self.force else ("create", "update")
        return [s for s in self.steps if s.action in wanted]

    @property
    def blocked(self) -> bool:
        return bool(self.collisions) or (bool(self.of("conflict")) and not self.force)


@dataclass
class Result:
    plan: Plan
    written: list[Step] = field(default_factory=list)
    rolled_over: list[str] = field(default_factory=list)


class PublishError(SreError):
    """A write failed part way; the message says what was and was not written."""


def owner_of(kind: Kind, body: Body) -> str:
    meta = get_meta(kind, body)
    who = meta.get("managed_by")
    package = meta.get("package")
    if not who:
        # The stack marks its own templates `managed: true` without a managed_by.
        return (
            "the Elastic stack (_meta.managed)"
            if meta.get("managed") is True
            else "nobody (no _meta.managed_by)"
        )
    if isinstance(package, dict) and package.get("name"):
        return f"{who} (package {package['name']})"
    platform = meta.get("platform")
    return f"{who} (platform {platform})" if platform else str(who)


def collisions(bundle: Bundle, live: dict[str, Body], ours: str) -> list[str]:
    """Our index templates whose patterns overlap a template of someone else's on the cluster at
    the same priority (Elasticsearch refuses ours) or a higher one (theirs would apply instead)."""
    found = []
    foreign = {
        name: body
        for name, body in sorted(live.items())
        if name not in bundle.objects["index_templates"] and owner_of("index_templates", body) != ours
    }
    for name, body in sorted(bundle.objects["index_templates"].items()):
        priority = int(body.get("priority", 0))
        for other, theirs in foreign.items():
            hit = overlap(list(body.get("index_patterns", [])), list(theirs.get("index_patterns") or []))
            their_priority = int(theirs.get("priority") or 0)
            if hit is None or their_priority < priority:
                continue
            who = owner_of("index_templates", theirs)
            if their_priority == priority:
                why = "at the same priority, which Elasticsearch refuses"
            else:
                why = f"at the higher priority {their_priority}, so theirs would apply and ours never"
            found.append(
                f"index_templates/{name}: pattern {hit[0]} overlaps {hit[1]} of the cluster's template "
                f"{other} (managed by {who}) {why} (priority {priority}, elk.yaml index_template.priority); "
                f"choose another priority, or narrow or remove {other}"
            )
    return found


def plan(cluster: Cluster, bundle: Bundle, platform: str, stack_components: list[str], force: bool) -> Plan:
    server = cluster.check_server()
    missing = cluster.missing_components(stack_components)
    if missing:
        raise ClusterError(
            f"the cluster has no component template {', '.join(missing)} (stack templates disabled?); every "
            "index template composes it: enable the stack templates, or drop it from elk.yaml "
            "index_template.stack_components"
        )
    steps: list[Step] = []
    ours = f"{MANAGED_BY} (platform {platform})"
    found = collisions(bundle, cluster.index_templates(), ours)
    for kind, name, body in bundle:
        live = cluster.get(kind, name)
        if live is None:
            steps.append(Step(kind, name, "create", body))
        elif normalize(kind, live) == normalize(kind, body):
            steps.append(Step(kind, name, "unchanged", body, live))
        elif owner_of(kind, live) != ours:
            steps.append(Step(kind, name, "conflict", body, live, owner=owner_of(kind, live)))
        else:
            steps.append(Step(kind, name, "update", body, live))
    return Plan(server=server, steps=steps, force=force, collisions=found)


def _content(kind: Kind, body: Body | None) -> Body | None:
    """What shapes new backing indices: the body without _meta."""
    if body is None:
        return None
    out = normalize(kind, body)
    out.pop("_meta", None)
    return out


def rollover_templates(p: Plan, bundle: Bundle) -> list[str]:
    """Index templates whose composed mappings or settings this plan changes."""
    changed = {
        s.name
        for s in p.writes
        if s.kind in ("component_templates", "index_templates")
        and _content(s.kind, s.live) != _content(s.kind, s.desired)
    }
    return sorted(
        name
        for name, body in bundle.objects["index_templates"].items()
        if name in changed or changed & set(body.get("composed_of", []))
    )


def apply(cluster: Cluster, p: Plan, bundle: Bundle, tick: Callable[[], None] | None = None) -> Result:
    result = Result(plan=p)
    if p.blocked:
        return result
    todo = p.writes
    for i, step in enumerate(todo):
        try:
            cluster.put(step.kind, step.name, step.desired, create=step.action == "create")
        except ClusterError as exc:
            raise PublishError(_partial(str(exc), result, [s.label for s in todo[i:]])) from None
        result.written.append(step)
        if tick is not None:
            tick()
    streams: list[str] = []
    try:
        for template in rollover_templates(p, bundle):
            for pattern in bundle.objects["index_templates"][template].get("index_patterns", []):
                streams += [s for s in cluster.data_streams(pattern) if s not in streams]
        for stream in streams:
            cluster.lazy_rollover(stream)
            result.rolled_over.append(stream)
    except ClusterError as exc:
        pending = [f"rollover of {s}" for s in streams if s not in result.rolled_over] or [
            "the lazy rollover of the data streams these templates match"
        ]
        raise PublishError(_partial(str(exc), result, pending)) from None
    return result


def _partial(error: str, result: Result, not_done: list[str]) -> str:
    done = [f"{s.label} ({DONE[s.action]})" for s in result.written] + [
        f"rollover of {s}" for s in result.rolled_over
    ]
    lines = [
        error,
        f"written before the failure ({len(done)}): {', '.join(done) or 'nothing'}",
        f"not written ({len(not_done)}): {', '.join(not_done)}",
    ]
    return "\n".join(lines)
