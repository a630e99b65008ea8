"""Compare built dashboards with a live Grafana and write only what changed.

Both sides are normalised first (Grafana adds id and version on save), so a second
publish of the same build writes nothing and leaves no new version in Grafana's history.
Every write names its folder (an update without folderUid moves a dashboard to the root),
overwrites (CI owns these dashboards), and carries a message naming the commit.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sre.errors import SreError
from sre.grafana.board import Folder
from sre.grafana.build import BuiltDashboard, folders
from sre.grafana.client import Grafana, GrafanaError

# What Grafana adds or bumps when it saves a dashboard, and export-only keys.
SERVER_KEYS = frozenset({"id", "version", "iteration", "__inputs", "__requires", "__elements"})

Action = Literal["create", "update", "unchanged"]


def normalise(model: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in model.items() if k not in SERVER_KEYS}
    for panel in _all_panels(out):
        library = panel.get("libraryPanel")
        if isinstance(library, dict):
            # Grafana expands a library panel reference; only its uid and name are ours.
            panel["libraryPanel"] = {k: library[k] for k in ("uid", "name") if k in library}
    return out


def _all_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels") or []:
        if isinstance(panel, dict):
            yield panel
            yield from (p for p in panel.get("panels") or [] if isinstance(p, dict))


def _text(model: dict[str, Any]) -> list[str]:
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False).splitlines()


@dataclass(frozen=True)
class Change:
    dashboard: BuiltDashboard
    action: Action
    diff: tuple[str, ...] = ()  # unified diff of the normalised JSON, live -> built
    moved_from: str | None = None  # the live folder, when the dashboard is in another one


@dataclass(frozen=True)
class FolderChange:
    folder: Folder
    action: Literal["create", "rename", "unchanged"]
    live_title: str | None = None


@dataclass
class Plan:
    folders: list[FolderChange]
    changes: list[Change]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def plan(grafana: Grafana, built: list[BuiltDashboard]) -> Plan:
    """Read the live state and decide, per folder and dashboard, what a publish would do."""
    folder_changes = []
    for folder in folders(built):
        live = grafana.get_folder(folder.uid)
        if live is None:
            folder_changes.append(FolderChange(folder, "create"))
        elif live.get("title") != folder.title:
            folder_changes.append(FolderChange(folder, "rename", str(live.get("title"))))
        else:
            folder_changes.append(FolderChange(folder, "unchanged"))
    return Plan(folder_changes, [_compare(grafana, d) for d in built])


def _compare(grafana: Grafana, dashboard: BuiltDashboard) -> Change:
    live = grafana.get_dashboard(dashboard.uid)
    mine = normalise(dashboard.model)
    if live is None:
        return Change(dashboard, "create", tuple(_text(mine)))
    model = live.get("dashboard")
    if not isinstance(model, dict):
        raise GrafanaError(
            f"Grafana {grafana.target.shown}: GET /api/dashboards/uid/{dashboard.uid}: no dashboard"
        )
    meta = live.get("meta") if isinstance(live.get("meta"), dict) else {}
    live_folder = str(meta.get("folderUid") or "") if meta else ""
    theirs = normalise(model)
    moved = live_folder if live_folder != dashboard.folder.uid else None
    if theirs == mine and moved is None:
        return Change(dashboard, "unchanged")
    lines = difflib.unified_diff(
        _text(theirs), _text(mine), f"grafana/{dashboard.uid}", f"build/{dashboard.uid}", lineterm="", n=2
    )
    return Change(dashboard, "update", tuple(lines), moved)


@dataclass
class Outcome:
    folders_created: list[str] = field(default_factory=list)
    folders_renamed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def apply(grafana: Grafana, the_plan: Plan, message: str, tick: Callable[[], None] | None = None) -> Outcome:
    """Write the plan: folders first, then each changed dashboard. On a failure, say what was
    written and what was not, so a rerun (which skips what is now equal) can finish the job."""
    outcome = Outcome()
    pending = [c for c in the_plan.changes if c.action != "unchanged"]
    outcome.unchanged = [c.dashboard.uid for c in the_plan.changes if c.action == "unchanged"]
    try:
        for fc in the_plan.folders:
            if fc.action == "create":
                grafana.create_folder(fc.folder.uid, fc.folder.title)
                outcome.folders_created.append(fc.folder.uid)
            elif fc.action == "rename":
                grafana.rename_folder(fc.folder.uid, fc.folder.title)
                outcome.folders_renamed.append(fc.folder.uid)
        for change in pending:
            d = change.dashboard
            payload = {"dashboard": d.model, "folderUid": d.folder.uid, "overwrite": True, "message": message}
            grafana.save_dashboard(payload)
            (outcome.created if change.action == "create" else outcome.updated).append(d.uid)
            if tick is not None:
                tick()
    except GrafanaError as exc:
        written = outcome.created + outcome.updated
        not_written = [c.dashboard.uid for c in pending if c.dashboard.uid not in written]
        raise SreError(
            f"{exc}\npublish stopped: wrote {len(written)} dashboard(s){_names(written)} and "
            f"{len(outcome.folders_created)} folder(s); not written: {len(not_written)}{_names(not_written)}"
        ) from None
    return outcome


def _names(uids: list[str], limit: int = 8) -> str:
    if not uids:
        return ""
    shown = ", ".join(uids[:limit])
    return f" ({shown}{', ...' if len(uids) > limit else ''})"


# --- the Prometheus datasource ------------------------------------------------------------------


def ensure_datasource(grafana: Grafana, uid: str, name: str, url: str, *, dry_run: bool) -> str:
    """Create or correct the Prometheus datasource the dashboards' `datasource` variable offers."""
    wanted = {"uid": uid, "name": name, "type": "prometheus", "url": url, "access": "proxy"}
    live = grafana.get_datasource(uid)
    if live is None:
        if not dry_run:
            grafana.create_datasource(wanted)
        return "created"
    if all(live.get(k) == v for k, v in wanted.items()):
        return "unchanged"
    if not dry_run:
        grafana.update_datasource(uid, {**live, **wanted})
    return "updated"
