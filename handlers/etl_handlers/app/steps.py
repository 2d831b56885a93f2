"""The common shell of the three state machine steps (validate, transform, enrich).

Each step: reads its job, moves it into the step's running status with a conditional write
(a retry re-enters it; a job that is FAILED or finished is never touched again), runs the
processing core over S3 streams, writes outputs through :class:`~aws.s3io.MultipartWriter`
(visible only if the step gets that far), records timings, rows, totals and outputs on the
job, and returns the contract's result dict::

    {"outcome": "VALID" | "INVALID", "rows": ..., "totals": {...}, "outputs": {...},
     "error": None | {"code": ..., "message": ...}}

A data problem (:class:`~core.errors.FileRejected`, a refused job) is an INVALID result,
not a Lambda error, so the state machine's Choice routes it to the failure branch. Faults
propagate: retryable AWS errors as :class:`~etl_handlers.core.errors.TransientError` (the state
machine retries them), anything else as is (caught into the failure branch).

The step functions themselves (``validator.logic`` etc.) only supply a body: a function of
a :class:`StepContext` that returns a :class:`StepOutcome`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from etl_handlers import contract as env
from etl_handlers.app.lineage import emit as emit_lineage
from etl_handlers.app.lineage import emit_for_status as emit_lineage_end
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import (
    FAILED,
    FINAL_STATUSES,
    SUCCEEDED,
    JobNotFound,
    JobStore,
    TransitionRefused,
)
from etl_handlers.aws.observability import (
    METRIC_FILES_FAILED,
    METRIC_FILES_SUCCEEDED,
    METRIC_ROWS_ON_REFERENCE_PATH,
    METRIC_ROWS_PROCESSED,
    METRIC_ROWS_REJECTED,
    add_count,
    transient_aws_errors,
)
from etl_handlers.contract import DEFAULT_MAX_REJECT_RATE, INVALID, OUTCOME_DUPLICATE, VALID
from etl_handlers.core import keys
from etl_handlers.core.codes import (  # step codes live with every other code; re-exported here
    INVALID_WITHOUT_REASON,
    JOB_NOT_RUNNABLE,
    RECONCILIATION_FAILED,
    SOURCE_CHANGED,
    SOURCE_MISSING,
    STEP_CODES,
)
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.lineage import START as LINEAGE_START
from etl_handlers.core.masking import scrub
from etl_handlers.core.report import EngineReport
from etl_handlers.core.schema import Schema, load_schema
from etl_handlers.core.totals import Totals, reconcile

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}

DEFAULT_OUTPUT_FORMAT = "jsonl"
FIRST_STEP = "validate"
LAST_STEP = "enrich"

__all__ = [
    "CONTENT_TYPES",
    "INVALID",
    "INVALID_WITHOUT_REASON",
    "JOB_NOT_RUNNABLE",
    "RECONCILIATION_FAILED",
    "SOURCE_CHANGED",
    "SOURCE_MISSING",
    "STEP_CODES",
    "VALID",
    "StepContext",
    "StepEvent",
    "StepOutcome",
    "content_type",
    "format_of",
    "max_reject_rate_from_env",
    "output_format_from_env",
    "publish_engine_report",
    "reconcile_job",
    "run_step",
    "schema_from_env",
]


@dataclass(frozen=True)
class StepEvent:
    """The parts of the state machine's payload a step needs (the trigger's input)."""

    job_id: str
    bucket: str
    key: str
    file_name: str
    version_id: str | None = None
    attempt: int = 1
    """The job's attempt this execution runs (1 unless reprocessed)."""

    @property
    def folder(self) -> str:
        """Where this attempt's outputs go under each prefix (``keys.job_folder``)."""
        return keys.job_folder(self.job_id, self.attempt)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> StepEvent:
        """Read the payload; a malformed one is a fault of the caller, not of the data."""
        if not isinstance(event, Mapping):
            raise ValueError("the step payload must be a JSON object")
        missing = [name for name in ("jobId", "bucket", "key") if not event.get(name)]
        if missing:
            raise ValueError(f"the step payload lacks {', '.join(missing)}")
        key = str(event["key"])
        return cls(
            job_id=str(event["jobId"]),
            bucket=str(event["bucket"]),
            key=key,
            file_name=str(event.get("fileName") or key),
            version_id=s3io.normalize_version_id(event.get("versionId")),
            attempt=keys.attempt_of(event.get("attempt")),
        )


