"""The pointer to the sandbox folder `up` last used: followed only to a sandbox folder, forgotten by down."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.sandbox.last import MAX_BYTES, forget, pointer_file, recall, remember, resolve
from sre.sandbox.sandbox import MARKER, default_dir


@pytest.fixture
def platform_file(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "platform.yaml"
    path.parent.mkdir()
    path.write_text("")
    return path


def sandbox_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / MARKER).write_text("")
    return path


def test_remembered_folder_is_used_until_down_forgets_it(platform_file: Path, tmp_path: Path) -> None:
    elsewhere = sandbox_folder(tmp_path / "elsewhere")
    assert resolve(None, platform_file) == default_dir(platform_file)
    assert remember(platform_file, elsewhere) is None
    assert resolve(None, platform_file) == elsewhere
    assert resolve(tmp_path / "given", platform_file) == tmp_path / "given"  # --dir always wins
    forget(platform_file, tmp_path / "other")  # not the one it names: kept
    assert recall(platform_file) == elsewhere
    forget(platform_file, elsewhere)
    assert not pointer_file(platform_file).exists()
    assert resolve(None, platform_file) == default_dir(platform_file)


def test_the_default_folder_needs_no_pointer(platform_file: Path, tmp_path: Path) -> None:
    remember(platform_file, sandbox_folder(tmp_path / "elsewhere"))
    remember(platform_file, default_dir(platform_file))
    assert not pointer_file(platform_file).exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"relative/folder",
        b"/no/such/folder",
        b"/tmp\n/etc",
        b"/" + b"a" * MAX_BYTES,
    ],
)
def test_a_pointer_that_names_no_sandbox_folder_is_ignored(platform_file: Path, content: bytes) -> None:
    pointer = pointer_file(platform_file)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_bytes(content)
    assert resolve(None, platform_file) == default_dir(platform_file)


def test_a_folder_that_is_not_a_sandbox_any_more_is_ignored(platform_file: Path, tmp_path: Path) -> None:
    folder = sandbox_folder(tmp_path / "gone")
    remember(platform_file, folder)
    (folder / MARKER).unlink()
    assert resolve(None, platform_file) == default_dir(platform_file)


def test_an_unwritable_pointer_is_reported_not_raised(platform_file: Path, tmp_path: Path) -> None:
    (platform_file.parent / ".sre").write_text("a file where the folder should be")
    problem = remember(platform_file, sandbox_folder(tmp_path / "elsewhere"))
    assert problem is not None and "last-sandbox" in problem
