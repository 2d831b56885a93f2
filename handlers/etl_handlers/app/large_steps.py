"""The step shells of the big-file path: S3 and the job record around ``etl_handlers.app.large``.

The state machine calls the validator (see :mod:`app.modes`) with ``mode`` ``preflight``
(read the file, plan its parts), ``batch`` (validate one planned part, named by the key of
its plan) or ``reduce``; the transformer and the enricher with ``mode`` ``part`` (one
validated part); the enricher with ``reduce``. Every event holds locations only, never a
row. Preflight and the reductions move and record the job like the single-function steps
(:func:`etl_handlers.app.steps.run_step`); batches and parts only write objects under the job's
deterministic keys, so a retried one overwrites what an earlier attempt wrote.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from decimal import Decimal
from typing import Any, BinaryIO, cast

from etl_handlers.app import intake, large
from etl_handlers.app.curate import (
    StagedCurated,
    promote_parts,
    publish_curated,
    staging_root,
)
from etl_handlers.app.reprocess import prune_after_success
from etl_handlers.app.seen_ids import claim_part_ids, unique_id_column
from etl_handlers.app.steps import (
    INVALID,
    RECONCILIATION_FAILED,
    VALID,
    StepContext,
    StepEvent,
    StepOutcome,
    completion_metrics,
    content_type,
    empty_step,
    empty_validation,
    format_of,
    publish_engine_report,
    reconcile_job,
    run_step,
    validation_metrics,
)
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import FAILED, JobStore, iso
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.aws.seen_ids import SeenIdStore
from etl_handlers.core import codes
from etl_handlers.core.csvio import Joined
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.manifest import HashingReader, check_counted
from etl_handlers.core.masking import scrub
from etl_handlers.core.schema import Schema
from etl_handlers.core.statements import csv_only
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.reference.validate import reject_rate_error

# -- validator -------------------------------------------------------------------------------


def preflight(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    log: Any = None,
    manifest_required: bool = False,
    duplicate_files: bool = False,
) -> dict[str, Any]:
    """Read the file with the whole-file parser (its file rules fail it here) and write the
    plan of each part; the job becomes VALIDATING. ``rowsPerPart`` comes with the event.
    The file's SHA-256 is taken on the way: a declared one is checked here, and a file with
    an earlier job's bytes ends DUPLICATE before any part is read (see ``app/intake``)."""
    rows_per_part = int(event["rowsPerPart"])

    known = set(schema.column_names)

    def extra(header: list[str]) -> list[str]:
        return [scrub(name) for name in header if name not in known]

    def body(ctx: StepContext) -> StepOutcome:
        declared, attributes = None, {}  # the sender's manifest, what the job records
        if manifest_required:
            declared, info = intake.read_manifest(ctx.event.bucket, ctx.event.key, s3=ctx.s3)
            attributes.update(intake.manifest_attributes(info))
        try:
            with ctx.open_source() as raw:
                source = HashingReader(raw)
                plan = large.plan_parts(
                    cast(BinaryIO, csv_only(source, schema=schema)),
                    rows_per_part=rows_per_part,
                    schema=schema,
                )
                if declared is not None or duplicate_files:
                    attributes["contentSha256"] = source.hexdigest()
        except large.PlanRejected as rejected:  # the rows read before it, as a whole file
            failed = empty_validation()
            failed.error = (rejected.code, rejected.message)
            failed.rows = {"input": rejected.rows_read}
            failed.result_rows = {"input": rejected.rows_read, "valid": 0, "rejected": 0}
            failed.extra_columns = extra(rejected.header)
            return failed
        early = intake.preflight_verdict(
            declared,
            attributes,
            store=store,
            job_id=ctx.event.job_id,
            file_name=ctx.event.file_name,
            duplicate_files=duplicate_files,
            rows_read=sum(part.rows for part in plan.parts),
        )
        if early is not None:
            return early
        prefixes = large.JobPrefixes(ctx.event.folder)
        # Written only once the whole file has passed: a file that fails leaves no plan.
        for part in plan.parts:
            _put(
                s3,
                ctx.event.bucket,
                f"{prefixes.plan}{part.part}.json",
                json.dumps(part.to_json()).encode(),
                "json",
            )
        outcome = empty_validation()
        outcome.outcome = VALID
        outcome.outputs = {}
        outcome.extra_columns = extra(plan.header)
        outcome.attributes = attributes or None
        return outcome

    return run_step(
        "validate", event, body, store=store, s3=s3, empty_result=empty_validation, log=log
    )


