"""The probe session that `sre probe`, `sre probe serve` and `sre serve` share, used directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.errors import InputError
from sre.probes.exporter import Exporter
from sre.probes.loop import run as run_loop
from sre.probes.model import Status
from sre.probes.session import Selection, Session

pytestmark = pytest.mark.integration


def test_a_planned_session_runs_its_targets_and_keeps_the_skipped_in_model_order(platform_file: Path) -> None:
    session = Session.planned(
        Selection(services=["web", "k8s"], tiers=["primary"]), env="test", platform_file=platform_file
    )
    assert {t.service for t in session.targets} <= {"web", "k8s"} and session.targets
    results = run_loop(session.run(concurrency=4, budget=30))
    assert len(results) == len(session.targets) + len(session.skipped)
    assert results == session.ordered(results)
    assert [r.service for r in results if r.status is not Status.skipped] == [
        t.service for t in session.targets
    ]
    assert session.tiers(results)[0] == "primary" and session.topology is not None


def test_an_unknown_service_is_bad_input(platform_file: Path) -> None:
    with pytest.raises(InputError, match="nope"):
        Session.planned(Selection(services=["nope"]), env="test", platform_file=platform_file)


def test_an_adhoc_session_needs_a_known_kind_and_has_no_environment(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--kind: unknown check 'gopher'"):
        Session.adhoc("https://example.test", "gopher", platform_file=tmp_path / "none.yaml")
    session = Session.adhoc("https://example.test", "https", platform_file=tmp_path / "none.yaml")
    assert session.platform is None and session.environment == "" and len(session.targets) == 1
    assert session.tiers([]) == [] and session.topology is None


def test_the_exporter_serves_a_sessions_targets_and_discovery(platform_file: Path) -> None:
    session = Session.planned(env="test", platform_file=platform_file, vantage="zone-a")
    exporter = Exporter.for_session(session)
    target = session.targets[0]
    assert exporter.resolve(target.check, target.endpoint.url) is target
    assert exporter.discovery is not None
