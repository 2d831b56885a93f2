"""Rules that only a non-default schema reaches, through validate, transform and enrich."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from etl_handlers.core import codes
from etl_handlers.core.schema import Schema, load_schema
from etl_handlers.engines.selector import enrich_stream, transform_stream

from .conftest import validate
from .test_transform_enrich import META

DEFAULT_PATH = (
    Path(__file__).resolve().parents[3]
    / "handlers"
    / "etl_handlers"
    / "core"
    / "default_schema.json"
)


def custom() -> Schema:
    doc: dict[str, Any] = json.loads(DEFAULT_PATH.read_text())
    doc["columns"] = [
        {"name": "id", "type": "identifier", "required": True},  # no pattern, no limit
        {"name": "value", "type": "amount", "required": True},
        {"name": "fee", "type": "amount"},  # optional second amount: the row's currency
        {"name": "ccy", "type": "currency", "required": True},
        {"name": "side", "type": "enum", "required": True, "values": ["SOLL", "HABEN"]},
        {"name": "kind", "type": "enum", "values": ["ÜBER", "klein"]},  # non-ASCII values
        {"name": "note", "type": "text"},  # no maxLength
        {"name": "booked", "type": "timestamp"},  # optional timestamp
    ]
    doc["totals"] = {
        "amount": "value",
        "currency": "ccy",
        "direction": "side",
        "debit": "soll",
        "credit": "haben",
    }
    return load_schema(json.dumps(doc))


HEAD = "id,value,fee,ccy,side,kind,note,booked\n"


def test_custom_rules() -> None:
    schema = custom()
    data = (
        HEAD
        + "a b c,1.00,,EUR,soll,,"
        + "x" * 5000
        + ",\n"  # no pattern, no length limit
        + "2,1.00,0.001,EUR,haben,über,,\n"  # the fee's precision follows ccy
        + "3,1.00,,EUR,haben,KLEIN,,2024-01-01T00:00:00+01:00\n"
        + "4,1.00,,EUR,haben,mittel,,\n"
        + "5,2.50,0.10,EUR,HABEN,UBER,,\n"
    ).encode()
    run = validate(data, schema=schema)
    assert [(r["row"], r["code"], r["column"]) for r in run.rejects] == [
        (2, codes.AMOUNT_PRECISION, "fee"),
        (4, codes.INVALID_ENUM, "kind"),
        (5, codes.INVALID_ENUM, "kind"),
    ]
    assert run.result.totals.to_json() == {"EUR": {"count": 2, "debit": "1.00", "credit": "1.00"}}

    processed = io.BytesIO()
    result = transform_stream(io.BytesIO(run.valid), processed, schema=schema)
    assert result.totals == run.result.totals
    records = [json.loads(line) for line in processed.getvalue().decode().split("\n") if line]
    assert records[0]["fee"] is None
    assert records[0]["booked"] is None
    assert records[0]["side"] == "SOLL"
    assert records[1]["kind"] == "KLEIN"
    assert records[1]["booked"] == "2023-12-31T23:00:00Z"

    enriched = io.BytesIO()
    final = enrich_stream(io.BytesIO(processed.getvalue()), enriched, metadata=META, schema=schema)
    assert final.totals == run.result.totals
    dates = [json.loads(line)["transaction_date"] for line in enriched.getvalue().splitlines()]
    assert dates == [None, "2023-12-31"]


def test_to_json_of_a_result() -> None:
    run = validate(HEAD.encode() + b"1,1.00,,EUR,SOLL,,,\n", schema=custom())
    assert run.result.to_json() == {
        "outcome": "VALID",
        "rows": {"input": 1, "valid": 1, "rejected": 0},
        "totals": {"EUR": {"count": 1, "debit": "1.00", "credit": "0.00"}},
        "error": None,
    }
    failed = validate(b"", schema=custom()).result.to_json()
    assert failed["outcome"] == "INVALID"
    assert failed["error"]["code"] == codes.EMPTY_FILE
    assert failed["error"]["message"]