def validate_batch(
    event: Mapping[str, Any],
    *,
    s3: Any,
    schema: Schema,
    metrics: Any = None,
    log: Any = None,
    seen_ids: SeenIdStore | None = None,
) -> dict[str, Any]:
    """Validate one planned part and write its rows, id index, rejects and summary.

    ``event`` names the part's plan (``planKey``); the part is read from the job's pinned
    object version as two ranged reads, the header's bytes and the part's. Returns ``{}``.
    Once its objects are written, the part's engine report is logged and its rows on the
    reference path published, as a single-file step does (:func:`publish_engine_report`).
    With ``seen_ids`` (ids across files), the part claims its accepted rows' ids for the job
    and marks in its id index those another job holds (``app.seen_ids.claim_part_ids``): the
    parts claim in parallel, and the reduce decides what each held id means for the file.
    """
    job = StepEvent.from_event(event)
    if seen_ids is not None:
        unique_id_column(schema)  # a configuration problem before any work
    prefixes = large.JobPrefixes(job.folder)
    with transient_aws_errors("validate batch: S3"):
        plan = large.PartPlan.from_json(json.loads(_get(s3, job.bucket, event["planKey"])))

        @contextmanager
        def open_part() -> Iterator[BinaryIO]:
            with ExitStack() as stack:
                header, rows = (
                    stack.enter_context(
                        s3io.open_object(
                            job.bucket,
                            job.key,
                            version_id=job.version_id,
                            client=s3,
                            byte_range=span,
                        )
                    )
                    for span in ((0, plan.header_end), (plan.start, plan.end))
                )
                yield io.BufferedReader(Joined(header, rows), buffer_size=s3io.READ_BUFFER_SIZE)

        result = large.validate_part(open_part, plan=plan, schema=schema)
        part = result.part
        if seen_ids is not None and result.ids:
            result.ids = claim_part_ids(
                result.ids, claim=lambda ids: seen_ids.claim(job.job_id, ids)
            )
        _put(s3, job.bucket, f"{prefixes.parts}{part}.csv", result.valid_csv, "csv")
        _put(s3, job.bucket, f"{prefixes.ids}{part}.jsonl", result.ids, "jsonl")
        if result.rejects:
            _put(
                s3, job.bucket, f"{prefixes.rejected}{part}.rejected.jsonl", result.rejects, "jsonl"
            )
        _put(
            s3,
            job.bucket,
            f"{prefixes.batches}{part}.json",
            json.dumps(result.summary()).encode(),
            "json",
        )
    publish_engine_report(
        result.report, metrics=metrics, log=log, job_id=job.job_id, step="validate", part=part
    )
    return {}  # the map collects one result per part: what matters is in S3


