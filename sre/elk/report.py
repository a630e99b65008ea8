"""Plain-text reports of diff, publish and lint: one line per object or finding, then a summary."""

from __future__ import annotations

import difflib
import json

from sre.elk.meta import Body
from sre.elk.names import Kind
from sre.elk.normalize import normalize
from sre.elk.publish import DONE, Plan, Result, Step

MAX_DIFF_LINES = 40


def _lines(kind: Kind, body: Body | None) -> list[str]:
    if body is None:
        return []
    return json.dumps(normalize(kind, body), sort_keys=True, indent=2, ensure_ascii=False).splitlines()


def body_diff(step: Step) -> list[str]:
    """A unified diff of the normalised bodies, cut to MAX_DIFF_LINES."""
    diff = list(
        difflib.unified_diff(
            _lines(step.kind, step.live),
            _lines(step.kind, step.desired),
            "cluster",
            "built",
            lineterm="",
            n=2,
        )
    )
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... {len(diff) - MAX_DIFF_LINES} more lines"]
    return ["    " + line for line in diff]


def summary(plan: Plan) -> str:
    counts = {a: len(plan.of(a)) for a in ("create", "update", "unchanged", "conflict")}
    return (
        f"{counts['create']} to create, {counts['update']} to update, {counts['unchanged']} unchanged, "
        f"{counts['conflict']} conflicts"
    )


def render_plan(plan: Plan, *, show_diff: bool) -> list[str]:
    out = [f"cluster: Elasticsearch {plan.server.version} ({plan.server.cluster_name or 'unnamed'})"]
    out += [f"collision {line}" for line in plan.collisions]
    for step in plan.steps:
        if step.action == "unchanged":
            continue
        if step.action == "conflict":
            out.append(f"conflict  {step.label}: managed by {step.owner}, not by sre")
            continue
        out.append(f"{step.action:<9} {step.label}")
        if show_diff and step.action == "update":
            out += body_diff(step)
    out.append(summary(plan))
    return out


def render_result(result: Result, *, dry_run: bool) -> list[str]:
    plan = result.plan
    out = render_plan(plan, show_diff=False)
    if plan.collisions:
        out.append(
            f"nothing written: {len(plan.collisions)} of our index templates collide with templates "
            "already on the cluster (--force does not override this)"
        )
        return out
    if plan.blocked:
        names = ", ".join(s.label for s in plan.of("conflict"))
        out.append(
            f"nothing written: {names} exist on the cluster but are not managed by sre; "
            "rename them, or overwrite them with --force"
        )
        return out
    if dry_run:
        out.append(f"dry run: nothing written ({len(plan.writes)} would be)")
        return out
    counts: dict[str, int] = {}
    for step in result.written:
        counts[DONE[step.action]] = counts.get(DONE[step.action], 0) + 1
    done = ", ".join(f"{n} {what}" for what, n in counts.items()) or "nothing to write"
    out.append(f"written: {done}; {len(plan.of('unchanged'))} unchanged")
    if result.rolled_over:
        out.append(f"marked for lazy rollover: {', '.join(result.rolled_over)}")
    return out
