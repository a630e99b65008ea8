"""`sre probe` as a person reads it, compared with snapshots at 80 and 120 columns."""

from __future__ import annotations

import pytest
from run_results import results
from snapshots import check, text, widest

from sre.probes.output.table import Layout, render

LAYOUTS = {
    "compact": Layout(plain=True),
    "boxed": Layout(),
    "wide": Layout(wide=True, plain=True),
    "show-skipped": Layout(show_skipped=True, plain=True),
}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_probe_table_snapshot(name: str, width: int) -> None:
    platform, rs, topology = results()
    rendered = text(render(rs, list(platform.tiers), list(platform.zones), topology, LAYOUTS[name]), width)
    check(f"probe-{name}-{width}.txt", rendered)
    assert widest(rendered) <= width


def test_skipped_services_fold_into_one_line_per_reason() -> None:
    platform, rs, topology = results()
    out = text(render(rs, list(platform.tiers), list(platform.zones), topology, Layout(plain=True)), 120)
    primary = out.split("\n\n")[0]
    assert "vault" not in primary.split("- 8 not in this environment")[0]
    assert "- 8 not in this environment: mongo, clickhouse, vault, kafka" in primary
    assert "(see --show-skipped)" in primary
    assert "not_in_environment" not in out and "not in sandbox" not in out  # said once, in words


def test_the_summary_names_the_root_cause_and_the_exit_code() -> None:
    platform, rs, topology = results()
    out = text(render(rs, list(platform.tiers), list(platform.zones), topology, Layout(plain=True)), 120)
    closing = out.rstrip().splitlines()[-4:]
    assert closing[0].split()[:4] == ["primary", "(fra1)", "✓", "healthy"]
    assert "root cause: redis (connect refused)" in closing[1] and "degraded" in closing[1]
    assert "cold standby" in closing[2]
    assert closing[3].startswith("exit 1: a probe failed")


def test_a_healthy_run_says_exit_0() -> None:
    platform, rs, topology = results(failing_replica=False)
    out = text(render(rs, list(platform.tiers), list(platform.zones), topology, Layout(plain=True)), 120)
    assert out.rstrip().splitlines()[-1].startswith("exit 0: every probe as its tier expects")


def test_plain_layout_draws_no_boxes_and_wide_shows_every_probe() -> None:
    platform, rs, topology = results()
    tiers, zones = list(platform.tiers), list(platform.zones)
    plain = text(render(rs, tiers, zones, topology, Layout(plain=True)), 120)
    assert not set(plain) & set("─━│┃┏┓└┘╭╮")
    wide = text(render(rs, tiers, zones, topology, Layout(wide=True, plain=True)), 200)
    assert "not in sandbox: no vault server here" in wide and "not_in_environment" in wide
    assert wide.count("expected_down") == 13


def test_probe_help_shows_the_run_options() -> None:
    from typer.testing import CliRunner

    from sre.cli.main import app

    out = CliRunner().invoke(app, ["probe", "--help"], env={"COLUMNS": "100"}).output
    for option in ("--all", "--tier", "--zone", "--format", "--wide", "--show-skipped", "--timeout"):
        assert option in out, option
    assert "serve | targets | merge" in out
