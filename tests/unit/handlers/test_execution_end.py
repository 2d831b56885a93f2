"""The trigger records jobs whose execution ended TIMED_OUT, ABORTED or FAILED without
recording them (the execution status rule's events), against moto DynamoDB."""

from __future__ import annotations

from typing import Any

import pytest
from etl_handlers.app.ingest import execution_arn_for
from etl_handlers.aws.jobs import ENRICHING, FAILED, PENDING, SUCCEEDED, VALIDATING, JobStore
from etl_handlers.core import codes
from etl_handlers.trigger import executions, handler

from .handlers_testkit import BUCKET, FakeContext

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:etl-state-machine-test"
JOB = "0123456789abcdef0123456789abcdef"
FILE = "raw/2026/tx.csv"
ARN = execution_arn_for(MACHINE, JOB)


def status_event(status: str, **detail: Any) -> dict[str, Any]:
    """What Step Functions sends to EventBridge when an execution ends so."""
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-20T14:00:00Z",
        "region": "us-east-1",
        "resources": [ARN],
        "detail": {
            "executionArn": ARN,
            "stateMachineArn": MACHINE,
            "name": JOB,
            "status": status,
            "startDate": 1_795_000_000_000,
            "stopDate": 1_795_018_360_000,
            "input": '{"jobId": "' + JOB + '"}',
            "inputDetails": {"included": True},
            "output": None,
            "outputDetails": None,
            "error": None,
            "cause": None,
            **detail,
        },
    }


def job_in(store: JobStore, status: str, *, execution: str | None = ARN) -> None:
    store.create(
        job_id=JOB, file_name=FILE, bucket=BUCKET, version_id="v1", etag="e", size_bytes=10
    )
    if execution:
        store.set_execution(JOB, FILE, execution)
    walk = {
        PENDING: [],
        VALIDATING: ["validate"],
        ENRICHING: ["validate", "transform", "enrich"],
    }
    if status in walk:
        for step in walk[status]:
            store.start_step(JOB, FILE, step)
            if step == "validate":
                store.finish_step(
                    JOB,
                    FILE,
                    step,
                    started_at=store.now(),
                    rows={"input": 7, "valid": 7, "rejected": 0},
                    totals={"EUR": {"count": 7, "debit": "7.00", "credit": "0.00"}},
                )
    elif status == FAILED:
        store.fail(JOB, FILE, step="validate", code="MISSING_COLUMN", message="no amount")
    elif status == SUCCEEDED:
        for step in ("validate", "transform", "enrich"):
            store.start_step(JOB, FILE, step)
        store.finish_step(JOB, FILE, "enrich", started_at=store.now(), succeed=True)


def record(event: dict[str, Any], store: JobStore) -> dict[str, Any]:
    return executions.record_execution_end(event, store=store, state_machine_arn=MACHINE)


@pytest.mark.parametrize(
    ("status", "running", "code", "step", "says"),
    [
        ("TIMED_OUT", ENRICHING, codes.EXECUTION_TIMED_OUT, "enrich", "ran past the state"),
        ("ABORTED", VALIDATING, codes.EXECUTION_ABORTED, "validate", "was stopped"),
        ("FAILED", PENDING, codes.EXECUTION_FAILED, None, "failed with States.Runtime"),
    ],
)
def test_a_job_its_execution_left_running_is_recorded_failed(
    store: JobStore, status: str, running: str, code: str, step: str | None, says: str
) -> None:
    job_in(store, running)
    cause = "The JSONPath '$.x' could not be found in the input '{\"card\": \"4111111111111111\"}'"
    result = record(status_event(status, error="States.Runtime", cause=cause), store)
    assert result == {"status": "recorded", "jobId": JOB, "code": code}
    job = store.require(JOB)
    assert job["status"] == FAILED
    assert job["error"]["code"] == code and job["error"].get("step") == step
    # the message points to the record's ARN (whole there; a message's digits are scrubbed)
    assert says in job["error"]["message"] and "executionArn" in job["error"]["message"]
    assert job["executionArn"] == ARN
    assert "4111" not in job["error"]["message"] and "JSONPath" not in job["error"]["message"]
    # what every FAILED job reports: the rows read, nothing published
    assert job["rows"] == {"read": 7 if running != PENDING else 0} and "totals" not in job
    assert job["failedAt"]


def test_a_failure_branch_that_could_not_record_leaves_its_message(store: JobStore) -> None:
    job_in(store, VALIDATING)
    message = "The validate step failed with ValueError; see the execution history."
    record(status_event("FAILED", error="JobFailed", cause=message), store)
    job = store.require(JOB)
    assert job["error"]["code"] == codes.EXECUTION_FAILED
    assert job["error"]["message"].endswith(message)


@pytest.mark.parametrize("final", [SUCCEEDED, FAILED])
@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_finished_job_never_moves(store: JobStore, final: str, status: str) -> None:
    """The usual FAILED event: the failure branch recorded the job already. And a job that
    SUCCEEDED before its execution timed out stays SUCCEEDED."""
    job_in(store, final)
    before = store.require(JOB)
    result = record(status_event(status, error="JobFailed", cause="x"), store)
    assert result == {"status": "unchanged", "jobId": JOB, "jobStatus": final}
    assert store.require(JOB) == before


def test_a_job_that_becomes_final_while_recording_is_left_alone(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_in(store, ENRICHING)
    read = store.get

    def read_then_succeed(job_id: str) -> Any:
        found = read(job_id)
        store.finish_step(JOB, FILE, "enrich", started_at=store.now(), succeed=True)
        return found

    monkeypatch.setattr(store, "get", read_then_succeed)
    result = record(status_event("TIMED_OUT"), store)
    monkeypatch.setattr(store, "get", read)
    assert result == {"status": "unchanged", "jobId": JOB, "jobStatus": SUCCEEDED}
    assert store.require(JOB)["status"] == SUCCEEDED


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"source": "aws.s3", "detail-type": "Object Created"}, "not the end"),
        (status_event("SUCCEEDED"), "not the end"),
        (status_event("RUNNING"), "not the end"),
        (status_event("FAILED", name="not-a-job-id"), "not the end"),
        (status_event("FAILED", executionArn=None), "not the end"),
        ({**status_event("FAILED"), "detail": "x"}, "not the end"),
        (status_event("FAILED", stateMachineArn=MACHINE + "-other"), "another state machine"),
        (status_event("FAILED", name="f" * 32), "no such job"),
        (status_event("FAILED", executionArn=ARN + "-older"), "not the job's execution"),
    ],
)
def test_other_events_change_nothing(store: JobStore, event: dict, reason: str) -> None:
    job_in(store, VALIDATING)
    before = store.require(JOB)
    result = record(event, store)
    assert result["status"] == "ignored" and reason in result["reason"]
    assert store.require(JOB) == before


def test_a_job_without_an_execution_arn_yet_is_recorded(store: JobStore) -> None:
    """The trigger crashed between starting the execution and recording its ARN."""
    job_in(store, PENDING, execution=None)
    assert record(status_event("ABORTED"), store)["status"] == "recorded"


def test_the_trigger_handler_routes_execution_events_to_the_recorder(
    store: JobStore, ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_STATE_MACHINE_ARN", MACHINE)
    job_in(store, VALIDATING)
    result = handler.lambda_handler(status_event("TIMED_OUT"), FakeContext())
    assert result["status"] == "recorded"
    assert store.require(JOB)["error"]["code"] == codes.EXECUTION_TIMED_OUT
