"""The trigger: one job and one execution per object version, whatever the delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from etl_handlers.app.ingest import execution_arn_for, execution_input, start_job
from etl_handlers.aws.jobs import FAILED, PENDING, JobStore
from etl_handlers.aws.s3io import ObjectInfo
from etl_handlers.contract import INPUT_SUFFIXES
from etl_handlers.core import keys
from etl_handlers.trigger import handler
from etl_handlers.trigger.logic import candidate_keys, handle_event, parse_event

from .handlers_testkit import BUCKET, FakeContext, emf_metrics, event_for_upload, s3_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def run(event: dict[str, Any], store: JobStore, s3: Any, sfn: Any) -> dict[str, Any]:
    return handle_event(
        event,
        store=store,
        sfn=sfn,
        s3=s3,
        state_machine_arn=sfn.state_machine_arn,
        data_bucket=BUCKET,
    )


def executions(sfn: Any) -> list[dict[str, Any]]:
    return sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"]


def upload(s3: Any, key: str, body: bytes = b"a,b\n") -> dict[str, Any]:
    return event_for_upload(s3.put_object(Bucket=BUCKET, Key=key, Body=body), key, len(body))


def test_an_upload_creates_a_job_and_starts_its_execution(
    versioned_s3: Any, store: JobStore, sfn: Any
) -> None:
    event = upload(versioned_s3, "raw/2026/tx.csv")
    version = event["detail"]["object"]["version-id"]
    result = run(event, store, versioned_s3, sfn)
    job_id = keys.job_id(BUCKET, "raw/2026/tx.csv", version)
    assert result["status"] == "started" and result["created"] is True
    assert result["jobId"] == job_id
    [execution] = executions(sfn)
    assert execution["name"] == job_id
    assert result["executionArn"] == execution["executionArn"]
    job = store.require(job_id)
    assert job["status"] == PENDING
    assert job["versionId"] == version and job["sizeBytes"] == 4
    assert job["executionArn"] == execution["executionArn"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started == {
        "jobId": job_id,
        "attempt": 1,
        "jobFolder": job_id,
        "bucket": BUCKET,
        "key": "raw/2026/tx.csv",
        "versionId": version,
        "fileName": "raw/2026/tx.csv",
        "sizeBytes": 4,
        "failedKey": f"failed/{job_id}/tx.csv",
        "copySource": f"{BUCKET}/raw/2026/tx.csv?versionId={version}",
    }


def test_the_same_event_twice_creates_one_job_and_one_execution(
    versioned_s3: Any, store: JobStore, sfn: Any
) -> None:
    event = upload(versioned_s3, "raw/tx.csv")
    first = run(event, store, versioned_s3, sfn)
    second = run(event, store, versioned_s3, sfn)
    assert second == {**first, "status": "existing", "created": False}
    assert len(executions(sfn)) == 1
    assert len(store.list_by_status(PENDING).items) == 1


def test_a_new_version_of_the_same_key_is_a_new_job(
    versioned_s3: Any, store: JobStore, sfn: Any
) -> None:
    first = run(upload(versioned_s3, "raw/tx.csv", b"1"), store, versioned_s3, sfn)
    second = run(upload(versioned_s3, "raw/tx.csv", b"2"), store, versioned_s3, sfn)
    assert first["jobId"] != second["jobId"]
    assert len(executions(sfn)) == 2


def test_unversioned_bucket_identifies_the_job_by_etag(s3: Any, store: JobStore, sfn: Any) -> None:
    event = upload(s3, "raw/tx.csv")
    etag = event["detail"]["object"]["etag"]
    result = run(event, store, s3, sfn)
    assert result["jobId"] == keys.job_id(BUCKET, "raw/tx.csv", etag)
    job = store.require(result["jobId"])
    assert "versionId" not in job and job["etag"] == etag
    execution_arn = executions(sfn)[0]["executionArn"]
    started = json.loads(sfn.describe_execution(executionArn=execution_arn)["input"])
    assert started["versionId"] is None
    assert started["copySource"] == f"{BUCKET}/raw/tx.csv"
    # Same bytes uploaded again: same ETag, same job, nothing new.
    assert run(upload(s3, "raw/tx.csv"), store, s3, sfn)["status"] == "existing"
    # Different bytes: a new job.
    assert run(upload(s3, "raw/tx.csv", b"x,y\n"), store, s3, sfn)["created"] is True


def test_a_null_version_id_means_unversioned(s3: Any, store: JobStore, sfn: Any) -> None:
    event = upload(s3, "raw/tx.csv")
    event["detail"]["object"]["version-id"] = "null"  # a suspended bucket
    result = run(event, store, s3, sfn)
    etag = event["detail"]["object"]["etag"]
    assert result["jobId"] == keys.job_id(BUCKET, "raw/tx.csv", etag)


@pytest.mark.parametrize(
    "key",
    [
        "processed/x/tx.jsonl",
        "raw/tx.txt",
        "raw/../validated/tx.csv",
        "reports/2026.json",
        "tx.csv",
        "raw/folder/",
    ],
)
def test_keys_that_are_not_pipeline_inputs_are_ignored(
    s3: Any, store: JobStore, sfn: Any, key: str
) -> None:
    result = run(s3_event(key), store, s3, sfn)
    assert result["status"] == "ignored"
    assert executions(sfn) == []
    assert store.list_by_status(PENDING).items == []


def test_other_events_and_buckets_are_ignored(s3: Any, store: JobStore, sfn: Any) -> None:
    assert (
        run(s3_event("raw/a.csv", detail_type="Object Deleted"), store, s3, sfn)["status"]
        == "ignored"
    )
    assert (
        run(s3_event("raw/a.csv", bucket="someone-else"), store, s3, sfn)["reason"]
        == "bucket someone-else is not the pipeline's bucket"
    )
    assert (
        run({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}, store, s3, sfn)[
            "status"
        ]
        == "ignored"
    )
    assert run({}, store, s3, sfn)["status"] == "ignored"
    assert executions(sfn) == []


def test_a_record_without_an_execution_gets_one(s3: Any, store: JobStore, sfn: Any) -> None:
    """A crash between creating the record and starting the execution heals on redelivery."""
    event = upload(s3, "raw/tx.csv")
    obj = event["detail"]["object"]
    store.create(
        job_id=keys.job_id(BUCKET, "raw/tx.csv", obj["etag"]),
        file_name="raw/tx.csv",
        bucket=BUCKET,
        version_id=None,
        etag=obj["etag"],
        size_bytes=obj["size"],
    )
    result = run(event, store, s3, sfn)
    assert result["created"] is False and result["status"] == "started"
    assert len(executions(sfn)) == 1
    assert store.require(result["jobId"])["executionArn"] == result["executionArn"]


def test_an_execution_that_already_exists_is_fine(s3: Any, store: JobStore, sfn: Any) -> None:
    """Started, then the record update was lost: the next attempt adopts the execution."""
    info = ObjectInfo(BUCKET, "raw/tx.csv", None, "etag1", 4)
    job_id = keys.job_id(BUCKET, "raw/tx.csv", "etag1")
    store.create(
        job_id=job_id,
        file_name="raw/tx.csv",
        bucket=BUCKET,
        version_id=None,
        etag="etag1",
        size_bytes=4,
    )
    sfn.start_execution(
        stateMachineArn=sfn.state_machine_arn, name=job_id, input=json.dumps({"other": "input"})
    )
    started = start_job(info, store=store, sfn=sfn, state_machine_arn=sfn.state_machine_arn)
    assert started.started is False and started.created is False
    expected = execution_arn_for(sfn.state_machine_arn, job_id)
    assert started.job["executionArn"] == expected == executions(sfn)[0]["executionArn"]
    assert len(executions(sfn)) == 1


def test_a_finished_job_is_not_started_again(s3: Any, store: JobStore, sfn: Any) -> None:
    info = ObjectInfo(BUCKET, "raw/tx.csv", None, "etag1", 4)
    job_id = keys.job_id(BUCKET, "raw/tx.csv", "etag1")
    store.create(
        job_id=job_id,
        file_name="raw/tx.csv",
        bucket=BUCKET,
        version_id=None,
        etag="etag1",
        size_bytes=4,
    )
    store.fail(job_id, "raw/tx.csv", step=None, code="X", message="y")
    started = start_job(info, store=store, sfn=sfn, state_machine_arn=sfn.state_machine_arn)
    assert started.job["status"] == FAILED and not started.started
    assert executions(sfn) == []


def test_start_errors_other_than_already_exists_propagate(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    from botocore.exceptions import ClientError

    info = ObjectInfo(BUCKET, "raw/tx.csv", None, "etag1", 4)
    missing = sfn.state_machine_arn.replace("etl-workflow-test", "nope")
    with pytest.raises(ClientError):
        start_job(info, store=store, sfn=sfn, state_machine_arn=missing)


def test_candidate_keys() -> None:
    assert candidate_keys("raw/plain.csv") == ["raw/plain.csv"]
    assert candidate_keys("raw/a+b.csv") == ["raw/a b.csv", "raw/a+b.csv"]
    assert candidate_keys("raw/caf%C3%A9.csv") == ["raw/café.csv", "raw/caf%C3%A9.csv"]


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("raw/daily report.csv", "raw/daily+report.csv"),  # S3's encoding of a space
        ("raw/daily report.csv", "raw/daily%20report.csv"),
        ("raw/café (1).csv", "raw/caf%C3%A9+%281%29.csv"),
        ("raw/a+b.csv", "raw/a%2Bb.csv"),  # a literal plus, encoded
        ("raw/a+b.csv", "raw/a+b.csv"),  # a literal plus, sent unencoded
        ("raw/100%.csv", "raw/100%.csv"),  # unencoded, not valid percent-encoding
        ("raw/50%25.csv", "raw/50%25.csv"),  # unencoded, but looks encoded
        ("raw/x%0A.csv", "raw/x%0A.csv"),  # decoded, it would not be a pipeline input
    ],
)
def test_encoded_keys_resolve_to_the_object_that_exists(
    versioned_s3: Any, store: JobStore, sfn: Any, stored: str, sent: str
) -> None:
    response = versioned_s3.put_object(Bucket=BUCKET, Key=stored, Body=b"a,b\n")
    result = run(event_for_upload(response, sent, 4), store, versioned_s3, sfn)
    assert result["status"] == "started"
    assert store.require(result["jobId"])["fileName"] == stored
    assert result["jobId"] == keys.job_id(BUCKET, stored, response["VersionId"])


def test_both_readings_exist_and_the_version_decides(
    versioned_s3: Any, store: JobStore, sfn: Any
) -> None:
    versioned_s3.put_object(Bucket=BUCKET, Key="raw/a b.csv", Body=b"1")
    response = versioned_s3.put_object(Bucket=BUCKET, Key="raw/a+b.csv", Body=b"2")
    result = run(event_for_upload(response, "raw/a+b.csv", 1), store, versioned_s3, sfn)
    assert store.require(result["jobId"])["fileName"] == "raw/a+b.csv"


def test_an_unversioned_ambiguous_key_is_decided_by_etag(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/a b.csv", Body=b"1")
    response = s3.put_object(Bucket=BUCKET, Key="raw/a+b.csv", Body=b"2")
    result = run(event_for_upload(response, "raw/a+b.csv", 1), store, s3, sfn)
    assert store.require(result["jobId"])["fileName"] == "raw/a+b.csv"


def test_an_ambiguous_key_that_is_gone_uses_the_decoded_reading(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    result = run(s3_event("raw/gone+file.csv"), store, s3, sfn)
    assert store.require(result["jobId"])["fileName"] == "raw/gone file.csv"


def test_an_event_without_size_reads_it_from_s3(s3: Any, store: JobStore, sfn: Any) -> None:
    response = s3.put_object(Bucket=BUCKET, Key="raw/tx.csv", Body=b"12345")
    event = s3_event("raw/tx.csv", etag=response["ETag"].strip('"'), size=None)
    result = run(event, store, s3, sfn)
    assert store.require(result["jobId"])["sizeBytes"] == 5
    assert run(s3_event("raw/none.csv", size=None), store, s3, sfn)["status"] == "ignored"


def test_parse_event_fields() -> None:
    parsed = parse_event(s3_event("raw/a.csv", version_id="v1", etag="e", size=3))
    assert parsed is not None
    assert (parsed.bucket, parsed.raw_key, parsed.version_id, parsed.etag, parsed.size) == (
        BUCKET,
        "raw/a.csv",
        "v1",
        "e",
        3,
    )
    assert parse_event(s3_event("raw/a.csv", size=None)).size is None  # type: ignore[union-attr]


def test_execution_input_is_deterministic() -> None:
    job = {
        "jobId": "j" * 32,
        "bucket": "b",
        "fileName": "raw/a b.csv",
        "sizeBytes": 1,
        "versionId": "v1",
        "status": PENDING,
    }
    assert execution_input(job) == execution_input(dict(reversed(list(job.items()))))
    assert execution_input(job)["copySource"] == "b/raw/a%20b.csv?versionId=v1"


def test_lambda_handler_counts_each_new_file_once(
    versioned_s3: Any, ddb: Any, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    event = upload(versioned_s3, "raw/tx.csv")
    first = handler.lambda_handler(event, FakeContext())
    assert emf_metrics(capsys.readouterr().out) == {"FilesReceived": 1}
    second = handler.lambda_handler(event, FakeContext())
    assert emf_metrics(capsys.readouterr().out) == {}
    assert first["jobId"] == second["jobId"] and second["status"] == "existing"
    ignored = handler.lambda_handler(s3_event("processed/x.jsonl"), FakeContext())
    assert ignored["status"] == "ignored"


def logged(
    event: dict[str, Any], store: JobStore, s3: Any, sfn: Any
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """``handle_event``'s result and the log lines it wrote."""
    lines: list[tuple[str, dict[str, Any]]] = []
    result = handle_event(
        event,
        store=store,
        sfn=sfn,
        s3=s3,
        state_machine_arn=sfn.state_machine_arn,
        log=lambda message, **fields: lines.append((message, fields)),
    )
    return result, lines


