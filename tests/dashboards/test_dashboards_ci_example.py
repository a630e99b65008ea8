"""The GitLab CI example: builds, lints, diffs on merge requests, publishes on the default branch,
and only calls commands and flags that exist."""

from __future__ import annotations

import shlex

import pytest
import yaml
from dashboards_support import ROOT
from sre_cli import run

CI_FILE = ROOT / "deploy" / "gitlab-ci" / "dashboards.gitlab-ci.yml"


def test_jobs_and_when_they_run() -> None:
    jobs = yaml.safe_load(CI_FILE.read_text())
    assert {"dashboards:build", "dashboards:lint", "dashboards:diff", "dashboards:publish"} <= set(jobs)
    diff_rules = [r["if"] for r in jobs["dashboards:diff"]["rules"]]
    assert diff_rules == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
    publish_rules = [r["if"] for r in jobs["dashboards:publish"]["rules"]]
    assert publish_rules == ["$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"]
    assert jobs["dashboards:publish"]["resource_group"]
    assert "build/dashboards/" in jobs["dashboards:build"]["artifacts"]["paths"]


def test_every_sre_command_in_the_example_exists(capsys: pytest.CaptureFixture[str]) -> None:
    jobs = yaml.safe_load(CI_FILE.read_text())
    lines = [line for job in jobs.values() for line in job.get("script", []) if line.startswith("sre ")]
    assert len(lines) == 4
    for line in lines:
        args = shlex.split(line.split(">")[0])[1:]
        code, out, err = run([*args, "--help"], capsys)  # unknown flags fail before --help is honoured
        assert code == 0, (line, err)
        assert out.startswith("Usage: sre dashboards")
