"""tests/requirements.py: a missing requirement skips locally, fails under CI, and says how to install it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requirements
from requirements import KNOWN_DEBS, need, need_binary, need_module, need_shared

from sre.sandbox import binaries

TESTS = Path(__file__).resolve().parents[1]
NOT_HERE = "sre-no-such-binary-4f1c"


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_ci_off_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert not requirements.under_ci()


@pytest.mark.usefixtures("local")
def test_locally_a_missing_binary_skips_with_the_install_command() -> None:
    with pytest.raises(
        pytest.skip.Exception, match=f"{NOT_HERE} is missing \\(install: apt-get install x\\)"
    ):
        need_binary(NOT_HERE, install="apt-get install x")


@pytest.mark.usefixtures("ci")
def test_under_ci_a_missing_binary_fails_with_the_install_command() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"install: apt-get install x.*CI is set"):
        need_binary(NOT_HERE, install="apt-get install x")


@pytest.mark.usefixtures("ci")
def test_under_ci_every_kind_of_requirement_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="Python module sre_no_such_module"):
        need_module("sre_no_such_module")
    with pytest.raises(pytest.fail.Exception, match=re.escape("../shared/no-such-file.md")):
        need_shared("no-such-file.md")
    with pytest.raises(pytest.fail.Exception, match="a thing is missing"):
        need(None, "a thing", "make setup")
    with pytest.raises(pytest.fail.Exception, match="/nonexistent/tool"):
        need_binary(Path("/nonexistent/tool"), install="make setup")


@pytest.mark.usefixtures("ci")
def test_what_is_there_is_returned() -> None:
    assert Path(need_binary("sh", install="apt-get install dash")).name == "sh"
    assert need_module("json").dumps([]) == "[]"
    assert need(0, "zero", "nothing") == 0  # only None counts as missing


def test_a_known_tool_names_make_setup_sandbox_and_its_package(
    local: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(binaries, "find", lambda binary: None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        need_binary("amtool")
    assert "amtool is missing (install: make setup-sandbox (Debian package prometheus-alertmanager))" in str(
        skipped.value
    )
    with pytest.raises(ValueError, match="add it to KNOWN_DEBS"):
        need_binary(NOT_HERE)


def test_every_known_package_is_installed_by_make_setup_sandbox() -> None:
    makefile = (TESTS.parent / "Makefile").read_text()
    listed = set()
    for line in re.findall(r"^SANDBOX_\w+_DEBS\s*:?=(.*)$", makefile, re.M):
        listed.update(line.split())
    assert set(KNOWN_DEBS.values()) <= listed, set(KNOWN_DEBS.values()) - listed


# A test that skips on its own would pass CI without testing anything; requirements.py is the one way.
BYPASS = re.compile(r"pytest\.skip\(|importorskip\(|mark\.skipif\b|mark\.skip\b")


def test_no_test_skips_except_through_requirements() -> None:
    own = {TESTS / "requirements.py", Path(__file__).resolve()}
    offenders = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path not in own
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BYPASS.search(line)
    ]
    assert not offenders, "skip through tests/requirements.py (need_binary, ...):\n" + "\n".join(offenders)
