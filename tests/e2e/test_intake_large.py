"""Sender manifests and duplicate files on the big-file path, offline: every file takes
the Distributed Map path (threshold 1 byte, parts of 2 rows)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from etl_constructs.local import LocalPipeline
from tests.e2e.test_intake import _pipeline, body, finish, manifest, put

pytestmark = pytest.mark.xdist_group("intake")


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Iterator[LocalPipeline]:
    yield from _pipeline(
        tmp_path_factory.mktemp("cdk.out.intake.big"),
        environmentSuffix="intakebig",
        largeFileThresholdBytes="1",
        largeFileBatchRows="2",
    )


def test_a_big_file_is_checked_against_its_manifest(big) -> None:
    data = body(1000)
    put(big, "raw/big.csv.manifest.json", manifest(data))
    job = finish(big, put(big, "raw/big.csv", data))
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert job["outputs"]["enriched"] == f"enriched/{job['jobId']}/parts/"  # the big-file path
    assert job["contentSha256"] == hashlib.sha256(data).hexdigest()

    other = body(1100)
    put(
        big,
        "raw/big-debit.csv.manifest.json",
        manifest(other, totals={"EUR": {"count": 3, "debit": "41.00", "credit": "2.50"}}),
    )
    job = finish(big, put(big, "raw/big-debit.csv", other))
    assert job["error"]["code"] == "CONTROL_TOTALS_MISMATCH", job.get("error")
    assert "EUR debit: declared 41.00, counted 40.00" in job["error"]["message"]
    assert not list(big._keys(f"processed/{job['jobId']}/"))

    third = body(1200)
    put(big, "raw/big-sha.csv.manifest.json", manifest(third, sha256="cd" * 32))
    job = finish(big, put(big, "raw/big-sha.csv", third))
    assert job["error"]["code"] == "CONTROL_TOTALS_MISMATCH"
    assert not list(big._keys(f"validated/{job['jobId']}/plan/"))  # failed at the preflight

    put(big, "raw/big-resent.csv.manifest.json", manifest(data))
    job = finish(big, put(big, "raw/big-resent.csv", data))
    assert job["status"] == "DUPLICATE"
    assert job["rows"] == {"read": 3} and "totals" not in job
    assert not list(big._keys(f"validated/{job['jobId']}/"))
