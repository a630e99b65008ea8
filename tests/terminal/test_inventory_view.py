"""`sre inventory show` never cuts an endpoint: a folded table at 120 columns, a block per service at 80."""

from __future__ import annotations

from run_results import platform
from snapshots import check, text, widest
from typer.testing import CliRunner

from sre.cli.main import app
from sre.platform.loader import load_environment
from sre.platform.render import _where, inventory_blocks, inventory_table


def test_inventory_snapshots() -> None:
    plat = platform()
    env = load_environment(plat, "prod")
    table = text(inventory_table(plat, env, "prod"), 120)
    blocks = text(inventory_blocks(plat, env, "prod"), 80)
    check("inventory-table-120.txt", table)
    check("inventory-blocks-80.txt", blocks)
    assert widest(table) <= 120 and widest(blocks) <= 80
    assert "…" not in table and "…" not in blocks
    for sid, tiers in env.endpoints.items():
        for endpoint in tiers.values():
            assert _where(endpoint) in blocks, (sid, _where(endpoint))


def test_the_command_picks_blocks_on_a_narrow_terminal() -> None:
    narrow = CliRunner().invoke(app, ["inventory", "show"], env={"COLUMNS": "80"})
    wide = CliRunner().invoke(app, ["inventory", "show"], env={"COLUMNS": "140"})
    assert narrow.exit_code == 0 and wide.exit_code == 0
    assert "    primary (fra1, active)  analytics.fra1.prod.acme.example" in narrow.output
    assert "analytics.fra1" in wide.output and "(fra1, active)" not in wide.output
    assert not set(wide.output) & set("─━│┃┏┓└┘"), "piped output draws no boxes"
