"""The contract between the constructs and the handlers: the facts both sides must agree on.

Object key prefixes and a big file's folders under them, environment variable names, metric
names and namespace, job statuses and their groups, step names, the execution events the
trigger records, and defaults. The handler modules import these from here; the construct
side loads this very file from the handler asset (``etl_constructs._contract``) instead of
keeping a copy. Standard library only, and no import from the rest of ``etl_handlers``.
"""

from __future__ import annotations

from decimal import Decimal

# -- Object key prefixes of the data bucket ------------------------------------------------
RAW_PREFIX = "raw/"
VALIDATED_PREFIX = "validated/"
REJECTED_PREFIX = "rejected/"
PROCESSED_PREFIX = "processed/"
ENRICHED_PREFIX = "enriched/"
FAILED_PREFIX = "failed/"
REPORTS_PREFIX = "reports/"
CURATED_PREFIX = "curated/"
"""The curated dataset analysts query: Parquet tables under ``curated/{table}/`` (see
``core/curated.py`` and the catalog construct)."""

PREFIXES = (
    RAW_PREFIX,
    VALIDATED_PREFIX,
    REJECTED_PREFIX,
    PROCESSED_PREFIX,
    ENRICHED_PREFIX,
    FAILED_PREFIX,
    REPORTS_PREFIX,
    CURATED_PREFIX,
)

# -- A big file's folders under the prefixes -----------------------------------------------
# A file the Distributed Map path processes keeps its work under ``{prefix}{job}/``:
# ``validated/{job}/plan/`` (one plan per part: what the first map lists),
# ``validated/{job}/parts/`` (the valid rows of each part: what the second map lists),
# ``validated/{job}/ids/``, ``validated/{job}/batches/``, ``validated/{job}/duplicates.json``,
# ``rejected/{job}/parts/``, ``processed/{job}/parts/``, ``enriched/{job}/parts/`` and
# ``enriched/{job}/summaries/``.
PLAN_FOLDER = "plan"
PARTS_FOLDER = "parts"
IDS_FOLDER = "ids"
BATCHES_FOLDER = "batches"
SUMMARIES_FOLDER = "summaries"
CURATED_FOLDER = "curated"
"""``enriched/{job}/curated/``: a big file's parts' curated Parquet, until the job succeeds."""
DUPLICATES_FILE = "duplicates.json"

# -- Environment variables the constructs set and the handlers read ------------------------
DATA_BUCKET = "ETL_DATA_BUCKET"
JOB_TABLE = "ETL_JOB_TABLE"
JOB_INDEX = "ETL_JOB_INDEX"
STATE_MACHINE_ARN = "ETL_STATE_MACHINE_ARN"
SCHEMA = "ETL_SCHEMA"
MAX_REJECT_RATE = "ETL_MAX_REJECT_RATE"
OUTPUT_FORMAT = "ETL_OUTPUT_FORMAT"
PIPELINE_VERSION = "ETL_PIPELINE_VERSION"
STUCK_AFTER_MINUTES = "ETL_STUCK_AFTER_MINUTES"
QUALITY_WINDOW_HOURS = "ETL_QUALITY_WINDOW_HOURS"
FAST_PATH = "ETL_FAST_PATH"
CURATED = "ETL_CURATED"

ALL = (
    DATA_BUCKET,
    JOB_TABLE,
    JOB_INDEX,
    STATE_MACHINE_ARN,
    SCHEMA,
    MAX_REJECT_RATE,
    OUTPUT_FORMAT,
    PIPELINE_VERSION,
    STUCK_AFTER_MINUTES,
    QUALITY_WINDOW_HOURS,
    FAST_PATH,
    CURATED,
)
"""Every environment variable name above."""

# -- The job table ---------------------------------------------------------------------------
JOB_INDEX_NAME = "TimestampIndex"
"""The GSI over status and time of the last status change."""
JOB_TABLE_KEYS = (("jobId", "S"), ("fileName", "S"))
"""The table's partition and sort key: (attribute name, DynamoDB type)."""
JOB_INDEX_KEYS = (("status", "S"), ("timestamp", "N"))
"""The index's partition and sort key: (attribute name, DynamoDB type)."""

# -- Job statuses and their groups -----------------------------------------------------------
PENDING = "PENDING"
VALIDATING = "VALIDATING"
TRANSFORMING = "TRANSFORMING"
ENRICHING = "ENRICHING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

