"""OpenLineage run events through the step, trigger and reprocess code, on moto: one START
and one COMPLETE or FAIL per job attempt, written once, valid for the OpenLineage client,
sent to an HTTP endpoint when one is set, and never a reason for a job to fail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from etl_handlers import contract
from etl_handlers.app import lineage as emitter
from etl_handlers.app.reprocess import reprocess
from etl_handlers.aws.jobs import FAILED, SUCCEEDED, JobStore
from etl_handlers.core import lineage
from etl_handlers.core.schema import load_schema
from etl_handlers.enricher import handler as enricher
from etl_handlers.transformer import handler as transformer
from etl_handlers.trigger import executions
from etl_handlers.validator import handler as validator

from etl_constructs.local.lineage import InvalidLineageEvent, check_event

from .handlers_testkit import (
    BUCKET,
    REGION,
    FakeContext,
    Recorder,
    emf_metrics,
    good_csv,
    put_source,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

NAMESPACE = "etl-state-machine-test"


@pytest.fixture(autouse=True)
def lineage_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(contract.LINEAGE_NAMESPACE, NAMESPACE)
    for name in (contract.LINEAGE_ENDPOINT, contract.LINEAGE_API_KEY_SECRET):
        monkeypatch.delenv(name, raising=False)


def events_of(s3: Any, job_id: str) -> dict[str, dict[str, Any]]:
    """The job's events in the bucket, by key relative to ``lineage/{job}/``."""
    prefix = f"{contract.LINEAGE_PREFIX}{job_id}/"
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"][len(prefix) :]: json.loads(
            s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        )
        for item in found
    }


def run_steps(state: dict[str, Any]) -> dict[str, Any]:
    state["validation"] = validator.lambda_handler(dict(state), FakeContext())
    if state["validation"]["outcome"] == "VALID":
        state["transform"] = transformer.lambda_handler(dict(state), FakeContext())
        state["enrich"] = enricher.lambda_handler(dict(state), FakeContext())
    return state


def status_event(job_id: str, status: str, **detail: Any) -> dict[str, Any]:
    """Step Functions' Execution Status Change event of the job's (first) execution."""
    arn = f"arn:aws:states:{REGION}:123456789012:execution:etl-workflow-test:{job_id}"
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": arn,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
            "name": job_id,
            "status": status,
            "error": detail.get("error"),
            "cause": detail.get("cause"),
        },
    }


def end_execution(store: JobStore, job_id: str, status: str, **detail: Any) -> dict[str, Any]:
    return executions.record_execution_end(
        status_event(job_id, status, **detail), store=store, state_machine_arn=None
    )


# -- the sequence of a run --------------------------------------------------------------------


def test_a_clean_file_is_one_run_started_then_completed_naming_its_outputs(
    versioned_s3: Any, store: JobStore
) -> None:
    state = put_source(versioned_s3, store, "raw/clean.csv", good_csv(3))
    run_steps(state)
    job = store.require(state["jobId"])
    assert job["status"] == SUCCEEDED

    events = events_of(versioned_s3, state["jobId"])
    assert list(events) == ["1/1-START.json", "1/2-COMPLETE.json"]
    start, complete = events["1/1-START.json"], events["1/2-COMPLETE.json"]
    for event in (start, complete):
        check_event(event)  # the OpenLineage client reads it back unchanged
        assert event["run"]["runId"] == lineage.run_id(state["jobId"], 1)
        assert event["job"] == {**event["job"], "namespace": NAMESPACE, "name": "raw/clean.csv"}
        (source,) = event["inputs"]
        assert source["namespace"] == f"s3://{BUCKET}"
        assert source["name"] == "raw/clean.csv"
        assert source["facets"]["version"]["datasetVersion"] == job["versionId"]
    assert start["eventType"] == "START" and start["outputs"] == []
    assert complete["eventType"] == "COMPLETE"
    # when it happened, as the record says, not when a retry got round to it
    assert start["eventTime"] == job["steps"]["validate"]["startedAt"]
    assert complete["eventTime"] == job["updatedAt"] >= start["eventTime"]
    outputs = {o["name"]: o["outputFacets"]["outputStatistics"] for o in complete["outputs"]}
    recorded = job["outputs"]
    assert set(outputs) == {recorded["processed"], recorded["enriched"]}  # nothing rejected
    assert outputs[recorded["processed"]]["rowCount"] == 3
    assert outputs[recorded["enriched"]]["rowCount"] == 3
    facets = complete["run"]["facets"]
    masking = facets[lineage.MASKING_FACET]
    assert masking["cardNumbersMasked"] is True
    assert masking["mode"] == "keep-last-4"
    assert masking["columns"] == ["card_number"]
    totals = facets[lineage.CONTROL_TOTALS_FACET]
    assert totals["rows"] == job["rows"]
    assert totals["totals"] == job["totals"]
    input_stats = complete["inputs"][0]["inputFacets"]["inputStatistics"]
    assert input_stats == {**input_stats, "rowCount": 3, "size": job["sizeBytes"]}


