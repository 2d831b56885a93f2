"""A user's app that brings its own landing bucket (`s3.Bucket.from_bucket_name` as
`existing_bucket_obj`): synth creates no bucket for it, and the offline run stands it up."""

from __future__ import annotations

import json

import pytest

from .harness import ConsumerEnv, ConsumerRun, app_source, run_app, transactions_csv

# One group per app: its tests share one run (harness.run_app makes it once per session
# in any case, whatever the scheduling).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-bucket")]
LANDING = "payments-landing-prod"


@pytest.fixture(scope="module")
def bucket_run(consumer_env: ConsumerEnv, consumer_root) -> ConsumerRun:
    return run_app(
        consumer_env,
        consumer_root,
        "bucket",
        source=app_source("brought_in_bucket"),
        files={"transactions.csv": transactions_csv()},
    )


def test_synthesizes_clean_without_creating_the_brought_bucket(bucket_run):
    bucket_run.assert_synthesized_clean()
    resources = bucket_run.templates()["PaymentsIngest"]["Resources"].values()
    created = [
        r["Properties"].get("BucketName") for r in resources if r["Type"] == "AWS::S3::Bucket"
    ]
    assert LANDING not in created
    assert bucket_run.data_buckets() == {LANDING}


def test_runs_a_file_offline_through_the_brought_bucket(bucket_run):
    job = bucket_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    (record,) = json.loads((bucket_run.folder / "etl-out" / "jobs.json").read_text())
    assert record["bucket"] == LANDING
    # the runtime says that it stood up, empty, a bucket the app only named
    assert LANDING in bucket_run.stderr
