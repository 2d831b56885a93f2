"""Reprocess at handler level: ``POST /jobs/{jobId}/reprocess`` through the API function,
then the steps run with the input of the new execution, as the state machine would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from etl_handlers.app import reprocess as app_reprocess
from etl_handlers.app.ingest import execution_input
from etl_handlers.aws.jobs import FAILED, PENDING, SUCCEEDED, JobStore, TransitionRefused
from etl_handlers.core import keys
from etl_handlers.enricher import handler as enricher
from etl_handlers.transformer import handler as transformer
from etl_handlers.transformer import logic as transformer_logic
from etl_handlers.trigger.executions import record_execution_end
from etl_handlers.validator import handler as validator

from .handlers_testkit import BUCKET, FakeContext, all_keys, good_csv, put_source, read, row
from .test_api_handler import call, request

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def reprocess_call(job_id: str) -> tuple[int, Any]:
    event = request("POST", f"/jobs/{job_id}/reprocess")
    event["resource"] = event["requestContext"]["resourcePath"] = "/jobs/{jobId}/reprocess"
    event["pathParameters"] = {"jobId": job_id}
    return call(event)


def run_steps(state: dict[str, Any]) -> dict[str, Any]:
    """Validate, transform, enrich as the state machine chains them (stops at INVALID)."""
    for name, step in (
        ("validation", validator),
        ("transform", transformer),
        ("enrich", enricher),
    ):
        state[name] = step.lambda_handler(dict(state), FakeContext())
        if state[name]["outcome"] != "VALID":
            break
    return state


def started_input(sfn: Any, job: dict[str, Any]) -> dict[str, Any]:
    return json.loads(sfn.describe_execution(executionArn=job["executionArn"])["input"])


def enriched_ids(s3: Any, job: dict[str, Any]) -> list[str]:
    return [
        json.loads(line)["transaction_id"]
        for line in read(s3, job["outputs"]["enriched"]).splitlines()
    ]


@pytest.fixture
def pipeline(versioned_s3: Any, ddb: Any, sfn: Any, store: JobStore) -> Any:
    return versioned_s3


def test_attempt_keys_keep_the_first_attempt_as_it_was() -> None:
    job = "0" * 32
    assert keys.job_folder(job) == keys.job_folder(job, 1) == job
    assert keys.job_folder(job, 3) == f"{job}/a3"
    assert (
        keys.enriched_key(keys.job_folder(job, 2), "raw/x/tx.csv") == f"enriched/{job}/a2/tx.jsonl"
    )
    assert keys.execution_name(job) == job and keys.execution_name(job, 2) == f"{job}-a2"
    assert keys.job_of_execution(f"{job}-a2") == keys.job_of_execution(job) == job
    for name in (f"{job}-a1", f"{job}-a02", f"{job}-a", f"{job}-ax", "nope-a2", None, 7):
        assert keys.job_of_execution(name) is None
    for bad in (0, -1, True, "2", 1.0):
        with pytest.raises(ValueError):
            keys.job_folder(job, bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            keys.attempt_of(bad)
    assert keys.attempt_of(None) == 1


def test_reprocess_of_a_succeeded_job_replaces_its_outputs_as_a_whole(
    pipeline: Any, store: JobStore, sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_CURATED", "1")  # its curated files are replaced too
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(3)))
    first = store.require(state["jobId"])
    assert first["status"] == SUCCEEDED
    first_keys = sorted(k for k in all_keys(pipeline) if not k.startswith("raw/"))
    first_ids = enriched_ids(pipeline, first)

    status, body = reprocess_call(first["jobId"])
    assert status == 202
    assert body["attempt"] == 2 and body["job"]["status"] == PENDING
    job = store.require(first["jobId"])
    assert job["executionArn"].endswith(f":{first['jobId']}-a2")
    assert job["attempt"] == 2 and job["outputs"] == {} and job["rows"] == {}
    [history] = job["attempts"]
    assert history["attempt"] == 1 and history["status"] == SUCCEEDED
    assert history["rows"] == {
        "input": 3,
        "valid": 3,
        "rejected": 0,
        "transformed": 3,
        "enriched": 3,
    }
    assert history["outputs"] == first["outputs"]
    assert history["startedAt"] == first["createdAt"]
    new_input = started_input(sfn, job)
    assert new_input == {
        **execution_input(first),
        "attempt": 2,
        "jobFolder": f"{first['jobId']}/a2",
    }

    # While the new attempt runs, a reader of the first attempt's keys finds them whole.
    assert sorted(k for k in all_keys(pipeline) if not k.startswith("raw/")) == first_keys
    done = run_steps(new_input)
    assert done["enrich"]["outcome"] == "VALID"
    job = store.require(first["jobId"])
    assert job["status"] == SUCCEEDED and job["attempt"] == 2
    assert job["outputs"]["enriched"] == f"enriched/{first['jobId']}/a2/tx.jsonl"
    assert enriched_ids(pipeline, job) == first_ids
    # Once it SUCCEEDED, only the new attempt's objects are left.
    left = sorted(k for k in all_keys(pipeline) if not k.startswith("raw/"))
    curated = job["outputs"]["curated"]["transactions"]
    # the curated dataset too: the new attempt's files, named for it, and none of the first's
    assert curated and all(k.endswith(f"/{first['jobId']}-a2.parquet") for k in curated)
    assert left == sorted(
        [*(job["outputs"][name] for name in ("validated", "processed", "enriched")), *curated]
    )
    assert all(f"/{first['jobId']}/a2/" in k for k in left if not k.startswith("curated/"))


def test_reprocess_of_a_failed_job_after_the_fix(
    pipeline: Any, store: JobStore, sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = good_csv(2) + (row(3, currency="ZZZ") + "\n").encode()
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0")
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", body))
    assert state["validation"]["outcome"] == "INVALID"
    store.fail(
        state["jobId"], "raw/tx.csv", step="validate", code="REJECT_RATE_EXCEEDED", message="1 of 3"
    )
    failed = store.require(state["jobId"])

    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0.5")  # the fix: a looser rule
    status, answer = reprocess_call(state["jobId"])
    assert status == 202 and answer["attempt"] == 2
    job = store.require(state["jobId"])
    [history] = job["attempts"]
    assert history["status"] == FAILED and history["rows"] == {"read": 3}
    assert history["error"] == failed["error"] and "error" not in job and "failedAt" not in job
    done = run_steps(started_input(sfn, job))
    assert done["enrich"]["outcome"] == "VALID"
    job = store.require(state["jobId"])
    assert job["status"] == SUCCEEDED and job["rows"]["rejected"] == 1
    assert job["outputs"]["rejected"] == f"rejected/{state['jobId']}/a2/tx.rejected.jsonl"

    # a third attempt keeps the history in order
    assert reprocess_call(state["jobId"])[0] == 202
    assert [a["status"] for a in store.require(state["jobId"])["attempts"]] == [FAILED, SUCCEEDED]


def test_a_failed_reprocess_leaves_the_last_successful_outputs_in_place(
    pipeline: Any, store: JobStore, sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(3)))
    first = store.require(state["jobId"])
    before = {k: read(pipeline, k) for k in all_keys(pipeline) if not k.startswith("raw/")}
    assert reprocess_call(first["jobId"])[0] == 202
    job = store.require(first["jobId"])
    attempt_two = started_input(sfn, job)
    attempt_two["validation"] = validator.lambda_handler(dict(attempt_two), FakeContext())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected fault mid-reprocess")

    monkeypatch.setattr(transformer_logic, "transform_stream", broken)
    with pytest.raises(RuntimeError):
        transformer.lambda_handler(dict(attempt_two), FakeContext())
    # the failure branch records it
    store.fail(first["jobId"], "raw/tx.csv", step="transform", code="RuntimeError", message="x")
    job = store.require(first["jobId"])
    assert job["status"] == FAILED
    # attempt 1's objects are untouched, and its history entry names them
    assert {k: read(pipeline, k) for k in before} == before
    assert job["attempts"][0]["outputs"] == first["outputs"]
    # attempt 2 wrote only under its own folder
    new = set(all_keys(pipeline)) - set(before) - {"raw/tx.csv"}
    assert new and all(k.split("/")[2] == "a2" for k in new)


def test_reprocess_is_refused_while_the_job_is_active(pipeline: Any, store: JobStore) -> None:
    state = put_source(pipeline, store, "raw/tx.csv", good_csv(1))
    status, body = reprocess_call(state["jobId"])
    assert status == 409 and "PENDING" in body["message"]
    store.start_step(state["jobId"], "raw/tx.csv", "validate")
    status, body = reprocess_call(state["jobId"])
    assert status == 409 and "VALIDATING" in body["message"]
    assert "attempts" not in store.require(state["jobId"])


def test_reprocess_of_an_unknown_job_is_404(pipeline: Any) -> None:
    assert reprocess_call("f" * 32)[0] == 404
    status, body = reprocess_call("not-a-job")
    assert status == 404 and "32 lower-case hex" in body["message"]


def test_two_concurrent_reprocesses_one_wins(
    pipeline: Any, store: JobStore, sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(1)))
    job = store.require(state["jobId"])
    # both callers read the SUCCEEDED record before either writes
    entry = app_reprocess.attempt_summary(job)
    store.reopen(job["jobId"], job["fileName"], attempt=1, history=entry)
    with pytest.raises(TransitionRefused):
        store.reopen(job["jobId"], job["fileName"], attempt=1, history=entry)
    assert len(store.require(job["jobId"])["attempts"]) == 1

    # through the API: both callers read the record before either writes (a race)
    store.fail(job["jobId"], job["fileName"], step=None, code="X", message="x")
    seen = store.require(job["jobId"])
    monkeypatch.setattr(JobStore, "require", lambda self, job_id: seen)
    first, second = reprocess_call(job["jobId"]), reprocess_call(job["jobId"])
    assert first[0] == 202 and first[1]["attempt"] == 3
    assert second[0] == 409 and "another reprocess" in second[1]["message"]
    monkeypatch.undo()
    final = store.require(job["jobId"])
    assert final["attempt"] == 3 and len(final["attempts"]) == 2
    executions = sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [f"{job['jobId']}-a3"]


def test_the_source_version_must_still_exist(pipeline: Any, store: JobStore) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(1)))
    pipeline.delete_object(Bucket=BUCKET, Key="raw/tx.csv", VersionId=state["versionId"])
    status, body = reprocess_call(state["jobId"])
    assert status == 409 and "no longer exists" in body["message"]
    assert store.require(state["jobId"])["status"] == SUCCEEDED


def test_unversioned_bucket_reprocess_checks_the_etag(
    s3: Any, ddb: Any, sfn: Any, store: JobStore
) -> None:
    state = run_steps(put_source(s3, store, "raw/tx.csv", good_csv(1)))
    assert reprocess_call(state["jobId"])[0] == 202  # same content: fine
    job = store.require(state["jobId"])
    assert started_input(sfn, job)["versionId"] is None
    store.fail(state["jobId"], "raw/tx.csv", step=None, code="X", message="x")
    s3.put_object(Bucket=BUCKET, Key="raw/tx.csv", Body=good_csv(2))
    status, body = reprocess_call(state["jobId"])
    assert status == 409 and "changed since" in body["message"]


def test_the_attempt_count_is_bounded(
    pipeline: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(1)))
    monkeypatch.setattr(app_reprocess, "MAX_ATTEMPTS", 2)
    assert reprocess_call(state["jobId"])[0] == 202
    store.fail(state["jobId"], "raw/tx.csv", step=None, code="X", message="x")
    status, body = reprocess_call(state["jobId"])
    assert status == 409 and "2 attempts" in body["message"]


def test_a_reprocess_stopped_before_its_execution_starts_it_when_asked_again(
    pipeline: Any, store: JobStore, sfn: Any
) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(1)))
    job = store.require(state["jobId"])
    store.reopen(
        job["jobId"], job["fileName"], attempt=1, history=app_reprocess.attempt_summary(job)
    )
    status, body = reprocess_call(job["jobId"])  # the first call stopped after the write
    assert status == 202 and body["attempt"] == 2
    assert body["job"]["executionArn"].endswith(f"{job['jobId']}-a2")


def test_the_end_of_a_reprocess_execution_is_recorded_on_its_job(
    pipeline: Any, store: JobStore, sfn: Any
) -> None:
    state = run_steps(put_source(pipeline, store, "raw/tx.csv", good_csv(1)))
    assert reprocess_call(state["jobId"])[0] == 202
    job = store.require(state["jobId"])
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "status": "TIMED_OUT",
            "name": f"{job['jobId']}-a2",
            "executionArn": job["executionArn"],
            "stateMachineArn": sfn.state_machine_arn,
        },
    }
    result = record_execution_end(event, store=store, state_machine_arn=sfn.state_machine_arn)
    assert result["status"] == "recorded"
    assert store.require(job["jobId"])["error"]["code"] == "EXECUTION_TIMED_OUT"


def test_pruning_is_best_effort(pipeline: Any, store: JobStore) -> None:
    lines: list[tuple[str, dict[str, Any]]] = []

    class Broken:
        def get_paginator(self, name: str) -> Any:
            raise RuntimeError("no listing")

    deleted = app_reprocess.prune_other_attempts(
        s3=Broken(),
        bucket=BUCKET,
        job_id="0" * 32,
        attempt=2,
        log=lambda m, **f: lines.append((m, f)),
    )
    assert deleted == [] and lines[0][0] == "objects of earlier attempts not removed"
    assert (
        app_reprocess.prune_other_attempts(s3=Broken(), bucket=BUCKET, job_id="0" * 32, attempt=1)
        == []
    )


def test_a_job_refused_for_a_card_number_in_its_name_cannot_be_reprocessed(
    pipeline: Any, store: JobStore, sfn: Any
) -> None:
    """Its record names the file masked and it never ran: a new attempt could not read it,
    and would not be let run; the answer says what to do, not that the source is gone."""
    from etl_handlers.app.ingest import refuse_job
    from etl_handlers.aws.s3io import head_object

    key = "raw/statement-4111111111111111.csv"
    pipeline.put_object(Bucket=BUCKET, Key=key, Body=good_csv(1))
    refused = refuse_job(
        head_object(BUCKET, key, client=pipeline), store=store, problem=keys.refused_name(key)
    )
    status, body = reprocess_call(refused.job_id)
    assert status == 409 and "rename the file" in body["message"], body
    assert "4111111111111111" not in json.dumps(body)
    assert store.require(refused.job_id) == refused.job
    assert sfn.list_executions(stateMachineArn=sfn.state_machine_arn)["executions"] == []