def test_ignored_events_are_logged_with_the_reason(s3: Any, store: JobStore, sfn: Any) -> None:
    _, lines = logged(s3_event("raw/notes.txt"), store, s3, sfn)
    assert lines == [
        (
            "event ignored",
            {
                "reason": "not a pipeline input: key must end with "
                + " or ".join(repr(s) for s in INPUT_SUFFIXES),
                "key": "raw/notes.txt",
            },
        )
    ]


def test_without_read_access_an_ambiguous_key_uses_the_decoded_reading(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def head_object(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    result = handle_event(
        s3_event("raw/a+b.csv"),
        store=store,
        sfn=sfn,
        s3=Denied(),
        state_machine_arn=sfn.state_machine_arn,
    )
    assert store.require(result["jobId"])["fileName"] == "raw/a b.csv"


def test_other_head_errors_propagate(s3: Any, store: JobStore, sfn: Any) -> None:
    from botocore.exceptions import ClientError

    class Broken:
        def head_object(self, **kwargs: Any) -> Any:
            raise ClientError(
                {
                    "Error": {"Code": "409", "Message": "Conflict"},
                    "ResponseMetadata": {"HTTPStatusCode": 409},
                },
                "HeadObject",
            )

    with pytest.raises(ClientError):
        handle_event(
            s3_event("raw/a%ZZ+b.csv"),
            store=store,
            sfn=sfn,
            s3=Broken(),
            state_machine_arn=sfn.state_machine_arn,
        )


CARD_KEY = "raw/statements/statement-4111111111111111.csv"


def test_a_file_named_after_a_card_number_is_recorded_failed_and_never_run(
    versioned_s3: Any, ddb: Any, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The number would reach every output row, the execution history and the logs: the
    job is FAILED CARD_NUMBER_IN_NAME under the masked name, nothing starts, the object
    stays, and a second delivery changes nothing."""
    event = upload(versioned_s3, CARD_KEY)
    version = event["detail"]["object"]["version-id"]
    result = handler.lambda_handler(event, FakeContext())
    out = capsys.readouterr().out
    job_id = keys.job_id(BUCKET, CARD_KEY, version)
    assert result["status"] == "refused" and result["jobId"] == job_id
    assert result["error"]["code"] == "CARD_NUMBER_IN_NAME"
    job = JobStore().require(job_id)
    assert job["status"] == FAILED and job["error"] == result["error"]
    assert job["fileName"] == "raw/statements/statement-************1111.csv"
    assert "rename the file" in job["error"]["message"]
    assert executions(sfn) == []
    assert versioned_s3.head_object(Bucket=BUCKET, Key=CARD_KEY)["VersionId"] == version
    assert emf_metrics(out) == {"FilesReceived": 1, "FilesFailed": 1}
    again, lines = logged(event, JobStore(), versioned_s3, sfn)
    assert again["status"] == "refused" and again["created"] is False
    assert lines == [
        (
            "file refused",
            {"job_id": job_id, "key": job["fileName"], "code": "CARD_NUMBER_IN_NAME"},
        )
    ]
    assert JobStore().require(job_id) == job


def test_an_ignored_key_is_logged_with_card_numbers_masked(
    s3: Any, store: JobStore, sfn: Any
) -> None:
    _, lines = logged(s3_event("raw/statement-4111111111111111.txt"), store, s3, sfn)
    [(message, fields)] = lines
    assert message == "event ignored" and fields["key"] == "raw/statement-************1111.txt"
