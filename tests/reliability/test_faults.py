"""Faults injected into the running pipeline: every row ends up exactly once in the outputs
or the rejects, every job ends SUCCEEDED or FAILED with a reason, and a late step never
brings a finished job back.

The file used throughout has valid rows and rejected ones, so a retried validation that
wrote part of its output (``rejected/`` committed, ``validated/`` not) shows up as
duplicated reject lines if a retry appended instead of overwriting.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from etl_handlers.core import keys

from .conftest import TIME_SCALE, Driver

pytestmark = [
    pytest.mark.xdist_group("example-app"),
    # Powertools on a handler that published nothing (a warm-up, a repeated event)
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"
SOURCE = (CORPUS / "row-duplicate-id.csv").read_bytes()  # 40 rows: 38 valid, 2 rejected
JOB_FIELDS = ("job_id", "source_key", "processed_at")


@pytest.fixture(scope="module")
def reference(driver: Driver) -> dict[str, object]:
    """A clean run of SOURCE: the outputs every faulty run must reproduce."""
    job = driver.run("reference.csv", SOURCE)
    assert job["status"] == "SUCCEEDED"
    return {"job": job, "outputs": _outputs(driver, job)}


def _outputs(driver: Driver, job: dict) -> dict[str, object]:
    """The job's outputs, job-specific fields taken out of the enriched records."""
    keys = driver.job_keys(job["jobId"])
    assert all(len(found) == 1 for found in keys.values()), keys  # one object per prefix
    outputs = job["outputs"]
    enriched = [json.loads(line) for line in driver.read(outputs["enriched"]).splitlines()]
    return {
        "validated": driver.read(outputs["validated"]),
        "rejected": driver.read(outputs["rejected"]),
        "processed": driver.read(outputs["processed"]),
        "enriched": [{k: v for k, v in r.items() if k not in JOB_FIELDS} for r in enriched],
        "prefixes": sorted(keys),
    }


def _every_row_once(driver: Driver, job: dict) -> None:
    """Rows in = enriched + rejected, no id twice, and the two sets apart."""
    outputs = job["outputs"]
    enriched = [json.loads(line) for line in driver.read(outputs["enriched"]).splitlines()]
    rejected = [json.loads(line) for line in driver.read(outputs["rejected"]).splitlines()]
    rows = job["rows"]
    assert rows["input"] == rows["valid"] + rows["rejected"] == len(enriched) + len(rejected)
    ids = [r["transaction_id"] for r in enriched]
    assert len(ids) == len(set(ids)) == rows["valid"] == rows["enriched"]
    assert sorted(r["row"] for r in rejected) == sorted({r["row"] for r in rejected})


def _retry_attempts(driver: Driver, state: str, error: str) -> int:
    retriers = driver.state_machine_definition()["States"][state]["Retry"]
    return next(r["MaxAttempts"] for r in retriers if error in r["ErrorEquals"])


def _lambda_throttled(driver: Driver):
    """The Lambda service throttles the first Validate invocation."""
    validator = driver.function("validator")
    throttled = type("Lambda.TooManyRequestsException", (Exception,), {})
    state = {"injected": 0}

    def injector(function, event):
        if function is validator and state["injected"] == 0:
            state["injected"] += 1
            raise throttled("Rate Exceeded.")

    return driver.faults(injector), state, "validator"


def _dynamodb_throttled(driver: Driver):
    """DynamoDB throttles the transformer's first job update (the SDK gave up retrying)."""
    _, dynamodb = driver.handler_clients()
    fault = driver.sdk_fault(
        dynamodb,
        "dynamodb.UpdateItem",
        code="ProvisionedThroughputExceededException",
        status=400,
        when=lambda params: "transform" in params.get("ExpressionAttributeNames", {}).values(),
    )
    return fault, None, "transformer"


def _partial_write(driver: Driver):
    """S3 refuses validated/ after the validator committed rejected/: half its output."""
    s3, _ = driver.handler_clients()
    fault = driver.sdk_fault(
        s3,
        "s3.PutObject",
        code="SlowDown",
        status=503,
        when=lambda params: params["Key"].startswith("validated/"),
    )
    return fault, None, "validator"