def reduce_validation(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    max_reject_rate: Decimal,
    metrics: Any = None,
    log: Any = None,
    manifest_required: bool = False,
) -> dict[str, Any]:
    """Merge the batches: duplicates across them, the file's rows and totals, the rate;
    then the sender's control totals (the manifest version the preflight read)."""

    def body(ctx: StepContext) -> StepOutcome:
        bucket, prefixes = ctx.event.bucket, large.JobPrefixes(ctx.event.folder)
        summaries = [
            json.loads(_get(s3, bucket, key))
            for key in s3io.list_keys(bucket, prefixes.batches, client=s3)
        ]
        reduced = large.reduce_id_indexes(
            s3,
            bucket,
            summaries,
            list(s3io.list_keys(bucket, prefixes.ids, client=s3)),
            unique=large.unique_column(schema),
        )
        _put(s3, bucket, prefixes.duplicates, json.dumps(reduced.duplicates).encode(), "json")
        rows = {
            "input": reduced.rows_input,
            "valid": reduced.rows_valid,
            "rejected": reduced.rows_rejected,
        }
        error = reduced.error or reject_rate_error(
            rows_input=reduced.rows_input,
            # rows held by other jobs are well-formed: the rate is the file's as sent
            rows_rejected=reduced.rows_rejected - reduced.rows_across_files,
            max_reject_rate=max_reject_rate,
        )
        if error is None and manifest_required:
            declared, _ = intake.read_manifest(
                bucket, ctx.event.key, s3=s3, version_id=intake.recorded_manifest_version(ctx.job)
            )
            mismatch = check_counted(
                declared,
                rows=reduced.rows_input,
                totals=reduced.totals_as_sent or reduced.totals,
                sha256=ctx.job.get("contentSha256"),
            )
            error = (mismatch.code, mismatch.message) if mismatch else None
        return StepOutcome(
            outcome=VALID if error is None else INVALID,
            rows=rows,
            result_rows=dict(rows),
            totals=reduced.totals,
            outputs={"validated": prefixes.parts, "rejected": prefixes.rejected},
            error=error,
            extra_columns=reduced.extra_columns,
        )

    return run_step(
        "validate",
        event,
        body,
        store=store,
        s3=s3,
        empty_result=empty_validation,
        log=log,
        on_recorded=validation_metrics(metrics),
    )


# -- parts -----------------------------------------------------------------------------------

#: S3 metadata of a validated part whose transform took out the rows the reduce rejected.
KEPT_ROWS_METADATA = "etl-kept-rows"


def transform_part(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    output_format: str,
    metrics: Any = None,
    log: Any = None,
) -> dict[str, Any]:
    """One validated part: its duplicated rows rejected, the rest transformed (its engine
    report published as :func:`validate_batch` does)."""
    job = StepEvent.from_event(event)
    prefixes = large.JobPrefixes(job.folder)
    part = large.part_of(event["partKey"])
    _require_running(store, job)
    with transient_aws_errors("transform part: S3"):
        try:
            duplicates = json.loads(_get(s3, job.bucket, prefixes.duplicates)).get(part, [])
        except s3io.ObjectNotFound:
            duplicates = []
        answer = s3.get_object(Bucket=job.bucket, Key=event["partKey"])
        validated = answer["Body"].read()
        # A retry after the part's rows were already narrowed (below) drops nothing again:
        # the positions in duplicates.json are those of the part as validation wrote it.
        narrowed = (answer.get("Metadata") or {}).get(KEPT_ROWS_METADATA) == "1"
        dropping = [entry for entry in duplicates if not narrowed or entry[0] < 0]
        summary = json.loads(_get(s3, job.bucket, f"{prefixes.batches}{part}.json"))
        key = prefixes.processed(part, output_format)
        with s3io.MultipartWriter(
            job.bucket, key, client=s3, content_type=content_type(output_format)
        ) as sink:
            result, rejects, kept = large.transform_part(
                validated,
                dropping,
                schema=schema,
                file_columns=summary["header"],
                output_format=output_format,
                sink=sink,
            )
        if rejects:
            _put(s3, job.bucket, f"{prefixes.rejected}{part}.duplicates.jsonl", rejects, "jsonl")
        recoded = [entry[1] for entry in duplicates if entry[0] == large.LATE_REJECT]
        if recoded:  # rows this part rejected for a later column repeat an earlier part's id
            own = f"{prefixes.rejected}{part}.rejected.jsonl"
            lines = large.recode_duplicates(_get(s3, job.bucket, own), recoded, schema=schema)
            _put(s3, job.bucket, own, lines, "jsonl")
        if rejects:  # validated/ keeps the rows the file kept, as a whole file's does
            s3.put_object(
                Bucket=job.bucket,
                Key=event["partKey"],
                Body=kept,
                ContentType=content_type("csv"),
                Metadata={KEPT_ROWS_METADATA: "1"},
            )
    publish_engine_report(
        result.report, metrics=metrics, log=log, job_id=job.job_id, step="transform", part=part
    )
    return {
        "part": part,
        "processedKey": key,
        "rows": result.rows,
        "totals": result.totals.to_json(),
        "duplicates": len(duplicates) - len(recoded),
    }


