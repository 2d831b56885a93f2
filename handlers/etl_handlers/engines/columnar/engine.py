"""The columnar engine behind the :class:`~etl_handlers.engines.protocol.Engine` protocol.

Importing this module imports no pyarrow: each method loads its columnar module on first
use. What the columnar modules cannot certify goes to the reference's public row
functions, and the report says which rows went there and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from etl_handlers.core.formats import JSONL
from etl_handlers.core.report import COLUMNAR, EngineReport, Reason
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import StepResult
from etl_handlers.engines.reference.engine import ReferenceEngine
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.reference.validate import ValidationResult

if TYPE_CHECKING:
    from etl_handlers.engines.columnar.curate import CuratedBuilder

__all__ = ["ColumnarEngine"]

_OTHER_FORMAT = ReferenceEngine(reason=Reason.OUTPUT_FORMAT)


@dataclass(frozen=True)
class ColumnarEngine:
    """pyarrow + numpy; the same outputs, counts, totals and errors as the reference."""

    name: str = COLUMNAR

    def validate(
        self,
        source: BinaryIO,
        valid_sink: BinaryIO,
        reject_sink: BinaryIO,
        *,
        schema: Schema,
        result: ValidationResult,
        report: EngineReport,
    ) -> None:
        from etl_handlers.engines.columnar.validate import validate

        validate(source, valid_sink, reject_sink, schema, result, report)

    def transform(
        self,
        source: BinaryIO,
        sink: BinaryIO,
        *,
        schema: Schema,
        output_format: str,
        report: EngineReport,
    ) -> StepResult:
        if output_format != JSONL:
            return _OTHER_FORMAT.transform(
                source, sink, schema=schema, output_format=output_format, report=report
            )
        from etl_handlers.engines.columnar.transform import transform_jsonl

        return transform_jsonl(source, sink, schema=schema, report=report)

    def enrich(
        self,
        source: BinaryIO,
        sink: BinaryIO,
        *,
        metadata: EnrichMetadata,
        schema: Schema,
        input_format: str,
        output_format: str,
        report: EngineReport,
        curated: CuratedBuilder | None = None,
    ) -> StepResult:
        if input_format != JSONL or output_format != JSONL:
            return _OTHER_FORMAT.enrich(
                source,
                sink,
                metadata=metadata,
                schema=schema,
                input_format=input_format,
                output_format=output_format,
                report=report,
            )
        from etl_handlers.engines.columnar.enrich import enrich_jsonl

        return enrich_jsonl(
            source, sink, metadata=metadata, schema=schema, report=report, curated=curated
        )
