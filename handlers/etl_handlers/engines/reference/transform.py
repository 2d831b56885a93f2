"""Normalize validated rows into the ``processed/`` records.

Per column type:

* ``timestamp`` -> UTC ``YYYY-MM-DDTHH:MM:SSZ`` (a fraction of seconds, if given, is kept);
* ``amount`` -> exact decimal string with exactly the currency's minor units
  (``"12.3"`` USD -> ``"12.30"``, ``"0100"`` JPY -> ``"100"``, ``"1.5"`` BHD -> ``"1.500"``);
* ``currency``, ``enum``, ``country`` -> upper case;
* ``card_number`` -> masked to the last four digits (``************1111``), never the PAN;
* ``text`` -> scrubbed of card-number-like digit runs (a PAN typed into a merchant name must
  not reach the outputs either); ``identifier`` -> as is;
* an empty value -> null.

Text, identifier and enum cells that validation quoted against spreadsheet formula
injection (:func:`engines.reference.validate.neutralize_formula`) get their one quote back off
first, so the JSON outputs hold the values as sent.

The input is the validator's CSV (canonical header). A value that no longer passes its rule
means the object is corrupt or from another schema: FileRejected ``INVALID_INPUT``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.csvio import open_csv
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.formats import JSONL, open_writer
from etl_handlers.core.masking import mask_pan, scrub
from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import Column, Schema
from etl_handlers.core.totals import StepResult, Totals
from etl_handlers.core.values import (
    amount_to_minor,
    format_minor,
    split_amount,
    timestamp_to_utc,
    to_minor,
)
from etl_handlers.engines.reference.validate import formula_columns, restore_formula

__all__ = ["InvalidValue", "column_normalizer", "required_values_getter", "transform_rows"]

Normalizer = Callable[[list[str]], "str | None"]


class InvalidValue(Exception):
    """A value failed its rule during transform (caught per file, not per row)."""


def transform_rows(
    source: BinaryIO, sink: BinaryIO, *, schema: Schema, output_format: str = JSONL
) -> StepResult:
    """The reference: one row at a time. Read the validated CSV from ``source``, write
    normalized records to ``sink``; returns the number of records written and their control
    totals. Raises FileRejected (``INVALID_INPUT`` or a CSV file code) when the input is not
    what validation wrote."""
    reader = open_csv(source, required=schema.required_names)
    positions = {name: index for index, name in enumerate(reader.header)}
    formulas = set(formula_columns(schema))
    normalizers = [
        column_normalizer(column, positions, schema, column.name in formulas)
        for column in schema.columns
    ]
    names = schema.column_names
    amount_index = names.index(schema.totals.amount)
    currency_index = names.index(schema.totals.currency)
    direction_index = names.index(schema.totals.direction)
    debit = schema.totals.debit
    required = required_values_getter(schema)
    minor_units = CURRENCY_MINOR_UNITS
    width = len(reader.header)
    totals = Totals()
    writer = open_writer(sink, names, output_format)
    written = 0
    try:
        with reader.errors():
            for row in reader.rows:
                if not row:
                    continue
                if len(row) != width:
                    raise InvalidValue("the row does not have as many fields as the header")
                values = [normalize(row) for normalize in normalizers]
                if None in required(values):
                    raise InvalidValue("a required column is empty")
                currency: str = values[currency_index]  # type: ignore[assignment]
                totals.add(
                    currency,
                    values[direction_index] == debit,
                    amount_to_minor(values[amount_index], minor_units[currency]),  # type: ignore[arg-type]
                )
                writer.write(values)
                written += 1
    except InvalidValue as problem:
        raise FileRejected(codes.INVALID_INPUT, f"validated row {written + 1}: {problem}") from None
    finally:
        writer.close()
    return StepResult(rows=written, totals=totals)


def column_normalizer(
    column: Column, positions: dict[str, int], schema: Schema, formula: bool = False
) -> Normalizer:
    position = positions.get(column.name)
    if position is None:
        return _null
    if formula:
        return _restored(column_normalizer(column, positions, schema), position)
    name = column.name
    kind = column.type
    if kind == "timestamp":
        return _timestamp(name, position)
    if kind == "amount":
        return _amount(name, position, positions[schema.totals.currency])
    if kind == "card_number":
        return _masked(position)
    if kind == "text":
        return _scrubbed(position)
    if kind == "identifier":
        return _plain(position)
    if kind == "enum":
        return _coded(name, position, frozenset(column.values))
    if kind == "currency":
        return _coded(name, position, CURRENCY_MINOR_UNITS.keys())
    return _coded(name, position, COUNTRIES)


def _restored(normalize: Normalizer, position: int) -> Normalizer:
    """``normalize`` after taking off the quote validation put before a formula."""

    def restore(row: list[str]) -> str | None:
        value = row[position]
        if value[:1] == "'":
            row = row.copy()
            row[position] = restore_formula(value)
        return normalize(row)

    return restore


def _null(row: list[str]) -> str | None:
    return None


def required_values_getter(schema: Schema) -> Callable[[list[str | None]], tuple[str | None, ...]]:
    """Return a function picking the required columns' values out of a record.

    There are always at least three (the totals columns must be required), so
    ``itemgetter`` returns a tuple.
    """
    return itemgetter(*(i for i, column in enumerate(schema.columns) if column.required))


def _plain(position: int) -> Normalizer:
    def normalize(row: list[str]) -> str | None:
        return row[position] or None

    return normalize


def _coded(name: str, position: int, allowed: object) -> Normalizer:
    members = frozenset(allowed)  # type: ignore[call-overload]

    def normalize(row: list[str]) -> str | None:
        value = row[position].upper()
        if not value:
            return None
        if value not in members:
            raise InvalidValue(f"{name} is not one of the allowed codes")
        return value

    return normalize


def _masked(position: int) -> Normalizer:
    def normalize(row: list[str]) -> str | None:
        return mask_pan(row[position]) or None

    return normalize


def _scrubbed(position: int) -> Normalizer:
    def normalize(row: list[str]) -> str | None:
        return scrub(row[position]) or None

    return normalize


def _timestamp(name: str, position: int) -> Normalizer:
    def normalize(row: list[str]) -> str | None:
        value = row[position]
        if not value:
            return None
        utc = timestamp_to_utc(value)
        if utc is None:
            raise InvalidValue(f"{name} is not a valid timestamp")
        return utc

    return normalize


def _amount(name: str, position: int, currency_position: int) -> Normalizer:
    minor_units = CURRENCY_MINOR_UNITS

    def normalize(row: list[str]) -> str | None:
        value = row[position]
        if not value:
            return None
        parts = split_amount(value)
        minor = minor_units.get(row[currency_position].upper())
        if parts is None or minor is None or len(parts[1]) > minor:
            raise InvalidValue(f"{name} is not a valid amount in its currency")
        return format_minor(to_minor(parts[0], parts[1], minor), minor)

    return normalize
