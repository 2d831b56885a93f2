"""Validate one job's source file: valid rows to ``validated/``, rejects to ``rejected/``.

Outputs: the valid rows are kept only when the file as a whole is VALID. The reject file
is kept when it has lines and was read to the end: for a VALID file, and for a file that
failed on its reject rate (then it is the explanation the user needs). After any other
file rule (``NOT_UTF8``, ``MISSING_COLUMN``...) both outputs are discarded: they would be
partial. Rows, totals and outputs are recorded on the job either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from etl_handlers.app.steps import (
    VALID,
    StepContext,
    StepOutcome,
    content_type,
    empty_validation,
    run_step,
    validation_metrics,
)
from etl_handlers.aws.jobs import JobStore
from etl_handlers.aws.s3io import PART_SIZE
from etl_handlers.core import codes, keys
from etl_handlers.core.schema import Schema
from etl_handlers.engines.selector import validate_stream

STEP = "validate"

__all__ = ["STEP", "empty_result", "validate"]


empty_result = empty_validation  # the result's shape when nothing was read


def validate(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    s3: Any,
    schema: Schema,
    max_reject_rate: Decimal,
    metrics: Any = None,
    log: Callable[..., None] | None = None,
    part_size: int = PART_SIZE,
) -> dict[str, Any]:
    """Run the Validate step for the job in ``event`` (the state machine's state).

    Returns ``{"outcome", "rows": {"input", "valid", "rejected"}, "totals",
    "outputs": {"validated", "rejected"}, "error"}``. ``metrics`` (a Powertools
    ``Metrics``) receives ``RowsRejected`` and, for a data failure, ``FilesFailed``.
    """

    def body(ctx: StepContext) -> StepOutcome:
        folder, key = ctx.event.folder, ctx.event.key
        valid_key = keys.validated_key(folder, key)
        reject_key = keys.rejected_key(folder, key)
        with (
            ctx.open_source() as source,
            ctx.writer(valid_key, content_type("csv")) as valid_sink,
            ctx.writer(reject_key, content_type("jsonl")) as reject_sink,
        ):
            result = validate_stream(
                source,
                valid_sink,
                reject_sink,
                schema=schema,
                max_reject_rate=max_reject_rate,
            )
            read_to_end = result.outcome == VALID or (
                result.error is not None and result.error[0] == codes.REJECT_RATE_EXCEEDED
            )
            if result.outcome != VALID:
                valid_sink.abort()
            if not (read_to_end and result.rows_rejected):
                reject_sink.abort()
        return StepOutcome(
            outcome=result.outcome,
            rows={
                "input": result.rows_input,
                "valid": result.rows_valid,
                "rejected": result.rows_rejected,
            },
            result_rows={
                "input": result.rows_input,
                "valid": result.rows_valid,
                "rejected": result.rows_rejected,
            },
            totals=result.totals,
            outputs={
                "validated": valid_key if valid_sink.committed else None,
                "rejected": reject_key if reject_sink.committed else None,
            },
            error=result.error,
            extra_columns=list(result.extra_columns),
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
        on_recorded=validation_metrics(metrics),
    )