def test_a_file_missing_a_column_is_started_then_failed_by_the_execution_s_end(
    s3: Any, store: JobStore
) -> None:
    header = (
        "transaction_id,account_id,timestamp,amount,direction,merchant,category,card_number,country"
    )
    state = put_source(
        s3, store, "raw/short.csv", f"{header}\nt-1,A,2026-11-19T10:00:00Z,1\n".encode()
    )
    assert run_steps(state)["validation"]["outcome"] == "INVALID"
    assert list(events_of(s3, state["jobId"])) == ["1/1-START.json"]  # not over yet
    # the failure branch records the job FAILED; the execution ends in JobFailed
    failure = state["validation"]["error"]
    store.fail(
        state["jobId"],
        "raw/short.csv",
        step="validate",
        code=failure["code"],
        message=failure["message"],
    )
    assert end_execution(store, state["jobId"], "FAILED", error="JobFailed")["status"] == (
        "unchanged"
    )

    events = events_of(s3, state["jobId"])
    assert list(events) == ["1/1-START.json", "1/2-FAIL.json"]
    fail = check_event(events["1/2-FAIL.json"])
    assert fail.eventType.value == "FAIL"
    assert fail.run.runId == events["1/1-START.json"]["run"]["runId"]
    message = events["1/2-FAIL.json"]["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("MISSING_COLUMN: ")
    assert events["1/2-FAIL.json"]["outputs"] == []
    assert events["1/2-FAIL.json"]["eventTime"] == store.require(state["jobId"])["failedAt"]


def test_a_job_the_execution_left_running_is_failed_by_the_trigger_with_its_event(
    s3: Any, store: JobStore
) -> None:
    state = put_source(s3, store, "raw/slow.csv", good_csv(2))
    validator.lambda_handler(dict(state), FakeContext())
    assert end_execution(store, state["jobId"], "TIMED_OUT")["status"] == "recorded"
    fail = events_of(s3, state["jobId"])["1/2-FAIL.json"]
    check_event(fail)
    assert fail["run"]["facets"][lineage.JOB_FACET]["errorCode"] == "EXECUTION_TIMED_OUT"
    assert fail["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] == 2  # rows read


# -- once per run -------------------------------------------------------------------------------


def test_retried_steps_and_repeated_execution_ends_emit_nothing_twice(
    s3: Any, store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    state = put_source(s3, store, "raw/again.csv", good_csv(2))
    run_steps(state)
    first = events_of(s3, state["jobId"])
    validator.lambda_handler(dict(state), FakeContext())  # refused: the job is final
    enricher.lambda_handler(dict(state), FakeContext())  # replays the result
    assert events_of(s3, state["jobId"]) == first

    other = put_source(s3, store, "raw/retried.csv", good_csv(2))
    validator.lambda_handler(dict(other), FakeContext())
    start = events_of(s3, other["jobId"])
    validator.lambda_handler(dict(other), FakeContext())  # a retried Lambda: VALIDATING again
    assert events_of(s3, other["jobId"]) == start
    assert "lineage event emitted before; not again" in caplog.messages
    end_execution(store, other["jobId"], "ABORTED")
    end_execution(store, other["jobId"], "ABORTED")  # EventBridge delivers at least once
    assert list(events_of(s3, other["jobId"])) == ["1/1-START.json", "1/2-FAIL.json"]


def test_a_reprocess_is_a_new_run_beside_the_first(
    s3: Any, store: JobStore, sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = put_source(s3, store, "raw/redo.csv", good_csv(2))
    run_steps(state)
    reprocess(state["jobId"], store=store, s3=s3, sfn=sfn, state_machine_arn=sfn.state_machine_arn)
    run_steps({**state, "attempt": 2})
    events = events_of(s3, state["jobId"])
    assert sorted(events) == [
        "1/1-START.json",
        "1/2-COMPLETE.json",
        "2/1-START.json",
        "2/2-COMPLETE.json",
    ]
    assert events["2/1-START.json"]["run"]["runId"] == lineage.run_id(state["jobId"], 2)
    assert events["2/1-START.json"]["run"]["runId"] != events["1/1-START.json"]["run"]["runId"]
    assert events["2/2-COMPLETE.json"]["run"]["facets"][lineage.JOB_FACET]["attempt"] == 2


def test_a_duplicate_file_completes_its_run_publishing_nothing(
    s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.DUPLICATE_FILES, "1")
    first = put_source(s3, store, "raw/one.csv", good_csv(2))
    run_steps(first)
    second = put_source(s3, store, "raw/two.csv", good_csv(2))
    assert run_steps(second)["validation"]["outcome"] == contract.OUTCOME_DUPLICATE
    complete = events_of(s3, second["jobId"])["1/2-COMPLETE.json"]
    check_event(complete)
    assert complete["outputs"] == []
    job_facet = complete["run"]["facets"][lineage.JOB_FACET]
    assert job_facet["status"] == contract.DUPLICATE
    assert job_facet["duplicateOf"] == first["jobId"]


# -- the HTTP endpoint --------------------------------------------------------------------------


class _Endpoint(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    answer = 201
    drip = 0.0  # seconds over which the answer's header lines trickle, never idle long

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.answer)
        for _ in range(int(self.drip / 0.05)):
            self.flush_headers()
            time.sleep(0.05)
            self.send_header("X-Pad", "a")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[type[_Endpoint]]:
    handler = type("Endpoint", (_Endpoint,), {"received": [], "answer": 201})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/api/v1/lineage"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_events_are_posted_to_the_endpoint_with_the_secret_s_key(
    s3: Any,
    store: JobStore,
    endpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="lineage-key-post", SecretString="key-7f3a9c"
    )["ARN"]
    monkeypatch.setenv(contract.LINEAGE_ENDPOINT, endpoint.url)
    monkeypatch.setenv(contract.LINEAGE_API_KEY_SECRET, secret)
    state = put_source(s3, store, "raw/posted.csv", good_csv(2))
    run_steps(state)

    stored = events_of(s3, state["jobId"])
    posted = [json.loads(body) for _, body in endpoint.received]
    assert [e["eventType"] for e in posted] == ["START", "COMPLETE"]
    assert posted == [stored["1/1-START.json"], stored["1/2-COMPLETE.json"]]
    for headers, _ in endpoint.received:
        assert headers["Authorization"] == "Bearer key-7f3a9c"
        assert headers["Content-Type"] == "application/json"
    assert "key-7f3a9c" not in json.dumps([vars(r) for r in caplog.records], default=str)


def test_an_endpoint_that_refuses_fails_no_job_but_is_logged_and_counted(
    s3: Any,
    store: JobStore,
    endpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint.answer = 503
    monkeypatch.setenv(contract.LINEAGE_ENDPOINT, endpoint.url)
    state = put_source(s3, store, "raw/refused.csv", good_csv(2))
    run_steps(state)
    assert store.require(state["jobId"])["status"] == SUCCEEDED
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["LineageEventsFailed"] == 2  # START and COMPLETE
    logged = [vars(r) for r in caplog.records if r.msg == "lineage event not emitted"]
    assert [(line["where"], line["httpStatus"], line["event"]) for line in logged] == [
        ("endpoint", 503, "START"),
        ("endpoint", 503, "COMPLETE"),
    ]
    assert endpoint.url not in json.dumps([vars(r) for r in caplog.records], default=str)
    # the bucket still has both: the record does not depend on the endpoint
    assert list(events_of(s3, state["jobId"])) == ["1/1-START.json", "1/2-COMPLETE.json"]


def test_an_endpoint_slower_than_the_post_s_deadline_fails_no_job_but_is_counted(
    s3: Any,
    store: JobStore,
    endpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint.drip = 1.0  # a 201 in the end: each read is quick, the whole answer is not
    monkeypatch.setattr(emitter, "HTTP_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setenv(contract.LINEAGE_ENDPOINT, endpoint.url)
    state = put_source(s3, store, "raw/slow.csv", good_csv(2))
    run_steps(state)
    assert store.require(state["jobId"])["status"] == SUCCEEDED
    assert emf_metrics(capsys.readouterr().out)["LineageEventsFailed"] == 2
    logged = [vars(r) for r in caplog.records if r.msg == "lineage event not emitted"]
    assert [(line["where"], line["error"]) for line in logged] == [
        ("endpoint", "TimeoutError"),
        ("endpoint", "TimeoutError"),
    ]
    assert list(events_of(s3, state["jobId"])) == ["1/1-START.json", "1/2-COMPLETE.json"]


class _DeniedPuts:
    """An S3 client whose puts under lineage/ are denied (a missing grant, say)."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"].startswith(contract.LINEAGE_PREFIX):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_a_bucket_that_refuses_the_event_fails_no_job(s3: Any, store: JobStore) -> None:
    from etl_handlers.validator.logic import validate

    recorder = Recorder()
    state = put_source(s3, store, "raw/denied.csv", good_csv(2))
    lines: list[tuple[str, dict[str, Any]]] = []
    result = emitter.emit(
        lineage.START,
        store.require(state["jobId"]),
        s3=_DeniedPuts(s3),
        metrics=recorder,
        log=lambda message, **fields: lines.append((message, fields)),
    )
    assert result == emitter.FAILED
    assert recorder.metrics == {contract.METRIC_LINEAGE_FAILED: 1}
    ((message, fields),) = lines
    assert message == "lineage event not emitted"
    assert fields["where"] == "bucket" and fields["code"] == "AccessDenied"
    # and through a step: the job goes on
    outcome = validate(
        dict(state),
        store=store,
        s3=_DeniedPuts(s3),
        schema=load_schema(None),
        max_reject_rate=Decimal("0.05"),
        metrics=recorder,
    )
    assert outcome["outcome"] == "VALID"
    assert recorder.metrics[contract.METRIC_LINEAGE_FAILED] == 1  # the step's START: counted
    assert store.require(state["jobId"])["status"] == "VALIDATING"


def test_off_without_a_namespace(s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract.LINEAGE_NAMESPACE)
    state = put_source(s3, store, "raw/quiet.csv", good_csv(1))
    run_steps(state)
    assert events_of(s3, state["jobId"]) == {}


# -- the events against the client ----------------------------------------------------------


def test_the_client_check_refuses_what_is_not_openlineage() -> None:
    job = {
        "jobId": "0" * 32,
        "fileName": "raw/a.csv",
        "bucket": BUCKET,
        "status": FAILED,
        "rows": {"read": 0},
        "error": {"code": "X", "message": "y"},
    }
    good = lineage.run_event(
        lineage.FAIL,
        job,
        namespace="n",
        producer=lineage.PRODUCER,
        event_time="2026-12-01T00:00:00Z",
    )
    check_event(good)
    broken = [
        {**good, "eventType": "FINISHED"},
        {**good, "run": {**good["run"], "runId": "job-1"}},
        {**good, "eventTime": "yesterday"},
        {
            **good,
            "job": {**good["job"], "facets": {"mystery": {"_producer": "p", "_schemaURL": "s"}}},
        },
        {
            **good,
            "run": {
                "runId": good["run"]["runId"],
                "facets": {
                    "errorMessage": {**good["run"]["facets"]["errorMessage"], "_schemaURL": "x"}
                },
            },
        },
    ]
    for event in broken:
        with pytest.raises(InvalidLineageEvent):
            check_event(event)
    with pytest.raises(ValueError, match="unknown lineage event 'RUNNING'"):
        lineage.run_event("RUNNING", job, namespace="n", producer="p", event_time="t")


def test_the_custom_facets_have_the_fields_their_published_schemas_give(
    s3: Any, store: JobStore
) -> None:
    """docs/lineage/*.json (what each ``_schemaURL`` names) against what a run emits."""
    docs = Path(__file__).resolve().parents[3] / "docs" / "lineage"
    state = put_source(s3, store, "raw/facets.csv", good_csv(2))
    run_steps(state)
    complete = events_of(s3, state["jobId"])["1/2-COMPLETE.json"]
    for facet, name in contract.LINEAGE_RUN_FACETS.items():
        schema = json.loads((docs / f"{name}.json").read_text())
        (_, own) = schema["$defs"][name]["allOf"]
        emitted = complete["run"]["facets"][facet]
        assert emitted["_schemaURL"] == f"{schema['$id']}#/$defs/{name}"
        fields = set(emitted) - {"_producer", "_schemaURL"}
        assert set(own["required"]) <= fields <= set(own["properties"]), name


def test_a_big_file_is_one_run_too_started_by_its_preflight_completed_by_its_reduce(
    s3: Any, store: JobStore
) -> None:
    from etl_handlers.app import large, large_steps

    schema = load_schema(None)
    job = put_source(s3, store, "raw/big.csv", good_csv(3))
    prefixes = large.JobPrefixes(job["jobId"])
    kw: dict[str, Any] = {"store": store, "s3": s3}

    def under(prefix: str) -> list[str]:
        found = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in found)

    large_steps.preflight({**job, "mode": "preflight", "rowsPerPart": 2}, schema=schema, **kw)
    for plan in under(prefixes.plan):
        large_steps.validate_batch({**job, "mode": "batch", "planKey": plan}, s3=s3, schema=schema)
    large_steps.reduce_validation(
        {**job, "mode": "reduce"}, schema=schema, max_reject_rate=Decimal("0.05"), **kw
    )
    assert list(events_of(s3, job["jobId"])) == ["1/1-START.json"]  # the reduce: not again
    for part_key in under(prefixes.parts):
        part = {**job, "mode": "part", "partKey": part_key}
        transformed = large_steps.transform_part(part, schema=schema, output_format="jsonl", **kw)
        large_steps.enrich_part(
            {**part, "part": transformed},
            schema=schema,
            output_format="jsonl",
            pipeline_version="test",
            **kw,
        )
    assert large_steps.reduce_enrich({**job, "mode": "reduce"}, **kw)["outcome"] == "VALID"

    events = events_of(s3, job["jobId"])
    assert list(events) == ["1/1-START.json", "1/2-COMPLETE.json"]
    complete = events["1/2-COMPLETE.json"]
    check_event(complete)
    outputs = {o["name"]: o["outputFacets"]["outputStatistics"] for o in complete["outputs"]}
    assert outputs[prefixes.enriched().rstrip("/")]["rowCount"] == 3  # the parts' folder


def test_what_cannot_be_emitted_is_said_and_counted(s3: Any, store: JobStore) -> None:
    state = put_source(s3, store, "raw/edge.csv", good_csv(1))
    job = store.require(state["jobId"])
    settings = emitter.LineageSettings(namespace="n", endpoint="ftp://lineage.example.com/x")
    cases = {
        "build": (lineage.START, {k: v for k, v in job.items() if k != "fileName"}, None),
        "endpoint": (lineage.START, job, settings),
    }
    for where, (event_type, record, given) in cases.items():
        recorder, lines = Recorder(), []
        result = emitter.emit(
            event_type,
            record,
            s3=s3,
            settings=given or emitter.LineageSettings(namespace="n"),
            metrics=recorder,
            log=lambda message, _lines=lines, **fields: _lines.append(fields),
        )
        assert result == emitter.FAILED, where
        assert recorder.metrics == {contract.METRIC_LINEAGE_FAILED: 1}
        assert [line["where"] for line in lines] == [where]
    # a secret without a string value: the POST is never made
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="lineage-binary", SecretBinary=b"\x00")["ARN"]
    sent: list[str] = []
    result = emitter.emit(
        lineage.COMPLETE,
        {**job, "status": SUCCEEDED},
        s3=s3,
        settings=emitter.LineageSettings(
            namespace="n", endpoint="https://lineage.example.com/x", api_key_secret=arn
        ),
        metrics=Recorder(),
        send=lambda url, body, headers, timeout: sent.append(url) or 200,
    )
    assert result == emitter.FAILED and sent == []
    assert emitter.emit_for_status(job) == emitter.OFF  # PENDING: no run has ended


def test_a_job_the_failure_branch_recorded_while_the_trigger_wrote_gets_its_fail(
    s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure branch and the trigger race: the trigger's write is refused because the
    job just became FAILED; the run's FAIL is still emitted, from the record as it is."""
    state = put_source(s3, store, "raw/race.csv", good_csv(1))
    validator.lambda_handler(dict(state), FakeContext())
    real_fail = store.fail

    def fail_first(*args: Any, **kwargs: Any) -> Any:
        real_fail(*args, **kwargs)  # the failure branch got there first
        return real_fail(*args, **kwargs)  # so the trigger's own write is refused

    monkeypatch.setattr(store, "fail", fail_first)
    assert end_execution(store, state["jobId"], "FAILED")["status"] == "unchanged"
    assert list(events_of(s3, state["jobId"])) == ["1/1-START.json", "1/2-FAIL.json"]


class _DataZone:
    """Stands in for a DataZone client: records PostLineageEvent calls, or refuses them."""

    def __init__(self, refuse: bool = False) -> None:
        self.posted: list[dict[str, Any]] = []
        self.refuse = refuse

    def post_lineage_event(self, **kwargs: Any) -> dict[str, Any]:
        if self.refuse:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PostLineageEvent")
        self.posted.append(kwargs)
        return {"id": "e-1", "domainId": kwargs["domainIdentifier"]}


def test_events_go_to_a_datazone_domain_once_per_event(s3: Any, store: JobStore) -> None:
    state = put_source(s3, store, "raw/zone.csv", good_csv(1))
    job = store.require(state["jobId"])
    settings = emitter.LineageSettings(namespace="n", datazone_domain="dzd_a1b2c3")
    zone = _DataZone()
    assert emitter.emit(lineage.START, job, s3=s3, settings=settings, datazone=zone) == (
        emitter.WRITTEN
    )
    assert emitter.emit(lineage.START, job, s3=s3, settings=settings, datazone=zone) == (
        emitter.EXISTS
    )
    ((call),) = zone.posted
    assert call["domainIdentifier"] == "dzd_a1b2c3"
    assert json.loads(call["event"]) == events_of(s3, state["jobId"])["1/1-START.json"]
    assert call["clientToken"] == f"{lineage.run_id(state['jobId'], 1)}-START"

    recorder, lines = Recorder(), []
    refused = emitter.emit(
        lineage.FAIL,
        {**job, "status": FAILED},
        s3=s3,
        settings=settings,
        datazone=_DataZone(refuse=True),
        metrics=recorder,
        log=lambda message, **fields: lines.append(fields),
    )
    assert refused == emitter.FAILED
    assert [(f["where"], f["code"]) for f in lines] == [("datazone", "AccessDeniedException")]
    assert recorder.metrics == {contract.METRIC_LINEAGE_FAILED: 1}
