"""Validate -> Transform -> Enrich against moto S3 and DynamoDB: outputs, job record,
results, and every way a step can end."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from etl_handlers.app import steps
from etl_handlers.aws.jobs import (
    ENRICHING,
    FAILED,
    PENDING,
    SUCCEEDED,
    TRANSFORMING,
    VALIDATING,
    JobStore,
)
from etl_handlers.aws.s3io import ObjectNotFound
from etl_handlers.core import codes, keys
from etl_handlers.core.errors import ConfigurationError, TransientError
from etl_handlers.core.schema import load_schema
from etl_handlers.enricher.logic import enrich
from etl_handlers.transformer.logic import transform
from etl_handlers.validator.logic import validate

from .handlers_testkit import (
    BUCKET,
    HEADER,
    Recorder,
    all_keys,
    csv_bytes,
    exists,
    good_csv,
    put_source,
    read,
    row,
    step_event,
)

SCHEMA = load_schema(None)
RATE = Decimal("0.25")
KEY = "raw/2026/tx.csv"


def run_validate(event: dict[str, Any], store: JobStore, s3: Any, **kw: Any) -> dict[str, Any]:
    return validate(event, store=store, s3=s3, schema=SCHEMA, max_reject_rate=RATE, **kw)


def run_transform(
    event: dict[str, Any], store: JobStore, s3: Any, fmt: str = "jsonl", **kw: Any
) -> dict[str, Any]:
    return transform(event, store=store, s3=s3, schema=SCHEMA, output_format=fmt, **kw)


def run_enrich(
    event: dict[str, Any], store: JobStore, s3: Any, fmt: str = "jsonl", **kw: Any
) -> dict[str, Any]:
    return enrich(
        event, store=store, s3=s3, schema=SCHEMA, output_format=fmt, pipeline_version="1.2.3", **kw
    )


@pytest.fixture
def pipeline(s3: Any, store: JobStore) -> tuple[Any, JobStore]:
    return s3, store


def test_a_good_file_goes_all_the_way(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    body = good_csv(4) + (row(9, amount="abc") + "\n").encode()  # 1 reject of 5 = 20%
    event = put_source(s3, store, KEY, body)
    job = event["jobId"]
    metrics = Recorder()

    validated = run_validate(event, store, s3, metrics=metrics)
    assert validated == {
        "outcome": "VALID",
        "rows": {"input": 5, "valid": 4, "rejected": 1},
        "totals": {"EUR": {"count": 4, "debit": "20.00", "credit": "20.00"}},
        "outputs": {
            "validated": f"validated/{job}/tx.csv",
            "rejected": f"rejected/{job}/tx.rejected.jsonl",
        },
        "error": None,
    }
    assert metrics.metrics == {"RowsRejected": 1}
    assert store.require(job)["status"] == VALIDATING
    assert read(s3, f"validated/{job}/tx.csv").decode().splitlines()[0] == HEADER
    reject = json.loads(read(s3, f"rejected/{job}/tx.rejected.jsonl"))
    assert reject["row"] == 5 and reject["code"] == codes.INVALID_AMOUNT
    assert "4111111111111111" not in json.dumps(reject)

    transformed = run_transform(event, store, s3, metrics=metrics)
    assert transformed["outcome"] == "VALID" and transformed["rows"] == 4
    assert transformed["outputs"] == {"processed": f"processed/{job}/tx.jsonl"}
    assert transformed["totals"] == validated["totals"]
    assert store.require(job)["status"] == TRANSFORMING

    enriched = run_enrich(event, store, s3, metrics=metrics)
    assert enriched == {
        "outcome": "VALID",
        "rows": 4,
        "totals": validated["totals"],
        "outputs": {"enriched": f"enriched/{job}/tx.jsonl"},
        "error": None,
    }
    assert metrics.metrics == {"RowsRejected": 1, "FilesSucceeded": 1, "RowsProcessed": 4}
    lines = [json.loads(x) for x in read(s3, f"enriched/{job}/tx.jsonl").splitlines()]
    assert len(lines) == 4
    assert {x["job_id"] for x in lines} == {job}
    assert {x["pipeline_version"] for x in lines} == {"1.2.3"}
    assert {x["source_key"] for x in lines} == {KEY}
    assert all(x["card_number"] == "************1111" for x in lines)

    record = store.require(job)
    assert record["status"] == SUCCEEDED
    assert record["rows"] == {
        "input": 5,
        "valid": 4,
        "rejected": 1,
        "transformed": 4,
        "enriched": 4,
    }
    assert set(record["totals"]) == {"validate", "transform", "enrich"}
    assert record["outputs"] == {
        "validated": f"validated/{job}/tx.csv",
        "rejected": f"rejected/{job}/tx.rejected.jsonl",
        "processed": f"processed/{job}/tx.jsonl",
        "enriched": f"enriched/{job}/tx.jsonl",
    }
    for step in ("validate", "transform", "enrich"):
        assert set(record["steps"][step]) == {"startedAt", "finishedAt", "durationMs"}
    assert "error" not in record
    # No output object holds a card number; only the user's own raw/ file does.
    full_pan = "4111111111111111"
    for key in all_keys(s3):
        if not key.startswith("raw/"):
            assert full_pan not in read(s3, key).decode(), key


def test_parquet_outputs(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(3))
    job = event["jobId"]
    run_validate(event, store, s3)
    transformed = run_transform(event, store, s3, fmt="parquet")
    assert transformed["outputs"] == {"processed": f"processed/{job}/tx.parquet"}
    assert read(s3, f"processed/{job}/tx.parquet")[:4] == b"PAR1"
    enriched = run_enrich(event, store, s3, fmt="parquet")
    assert enriched["outcome"] == "VALID" and enriched["rows"] == 3
    head = s3.head_object(Bucket=BUCKET, Key=f"enriched/{job}/tx.parquet")
    assert head["ContentType"] == "application/vnd.apache.parquet"


def test_enrich_reads_the_format_the_transformer_wrote(pipeline: tuple[Any, JobStore]) -> None:
    """A deploy between the two steps may change ETL_OUTPUT_FORMAT: enrich still reads the
    processed object as what it is."""
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    run_validate(event, store, s3)
    run_transform(event, store, s3, fmt="parquet")
    enriched = run_enrich(event, store, s3, fmt="jsonl")
    assert enriched["outcome"] == "VALID"
    assert enriched["outputs"]["enriched"].endswith(".jsonl")


def test_no_rejects_means_no_reject_file(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    result = run_validate(event, store, s3)
    assert result["outputs"]["rejected"] is None
    assert not exists(s3, "rejected/")
    assert "rejected" not in store.require(event["jobId"])["outputs"]


def test_too_many_rejects_fail_the_file_but_keep_the_reject_file(
    pipeline: tuple[Any, JobStore],
) -> None:
    s3, store = pipeline
    body = csv_bytes(row(1), row(2, currency="XXX"), row(3, amount="-1"))
    event = put_source(s3, store, KEY, body)
    metrics = Recorder()
    result = run_validate(event, store, s3, metrics=metrics)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == codes.REJECT_RATE_EXCEEDED
    assert result["rows"] == {"input": 3, "valid": 1, "rejected": 2}
    assert result["outputs"] == {
        "validated": None,
        "rejected": f"rejected/{event['jobId']}/tx.rejected.jsonl",
    }
    assert not exists(s3, "validated/")
    assert len(read(s3, result["outputs"]["rejected"]).splitlines()) == 2
    assert metrics.metrics == {"RowsRejected": 2, "FilesFailed": 1}
    record = store.require(event["jobId"])
    assert record["status"] == VALIDATING  # the failure branch, not the step, marks FAILED
    assert record["error"]["code"] == codes.REJECT_RATE_EXCEEDED
    assert record["error"]["step"] == "validate"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", codes.EMPTY_FILE),
        (b"transaction_id,amount\nt-1,1.00\n", codes.MISSING_COLUMN),
        (csv_bytes(row(1)) + b"\xff\xfe broken\n", codes.NOT_UTF8),
    ],
)
def test_a_broken_file_fails_as_a_whole_with_no_outputs(
    pipeline: tuple[Any, JobStore], body: bytes, code: str
) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, body)
    result = run_validate(event, store, s3)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == code
    assert result["outputs"] == {"validated": None, "rejected": None}
    assert all_keys(s3) == [KEY]
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_card_numbers_never_reach_errors(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    body = b"transaction_id,4111111111111111\nx,y\n"
    event = put_source(s3, store, KEY, body)
    result = run_validate(event, store, s3)
    assert result["outcome"] == "INVALID"
    assert "4111111111111111" not in json.dumps(result)
    assert "4111111111111111" not in json.dumps(store.require(event["jobId"]))


def test_a_retried_step_overwrites_its_output(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    first = run_validate(event, store, s3)
    second = run_validate(event, store, s3)
    assert first == second
    assert [k for k in all_keys(s3) if k.startswith("validated/")] == [
        first["outputs"]["validated"]
    ]
    assert store.require(event["jobId"])["status"] == VALIDATING


@pytest.mark.parametrize("late", ["validate", "transform", "enrich"])
def test_a_late_step_after_failed_changes_nothing(
    pipeline: tuple[Any, JobStore], late: str
) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    run_validate(event, store, s3)
    run_transform(event, store, s3)
    store.fail(event["jobId"], KEY, step=None, code="States.Timeout", message="timed out")
    before_keys = all_keys(s3)
    before = store.require(event["jobId"])
    metrics = Recorder()
    runner = {"validate": run_validate, "transform": run_transform, "enrich": run_enrich}[late]
    result = runner(event, store, s3, metrics=metrics)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == steps.JOB_NOT_RUNNABLE
    assert "FAILED" in result["error"]["message"]
    assert all_keys(s3) == before_keys
    assert store.require(event["jobId"]) == before
    assert metrics.metrics == {}


def test_steps_out_of_order_are_refused(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    result = run_enrich(event, store, s3)
    assert result["error"]["code"] == steps.JOB_NOT_RUNNABLE
    assert result == {
        "outcome": "INVALID",
        "rows": 0,
        "totals": {},
        "outputs": {"enriched": None},
        "error": result["error"],
    }
    assert store.require(event["jobId"])["status"] == PENDING
    assert all_keys(s3) == [KEY]


def test_a_repeated_enrich_after_success_replays_the_result(
    pipeline: tuple[Any, JobStore],
) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    run_validate(event, store, s3)
    run_transform(event, store, s3)
    first = run_enrich(event, store, s3)
    metrics = Recorder()
    again = run_enrich(event, store, s3, metrics=metrics)
    assert again == first
    assert metrics.metrics == {}  # the file is counted once
    assert store.require(event["jobId"])["status"] == SUCCEEDED


def test_unknown_job_is_not_runnable(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=good_csv(1))
    event = {"jobId": "f" * 32, "bucket": BUCKET, "key": KEY, "fileName": KEY}
    result = run_validate(event, store, s3)
    assert result["error"]["code"] == steps.JOB_NOT_RUNNABLE
    assert store.get("f" * 32) is None


def test_deleted_source_is_a_clean_data_failure(versioned_s3: Any, store: JobStore) -> None:
    event = put_source(versioned_s3, store, KEY, good_csv(2))
    versioned_s3.delete_object(Bucket=BUCKET, Key=KEY, VersionId=event["versionId"])
    result = run_validate(event, store, versioned_s3)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == steps.SOURCE_MISSING
    assert store.require(event["jobId"])["error"]["code"] == steps.SOURCE_MISSING


def test_a_versioned_source_is_read_at_its_version(versioned_s3: Any, store: JobStore) -> None:
    event = put_source(versioned_s3, store, KEY, good_csv(2))
    versioned_s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"garbage")
    assert run_validate(event, store, versioned_s3)["rows"]["valid"] == 2


def test_an_overwritten_unversioned_source_is_noticed(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    assert event["versionId"] is None
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=good_csv(3))
    result = run_validate(event, store, s3)
    assert result["error"]["code"] == steps.SOURCE_CHANGED


def test_a_corrupt_intermediate_fails_the_file(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    validated = run_validate(event, store, s3)
    s3.put_object(
        Bucket=BUCKET, Key=validated["outputs"]["validated"], Body=csv_bytes(row(1, amount="oops"))
    )
    metrics = Recorder()
    result = run_transform(event, store, s3, metrics=metrics)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == codes.INVALID_INPUT
    assert result["outputs"] == {"processed": None}
    assert not exists(s3, "processed/")
    assert metrics.metrics == {"FilesFailed": 1}


def test_a_missing_intermediate_is_a_fault(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    validated = run_validate(event, store, s3)
    s3.delete_object(Bucket=BUCKET, Key=validated["outputs"]["validated"])
    with pytest.raises(ObjectNotFound):
        run_transform(event, store, s3)


def test_totals_that_do_not_reconcile_stop_the_job(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    run_validate(event, store, s3)
    run_transform(event, store, s3)
    # Someone tampered with the processed records: one amount changed.
    processed = f"processed/{event['jobId']}/tx.jsonl"
    text = read(s3, processed).decode().replace('"10.00"', '"11.00"', 1)
    s3.put_object(Bucket=BUCKET, Key=processed, Body=text.encode())
    metrics = Recorder()
    result = run_enrich(event, store, s3, metrics=metrics)
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == steps.RECONCILIATION_FAILED
    assert "EUR totals differ" in result["error"]["message"]
    assert result["outputs"] == {"enriched": None}
    assert not exists(s3, "enriched/")
    record = store.require(event["jobId"])
    assert record["status"] == ENRICHING
    assert record["error"]["code"] == steps.RECONCILIATION_FAILED
    assert metrics.metrics == {"FilesFailed": 1}


class FlakyS3:
    """An S3 client whose calls named in ``fail`` raise ``error``; others go to moto."""

    def __init__(self, client: Any, fail: set[str], error: Exception) -> None:
        self._client, self._fail, self._error = client, fail, error

    def __getattr__(self, name: str) -> Any:
        if name in self._fail:

            def boom(*args: Any, **kwargs: Any) -> Any:
                raise self._error

            return boom
        return getattr(self._client, name)


def throttled(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, operation
    )


def test_throttling_is_a_transient_error_and_leaves_no_output(
    pipeline: tuple[Any, JobStore],
) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    flaky = FlakyS3(s3, {"put_object"}, throttled("PutObject"))
    with pytest.raises(TransientError, match="SlowDown"):
        run_validate(event, store, flaky)
    assert all_keys(s3) == [KEY]
    # The retry succeeds and re-enters the same status.
    assert run_validate(event, store, s3)["outcome"] == "VALID"


def test_throttled_job_table_is_a_transient_error(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))
    ddb = FlakyS3(
        store.client,
        {"update_item"},
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"),
    )
    flaky_store = JobStore(store.table_name, client=ddb)
    with pytest.raises(TransientError):
        run_validate(event, flaky_store, s3)


def test_a_job_failed_while_the_step_ran_keeps_its_status(
    pipeline: tuple[Any, JobStore],
) -> None:
    """The failure branch (e.g. after a timeout) wins over an attempt still running."""
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))

    class FailsJobOnWrite:
        def __getattr__(self, name: str) -> Any:
            attribute = getattr(s3, name)
            if name != "put_object":
                return attribute

            def put(**kwargs: Any) -> Any:
                store.fail(event["jobId"], KEY, step=None, code="States.Timeout", message="x")
                return attribute(**kwargs)

            return put

    metrics = Recorder()
    result = run_validate(event, store, FailsJobOnWrite(), metrics=metrics)
    assert result["error"]["code"] == steps.JOB_NOT_RUNNABLE
    record = store.require(event["jobId"])
    assert record["status"] == FAILED
    assert record["error"]["code"] == "States.Timeout"
    assert metrics.metrics == {}


def test_malformed_payload_is_a_fault(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    with pytest.raises(ValueError, match="jobId, bucket"):
        run_validate({"key": KEY}, store, s3)
    with pytest.raises(ValueError, match="JSON object"):
        run_validate([], store, s3)  # type: ignore[arg-type]


def test_step_event_reading() -> None:
    parsed = steps.StepEvent.from_event(
        {"jobId": "j", "bucket": "b", "key": "raw/a.csv", "versionId": "null"}
    )
    assert parsed.file_name == "raw/a.csv" and parsed.version_id is None
    job = {"jobId": "j", "bucket": "b", "versionId": "v", "sizeBytes": 1}
    assert steps.StepEvent.from_event(step_event(job, "raw/a.csv")).version_id == "v"


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert steps.output_format_from_env() == "jsonl"
    monkeypatch.setenv("ETL_OUTPUT_FORMAT", " Parquet ")
    assert steps.output_format_from_env() == "parquet"
    monkeypatch.setenv("ETL_OUTPUT_FORMAT", "csv")
    with pytest.raises(ConfigurationError, match="ETL_OUTPUT_FORMAT"):
        steps.output_format_from_env()
    assert steps.max_reject_rate_from_env() == Decimal("0.05")
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0.5")
    assert steps.max_reject_rate_from_env() == Decimal("0.5")
    for bad in ("abc", "-0.1", "1.5", "NaN"):
        monkeypatch.setenv("ETL_MAX_REJECT_RATE", bad)
        with pytest.raises(ConfigurationError, match="ETL_MAX_REJECT_RATE"):
            steps.max_reject_rate_from_env()
    assert steps.schema_from_env() is steps.schema_from_env()
    with pytest.raises(ConfigurationError):
        steps.format_of("processed/x/a.csv")


def test_reconcile_job_reports_missing_figures() -> None:
    assert steps.reconcile_job({}) == [
        "no row count 'input' recorded",
        "no row count 'valid' recorded",
        "no row count 'rejected' recorded",
        "no row count 'transformed' recorded",
        "no row count 'enriched' recorded",
        "no validate totals recorded",
        "no transform totals recorded",
        "no enrich totals recorded",
    ]
    bad = {
        "rows": {"input": 1, "valid": 1, "rejected": 0, "transformed": 1, "enriched": 1},
        "totals": {
            "validate": {"EUR": {"count": 1, "debit": "1.001", "credit": "0"}},
            "transform": {},
            "enrich": {},
        },
    }
    assert steps.reconcile_job(bad)[0].startswith("validate totals unreadable")


def test_keys_used_are_the_contract_keys(pipeline: tuple[Any, JobStore]) -> None:
    s3, store = pipeline
    event = put_source(s3, store, "raw/Deep/Path/My File.CSV", good_csv(1))
    job = event["jobId"]
    result = run_validate(event, store, s3)
    assert result["outputs"]["validated"] == keys.validated_key(job, "raw/Deep/Path/My File.CSV")
    assert result["outputs"]["validated"] == f"validated/{job}/My File.csv"


def test_an_invalid_outcome_always_carries_an_error(pipeline: tuple[Any, JobStore]) -> None:
    """A body that says INVALID but gives no reason (a bug) still returns and records an
    ``error`` with a code and a message: the state machine reads ``error.code`` of every
    INVALID result, and a missing one would be an uncatchable States.Runtime there."""
    s3, store = pipeline
    event = put_source(s3, store, KEY, good_csv(2))

    def silent(ctx: steps.StepContext) -> steps.StepOutcome:
        return steps.empty_validation()  # INVALID, error None

    result = steps.run_step(
        "validate", event, silent, store=store, s3=s3, empty_result=steps.empty_validation
    )
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == codes.INVALID_WITHOUT_REASON
    assert "validate" in result["error"]["message"]
    recorded = store.require(event["jobId"])["error"]
    assert recorded == {**result["error"], "step": "validate"}
    # the result dict on its own, too
    bare = steps.StepOutcome(outcome="INVALID", rows={}, result_rows=0, totals=None, outputs={})
    assert bare.result()["error"]["code"] == codes.INVALID_WITHOUT_REASON
    assert (
        steps.StepOutcome(
            outcome="VALID", rows={}, result_rows=0, totals=None, outputs={}
        ).result()["error"]
        is None
    )


def test_each_step_logs_its_engine_report_and_counts_rows_on_the_reference_path(
    pipeline: tuple[Any, JobStore],
) -> None:
    """A bare CR (valid CSV) in a quoted merchant: the rows the columnar engine handed to
    the reference are logged with their reason (no value of the file) and published."""
    s3, store = pipeline
    body = csv_bytes(row(1), row(2, merchant='"Shop\rSecret 4111111111111111"'), row(3))
    event = put_source(s3, store, KEY, body)
    metrics = Recorder()
    logged: list[tuple[str, dict[str, Any]]] = []

    def log(message: str, **fields: Any) -> None:
        logged.append((message, fields))

    assert run_validate(event, store, s3, metrics=metrics, log=log)["outcome"] == "VALID"
    assert run_transform(event, store, s3, metrics=metrics, log=log)["outcome"] == "VALID"
    assert run_enrich(event, store, s3, metrics=metrics, log=log)["outcome"] == "VALID"
    reports = [fields for message, fields in logged if message == "engine report"]
    assert [fields["step"] for fields in reports] == ["validate", "transform", "enrich"]
    validate_report, transform_report, enrich_report = reports
    assert validate_report["engine"] == "columnar"
    assert validate_report["reasons"] == {"bare CR": {"rows": 1, "chunks": 1}}
    assert validate_report["rows"] == {"columnar": 2, "reference": 1}
    assert transform_report["reasons"] == {"bare CR": {"rows": 1, "chunks": 1}}
    assert enrich_report["rows"] == {"columnar": 3, "reference": 0}
    handed = validate_report["rows"]["reference"] + transform_report["rows"]["reference"]
    assert metrics.metrics["RowsOnReferencePath"] == handed == 2
    assert "4111111111111111" not in json.dumps(logged) and "Secret" not in json.dumps(logged)