@pytest.mark.parametrize(
    "make_fault", [_lambda_throttled, _dynamodb_throttled, _partial_write], ids=lambda f: f.__name__
)
def test_a_transient_fault_is_retried_and_the_outputs_equal_a_clean_run(
    driver, reference, make_fault
):
    fault, state, module = make_fault(driver)
    function = driver.function(module)
    before = function.invocations
    with fault as injected:
        job = driver.run("faulty.csv", SOURCE)
    counter = state or injected
    assert counter["injected"] == 1
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert function.invocations - before == 2  # the fault, then the retry
    assert _outputs(driver, job) == reference["outputs"]
    assert job["rows"] == reference["job"]["rows"]
    assert job["totals"] == reference["job"]["totals"]
    _every_row_once(driver, job)


def test_a_step_that_keeps_failing_ends_failed_with_its_error_and_the_file_in_failed(driver):
    transformer = driver.function("transformer")
    attempts = _retry_attempts(driver, "Transform", "TransientError")
    from etl_handlers.core.errors import TransientError

    def injector(function, event):
        if function is transformer:
            raise TransientError("injected: S3 keeps timing out")

    before = transformer.invocations
    with driver.faults(injector):
        job = driver.run("always-failing.csv", SOURCE, timeout=90)
    assert transformer.invocations - before == 1 + attempts
    assert job["status"] == "FAILED"
    assert job["error"]["step"] == "transform" and job["error"]["code"] == "TransientError"
    assert "Traceback" not in job["error"]["message"]
    assert driver.read(job["outputs"]["failed"]) == SOURCE
    assert set(driver.job_keys(job["jobId"])) == {"validated/", "rejected/", "failed/"}


