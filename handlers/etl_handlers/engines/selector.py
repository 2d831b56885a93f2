"""The seam between the steps and the engines: which engine runs, and the step entry points.

:func:`select_engine` is the one reader of the fast-path switch (``ETL_FAST_PATH``, see
:mod:`etl_handlers.contract`): the columnar engine when pyarrow and numpy can be imported
(on Lambda: the AWS SDK for pandas layer) and the switch is not ``0``, else the reference
engine, which knows why it was chosen. Both give the same outputs, counts, totals and errors.

:func:`validate_stream`, :func:`transform_stream` and :func:`enrich_stream` run a whole step's
processing with the engine given (default: the selected one) and attach its
:class:`~etl_handlers.core.report.EngineReport` to the result as ``report``.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from decimal import Decimal
from functools import lru_cache
from importlib.util import find_spec
from typing import TYPE_CHECKING, BinaryIO, cast

from etl_handlers import contract
from etl_handlers.contract import DEFAULT_MAX_REJECT_RATE, INVALID, VALID
from etl_handlers.core.csvio import FileEnd, RepeatedHeader
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.formats import JSONL
from etl_handlers.core.masking import scrub
from etl_handlers.core.report import EngineReport, Reason
from etl_handlers.core.schema import Schema
from etl_handlers.core.statements import StatementCsv
from etl_handlers.core.totals import StepResult
from etl_handlers.engines.protocol import Engine
from etl_handlers.engines.reference.engine import ReferenceEngine
from etl_handlers.engines.reference.enrich import EnrichMetadata, check_enrich_schema
from etl_handlers.engines.reference.validate import ValidationResult, reject_rate_error

if TYPE_CHECKING:
    from etl_handlers.engines.columnar.curate import CuratedBuilder

__all__ = [
    "ENV_SWITCH",
    "columnar_unavailable",
    "enrich_stream",
    "select_engine",
    "transform_stream",
    "validate_stream",
]

ENV_SWITCH = contract.FAST_PATH
"""Environment variable: ``0`` turns the columnar engine off (the reference runs)."""


@lru_cache(maxsize=1)
def _importable() -> bool:
    try:
        return find_spec("pyarrow") is not None and find_spec("numpy") is not None
    except (ImportError, ValueError):  # a broken install, or a module blocked in sys.modules
        return False


def columnar_unavailable() -> Reason | None:
    """Why the columnar engine cannot run here (switched off, pyarrow or numpy missing);
    None when it can."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return Reason.SWITCHED_OFF
    if not _importable():
        return Reason.PYARROW_MISSING
    return None


def select_engine() -> Engine:
    """The columnar engine when it can run, else the reference engine (with the reason).
    pyarrow and numpy are imported when the columnar engine first runs."""
    reason = columnar_unavailable()
    if reason is not None:
        return ReferenceEngine(reason=reason)
    from etl_handlers.engines.columnar.engine import ColumnarEngine

    return ColumnarEngine()


def validate_stream(
    source: BinaryIO,
    valid_sink: BinaryIO,
    reject_sink: BinaryIO,
    *,
    schema: Schema,
    max_reject_rate: Decimal = DEFAULT_MAX_REJECT_RATE,
    engine: Engine | None = None,
    input_formats: Collection[str] = contract.INPUT_FORMATS,
    file_end: bool = True,
) -> ValidationResult:
    """Stream ``source`` through the schema's rules; never raises on bad data.

    ``source`` is CSV bytes or a bank statement of ``input_formats`` (read as the CSV of its
    entries, :mod:`etl_handlers.core.statements`; ``result.input_format`` says which).
    Returns VALID, or INVALID with a file code (see :mod:`etl_handlers.core.codes`) and a
    message. A header-only file is VALID with 0 rows. The sinks are written to but not closed.
    ``file_end``: ``source`` ends where the file ends, so lines at its end holding only
    spaces, tabs or 0x1A are no rows (:class:`csvio.FileEnd`); a big file's part, which ends
    at a record of the file, passes False.
    """
    engine = engine or select_engine()
    result = ValidationResult(outcome=VALID)
    result.report = EngineReport(engine=engine.name)
    if file_end:
        source = cast(BinaryIO, FileEnd(source))
    readable = StatementCsv(source, schema=schema, accepted=input_formats)
    try:
        engine.validate(
            cast(BinaryIO, readable),
            valid_sink,
            reject_sink,
            schema=schema,
            result=result,
            report=result.report,
        )
    except FileRejected as rejected:
        result.input_format = readable.label
        result.outcome = INVALID
        result.error = (rejected.code, scrub(rejected.message))
        if isinstance(rejected, RepeatedHeader):
            result.repeated_header_row = rejected.row
        return result
    result.input_format = readable.label
    result.error = reject_rate_error(
        rows_input=result.rows_input,
        rows_rejected=result.rows_rejected,
        max_reject_rate=max_reject_rate,
    )
    if result.error is not None:
        result.outcome = INVALID
    return result


def transform_stream(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    schema: Schema,
    output_format: str = JSONL,
    engine: Engine | None = None,
) -> StepResult:
    """Read the validated CSV from ``source``, write normalized records to ``sink``.

    Returns the number of records written and their control totals. Raises FileRejected
    (``INVALID_INPUT`` or a CSV file code) when the input is not what validation wrote.
    """
    engine = engine or select_engine()
    report = EngineReport(engine=engine.name)
    result = engine.transform(
        source, sink, schema=schema, output_format=output_format, report=report
    )
    result.report = report
    return result


def enrich_stream(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    metadata: EnrichMetadata,
    input_format: str = JSONL,
    output_format: str = JSONL,
    schema: Schema | None = None,
    engine: Engine | None = None,
    curated: CuratedBuilder | None = None,
) -> StepResult:
    """Read processed records from ``source``, write enriched ones to ``sink``.

    ``schema`` (default: the default schema) names the columns, the timestamp the date is
    derived from, and the totals columns. Raises FileRejected ``INVALID_INPUT`` when a
    record is not what transform writes, ConfigurationError when a schema column clashes
    with an added field. ``curated``: a builder of the curated files the engine may feed
    (``curated.complete`` says it did).
    """
    checked = check_enrich_schema(schema)
    engine = engine or select_engine()
    report = EngineReport(engine=engine.name)
    result = engine.enrich(
        source,
        sink,
        metadata=metadata,
        schema=checked,
        input_format=input_format,
        output_format=output_format,
        report=report,
        curated=curated,
    )
    result.report = report
    return result
