"""Hostile files and flags: one line naming the file or flag, exit 2, never a hang or a traceback.

Each case runs `sre` as a subprocess with a deadline, so a regression fails the test instead of
hanging the suite (a FIFO blocked forever, /dev/zero read until memory ran out).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "platform.yaml").read_text(encoding="utf-8")
DEADLINE = 60


def sre(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "sre", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


def laughs(levels: int = 9) -> str:
    """The "billion laughs": nine aliases, each nine of the one before: 9**9 strings in ~600 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for before, name in itertools.pairwise(names[: levels + 1]):
        lines.append(f"{name}: &{name} [{','.join(['*' + before] * 9)}]")
    return "\n".join(lines) + "\n"


# --- special files ---------------------------------------------------------------------------------


def test_a_fifo_as_platform_file_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "platform.yaml"
    os.mkfifo(fifo)
    line = one_line(*sre("inventory", "validate", str(fifo))[::2])
    assert line == f"{fifo}: not a regular file (a FIFO); expected a file"


def test_dev_zero_as_platform_file_is_refused(tmp_path: Path) -> None:
    line = one_line(*sre("inventory", "show", "--platform", "/dev/zero")[::2])
    assert line == "/dev/zero: not a regular file (a character device); expected a file"


def test_an_oversized_platform_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "platform.yaml"
    with big.open("wb") as fh:
        fh.truncate(5 * 1024 * 1024)  # sparse: costs no disk
    line = one_line(*sre("inventory", "validate", str(big))[::2])
    assert line == f"{big}: larger than 4 MiB, the limit for this file"


@pytest.mark.parametrize("kind", ["fifo", "binary", "dev-zero"])
def test_probe_merge_input_must_be_a_regular_text_file(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "run.json"
        os.mkfifo(path)
        expected = f"{path}: not a regular file (a FIFO); expected a file"
    elif kind == "binary":
        path = tmp_path / "run.json"
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        expected = f"{path}: a binary file (NUL byte at offset 8), expected text"
    else:
        path = Path("/dev/zero")
        expected = "/dev/zero: not a regular file (a character device); expected a file"
    assert one_line(*sre("probe", "merge", str(path))[::2]) == expected


def test_a_binary_platform_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_bytes(b"version: 1\x00\x01\x02")
    assert one_line(*sre("inventory", "validate", str(path))[::2]) == (
        f"{path}: a binary file (NUL byte at offset 10), expected text"
    )


def test_a_corrupt_sandbox_state_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "sandbox"
    folder.mkdir()
    (folder / "state.json").write_bytes(b"\xff\xfe\x00garbage")
    line = one_line(
        *sre("sandbox", "status", "--dir", str(folder), "--platform", str(ROOT / "platform.yaml"))[::2]
    )
    assert line.startswith(f"{folder / 'state.json'}: a binary file (NUL byte at offset 2), expected text")
    (folder / "state.json").write_text('{"version": ')
    line = one_line(
        *sre("sandbox", "status", "--dir", str(folder), "--platform", str(ROOT / "platform.yaml"))[::2]
    )
    assert line.startswith(f"{folder / 'state.json'}: unreadable sandbox state (")


# --- YAML bombs ------------------------------------------------------------------------------------


def test_a_billion_laughs_platform_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(laughs())
    assert path.stat().st_size < 700
    line = one_line(*sre("inventory", "validate", str(path))[::2])  # before: ran until killed
    assert line == f"{path}:1: aliases expand to more than 100000 values; refused"


def test_a_self_referencing_alias_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("version: 1\nplatform: &loop\n  name: x\n  again: *loop\n")
    line = one_line(*sre("inventory", "validate", str(path))[::2])  # before: RecursionError
    assert line == f"{path}:2: an alias refers to a value that contains it (a loop); refusing the file"


def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("\n".join(" " * i + "a:" for i in range(900)) + " 1\n")
    line = one_line(*sre("inventory", "validate", str(path))[::2])  # before: RecursionError
    assert line == f"{path}:66: nested deeper than 64 levels; refusing the file"


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    text = SEED.replace(
        "  db_postgres:\n    name: PostgreSQL Cluster",
        "  db_postgres: &pg\n    name: PostgreSQL Cluster",
    )
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    code, _, err = sre("inventory", "validate", str(path))
    assert (code, err) == (0, ""), err


# --- errors quote a short excerpt ------------------------------------------------------------------


def test_not_a_mapping_quotes_an_excerpt_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("secret-looking-words " * 150_000)  # 3.2 MB of one scalar
    line = one_line(*sre("inventory", "validate", str(path))[::2])
    assert line.startswith(f"{path}:1: expected a mapping at the top level; got the scalar 'secret-looking")
    assert len(line) < 200


def test_an_environment_file_that_is_not_yaml_is_not_echoed(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "".join(f"user{i}:x:{1000 + i}:{1000 + i}:User {i}:/home/user{i}:/bin/bash\n" for i in range(200))
    )
    path = tmp_path / "platform.yaml"
    path.write_text(SEED.replace("file: .sre/sandbox/environment.yaml", f"file: {passwd}"))
    line = one_line(*sre("probe", "--all", "--env", "sandbox", "--platform", str(path))[::2])
    assert line.startswith(f"{passwd}:1: expected a mapping at the top level; got the scalar 'user0:x:1000")
    assert "user2:" not in line and len(line) < 250


def test_a_long_unknown_key_is_shown_by_its_start(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    key = "k" * 1000  # YAML's longest implicit key
    path.write_text(
        SEED.replace("platform:\n  name: acme-platform", f"platform:\n  {key}: 1\n  name: acme-platform")
    )
    line = one_line(*sre("inventory", "validate", str(path))[::2])
    assert line.endswith(f"platform.{'k' * 60}...: unknown field")
    assert len(line) < 250


# --- flags checked at the edge ---------------------------------------------------------------------


def test_inventory_show_json_checks_the_environment(tmp_path: Path) -> None:
    code, out, err = sre(
        "inventory", "show", "--format", "json", "--env", "bogus", "--platform", str(ROOT / "platform.yaml")
    )
    assert out == ""
    assert (
        one_line(code, err)
        == f"{ROOT / 'platform.yaml'}: unknown environment 'bogus'; defined: prod, sandbox"
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "/nonexistent/report.txt",
            "--output: /nonexistent/report.txt: the folder /nonexistent does not exist",
        ),
        (".", "--output: .: is a directory"),
        ("FIFO", "--output: FIFO: not a regular file"),
    ],
)
def test_probe_output_is_checked_before_anything_runs(tmp_path: Path, output: str, expected: str) -> None:
    if output == "FIFO":
        output = str(tmp_path / "out.fifo")
        os.mkfifo(output)
        expected = expected.replace("FIFO", output)
    # An environment that does not exist would fail later; --output is refused first.
    code, _, err = sre(
        "probe", "--all", "--env", "bogus", "--output", output, "--platform", str(ROOT / "platform.yaml")
    )
    assert one_line(code, err) == expected
    code, _, err = sre("probe", "merge", "missing.json", "--output", output)
    assert one_line(code, err) == expected


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("/proc/x", "--dir /proc/x: cannot use the folder: No such file or directory"),
        ("/dev/null", "--dir /dev/null: exists and is not a folder"),
        ("/dev/null/x", "--dir /dev/null/x: cannot use the folder: Not a directory"),
    ],
)
def test_sandbox_up_in_a_folder_that_cannot_be_one_is_one_line(folder: str, expected: str) -> None:
    code, _, err = sre("sandbox", "up", "--dir", folder, "--platform", str(ROOT / "platform.yaml"))
    assert one_line(code, err) == expected


