"""Delta Lake check against real tables written by the `deltalake` package (delta-rs) into a temporary
directory, a hand-written _delta_log for old commits, and the same log on SeaweedFS for s3:// tables."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from checkrun import probe
from checkservers import SeaweedS3
from requirements import need_module

from sre.probes.model import Reason

deltalake = need_module("deltalake")
arro3 = need_module("arro3.core")


def write_table(path: Path, commits: int, *, checkpoint_after: int | None = None) -> None:
    rows = arro3.Table.from_pydict({"x": arro3.Array([1, 2], arro3.DataType.int64())})
    for version in range(commits):
        deltalake.write_deltalake(str(path), rows, mode="append")
        if version == checkpoint_after:
            deltalake.DeltaTable(str(path)).create_checkpoint()


def hand_written(path: Path, ages_hours: list[float]) -> None:
    log = path / "_delta_log"
    log.mkdir(parents=True)
    for version, age in enumerate(ages_hours):
        stamp = int((time.time() - age * 3600) * 1000)
        actions = [
            {"commitInfo": {"timestamp": stamp, "operation": "MERGE"}},
            {"add": {"path": f"p{version}"}},
        ]
        (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def test_fresh_table_written_by_delta_rs(tmp_path: Path) -> None:
    write_table(tmp_path / "t", 3)
    seen = probe("delta_lake", (tmp_path / "t").as_uri()).ok()
    assert seen.facts["delta_version"] == 2
    assert seen.facts["delta_operation"] == "WRITE"
    assert seen.facts["delta_time_source"] == "commitInfo.timestamp"
    assert 0 <= seen.facts["last_commit_age_seconds"] < 600
    assert seen.facts["lag_seconds"] == seen.facts["last_commit_age_seconds"]


def test_newest_commit_after_a_checkpoint(tmp_path: Path) -> None:
    write_table(tmp_path / "t", 4, checkpoint_after=1)
    assert (tmp_path / "t" / "_delta_log" / "_last_checkpoint").exists()
    seen = probe("delta_lake", tmp_path.as_uri(), settings={"table": "t"}).ok()
    assert seen.facts["delta_version"] == 3


def test_old_last_commit_gives_its_age(tmp_path: Path) -> None:
    hand_written(tmp_path, [50.0, 30.0])
    seen = probe("delta_lake", tmp_path.as_uri()).ok()
    assert seen.facts["delta_version"] == 1
    assert seen.facts["backup_age_hours"] == pytest.approx(30.0, abs=0.01)
    assert seen.facts["delta_operation"] == "MERGE"


def test_commit_without_commit_info_uses_the_file_time(tmp_path: Path) -> None:
    log = tmp_path / "_delta_log"
    log.mkdir()
    (log / f"{0:020d}.json").write_text('{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}\n')
    seen = probe("delta_lake", tmp_path.as_uri()).ok()
    assert seen.facts["delta_time_source"] == "file_modified"


def test_missing_table_is_not_ready(tmp_path: Path) -> None:
    seen = probe("delta_lake", (tmp_path / "nothing").as_uri())
    assert seen.reason is Reason.not_ready
    assert "not a Delta table" in seen.message


def test_empty_log_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "_delta_log").mkdir()
    assert probe("delta_lake", tmp_path.as_uri()).reason is Reason.not_ready


def test_garbage_commit_is_protocol(tmp_path: Path) -> None:
    (tmp_path / "_delta_log").mkdir()
    (tmp_path / "_delta_log" / f"{0:020d}.json").write_text("not json at all\n")
    assert probe("delta_lake", tmp_path.as_uri()).reason is Reason.protocol


def test_other_stores_are_unsupported() -> None:
    assert probe("delta_lake", "gs://bucket/table").reason is Reason.unsupported


@pytest.mark.integration
def test_s3_table_on_seaweedfs(tmp_path: Path, seaweed: SeaweedS3) -> None:
    write_table(tmp_path / "t", 4, checkpoint_after=1)

    async def upload() -> None:
        async with seaweed.client() as s3:
            for file in sorted((tmp_path / "t" / "_delta_log").iterdir()):
                key = f"lake/features/_delta_log/{file.name}"
                await s3.put_object(Bucket=SeaweedS3.BUCKET, Key=key, Body=file.read_bytes())

    asyncio.run(upload())
    creds = {"access_key_id": SeaweedS3.KEY_ID, "secret_access_key": SeaweedS3.SECRET}
    seen = probe(
        "delta_lake",
        f"s3://{SeaweedS3.BUCKET}/lake",
        settings={"table": "features"},
        params={"endpoint_url": seaweed.url},
        secrets=creds,
    ).ok()
    assert seen.facts["delta_version"] == 3
    assert seen.facts["delta_time_source"] == "commitInfo.timestamp"
    missing = probe(
        "delta_lake",
        f"s3://{SeaweedS3.BUCKET}/elsewhere",
        params={"endpoint_url": seaweed.url},
        secrets=creds,
    )
    assert missing.reason is Reason.not_ready
