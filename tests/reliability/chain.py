"""The processing core's chain, validate -> transform -> enrich, over in-memory streams.

What the three step handlers do around the core functions, without S3 or DynamoDB: the
corpus and the fuzz tests run every input through it and compare the outcome with the
manifest. A chain that completes reconciles its totals, as the enricher does before it
marks a job SUCCEEDED.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.schema import Schema, load_schema
from etl_handlers.core.totals import reconcile
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.reference.validate import VALID
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

SCHEMA = load_schema(None)
METADATA = EnrichMetadata(
    job_id="0" * 32,
    source_key="raw/corpus.csv",
    processed_at="2026-01-01T00:00:00.000Z",
    pipeline_version="test",
)


@dataclass
class ChainOutcome:
    """``status`` is SUCCEEDED or FAILED (with ``code`` and ``message``)."""

    status: str
    code: str | None = None
    message: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    validated: bytes = b""
    processed: bytes = b""
    enriched: bytes = b""
    summary: dict[str, Any] = field(default_factory=dict)
    """What the job record and the step results carry beyond the rows: validate's result
    (counts, totals, error), the header and the extra column names."""

    @property
    def reject_codes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.rejects:
            counts[line["code"]] = counts.get(line["code"], 0) + 1
        return counts

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.enriched.splitlines()]

    def outputs(self) -> list[bytes]:
        """Every object the pipeline would write for this file (not the source itself)."""
        rejected = b"".join(json.dumps(r).encode() + b"\n" for r in self.rejects)
        return [self.validated, rejected, self.processed, self.enriched]


def run_chain(
    data: bytes, *, schema: Schema = SCHEMA, max_reject_rate: Decimal = Decimal("0.05")
) -> ChainOutcome:
    valid, rejected = io.BytesIO(), io.BytesIO()
    result = validate_stream(
        io.BytesIO(data), valid, rejected, schema=schema, max_reject_rate=max_reject_rate
    )
    rows = {
        "input": result.rows_input,
        "valid": result.rows_valid,
        "rejected": result.rows_rejected,
    }
    rejects = [json.loads(line) for line in rejected.getvalue().splitlines()]
    summary = {**result.to_json(), "header": result.header, "extraColumns": result.extra_columns}
    if result.outcome != VALID:
        assert result.error is not None
        code, message = result.error
        return ChainOutcome("FAILED", code, message, rows, rejects, summary=summary)
    processed, enriched = io.BytesIO(), io.BytesIO()
    try:
        transformed = transform_stream(io.BytesIO(valid.getvalue()), processed, schema=schema)
        enriched_result = enrich_stream(
            io.BytesIO(processed.getvalue()), enriched, metadata=METADATA, schema=schema
        )
    except FileRejected as rejected_file:
        return ChainOutcome(
            "FAILED",
            rejected_file.code,
            rejected_file.message,
            rows,
            rejects,
            valid.getvalue(),
            summary=summary,
        )
    rows["transformed"] = transformed.rows
    rows["enriched"] = enriched_result.rows
    problems = reconcile(
        rows_input=result.rows_input,
        rows_valid=result.rows_valid,
        rows_rejected=result.rows_rejected,
        rows_transformed=transformed.rows,
        rows_enriched=enriched_result.rows,
        validate=result.totals,
        transform=transformed.totals,
        enrich=enriched_result.totals,
    )
    if problems:
        return ChainOutcome(
            "FAILED", "RECONCILIATION_FAILED", "; ".join(problems), rows, rejects, summary=summary
        )
    return ChainOutcome(
        "SUCCEEDED",
        rows=rows,
        rejects=rejects,
        validated=valid.getvalue(),
        processed=processed.getvalue(),
        enriched=enriched.getvalue(),
        summary=summary,
    )


def check_invariants(data: bytes, outcome: ChainOutcome) -> None:
    """What holds for any input: a final status, a stable code, rows that add up."""
    assert outcome.status in ("SUCCEEDED", "FAILED")
    if outcome.status == "FAILED":
        assert outcome.code in (*codes.FILE_CODES, "RECONCILIATION_FAILED"), outcome.code
        assert outcome.message
        assert outcome.code != "INVALID_INPUT", "validation wrote what transform cannot read"
        assert outcome.code != "RECONCILIATION_FAILED", outcome.message
    rows = outcome.rows
    assert rows["input"] == rows["valid"] + rows["rejected"] == rows["valid"] + len(outcome.rejects)
    assert all(r["code"] in codes.ROW_CODES for r in outcome.rejects)
    numbers = [r["row"] for r in outcome.rejects]
    assert numbers == sorted(set(numbers))
    if outcome.status == "SUCCEEDED":
        records = outcome.records()
        assert len(records) == rows["valid"]
        ids = [r["transaction_id"] for r in records]
        assert len(ids) == len(set(ids))
