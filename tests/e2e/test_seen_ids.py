"""Duplicates across files in the offline runtime: the pipeline synthesized with
``seen_ids`` on runs two files that share ids through the state machine."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from etl_constructs import EtlWorkflow, IngestionBucket, LargeFiles, MetadataStore, SeenIdsPolicy
from etl_constructs.local import CloudAssembly, LocalPipeline
from tests.conftest import cdk_json_context

HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,"
    "category,card_number,country"
)


def _row(n: int, amount: str = "10.00") -> str:
    return f"t-{n},ACC{n},2026-11-19T10:00:00Z,{amount},EUR,DEBIT,Shop,food,4111111111111111,DE"


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _local(outdir: Path, suffix: str, **workflow: object):
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = cdk.Stack(app, "SeenIds")
    bucket = IngestionBucket(stack, "Ingestion", environment_suffix=suffix)
    table = MetadataStore(stack, "Metadata", environment_suffix=suffix)
    EtlWorkflow(
        stack,
        "Workflow",
        environment_suffix=suffix,
        bucket=bucket.bucket,
        table=table.table,
        seen_ids=SeenIdsPolicy(),
        **workflow,
    )
    assembly = app.synth()
    return LocalPipeline(CloudAssembly.load(Path(assembly.directory)), time_scale=0.05)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out.seen")
    with _local(outdir, "seen", max_reject_rate=0.9, large_files=LargeFiles.off()) as local:
        yield local


def _run(pipeline, name: str, body: bytes) -> dict:
    key = f"raw/{name}"
    response = pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=body)
    obj = (key, response["VersionId"])
    job = pipeline.wait([obj], timeout=120)[obj]
    assert job is not None
    return job


def test_a_second_file_s_repeated_ids_are_rejected_and_the_job_reconciles(pipeline):
    first = _run(pipeline, "monday.csv", _csv(_row(1), _row(2), _row(3)))
    assert first["status"] == "SUCCEEDED"
    second = _run(pipeline, "tuesday.csv", _csv(_row(3, "99.00"), _row(4), _row(1)))
    assert second["status"] == "SUCCEEDED", second.get("error")
    assert second["rows"]["input"] == 3
    assert (second["rows"]["valid"], second["rows"]["rejected"]) == (1, 2)
    assert second["rows"]["enriched"] == 1
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=second["outputs"]["rejected"])
    lines = [json.loads(line) for line in body["Body"].read().splitlines()]
    assert [(line["row"], line["code"]) for line in lines] == [
        (1, "DUPLICATE_ACROSS_FILES"),
        (3, "DUPLICATE_ACROSS_FILES"),
    ]
    assert all(first["jobId"] in line["message"] for line in lines)
    # The same file again under a third name: every row was accepted before.
    third = _run(pipeline, "wednesday.csv", _csv(_row(4)))
    assert third["status"] == "SUCCEEDED"
    assert (third["rows"]["valid"], third["rows"]["rejected"]) == (0, 1)
