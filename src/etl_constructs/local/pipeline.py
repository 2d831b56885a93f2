"""LocalPipeline: the synthesized pipeline, stood up in moto and driven in-process.

Everything comes from the templates: buckets (versioning, EventBridge delivery), tables
with their indexes, queues, EventBridge rules with their patterns and targets, the state
machine's definition, and every function's handler, environment and timeout. Nothing here
is a second copy of the pipeline: change a construct and the local run changes with it.

Resource types the local run does not need (IAM, KMS, logs, alarms, API Gateway, networking)
are listed with the reason; a type that is in neither list is reported as unsupported.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from .._contract import contract
from . import lambdas, moto_compat
from .assembly import CloudAssembly, Resource
from .lambdas import LOG_SINK, FunctionFailed, FunctionRegistry, LocalFunction, local_environment
from .resolve import ACCOUNT, REGION, Resolver

FINAL_STATUSES = contract.FINAL_STATUSES
#: How often a wait polls; while a function runs, until it returns but at least this rarely.
POLL_SECONDS = 0.05
BUSY_POLL_SECONDS = 0.5
#: A file larger than this is uploaded in parts of this size (one in memory at a time).
UPLOAD_PART_SIZE = 64 * 1024 * 1024
#: What a run exports: the pipeline's outputs, not its inputs (``raw/``) nor its work in
#: progress (``validated/``).
EXPORTED_PREFIXES = tuple(
    p for p in contract.PREFIXES if p not in (contract.RAW_PREFIX, contract.VALIDATED_PREFIX)
)

#: Resource types a local run does without, and why (see the README's "what local runs
#: cannot prove").
NOT_NEEDED_LOCALLY: Mapping[str, str] = {
    "AWS::IAM::": "permissions are not enforced locally",
    "AWS::KMS::": "encryption at rest is not emulated",
    "AWS::Logs::": "handler logs go to the local log file",
    "AWS::CloudWatch::": "alarms and dashboards have nothing to watch locally",
    "AWS::SNS::": "alarm notifications are not sent locally",
    "AWS::ApiGateway::": "the API function is invoked directly with API Gateway events",
    "AWS::Lambda::Permission": "invoke permissions are not enforced locally",
    "AWS::Lambda::LayerVersion": "layers come from the local environment",
    "AWS::S3::BucketPolicy": "bucket policies are not enforced locally",
    "AWS::SQS::QueuePolicy": "queue policies are not enforced locally",
    "AWS::EC2::": "networking does not exist locally",
    "AWS::WAFv2::": "there is no HTTP front door locally",
    "AWS::Backup::": "backups are not taken locally",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::Athena::": "queries run offline with `etl-pipeline query` (DuckDB, same tables)",
    "Custom::S3AutoDeleteObjects": "local buckets vanish with the process",
}
EMULATED = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
)


class LocalRuntimeError(RuntimeError):
    """The local pipeline cannot run what was synthesized."""


@dataclass
class JobOutcome:
    """What happened to one file.

    ``rows``: ``input``, ``valid``, ``rejected`` of a SUCCEEDED job; ``read`` only of a
    FAILED one, which has no ``totals`` either (``None``): nothing of it was published.
    """

    file: str
    key: str
    job_id: str | None
    status: str
    error: str | None
    rows: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Any] | None = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    duration_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        found = {
            "file": self.file,
            "job_id": self.job_id,
            "status": self.status,
            "error": self.error,
            "rows": self.rows,
            "totals": self.totals,
            "outputs": self.outputs,
        }
        if self.totals is None:
            del found["totals"]
        return found


@dataclass
class _Rule:
    name: str
    pattern: dict[str, Any] | None
    schedule: str | None
    targets: list[dict[str, Any]]  # {"function": LocalFunction, "retries": n, "dlq": url}
    tap: moto_compat.EventTap | None = None


class LocalPipeline:
    """Stand up ``assembly`` in moto; use as a context manager.

    ``executions=False`` leaves the state machines out (no file can be processed then): for
    answering from job records (the API, the quality check), which need none, and start
    without loading moto's Step Functions interpreter (seconds). ``wait_cap``: the longest a
    Wait state waits locally (seconds; moto would sleep a deployment's full poll interval).
    ``spool_dir``: where moto keeps object bodies past its memory budget (default: the
    temporary directory); on the file system of the outputs, :meth:`export` links them.
    """

    def __init__(
        self,
        assembly: CloudAssembly,
        *,
        log_path: Path | None = None,
        time_scale: float = 1.0,
        executions: bool = True,
        wait_cap: int = 1,
        spool_dir: Path | None = None,
    ) -> None:
        self.assembly = assembly
        #: where moto keeps object bodies past its memory budget (None: the temporary
        #: directory); on the file system of the export's target, an export links them
        self.spool_dir = spool_dir
        #: the longest a Wait state of the state machine waits locally, in seconds
        self.wait_cap = wait_cap
        self.executions = executions
        self.resolver = Resolver(assembly)
        self.functions = FunctionRegistry(time_scale=time_scale)
        self.rules: list[_Rule] = []
        self.unsupported: list[str] = []
        self.skipped: dict[str, str] = {}
        #: what the app imports (its templates declare none) and the run stood up, empty
        self.stood_up: list[str] = []
        self._log_path = log_path
        self._log_file: Any = None
        self._mock: Any = None
        self._environment: Any = None
        self._executions: dict[str, str] = {}  # job id -> the execution its record named last
        self._job_ids: dict[tuple[str, str], str] = {}  # (key, version) -> job id
        #: moto sends no execution status change events; None while no rule asks for them
        self._execution_ends: moto_compat.ExecutionStatusEvents | None = None
        self._froze_heap = False

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self._log_path.open("a", encoding="utf-8")
        LOG_SINK.target = self._log_file
        # moto reports each failed execution as an error log line; it belongs in the log file.
        self._moto_logger = logging.getLogger("moto")
        self._moto_handler = logging.StreamHandler(LOG_SINK)
        self._moto_logger.addHandler(self._moto_handler)
        self._moto_logger.propagate = False
        self._environment = local_environment()
        self._environment.__enter__()
        moto_compat.SPOOL_DIRECTORY = self.spool_dir
        self._mock = moto_compat.start_mock()
        moto_compat.LambdaDispatch.install(self.functions.invoke_raw)
        moto_compat.CopySourceDecoding.install()
        session = boto3.session.Session(region_name=REGION)
        self.s3 = session.client("s3")
        self.dynamodb = session.client("dynamodb")
        self.sqs = session.client("sqs")
        self.glue = session.client("glue")
        self.events = session.client("events")
        self.sfn = session.client("stepfunctions")
        self._map_tolerance = moto_compat.MapTolerance()
        self._provision()
        self.unsupported += self._map_tolerance.warnings
        self._freeze_heap()

    def _freeze_heap(self) -> None:
        """Exempt what is alive now (moto, its backends, botocore's models, the parsed state
        machines: hundreds of thousands of objects) from the cyclic garbage collector until
        :meth:`close`. Every full collection walks them all otherwise, and a big file's
        steps trigger several (about 0.15 s each, 5% of a 1M-row run's CPU). Only when
        nothing else in the process froze objects: :meth:`close` unfreezes them all."""
        if gc.get_freeze_count() == 0:
            gc.freeze()
            self._froze_heap = True

    def close(self) -> None:
        self._moto_logger.removeHandler(self._moto_handler)
        self._moto_logger.propagate = True
        moto_compat.LambdaDispatch.uninstall()
        moto_compat.CopySourceDecoding.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self.functions.restore_environment()
        if self._environment is not None:
            self._environment.__exit__(None, None, None)
            self._environment = None
        LOG_SINK.target = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        moto_compat.SPOOL_DIRECTORY = None
        if self._froze_heap:
            self._froze_heap = False
            gc.unfreeze()  # the collector sees them again (what the pipeline held is garbage)

    # -- provisioning from the templates -------------------------------------------------

    def _provision(self) -> None:
        resources = list(self.assembly.resources())
        by_type: dict[str, list[Resource]] = {}
        for resource in resources:
            if resource.type in EMULATED:
                by_type.setdefault(resource.type, []).append(resource)
                continue
            reason = next(
                (
                    why
                    for prefix, why in NOT_NEEDED_LOCALLY.items()
                    if resource.type.startswith(prefix)
                ),
                None,
            )
            if reason is not None:
                self.skipped.setdefault(resource.type, reason)
            else:
                self.unsupported.append(f"{resource.stack}/{resource.logical_id} ({resource.type})")
        buckets = [self._bucket(resource) for resource in by_type.get("AWS::S3::Bucket", [])]
        tables = [self._table(resource) for resource in by_type.get("AWS::DynamoDB::Table", [])]
        for resource in by_type.get("AWS::SQS::Queue", []):
            self.sqs.create_queue(QueueName=self.resolver.names(resource).name)
        for resource in by_type.get("AWS::Lambda::Function", []):
            self._function(resource)
        for resource in by_type.get("AWS::StepFunctions::StateMachine", []):
            if self.executions:
                moto_compat.ParsedDefinitions.install()  # before moto parses the first one
                self._state_machine(resource)
            else:
                self.skipped.setdefault(resource.type, "this command runs no execution")
        self._stand_up_imports(buckets=buckets, tables=tables)
        for resource in by_type.get("AWS::Events::Rule", []):
            self._rule(resource)
        self._catalog(by_type.get("AWS::Glue::Database", []), by_type.get("AWS::Glue::Table", []))

    def _catalog(self, databases: list[Resource], tables: list[Resource]) -> None:
        """The analytics catalog's Glue database and tables, as the template declares them
        (``catalog_tables`` reads them back: what Athena would read the curated files as)."""
        for resource in databases:
            props = self.resolver.resolve(dict(resource.properties), resource.stack)
            self.glue.create_database(DatabaseInput=props["DatabaseInput"])
        for resource in tables:
            props = self.resolver.resolve(dict(resource.properties), resource.stack)
            self.glue.create_table(
                DatabaseName=props["DatabaseName"], TableInput=props["TableInput"]
            )

    def catalog_tables(self) -> dict[str, dict[str, Any]]:
        """Every Glue table the app declares, by name, as the Glue API returns it."""
        found: dict[str, dict[str, Any]] = {}
        for database in self.glue.get_databases()["DatabaseList"]:
            for table in self.glue.get_tables(DatabaseName=database["Name"])["TableList"]:
                found[table["Name"]] = table
        return found

    def _stand_up_imports(self, *, buckets: list[str], tables: list[str]) -> None:
        """Create the bucket and the job table the functions name but the templates do not
        declare (an app that brings its own, e.g. ``s3.Bucket.from_bucket_name``): empty,
        the bucket versioned and sending events to EventBridge, as the pipeline needs."""
        for function in self.functions:
            bucket = function.environment.get(contract.DATA_BUCKET)
            if bucket and bucket not in buckets:
                self._create_bucket(bucket, versioned=True, event_bridge=True)
                buckets.append(bucket)
                self.stood_up.append(
                    f"bucket {bucket}: the app imports it; stood up empty, versioned, "
                    "with EventBridge delivery"
                )
            table = function.environment.get(contract.JOB_TABLE)
            if table and table not in tables:  # the job table layout MetadataStore creates
                self.dynamodb.create_table(
                    TableName=table,
                    KeySchema=_key_schema(contract.JOB_TABLE_KEYS),
                    AttributeDefinitions=_attributes(
                        contract.JOB_TABLE_KEYS + contract.JOB_INDEX_KEYS
                    ),
                    BillingMode="PAY_PER_REQUEST",
                    GlobalSecondaryIndexes=[
                        {
                            "IndexName": contract.JOB_INDEX_NAME,
                            "KeySchema": _key_schema(contract.JOB_INDEX_KEYS),
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ],
                )
                tables.append(table)
                self.stood_up.append(f"table {table}: the app imports it; stood up empty")

    def _bucket(self, resource: Resource) -> str:
        props = resource.properties
        name = self.resolver.names(resource).name
        notification = props.get("NotificationConfiguration", {})
        self._create_bucket(
            name,
            versioned=props.get("VersioningConfiguration", {}).get("Status") == "Enabled",
            event_bridge=bool(
                notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled")
            ),
        )
        return name

    def _create_bucket(self, name: str, *, versioned: bool, event_bridge: bool) -> None:
        self.s3.create_bucket(Bucket=name)
        if versioned:
            self.s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
        if event_bridge:
            self.s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _table(self, resource: Resource) -> str:
        props = self.resolver.resolve(dict(resource.properties), resource.stack)
        name = self.resolver.names(resource).name
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in props["GlobalSecondaryIndexes"]
            ]
        self.dynamodb.create_table(**request)
        return name

    def _function(self, resource: Resource) -> None:
        props = resource.properties
        names = self.resolver.names(resource)
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            self.skipped.setdefault(
                f"AWS::Lambda::Function ({runtime or 'no runtime'})",
                "only the pipeline's Python functions run locally",
            )
            return
        dlq = props.get("DeadLetterConfig", {}).get("TargetArn")
        self.functions.add(
            LocalFunction(
                name=names.name,
                arn=names.arn,
                handler=props["Handler"],
                environment=self.resolver.environment(resource),
                timeout_seconds=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                asset=self.assembly.asset_path(props["Code"]),
                dead_letter_queue=self._queue_url(self.resolver.resolve(dlq, resource.stack))
                if dlq
                else None,
            )
        )

    def _state_machine(self, resource: Resource) -> None:
        props = resource.properties
        definition = self.resolver.resolve(props["DefinitionString"], resource.stack)
        if isinstance(definition, str):
            definition = json.loads(definition)
        definition = self._map_tolerance.rewrite(definition)
        definition = moto_compat.ShortWaits(self.wait_cap).rewrite(definition)
        self.sfn.create_state_machine(
            name=self.resolver.names(resource).name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/local-state-machine",
            type=props.get("StateMachineType", "STANDARD"),
        )

    def _rule(self, resource: Resource) -> None:
        props = self.resolver.resolve(dict(resource.properties), resource.stack)
        name = self.resolver.names(resource).name
        targets = []
        for target in props.get("Targets", []):
            arn = target["Arn"]
            if ":function:" not in arn:
                self.unsupported.append(f"{resource.stack}/{resource.logical_id}: target {arn}")
                continue
            targets.append(
                {
                    "function": self.functions.get(arn),
                    "retries": target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185),
                    "dlq": self._queue_url(target["DeadLetterConfig"]["Arn"])
                    if "DeadLetterConfig" in target
                    else None,
                }
            )
        rule = _Rule(
            name=name,
            pattern=props.get("EventPattern"),
            schedule=props.get("ScheduleExpression"),
            targets=targets,
        )
        if rule.pattern is not None:
            self.events.put_rule(Name=name, EventPattern=json.dumps(rule.pattern))
            rule.tap = moto_compat.EventTap.attach(events=self.events, sqs=self.sqs, rule=name)
            sources = rule.pattern.get("source", [])
            if self.executions and moto_compat.ExecutionStatusEvents.SOURCE in sources:
                self._execution_ends = moto_compat.ExecutionStatusEvents()
        self.rules.append(rule)

    def _queue_url(self, arn: str) -> str:
        return self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    # -- what the pipeline declares ------------------------------------------------------

    def function_by_handler(self, module: str) -> LocalFunction:
        """The function whose handler lives in ``module`` (``trigger``, ``api``, ...)."""
        for function in self.functions:
            if _package_of(function) == module:
                return function
        raise LocalRuntimeError(f"the synthesized app has no {module} function")

    @property
    def bucket(self) -> str:
        return self.function_by_handler("trigger").environment[contract.DATA_BUCKET]

    @property
    def table(self) -> str:
        return self.function_by_handler("trigger").environment[contract.JOB_TABLE]

    def refusal(self, key: str, *, size: int = 0) -> str | None:
        """Why an object put at ``key`` would start no job (no rule's pattern matches its
        ``Object Created`` event, or the trigger function refuses its key), or None when one
        would."""
        refused = self._rule_refusal(key, size=size)
        if refused is not None:
            return refused
        problem = self._trigger_keys().input_problem(key)
        if problem is not None:
            shown = self.shown_key(key)
            return f"{shown!r} would start no job: the trigger refuses it ({problem})"
        return None

    def shown_key(self, key: str) -> str:
        """``key`` as the trigger function records and logs it (card numbers masked)."""
        return str(self._trigger_keys().shown_key(key))

    def _trigger_keys(self) -> Any:
        """The trigger function's own ``keys`` module (from its asset): its rules for keys,
        asked rather than copied."""
        return lambdas.handler_module(self.function_by_handler("trigger"), "etl_handlers.core.keys")

    def _rule_refusal(self, key: str, *, size: int) -> str | None:
        event = {
            "version": "0",
            "id": "local-check",
            "source": "aws.s3",
            "detail-type": "Object Created",
            "account": ACCOUNT,
            "region": REGION,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [f"arn:aws:s3:::{self.bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": self.bucket},
                "object": {"key": key, "size": size},
                "reason": "PutObject",
            },
        }
        s3_rules = [
            rule
            for rule in self.rules
            if rule.pattern is not None and "aws.s3" in rule.pattern.get("source", [])
        ]
        if any(moto_compat.pattern_matches(rule.pattern, event) for rule in s3_rules):
            return None
        wanted = [
            k
            for rule in s3_rules
            for k in (rule.pattern or {}).get("detail", {}).get("object", {}).get("key", [])
        ]
        return (
            f"{self.shown_key(key)} would start no job: the pipeline's rule takes "
            f"{', '.join(_pattern_text(k) for k in wanted) or 'no S3 object'}"
        )

    # -- driving it ----------------------------------------------------------------------

    def upload(self, path: Path, key: str | None = None) -> tuple[str, str | None]:
        """Put ``path`` under ``raw/``; returns (key, version id).

        Each body goes with its CRC32 in a header, as the handlers write theirs: one request
        for a file up to :data:`UPLOAD_PART_SIZE`, a multipart upload of parts of that size
        for a larger one (a part in memory at a time, not the file).
        """
        key = key or f"{contract.RAW_PREFIX}{path.name}"
        s3io = self._handler_module("etl_handlers.aws.s3io")
        with path.open("rb") as source:
            body = source.read(UPLOAD_PART_SIZE + 1)
            if len(body) <= UPLOAD_PART_SIZE:
                response = self.s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ChecksumAlgorithm="CRC32",
                    ChecksumCRC32=s3io.crc32_header(body),
                )
                return key, response.get("VersionId")
            source.seek(0)
            upload = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
            )["UploadId"]
            parts = []
            try:
                while part := source.read(UPLOAD_PART_SIZE):
                    checksum = s3io.crc32_header(part)
                    number = len(parts) + 1
                    etag = self.s3.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload,
                        PartNumber=number,
                        Body=part,
                        ChecksumAlgorithm="CRC32",
                        ChecksumCRC32=checksum,
                    )["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag, "ChecksumCRC32": checksum})
                    del part
                response = self.s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
                )
            except BaseException:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
                raise
        return key, response.get("VersionId")

    def deliver_events(self) -> int:
        """Deliver what each rule's pattern matched to its Lambda targets; returns the count.

        Lambda targets get events asynchronously: a failing invocation is retried up to
        the target's retry attempts, then the event goes to the target's dead-letter queue.
        Executions that ended FAILED, TIMED_OUT or ABORTED send their status change event
        first (moto does not), when a rule matches such events.
        """
        if self._execution_ends is not None:
            self._execution_ends.send_new(sfn=self.sfn, events=self.events)
        delivered = 0
        for rule in self.rules:
            if rule.tap is None:
                continue
            for event in rule.tap.drain(self.sqs):
                for target in rule.targets:
                    self._deliver(target, event)
                    delivered += 1
        return delivered

    def run_schedule(
        self, module: str = "quality_check", event: Mapping[str, Any] | None = None
    ) -> Any:
        """Fire the scheduled rule whose target is ``module`` now; returns the result."""
        for rule in self.rules:
            for target in rule.targets:
                function = target["function"]
                if rule.schedule and _package_of(function) == module:
                    return self.functions.invoke(function, dict(event or _scheduled_event(rule)))
        raise LocalRuntimeError(f"no scheduled rule targets a {module} function")

    def _deliver(self, target: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        attempts = 1 + int(target["retries"])
        failure: dict[str, Any] = {}
        for _ in range(attempts):
            try:
                self.functions.invoke(target["function"], dict(event))
                return
            except FunctionFailed as failed:
                failure = failed.payload
                continue
        if target["dlq"]:
            # as Lambda's dead-letter queue has them: the error in the message's attributes
            error = f"{failure.get('errorType', 'Error')}: {failure.get('errorMessage', '')}"
            self.sqs.send_message(
                QueueUrl=target["dlq"],
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorCode": {"DataType": "String", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": error[:1024]},
                },
            )

    # -- operator actions: reprocess a job, redrive the dead-letter queues ----------------

    def reprocess(self, job_id: str) -> tuple[int, Any]:
        """``POST /jobs/{jobId}/reprocess`` through the API function."""
        return self.api("POST", f"/jobs/{job_id}/reprocess", path_parameters={"jobId": job_id})

    def wait_job(self, job_id: str, *, timeout: float) -> dict[str, Any] | None:
        """Wait until the job is final and its (current) execution stopped; its record."""
        deadline = time.monotonic() + timeout
        self._executions.pop(job_id, None)  # its record names a new execution now
        while True:
            self.deliver_events()
            if self._over(job_id) or time.monotonic() >= deadline:
                self.deliver_events()  # as in wait(): the end's events before the record
                return self.job(job_id)
            left = deadline - time.monotonic()
            self.functions.pause(min(POLL_SECONDS, left), busy=min(BUSY_POLL_SECONDS, left))

    def dead_letter_queues(self) -> list[tuple[LocalFunction, str]]:
        """Each function that has a dead-letter queue, with the queue's URL."""
        return [(f, f.dead_letter_queue) for f in self.functions if f.dead_letter_queue]

    def redrive(self, *, dry_run: bool) -> list[Any]:
        """List (``dry_run``) or redrive every dead-letter queue (``etl_handlers.ops.redrive``,
        as against AWS): one line per message."""
        redrive = self._handler_module("etl_handlers.ops.redrive")
        lambda_client = boto3.session.Session(region_name=REGION).client("lambda")
        lines: list[Any] = []
        for function, queue_url in self.dead_letter_queues():
            lines += redrive.redrive_queue(
                sqs=self.sqs,
                lambda_client=lambda_client,
                queue_url=queue_url,
                function=function.name,
                job_status=lambda job_id: (self.job(job_id) or {}).get("status"),
                dry_run=dry_run,
            )
        return lines

    def job(self, job_id: str) -> dict[str, Any] | None:
        return self._read_job(job_id)

    def _read_job(self, job_id: str, *names: str) -> dict[str, Any] | None:
        """The job's record (only its attributes ``names``, if given), None when it has none.

        Read by id (a query): a scan would race moto's own threads, which create items while
        it iterates."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "jobId = :id",
            "ExpressionAttributeValues": {":id": {"S": job_id}},
        }
        if names:
            aliases = {f"#a{index}": name for index, name in enumerate(names)}
            query["ProjectionExpression"] = ", ".join(aliases)
            query["ExpressionAttributeNames"] = aliases
        items = self.dynamodb.query(**query)["Items"]
        return _plain(items[0]) if items else None

    def jobs(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items += [_plain(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load_jobs(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Put saved job records back (commands that follow a ``run``)."""
        table = boto3.resource("dynamodb", region_name=REGION).Table(self.table)
        with table.batch_writer() as batch:
            for record in records:
                batch.put_item(Item=json.loads(json.dumps(record), parse_float=_decimal))

    def job_id(self, key: str, version: str | None) -> str:
        """The id the trigger gives the job of (key, version): the handlers' own rule.

        Kept per object version: the handlers' module is imported under the functions' lock,
        which a running invocation holds, and a poll must not wait for it to end."""
        if version is not None and (key, version) in self._job_ids:
            return self._job_ids[(key, version)]
        known = version
        if version is None:
            version = self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')
        found = self._handler_module("etl_handlers.core.keys").job_id(self.bucket, key, version)
        if known is not None:
            self._job_ids[(key, known)] = found
        return str(found)

    def _handler_module(self, name: str) -> Any:
        """A module of the handlers' asset (as the trigger function loads it): the
        pipeline's own rules, from the code it runs."""
        with self.functions.handler_path(self.function_by_handler("trigger")):
            return importlib.import_module(name)

    def wait(
        self, objects: Iterable[tuple[str, str | None]], *, timeout: float
    ) -> dict[tuple[str, str | None], dict[str, Any] | None]:
        """Wait until the job of each (key, version) is final and its execution stopped.

        Returns every job's record: a job not final by the timeout as it stands then, None
        for one that has no record yet.
        """
        deadline = time.monotonic() + timeout
        pending = list(objects)
        found: dict[tuple[str, str | None], dict[str, Any] | None] = dict.fromkeys(pending)
        while pending:
            done = self.finished(pending, timeout=max(deadline - time.monotonic(), 0))
            found.update(done)
            pending = [obj for obj in pending if obj not in done]
            if time.monotonic() >= deadline:
                break
        for obj in pending:
            found[obj] = self.job(self.job_id(*obj))
        # the ends of executions that stopped since the last delivery reach their rules (the
        # trigger emits a failed job's lineage FAIL) before the caller exports the bucket
        self.deliver_events()
        return found

    def finished(
        self, objects: Iterable[tuple[str, str | None]], *, timeout: float
    ) -> dict[tuple[str, str | None], dict[str, Any]]:
        """The records of the jobs among ``objects`` that are final, their executions
        stopped: as soon as there is one, or none when ``timeout`` passes first.

        Polls are kept cheap, as they take the CPU from the steps they wait for: moto copies
        a whole record to answer a query, projected or not (about 10 ms for a finished
        job's), so while a job's execution runs only the execution is described; the job's
        status is read once it has stopped (or while the job has none), and a whole record
        only when it is final. While a function runs, polls wait for it to return (or
        :data:`BUSY_POLL_SECONDS`).
        """
        deadline = time.monotonic() + timeout
        ids = {obj: self.job_id(*obj) for obj in objects}
        while True:
            self.deliver_events()
            done = {obj: self.job(job_id) for obj, job_id in ids.items() if self._over(job_id)}
            left = deadline - time.monotonic()
            if done or left <= 0:
                return {obj: job for obj, job in done.items() if job}
            self.functions.pause(min(POLL_SECONDS, left), busy=min(BUSY_POLL_SECONDS, left))

    def _over(self, job_id: str) -> bool:
        """Whether the job is final and its execution stopped, read as cheaply as can be."""
        execution = self._executions.get(job_id)
        if execution and self.is_running({"executionArn": execution}):
            return False
        state = self._read_job(job_id, "status", "executionArn")
        if state is None:
            return False
        if state.get("executionArn"):
            self._executions[job_id] = state["executionArn"]
        return state.get("status") in FINAL_STATUSES and not self.is_running(state)

    def activity(self, obj: tuple[str, str | None]) -> str:
        """What the job of ``obj`` is doing, for a person: its status, and while a step reads
        a big object, how much of it: ``TRANSFORMING, 52.1 of 98.7 MB read``."""
        state = self._read_job(self.job_id(*obj), "status")
        status = (state or {}).get("status", "waiting for its trigger")
        read = moto_compat.LAST_READ
        if read.total and read.done < read.total:
            return f"{status}, {read.done / 1e6:.1f} of {read.total / 1e6:.1f} MB read"
        return str(status)

    def is_running(self, job: Mapping[str, Any]) -> bool:
        arn = job.get("executionArn")
        if not arn:
            return False
        return self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    def api(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        path_parameters: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Call the API function with the event API Gateway would send."""
        function = self.function_by_handler("api")
        resource = path
        for name, value in (path_parameters or {}).items():
            resource = resource.replace(value, "{" + name + "}")
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {},
            "queryStringParameters": dict(query) if query else None,
            "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
            "pathParameters": dict(path_parameters) if path_parameters else None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "stage": "prod",
                "requestId": "local",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": body if isinstance(body, str) or body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        response = self.functions.invoke(function, event)
        return response["statusCode"], json.loads(response["body"]) if response.get(
            "body"
        ) else None

    def export(
        self,
        out_dir: Path,
        prefixes: Iterable[str] = EXPORTED_PREFIXES,
        *,
        keys: Iterable[str] = (),
    ) -> list[Path]:
        """Copy the bucket's output objects under ``prefixes``, and the objects ``keys``
        (those that exist), into ``out_dir``, mirroring their keys."""
        written = []
        for key in itertools.chain((k for prefix in prefixes for k in self._keys(prefix)), keys):
            target = out_dir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            # from moto's store, not through GetObject (moto_compat 17.)
            if not moto_compat.copy_object_to(
                account=ACCOUNT, bucket=self.bucket, key=key, target=target
            ):
                continue  # deleted since it was listed, or never written
            written.append(target)
        return written

    def curated_keys(self, job: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The curated object keys the job record names: its current attempt's, and the
        earlier attempts' that the current one does not (what the enricher removes from the
        bucket once a reprocess SUCCEEDED), by the handlers' own rules."""
        curate = self._handler_module("etl_handlers.app.curate")
        return sorted(curate.curated_keys(job.get("outputs"))), curate.stale_curated_keys(job)

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]


def _pattern_text(key_filter: Any) -> str:
    """One key filter of an event pattern as a person reads it: ``raw/*.csv``."""
    if isinstance(key_filter, dict) and len(key_filter) == 1:
        ((kind, pattern),) = key_filter.items()
        if isinstance(pattern, str):
            return {"prefix": f"{pattern}*", "suffix": f"*{pattern}"}.get(kind, pattern)
    return key_filter if isinstance(key_filter, str) else json.dumps(key_filter)


def _key_schema(keys: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [
        {"AttributeName": name, "KeyType": kind}
        for (name, _), kind in zip(keys, ("HASH", "RANGE"), strict=False)
    ]


def _attributes(keys: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": kind} for name, kind in keys]


def _scheduled_event(rule: _Rule) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "local-schedule",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule.name}"],
        "detail": {},
    }


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (typed JSON) as plain JSON values."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return json.loads(
        json.dumps({k: deserializer.deserialize(v) for k, v in item.items()}, default=_number)
    )


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _package_of(function: LocalFunction) -> str:
    """The function package a handler lives in: ``etl_handlers.api.handler.lambda_handler``
    -> ``api``."""
    return function.handler.removeprefix("etl_handlers.").split(".", 1)[0]
