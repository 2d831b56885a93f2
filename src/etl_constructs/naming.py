"""Every physical name, prefix and environment variable name the constructs use.

One place for naming decisions: constructs ask this module for names instead of formatting
strings themselves, so a name changes in one line and tests can assert the whole scheme.
The prefixes, environment variable names, metric names and the other facts the handlers
share are read from the handler asset's ``etl_handlers/contract.py`` (:mod:`._contract`),
not copied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._contract import contract
from ._core.props import PropsError

# Facts shared with the handlers, read from the handler asset's contract (never copied here).
RAW_PREFIX = contract.RAW_PREFIX
VALIDATED_PREFIX = contract.VALIDATED_PREFIX
REJECTED_PREFIX = contract.REJECTED_PREFIX
PROCESSED_PREFIX = contract.PROCESSED_PREFIX
ENRICHED_PREFIX = contract.ENRICHED_PREFIX
FAILED_PREFIX = contract.FAILED_PREFIX
REPORTS_PREFIX = contract.REPORTS_PREFIX
CURATED_PREFIX = contract.CURATED_PREFIX

#: Where the analytics workgroup writes query results, one folder per workgroup (not a
#: pipeline output: the bucket's lifecycle expires them).
ATHENA_RESULTS_PREFIX = "athena-results/"

#: The only prefixes the state machine lists (the ``s3:prefix`` condition of its
#: ``s3:ListBucket``): the Distributed Maps read a big file's plan and parts under
#: ``validated/{job}/`` (the contract's ``PLAN_FOLDER`` and ``PARTS_FOLDER``; see
#: ``large_files.LISTED_PLANS`` and ``LISTED_PARTS``).
STATE_MACHINE_LIST_PREFIXES = (VALIDATED_PREFIX,)

# The steps' names on the job record (its ``error.step``), in pipeline order.
STEP_VALIDATE, STEP_TRANSFORM, STEP_ENRICH = contract.STEPS

# Environment variables the constructs set.
ENV_DATA_BUCKET = contract.DATA_BUCKET
ENV_JOB_TABLE = contract.JOB_TABLE
ENV_JOB_INDEX = contract.JOB_INDEX
ENV_STATE_MACHINE_ARN = contract.STATE_MACHINE_ARN
ENV_SCHEMA = contract.SCHEMA
ENV_MAX_REJECT_RATE = contract.MAX_REJECT_RATE
ENV_OUTPUT_FORMAT = contract.OUTPUT_FORMAT
ENV_PIPELINE_VERSION = contract.PIPELINE_VERSION
ENV_STUCK_AFTER_MINUTES = contract.STUCK_AFTER_MINUTES
ENV_QUALITY_WINDOW_HOURS = contract.QUALITY_WINDOW_HOURS
ENV_FAST_PATH = contract.FAST_PATH
ENV_CURATED = contract.CURATED

# Error codes the state machine writes itself.
CODE_INVALID_WITHOUT_REASON = contract.CODE_INVALID_WITHOUT_REASON

# A step's outcome, which the state machine's Choice states read, and the default reject rate.
OUTCOME_VALID = contract.VALID
OUTCOME_INVALID = contract.INVALID
DEFAULT_MAX_REJECT_RATE = float(contract.DEFAULT_MAX_REJECT_RATE)

# The execution status events the execution status rule sends to the trigger.
STATES_SOURCE = contract.STATES_SOURCE
EXECUTION_STATUS_CHANGE = contract.EXECUTION_STATUS_CHANGE
EXECUTION_END_STATUSES = contract.EXECUTION_END_STATUSES

JOB_INDEX_NAME = contract.JOB_INDEX_NAME
JOB_TABLE_KEYS = contract.JOB_TABLE_KEYS
JOB_INDEX_KEYS = contract.JOB_INDEX_KEYS
METRICS_NAMESPACE = contract.METRICS_NAMESPACE
API_STAGE_NAME = "prod"

# Custom metrics the handlers publish.
METRIC_FILES_RECEIVED = contract.METRIC_FILES_RECEIVED
METRIC_FILES_SUCCEEDED = contract.METRIC_FILES_SUCCEEDED
METRIC_FILES_FAILED = contract.METRIC_FILES_FAILED
METRIC_ROWS_PROCESSED = contract.METRIC_ROWS_PROCESSED
METRIC_ROWS_REJECTED = contract.METRIC_ROWS_REJECTED
METRIC_FAILED_JOBS = contract.METRIC_FAILED_JOBS
METRIC_STUCK_JOBS = contract.METRIC_STUCK_JOBS
METRIC_UNRECONCILED_JOBS = contract.METRIC_UNRECONCILED_JOBS
METRIC_ROWS_ON_REFERENCE_PATH = contract.METRIC_ROWS_ON_REFERENCE_PATH

# The five workflow functions, in pipeline order, and the API function.
WORKFLOW_FUNCTIONS = ("trigger", "validator", "transformer", "enricher", "quality-check")
API_FUNCTION = "api"

_SUFFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")


def construct_id(base: str) -> str:
    """Construct id of a named part: ``quality-check`` -> ``QualityCheck``."""
    return "".join(part.capitalize() for part in base.replace("_", "-").split("-"))


class InvalidSuffixError(PropsError):
    """The environment suffix cannot be part of AWS resource names.

    A :class:`PropsError` (and so a ``ValueError``): the constructs report a bad suffix
    together with their other bad props, in one ``PropsError``; this subclass is raised only
    by :func:`validate_suffix` and :class:`Naming` used on their own.
    """


def suffix_problems(suffix: object) -> list[str]:
    """What is wrong with ``suffix`` as an environment suffix (an empty list when usable).

    Bucket names allow only lower-case letters, digits and hyphens, and the longest name
    built here (``etl-data-bucket-access-logs-{suffix}``) must stay within 63 characters
    with room for an account id, hence at most 20 characters.
    """
    if isinstance(suffix, str) and _SUFFIX.match(suffix):
        return []
    return [
        f"environment_suffix {suffix!r} is invalid: use 1-20 lower-case letters, digits "
        "or hyphens, starting with a letter or digit (for example 'dev' or 'pr-42')"
    ]


_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
#: What S3 reserves at the start of bucket names.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


def prefix_problems(prefix: object) -> list[str]:
    """What is wrong with ``prefix`` as a name prefix (an empty list when usable, or None).

    Bucket names are global: ``{prefix}-data-bucket-{suffix}`` must be unique among all AWS
    accounts, which a prefix of one's own (a company or team name) makes likely. The longest
    name it goes into (an EventBridge rule name, 64 characters) leaves it 20.
    """
    if prefix is None:
        return []
    if (
        isinstance(prefix, str)
        and _PREFIX.match(prefix)
        and not prefix.endswith("-")
        and not prefix.startswith(_RESERVED_PREFIXES)
    ):
        return []
    return [
        f"name_prefix {prefix!r} is invalid: use 1-20 lower-case letters, digits or hyphens, "
        "starting with a letter and not ending with a hyphen (for example 'payments')"
    ]


def validate_suffix(suffix: str) -> str:
    """Return ``suffix`` if it is usable in every physical name, else raise
    :class:`InvalidSuffixError` (see :func:`suffix_problems`)."""
    problems = suffix_problems(suffix)
    if problems:
        raise InvalidSuffixError(problems[0])
    return suffix


@dataclass(frozen=True)
class Naming:
    """Physical names for one environment, all derived from ``suffix`` and ``prefix``.

    Without a prefix the names are the library's own (``etl-data-bucket-{suffix}``,
    ``validator-{suffix}``); with one, every name starts with it in place of ``etl``
    (``{prefix}-data-bucket-{suffix}``, ``{prefix}-validator-{suffix}``), so two pipelines with
    the same suffix in one account, or two users of the library anywhere (S3 bucket names are
    global), do not collide.
    """

    suffix: str
    prefix: str | None = None

    def __post_init__(self) -> None:
        validate_suffix(self.suffix)
        problems = prefix_problems(self.prefix)
        if problems:
            raise PropsError(problems[0])

    @property
    def lead(self) -> str:
        """What names begin with: the prefix, or ``etl``."""
        return self.prefix or "etl"

    def _own(self, base: str) -> str:
        """``{base}-{suffix}``, behind the prefix when there is one (names that the library
        does not begin with ``etl-``)."""
        return f"{self.prefix}-{base}-{self.suffix}" if self.prefix else f"{base}-{self.suffix}"

    @property
    def data_bucket(self) -> str:
        return f"{self.lead}-data-bucket-{self.suffix}"

    @property
    def access_log_bucket(self) -> str:
        return f"{self.lead}-access-logs-{self.suffix}"

    @property
    def metadata_table(self) -> str:
        return f"{self.lead}-metadata-{self.suffix}"

    @property
    def seen_ids_table(self) -> str:
        """The table of ids accepted across files (``EtlWorkflow(seen_ids=...)``)."""
        return f"{self.lead}-seen-ids-{self.suffix}"

    @property
    def state_machine(self) -> str:
        return f"{self.lead}-state-machine-{self.suffix}"

    @property
    def api(self) -> str:
        return f"{self.lead}-api-{self.suffix}"

    @property
    def dashboard(self) -> str:
        return f"{self.lead}-dashboard-{self.suffix}"

    @property
    def alarm_topic(self) -> str:
        return f"{self.lead}-alarms-{self.suffix}"

    def vpc(self, network: str = "pipeline") -> str:
        """``etl-vpc-{suffix}`` for the environment's network, ``etl-{network}-vpc-{suffix}``
        for a construct's own."""
        return (
            f"{self.lead}-vpc-{self.suffix}"
            if network == "pipeline"
            else f"{self.lead}-{network}-vpc-{self.suffix}"
        )

    @property
    def analytics_database(self) -> str:
        """The Glue database: letters, digits and underscores only."""
        return f"{self.lead}_analytics_{self.suffix}".replace("-", "_")

    @property
    def analytics_workgroup(self) -> str:
        return f"{self.lead}-analytics-{self.suffix}"

    @property
    def web_acl(self) -> str:
        return f"{self.lead}-api-acl-{self.suffix}"

    @property
    def backup_plan(self) -> str:
        return f"{self.lead}-metadata-backup-{self.suffix}"

    @property
    def backup_vault_prefix(self) -> str:
        """The backup vault's name up to the stack-unique part CloudFormation appends."""
        return f"{self.lead}-backup-{self.suffix}-"

    @property
    def dead_letter_queue_pattern(self) -> str:
        """Matches every dead-letter queue name of this environment (the key policy uses it)."""
        return f"{self.prefix}-*-dlq-{self.suffix}" if self.prefix else f"*-dlq-{self.suffix}"

    @property
    def service(self) -> str:
        """Powertools service name shared by every function (the metrics dimension)."""
        return f"{self.lead}-pipeline-{self.suffix}"

    @property
    def quality_check_rule(self) -> str:
        return self._own("quality-check-rule")

    @property
    def ingestion_rule(self) -> str:
        return f"{self.lead}-ingestion-rule-{self.suffix}"

    @property
    def execution_status_rule(self) -> str:
        return f"{self.lead}-execution-status-rule-{self.suffix}"

    def function(self, base: str) -> str:
        """``validator`` -> ``validator-dev``."""
        return self._own(base)

    def dead_letter_queue(self, base: str) -> str:
        return self._own(f"{base}-dlq")

    def function_errors_alarm(self, base: str) -> str:
        return self._own(f"{base}-errors")

    def alarm(self, what: str) -> str:
        """A pipeline-level alarm, e.g. ``etl-state-machine-failed-dev``."""
        return f"{self.lead}-{what}-{self.suffix}"

    @property
    def log_group_prefixes(self) -> tuple[str, str]:
        """Every pipeline log group lives under one of these (the KMS key policy names them).

        Vended logs (Step Functions) go under ``/aws/vendedlogs/``, which keeps the CloudWatch
        Logs resource policy small however many state machines an account runs.
        """
        return (f"/{self.lead}/{self.suffix}/", f"/aws/vendedlogs/{self.lead}/{self.suffix}/")

    @property
    def waf_log_group(self) -> str:
        """The web ACL's log group (strict profile): WAF accepts only names that start with
        ``aws-waf-logs-``, so it cannot live under the prefixes above."""
        return f"aws-waf-logs-{self.lead}-{self.suffix}"

    @staticmethod
    def api_execution_log_group(rest_api_id: str) -> str:
        """The name API Gateway writes a stage's execution logs to; it cannot be chosen."""
        return f"API-Gateway-Execution-Logs_{rest_api_id}/{API_STAGE_NAME}"

    @property
    def log_group_patterns(self) -> tuple[str, ...]:
        """Log group names the pipeline key serves: everything under the prefixes, the WAF log
        group by its exact name (a prefix would also match other suffixes), and the API
        stage's execution log group, whose name carries the REST API's id: known only once the
        API exists, in a later stack, so any API's stage of that name matches."""
        return (
            *(f"{prefix}*" for prefix in self.log_group_prefixes),
            self.waf_log_group,
            self.api_execution_log_group("*"),
        )

    def log_group(self, what: str) -> str:
        return f"{self.log_group_prefixes[0]}{what}"

    def vended_log_group(self, what: str) -> str:
        return f"{self.log_group_prefixes[1]}{what}"