@dataclass
class StepOutcome:
    """What a step body found.

    ``rows`` is recorded on the job under ``rows`` (e.g. ``{"input": 3, ...}``);
    ``result_rows`` is what the step returns as ``rows`` (the dict for validate, a count
    for the later steps). ``succeed`` moves the job to SUCCEEDED in the same write.
    ``report``: what the engine did (logged, and rows on the reference path published).
    """

    outcome: str
    rows: dict[str, int]
    result_rows: int | dict[str, int]
    totals: Totals | None
    outputs: dict[str, Any]
    error: tuple[str, str] | None = None
    extra_columns: list[str] | None = None
    succeed: bool = False
    report: EngineReport | None = None
    #: a final status other than SUCCEEDED this outcome ends the job in (DUPLICATE), and
    #: top-level attributes to record with it (``contentSha256``, ``duplicateOf``)
    final: str | None = None
    attributes: dict[str, Any] | None = None

    def result(self) -> dict[str, Any]:
        """The contract's result dict; an INVALID one always carries ``error``."""
        error = None
        if self.error is None and self.outcome not in (VALID, OUTCOME_DUPLICATE):
            self.error = _unexplained(None)
        if self.error is not None:
            error = {"code": self.error[0], "message": scrub(self.error[1])}
        result = {
            "outcome": self.outcome,
            "rows": self.result_rows,
            "totals": self.totals.to_json() if self.totals is not None else {},
            "outputs": dict(self.outputs),
            "error": error,
        }
        if self.outcome == OUTCOME_DUPLICATE:
            result["duplicateOf"] = (self.attributes or {}).get("duplicateOf")
        return result


@dataclass
class StepContext:
    """What a step body gets: the event, the job record as the step found it, S3."""

    step: str
    event: StepEvent
    job: dict[str, Any]
    s3: Any
    part_size: int = s3io.PART_SIZE

    def open_source(self) -> BinaryIO:
        """The source object, pinned to the job's version (or ETag when unversioned).

        A source deleted or overwritten since the job was created is a data problem
        (``SOURCE_MISSING`` / ``SOURCE_CHANGED``): retrying cannot bring it back.
        """
        etag = None if self.event.version_id else self.job.get("etag")
        try:
            return s3io.open_object(
                self.event.bucket,
                self.event.key,
                version_id=self.event.version_id,
                if_match=etag,
                client=self.s3,
            )
        except s3io.ObjectNotFound:
            raise FileRejected(
                SOURCE_MISSING,
                f"the source object {self.event.key} (version {self.event.version_id or etag})"
                " no longer exists; upload the file again",
            ) from None
        except s3io.ObjectChanged:
            raise FileRejected(
                SOURCE_CHANGED,
                f"the source object {self.event.key} was overwritten after the job started;"
                " the new upload is processed as its own job",
            ) from None

    def open_output_of(self, output: str, default_key: str) -> tuple[str, BinaryIO]:
        """Open what an earlier step wrote (its key as recorded on the job, else the
        key the contract gives). Missing is a fault: the earlier step reported success.
        Parquet is opened seekable (its metadata sits in a footer)."""
        key = (self.job.get("outputs") or {}).get(output) or default_key
        seekable = key.lower().endswith(".parquet")
        return key, s3io.open_object(self.event.bucket, key, client=self.s3, seekable=seekable)

    def writer(self, key: str, content_type: str) -> s3io.MultipartWriter:
        """An all-or-nothing writer for one output of this step, in the data bucket."""
        return s3io.MultipartWriter(
            self.event.bucket,
            key,
            client=self.s3,
            part_size=self.part_size,
            content_type=content_type,
        )


# -- metrics, once per recorded outcome ---------------------------------------------------------

Recorder = Callable[[StepOutcome], None]


def engine_metrics(metrics: Any, report: EngineReport | None) -> None:
    """``RowsOnReferencePath`` when the engine handed rows to the reference."""
    if metrics is not None and report is not None and report.reference_rows:
        add_count(metrics, METRIC_ROWS_ON_REFERENCE_PATH, report.reference_rows)


