"""Helpers for the processing-core tests: a default schema, CSV building, one-call runs."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from etl_handlers.core.schema import Schema, load_schema
from etl_handlers.engines.reference.validate import ValidationResult
from etl_handlers.engines.selector import validate_stream

HEADER = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "transaction_type",
    "merchant",
    "category",
    "card_number",
    "country",
)
VISA = "4111111111111111"  # Luhn-valid test PAN

GOOD = {
    "transaction_id": "tx-1",
    "account_id": "ACC1",
    "timestamp": "2024-02-29T10:00:00Z",
    "amount": "12.30",
    "currency": "USD",
    "transaction_type": "DEBIT",
    "merchant": "Coffee Shop",
    "category": "food",
    "card_number": VISA,
    "country": "US",
}

SCHEMA = load_schema(None)


def digits_of(zero: int, text: str) -> str:
    """``text`` with its ASCII digits written in another script (``zero``: its code point)."""
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in text)


ARABIC_INDIC = 0x0660
FULL_WIDTH = 0xFF10


@pytest.fixture
def schema() -> Schema:
    return SCHEMA


def row(**changes: str) -> dict[str, str]:
    """A valid row with some values changed."""
    return {**GOOD, **changes}


def csv_bytes(rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER) -> bytes:
    """CSV text (LF line ends, minimal quoting) for ``rows`` under ``header``."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(name, "") for name in header])
    return out.getvalue().encode("utf-8")


class Run:
    """The outputs of one validate_stream call."""

    def __init__(self, result: ValidationResult, valid: bytes, rejects: bytes) -> None:
        self.result = result
        self.valid = valid
        self.rejects_raw = rejects

    @property
    def rejects(self) -> list[dict[str, Any]]:
        # JSON Lines split on "\n" only (str.splitlines would also split on U+0085 etc.).
        text = self.rejects_raw.decode("utf-8")
        return [json.loads(line) for line in text.split("\n") if line]

    @property
    def codes(self) -> list[str]:
        return [reject["code"] for reject in self.rejects]

    @property
    def valid_rows(self) -> list[list[str]]:
        import csv

        return list(csv.reader(io.StringIO(self.valid.decode("utf-8"), newline="")))


def validate(data: bytes, schema: Schema = SCHEMA, max_reject_rate: Decimal = Decimal("1")) -> Run:
    """Validate ``data``; the reject rate limit is off unless given."""
    valid, rejects = io.BytesIO(), io.BytesIO()
    result = validate_stream(
        io.BytesIO(data), valid, rejects, schema=schema, max_reject_rate=max_reject_rate
    )
    return Run(result, valid.getvalue(), rejects.getvalue())


def one_code(**changes: str) -> str | None:
    """Reject code of a single row with ``changes`` (None when it is valid)."""
    run = validate(csv_bytes([row(**changes)]))
    assert run.result.rows_input == 1
    return run.codes[0] if run.codes else None


def as_validated(values: dict[str, str]) -> dict[str, str]:
    """A row as validated/ holds it: card numbers masked to their last four digits."""
    from etl_handlers.core.masking import mask_pan

    return {k: mask_pan(v) if k == "card_number" and v else v for k, v in values.items()}
