"""The one protocol both engines implement, row level: no reject rate, no step logic.

Each method reads a whole stream and writes its outputs exactly as the reference does,
raises :class:`~etl_handlers.core.errors.FileRejected` on a file rule, and records in
``report`` how many rows it did on which path (:class:`~etl_handlers.core.report.EngineReport`).
:mod:`etl_handlers.engines.selector` picks the engine and wraps these in the step entry points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from etl_handlers.core.report import EngineReport
    from etl_handlers.core.schema import Schema
    from etl_handlers.core.totals import StepResult
    from etl_handlers.engines.columnar.curate import CuratedBuilder
    from etl_handlers.engines.reference.enrich import EnrichMetadata
    from etl_handlers.engines.reference.validate import ValidationResult

__all__ = ["Engine"]


class Engine(Protocol):
    """Validate, transform and enrich, with the outputs of the reference engine."""

    name: str

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
        """Fill ``result`` (counts so far, also when it raises)."""

    def transform(
        self,
        source: BinaryIO,
        sink: BinaryIO,
        *,
        schema: Schema,
        output_format: str,
        report: EngineReport,
    ) -> StepResult: ...

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
        """Enrich; an engine may also hand every record's values to ``curated``. One that
        does not leaves it incomplete: the caller then reads the enriched output back."""