def log_engine_report(say: Callable[..., None], report: EngineReport | None, **where: Any) -> None:
    """The ``engine report`` line: counts and reason names only, no value of the file."""
    if report is not None:
        say("engine report", **where, **report.to_json())


def publish_engine_report(
    report: EngineReport | None,
    *,
    metrics: Any,
    log: Callable[..., None] | None,
    **where: Any,
) -> None:
    """What :func:`run_step` does with a step's report, for work that records no outcome of
    its own (a part of a big file): the log line, then ``RowsOnReferencePath``."""
    log_engine_report(log or (lambda message, **fields: None), report, **where)
    engine_metrics(metrics, report)


def validation_metrics(metrics: Any) -> Recorder:
    """``RowsRejected``, and ``FilesFailed`` when the file failed validation."""

    def record(outcome: StepOutcome) -> None:
        engine_metrics(metrics, outcome.report)
        if metrics is not None:
            add_count(metrics, METRIC_ROWS_REJECTED, outcome.rows.get("rejected", 0))
            if outcome.outcome == INVALID:
                add_count(metrics, METRIC_FILES_FAILED)

    return record


def failure_metrics(metrics: Any) -> Recorder:
    """``FilesFailed`` when the step found the file's data unusable."""

    def record(outcome: StepOutcome) -> None:
        engine_metrics(metrics, outcome.report)
        if metrics is not None and outcome.outcome == INVALID:
            add_count(metrics, METRIC_FILES_FAILED)

    return record


def completion_metrics(metrics: Any) -> Recorder:
    """The last step: ``FilesSucceeded`` and ``RowsProcessed``, or ``FilesFailed``."""

    def record(outcome: StepOutcome) -> None:
        engine_metrics(metrics, outcome.report)
        if metrics is None:
            return
        if outcome.outcome == VALID:
            add_count(metrics, METRIC_FILES_SUCCEEDED)
            add_count(metrics, METRIC_ROWS_PROCESSED, int(outcome.result_rows))  # type: ignore[arg-type]
        else:
            add_count(metrics, METRIC_FILES_FAILED)

    return record


def empty_step(output: str) -> StepOutcome:
    """A transform or enrich result's shape when nothing was written to ``output``."""
    return StepOutcome(outcome=INVALID, rows={}, result_rows=0, totals=None, outputs={output: None})


def empty_validation() -> StepOutcome:
    """The Validate result's shape when nothing was read (single file and big file alike)."""
    return StepOutcome(
        outcome=INVALID,
        rows={},
        result_rows={"input": 0, "valid": 0, "rejected": 0},
        totals=None,
        outputs={"validated": None, "rejected": None},
    )


