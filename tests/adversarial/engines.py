"""The chain with one engine, as the three steps run it: what the adversarial reviews
compare between the reference and the columnar engine."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from etl_handlers.core.schema import Schema
from etl_handlers.engines.columnar.engine import ColumnarEngine
from etl_handlers.engines.reference.engine import ReferenceEngine
from etl_handlers.engines.reference.validate import ValidationResult
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

from tests.reliability.chain import METADATA, SCHEMA

ENGINES = {"reference": ReferenceEngine, "columnar": ColumnarEngine}


def engine_validate(
    data: bytes,
    engine: str,
    valid: io.BytesIO | None = None,
    rejected: io.BytesIO | None = None,
    *,
    schema: Schema = SCHEMA,
    max_reject_rate: Decimal = Decimal("0.05"),
    file_end: bool = True,
) -> ValidationResult:
    """The validate step of ``data`` with the engine named ``engine`` (outputs into
    ``valid`` and ``rejected`` when given)."""
    return validate_stream(
        io.BytesIO(data),
        valid if valid is not None else io.BytesIO(),
        rejected if rejected is not None else io.BytesIO(),
        schema=schema,
        max_reject_rate=max_reject_rate,
        engine=ENGINES[engine](),
        file_end=file_end,
    )


def engine_chain(
    data: bytes,
    engine: str,
    *,
    schema: Schema = SCHEMA,
    max_reject_rate: Decimal = Decimal("0.05"),
) -> dict[str, Any]:
    """validate -> transform -> enrich of ``data`` with the engine named ``engine``: the
    outcome, error, row counts, reject lines and enriched records."""
    make = ENGINES[engine]
    valid, rejected = io.BytesIO(), io.BytesIO()
    result = engine_validate(
        data, engine, valid, rejected, schema=schema, max_reject_rate=max_reject_rate
    )
    out: dict[str, Any] = {
        "outcome": result.outcome,
        "error": result.error,
        "rows": (result.rows_input, result.rows_valid, result.rows_rejected),
        "rejects": [json.loads(line) for line in rejected.getvalue().splitlines()],
        "records": [],
    }
    if result.outcome == "VALID":
        processed, enriched = io.BytesIO(), io.BytesIO()
        transform_stream(io.BytesIO(valid.getvalue()), processed, schema=schema, engine=make())
        enrich_stream(
            io.BytesIO(processed.getvalue()),
            enriched,
            metadata=METADATA,
            schema=schema,
            engine=make(),
        )
        out["records"] = [json.loads(line) for line in enriched.getvalue().splitlines()]
    return out
