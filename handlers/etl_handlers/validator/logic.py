"""Validate one job's source file: valid rows to ``validated/``, rejects to ``rejected/``.

Outputs: the valid rows are kept only when the file as a whole is VALID. The reject file
is kept when it has lines and was read to the end: for a VALID file, and for a file that
failed on its reject rate (then it is the explanation the user needs). After any other
file rule (``NOT_UTF8``, ``MISSING_COLUMN``...) both outputs are discarded: they would be
partial. Rows, totals and outputs are recorded on the job either way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, BinaryIO, cast

from etl_handlers.app import intake
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
from etl_handlers.aws.seen_ids import SeenIdStore
from etl_handlers.contract import (
    DUPLICATE,
    FORMAT_CSV,
    INPUT_FORMATS,
    INVALID,
    OUTCOME_DUPLICATE,
    ROWS_READ,
)
from etl_handlers.core import codes, keys
from etl_handlers.core.manifest import HashingReader, check_counted
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
    seen_ids: SeenIdStore | None = None,
    manifest_required: bool = False,
    duplicate_files: bool = False,
    input_formats: Collection[str] = INPUT_FORMATS,
) -> dict[str, Any]:
    """Run the Validate step for the job in ``event`` (the state machine's state).

    Returns ``{"outcome", "rows": {"input", "valid", "rejected"}, "totals",
    "outputs": {"validated", "rejected"}, "error"}``. ``metrics`` (a Powertools
    ``Metrics``) receives ``RowsRejected`` and, for a data failure, ``FilesFailed``.
    ``seen_ids``: the seen-ids store when the check of ids across files is on
    (:mod:`etl_handlers.app.seen_ids`). ``manifest_required``: the file's manifest is read
    first and what validation counted is checked against it (``CONTROL_TOTALS_MISMATCH``;
    before the ids across files are claimed: the sender declares what it sent).
    ``duplicate_files``: a file with an earlier job's bytes ends DUPLICATE
    (``duplicateOf``) and keeps no output. ``input_formats``: the formats read (CSV and the
    bank statements, :mod:`etl_handlers.core.statements`); a statement's format is recorded
    as ``inputFormat``.
    """

    def body(ctx: StepContext) -> StepOutcome:
        # the job's id claims (contents, ids); its attempt's folder holds the outputs
        job_id, folder, key = ctx.event.job_id, ctx.event.folder, ctx.event.key

        declared = None
        attributes: dict[str, Any] = {}
        if manifest_required:
            declared, info = intake.read_manifest(ctx.event.bucket, key, s3=ctx.s3)
            attributes.update(intake.manifest_attributes(info))
        duplicate_of: str | None = None

        def validate_to(valid_key: str, reject_key: str) -> tuple[Any, dict[str, str | None]]:
            nonlocal duplicate_of
            with (
                ctx.open_source() as raw_source,
                ctx.writer(valid_key, content_type("csv")) as valid_sink,
                ctx.writer(reject_key, content_type("jsonl")) as reject_sink,
            ):
                source = HashingReader(raw_source)
                result = validate_stream(
                    cast(BinaryIO, source),
                    valid_sink,
                    reject_sink,
                    schema=schema,
                    max_reject_rate=max_reject_rate,
                    input_formats=input_formats,
                )
                if result.input_format not in (None, FORMAT_CSV):
                    attributes["inputFormat"] = result.input_format
                read_to_end = result.outcome == VALID or (
                    result.error is not None and result.error[0] == codes.REJECT_RATE_EXCEEDED
                )
                if result.outcome == VALID and (declared is not None or duplicate_files):
                    attributes["contentSha256"] = digest = source.hexdigest()
                    mismatch = declared and check_counted(
                        declared, rows=result.rows_input, totals=result.totals, sha256=digest
                    )
                    if mismatch:
                        result.outcome = INVALID
                        result.error = (mismatch.code, mismatch.message)
                    elif duplicate_files and result.rows_input:
                        # a file without data rows posts nothing twice (and a day without
                        # transactions sends the same header-only bytes every day)
                        duplicate_of = intake.claim_content(
                            store, digest, job_id=job_id, file_name=ctx.event.file_name
                        )
                        if duplicate_of:  # not VALID: the seen-ids pass claims nothing
                            result.outcome = OUTCOME_DUPLICATE
                if result.outcome != VALID:
                    valid_sink.abort()
                if not (read_to_end and result.rows_rejected) or duplicate_of:
                    reject_sink.abort()
            return result, {
                "validated": valid_key if valid_sink.committed else None,
                "rejected": reject_key if reject_sink.committed else None,
            }

        if seen_ids is None:
            result, outputs = validate_to(
                keys.validated_key(folder, key), keys.rejected_key(folder, key)
            )
        else:  # duplicates across files: validation into staging keys, then the claim pass
            from etl_handlers.app.seen_ids import validate_across_files

            result, outputs = validate_across_files(
                job_id=job_id,
                folder=folder,
                bucket=ctx.event.bucket,
                key=key,
                s3=ctx.s3,
                schema=schema,
                store=seen_ids,
                validate_to=validate_to,
                writer=ctx.writer,
            )
        if duplicate_of:
            # Nothing of these bytes is published twice: no outputs, no figures to add up.
            return StepOutcome(
                outcome=OUTCOME_DUPLICATE,
                rows={ROWS_READ: result.rows_input},
                result_rows={"input": result.rows_input, "valid": 0, "rejected": 0},
                totals=None,
                outputs={"validated": None, "rejected": None},
                final=DUPLICATE,
                attributes={**attributes, "duplicateOf": duplicate_of},
                report=result.report,
            )
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
            outputs=outputs,
            error=result.error,
            extra_columns=list(result.extra_columns),
            report=result.report,
            attributes=attributes or None,
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
