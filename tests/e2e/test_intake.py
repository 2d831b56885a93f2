"""Sender manifests and duplicate files through the whole pipeline, offline: the example
app with ``manifestWaitSeconds`` (manifests required, a few one-second checks) and
``duplicateFiles``, on the single-function path (the big-file path: test_intake_large)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_constructs.local import CloudAssembly, LocalPipeline
from tests.conftest import build_example_app
from tests.unit.handlers.handlers_testkit import csv_bytes, row

pytestmark = pytest.mark.xdist_group("intake")


def _pipeline(outdir: Path, **context: str) -> Iterator[LocalPipeline]:
    app, _ = build_example_app(outdir, manifestWaitSeconds="3", duplicateFiles="true", **context)
    assembly = app.synth()
    with LocalPipeline(CloudAssembly.load(Path(assembly.directory)), time_scale=0.05) as local:
        yield local


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Iterator[LocalPipeline]:
    yield from _pipeline(tmp_path_factory.mktemp("cdk.out.intake"), environmentSuffix="intake")


def body(first: int) -> bytes:
    """Three valid EUR rows, ids from ``first``: 10.00 + 30.00 debit, 2.50 credit."""
    return csv_bytes(
        row(first, amount="10.00"),
        row(first + 1, amount="2.50", kind="CREDIT"),
        row(first + 2, amount="30.00"),
    )


def manifest(data: bytes, **fields: object) -> bytes:
    document: dict[str, object] = {
        "rows": 3,
        "totals": {"EUR": {"count": 3, "debit": "40.00", "credit": "2.50"}},
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    document.update(fields)
    return json.dumps(document).encode()


def put(local: LocalPipeline, key: str, data: bytes) -> tuple[str, str | None]:
    response = local.s3.put_object(Bucket=local.bucket, Key=key, Body=data)
    return key, response.get("VersionId")


def finish(local: LocalPipeline, obj: tuple[str, str | None]) -> dict:
    job = local.wait([obj], timeout=120)[obj]
    assert job is not None
    return job


def outputs_of(local: LocalPipeline, job_id: str) -> list[str]:
    return [
        key
        for prefix in ("validated/", "rejected/", "processed/", "enriched/")
        for key in local._keys(f"{prefix}{job_id}/")
    ]


@pytest.mark.parametrize("manifest_first", [True, False], ids=["manifest-first", "data-first"])
def test_a_file_and_its_manifest_in_either_order_succeed(pipeline, manifest_first) -> None:
    data = body(100 if manifest_first else 200)
    key = f"raw/{'before' if manifest_first else 'after'}.csv"
    if manifest_first:
        put(pipeline, f"{key}.manifest.json", manifest(data))
        obj = put(pipeline, key, data)
    else:
        obj = put(pipeline, key, data)
        deadline = time.monotonic() + 30
        while pipeline.job(pipeline.job_id(*obj)) is None and time.monotonic() < deadline:
            pipeline.deliver_events()
            time.sleep(0.05)
        assert pipeline.job(pipeline.job_id(*obj))["status"] == "PENDING"  # waiting for it
        put(pipeline, f"{key}.manifest.json", manifest(data))
    job = finish(pipeline, obj)
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert job["contentSha256"] == hashlib.sha256(data).hexdigest()
    assert job["manifest"]["key"] == f"{key}.manifest.json"
    assert job["totals"]["validate"] == {"EUR": {"count": 3, "debit": "40.00", "credit": "2.50"}}


def test_a_file_without_its_manifest_fails_after_the_wait(pipeline) -> None:
    started = time.monotonic()
    job = finish(pipeline, put(pipeline, "raw/alone.csv", body(300)))
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "MANIFEST_MISSING"
    assert "raw/alone.csv.manifest.json did not arrive within 0 min 3 s" in job["error"]["message"]
    assert job["outputs"]["failed"] == f"failed/{job['jobId']}/alone.csv"
    assert time.monotonic() - started < 60  # one-second checks, however long the deployed poll


@pytest.mark.parametrize(
    ("fields", "difference"),
    [
        ({"rows": 4}, "rows: declared 4, counted 3"),
        (
            {"totals": {"EUR": {"count": 2, "debit": "40.00", "credit": "2.50"}}},
            "EUR count: declared 2, counted 3",
        ),
        (
            {"totals": {"EUR": {"count": 3, "debit": "40.01", "credit": "2.50"}}},
            "EUR debit: declared 40.01, counted 40.00",
        ),
        (
            {"totals": {"EUR": {"count": 3, "debit": "40.00", "credit": "0.00"}}},
            "EUR credit: declared 0.00, counted 2.50",
        ),
        ({"sha256": "ab" * 32}, "sha256: declared " + "ab" * 32),
    ],
    ids=["rows", "count", "debit", "credit", "sha256"],
)
def test_a_file_that_differs_from_its_manifest_fails_and_publishes_nothing(
    pipeline, fields, difference
) -> None:
    first = 400 + 10 * len(json.dumps(fields))  # other bytes for each case
    data = body(first)
    key = f"raw/mismatch-{first}.csv"
    put(pipeline, f"{key}.manifest.json", manifest(data, **fields))
    job = finish(pipeline, put(pipeline, key, data))
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "CONTROL_TOTALS_MISMATCH"
    assert difference in job["error"]["message"]
    assert "totals" not in job and job["rows"] == {"read": 3}
    assert outputs_of(pipeline, job["jobId"]) == []


def test_the_same_bytes_under_a_new_key_end_duplicate(pipeline) -> None:
    data = body(900)
    for key in ("raw/day.csv", "raw/day-resent.csv"):
        put(pipeline, f"{key}.manifest.json", manifest(data))
    first = finish(pipeline, put(pipeline, "raw/day.csv", data))
    assert first["status"] == "SUCCEEDED", first.get("error")
    again = finish(pipeline, put(pipeline, "raw/day-resent.csv", data))
    assert again["status"] == "DUPLICATE"
    assert again["duplicateOf"] == first["jobId"]
    assert outputs_of(pipeline, again["jobId"]) == []
    assert pipeline.sfn.describe_execution(executionArn=again["executionArn"])["status"] == (
        "SUCCEEDED"
    )
    status, listed = pipeline.api("GET", "/jobs", query={"status": "DUPLICATE"})
    assert status == 200 and [j["jobId"] for j in listed["items"]] == [again["jobId"]]