def _wait_for_log(driver: Driver, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in driver.log_text():
        assert time.monotonic() < deadline, f"no log line {text!r}"
        time.sleep(0.05)


def test_a_timed_out_step_fails_the_job_and_its_late_finish_never_resurrects_it(driver, reference):
    """Enrich hangs in its S3 write past the function timeout: Sandbox.Timedout, FAILED.
    When the hung attempt then finishes, its conditional job update is refused: the job stays
    FAILED and the output it had committed is taken back."""
    transformer = driver.function("transformer")
    s3, _ = driver.handler_clients()
    key = driver.key("hangs.csv")
    gate, hung, withdrawn = threading.Event(), threading.Event(), threading.Event()

    def quicker_timeouts(function, event):
        # Invocations run one at a time: what starts after this job's transform (its
        # enrich) gets its 10-minute timeout scaled to 3 s.
        if function is transformer and key in json.dumps(event):
            driver.functions.time_scale = 0.005

    def hang(params, **_):
        if params["Key"].startswith("enriched/") and not gate.is_set():
            hung.set()
            gate.wait(30)

    def deleted(params, **_):
        if params["Key"].startswith("enriched/") and key.rsplit("/", 1)[1][:-4] in params["Key"]:
            withdrawn.set()

    s3.meta.events.register("before-parameter-build.s3.PutObject", hang)
    s3.meta.events.register("before-parameter-build.s3.DeleteObject", deleted)
    try:
        with driver.faults(quicker_timeouts):
            job = driver.wait(*driver.put(key, SOURCE), timeout=60)
    finally:
        driver.functions.time_scale = TIME_SCALE
        gate.set()
        s3.meta.events.unregister("before-parameter-build.s3.PutObject", hang)
    assert hung.is_set()
    assert job["status"] == "FAILED"
    assert job["error"]["step"] == "enrich" and job["error"]["code"] == "Sandbox.Timedout"
    assert driver.read(job["outputs"]["failed"]) == SOURCE
    assert withdrawn.wait(60), "the late enrich never took its output back"
    s3.meta.events.unregister("before-parameter-build.s3.DeleteObject", deleted)
    _wait_for_log(driver, "job changed while the step ran; result not recorded")
    after = driver.pipeline.job(job["jobId"])
    assert after["status"] == "FAILED" and after["error"] == job["error"]
    assert after["updatedAt"] == job["updatedAt"] and "enriched" not in after["outputs"]
    assert "enriched/" not in driver.job_keys(job["jobId"])


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
def test_a_late_or_repeated_step_on_a_final_job_changes_nothing(driver, status):
    body = SOURCE if status == "SUCCEEDED" else (CORPUS / "missing-columns.csv").read_bytes()
    job = driver.run(f"final-{status}.csv", body)
    assert job["status"] == status
    arn = driver.state_machine_definition and job["executionArn"]
    history = driver.pipeline.sfn.describe_execution(executionArn=arn)
    state = json.loads(history["input"])
    objects = {
        key: driver.s3.head_object(Bucket=driver.bucket, Key=key)["ETag"]
        for keys in driver.job_keys(job["jobId"]).values()
        for key in keys
    }
    for module in ("validator", "transformer"):
        result = driver.functions.invoke(driver.function(module), dict(state))
        assert result["outcome"] == "INVALID"
        assert result["error"]["code"] == "JOB_NOT_RUNNABLE"
        assert status in result["error"]["message"]
    after = driver.pipeline.job(job["jobId"])
    assert after == job
    assert {
        key: driver.s3.head_object(Bucket=driver.bucket, Key=key)["ETag"]
        for keys in driver.job_keys(job["jobId"]).values()
        for key in keys
    } == objects


def _abort_while_validating(
    driver: Driver, name: str, *, read_fails: bool
) -> tuple[str, str, dict]:
    """Start a job, hold its validation in its S3 read, stop the execution (an operator's
    abort), then let the read go on (or fail). Returns (job id, key, the job as the abort
    left it). moto ends a stopped execution whose task then fails FAILED with the task's
    error; one whose task then returns, ABORTED (as AWS does at once)."""
    s3, _ = driver.handler_clients()
    key = driver.key(name)
    reading, gate = threading.Event(), threading.Event()

    def hang(params, **_):
        if params["Key"] == key and not gate.is_set():
            reading.set()
            gate.wait(30)
            if read_fails:
                raise ConnectionError("injected: the connection dropped")

    s3.meta.events.register("before-parameter-build.s3.GetObject", hang)
    try:
        key, version = driver.put(key, SOURCE)
        driver.pipeline.deliver_events()
        assert reading.wait(20)
        # (pipeline.job_id would wait for the registry lock the hung invocation holds)
        job_id = keys.job_id(driver.bucket, key, version)
        job = driver.pipeline.job(job_id)
        assert job["status"] == "VALIDATING"
        # Stopping waits for the running task: let the hung read go on once the stop is
        # asked. The stop's own request marks the moment (a thread may start late on a
        # loaded machine); the short sleep covers moto between the request and its flag.
        asked = threading.Event()
        sfn_events = driver.pipeline.sfn.meta.events
        sfn_events.register(
            "before-call.states.StopExecution", lambda **_: asked.set(), unique_id="abort-asked"
        )
        stopper = threading.Thread(
            target=driver.pipeline.sfn.stop_execution,
            kwargs={"executionArn": job["executionArn"], "error": "Aborted"},
        )
        stopper.start()
        assert asked.wait(20)
        sfn_events.unregister("before-call.states.StopExecution", unique_id="abort-asked")
        time.sleep(0.2)
    finally:
        gate.set()
        s3.meta.events.unregister("before-parameter-build.s3.GetObject", hang)
    stopper.join(20)
    deadline = time.monotonic() + 20
    while driver.pipeline.is_running(job):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert driver.pipeline.job(job_id)["status"] == "VALIDATING"  # the abort recorded nothing
    return job_id, key, job


def test_an_aborted_execution_records_its_job_failed(driver):
    """The execution is stopped while Validate runs: no Catch runs, the record stays
    VALIDATING; the execution status rule's event makes the trigger record it FAILED."""
    job_id, _, job = _abort_while_validating(driver, "aborted.csv", read_fails=False)
    stopped = driver.pipeline.sfn.describe_execution(executionArn=job["executionArn"])
    assert stopped["status"] == "ABORTED"
    driver.pipeline.deliver_events()
    recorded = driver.pipeline.job(job_id)
    assert recorded["status"] == "FAILED"
    assert recorded["error"]["code"] == "EXECUTION_ABORTED"
    assert recorded["error"]["step"] == "validate"
    assert "executionArn" in recorded["error"]["message"]
    assert recorded["executionArn"] == job["executionArn"]  # whole, where the message points
    assert recorded["rows"] == {"read": 40} and "totals" not in recorded  # validate finished
    status, body = driver.api("GET", f"/status/{job_id}")
    assert status == 200 and body["status"] == "FAILED" and body["stuck"] is False


def test_a_job_left_running_is_reported_stuck(driver):
    """The execution is stopped and its status event cannot be recorded either (the
    trigger fails each delivery; the event ends in its dead-letter queue): the record
    stays VALIDATING. An hour later the quality check and the API say so."""
    trigger = driver.function("trigger")

    def refuse_execution_events(function, event):
        if function is trigger and event.get("source") == "aws.states":
            raise ConnectionError("injected: DynamoDB unreachable")

    dlq = driver.pipeline.sqs.get_queue_url(QueueName="trigger-dlq-ci")["QueueUrl"]
    with driver.faults(refuse_execution_events):
        job_id, key, _ = _abort_while_validating(driver, "abandoned.csv", read_fails=True)
        driver.pipeline.deliver_events()
    assert driver.pipeline.job(job_id)["status"] == "VALIDATING"
    dead = driver.pipeline.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert any(json.loads(m["Body"])["detail"]["name"] == job_id for m in dead)
    hour_ago = int(time.time()) - 3700
    driver.pipeline.dynamodb.update_item(
        TableName=driver.pipeline.table,
        Key={"jobId": {"S": job_id}, "fileName": {"S": key}},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "timestamp"},
        ExpressionAttributeValues={":t": {"N": str(hour_ago)}},
    )
    result = driver.pipeline.run_schedule("quality_check")
    assert result["stuckJobs"] >= 1
    report = json.loads(driver.read(result["reportKey"]))
    (entry,) = [e for e in report["stuck"] if e["jobId"] == job_id]
    assert entry["status"] == "VALIDATING" and entry["stuckForMinutes"] >= 60
    status, body = driver.api("GET", f"/status/{job_id}")
    assert status == 200 and body["stuck"] is True and body["status"] == "VALIDATING"