def enrich_part(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    output_format: str,
    pipeline_version: str,
    metrics: Any = None,
    log: Any = None,
    curated: bool = False,
) -> dict[str, Any]:
    """One transformed part, enriched; its figures left in a summary for the reduce (its
    engine report published as :func:`validate_batch` does). With ``curated``, the part's
    curated Parquet is staged for the reduce to publish (``app.curate``)."""
    job = StepEvent.from_event(event)
    prefixes = large.JobPrefixes(job.folder)
    transformed = event["part"]
    part = transformed["part"]
    record = _require_running(store, job)
    metadata = EnrichMetadata(
        job_id=job.job_id,
        source_key=job.key,
        processed_at=iso(store.now()),
        pipeline_version=pipeline_version,
    )
    # the curated partition of rows without a date: the job's creation day, UTC
    received_date = str(record["createdAt"])[:10]
    with transient_aws_errors("enrich part: S3"):
        key = prefixes.enriched(part, output_format)
        source_format = format_of(transformed["processedKey"])
        with (
            StagedCurated(schema=schema, received_date=received_date) if curated else nullcontext()
        ) as staged:
            with (
                s3io.open_object(
                    job.bucket,
                    transformed["processedKey"],
                    client=s3,
                    seekable=source_format == "parquet",
                ) as source,
                s3io.MultipartWriter(
                    job.bucket, key, client=s3, content_type=content_type(output_format)
                ) as sink,
            ):
                result = large.enrich_part(
                    source,
                    sink,
                    metadata=metadata,
                    input_format=source_format,
                    output_format=output_format,
                    schema=schema,
                    curated=staged.builder if staged is not None else None,
                )
            if staged is not None:
                _stage_curated(
                    s3, job, prefixes, part, key, output_format, schema, staged, received_date
                )
        summary = {
            "part": part,
            "transform": {"rows": transformed["rows"], "totals": transformed["totals"]},
            "enrich": {"rows": result.rows, "totals": result.totals.to_json()},
        }
        _put(
            s3, job.bucket, f"{prefixes.summaries}{part}.json", json.dumps(summary).encode(), "json"
        )
    publish_engine_report(
        result.report, metrics=metrics, log=log, job_id=job.job_id, step="enrich", part=part
    )
    return {}  # the map collects one result per part: the summary is in S3


def _stage_curated(
    s3: Any,
    job: StepEvent,
    prefixes: large.JobPrefixes,
    part: str,
    enriched_key: str,
    output_format: str,
    schema: Schema,
    staged: StagedCurated,
    received_date: str,
) -> None:
    """The part's curated files under ``enriched/{job}/curated/``: its enriched rows (as the
    engine handed them over while it enriched; read back from ``enriched_key`` when it did
    not), and its rejects (its validation's and the rows its transform found duplicated
    across parts)."""

    def opener(key: str, *, seekable: bool = False) -> Callable[[], BinaryIO]:
        return lambda: s3io.open_object(job.bucket, key, client=s3, seekable=seekable)

    publish_curated(
        s3=s3,
        bucket=job.bucket,
        job_id=job.job_id,
        source_key=job.key,
        schema=schema,
        enriched=opener(enriched_key, seekable=output_format == "parquet"),
        enriched_format=output_format,
        rejected=[
            opener(f"{prefixes.rejected}{part}.rejected.jsonl"),
            opener(f"{prefixes.rejected}{part}.duplicates.jsonl"),
        ],
        received_date=received_date,
        stem=part,
        root=staging_root(job.folder),
        staged=staged,
    )


