"""The reference engine behind the :class:`~etl_handlers.engines.protocol.Engine` protocol:
every row of the file on the per-row path, reported under the reason it was chosen for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from etl_handlers.core.report import REFERENCE, EngineReport, Reason
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import StepResult
from etl_handlers.engines.reference.enrich import EnrichMetadata, enrich_rows
from etl_handlers.engines.reference.transform import transform_rows
from etl_handlers.engines.reference.validate import ValidationResult, validate_rows

__all__ = ["ReferenceEngine"]


@dataclass(frozen=True)
class ReferenceEngine:
    """The per-row engine; ``reason``: why it runs instead of the columnar one."""

    reason: Reason = Reason.SWITCHED_OFF
    name: str = REFERENCE

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
        try:
            validate_rows(source, valid_sink, reject_sink, schema, result)
        finally:
            report.reference(self.reason, result.rows_input)

    def transform(
        self,
        source: BinaryIO,
        sink: BinaryIO,
        *,
        schema: Schema,
        output_format: str,
        report: EngineReport,
    ) -> StepResult:
        result = transform_rows(source, sink, schema=schema, output_format=output_format)
        report.reference(self.reason, result.rows)
        return result

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
        curated: Any = None,  # never fed: the caller reads the enriched output back
    ) -> StepResult:
        result = enrich_rows(
            source,
            sink,
            metadata=metadata,
            schema=schema,
            input_format=input_format,
            output_format=output_format,
        )
        report.reference(self.reason, result.rows)
        return result
