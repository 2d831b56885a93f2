"""The runtime schema: which columns a file has, their types and rules, and the totals block.

The document format is fixed in ``docs/pipeline-contract.md`` (typed model on the construct
side: ``etl_constructs.schema``). :func:`load_schema` parses and checks a document and
raises :class:`~etl_handlers.core.errors.ConfigurationError` naming every offending field, so a
bad ``ETL_SCHEMA`` fails loudly at cold start rather than rejecting every row. The rules are
:func:`~etl_handlers.core.schema_rules.schema_problems`, which the constructs apply at synth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.schema_rules import COLUMN_TYPES, schema_problems

__all__ = [
    "COLUMN_TYPES",
    "Column",
    "Schema",
    "TotalsSpec",
    "load_schema",
    "schema_problems",
]

_DEFAULT_PATH = Path(__file__).with_name("default_schema.json")


@dataclass(frozen=True)
class Column:
    """One schema column. ``name`` is lower case; header names are matched after
    trimming and lower-casing. Unused attributes keep their defaults."""

    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    pattern: str | None = None
    unique: bool = False
    values: tuple[str, ...] = ()
    #: the upper-cased ``values`` the schema spells with other than ASCII letters
    #: (``Großhandel``): only those match a value that is not ASCII (see ``core.rules``)
    unicode_values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TotalsSpec:
    """Which columns control totals are computed from, and the direction values."""

    amount: str
    currency: str
    direction: str
    debit: str
    credit: str


@dataclass(frozen=True)
class Schema:
    """A checked schema document.

    Every ``amount`` column takes its precision from the currency in ``totals.currency``.
    """

    name: str
    version: int
    columns: tuple[Column, ...]
    totals: TotalsSpec

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in schema order (the canonical output order)."""
        return tuple(column.name for column in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        """Names of the required columns, in schema order."""
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        """Return the column called ``name`` (KeyError when absent)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def load_schema(document: str | None = None) -> Schema:
    """Parse and check a schema document (compact JSON); ``None`` means the default schema.

    Raises ConfigurationError naming every bad field (``columns[3].maxLength``, ...): the
    problems :func:`schema_problems` lists, the same list the constructs report at synth.
    """
    if document is None:
        document = _DEFAULT_PATH.read_text(encoding="utf-8")
    try:
        data = json.loads(document)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"schema: not a JSON document ({error})") from None
    problems = schema_problems(data)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return _build(data)


def _build(data: dict[str, Any]) -> Schema:
    """The Schema of a document :func:`schema_problems` found nothing wrong with."""
    columns = tuple(
        Column(
            name=raw["name"],
            type=raw["type"],
            required=raw.get("required", False),
            max_length=raw.get("maxLength"),
            pattern=raw.get("pattern"),
            unique=raw.get("unique", False),
            values=tuple(value.upper() for value in raw.get("values", ())),
            unicode_values=frozenset(
                value.upper() for value in raw.get("values", ()) if not value.isascii()
            ),
        )
        for raw in data["columns"]
    )
    totals = data["totals"]
    return Schema(
        name=data["name"],
        version=data["version"],
        columns=columns,
        totals=TotalsSpec(
            amount=totals["amount"],
            currency=totals["currency"],
            direction=totals["direction"],
            debit=totals["debit"].upper(),
            credit=totals["credit"].upper(),
        ),
    )
