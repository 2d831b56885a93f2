"""The typed schema model the constructs pass to the handlers."""

from __future__ import annotations

import json

import pytest
from etl_handlers.core.schema import load_schema

from etl_constructs import ColumnSpec, SchemaError, TotalsSpec, TransactionSchema
from etl_constructs.runtime import handlers_path


def _columns(*extra: ColumnSpec) -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec(
            name="id",
            type="identifier",
            required=True,
            max_length=10,
            pattern="^[0-9]+$",
            unique=True,
        ),
        ColumnSpec(name="amount", type="amount", required=True),
        ColumnSpec(name="currency", type="currency", required=True),
        ColumnSpec(name="transaction_type", type="enum", required=True, values=("DEBIT", "CREDIT")),
        *extra,
    )


def test_default_is_the_handlers_document_and_round_trips():
    default = TransactionSchema.default()
    document = json.loads(
        (handlers_path() / "etl_handlers" / "core" / "default_schema.json").read_text()
    )
    assert default.to_document() == TransactionSchema.from_document(document).to_document()
    assert [c.name for c in default.columns][:3] == ["transaction_id", "account_id", "timestamp"]
    # what the construct sends is what the handlers accept
    runtime_schema = load_schema(default.to_json())
    assert [c.name for c in runtime_schema.columns] == [c.name for c in default.columns]


def test_a_custom_schema_reaches_the_handlers():
    schema = TransactionSchema(
        name="card-settlements",
        version=2,
        columns=_columns(ColumnSpec(name="note", type="text", max_length=20)),
    )
    runtime_schema = load_schema(schema.to_json())
    assert [c.name for c in runtime_schema.columns] == [
        "id",
        "amount",
        "currency",
        "transaction_type",
        "note",
    ]


def test_every_problem_is_listed_at_once():
    with pytest.raises(SchemaError) as raised:
        TransactionSchema(
            name="",
            version=0,
            columns=(
                ColumnSpec(name="Bad Name", type="blob"),
                ColumnSpec(name="id", type="identifier"),
                ColumnSpec(name="id", type="text", pattern="(", max_length=0),
                ColumnSpec(name="kind", type="enum"),
                ColumnSpec(name="n", type="amount", values=("x",), pattern="x", unique=True),
            ),
            totals=TotalsSpec(amount="missing", currency="kind", direction="n"),
        )
    message = str(raised.value)
    for expected in (
        "name is empty",
        "version must be a positive integer",
        "column 'Bad Name': name must be",
        "type 'blob' is not one of",
        "column 'id': identifier columns need max_length",
        "identifier columns need a pattern",
        "column 'id' is declared twice",
        "pattern does not compile",
        "max_length must be a positive integer",
        "enum columns need values",
        "values apply to enum columns only",
        "pattern applies to identifier and text columns only",
        "a unique column must be required",
        "totals.amount names column 'missing', which is not declared",
        "totals.currency column 'kind' must have type currency",
        "totals.direction column 'n' must have type enum",
    ):
        assert expected in message, expected


def test_totals_values_and_required_roles():
    columns = list(_columns())
    columns[1] = ColumnSpec(name="amount", type="amount")  # not required
    with pytest.raises(SchemaError) as raised:
        TransactionSchema(
            name="x", version=1, columns=tuple(columns), totals=TotalsSpec(debit="OUT")
        )
    assert "totals.amount column 'amount' must be required" in str(raised.value)
    assert "totals.debit value 'OUT' is not one of the values" in str(raised.value)


def test_an_oversized_document_is_refused():
    many = tuple(ColumnSpec(name=f"note_{i:03d}", type="text", max_length=10) for i in range(120))
    with pytest.raises(SchemaError, match="exceeds 3072 bytes"):
        TransactionSchema(name="wide", version=1, columns=_columns(*many))


def test_empty_columns_are_refused():
    with pytest.raises(SchemaError, match="columns is empty"):
        TransactionSchema(name="x", version=1, columns=())


def test_column_lookup():
    schema = TransactionSchema.default()
    assert schema.column("amount").type == "amount"
    assert schema.column("nope") is None