def _require_running(store: JobStore, job: StepEvent) -> dict[str, Any]:
    """The job's record; a part of a job that already failed does nothing (its outputs
    would be orphans)."""
    with transient_aws_errors("part: job read"):
        record = store.require(job.job_id)
    if record.get("status") == FAILED:
        raise FileRejected(codes.JOB_NOT_RUNNABLE, f"job {job.job_id} is FAILED; part not run")
    return record


# -- the last reduce -------------------------------------------------------------------------


def reduce_enrich(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    metrics: Any = None,
    log: Any = None,
    curated: bool = False,
) -> dict[str, Any]:
    """Record the parts' transform and enrich figures, reconcile, and complete the job
    (with ``curated``, publishing the parts' staged curated files first)."""
    job = StepEvent.from_event(event)
    prefixes = large.JobPrefixes(job.folder)
    with transient_aws_errors("reduce: S3"):
        summaries = [
            json.loads(_get(s3, job.bucket, key))
            for key in s3io.list_keys(job.bucket, prefixes.summaries, client=s3)
        ]
    transformed = sum(int(s["transform"]["rows"]) for s in summaries)
    enriched = sum(int(s["enrich"]["rows"]) for s in summaries)
    transform_totals = large.add_totals(s["transform"]["totals"] for s in summaries)
    enrich_totals = large.add_totals(s["enrich"]["totals"] for s in summaries)

    def transform_body(ctx: StepContext) -> StepOutcome:
        return StepOutcome(
            outcome=VALID,
            rows={"transformed": transformed},
            result_rows=transformed,
            totals=transform_totals,
            outputs={"processed": prefixes.processed()},
        )

    recorded = run_step(
        "transform",
        event,
        transform_body,
        store=store,
        s3=s3,
        empty_result=lambda: empty_step("processed"),
        log=log,
    )
    if recorded["outcome"] != VALID:
        return recorded

    def enrich_body(ctx: StepContext) -> StepOutcome:
        problems = reconcile_job(ctx.job, rows_enriched=enriched, enrich_totals=enrich_totals)
        outcome = StepOutcome(
            outcome=VALID,
            rows={"enriched": enriched},
            result_rows=enriched,
            totals=enrich_totals,
            outputs={"enriched": prefixes.enriched()},
            succeed=True,
        )
        if problems:
            outcome.outcome = INVALID
            outcome.error = (RECONCILIATION_FAILED, "; ".join(problems))
            outcome.outputs = {"enriched": None}
        elif curated:
            with transient_aws_errors("reduce: curated"):
                outcome.outputs["curated"] = promote_parts(
                    s3=ctx.s3,
                    bucket=job.bucket,
                    job_id=job.job_id,
                    attempt=job.attempt,
                    folder=job.folder,
                )
        return outcome

    result = run_step(
        "enrich",
        event,
        enrich_body,
        store=store,
        s3=s3,
        empty_result=lambda: empty_step("enriched"),
        log=log,
        on_recorded=completion_metrics(metrics),
    )
    return prune_after_success(result, event, s3=s3, log=log, store=store)


# -- S3 helpers ------------------------------------------------------------------------------


def _put(s3: Any, bucket: str, key: str, body: bytes, kind: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type(kind)
        if kind in ("csv", "jsonl", "parquet")
        else "application/json",
    )


def _get(s3: Any, bucket: str, key: str) -> bytes:
    with s3io.open_object(bucket, key, client=s3) as body:
        return body.read()