STATUSES = (PENDING, VALIDATING, TRANSFORMING, ENRICHING, SUCCEEDED, FAILED)
STEP_STATUSES = (VALIDATING, TRANSFORMING, ENRICHING)
"""The statuses a step sets while it works on the job (one per step, in pipeline order)."""
ACTIVE_STATUSES = (PENDING, *STEP_STATUSES)
"""Statuses a job can still leave: it is not finished yet. A job in one of them whose last
status change is older than ``stuck_after`` is stuck (the API and the quality check); a job
in one of them is what the failure branch's conditional write and the execution status
recorder may move to FAILED."""
FINAL_STATUSES = (SUCCEEDED, FAILED)

# -- Steps -----------------------------------------------------------------------------------
STEPS = ("validate", "transform", "enrich")
STEP_STATUS = dict(zip(STEPS, STEP_STATUSES, strict=True))
"""The status each step sets."""
ROWS_READ = "read"
STEP_ROW_COUNTS = ("input", "valid", "rejected", "transformed", "enriched")
"""The row counts the steps record; a FAILED job keeps only the rows read."""

# -- Execution status events the trigger records --------------------------------------------
STATES_SOURCE = "aws.states"
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
EXECUTION_END_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
"""The statuses of an execution that ended without succeeding."""

# -- Error codes the state machine writes itself --------------------------------------------
CODE_INVALID_WITHOUT_REASON = "INVALID_WITHOUT_REASON"

# -- Step outcomes ---------------------------------------------------------------------------
VALID = "VALID"
INVALID = "INVALID"
"""A step's ``outcome``; the state machine's Choice sends anything but VALID to the failure
branch."""
DEFAULT_MAX_REJECT_RATE = Decimal("0.05")
"""The fraction of data rows the validator may reject before the file is INVALID, when
``ETL_MAX_REJECT_RATE`` does not say."""

# -- Custom metrics --------------------------------------------------------------------------
METRICS_NAMESPACE = "EtlPipeline"
METRIC_FILES_RECEIVED = "FilesReceived"
METRIC_FILES_SUCCEEDED = "FilesSucceeded"
METRIC_FILES_FAILED = "FilesFailed"
METRIC_ROWS_PROCESSED = "RowsProcessed"
METRIC_ROWS_REJECTED = "RowsRejected"
METRIC_FAILED_JOBS = "FailedJobs"
METRIC_STUCK_JOBS = "StuckJobs"
METRIC_UNRECONCILED_JOBS = "UnreconciledJobs"
METRIC_ROWS_ON_REFERENCE_PATH = "RowsOnReferencePath"
"""Rows a step handed to the per-row reference engine (fast path off, or input the
columnar engine could not certify); published when there are any."""

METRIC_NAMES = (
    METRIC_FILES_RECEIVED,
    METRIC_FILES_SUCCEEDED,
    METRIC_FILES_FAILED,
    METRIC_ROWS_PROCESSED,
    METRIC_ROWS_REJECTED,
    METRIC_FAILED_JOBS,
    METRIC_STUCK_JOBS,
    METRIC_UNRECONCILED_JOBS,
    METRIC_ROWS_ON_REFERENCE_PATH,
)

# -- The curated dataset (Parquet, Hive-style partitions) ----------------------------------
TRANSACTIONS_TABLE = "transactions"
"""Valid rows, typed: ``curated/transactions/transaction_date=YYYY-MM-DD/{job}.parquet``."""
REJECTS_TABLE = "rejects"
"""Rejected rows: ``curated/rejects/received_date=YYYY-MM-DD/{job}.parquet``."""
TRANSACTIONS_PARTITION = "transaction_date"
"""The UTC date of the schema's first timestamp column (the enricher's ``transaction_date``)."""
REJECTS_PARTITION = "received_date"
"""The UTC date the job was created (rejects may have no valid timestamp)."""
AMOUNT_TYPE = "decimal(38,4)"
"""Amount columns: exact; 4 places hold every currency's minor units (a test checks)."""

# -- Defaults --------------------------------------------------------------------------------
DEFAULT_STUCK_AFTER_MINUTES = 60
"""A job in an active status for longer is stuck."""
DEFAULT_QUALITY_WINDOW_HOURS = 24
"""How far back the quality check looks for failures."""

