"""Publish the generated files where Prometheus and Alertmanager read them, and reload what changed.

An unchanged set writes nothing and reloads nothing. A reload the server rejects is an error naming
the files that changed, and they are put back as they were, so the next restart still starts.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from sre.alerting.build import ALERTMANAGER, MARKER, RULES
from sre.errors import SreError

TIMEOUT = 10.0


@dataclass
class Change:
    path: Path  # relative to the rules folder
    action: str  # create, update, delete
    diff: list[str] = field(default_factory=list)


def plan(files: dict[Path, bytes], folder: Path) -> list[Change]:
    """What publishing `files` into `folder` changes, file by file (generated .yml files only)."""
    changes = []
    for rel, data in files.items():
        path = folder / rel
        if not path.exists():
            changes.append(Change(rel, "create"))
            continue
        old = path.read_bytes()
        if old != data:
            lines = difflib.unified_diff(
                old.decode(errors="replace").splitlines(),
                data.decode().splitlines(),
                f"live/{rel}",
                f"built/{rel}",
                lineterm="",
            )
            changes.append(Change(rel, "update", list(lines)))
    if (folder / MARKER).exists():
        for stale in sorted(folder.rglob("*.yml")):
            rel = stale.relative_to(folder)
            if rel not in files:
                changes.append(Change(rel, "delete"))
    return changes


def _culprits(folder: Path, what: str) -> str:
    """Prometheus answers a failed reload without naming the file: ask promtool (amtool) which one."""
    from sre.alerting.tools import AMTOOL, PROMTOOL, run
    from sre.sandbox import binaries

    tool = binaries.find(PROMTOOL if what == "Prometheus" else AMTOOL)
    if tool is None:
        return ""
    if what == "Prometheus":
        checks = [[str(tool), "check", "rules", str(f)] for f in sorted((folder / RULES).glob("*.yml"))]
    else:
        checks = [[str(tool), "check-config", str(folder / ALERTMANAGER)]]
    for argv in checks:
        code, text = run(argv, folder)
        if code != 0:
            detail = " ".join(ln.strip() for ln in text.splitlines() if ln.strip() and "Checking" not in ln)
            return f"; {argv[-1]}: {detail[:500]}"
    return ""


def _reload(url: str, what: str, changed: list[Path], folder: Path) -> None:
    import httpx

    endpoint = url.rstrip("/") + "/-/reload"
    try:
        resp = httpx.post(endpoint, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SreError(f"{what} {endpoint}: reload failed: {exc}") from None
    if resp.status_code != 200:
        names = ", ".join(str(p) for p in changed[:3]) + (
            f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        )
        body = " ".join(resp.text.split())[:2000]  # the server names the file it refused
        why = _culprits(folder, what)
        raise SreError(f"{what} rejected the reload of {names}: HTTP {resp.status_code}: {body}{why}")


def apply(
    files: dict[Path, bytes],
    folder: Path,
    changes: list[Change],
    *,
    prometheus: str | None,
    alertmanager: str | None,
) -> list[str]:
    """Write the changes, reload the servers whose files changed; returns what was reloaded."""
    if not changes:
        return []
    before = {c.path: (folder / c.path).read_bytes() for c in changes if c.action != "create"}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).write_text("written by `sre alerts publish`; stale files here are removed\n")
        for c in changes:
            path = folder / c.path
            if c.action == "delete":
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(files[c.path])
    except OSError as exc:
        raise SreError(f"{folder}: cannot write: {exc.strerror}") from None
    reloaded = []
    prom = [c.path for c in changes if c.path.parts[0] == "prometheus"]
    am = [c.path for c in changes if c.path == ALERTMANAGER]
    try:
        if prom and prometheus:
            _reload(prometheus, "Prometheus", prom, folder)
            reloaded.append("prometheus")
        if am and alertmanager:
            _reload(alertmanager, "Alertmanager", am, folder)
            reloaded.append("alertmanager")
    except SreError:
        # Put back what the server that refused would read (Prometheus refused: nothing was reloaded).
        keep = set(am) if reloaded else {c.path for c in changes}
        _restore(folder, [c for c in changes if c.path in keep], before)
        raise
    return reloaded


def _restore(folder: Path, changes: list[Change], before: dict[Path, bytes]) -> None:
    for c in changes:
        path = folder / c.path
        if c.path in before:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(before[c.path])
        elif path.exists():
            path.unlink()
