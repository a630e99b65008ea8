"""Find and run the dashboard definitions: every `dashboards/*.py` with a `dashboards(ctx)` function.

The folder is imported as a package of its own, so definitions can share helpers
through relative imports (`from ._helpers import ...`); files starting with `_` are helpers.
Any mistake in a definition comes back as one line naming the file (and line), never a traceback.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import traceback
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sre.errors import InputError
from sre.grafana.board import Board, DefinitionError
from sre.grafana.context import Context


@dataclass(frozen=True)
class Defined:
    board: Board
    source: Path


def load_boards(directory: Path, ctx: Context) -> list[Defined]:
    if not directory.is_dir():
        raise InputError(f"{directory}: dashboards folder not found (use --dashboards DIR)")
    package = _fresh_package(directory)
    found: list[Defined] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for board in _run(path, f"{package}.{path.stem}", ctx):
            if board.uid in seen:
                raise InputError(
                    f"{path}: dashboard UID {board.uid!r} is already defined in {seen[board.uid]}"
                )
            seen[board.uid] = path
            found.append(Defined(board, path))
    if not found:
        raise InputError(f"{directory}: no dashboard definitions (a module with a dashboards(ctx) function)")
    return found


def _fresh_package(directory: Path) -> str:
    """A package named after the folder's path, emptied of earlier imports so edits are seen."""
    name = (
        "sre_dashboards_"
        + hashlib.sha1(str(directory.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
    )
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    package = types.ModuleType(name)
    package.__path__ = [str(directory.resolve())]
    sys.modules[name] = package
    return name


def _run(path: Path, module_name: str, ctx: Context) -> list[Board]:
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, "dashboards", None)
        if function is None:
            return []
        if not callable(function):
            raise InputError(f"{path}: `dashboards` must be a function taking the context")
        boards = list(_iterable(function(ctx), path))
    except InputError:
        raise
    except SyntaxError as exc:
        raise InputError(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except DefinitionError as exc:
        raise InputError(f"{_where(exc, path)}: {exc}") from None
    except Exception as exc:
        raise InputError(f"{_where(exc, path)}: {type(exc).__name__}: {exc}") from None
    checked: list[Board] = []
    for board in boards:
        if not isinstance(board, Board):
            raise InputError(f"{path}: dashboards() yielded {type(board).__name__}, expected a Board")
        checked.append(board)
    return checked


def _iterable(value: object, path: Path) -> Iterable[object]:
    if isinstance(value, Board):
        return [value]
    if not isinstance(value, Iterable):
        raise InputError(f"{path}: dashboards() returned {type(value).__name__}, expected Boards")
    return value


def _where(exc: BaseException, path: Path) -> str:
    """`file:line` of the innermost frame inside the dashboards folder, else the module's file."""
    folder = str(path.parent.resolve())
    spot = str(path)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(folder):
            spot = f"{frame.filename}:{frame.lineno}"
    return spot
