"""docs/alerts.md: the Prometheus setup works as written, and its scrape job is the one `build` writes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from alerts_support import REPO, built, need

from sre.alerting.build import RULES, SCRAPE, write

DOC = REPO / "docs" / "alerts.md"


def _block_after(marker: str, lang: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(marker)
    found = re.search(rf"```{lang}\n(.*?)```", text[start:], re.S)
    assert found, f"no {lang} block after {marker!r}"
    return found.group(1)


def test_the_documented_scrape_job_is_the_built_one() -> None:
    doc = yaml.safe_load(_block_after("`prometheus.yml` (the job", "yaml"))
    assert doc["scrape_configs"] == yaml.safe_load(built()[SCRAPE])["scrape_configs"]


def test_the_documented_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    need("promtool")
    write(built(), tmp_path / "sre-alerts")
    text = _block_after("`prometheus.yml` (the job", "yaml").replace(
        "/etc/sre-alerts", str(tmp_path / "sre-alerts")
    )
    conf = tmp_path / "prometheus.yml"
    conf.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["promtool", "check", "config", str(conf)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rules = len(list((tmp_path / "sre-alerts" / RULES).glob("*.yml")))
    assert f"SUCCESS: {rules} rule files found" in done.stdout + done.stderr
