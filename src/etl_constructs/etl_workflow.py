"""EtlWorkflow: the functions, the state machine and the rules that run the pipeline.

Five functions (trigger, validator, transformer, enricher, quality-check), each with its own
role scoped to the prefixes and actions it needs, its own log group, X-Ray tracing and the
Powertools layer; the two EventBridge invokes asynchronously (trigger, quality-check) each
have an encrypted TLS-only dead-letter queue. A Standard state machine
runs validate -> transform -> enrich; every task retries transient faults with backoff and
catches everything else into one failure branch that records the error on the job record,
copies the source file to ``failed/`` and ends in ``Fail``. An EventBridge rule sends
``raw/*.csv`` Object Created events to the trigger; another sends it the executions that
ended FAILED, TIMED_OUT or ABORTED (the trigger records a job left running as FAILED); a
daily rule runs the quality check. The execution timeout is the longest path's worst case.

The strict compliance profile puts the functions in a VPC (isolated subnets, endpoints only),
reserves their concurrency, encrypts the dead-letter queues with the customer-managed key,
keeps logs a year and gives every role a customer-managed policy instead of an inline one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from . import budget, large_files, manifests, naming, network, runtime
from . import compliance as nag
from ._contract import contract
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.grants import TABLE_KEY_ACTIONS, grant_keys, grant_table
from ._core.iam import grant_start_execution, managed_instead_of_inline, service_role
from ._core.keys import pipeline_key
from ._core.logs import log_group, log_retention_of
from ._core.names import check_unique_names
from ._core.props import raise_if_any
from ._core.queues import dead_letter_queue, grant_dead_letter_key
from ._version import __version__
from .compliance import Compliance
from .input_formats import input_format_problems, key_wildcards, resolve_formats
from .large_files import LargeFiles
from .lineage import EMITTING_FUNCTIONS, LineagePolicy
from .manifests import ManifestPolicy
from .schema import TransactionSchema
from .seen_ids import SeenIdsPolicy, grant_claims, seen_ids_environment, seen_ids_table

OUTPUT_FORMATS = ("jsonl", "parquet")
#: Errors worth another attempt: Lambda service faults and the handlers' own TransientError.
TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "TransientError",
)
#: When a job in a running status counts as stuck, unless ``stuck_after`` says otherwise.
DEFAULT_STUCK_AFTER = cdk.Duration.minutes(contract.DEFAULT_STUCK_AFTER_MINUTES)
#: The statuses the failure branch may move to FAILED: the job is not finished yet.
FAILABLE_STATUSES = contract.ACTIVE_STATUSES
#: The row counts the steps record; a FAILED job keeps only the rows read.
STEP_ROW_COUNTS = contract.STEP_ROW_COUNTS
#: DynamoDB errors the failure branch's record retries (the integration names them so).
TRANSIENT_DYNAMODB_ERRORS = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerError",
    "DynamoDB.AmazonDynamoDBException",
)
#: The largest object one S3 CopyObject copies (5 GiB); the failure branch copies bigger
#: sources in parts, with the validator.
COPY_OBJECT_MAX_BYTES = 5 * 1024**3
#: How long the failure branch's CopyObject may take before the parts copy takes over.
COPY_OBJECT_TIMEOUT = cdk.Duration.minutes(2)
#: The failure branch's job record update (one DynamoDB UpdateItem).
RECORD_TIMEOUT = cdk.Duration.seconds(30)
#: The function that copies big sources to failed/ (it already reads raw/ with the bucket's
#: key), and the event mode it does so for (mirrors handlers/etl_handlers/app/modes.py).
FAILED_COPY_FUNCTION = "validator"
COPY_FAILED_MODE = "copy-failed"
#: A step whose function has reserved concurrency waits out throttling longer than other faults:
#: a burst of files queues behind the reserved executions instead of failing its jobs.
THROTTLING_ERROR = "Lambda.TooManyRequestsException"
#: The functions of the three steps, in pipeline order: they run the processing core (and
#: its fast path) and withdraw what a late attempt committed for a job that failed meanwhile.
STEP_FUNCTIONS = ("validator", "transformer", "enricher")
#: The functions EventBridge rules invoke asynchronously: Lambda sends an event it could not
#: process to the function's dead-letter queue. The others are invoked synchronously by the
#: state machine (its Catch takes their failures) and a dead-letter queue of theirs could
#: never receive a message, so they have none.
ASYNC_FUNCTIONS = ("trigger", "quality-check")


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """Memory, timeout and reserved concurrency of one function.

    ``reserved_concurrency`` ``None`` means none (standard) or the profile's default (strict).
    """

    memory_size: int
    timeout: cdk.Duration
    reserved_concurrency: int | None = None


DEFAULT_FUNCTION_SETTINGS: Mapping[str, FunctionSettings] = {
    "trigger": FunctionSettings(memory_size=256, timeout=cdk.Duration.seconds(30)),
    "validator": FunctionSettings(memory_size=1024, timeout=cdk.Duration.minutes(10)),
    "transformer": FunctionSettings(memory_size=1024, timeout=cdk.Duration.minutes(10)),
    "enricher": FunctionSettings(memory_size=1024, timeout=cdk.Duration.minutes(10)),
    "quality-check": FunctionSettings(memory_size=512, timeout=cdk.Duration.minutes(5)),
}
#: Reserved concurrency of each function under the strict profile (NIST 800-53 SC-5, SI-17):
#: ten files in flight per step, one quality check at a time; 41 of the account's executions.
STRICT_RESERVED_CONCURRENCY: Mapping[str, int] = {
    "trigger": 10,
    "validator": 10,
    "transformer": 10,
    "enricher": 10,
    "quality-check": 1,
}


@dataclass(frozen=True, kw_only=True)
class StepRetry:
    """Retry policy of each state machine task for transient faults."""

    max_attempts: int = 3
    interval: cdk.Duration = field(default_factory=lambda: cdk.Duration.seconds(2))
    backoff_rate: float = 2.0
    max_delay: cdk.Duration = field(default_factory=lambda: cdk.Duration.seconds(60))


@dataclass(frozen=True)
class _Step:
    """One state machine task and what it reads and writes."""

    state: str  # the task's state name, e.g. "Validate"
    step: str  # the step's name on the job record, e.g. "validate"
    function: str  # the function's base name, e.g. "validator"
    result_path: str  # where the task's result lands in the state


_STEPS = (
    _Step("Validate", naming.STEP_VALIDATE, "validator", "$.validation"),
    _Step("Transform", naming.STEP_TRANSFORM, "transformer", "$.transform"),
    _Step("Enrich", naming.STEP_ENRICH, "enricher", "$.enrich"),
)
# Which prefixes each function reads and writes (objects only, never the whole bucket).
_PREFIX_ACCESS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # HeadObject on raw/ resolves URL-encoded keys and fills in a missing size or ETag.
    "trigger": ((naming.RAW_PREFIX,), ()),
    "validator": ((naming.RAW_PREFIX,), (naming.VALIDATED_PREFIX, naming.REJECTED_PREFIX)),
    "transformer": ((naming.VALIDATED_PREFIX,), (naming.PROCESSED_PREFIX,)),
    "enricher": ((naming.PROCESSED_PREFIX,), (naming.ENRICHED_PREFIX,)),
    # the report counts rejected rows by code from the reject lines (figures.reject_codes)
    "quality-check": ((naming.REJECTED_PREFIX,), (naming.REPORTS_PREFIX,)),
}
# What the enricher adds for the curated dataset: it reads the rejects, writes curated/.
_CURATED_ACCESS = ((naming.REJECTED_PREFIX,), (naming.CURATED_PREFIX,))
# What the large-file path adds: (reads, writes, lists) per function.
_LARGE_FILE_ACCESS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # batches write parts and id indexes; the reduce reads and lists them
    "validator": ((naming.VALIDATED_PREFIX,), (), (naming.VALIDATED_PREFIX,)),
    # a part's transform rejects the rows the reduce found duplicated
    "transformer": ((), (naming.REJECTED_PREFIX,), ()),
    # the reduce reads and lists the parts' summaries
    "enricher": ((naming.ENRICHED_PREFIX,), (), (naming.ENRICHED_PREFIX,)),
    # a big file's rejects are its parts' reject files, listed under the job's prefix
    "quality-check": ((), (), (naming.REJECTED_PREFIX,)),
}
_TABLE_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "trigger": ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    "validator": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    "transformer": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    "enricher": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    "quality-check": ("dynamodb:Query",),
}
# Functions whose reads of their prefixes are HeadObject only: object metadata, never a body,
# so S3 asks KMS for nothing (the trigger resolves keys and sizes of raw/ objects).
_HEAD_ONLY = frozenset({"trigger"})
# The function that removes a job's other attempts once a reprocess SUCCEEDED (the last step).
_PRUNES_ATTEMPTS = "enricher"


class EtlWorkflow(Construct):
    """The processing pipeline over an ingestion bucket and a job table.

    Args:
        environment_suffix: appended to every physical name; required unless
            ``environment`` gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix,
            compliance, pipeline key (``encryption_key``), network (``vpc``), removal policy,
            metrics namespace. A prop given here too must agree with it.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        bucket: the ingestion bucket (it must send events to EventBridge).
        table: the job table (keys and GSI as :class:`MetadataStore` creates them).
        encryption_key: KMS key for log groups (and, strict, the dead-letter queues); its
            policy must let CloudWatch Logs and EventBridge use it, as :class:`PipelineKey`'s
            does; the stack's one PipelineKey of this environment when omitted (shared with the
            other constructs given none).
        schema: the CSV schema; financial transactions v1 by default.
        max_reject_rate: fraction of data rows that may be rejected before the whole file
            fails (0.05).
        output_format: ``jsonl`` (default) or ``parquet``.
        pyarrow_layer: bring your own layer with pyarrow and numpy, instead of the public
            AWS SDK for pandas layer.
        fast_path: the columnar fast path of validate, transform and enrich (True): pyarrow
            and numpy from the AWS SDK for pandas layer on those three functions; False keeps
            the pure-Python path (and the layer only for ``parquet`` output).
        function_settings: memory/timeout/reserved concurrency overrides by function base
            name.
        step_retry: retry policy of the state machine tasks.
        state_machine_timeout: the execution timeout; at least, and by default exactly, the
            longest path's worst case (every task's timeout times its attempts plus the
            retry waits, the failure branch included; ``execution_budget``). A shorter one
            is a props problem: an execution timeout cannot be caught.
        log_retention: retention of every log group (one week; one year when strict).
        stuck_after: a job in a running status for longer is reported as stuck (60 minutes),
            by the quality check and by a ControlApi given this workflow's state machine.
        quality_window: how far back the daily quality check looks (24 hours).
        quality_check_schedule: when it runs (02:00 UTC daily).
        metrics_namespace: CloudWatch namespace of the custom metrics.
        removal_policy: of log groups, queues and the created key.
        compliance: ``standard`` or ``strict`` (VPC, reserved concurrency, KMS queues,
            managed policies).
        vpc: strict only: the VPC for the functions, with endpoints for S3, DynamoDB, Step
            Functions and X-Ray (see PipelineNetwork); one is created when omitted, its
            endpoints limited to ``bucket`` and ``table``. A PipelineNetwork given
            ``gateway_prefix_lists`` also narrows the functions' HTTPS egress to its endpoints.
        large_files: when files take the Distributed Map path; ``None`` means the default
            ``LargeFiles()`` (above 1 GiB, parts of 100,000 rows, at most 40 parts at once or
            the step functions' reserved concurrency, no failed part tolerated).
            ``LargeFiles.off()`` keeps every file on the single-function path.
        seen_ids: reject a row whose transaction id another job of this pipeline accepted
            within a window (``DUPLICATE_ACROSS_FILES``), e.g.
            ``SeenIdsPolicy(window=Duration.days(90))``: a seen-ids table only the validator
            writes (big files: each part claims its ids in parallel). Off (None) by default;
            needs one unique schema column.
        manifest: ``ManifestPolicy(...)`` requires a manifest ``raw/<name>.manifest.json``
            per data file, waited for up to ``wait`` (30 minutes; then FAILED with
            ``MANIFEST_MISSING``), whose control totals the validation checks
            (``CONTROL_TOTALS_MISMATCH``); ``None`` (default): manifests are not read.
        duplicate_files: a file with the same bytes (SHA-256) as an earlier job's that did
            not fail ends ``DUPLICATE`` naming that job, and publishes nothing (False: off,
            so re-sending a file under a new key processes it again, as before).
        curated_dataset: the enrich step also writes the job's rows and rejects as typed
            Parquet under ``curated/``, the dataset :class:`AnalyticsCatalog` makes
            queryable (pyarrow, the AWS SDK for pandas layer, on the enricher). Off (False)
            by default for now: it adds 22-38% to the chain's CPU (a day's export the
            least, rows spread over a year the most; docs/performance.md); switch it on
            with the catalog.
        lineage: ``LineagePolicy(...)`` emits an OpenLineage run event per job (START,
            COMPLETE or FAIL) to the bucket under ``lineage/`` and, with an ``endpoint``, to
            an OpenLineage HTTP API (docs/lineage.md); ``None`` (default): no events.
        input_formats: the file formats read, from ``csv``, ``camt.053``, ``mt940``,
            ``bai2`` (None: all four when statements can fill the schema, as they can the
            default one; else ``csv`` alone). A file is read by its first bytes; one of a
            format left out ends FAILED with ``UNSUPPORTED_FORMAT``, and the ingestion rule
            only matches the suffixes of the formats in (``.csv``; ``.xml``; ``.sta``,
            ``.mt940``, ``.940``; ``.bai``, ``.bai2``). Naming a statement format needs a
            schema statements can fill (the default's columns; docs/statements.md).

    Attributes:
        functions: the five functions by base name.
        dead_letter_queues: the DLQs of the asynchronously invoked functions (trigger,
            quality-check) by base name.
        state_machine, state_machine_log_group, ingestion_rule, quality_check_rule,
        execution_status_rule, encryption_key, schema, compliance.
        execution_budget: the longest path's worst case (the default execution timeout).
        large_files: the big-file settings in force (``enabled`` is False when off).
        seen_ids_table: the seen-ids table when ``seen_ids`` is set, else ``None``.
        vpc, security_group: strict only, else ``None``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        encryption_key: kms.IKey | None = None,
        schema: TransactionSchema | None = None,
        max_reject_rate: float = naming.DEFAULT_MAX_REJECT_RATE,
        output_format: str = "jsonl",
        pyarrow_layer: lambda_.ILayerVersion | None = None,
        fast_path: bool = True,
        function_settings: Mapping[str, FunctionSettings] | None = None,
        step_retry: StepRetry | None = None,
        state_machine_timeout: cdk.Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        stuck_after: cdk.Duration | None = None,
        quality_window: cdk.Duration | None = None,
        quality_check_schedule: events.Schedule | None = None,
        metrics_namespace: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
        compliance: Compliance | str | None = None,
        vpc: ec2.IVpc | None = None,
        large_files: LargeFiles | None = None,
        seen_ids: SeenIdsPolicy | None = None,
        manifest: ManifestPolicy | None = None,
        duplicate_files: bool = False,
        curated_dataset: bool = False,
        lineage: LineagePolicy | None = None,
        input_formats: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        #: Whether the enrich step writes the curated Parquet dataset under ``curated/``.
        self.curated_dataset = curated_dataset
        self.schema = schema or TransactionSchema.default()
        #: When the quality check (and a ControlApi given this state machine) calls a job
        #: stuck.
        self.stuck_after: cdk.Duration = stuck_after or DEFAULT_STUCK_AFTER
        step_retry = step_retry or StepRetry()
        stuck_after = stuck_after or DEFAULT_STUCK_AFTER
        quality_window = quality_window or cdk.Duration.hours(contract.DEFAULT_QUALITY_WINDOW_HOURS)
        settings = dict(DEFAULT_FUNCTION_SETTINGS)
        env, problems = resolve_environment(
            "EtlWorkflow",
            environment,
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            metrics_namespace=metrics_namespace,
            removal_policy=removal_policy,
            compliance=compliance,
            vpc=vpc,
        )
        profile, vpc, removal_policy = env.profile, env.vpc, env.removal_policy
        problems += _problems(
            max_reject_rate=max_reject_rate,
            output_format=output_format,
            function_settings=function_settings or {},
            step_retry=step_retry,
        )
        schema_problems = self.schema.problems()
        problems += schema_problems
        formats_against = {
            # a broken schema is reported above; whether statements fit it is moot
            "schema_document": None
            if schema_problems
            else self.schema.to_document(descriptions=False),
            "default_document": TransactionSchema.default().to_document(descriptions=False),
        }
        problems += input_format_problems(input_formats, **formats_against)
        #: the file formats the pipeline reads (docs/statements.md)
        self.input_formats = resolve_formats(input_formats, **formats_against)
        settings.update(function_settings or {})
        self.compliance = profile
        # The maps of the big-file path run parts on the step functions: more parts at once
        # than their reserved concurrency would only throttle.
        step_concurrency = min(
            (
                c
                for base in STEP_FUNCTIONS
                if (c := self._reserved_concurrency(base, settings[base])) is not None
            ),
            default=None,
        )
        large_files = large_files if large_files is not None else LargeFiles()
        problems += large_files.problems(reserved_concurrency=step_concurrency)
        if seen_ids is not None:
            problems += seen_ids.problems(schema=self.schema)
        if manifest is not None:
            problems += manifest.problems(stuck_after=stuck_after)
        if lineage is not None:
            problems += lineage.problems()
        #: the manifest each data file needs (None: none), and the duplicate-file check
        self.manifest, self.duplicate_files = manifest, duplicate_files
        raise_if_any("EtlWorkflow", problems)
        check_unique_names(self)
        self.environment = env
        self.naming = names = env.naming
        environment_suffix = env.environment_suffix
        encryption_key = env.encryption_key
        self.large_files = large_files
        self._large_file_concurrency = (
            large_files.concurrency(reserved_concurrency=step_concurrency)
            if large_files.enabled
            else None
        )

        self.bucket = bucket
        self.table = table
        encryption_key = pipeline_key(self, env)
        self.encryption_key = encryption_key
        self._log_retention = log_retention_of(profile, log_retention)
        self._removal_policy = removal_policy
        self.vpc: ec2.IVpc | None = None
        self.security_group: ec2.SecurityGroup | None = None
        self._vpc_access: iam.IManagedPolicy | None = None
        if profile.strict:
            if vpc is None:
                vpc = network.PipelineNetwork(
                    self,
                    "Network",
                    environment_suffix=environment_suffix,
                    name="workflow",
                    encryption_key=encryption_key,
                    removal_policy=removal_policy,
                    buckets=[bucket],
                    tables=[table],
                ).vpc
            self.vpc = vpc
            self.security_group = network.function_security_group(
                self, "FunctionSecurityGroup", self.vpc
            )
            self._vpc_access = network.lambda_vpc_access_policy(self, "LambdaVpcAccess")
        self._layers = [runtime.powertools_layer(self)]
        # pyarrow (the AWS SDK for pandas layer) where a function reads or writes Arrow: the
        # fast path and Parquet output in the three steps; the curated dataset in the enricher.
        pyarrow_for = {
            base
            for base in STEP_FUNCTIONS
            if fast_path or output_format == "parquet" or (base == "enricher" and curated_dataset)
        }
        data_layers = (
            [*self._layers, pyarrow_layer or runtime.sdk_for_pandas_layer(self)]
            if pyarrow_for
            else self._layers
        )
        self._layers_of = {
            base: data_layers if base in pyarrow_for else self._layers
            for base in naming.WORKFLOW_FUNCTIONS
        }

        common_env = {
            naming.ENV_DATA_BUCKET: bucket.bucket_name,
            naming.ENV_JOB_TABLE: table.table_name,
            naming.ENV_JOB_INDEX: naming.JOB_INDEX_NAME,
            "POWERTOOLS_SERVICE_NAME": names.service,
            "POWERTOOLS_METRICS_NAMESPACE": env.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        step_env = {
            naming.ENV_SCHEMA: self.schema.to_json(),
            naming.ENV_OUTPUT_FORMAT: output_format,
            naming.ENV_FAST_PATH: "1" if fast_path else "0",
        }
        specific_env: Mapping[str, Mapping[str, str]] = {
            "trigger": {},
            "validator": {
                **step_env,
                naming.ENV_MAX_REJECT_RATE: str(max_reject_rate),
                contract.MANIFEST_REQUIRED: "1" if manifest is not None else "0",
                contract.DUPLICATE_FILES: "1" if duplicate_files else "0",
                contract.ACCEPTED_FORMATS: ",".join(self.input_formats),
            },
            "transformer": step_env,
            "enricher": {
                **step_env,
                naming.ENV_PIPELINE_VERSION: __version__,
                naming.ENV_CURATED: "1" if curated_dataset else "0",
            },
            "quality-check": {
                naming.ENV_STUCK_AFTER_MINUTES: str(int(stuck_after.to_minutes())),
                naming.ENV_QUALITY_WINDOW_HOURS: str(int(quality_window.to_hours())),
            },
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for base in naming.WORKFLOW_FUNCTIONS:
            fn = self._function(base, settings[base], {**common_env, **specific_env[base]})
            self._grant_data_access(fn, base)
            self.functions[base] = fn
        # OpenLineage run events (off by default): put-only access to lineage/ for the three
        # functions that emit them.
        self.lineage = lineage
        if lineage is not None:
            lineage_env = lineage.environment(default_namespace=names.state_machine)
            for base in EMITTING_FUNCTIONS:
                for name, value in lineage_env.items():
                    self.functions[base].add_environment(name, value)
                lineage.grant_emit(self.functions[base].role, bucket=bucket)
        # Ids accepted across files (off by default): a table only the validator writes.
        self.seen_ids_table: dynamodb.Table | None = None
        if seen_ids is not None:
            self.seen_ids_table = seen_ids_table(
                self, policy=seen_ids, naming=names, job_table=table, removal_policy=removal_policy
            )
            grant_claims(self.seen_ids_table, self.functions["validator"].role)
            for name, value in seen_ids_environment(seen_ids, self.seen_ids_table).items():
                self.functions["validator"].add_environment(name, value)

        self.state_machine_log_group = self._log_group(
            "StateMachineLogs", names.vended_log_group("state-machine")
        )
        state_machine_role = (
            service_role(
                self,
                "StateMachineRole",
                service="states.amazonaws.com",
                description=f"{names.state_machine}: invoke the steps, record failures",
                profile=profile,
                source_arns=_state_machine_source_arns(self, names.state_machine),
            )
            if profile.strict
            else None  # standard: CDK's own role (any state machine of this account)
        )
        definition = self._definition(step_retry, settings)
        self.execution_budget = execution_budget(
            self._after_manifest, before=self._manifest_seconds
        )
        raise_if_any("EtlWorkflow", _timeout_problems(state_machine_timeout, self.execution_budget))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            role=state_machine_role,
            state_machine_name=names.state_machine,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=state_machine_timeout or self.execution_budget,
            tracing_enabled=True,
            # Strict: execution history under the customer-managed key, and logs that keep
            # every event but no state input or output (neither should ever hold card data;
            # these keep it so should a handler ever return some).
            encryption_configuration=(
                sfn.CustomerManagedEncryptionConfiguration(encryption_key)
                if profile.strict
                else None
            ),
            logs=sfn.LogOptions(
                destination=self.state_machine_log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=not profile.strict,
            ),
        )
        # With customer keys: the bucket's for the item reader's GetObject on raw/ (CDK's
        # readers grant no key) and the failure branch's CopyObject raw/ -> failed/ (decrypt
        # the source, generate the copy's data key), the table's to record the failure.
        grant_keys(
            self.state_machine.role,
            (bucket.encryption_key, ("kms:Decrypt", "kms:GenerateDataKey")),
            (table.encryption_key, TABLE_KEY_ACTIONS),
        )
        if self.large_files.enabled:
            nag.acknowledge_distributed_map(
                self.state_machine, self.state_machine.state_machine_arn
            )
            if profile.strict:
                managed_instead_of_inline(
                    self.state_machine, "DistributedMapPolicy", self.state_machine.role
                )
        nag.acknowledge_state_machine_role(
            self.state_machine.role,
            bucket_arn=bucket.bucket_arn,
            prefixes=(naming.RAW_PREFIX, naming.FAILED_PREFIX),
            function_arns=[self.functions[s.function].function_arn for s in _STEPS],
        )
        trigger = self.functions["trigger"]
        trigger.add_environment(naming.ENV_STATE_MACHINE_ARN, self.state_machine.state_machine_arn)
        grant_start_execution(self.state_machine, trigger)

        self.ingestion_rule = events.Rule(
            self,
            "IngestionRule",
            rule_name=names.ingestion_rule,
            description="raw/ object of an accepted format created in the ingestion bucket "
            "-> trigger",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": key_wildcards(self.input_formats, naming.RAW_PREFIX)},
                },
            ),
            targets=[self._rule_target("trigger")],
        )
        # An execution timeout, a stop, or a failure outside the failure branch's reach
        # ends the execution with the job still running: the trigger records it (it has
        # the table access already; see handlers/trigger/executions.py).
        self.execution_status_rule = events.Rule(
            self,
            "ExecutionStatusRule",
            rule_name=names.execution_status_rule,
            description="executions that ended FAILED, TIMED_OUT or ABORTED -> trigger, which "
            "records a job still running as FAILED",
            event_pattern=events.EventPattern(
                source=[naming.STATES_SOURCE],
                detail_type=[naming.EXECUTION_STATUS_CHANGE],
                detail={
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                    "status": list(naming.EXECUTION_END_STATUSES),
                },
            ),
            targets=[self._rule_target("trigger")],
        )
        self.quality_check_rule = events.Rule(
            self,
            "QualityCheckRule",
            rule_name=names.quality_check_rule,
            description="daily data quality check of the last day's jobs",
            schedule=quality_check_schedule or events.Schedule.cron(minute="0", hour="2"),
            targets=[self._rule_target("quality-check")],
        )

    # -- functions ---------------------------------------------------------------------

    def _log_group(self, construct_id: str, name: str) -> logs.LogGroup:
        return log_group(
            self,
            construct_id,
            name,
            retention=self._log_retention,
            encryption_key=self.encryption_key,
            removal_policy=self._removal_policy,
        )

    def _function(
        self, base: str, settings: FunctionSettings, environment: Mapping[str, str]
    ) -> lambda_.Function:
        names = self.naming
        module = base.replace("-", "_")
        log_group = self._log_group(
            f"{naming.construct_id(base)}Logs", names.log_group(f"lambda/{base}")
        )
        strict = self.compliance.strict
        dlq = None
        if base in ASYNC_FUNCTIONS:
            dlq = dead_letter_queue(
                self,
                f"{naming.construct_id(base)}Dlq",
                names.dead_letter_queue(base),
                encryption_key=self.encryption_key if strict else None,
            )
            self.dead_letter_queues[base] = dlq
        role = service_role(
            self,
            f"{naming.construct_id(base)}Role",
            service="lambda.amazonaws.com",
            description=f"{names.function(base)}: least privilege for the {base} step",
            profile=self.compliance,
        )
        log_group.grant_write(role)
        if dlq is not None:
            grant_dead_letter_key(dlq, role)
        if self._vpc_access is not None:
            role.add_managed_policy(self._vpc_access)
        reserved_concurrency = self._reserved_concurrency(base, settings)
        fn = lambda_.Function(
            self,
            naming.construct_id(base),
            function_name=names.function(base),
            runtime=runtime.PYTHON_RUNTIME,
            architecture=runtime.ARCHITECTURE,
            code=runtime.handler_code(),
            handler=f"etl_handlers.{module}.handler.lambda_handler",
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            role=role,
            layers=self._layers_of[base],
            environment=dict(environment),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            dead_letter_queue=dlq,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=reserved_concurrency,
            vpc=self.vpc,
            security_groups=[self.security_group] if self.security_group else None,
        )
        nag.acknowledge_checkov(fn, "CKV_AWS_173", nag.LAMBDA_ENV_KEY_REASON)  # env, no key
        if reserved_concurrency is None:
            nag.acknowledge_checkov(fn, "CKV_AWS_115", nag.STANDARD_CONCURRENCY_REASON)
        if not strict:
            nag.acknowledge_checkov(fn, "CKV_AWS_117", nag.STANDARD_VPC_REASON)  # no VPC
        if dlq is None:
            nag.acknowledge_synchronous_function(fn, nag.SYNCHRONOUS_STEP_REASON, self.compliance)
        return fn

    def _reserved_concurrency(self, base: str, settings: FunctionSettings) -> int | None:
        if settings.reserved_concurrency is not None:
            return settings.reserved_concurrency
        return STRICT_RESERVED_CONCURRENCY[base] if self.compliance.strict else None

    def _grant_data_access(self, fn: lambda_.Function, base: str) -> None:
        role = fn.role
        assert role is not None
        reads, writes = _PREFIX_ACCESS[base]
        if base == "enricher" and self.curated_dataset:
            reads, writes = (*reads, *_CURATED_ACCESS[0]), (*writes, *_CURATED_ACCESS[1])
        lists: tuple[str, ...] = ()
        if self.large_files.enabled and base in _LARGE_FILE_ACCESS:
            more_reads, more_writes, lists = _LARGE_FILE_ACCESS[base]
            reads = tuple(dict.fromkeys(reads + more_reads))
            writes = tuple(dict.fromkeys(writes + more_writes))
        if reads:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[self.bucket.arn_for_objects(f"{p}*") for p in reads],
                )
            )
        if writes:
            # The steps delete what a late attempt committed for a job that failed meanwhile.
            withdraws = ["s3:DeleteObject"] if base in STEP_FUNCTIONS else []
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:AbortMultipartUpload", *withdraws],
                    resources=[self.bucket.arn_for_objects(f"{p}*") for p in writes],
                )
            )
        pruned: tuple[str, ...] = ()
        if base == _PRUNES_ATTEMPTS:
            # A reprocess that SUCCEEDED: the enricher removes the job's other attempts.
            pruned = contract.ATTEMPT_PRUNED_PREFIXES
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:DeleteObject"],
                    resources=[self.bucket.arn_for_objects(f"{p}*") for p in pruned],
                )
            )
            lists = tuple(dict.fromkeys(lists + pruned))
        if lists:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in lists]}},
                )
            )
        # SSE-KMS under the bucket's key: GetObject needs kms:Decrypt, PutObject
        # kms:GenerateDataKey, and a multipart upload (MultipartWriter, from 8 MiB) both;
        # HeadObject needs neither.
        bucket_key_actions = (
            *(("kms:Decrypt",) if writes or (reads and base not in _HEAD_ONLY) else ()),
            *(("kms:GenerateDataKey",) if writes else ()),
        )
        grant_table(self.table, role, _TABLE_ACTIONS[base], grant_key=False)
        if base == "validator" and self.duplicate_files:
            # The first job of a content hash: a conditional put of the items keyed
            # "sha256:<hex>" only, never of a job record (app/intake.py).
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:PutItem"],
                    resources=[self.table.table_arn],
                    conditions={
                        "ForAllValues:StringLike": {
                            "dynamodb:LeadingKeys": [f"{contract.CONTENT_KEY_PREFIX}*"]
                        }
                    },
                )
            )
        grant_keys(
            role,
            (self.bucket.encryption_key, bucket_key_actions),
            (self.table.encryption_key, TABLE_KEY_ACTIONS),
        )
        nag.acknowledge_function_role(
            role,
            bucket_arn=self.bucket.bucket_arn,
            prefixes=tuple(dict.fromkeys(reads + writes + pruned)),
        )

    def _rule_target(self, base: str) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            self.functions[base],
            dead_letter_queue=self.dead_letter_queues[base],
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(2),
        )

    # -- state machine -----------------------------------------------------------------

    def _definition(
        self, retry: StepRetry, settings: Mapping[str, FunctionSettings]
    ) -> sfn.IChainable:
        self._retry, self._settings = retry, settings
        self._failure = failure = self._failure_branch()
        succeeded = sfn.Succeed(self, "JobSucceeded")
        steps = [
            self.step_task(
                step.state,
                step.step,
                step.function,
                step.result_path,
                duplicate=step.step == naming.STEP_VALIDATE,
            )
            for step in _STEPS
        ]
        for (_, outcome), (next_task, _) in itertools.pairwise(steps):
            outcome.otherwise(next_task)
        steps[-1][1].otherwise(succeeded)
        whole_file = steps[0][0]
        if not self.large_files.enabled:
            return self._manifest_first(whole_file)
        big_file = large_files.build(
            self,
            settings=self.large_files,
            concurrency=self._large_file_concurrency,
            failure=failure,
            succeeded=succeeded,
        )
        # Unversioned buckets stay on the single-function path: the item reader pins the
        # version that triggered the job, and such objects have none.
        return self._manifest_first(
            sfn.Choice(self, "FileSize", comment="big files take the Distributed Map path")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.versionId"),
                    sfn.Condition.is_not_null("$.versionId"),
                    sfn.Condition.number_greater_than(
                        "$.sizeBytes", self.large_files.threshold_bytes
                    ),
                ),
                big_file,
            )
            .otherwise(whole_file)
        )

    def _manifest_first(self, then: sfn.IChainable) -> sfn.IChainable:
        """``then``, behind the wait for the sender's manifest when one is required. The
        execution budget counts that wait (a loop) apart: ``_manifest_seconds`` before
        the worst case of ``then``."""
        self._after_manifest, self._manifest_seconds = then, 0.0
        if self.manifest is None:
            return then
        chain, check = manifests.build(self, policy=self.manifest, then=then, failure=self._failure)
        check_seconds = budget.state_seconds(check.state_id, check.to_state_json())
        self._manifest_seconds = self.manifest.loop_seconds(check_seconds)
        return chain

    def step_task(
        self,
        state: str,
        step: str,
        function: str,
        result_path: str,
        *,
        payload: Mapping[str, Any] | None = None,
        duplicate: bool = False,
    ) -> tuple[tasks.LambdaInvoke, sfn.Choice]:
        """A step's task: retries, a catch into the failure branch, and an outcome Choice
        whose INVALID branch is wired to the failure branch (the caller wires ``otherwise``).
        ``duplicate``: the step may find the file a duplicate (outcome DUPLICATE, the job
        recorded so), which ends the execution at ``JobDuplicate`` when the check is on.
        """
        task = self._invoke(state, function, result_path, payload)
        task.add_catch(
            self._errored(state, step).next(self._failure),
            errors=["States.ALL"],
            result_path="$.error",
        )
        rejected = sfn.Pass(
            self,
            f"{state}Rejected",
            comment=f"the data failed {step}: keep the handler's message",
            parameters={
                "step": step,
                "code": sfn.JsonPath.string_at(f"{result_path}.error.code"),
                "message": sfn.JsonPath.string_at(f"{result_path}.error.message"),
            },
            result_path="$.failure",
        )
        unexplained = sfn.Pass(
            self,
            f"{state}Unexplained",
            comment=f"{step} returned no VALID outcome and no readable error",
            parameters={
                "step": step,
                "code": naming.CODE_INVALID_WITHOUT_REASON,
                "message": sfn.JsonPath.format(
                    f"The {step} step returned no usable outcome or error; the execution "
                    "history of {} holds its result.",
                    sfn.JsonPath.execution_id,
                ),
            },
            result_path="$.failure",
        )
        outcome = sfn.Choice(self, f"{state}Outcome")
        if duplicate and self.duplicate_files:
            outcome.when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"{result_path}.outcome"),
                    sfn.Condition.string_equals(
                        f"{result_path}.outcome", contract.OUTCOME_DUPLICATE
                    ),
                ),
                self._duplicate_end(),
            )
        outcome.when(_explained_invalid(result_path), rejected.next(self._failure))
        outcome.when(_not_valid(result_path), unexplained.next(self._failure))
        task.next(outcome)
        return task, outcome

    def _duplicate_end(self) -> sfn.Succeed:
        """Where a duplicate file's execution ends: the job is DUPLICATE, nothing failed."""
        found = self.node.try_find_child("JobDuplicate")
        if isinstance(found, sfn.Succeed):
            return found
        return sfn.Succeed(
            self, "JobDuplicate", comment="an earlier job sent these bytes: nothing published"
        )

    def inner_task(
        self, state: str, function: str, *, result_path: str | None = None
    ) -> tasks.LambdaInvoke:
        """A task inside a Distributed Map: retries; a failure fails its batch."""
        return self._invoke(state, function, result_path or sfn.JsonPath.DISCARD, None)

    def catch_into_failure(
        self, state: sfn.DistributedMap, step: str, failure: sfn.IChainable
    ) -> None:
        state.add_catch(
            self._errored(state.node.id, step).next(failure),
            errors=["States.ALL"],
            result_path="$.error",
        )

    def _invoke(
        self, state: str, function: str, result_path: str, payload: Mapping[str, Any] | None
    ) -> tasks.LambdaInvoke:
        settings, retry = self._settings[function], self._retry
        transient = list(TRANSIENT_ERRORS)
        task = tasks.LambdaInvoke(
            self,
            state,
            lambda_function=self.functions[function],
            payload=sfn.TaskInput.from_object(dict(payload)) if payload is not None else None,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
            task_timeout=sfn.Timeout.duration(settings.timeout.plus(cdk.Duration.seconds(30))),
        )
        if self._reserved_concurrency(function, settings) is not None:
            # Throttled by its reserved concurrency: wait for a free execution (up to
            # about 7 minutes, jittered) rather than fail the job after a few seconds.
            task.add_retry(
                errors=[THROTTLING_ERROR],
                interval=cdk.Duration.seconds(10),
                max_attempts=8,
                backoff_rate=1.5,
                max_delay=cdk.Duration.minutes(2),
                jitter_strategy=sfn.JitterType.FULL,
            )
            # The first retrier naming an error is the one used: keep it out of the next.
            transient.remove(THROTTLING_ERROR)
        task.add_retry(
            errors=transient,
            interval=retry.interval,
            max_attempts=retry.max_attempts,
            backoff_rate=retry.backoff_rate,
            max_delay=retry.max_delay,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _errored(self, state: str, step: str) -> sfn.Pass:
        return sfn.Pass(
            self,
            f"{state}Errored",
            comment=f"a fault in {step}: record its name, not the raw cause",
            parameters={
                "step": step,
                "code": sfn.JsonPath.string_at("$.error.Error"),
                "message": sfn.JsonPath.format(
                    f"The {step} step failed with {{}}; the execution history of {{}} "
                    "holds the details.",
                    sfn.JsonPath.string_at("$.error.Error"),
                    sfn.JsonPath.execution_id,
                ),
            },
            result_path="$.failure",
        )

    def _failure_branch(self) -> sfn.IChainable:
        """Copy the source to ``failed/``, record the error, end in Fail.

        Sources of at most 5 GiB are copied with one CopyObject; bigger ones (and any whose
        CopyObject failed) by the validator in parts. The record names ``outputs.failed``
        only after a copy succeeded; when both copies failed it records the copy's error
        name instead (``failedCopyError``). Whatever happens to the record, the execution
        ends in ``JobFailed`` (a record that could not be written is left to the execution
        status rule).
        """
        bucket = self.bucket
        copy = tasks.CallAwsService(
            self,
            "CopyToFailed",
            comment="one CopyObject (S3 copies up to 5 GiB so)",
            service="s3",
            action="copyObject",
            parameters={
                "Bucket": sfn.JsonPath.string_at("$.bucket"),
                "CopySource": sfn.JsonPath.string_at("$.copySource"),
                "Key": sfn.JsonPath.string_at("$.failedKey"),
            },
            iam_action="s3:PutObject",
            iam_resources=[bucket.arn_for_objects(f"{naming.FAILED_PREFIX}*")],
            additional_iam_statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{naming.RAW_PREFIX}*")],
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=sfn.Timeout.duration(COPY_OBJECT_TIMEOUT),
        )
        # A copy that ran out of time is not tried again the same way: the parts copy takes
        # over. Anything else gets two more tries first.
        copy.add_retry(errors=["States.Timeout"], max_attempts=0)
        copy.add_retry(
            errors=["States.ALL"], interval=cdk.Duration.seconds(1), max_attempts=2, backoff_rate=2
        )
        copier = self.functions[FAILED_COPY_FUNCTION]
        copy_in_parts = self._invoke(
            "CopyToFailedInParts",
            FAILED_COPY_FUNCTION,
            sfn.JsonPath.DISCARD,
            {
                "mode": COPY_FAILED_MODE,
                **{
                    name: sfn.JsonPath.string_at(f"$.{name}")
                    for name in ("jobId", "bucket", "key", "versionId")
                },
            },
        )
        assert copier.role is not None
        copier.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{naming.FAILED_PREFIX}*")],
            )
        )
        nag.acknowledge_function_role(
            copier.role, bucket_arn=bucket.bucket_arn, prefixes=(naming.FAILED_PREFIX,)
        )
        failed = sfn.Fail(
            self,
            "JobFailed",
            error="JobFailed",
            cause_path=sfn.JsonPath.string_at("$.failure.message"),
        )
        record = self._record_failure("RecordFailure", copied=True, then=failed)
        record_uncopied = self._record_failure(
            "RecordFailureWithoutCopy", copied=False, then=failed
        )
        copy.add_catch(copy_in_parts, errors=["States.ALL"], result_path="$.copyError")
        copy_in_parts.add_catch(record_uncopied, errors=["States.ALL"], result_path="$.copyError")
        copy.next(record)
        copy_in_parts.next(record)
        return (
            sfn.Choice(self, "FailedCopySize", comment="CopyObject copies up to 5 GiB")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.sizeBytes"),
                    sfn.Condition.is_numeric("$.sizeBytes"),
                    sfn.Condition.number_less_than_equals("$.sizeBytes", COPY_OBJECT_MAX_BYTES),
                ),
                copy,
            )
            .otherwise(copy_in_parts)
        )

    def _record_failure(
        self, construct_id: str, *, copied: bool, then: sfn.Fail
    ) -> tasks.DynamoUpdateItem:
        """FAILED with the error, unless the job is final already; with ``copied`` the
        ``failed/`` copy's key, else the copy's error name."""
        # What a FAILED job reports (etl_handlers/aws/jobs.py, failed_figures): the rows its
        # validation read, no valid counts, no totals; nothing of it was published.
        sets = [
            "#status = :failed",
            "#error = :error",
            "failedAt = :at",
            "updatedAt = :at",
            "#rows.#read = if_not_exists(#rows.#input, :zero)",
        ]
        removes = [f"#rows.#{count}" for count in STEP_ROW_COUNTS] + ["#totals"]
        names = {
            "#status": "status",
            "#error": "error",
            "#rows": "rows",
            "#read": contract.ROWS_READ,
            "#totals": "totals",
            **{f"#{count}": count for count in STEP_ROW_COUNTS},
        }
        values: dict[str, tasks.DynamoAttributeValue] = {
            ":zero": tasks.DynamoAttributeValue.from_number(0)
        }
        if copied:
            sets.append("outputs.#failed = :failedKey")
            names["#failed"] = "failed"
            values[":failedKey"] = tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.failedKey")
            )
        else:
            sets.append("failedCopyError = :copyError")
            values[":copyError"] = tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.copyError.Error")
            )
        record = tasks.DynamoUpdateItem(
            self,
            construct_id,
            comment="FAILED with its error, unless the job is final already",
            table=self.table,
            key={
                "jobId": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.jobId")),
                "fileName": tasks.DynamoAttributeValue.from_string(
                    sfn.JsonPath.string_at("$.fileName")
                ),
            },
            update_expression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
            condition_expression="#status IN ("
            + ", ".join(f":s{i}" for i in range(len(FAILABLE_STATUSES)))
            + ")",
            expression_attribute_names=names,
            expression_attribute_values={
                ":failed": tasks.DynamoAttributeValue.from_string(contract.FAILED),
                ":error": tasks.DynamoAttributeValue.from_map(
                    {
                        "step": tasks.DynamoAttributeValue.from_string(
                            sfn.JsonPath.string_at("$.failure.step")
                        ),
                        "code": tasks.DynamoAttributeValue.from_string(
                            sfn.JsonPath.string_at("$.failure.code")
                        ),
                        "message": tasks.DynamoAttributeValue.from_string(
                            sfn.JsonPath.string_at("$.failure.message")
                        ),
                    }
                ),
                ":at": tasks.DynamoAttributeValue.from_string(
                    sfn.JsonPath.string_at("$$.State.EnteredTime")
                ),
                **values,
                **{
                    f":s{i}": tasks.DynamoAttributeValue.from_string(status)
                    for i, status in enumerate(FAILABLE_STATUSES)
                },
            },
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=sfn.Timeout.duration(RECORD_TIMEOUT),
        )
        record.add_retry(
            errors=list(TRANSIENT_DYNAMODB_ERRORS),
            interval=cdk.Duration.seconds(1),
            max_attempts=5,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # A job already final (a late or repeated failure) keeps its record as it is. Any
        # other error still ends in JobFailed: the execution status rule then records it.
        record.add_catch(
            then, errors=["DynamoDB.ConditionalCheckFailedException"], result_path="$.recordError"
        )
        record.add_catch(then, errors=["States.ALL"], result_path="$.recordError")
        return record.next(then)


def execution_budget(definition: sfn.IChainable, *, before: float = 0.0) -> cdk.Duration:
    """The longest an execution of ``definition`` can take while it works through its task
    timeouts and retry policies (:mod:`etl_constructs.budget`), up to a whole minute: the
    default execution timeout, and the least one given may be. ``before``: seconds spent
    ahead of ``definition`` (the wait for a manifest, a bounded loop)."""
    seconds = before + budget.of_chain(definition)
    return cdk.Duration.minutes(max(1, math.ceil(seconds / 60)))


def _timeout_problems(given: cdk.Duration | None, needed: cdk.Duration) -> list[str]:
    if given is None or given.to_seconds() >= needed.to_seconds():
        return []
    return [
        f"state_machine_timeout is {given.to_human_string()}, shorter than the longest path of "
        f"the state machine ({needed.to_human_string()}: every task's timeout times its "
        "attempts plus the retry waits, the failure branch included); an execution timeout "
        "cannot be caught, so give at least that, or leave it unset to get exactly that"
    ]


def _explained_invalid(result_path: str) -> sfn.Condition:
    """INVALID with an error the Rejected Pass can read: a Pass state reading a missing
    path fails with States.Runtime, which no Catch takes. And evaluates in order and stops
    at the first false condition, so no comparison reads a missing path."""
    checks = [
        sfn.Condition.is_present(f"{result_path}.outcome"),
        sfn.Condition.is_string(f"{result_path}.outcome"),
        sfn.Condition.string_equals(f"{result_path}.outcome", naming.OUTCOME_INVALID),
    ]
    for field_name in ("code", "message"):
        path = f"{result_path}.error.{field_name}"
        checks += [sfn.Condition.is_present(path), sfn.Condition.is_string(path)]
    return sfn.Condition.and_(*checks)


def _not_valid(result_path: str) -> sfn.Condition:
    """Anything but a VALID outcome: no outcome, not a string, or another value."""
    path = f"{result_path}.outcome"
    return sfn.Condition.or_(
        sfn.Condition.not_(sfn.Condition.is_present(path)),
        sfn.Condition.not_(sfn.Condition.is_string(path)),
        sfn.Condition.not_(sfn.Condition.string_equals(path, naming.OUTCOME_VALID)),
    )


def _state_machine_source_arns(scope: Construct, name: str) -> list[str]:
    """What Step Functions may assume the state machine role for: the state machine ``name``
    (by its name: the role cannot refer to the state machine that depends on it), the child
    workflows of its Distributed Maps (``name/<map run>``) and its versions and aliases
    (``name:<qualifier>``). State machine names contain neither ``/`` nor ``:``, so no other
    state machine matches."""
    arn = cdk.Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=name,
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    return [arn, f"{arn}/*", f"{arn}:*"]


def _problems(
    *,
    max_reject_rate: float,
    output_format: str,
    function_settings: Mapping[str, FunctionSettings],
    step_retry: StepRetry,
) -> list[str]:
    found = []
    if not 0 <= max_reject_rate <= 1:
        found.append(f"max_reject_rate must be between 0 and 1, got {max_reject_rate}")
    if output_format not in OUTPUT_FORMATS:
        found.append(
            f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}"
        )
    for base, setting in function_settings.items():
        if base not in DEFAULT_FUNCTION_SETTINGS:
            found.append(
                f"function_settings has unknown function {base!r}; known: "
                + ", ".join(DEFAULT_FUNCTION_SETTINGS)
            )
            continue
        if not 128 <= setting.memory_size <= 10240:
            found.append(f"function_settings[{base!r}].memory_size must be 128-10240 MB")
        if not 1 <= setting.timeout.to_seconds() <= 900:
            found.append(f"function_settings[{base!r}].timeout must be 1-900 seconds")
        if setting.reserved_concurrency is not None and setting.reserved_concurrency < 1:
            found.append(
                f"function_settings[{base!r}].reserved_concurrency must be at least 1 "
                "(0 would stop the function)"
            )
    if step_retry.max_attempts < 0:
        found.append("step_retry.max_attempts must be 0 or more")
    if step_retry.backoff_rate < 1:
        found.append("step_retry.backoff_rate must be at least 1")
    return found


__all__ = [
    "DEFAULT_FUNCTION_SETTINGS",
    "STRICT_RESERVED_CONCURRENCY",
    "TRANSIENT_ERRORS",
    "EtlWorkflow",
    "FunctionSettings",
    "ManifestPolicy",
    "PipelineEnvironment",
    "StepRetry",
]