def run_step(
    step: str,
    event: Mapping[str, Any],
    body: Callable[[StepContext], StepOutcome],
    *,
    store: JobStore,
    s3: Any,
    empty_result: Callable[[], StepOutcome],
    part_size: int = s3io.PART_SIZE,
    log: Callable[..., None] | None = None,
    on_recorded: Callable[[StepOutcome], None] | None = None,
) -> dict[str, Any]:
    """Run one step for the job in ``event`` and return the contract's result dict.

    ``empty_result`` builds the INVALID result's shape when the step does not run (zero
    rows, no outputs). ``log(message, **fields)`` receives one line per decision that
    does not show in the result (default: silent). ``on_recorded(outcome)`` runs once the
    outcome is recorded on the job, never for a step that did not run or was replayed:
    the place to publish metrics, so that each file counts once.
    """
    say = log or (lambda message, **fields: None)
    parsed = StepEvent.from_event(event)
    started = store.now()
    with transient_aws_errors(f"{step}: job update"):
        try:
            job = store.start_step(parsed.job_id, parsed.file_name, step)
        except JobNotFound:
            say("job record not found; step not run", job_id=parsed.job_id, step=step)
            return _not_runnable(empty_result, f"job {parsed.job_id} does not exist")
        except TransitionRefused as refused:
            return _refused(step, parsed, refused, store, empty_result, say, s3=s3)
    if step == FIRST_STEP:  # the run starts (once: a retry finds its START written)
        emit_lineage(LINEAGE_START, job, s3=s3, log=say)

    try:
        with transient_aws_errors(f"{step}: S3"):
            outcome = body(
                StepContext(step=step, event=parsed, job=job, s3=s3, part_size=part_size)
            )
    except FileRejected as rejected:
        outcome = empty_result()
        outcome.outcome = INVALID
        outcome.error = (rejected.code, rejected.message)
    log_engine_report(say, outcome.report, job_id=parsed.job_id, step=step)
    if outcome.outcome not in (VALID, OUTCOME_DUPLICATE) and outcome.error is None:
        outcome.error = _unexplained(step)

    error = None
    if outcome.error is not None:
        error = {"code": outcome.error[0], "message": outcome.error[1]}
    with transient_aws_errors(f"{step}: job update"):
        try:
            recorded = store.finish_step(
                parsed.job_id,
                parsed.file_name,
                step,
                started_at=started,
                rows=outcome.rows,
                totals=outcome.totals.to_json() if outcome.totals is not None else None,
                outputs=outcome.outputs,
                extra_columns=outcome.extra_columns,
                error=error,
                succeed=outcome.succeed and outcome.outcome == VALID,
                final_status=outcome.final,
                attributes=outcome.attributes,
            )
        except TransitionRefused as refused:
            # The job was failed (e.g. by a timeout's failure branch) while this attempt
            # ran. The job stays as the failure left it, and what this attempt committed is
            # taken back: a FAILED job has no outputs but failed/ (and those of the steps
            # it recorded). Another status (a concurrent attempt got further) keeps them:
            # the keys are the job's own, the content the same.
            withdrawn = _withdraw_outputs(s3, parsed, outcome) if refused.current == FAILED else []
            say(
                "job changed while the step ran; result not recorded",
                job_id=parsed.job_id,
                step=step,
                status=refused.current,
                withdrawn=withdrawn,
            )
            return _not_runnable(
                empty_result, f"job {parsed.job_id} is {refused.current}; {step} result dropped"
            )
    if on_recorded is not None:
        on_recorded(outcome)
    emit_lineage_end(recorded, s3=s3, log=say)  # COMPLETE once the job ended here
    return outcome.result()


def _unexplained(step: str | None) -> tuple[str, str]:
    """The error of an INVALID outcome that came without one (a defect of the step)."""
    which = f"the {step} step" if step else "a step"
    return (
        INVALID_WITHOUT_REASON,
        f"{which} found the file invalid without giving a reason; its logs hold the details",
    )


def _withdraw_outputs(s3: Any, parsed: StepEvent, outcome: StepOutcome) -> list[str]:
    """Delete the objects ``outcome`` committed (best effort); returns their keys."""
    withdrawn = []
    for key in _object_keys(outcome.outputs):
        with contextlib.suppress(ClientError, BotoCoreError):
            s3.delete_object(Bucket=parsed.bucket, Key=key)
            withdrawn.append(key)
    return withdrawn


