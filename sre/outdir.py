"""Output folders of the build commands: written only where it is safe, and only their own files.

A build writes into a folder it created, or one an earlier run of the same command marked. The
marker lists the files that run wrote, so a rebuild replaces and removes exactly those and never a
file someone else put there.
"""

from __future__ import annotations

from pathlib import Path

import sre
from sre.errors import InputError

PACKAGE = Path(sre.__file__).resolve().parent


class OutputFolder:
    def __init__(self, out: Path, *, command: str, marker: str, flag: str = "--out") -> None:
        self.out = out
        self.command = command
        self.marker = out / marker
        self.flag = flag
        self.written: list[Path] = []
        self._previous: set[Path] = set()

    def _fail(self, problem: str) -> InputError:
        return InputError(f"{self.flag} {self.out}: {problem}")

    def claim(self) -> OutputFolder:
        """Refuse a folder this command may not write; create it; read what the last build wrote."""
        out = self.out
        where = out.resolve()
        if str(out) in ("", ".") or where == Path.cwd().resolve():
            raise self._fail("give a folder of its own, not the current folder")
        if where == PACKAGE or PACKAGE in where.parents:
            raise self._fail("is inside the installed sre package; give a folder outside it")
        if out.exists() and not out.is_dir():
            raise self._fail("exists and is not a folder")
        if out.is_dir() and self._has_other_files() and not self.marker.is_file():
            raise self._fail(f"folder is not empty and was not written by `{self.command}`")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(f"cannot create the folder: {exc.strerror or exc}") from None
        self._previous = self._recorded()
        return self

    def write(self, relative: Path, data: bytes) -> Path:
        path = self.out / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Leave an unchanged file alone, so its modification time says when its content changed.
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
        except OSError as exc:
            raise self._fail(f"cannot write {relative}: {exc.strerror or exc}") from None
        self.written.append(path)
        return path

    def finish(self) -> list[Path]:
        """Remove the files the last build wrote and this one did not; record this build's files."""
        keep = set(self.written)
        try:
            for stale in sorted(self._previous - keep):
                stale.unlink(missing_ok=True)
                self._remove_empty_parents(stale.parent)
            listing = "\n".join(sorted(str(p.relative_to(self.out)) for p in keep))
            self.marker.write_text(
                f"# written by `{self.command}`; it replaces and removes only the files listed here\n"
                + (listing + "\n" if listing else ""),
                encoding="utf-8",
            )
        except OSError as exc:
            raise self._fail(f"cannot update the folder: {exc.strerror or exc}") from None
        return self.written

    def _has_other_files(self) -> bool:
        try:
            return any(self.out.iterdir())
        except OSError as exc:
            raise self._fail(f"cannot list the folder: {exc.strerror or exc}") from None

    def _recorded(self) -> set[Path]:
        if not self.marker.is_file():
            return set()
        try:
            lines = self.marker.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return set()
        if lines and not lines[0].startswith("#"):
            # A marker of an older release lists nothing: it owned every JSON file in the folder.
            return {p for p in self.out.rglob("*.json") if p.is_file() and not p.is_symlink()}
        out = self.out.resolve()
        found = set()
        for line in lines[1:]:
            path = self.out / line
            # Only plain files inside the folder: a hand-edited marker cannot point elsewhere.
            if line and not path.is_symlink() and out in path.resolve().parents:
                found.add(path)
        return found

    def _remove_empty_parents(self, folder: Path) -> None:
        while folder != self.out and self.out in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent
