"""The typed schema model the constructs pass to the handlers."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.schema import COLUMN_TYPES as HANDLER_COLUMN_TYPES
from etl_handlers.core.schema import load_schema, schema_problems
from hypothesis import given, settings
from hypothesis import strategies as st

from etl_constructs import (
    ColumnSpec,
    EtlWorkflow,
    PropsError,
    SchemaError,
    TotalsSpec,
    TransactionSchema,
)
from etl_constructs.runtime import handlers_path
from etl_constructs.schema import COLUMN_TYPES, handler_schema_rules


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


def _workflow(schema: TransactionSchema, **props: Any) -> EtlWorkflow:
    stack = cdk.Stack(cdk.App(), "S")
    return EtlWorkflow(
        stack,
        "Workflow",
        environment_suffix="dev",
        bucket=s3.Bucket.from_bucket_name(stack, "B", "data"),
        table=dynamodb.Table.from_table_name(stack, "T", "jobs"),
        schema=schema,
        **props,
    )


def _refused(schema: TransactionSchema, *expected: str, **props: Any) -> str:
    """EtlWorkflow refuses ``schema`` at synth naming each of ``expected``; so does the
    handlers' load_schema, with the same problems."""
    with pytest.raises(PropsError) as raised:
        _workflow(schema, **props)
    message = str(raised.value)
    for text in expected:
        assert text in message, text
    with pytest.raises(ConfigurationError) as loaded:
        load_schema(schema.to_json())
    for problem in schema.problems():
        assert problem in message
        assert problem in str(loaded.value)
    return message


# The validators disagreed on each of these: the constructs accepted a pattern on a text
# column, unique on any required column, bool versions, non-exact debit/credit values..., and
# every step invocation raised; the handlers accepted unique on an optional column.
DISAGREEMENTS = {
    "pattern on text": (
        _columns(ColumnSpec(name="note", type="text", max_length=20, pattern="^[a-z]+$")),
        TotalsSpec(),
        "columns[4].pattern: unknown key",
    ),
    "unique on a required non-identifier": (
        _columns(ColumnSpec(name="ref", type="text", required=True, max_length=9, unique=True)),
        TotalsSpec(),
        "columns[4].unique: unknown key",
    ),
    "unique on an optional column": (
        (
            replace(_columns()[0], unique=False),
            *_columns()[1:],
            ColumnSpec(name="ref", type="identifier", max_length=9, pattern="^x$", unique=True),
        ),
        TotalsSpec(),
        "columns[4].unique: a unique column must be required",
    ),
    "two unique columns": (
        _columns(
            ColumnSpec(
                name="ref", type="identifier", required=True, max_length=9, pattern="x", unique=True
            )
        ),
        TotalsSpec(),
        "at most one column may be unique",
    ),
    "max_length on an amount": (
        (
            _columns()[0],
            ColumnSpec(name="amount", type="amount", required=True, max_length=9),
            *_columns()[2:],
        ),
        TotalsSpec(),
        "columns[1].maxLength: unknown key",
    ),
    "enum values equal ignoring case": (
        _columns(ColumnSpec(name="kind", type="enum", values=("a", "A"))),
        TotalsSpec(),
        "columns[4].values: values must differ ignoring case",
    ),
    "a third direction value": (
        (
            *_columns()[:3],
            ColumnSpec(
                name="transaction_type",
                type="enum",
                required=True,
                values=("DEBIT", "CREDIT", "REVERSAL"),
            ),
        ),
        TotalsSpec(),
        "totals.debit and totals.credit must be exactly the values",
    ),
    "debit equals credit": (
        _columns(),
        TotalsSpec(debit="DEBIT", credit="debit"),
        "totals.credit: must differ from totals.debit",
    ),
    "empty pattern": (
        _columns(ColumnSpec(name="ref", type="identifier", max_length=3, pattern="")),
        TotalsSpec(),
        "columns[4].pattern: must be a non-empty",
    ),
    "required not a bool": (
        _columns(ColumnSpec(name="country", type="country", required="yes")),  # type: ignore[arg-type]
        TotalsSpec(),
        "columns[4].required: must be true or false",
    ),
}


@pytest.mark.parametrize("case", sorted(DISAGREEMENTS))
def test_what_the_handlers_refuse_is_refused_at_synth(case: str) -> None:
    columns, totals, expected = DISAGREEMENTS[case]
    _refused(TransactionSchema(name="x", version=1, columns=columns, totals=totals), expected)


def test_bool_version_is_refused() -> None:
    _refused(TransactionSchema(name="x", version=True, columns=_columns()), "field version:")


def test_every_problem_is_listed_at_once_with_the_other_props():
    schema = TransactionSchema(
        name="",
        version=0,
        columns=(
            ColumnSpec(name="Bad Name", type="blob"),
            ColumnSpec(name="id", type="identifier", unique=True),
            ColumnSpec(name="id", type="text", pattern="(", max_length=0),
            ColumnSpec(name="kind", type="enum"),
            ColumnSpec(name="n", type="amount", values=("x",), pattern="x", unique=True),
        ),
        totals=TotalsSpec(amount="missing", currency="kind", direction="n"),
    )
    message = _refused(
        schema,
        "field name:",
        "field version:",
        "columns[0].name:",
        "columns[0].type:",
        "columns[1].unique: a unique column must be required",
        "columns[2].name: duplicate column name 'id'",
        "columns[2].pattern: unknown key",
        "columns[2].maxLength: must be a positive integer",
        "columns[3].values: must be a non-empty list",
        "columns[4].values: unknown key",
        "columns[4].pattern: unknown key",
        "columns[4].unique: unknown key",
        "totals.amount: must name a column of type amount",
        "totals.currency: must name a column of type currency",
        "totals.direction: must name a column of type enum",
        max_reject_rate=2.0,
    )
    assert "max_reject_rate" in message
    assert len(schema.problems()) >= 15
    with pytest.raises(SchemaError, match=r"columns\[1\]\.unique"):
        schema.check()


def test_the_rules_are_the_handlers_own_module_under_a_private_name():
    rules = handler_schema_rules()
    assert rules.__name__ == "etl_constructs._handler_schema_rules"
    assert rules.__file__ == str(handlers_path() / "etl_handlers" / "core" / "schema_rules.py")
    assert rules.schema_problems is not schema_problems  # loaded apart from etl_handlers
    assert COLUMN_TYPES == HANDLER_COLUMN_TYPES


def test_totals_values_and_required_roles():
    columns = list(_columns())
    columns[1] = ColumnSpec(name="amount", type="amount")  # not required
    schema = TransactionSchema(
        name="x", version=1, columns=tuple(columns), totals=TotalsSpec(debit="OUT")
    )
    _refused(
        schema,
        "totals.amount: column 'amount' must be required",
        "totals.debit and totals.credit must be exactly the values of 'transaction_type'",
    )


def test_an_oversized_document_is_refused():
    many = tuple(ColumnSpec(name=f"note_{i:03d}", type="text", max_length=10) for i in range(120))
    schema = TransactionSchema(name="wide", version=1, columns=_columns(*many))
    with pytest.raises(PropsError, match="exceeds 3072 bytes"):
        _workflow(schema)


def test_empty_columns_are_refused():
    with pytest.raises(SchemaError, match="columns: must be a non-empty list"):
        TransactionSchema(name="x", version=1, columns=()).check()


# -- accepted by the constructs <=> loaded by the handlers ----------------------------------

_NAMES = st.sampled_from(["id", "ref", "note", "kind", "amount", "currency", "Bad", "a b", ""])
_COLUMN = st.builds(
    ColumnSpec,
    name=_NAMES,
    type=st.sampled_from([*COLUMN_TYPES, "blob"]),
    required=st.booleans(),
    max_length=st.one_of(st.none(), st.integers(-1, 80)),
    pattern=st.one_of(st.none(), st.sampled_from(["^[0-9]{4}$", "x", "", "("])),
    values=st.one_of(
        st.none(), st.lists(st.sampled_from(["DEBIT", "CREDIT", "debit", "X", ""]), max_size=3)
    ).map(lambda v: tuple(v) if v is not None else None),
    unique=st.booleans(),
)


@st.composite
def _schemas(draw: st.DrawFn) -> TransactionSchema:
    base = list(_columns()) if draw(st.booleans()) else []
    extra = draw(st.lists(_COLUMN, max_size=4))
    columns = base + extra
    if columns and draw(st.booleans()):
        index = draw(st.integers(0, len(columns) - 1))
        columns[index] = draw(_COLUMN)
    totals = draw(
        st.sampled_from([TotalsSpec(), TotalsSpec(debit="OUT"), TotalsSpec(direction="kind")])
    )
    return TransactionSchema(
        name=draw(st.sampled_from(["x", ""])),
        version=draw(st.sampled_from([1, 2, 0])),
        columns=tuple(columns),
        totals=totals,
    )


@settings(max_examples=300, deadline=None)
@given(_schemas())
def test_accepted_at_synth_if_and_only_if_loaded_at_cold_start(schema: TransactionSchema):
    problems = schema.problems()
    try:
        runtime_schema = load_schema(schema.to_json())
    except ConfigurationError as error:
        assert problems, "the handlers refuse a schema the constructs accept"
        assert str(error) == "; ".join(problems)
    else:
        assert problems == [], "the constructs refuse a schema the handlers load"
        assert runtime_schema.column_names == tuple(c.name for c in schema.columns)


def test_column_lookup():
    schema = TransactionSchema.default()
    assert schema.column("amount").type == "amount"
    assert schema.column("nope") is None


def test_columns_given_as_json_documents_are_named_not_a_traceback():
    """A user who pastes the JSON document's columns gets a props problem per column, with
    the way to build a schema from a document, instead of an AttributeError at synth."""
    documents = [column.to_document() for column in _columns()]
    cases = {
        "columns[0]: must be a ColumnSpec, got dict (use TransactionSchema.from_": documents,
        "field columns: must be a sequence of ColumnSpec, got str": "transaction_id",
    }
    for expected, columns in cases.items():
        with pytest.raises(PropsError) as raised:
            _workflow(TransactionSchema(name="x", version=1, columns=columns))  # type: ignore[arg-type]
        assert expected in str(raised.value)


def test_amount_with_a_max_length_is_refused_at_synth():
    columns = tuple(
        ColumnSpec(name=c.name, type=c.type, required=c.required, max_length=12)
        if c.type == "amount"
        else c
        for c in _columns()
    )
    _refused(TransactionSchema(name="x", version=1, columns=columns), "maxLength: unknown key")
