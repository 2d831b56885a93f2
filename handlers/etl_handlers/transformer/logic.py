"""Transform one job's validated rows into normalized records under ``processed/``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from etl_handlers.app.steps import (
    VALID,
    StepContext,
    StepOutcome,
    content_type,
    empty_step,
    failure_metrics,
    run_step,
)
from etl_handlers.aws.jobs import JobStore
from etl_handlers.aws.s3io import PART_SIZE
from etl_handlers.core import keys
from etl_handlers.core.schema import Schema
from etl_handlers.engines.selector import transform_stream

STEP = "transform"

__all__ = ["STEP", "empty_result", "transform"]


def empty_result() -> StepOutcome:
    """The result's shape when nothing was written."""
    return empty_step("processed")


def transform(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    output_format: str,
    metrics: Any = None,
    log: Callable[..., None] | None = None,
    part_size: int = PART_SIZE,
) -> dict[str, Any]:
    """Run the Transform step for the job in ``event``.

    Reads ``validated/{job}/{stem}.csv`` (as recorded on the job), writes
    ``processed/{job}/{stem}.{output_format}``. Returns ``{"outcome", "rows": n, "totals",
    "outputs": {"processed"}, "error"}``; records ``rows.transformed`` and
    ``totals.transform`` on the job.
    """

    def body(ctx: StepContext) -> StepOutcome:
        folder, key = ctx.event.folder, ctx.event.key
        _, source = ctx.open_output_of("validated", keys.validated_key(folder, key))
        out_key = keys.processed_key(folder, key, output_format)
        with source, ctx.writer(out_key, content_type(output_format)) as sink:
            result = transform_stream(source, sink, schema=schema, output_format=output_format)
        return StepOutcome(
            outcome=VALID,
            rows={"transformed": result.rows},
            result_rows=result.rows,
            totals=result.totals,
            outputs={"processed": out_key},
            report=result.report,
        )

    return run_step(
        STEP,
        event,
        body,
        store=store,
        s3=s3,
        empty_result=empty_result,
        part_size=part_size,
        log=log,
        on_recorded=failure_metrics(metrics),
    )
