"""What the docs say about every command's options holds for the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from sre.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
# Commands that read no platform file: docs/platform.md names each.
NO_PLATFORM = {"sre probe merge"}


def leaves(command: Any, path: str = "sre") -> dict[str, Any]:
    subs = getattr(command, "commands", None)
    if not subs:
        return {path: command}
    return {p: c for name, sub in subs.items() for p, c in leaves(sub, f"{path} {name}").items()}


def test_every_command_but_the_documented_ones_takes_platform() -> None:
    commands = leaves(typer.main.get_command(app))
    without = {path for path, c in commands.items() if not any("--platform" in p.opts for p in c.params)}
    # A new command without --platform: add it here and name it in docs/platform.md.
    assert without == NO_PLATFORM
    text = (ROOT / "docs" / "platform.md").read_text(encoding="utf-8")
    assert all(f"`{path}`" in text for path in NO_PLATFORM)


def test_api_key_file_help_says_the_variable_holds_the_key_itself() -> None:
    done = CliRunner().invoke(app, ["elk", "diff", "--help"])
    flat = " ".join(done.output.split())
    assert "Without it: the key itself from $ELASTICSEARCH_API_KEY" in flat, flat