# -- Ids seen in earlier files (issue 19: duplicates across files) ---------------------------
# Off unless the workflow's ``seen_ids`` prop is set; then the validator claims every accepted
# row's unique id in the seen-ids table (partition key SEEN_IDS_KEYS, binary: a keyed digest of
# the id, never the id) and rejects a row whose id another job holds (DUPLICATE_ACROSS_FILES).
SEEN_IDS_TABLE = "ETL_SEEN_IDS_TABLE"
SEEN_IDS_WINDOW_DAYS = "ETL_SEEN_IDS_WINDOW_DAYS"
SEEN_IDS_WORKERS = "ETL_SEEN_IDS_WORKERS"
SEEN_IDS_ENV = (SEEN_IDS_TABLE, SEEN_IDS_WINDOW_DAYS, SEEN_IDS_WORKERS)
ALL = (*ALL, *SEEN_IDS_ENV)  # the validator's settings of the check are environment names too
SEEN_IDS_KEYS = (("idHash", "B"),)
"""The seen-ids table's partition key: (attribute name, DynamoDB type)."""
SEEN_IDS_TTL_ATTRIBUTE = "expiresAt"
"""Epoch seconds after which a claim no longer counts (and DynamoDB's TTL deletes it)."""
DEFAULT_SEEN_IDS_WINDOW_DAYS = 90
DEFAULT_SEEN_IDS_WORKERS = 32
"""Conditional writes one validator keeps in flight at once."""
# -- Sender manifests and duplicate files (issue 19) ----------------------------------------
# Kept in one block: the statuses and environment variables are added to the tuples above.
DUPLICATE = "DUPLICATE"
"""Final status of a job whose file has the same bytes (SHA-256) as an earlier job's that
did not fail: it names that job in ``duplicateOf`` and published nothing."""
STATUSES = (*STATUSES, DUPLICATE)
FINAL_STATUSES = (*FINAL_STATUSES, DUPLICATE)

MANIFEST_REQUIRED = "ETL_MANIFEST_REQUIRED"
"""``1``: every data file needs its manifest (``raw/<name>.manifest.json``), whose control
totals the validator checks; absent or ``0``: manifests are not read."""
DUPLICATE_FILES = "ETL_DUPLICATE_FILES"
"""``1``: a file with the bytes of an earlier job's ends DUPLICATE; absent or ``0``: off."""
ALL = (*ALL, MANIFEST_REQUIRED, DUPLICATE_FILES)