def test_sandbox_up_in_a_foreign_folder_leaves_nothing_there(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = sre("sandbox", "up", "--dir", str(tmp_path), "--platform", str(ROOT / "platform.yaml"))
    assert (
        one_line(code, err) == f"--dir {tmp_path}: not empty and not a sandbox folder; choose another --dir"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # before: a .lock was left behind
    for command in (["start", "redis-primary"], ["stop", "redis-primary"]):
        code, _, err = sre(
            "sandbox", *command, "--dir", str(tmp_path), "--platform", str(ROOT / "platform.yaml")
        )
        assert code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_condition_that_is_a_big_mapping_is_quoted_short(tmp_path: Path) -> None:
    # Found by the fuzz suite: the whole value was printed.
    shutil.copy(ROOT / "platform.yaml", tmp_path / "platform.yaml")
    shutil.copytree(ROOT / "probes", tmp_path / "probes")
    services = tmp_path / "probes" / "services.yaml"
    services.write_text(services.read_text().replace("['status == 200',", "[{a: " + "b" * 5000 + "},", 1))
    code, _, err = sre("probe", "--all", "--platform", str(tmp_path / "platform.yaml"))
    line = one_line(code, err)
    assert "expected a condition such as `status == 200`; got {'a': 'bbbbbbbb" in line
    assert len(line) < 250


def test_a_key_with_a_line_separator_stays_on_one_line(tmp_path: Path) -> None:
    # Found by the fuzz suite: a record separator (\x1e) in a key split the message in two.
    path = tmp_path / "platform.yaml"
    path.write_text(
        SEED.replace("platform:\n  name: acme-platform", 'platform:\n  "a\\x1eb": 1\n  name: acme-platform')
    )
    line = one_line(*sre("inventory", "validate", str(path))[::2])
    assert line.endswith("platform.a\\x1eb: unknown field")


@pytest.mark.parametrize("flag", ["--token-file", "--api-token-file"])
def test_serve_token_files_must_be_regular_files(tmp_path: Path, flag: str) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo)  # before: `sre serve` blocked reading it
    extra = ["--no-token"] if flag == "--api-token-file" else []
    code, _, err = sre("serve", *extra, flag, str(fifo), "--platform", str(ROOT / "platform.yaml"))
    assert one_line(code, err) == f"{flag}: {fifo}: not a regular file (a FIFO); expected a file"
