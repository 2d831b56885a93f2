"""load_schema: the default document, and a ConfigurationError naming each bad field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from etl_handlers.core.errors import ConfigurationError, EtlError
from etl_handlers.core.schema import COLUMN_TYPES, load_schema, schema_problems

DEFAULT_PATH = (
    Path(__file__).resolve().parents[3]
    / "handlers"
    / "etl_handlers"
    / "core"
    / "default_schema.json"
)
DEFAULT: dict[str, Any] = json.loads(DEFAULT_PATH.read_text())


def test_default_schema() -> None:
    schema = load_schema(None)
    assert schema.name == "financial-transactions"
    assert schema.version == 1
    assert schema.column_names[:3] == ("transaction_id", "account_id", "timestamp")
    assert schema.required_names == (
        "transaction_id",
        "account_id",
        "timestamp",
        "amount",
        "currency",
        "transaction_type",
    )
    ident = schema.column("transaction_id")
    assert (ident.type, ident.max_length, ident.unique, ident.pattern) == (
        "identifier",
        64,
        True,
        "^[A-Za-z0-9_-]+$",
    )
    assert schema.column("transaction_type").values == ("DEBIT", "CREDIT")
    assert schema.column("merchant").required is False
    assert schema.totals.debit == "DEBIT"
    assert {column.type for column in schema.columns} == set(COLUMN_TYPES)
    with pytest.raises(KeyError):
        schema.column("nope")


def test_same_document_as_text() -> None:
    assert load_schema(json.dumps(DEFAULT)) == load_schema(None)


def test_description_keys_are_allowed() -> None:
    doc = copy.deepcopy(DEFAULT)
    doc["description"] = "card transactions"
    doc["columns"][0]["description"] = "the id"
    assert load_schema(json.dumps(doc)).columns[0].name == "transaction_id"


def test_text_without_max_length_and_identifier_without_pattern() -> None:
    doc = copy.deepcopy(DEFAULT)
    del doc["columns"][6]["maxLength"]
    del doc["columns"][1]["pattern"]
    schema = load_schema(json.dumps(doc))
    assert schema.column("merchant").max_length is None
    assert schema.column("account_id").pattern is None


def broken(change: Any) -> str:
    doc = copy.deepcopy(DEFAULT)
    change(doc)
    with pytest.raises(ConfigurationError) as caught:
        load_schema(json.dumps(doc))
    assert isinstance(caught.value, EtlError)
    return str(caught.value)


def _set(path: list[Any], value: Any) -> Any:
    def change(doc: Any) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Any:
    def change(doc: Any) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set(["name"], ""), "name"),
        (_set(["version"], 0), "version"),
        (_set(["version"], True), "version"),
        (_set(["columns"], []), "columns"),
        (_set(["colums"], []), "colums"),
        (_set(["columns", 2], "timestamp"), "columns[2]"),
        (_set(["columns", 0, "name"], "Transaction_ID"), "columns[0].name"),
        (_set(["columns", 1, "name"], "transaction_id"), "columns[1].name"),
        (_set(["columns", 0, "type"], "string"), "columns[0].type"),
        (_set(["columns", 0, "required"], "yes"), "columns[0].required"),
        (_set(["columns", 0, "maxLength"], 0), "columns[0].maxLength"),
        (_set(["columns", 0, "maxLength"], "64"), "columns[0].maxLength"),
        (_set(["columns", 0, "pattern"], "[a-"), "columns[0].pattern"),
        (_set(["columns", 0, "pattern"], ""), "columns[0].pattern"),
        (_set(["columns", 0, "unique"], 1), "columns[0].unique"),
        (_set(["columns", 0, "values"], ["A"]), "columns[0].values"),
        (_set(["columns", 3, "maxLength"], 5), "columns[3].maxLength"),
        (_set(["columns", 5, "values"], []), "columns[5].values"),
        (_set(["columns", 5, "values"], ["DEBIT", "debit"]), "columns[5].values"),
        (_delete(["columns", 5, "values"]), "columns[5].values"),
        (_delete(["totals"]), "totals"),
        (_set(["totals", "amount"], "merchant"), "totals.amount"),
        (_set(["totals", "currency"], "nope"), "totals.currency"),
        (_set(["totals", "direction"], "currency"), "totals.direction"),
        (_set(["totals", "debit"], ""), "totals.debit"),
        (_set(["totals", "credit"], "DEBIT"), "totals.credit"),
        (_set(["totals", "debit"], "OUT"), "totals.debit"),
        (_set(["totals", "extra"], "x"), "totals.extra"),
        (_set(["columns", 3, "required"], False), "totals.amount"),
    ],
)
def test_bad_field_is_named(change: Any, field: str) -> None:
    assert f"field {field}:" in broken(change)


def test_direction_must_have_exactly_debit_and_credit() -> None:
    message = broken(_set(["columns", 5, "values"], ["DEBIT", "CREDIT", "REVERSAL"]))
    assert "totals.debit" in message


@pytest.mark.parametrize("text", ["not json", "[1, 2]", "null"])
def test_not_a_document(text: str) -> None:
    with pytest.raises(ConfigurationError):
        load_schema(text)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set(["columns", 6, "pattern"], "^[a-z]+$"), "columns[6].pattern"),
        (_set(["columns", 6, "unique"], True), "columns[6].unique"),
        (_set(["columns", 8, "unique"], True), "columns[8].unique"),
        (_set(["columns", 0, "required"], False), "columns[0].unique"),
        (_set(["columns", 1, "unique"], True), "columns"),
        (_set(["columns", 1, "name"], "account id"), "columns[1].name"),
    ],
)
def test_rules_the_constructs_share(change: Any, field: str) -> None:
    """Text has no pattern, only an identifier is unique, a unique column is required and
    there is at most one of it, names are lower-case words (the constructs check the same)."""
    assert f"field {field}:" in broken(change)


def test_every_problem_is_named_at_once() -> None:
    def change(doc: Any) -> None:
        doc["version"] = 0
        doc["columns"][6]["pattern"] = "x"
        doc["columns"][1]["unique"] = True
        doc["totals"]["credit"] = "DEBIT"

    message = broken(change)
    for field in ("version", "columns[6].pattern", "columns", "totals.credit"):
        assert f"field {field}:" in message, field
    assert schema_problems(json.dumps(DEFAULT)) == []
    assert len(schema_problems(json.dumps({**DEFAULT, "version": 0, "name": ""}))) == 2