MANIFEST_SUFFIX = ".manifest.json"
"""A data file ``raw/<name>`` has its manifest at ``raw/<name>.manifest.json``."""
MANIFEST_MODE = "manifest"
"""The validator's ``mode`` for the state machine's check that the manifest has arrived."""
WAITING = "WAITING"
"""The manifest check's outcome while the manifest is absent and the wait not over."""
OUTCOME_DUPLICATE = DUPLICATE
"""The Validate outcome of a duplicate file; the state machine ends the execution there."""
CONTENT_KEY_PREFIX = "sha256:"
CONTENT_SORT_KEY = "#content"
"""The job table's item that names the first job of a content hash: ``jobId`` =
``sha256:<hex>``, ``fileName`` = ``#content``. It has no ``status``, so the index never
holds it."""
# -- Reprocess: attempts of a job ----------------------------------------------------------
# A reprocess runs a final job again from the same source version as a new attempt. Attempt 1
# keeps the job's keys and execution name as they always were; attempt N >= 2 writes under
# ``{prefix}{job}/a{N}/`` and runs as the execution ``{job}-a{N}``.
ATTEMPT_FOLDER = "a{attempt}"
"""The folder of attempt N >= 2 under ``{prefix}{job}/``."""
ATTEMPT_EXECUTION_SEPARATOR = "-a"
MAX_ATTEMPTS = 50
"""Attempts a job may have: the history lives in the record (DynamoDB's 400 KB item)."""
ATTEMPT_PRUNED_PREFIXES = (VALIDATED_PREFIX, REJECTED_PREFIX, PROCESSED_PREFIX, ENRICHED_PREFIX)
"""Where a reprocess that SUCCEEDED removes the objects of the job's other attempts (the
enricher, once the job is SUCCEEDED); ``failed/`` keeps its copy of the source."""
# -- Lineage: OpenLineage run events (issue 15) --------------------------------------------
# Off unless the workflow's ``lineage`` prop is set; then the validator emits START, the step
# that ends the job COMPLETE (SUCCEEDED or DUPLICATE) and the trigger FAIL (from the end of the
# job's execution), each written once to the data bucket under LINEAGE_KEY and, when an
# endpoint or a DataZone domain is set, sent there too (docs/lineage.md).
LINEAGE_PREFIX = "lineage/"
PREFIXES = (*PREFIXES, LINEAGE_PREFIX)
LINEAGE_KEY = LINEAGE_PREFIX + "{job}/{attempt}/{sequence}-{event_type}.json"
"""One run event: ``lineage/{jobId}/{attempt}/1-START.json``, ``.../2-COMPLETE.json`` or
``.../2-FAIL.json`` (attempt 1 for the first run; a reprocess is attempt N, a new run)."""
LINEAGE_SEQUENCE = {"START": 1, "COMPLETE": 2, "FAIL": 2}
"""The events a run emits and their order in the run's folder."""
LINEAGE_NAMESPACE = "ETL_LINEAGE_NAMESPACE"
"""The OpenLineage job namespace (the state machine's name); lineage is on when it is set."""
LINEAGE_ENDPOINT = "ETL_LINEAGE_ENDPOINT"
"""An HTTP(S) URL each event is POSTed to as well (e.g. Marquez's ``/api/v1/lineage``)."""
LINEAGE_API_KEY_SECRET = "ETL_LINEAGE_API_KEY_SECRET"  # noqa: S105 - a variable name
"""The ARN of a Secrets Manager secret whose value is sent as ``Authorization: Bearer``."""
LINEAGE_DATAZONE_DOMAIN = "ETL_LINEAGE_DATAZONE_DOMAIN"
"""An Amazon DataZone domain id each event is posted to as well (``PostLineageEvent``)."""
ALL = (*ALL, LINEAGE_NAMESPACE, LINEAGE_ENDPOINT, LINEAGE_API_KEY_SECRET, LINEAGE_DATAZONE_DOMAIN)
METRIC_LINEAGE_FAILED = "LineageEventsFailed"
"""Run events that could not be written or sent (the job goes on; the log says why)."""
METRIC_NAMES = (*METRIC_NAMES, METRIC_LINEAGE_FAILED)
LINEAGE_FACETS_URL = "https://github.com/etl-constructs/etl-constructs/blob/main/docs/lineage/"
"""Where the JSON schemas of the project's custom facets are published (docs/lineage/)."""
LINEAGE_RUN_FACETS = {
    "etlConstructs_job": "EtlJobRunFacet",
    "etlConstructs_masking": "EtlMaskingRunFacet",
    "etlConstructs_controlTotals": "EtlControlTotalsRunFacet",
}
"""The project's custom run facets: name in ``run.facets`` -> schema (``{name}.json``)."""


def lineage_facet_schema_url(facet: str) -> str:
    """The ``_schemaURL`` of one of the project's custom run facets."""
    name = LINEAGE_RUN_FACETS[facet]
    return f"{LINEAGE_FACETS_URL}{name}.json#/$defs/{name}"


# -- Bank statement formats (issue 16) -------------------------------------------------------
# A file under ``raw/`` is read by its first bytes (core/statements/detect.py), not its name;
# the suffixes below only say which keys are pipeline inputs (the event rule matches those of
# the accepted formats).
FORMAT_CSV = "csv"
FORMAT_CAMT053 = "camt.053"
FORMAT_MT940 = "mt940"
FORMAT_BAI2 = "bai2"
INPUT_FORMATS = (FORMAT_CSV, FORMAT_CAMT053, FORMAT_MT940, FORMAT_BAI2)
"""Every input format, and the default of the workflow's ``input_formats``."""
FORMAT_SUFFIXES = {
    FORMAT_CSV: (".csv",),
    FORMAT_CAMT053: (".xml",),
    FORMAT_MT940: (".sta", ".mt940", ".940"),
    FORMAT_BAI2: (".bai", ".bai2"),
}
"""Key suffixes (any case) of each format's files; a key with any of them is a pipeline input."""
INPUT_SUFFIXES = tuple(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
ACCEPTED_FORMATS = "ETL_INPUT_FORMATS"
"""Comma-separated formats the validator reads (absent: all of INPUT_FORMATS)."""
ALL = (*ALL, ACCEPTED_FORMATS)
