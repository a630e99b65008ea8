"""The small rules under the dashboards: PromQL expansion, selectors, UIDs, settings, definitions."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboards_support import ROOT
from sre_cli import run

from sre.grafana import promql
from sre.grafana.board import Board, DefinitionError, Folder, Query
from sre.grafana.uids import MAX_UID, stable_uid


def test_grafana_macros_and_variables_expand_to_parsable_promql() -> None:
    expr = 'sum(rate(x{tier=~"$tier", zone=~"${zone:regex}"}[$__rate_interval])) / $__range_s'
    assert promql.expand(expr) == 'sum(rate(x{tier=~"placeholder", zone=~"placeholder"}[5m])) / 300'
    assert promql.problem(expr) is None
    assert promql.problem("avg_over_time(up[$__range])") is None
    assert promql.problem("sum(rate(x[5m])") == "unclosed left parenthesis"
    assert promql.problem("rate(x)") is not None  # a range vector is required


def test_variable_queries_check_their_selector() -> None:
    assert promql.variable_query_problem("label_values(probe_success, tier)") is None
    assert promql.variable_query_problem('label_values(up{job="a"}, instance)') is None
    assert promql.variable_query_problem("label_values(up{job=}, instance)") is not None
    assert promql.variable_query_problem("query_result(sum(up))") is None


def test_selector_quotes_values_and_matches_variables_by_regex() -> None:
    assert promql.selector("up") == "up"
    assert (
        promql.selector("up", {"service": "ext_api"}, tier="$tier") == 'up{service="ext_api", tier=~"$tier"}'
    )
    assert promql.selector("x", code="~5..", fstype="!tmpfs") == 'x{code=~"5..", fstype!="tmpfs"}'
    assert promql.selector("x", name='a"b\\c') == 'x{name="a\\"b\\\\c"}'
    assert promql.problem(promql.selector("x", name='a"b\\c')) is None


def test_stable_uids_are_short_readable_and_distinct() -> None:
    assert stable_uid("sre", "service", "ext_api") == "sre-service-ext_api"
    assert stable_uid("sre", "Zone", "Data Layer") == "sre-zone-data-layer"
    long_a = stable_uid("sre", "service", "a" * 60 + "_one")
    long_b = stable_uid("sre", "service", "a" * 60 + "_two")
    assert len(long_a) == len(long_b) == MAX_UID and long_a != long_b
    assert long_a == stable_uid("sre", "service", "a" * 60 + "_one")


def test_board_refuses_what_grafana_would_refuse() -> None:
    folder = Folder("f", "F")
    with pytest.raises(DefinitionError, match="must be 1 to 40"):
        Board("x" * 41, "Too long", folder=folder)
    board = Board("ok", "OK", folder=folder)
    with pytest.raises(DefinitionError, match="has no query"):
        board.graph("Empty", unit="short")
    with pytest.raises(DefinitionError, match=r"width must be 1\.\.24"):
        board.stat("Wide", promql_query(), unit="short", width=30)


def promql_query() -> Query:
    from sre.grafana import now

    return now("up", "{{job}}")


def test_layout_wraps_panels_that_do_not_fit() -> None:
    from sre.grafana import q

    board = Board("grid", "Grid", folder=Folder("f", "F"))
    board.row("One").graph("a", q("up", "a"), unit="short", width=16, height=5)
    board.graph("b", q("up", "b"), unit="short", width=16, height=7)
    board.row("Two").graph("c", q("up", "c"), unit="short", width=8)
    positions = [(p["title"], p["gridPos"]) for p in board.to_json()["panels"]]
    assert positions == [
        ("One", {"h": 1, "w": 24, "x": 0, "y": 0}),
        ("a", {"h": 5, "w": 16, "x": 0, "y": 1}),
        ("b", {"h": 7, "w": 16, "x": 0, "y": 6}),
        ("Two", {"h": 1, "w": 24, "x": 0, "y": 13}),
        ("c", {"h": 8, "w": 8, "x": 0, "y": 14}),
    ]


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("syntax.py", "def dashboards(ctx)\n    pass\n", "syntax.py:1: syntax error: expected ':'"),
        (
            "typo.py",
            "from sre.grafana import Board\ndef dashboards(ctx):\n    yield Board('t', 'T', folder=ctx.nowhere)\n",
            "typo.py:3: AttributeError: 'Context' object has no attribute 'nowhere'",
        ),
        (
            "baduid.py",
            "from sre.grafana import Board\ndef dashboards(ctx):\n    yield Board('bad uid', 'T', folder=ctx.platform_folder)\n",
            "baduid.py:3: dashboard UID 'bad uid' must be 1 to 40 letters, digits, - or _",
        ),
        (
            "notboard.py",
            "def dashboards(ctx):\n    return [1]\n",
            "notboard.py: dashboards() yielded int, expected a Board",
        ),
        (
            "notlist.py",
            "def dashboards(ctx):\n    return 1\n",
            "notlist.py: dashboards() returned int, expected Boards",
        ),
        (
            "twice.py",
            "from sre.grafana import Board\ndef dashboards(ctx):\n    yield Board('sre-platform-overview', 'Again', folder=ctx.platform_folder)\n",
            "dashboards/twice.py: dashboard UID 'sre-platform-overview' is already defined in dashboards/overview.py",
        ),
    ],
)
def test_broken_definitions_give_one_line_naming_the_file(
    project: Path, capsys: pytest.CaptureFixture[str], name: str, source: str, expected: str
) -> None:
    (project / "dashboards" / name).write_text(source)
    code, out, err = run(["dashboards", "build"], capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and expected in err
    assert "Traceback" not in err


def test_helpers_in_underscore_modules_are_shared_not_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dashboards" / "_helper.py").write_text("raise RuntimeError('never imported on its own')\n")
    assert run(["dashboards", "build"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kibana_url: kibana.local\n", "settings.yaml:1: kibana_url: expected text matching"),
        (
            "runbooks_url: https://wiki/{team}\n",
            "settings.yaml:1: runbooks_url: unknown placeholder {team}; only {service} is replaced",
        ),
        ("uid_prefix: sre\ncolour: blue\n", "settings.yaml:2: colour: unknown field"),
    ],
)
def test_bad_settings_name_the_line(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (project / "dashboards" / "settings.yaml").write_text(text)
    code, _, err = run(["dashboards", "build"], capsys)
    assert code == 2
    assert err.startswith("dashboards/" + expected)


def test_settings_change_uids_and_links(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "dashboards" / "settings.yaml").write_text("uid_prefix: acme\n")
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    model = (project / "out" / "acme-zone-internal" / "acme-service-redis.json").read_text()
    assert "Kibana" not in model and "Runbooks" not in model


def test_missing_dashboards_folder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["dashboards", "build", "--dashboards", "nowhere"], capsys)
    assert (code, err) == (2, "nowhere: dashboards folder not found (use --dashboards DIR)\n")


def test_help_does_not_import_the_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from sre.cli import main; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('grafana_foundation_sdk', 'grafana_client', 'niquests', 'promql_parser', 'jsonschema')]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_the_example_in_the_documentation_builds_and_lints(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "dashboards.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    (project / "dashboards" / "edge_team.py").write_text(example)
    code, out, err = run(["dashboards", "lint"], capsys)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("ok: 24 dashboards")