def test_the_steps_may_take_back_what_they_wrote(example_app):
    """Withdrawing a late attempt's output needs s3:DeleteObject on the step's own prefixes
    (and on nothing else) in the deployed roles too."""
    _, _, _, templates = example_app
    deletable = set()
    for template in templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                if "s3:DeleteObject" in (actions if isinstance(actions, list) else [actions]):
                    arns = statement["Resource"]
                    for arn in arns if isinstance(arns, list) else [arns]:
                        deletable.add(json.dumps(arn).rsplit("/", 2)[-2])
    # the enricher withdraws the curated files it wrote when the job failed meanwhile
    assert deletable == {"validated", "rejected", "processed", "enriched", "curated"}


@pytest.mark.parametrize(
    "result",
    [
        {"outcome": "INVALID", "rows": {}, "totals": {}, "outputs": {}, "error": None},
        {"outcome": "INVALID", "error": {"message": "no code"}},
        {"rows": {}},
        None,
    ],
    ids=["error-null", "no-code", "no-outcome", "null"],
)
def test_a_step_result_without_a_readable_error_still_fails_the_job_cleanly(driver, result):
    """A validator that answers INVALID without ``error`` (or nothing usable at all): the
    state machine fails the job through its failure branch with INVALID_WITHOUT_REASON,
    instead of a States.Runtime no Catch takes (the job left VALIDATING)."""
    validator = driver.function("validator")
    validator.target = lambda event, context: result
    try:
        job = driver.run("unexplained.csv", SOURCE)
    finally:
        validator.target = None
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "INVALID_WITHOUT_REASON" and job["error"]["step"] == "validate"
    assert driver.read(job["outputs"]["failed"]) == SOURCE
    history = driver.pipeline.sfn.describe_execution(executionArn=job["executionArn"])
    assert history["status"] == "FAILED" and history["error"] == "JobFailed"


def _start_as_if_of_size(driver: Driver, name: str, size: int) -> tuple[str, str | None]:
    """Upload SOURCE and start its job as the trigger would, but with ``size`` on record
    (and in the execution input): a source above 5 GiB, without moving 5 GiB through moto."""
    from etl_handlers.app import ingest
    from etl_handlers.aws.jobs import JobStore
    from etl_handlers.aws.s3io import ObjectInfo

    key, version = driver.put(driver.key(name), SOURCE)
    etag = driver.s3.head_object(Bucket=driver.bucket, Key=key)["ETag"].strip('"')
    store = JobStore(driver.pipeline.table, client=driver.pipeline.dynamodb)
    arn = driver.pipeline.sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    ingest.start_job(
        ObjectInfo(driver.bucket, key, version, etag, size),
        store=store,
        sfn=driver.pipeline.sfn,
        state_machine_arn=arn,
    )
    return key, version


def _validation_breaks(driver: Driver):
    """The validator's step invocations fail (not its copy of a source to failed/)."""
    validator = driver.function("validator")

    def injector(function, event):
        if function is validator and event.get("mode") != "copy-failed":
            raise ValueError("injected: the validator is broken")

    return driver.faults(injector)


