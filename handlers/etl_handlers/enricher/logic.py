"""Enrich one job's processed records, reconcile every stage, and complete the job.

The enriched object is committed only when the control totals reconcile (rows in = valid +
rejected, every stage wrote every valid row, per-currency counts and sums equal across
validate, transform and enrich). Then, in the same conditional write that records the
results, the job becomes SUCCEEDED. Otherwise the output is discarded and the step
returns INVALID with ``RECONCILIATION_FAILED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
) -> dict[str, Any]:
    """Run the Enrich step for the job in ``event``.

    Reads the transformer's output (its format from its key), writes
    ``enriched/{job}/{stem}.{output_format}``. Returns ``{"outcome", "rows": n, "totals",
    "outputs": {"enriched"}, "error"}``; on VALID the job is SUCCEEDED. ``metrics``
    receives ``FilesSucceeded`` and ``RowsProcessed``, or ``FilesFailed``.
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
        with source, ctx.writer(out_key, content_type(output_format)) as sink:
            result = enrich_stream(
                source,
                sink,
                metadata=metadata,
                input_format=format_of(in_key),
                output_format=output_format,
                schema=schema,
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
        return StepOutcome(
            outcome=VALID,
            rows={"enriched": result.rows},
            result_rows=result.rows,
            totals=result.totals,
            outputs={"enriched": out_key},
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
    return prune_after_success(result, event, s3=s3, log=log)
