"""The runtime schema: which columns a file has, their types and rules, and the totals block.

The document format is fixed in ``docs/pipeline-contract.md`` (typed model on the construct
side: ``etl_constructs.schema``). :func:`load_schema` parses and checks a document and
raises :class:`~etl_handlers.core.errors.ConfigurationError` naming the offending field, so a bad
``ETL_SCHEMA`` fails loudly at cold start rather than rejecting every row.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_handlers.core.errors import ConfigurationError

__all__ = ["COLUMN_TYPES", "Column", "Schema", "TotalsSpec", "load_schema"]

COLUMN_TYPES = (
    "identifier",
    "text",
    "timestamp",
    "amount",
    "currency",
    "enum",
    "card_number",
    "country",
)

_DEFAULT_PATH = Path(__file__).with_name("default_schema.json")

# Keys each column type accepts besides name/type/required/description.
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "identifier": frozenset({"maxLength", "pattern", "unique"}),
    "text": frozenset({"maxLength"}),
    "enum": frozenset({"values"}),
}
_COMMON_KEYS = frozenset({"name", "type", "required", "description"})
_DOCUMENT_KEYS = frozenset({"name", "version", "columns", "totals", "description"})
_TOTALS_KEYS = ("amount", "currency", "direction", "debit", "credit")


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

    Raises ConfigurationError naming the bad field (``columns[3].maxLength``, ...).
    """
    if document is None:
        document = _DEFAULT_PATH.read_text(encoding="utf-8")
    try:
        data = json.loads(document)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"schema: not a JSON document ({error})") from None
    return _parse_document(data)


def _fail(field: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"schema field {field}: {problem}")


def _check_keys(data: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(f"{where}{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _parse_document(data: Any) -> Schema:
    if not isinstance(data, dict):
        raise _fail("(document)", "must be a JSON object")
    _check_keys(data, _DOCUMENT_KEYS, "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail("name", "must be a non-empty string")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail("version", "must be a positive integer")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise _fail("columns", "must be a non-empty list")
    columns = tuple(_parse_column(raw, index) for index, raw in enumerate(raw_columns))
    seen: set[str] = set()
    for index, column in enumerate(columns):
        if column.name in seen:
            raise _fail(f"columns[{index}].name", f"duplicate column name {column.name!r}")
        seen.add(column.name)
    totals = _parse_totals(data.get("totals"), {column.name: column for column in columns})
    return Schema(name=name, version=version, columns=columns, totals=totals)


def _parse_column(raw: Any, index: int) -> Column:
    where = f"columns[{index}]."
    if not isinstance(raw, dict):
        raise _fail(f"columns[{index}]", "must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name or name != name.strip().lower():
        raise _fail(f"{where}name", "must be a non-empty lower-case string without spaces around")
    kind = raw.get("type")
    if kind not in COLUMN_TYPES:
        raise _fail(f"{where}type", f"must be one of {', '.join(COLUMN_TYPES)}")
    _check_keys(raw, _COMMON_KEYS | _TYPE_KEYS.get(kind, frozenset()), where)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _fail(f"{where}required", "must be true or false")
    max_length = raw.get("maxLength")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise _fail(f"{where}maxLength", "must be a positive integer")
    pattern = raw.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise _fail(f"{where}pattern", "must be a non-empty regular expression string")
        try:
            re.compile(pattern)
        except re.error as error:
            raise _fail(f"{where}pattern", f"not a valid regular expression ({error})") from None
    unique = raw.get("unique", False)
    if not isinstance(unique, bool):
        raise _fail(f"{where}unique", "must be true or false")
    values: tuple[str, ...] = ()
    if kind == "enum":
        raw_values = raw.get("values")
        if (
            not isinstance(raw_values, list)
            or not raw_values
            or not all(isinstance(value, str) and value for value in raw_values)
        ):
            raise _fail(f"{where}values", "must be a non-empty list of non-empty strings")
        values = tuple(value.upper() for value in raw_values)
        if len(set(values)) != len(values):
            raise _fail(f"{where}values", "values must differ ignoring case")
    return Column(
        name=name,
        type=kind,
        required=required,
        max_length=max_length,
        pattern=pattern,
        unique=unique,
        values=values,
    )


def _parse_totals(raw: Any, columns: dict[str, Column]) -> TotalsSpec:
    if not isinstance(raw, dict):
        raise _fail("totals", "must be an object naming the amount/currency/direction columns")
    _check_keys(raw, frozenset(_TOTALS_KEYS), "totals.")
    for key in _TOTALS_KEYS:
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _fail(f"totals.{key}", "must be a non-empty string")
    spec = TotalsSpec(**{key: raw[key] for key in _TOTALS_KEYS})
    for key, kind in (("amount", "amount"), ("currency", "currency"), ("direction", "enum")):
        column = columns.get(getattr(spec, key))
        if column is None or column.type != kind:
            raise _fail(f"totals.{key}", f"must name a column of type {kind}")
        if not column.required:
            raise _fail(f"totals.{key}", f"column {column.name!r} must be required")
    direction = columns[spec.direction]
    if spec.debit.upper() == spec.credit.upper():
        raise _fail("totals.credit", "must differ from totals.debit")
    if {spec.debit.upper(), spec.credit.upper()} != set(direction.values):
        raise _fail(
            "totals.debit",
            f"totals.debit and totals.credit must be exactly the values of {direction.name!r}",
        )
    return TotalsSpec(
        amount=spec.amount,
        currency=spec.currency,
        direction=spec.direction,
        debit=spec.debit.upper(),
        credit=spec.credit.upper(),
    )