def _object_keys(value: Any) -> Iterator[str]:
    """Every object key in an ``outputs`` value: a key, or lists and maps of keys (the
    curated dataset's)."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _object_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _object_keys(item)


def _not_runnable(empty_result: Callable[[], StepOutcome], message: str) -> dict[str, Any]:
    outcome = empty_result()
    outcome.outcome = INVALID
    outcome.error = (JOB_NOT_RUNNABLE, message)
    return outcome.result()


def _refused(
    step: str,
    parsed: StepEvent,
    refused: TransitionRefused,
    store: JobStore,
    empty_result: Callable[[], StepOutcome],
    say: Callable[..., None],
    *,
    s3: Any,
) -> dict[str, Any]:
    """A step the job's status does not allow. A repeated last step of a job that already
    succeeded (its first response was lost) replays the recorded result, and emits its
    COMPLETE unless it was (the first attempt may have ended before); anything else is
    reported and does nothing."""
    if refused.current == SUCCEEDED and step == LAST_STEP:
        job = store.require(parsed.job_id)
        say("job already succeeded; replaying its result", job_id=parsed.job_id, step=step)
        emit_lineage_end(job, s3=s3, log=say)
        return {
            "outcome": VALID,
            "rows": (job.get("rows") or {}).get("enriched", 0),
            "totals": (job.get("totals") or {}).get(step, {}),
            "outputs": {"enriched": (job.get("outputs") or {}).get("enriched")},
            "error": None,
        }
    where = "final" if refused.current in FINAL_STATUSES else "past this step"
    say("job not runnable; step not run", job_id=parsed.job_id, step=step, status=refused.current)
    return _not_runnable(
        empty_result,
        f"job {parsed.job_id} is {refused.current} ({where}); {step} was not run",
    )


# -- settings ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _schema(document: str | None) -> Schema:
    return load_schema(document)


def schema_from_env() -> Schema:
    """The schema in ``ETL_SCHEMA`` (absent or empty: the default), parsed once per value."""
    return _schema(os.environ.get(env.SCHEMA) or None)


def output_format_from_env() -> str:
    """``ETL_OUTPUT_FORMAT``: ``jsonl`` (default) or ``parquet``."""
    value = (os.environ.get(env.OUTPUT_FORMAT) or DEFAULT_OUTPUT_FORMAT).strip().lower()
    if value not in keys.OUTPUT_FORMATS:
        raise ConfigurationError(
            f"{env.OUTPUT_FORMAT}={value!r} is not supported: use one of {keys.OUTPUT_FORMATS}"
        )
    return value


def max_reject_rate_from_env() -> Decimal:
    """``ETL_MAX_REJECT_RATE``: a decimal fraction in [0, 1], default ``0.05``."""
    raw = os.environ.get(env.MAX_REJECT_RATE)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_REJECT_RATE
    try:
        rate = Decimal(raw.strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        raise ConfigurationError(
            f"{env.MAX_REJECT_RATE}={raw!r} is not a fraction between 0 and 1 (e.g. 0.05)"
        )
    return rate


def format_of(key: str) -> str:
    """The output format of an intermediate object, from its extension."""
    extension = key.rsplit(".", 1)[-1].lower()
    if extension not in keys.OUTPUT_FORMATS:
        raise ConfigurationError(f"{key} is neither {' nor '.join(keys.OUTPUT_FORMATS)}")
    return extension


def content_type(output_format: str) -> str:
    """The Content-Type an output of ``output_format`` is stored with."""
    return CONTENT_TYPES[output_format]


# -- reconciliation -----------------------------------------------------------------------------


def reconcile_job(
    job: Mapping[str, Any],
    *,
    rows_enriched: int | None = None,
    enrich_totals: Totals | None = None,
) -> list[str]:
    """Check the job's recorded rows and totals across the steps; return the problems.

    The enricher passes what it has just written (not recorded yet); the quality check
    passes nothing and reads everything from the record. A missing or unreadable figure
    is itself a problem, so a record that cannot be checked never counts as reconciled.
    """
    rows = job.get("rows") or {}
    recorded = job.get("totals") or {}
    problems: list[str] = []
    counts: dict[str, int] = {}
    for name in ("input", "valid", "rejected", "transformed", "enriched"):
        value = (
            rows_enriched if name == "enriched" and rows_enriched is not None else rows.get(name)
        )
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"no row count '{name}' recorded")
            value = 0
        counts[name] = value
    stage_totals: dict[str, Totals] = {}
    for stage in ("validate", "transform", "enrich"):
        if stage == "enrich" and enrich_totals is not None:
            stage_totals[stage] = enrich_totals
            continue
        data = recorded.get(stage)
        if not isinstance(data, Mapping):
            problems.append(f"no {stage} totals recorded")
            stage_totals[stage] = Totals()
            continue
        try:
            stage_totals[stage] = Totals.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{stage} totals unreadable: {exc}")
            stage_totals[stage] = Totals()
    if problems:
        return problems
    return reconcile(
        rows_input=counts["input"],
        rows_valid=counts["valid"],
        rows_rejected=counts["rejected"],
        rows_transformed=counts["transformed"],
        rows_enriched=counts["enriched"],
        validate=stage_totals["validate"],
        transform=stage_totals["transform"],
        enrich=stage_totals["enrich"],
    )
