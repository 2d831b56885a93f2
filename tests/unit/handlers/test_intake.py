"""Sender manifests and duplicate files through the validator's Lambda handler: the
manifest check of the state machine's wait, control totals, and DUPLICATE."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from etl_handlers.app.intake import claim_content, content_key
from etl_handlers.aws.jobs import DUPLICATE, FAILED, SUCCEEDED, JobStore, TransitionRefused
from etl_handlers.contract import INPUT_SUFFIXES
from etl_handlers.validator import handler as validator

from .handlers_testkit import BUCKET, TABLE, FakeContext, all_keys, csv_bytes, put_source, row

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

BODY = csv_bytes(row(1, amount="10.00"), row(2, amount="2.50", kind="CREDIT"), row(3, amount="x"))
SHA = hashlib.sha256(BODY).hexdigest()


def manifest(**fields: Any) -> bytes:
    document: dict[str, Any] = {
        "rows": 3,
        "totals": {"EUR": {"count": 2, "debit": "10.00", "credit": "2.50"}},
        "sha256": SHA,
    }
    document.update(fields)
    return json.dumps(document).encode()


def put_manifest(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{key}.manifest.json", Body=body)


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0.5")
    monkeypatch.setenv("ETL_DUPLICATE_FILES", "1")


# -- the state machine's wait for the manifest -------------------------------------------------


def test_the_manifest_check_waits_then_finds_it(s3: Any, store: JobStore) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    state["manifestCheck"] = {"checks": 0, "maxChecks": 3, "waitSeconds": 120}
    first = validator.lambda_handler({**state, "mode": "manifest"}, FakeContext())
    assert first["outcome"] == "WAITING" and first["checks"] == 1 and first["error"] is None
    put_manifest(s3, "raw/tx.csv", manifest())
    state["manifestCheck"] = first
    second = validator.lambda_handler({**state, "mode": "manifest"}, FakeContext())
    assert second["outcome"] == "VALID" and second["checks"] == 2
    assert second["manifestKey"] == "raw/tx.csv.manifest.json"
    assert store.require(state["jobId"])["status"] == "PENDING"  # the job is not touched


def test_the_last_check_without_a_manifest_is_manifest_missing(s3: Any, store: JobStore) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    state["manifestCheck"] = {"checks": 2, "maxChecks": 3, "waitSeconds": 1800}
    result = validator.lambda_handler({**state, "mode": "manifest"}, FakeContext())
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == "MANIFEST_MISSING"
    assert "raw/tx.csv.manifest.json did not arrive within 30 min 0 s" in result["error"]["message"]


def test_a_manifest_check_without_its_job_fields_is_a_fault(s3: Any) -> None:
    with pytest.raises(ValueError, match="bucket and key"):
        validator.lambda_handler({"mode": "manifest"}, FakeContext())


# -- control totals -----------------------------------------------------------------------------


@pytest.fixture
def required(monkeypatch: pytest.MonkeyPatch, lenient: None) -> None:
    monkeypatch.setenv("ETL_MANIFEST_REQUIRED", "1")


def test_a_file_that_matches_its_manifest_is_valid(
    s3: Any, store: JobStore, required: None
) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    put_manifest(s3, "raw/tx.csv", manifest())
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "VALID", result["error"]
    job = store.require(state["jobId"])
    assert job["contentSha256"] == SHA
    assert job["manifest"]["key"] == "raw/tx.csv.manifest.json"


@pytest.mark.parametrize(
    ("fields", "difference"),
    [
        ({"rows": 2}, "rows: declared 2, counted 3"),
        (
            {"totals": {"EUR": {"count": 1, "debit": "10.00", "credit": "2.50"}}},
            "EUR count: declared 1, counted 2",
        ),
        (
            {"totals": {"EUR": {"count": 2, "debit": "10.01", "credit": "2.50"}}},
            "EUR debit: declared 10.01, counted 10.00",
        ),
        (
            {"totals": {"EUR": {"count": 2, "debit": "10.00", "credit": "2.00"}}},
            "EUR credit: declared 2.00, counted 2.50",
        ),
        ({"sha256": "ab" * 32}, f"sha256: declared {'ab' * 32}, computed {SHA}"),
    ],
)
def test_a_mismatch_fails_validation_and_publishes_no_valid_rows(
    s3: Any, store: JobStore, required: None, fields: dict[str, Any], difference: str
) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    put_manifest(s3, "raw/tx.csv", manifest(**fields))
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == "CONTROL_TOTALS_MISMATCH"
    assert difference in result["error"]["message"]
    assert result["outputs"]["validated"] is None
    assert not [k for k in all_keys(s3) if k.startswith("validated/")]


def test_a_missing_or_malformed_manifest_fails_before_the_data_is_read(
    s3: Any, store: JobStore, required: None
) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    result = validator.lambda_handler(state, FakeContext())
    assert result["error"]["code"] == "MANIFEST_MISSING"
    other = put_source(s3, store, "raw/other.csv", BODY)
    put_manifest(s3, "raw/other.csv", b'{"rows": "three"}')
    result = validator.lambda_handler(other, FakeContext())
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == "MANIFEST_INVALID"
    assert '"rows" must be a whole number' in result["error"]["message"]
    assert result["rows"] == {"input": 0, "valid": 0, "rejected": 0}


def test_manifests_are_not_read_unless_required(s3: Any, store: JobStore, lenient: None) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    put_manifest(s3, "raw/tx.csv", manifest(rows=99))
    assert validator.lambda_handler(state, FakeContext())["outcome"] == "VALID"


# -- duplicate files ----------------------------------------------------------------------------


def test_the_same_bytes_under_a_new_key_end_duplicate_without_outputs(
    s3: Any, store: JobStore, lenient: None
) -> None:
    first = put_source(s3, store, "raw/monday.csv", BODY)
    assert validator.lambda_handler(first, FakeContext())["outcome"] == "VALID"
    again = put_source(s3, store, "raw/monday-resent.csv", BODY)
    result = validator.lambda_handler(again, FakeContext())
    assert result["outcome"] == "DUPLICATE"
    assert result["duplicateOf"] == first["jobId"]
    assert result["error"] is None
    job = store.require(again["jobId"])
    assert job["status"] == DUPLICATE
    assert job["duplicateOf"] == first["jobId"]
    assert job["contentSha256"] == SHA
    assert job["rows"] == {"read": 3} and "totals" not in job
    assert job["outputs"] == {}
    assert not [k for k in all_keys(s3) if again["jobId"] in k]
    # final: no step runs on it any more
    with pytest.raises(TransitionRefused):
        store.start_step(again["jobId"], again["fileName"], "validate")


def test_a_retry_of_the_same_job_is_not_its_own_duplicate(
    s3: Any, store: JobStore, lenient: None
) -> None:
    state = put_source(s3, store, "raw/tx.csv", BODY)
    assert validator.lambda_handler(state, FakeContext())["outcome"] == "VALID"
    assert validator.lambda_handler(state, FakeContext())["outcome"] == "VALID"


def test_a_reprocess_of_the_first_job_is_not_a_duplicate(
    s3: Any, store: JobStore, ddb: Any
) -> None:
    store.create(
        job_id="a" * 32,
        file_name="raw/a.csv",
        bucket=BUCKET,
        version_id=None,
        etag="e",
        size_bytes=1,
    )
    assert claim_content(store, SHA, job_id="a" * 32, file_name="raw/a.csv") is None
    ddb.update_item(
        TableName=TABLE,
        Key={"jobId": {"S": "a" * 32}, "fileName": {"S": "raw/a.csv"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": SUCCEEDED}},
    )
    # the same job (a reprocess: same job id) claims its own bytes again
    assert claim_content(store, SHA, job_id="a" * 32, file_name="raw/a.csv") is None
    # another job is a duplicate of it
    assert claim_content(store, SHA, job_id="b" * 32, file_name="raw/b.csv") == "a" * 32


def test_a_failed_earlier_job_lets_the_bytes_be_sent_again(
    s3: Any, store: JobStore, ddb: Any, lenient: None
) -> None:
    first = put_source(s3, store, "raw/monday.csv", BODY)
    assert validator.lambda_handler(first, FakeContext())["outcome"] == "VALID"
    store.fail(first["jobId"], first["fileName"], step="transform", code="X", message="broke")
    again = put_source(s3, store, "raw/monday-resent.csv", BODY)
    assert validator.lambda_handler(again, FakeContext())["outcome"] == "VALID"
    item = ddb.get_item(TableName=TABLE, Key=content_key(SHA))["Item"]
    assert item["firstJob"]["S"] == again["jobId"]
    assert item["takenOverFrom"]["S"] == first["jobId"]
    assert store.require(first["jobId"])["status"] == FAILED
    # a third copy is now a duplicate of the one that took over
    third = put_source(s3, store, "raw/monday-third.csv", BODY)
    assert validator.lambda_handler(third, FakeContext())["duplicateOf"] == again["jobId"]


@pytest.mark.parametrize("setting", ["0", None])
def test_the_duplicate_check_is_off_unless_switched_on(
    s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch, lenient: None, setting: str | None
) -> None:
    if setting is None:
        monkeypatch.delenv("ETL_DUPLICATE_FILES")
    else:
        monkeypatch.setenv("ETL_DUPLICATE_FILES", setting)
    for key in ("raw/a.csv", "raw/b.csv"):
        state = put_source(s3, store, key, BODY)
        assert validator.lambda_handler(state, FakeContext())["outcome"] == "VALID"
        assert "contentSha256" not in store.require(state["jobId"])


def test_a_duplicate_with_a_mismatching_manifest_fails_on_its_totals(
    s3: Any, store: JobStore, required: None
) -> None:
    first = put_source(s3, store, "raw/a.csv", BODY)
    put_manifest(s3, "raw/a.csv", manifest())
    assert validator.lambda_handler(first, FakeContext())["outcome"] == "VALID"
    again = put_source(s3, store, "raw/b.csv", BODY)
    put_manifest(s3, "raw/b.csv", manifest(rows=4))
    result = validator.lambda_handler(again, FakeContext())
    assert result["error"]["code"] == "CONTROL_TOTALS_MISMATCH"


def test_the_content_item_is_not_a_job(store: JobStore, ddb: Any) -> None:
    assert claim_content(store, SHA, job_id="a" * 32, file_name="raw/a.csv") is None
    assert store.list_by_status("PENDING").items == []
    assert store.get("sha256:" + SHA) is not None  # by key only, never listed


def test_files_without_data_rows_are_never_duplicates(
    s3: Any, store: JobStore, lenient: None
) -> None:
    for key in ("raw/monday.csv", "raw/tuesday.csv"):  # no transactions either day
        state = put_source(s3, store, key, csv_bytes())
        assert validator.lambda_handler(state, FakeContext())["outcome"] == "VALID"


def test_a_duplicate_is_neither_failed_nor_stuck_for_the_quality_check(
    s3: Any, store: JobStore, clock: Any, lenient: None
) -> None:
    from etl_handlers.quality_check.logic import QualitySettings, run_quality_check

    first = put_source(s3, store, "raw/monday.csv", BODY)
    validator.lambda_handler(first, FakeContext())
    again = put_source(s3, store, "raw/monday-resent.csv", BODY)
    assert validator.lambda_handler(again, FakeContext())["outcome"] == "DUPLICATE"
    store.fail(first["jobId"], first["fileName"], step="transform", code="X", message="broke")
    clock.advance(hours=3)
    settings = QualitySettings(window=timedelta(hours=24), stuck_after=timedelta(minutes=60))
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=settings)
    assert (summary["failedJobs"], summary["stuckJobs"], summary["unreconciledJobs"]) == (1, 0, 0)


def test_a_manifest_is_never_a_pipeline_input_of_its_own(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    from etl_handlers.trigger.logic import handle_event

    from .handlers_testkit import s3_event

    result = handle_event(
        s3_event("raw/tx.csv.manifest.json"),
        store=store,
        sfn=sfn,
        s3=s3,
        state_machine_arn=sfn.state_machine_arn,
    )
    assert result == {
        "status": "ignored",
        "reason": "not a pipeline input: key must end with "
        + " or ".join(repr(s) for s in INPUT_SUFFIXES),
    }


class _Racing:
    """The moto client, with another job's takeover landing just before this one's."""

    def __init__(self, client: Any, store: JobStore, rival: str) -> None:
        self._client, self._store, self._rival = client, store, rival

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if kwargs["Key"]["jobId"]["S"].startswith("sha256:") and self._rival:
            rival, self._rival = self._rival, ""
            assert claim_content(self._store, SHA, job_id=rival, file_name="raw/r.csv") is None
        return self._client.update_item(**kwargs)


def test_two_takeovers_racing_leave_one_owner(store: JobStore, ddb: Any) -> None:
    for n, status in (("a", FAILED), ("c", "VALIDATING")):
        store.create(
            job_id=n * 32,
            file_name=f"raw/{n}.csv",
            bucket=BUCKET,
            version_id=None,
            etag="e",
            size_bytes=1,
        )
        if status == FAILED:
            store.fail(n * 32, f"raw/{n}.csv", step=None, code="X", message="broke")
    assert claim_content(store, SHA, job_id="a" * 32, file_name="raw/a.csv") is None
    racing = JobStore(TABLE, client=_Racing(ddb, store, rival="c" * 32), clock=store.now)
    # the rival (running) took the failed job's bytes first: this job is its duplicate
    assert claim_content(racing, SHA, job_id="b" * 32, file_name="raw/b.csv") == "c" * 32


def test_a_fault_of_the_content_claim_is_not_taken_for_a_duplicate(
    store: JobStore, ddb: Any
) -> None:
    from botocore.exceptions import ClientError

    class Broken:
        def put_item(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"
            )

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        claim_content(JobStore(TABLE, client=Broken()), SHA, job_id="a" * 32, file_name="raw/a.csv")