def test_a_source_above_5_gib_is_copied_to_failed_in_parts(driver):
    """Above what one CopyObject copies, the validator copies the source in parts; the
    record names the copy, which exists and is the source."""
    validator = driver.function("validator")
    before = validator.invocations
    with _validation_breaks(driver):
        key, version = _start_as_if_of_size(driver, "huge.csv", 6 * 1024**3)
        job = driver.wait(key, version)
    assert job["status"] == "FAILED" and job["sizeBytes"] == 6 * 1024**3
    assert job["error"]["step"] == "validate" and job["error"]["code"] == "ValueError"
    assert driver.read(job["outputs"]["failed"]) == SOURCE
    assert job["outputs"]["failed"] == keys.failed_key(job["jobId"], key)
    assert "failedCopyError" not in job
    history = driver.pipeline.sfn.get_execution_history(
        executionArn=job["executionArn"], maxResults=1000
    )["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert "CopyToFailedInParts" in entered and "CopyToFailed" not in entered
    assert validator.invocations - before == 2  # the failed step, then the copy


def test_a_copy_that_fails_leaves_no_failed_key_on_the_record(driver):
    """The source version is gone by the time the job fails: neither copy can be made, so
    the record names no failed/ object, says why, and still records the step's error."""
    validator = driver.function("validator")
    holder = {}

    def delete_then_break(function, event):
        if function is validator and event.get("mode") != "copy-failed":
            driver.s3.delete_object(
                Bucket=driver.bucket, Key=holder["key"], VersionId=holder["version"]
            )
            raise ValueError("injected: the validator is broken")

    key = driver.key("vanished.csv")
    holder["key"] = key
    with driver.faults(delete_then_break):
        key, version = driver.put(key, SOURCE)
        holder["version"] = version
        job = driver.wait(key, version)
    assert job["status"] == "FAILED"
    assert job["error"]["step"] == "validate" and job["error"]["code"] == "ValueError"
    assert "failed" not in job["outputs"]
    assert job["failedCopyError"]
    assert "failed/" not in driver.job_keys(job["jobId"])
    history = driver.pipeline.sfn.describe_execution(executionArn=job["executionArn"])
    assert history["status"] == "FAILED" and history["error"] == "JobFailed"


def test_a_record_that_cannot_be_written_still_ends_the_execution_in_job_failed(driver):
    """RecordFailure meets an error other than a final job's refused condition (here the
    record lost its ``outputs`` map, so the update's path is invalid): the execution still
    ends in JobFailed, the state every failure ends in, not in the record's error."""
    validator = driver.function("validator")
    holder = {}

    def break_record_then_fail(function, event):
        if function is validator and event.get("mode") != "copy-failed":
            driver.pipeline.dynamodb.update_item(
                TableName=driver.pipeline.table,
                Key={"jobId": {"S": event["jobId"]}, "fileName": {"S": event["fileName"]}},
                UpdateExpression="REMOVE outputs",
            )
            holder["job"] = event["jobId"]
            raise ValueError("injected: the validator is broken")

    with driver.faults(break_record_then_fail):
        driver.put(driver.key("unrecordable.csv"), SOURCE)
        driver.pipeline.deliver_events()
        deadline = time.monotonic() + 60
        while "job" not in holder or driver.pipeline.is_running(driver.pipeline.job(holder["job"])):
            assert time.monotonic() < deadline
            driver.pipeline.deliver_events()
            time.sleep(0.1)
    job = driver.pipeline.job(holder["job"])
    history = driver.pipeline.sfn.describe_execution(executionArn=job["executionArn"])
    assert history["status"] == "FAILED" and history["error"] == "JobFailed"
    events = driver.pipeline.sfn.get_execution_history(
        executionArn=job["executionArn"], maxResults=1000
    )["events"]
    failures = [
        e["taskFailedEventDetails"]["error"] for e in events if "taskFailedEventDetails" in e
    ]
    assert any(error.startswith("DynamoDB.") for error in failures)  # the record's own error
    # the execution status rule then records the job, with the failure branch's message
    driver.pipeline.deliver_events()
    recorded = driver.pipeline.job(holder["job"])
    assert recorded["status"] == "FAILED" and recorded["error"]["code"] == "EXECUTION_FAILED"
    assert "The validate step failed with ValueError" in recorded["error"]["message"]
