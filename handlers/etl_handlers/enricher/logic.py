"""Enrich one job's processed records, reconcile every stage, and complete the job.

The enriched object is committed only when the control totals reconcile (rows in = valid +
rejected, every stage wrote every valid row, per-currency counts and sums equal across
validate, transform and enrich). Then, in the same conditional write that records the
results, the job becomes SUCCEEDED. Otherwise the output is discarded and the step
returns INVALID with ``RECONCILIATION_FAILED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

from etl_handlers.app.curate import StagedCurated, curated_stem, publish_curated
from etl_handlers.app.reprocess import prune_after_success
from etl_handlers.app.steps import (
    INVALID,
    RECONCILIATION_FAILED,
    VALID,
    StepContext,
    StepOutcome,
    completion_metrics,
    content_type,
    empty_step,
    format_of,
    reconcile_job,
    run_step,
)
from etl_handlers.aws import s3io
from etl_handlers.aws.jobs import JobStore, iso
from etl_handlers.aws.s3io import PART_SIZE
from etl_handlers.core import keys
from etl_handlers.core.schema import Schema
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.selector import enrich_stream

STEP = "enrich"

__all__ = ["STEP", "empty_result", "enrich"]


def empty_result() -> StepOutcome:
    """The result's shape when nothing was written."""
    return empty_step("enriched")


def enrich(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    output_format: str,
    pipeline_version: str,
    metrics: Any = None,
    log: Callable[..., None] | None = None,
    part_size: int = PART_SIZE,
    curated: bool = False,
) -> dict[str, Any]:
    """Run the Enrich step for the job in ``event``.

    Reads the transformer's output (its format from its key), writes
    ``enriched/{job}/{stem}.{output_format}``. Returns ``{"outcome", "rows": n, "totals",
    "outputs": {"enriched"}, "error"}``; on VALID the job is SUCCEEDED. ``metrics``
    receives ``FilesSucceeded`` and ``RowsProcessed``, or ``FilesFailed``. With
    ``curated``, the job's curated Parquet is written before it succeeds (``outputs.curated``).
    """

    def body(ctx: StepContext) -> StepOutcome:
        job_id, key, folder = ctx.event.job_id, ctx.event.key, ctx.event.folder
        in_key, source = ctx.open_output_of(
            "processed", keys.processed_key(folder, key, output_format)
        )
        out_key = keys.enriched_key(folder, key, output_format)
        metadata = EnrichMetadata(
            job_id=job_id,
            source_key=key,
            processed_at=iso(store.now()),
            pipeline_version=pipeline_version,
        )
        # the curated partition of rows without a date: the job's creation day, UTC
        received_date = str(ctx.job["createdAt"])[:10] if curated else ""
        with (
            StagedCurated(schema=schema, received_date=received_date) if curated else nullcontext()
        ) as staged:
            return _enrich_body(ctx, source, in_key, out_key, metadata, staged, received_date)

    def _enrich_body(
        ctx: StepContext,
        source: Any,
        in_key: str,
        out_key: str,
        metadata: EnrichMetadata,
        staged: StagedCurated | None,
        received_date: str,
    ) -> StepOutcome:
        with source, ctx.writer(out_key, content_type(output_format)) as sink:
            result = enrich_stream(
                source,
                sink,
                metadata=metadata,
                input_format=format_of(in_key),
                output_format=output_format,
                schema=schema,
                curated=staged.builder if staged is not None else None,
            )
            problems = reconcile_job(
                ctx.job, rows_enriched=result.rows, enrich_totals=result.totals
            )
            if problems:
                sink.abort()
        if problems:
            return StepOutcome(
                outcome=INVALID,
                rows={"enriched": result.rows},
                result_rows=result.rows,
                totals=result.totals,
                outputs={"enriched": None},
                error=(
                    RECONCILIATION_FAILED,
                    "control totals do not reconcile: " + "; ".join(problems),
                ),
                report=result.report,
            )
        outputs: dict[str, Any] = {"enriched": out_key}
        if staged is not None:
            outputs["curated"] = _publish_curated(
                ctx, out_key, output_format, schema, staged, received_date
            )
        return StepOutcome(
            outcome=VALID,
            rows={"enriched": result.rows},
            result_rows=result.rows,
            totals=result.totals,
            outputs=outputs,
            succeed=True,
            report=result.report,
        )

    result = run_step(
        STEP,
        event,
        body,
        store=store,
        s3=s3,
        empty_result=empty_result,
        part_size=part_size,
        log=log,
        on_recorded=completion_metrics(metrics),
    )
    return prune_after_success(result, event, s3=s3, log=log, store=store)


def _publish_curated(
    ctx: StepContext,
    enriched_key: str,
    output_format: str,
    schema: Schema,
    staged: StagedCurated,
    received_date: str,
) -> dict[str, Any]:
    """The curated dataset of a job whose enriched object was just written."""
    bucket = ctx.event.bucket
    rejected_key = (ctx.job.get("outputs") or {}).get("rejected")
    return publish_curated(
        s3=ctx.s3,
        bucket=bucket,
        job_id=ctx.event.job_id,
        source_key=ctx.event.key,
        schema=schema,
        enriched=lambda: s3io.open_object(
            bucket, enriched_key, client=ctx.s3, seekable=output_format == "parquet"
        ),
        enriched_format=output_format,
        rejected=[lambda: s3io.open_object(bucket, rejected_key, client=ctx.s3)]
        if rejected_key
        else [],
        received_date=received_date,
        stem=curated_stem(ctx.event.job_id, ctx.event.attempt),
        staged=staged,
    )
