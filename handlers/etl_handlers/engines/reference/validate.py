"""Validate a transaction CSV stream against the schema: split valid rows from rejects.

Valid rows go to ``valid_sink`` as CSV with the canonical header (the schema's columns in
schema order, original values, absent optional columns empty, unknown columns dropped).
Rejected rows go to ``reject_sink`` as JSON Lines::

    {"row": 7, "code": "INVALID_AMOUNT", "column": "amount", "message": "...",
     "fields": {"transaction_id": "t-7", ..., "card_number": "************1111"}}

``row`` is the 1-based data row number (blank lines are not rows); ``fields`` holds the
schema columns the row has, card columns masked and every other value scrubbed of
card-number-like digit runs. Codes: :mod:`etl_handlers.core.codes`.

Spreadsheet formulas: ``valid_sink`` is a CSV that people open in spreadsheets, so a cell
that could start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's CSV
injection list) is written with a leading single quote, and so is a cell that starts with
a quote already, which makes the rule exactly reversible: :func:`restore_formula` (the
transformer) takes one quote off. The JSON outputs hold the values as sent.

Per row the first failing rule wins: the field count, then NUL characters, then the
columns in schema order. A file rule failure (:class:`~etl_handlers.core.errors.FileRejected`) or a
reject rate above ``max_reject_rate`` makes the outcome INVALID; counts then cover the rows
read so far and the sinks hold partial output that the caller must not commit.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from etl_handlers.contract import DEFAULT_MAX_REJECT_RATE, INVALID, VALID
from etl_handlers.core import codes
from etl_handlers.core.csvio import CsvSource, RepeatedHeader, repeats_header
from etl_handlers.core.masking import mask_pan, scrub
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.report import EngineReport
from etl_handlers.core.rules import Failure, compile_checks
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import Totals
from etl_handlers.core.values import amount_to_minor

__all__ = [
    "DEFAULT_MAX_REJECT_RATE",
    "FORMULA_FIRST",
    "INVALID",
    "VALID",
    "RejectWriter",
    "ValidationResult",
    "formula_columns",
    "neutralize_formula",
    "reject_rate_error",
    "restore_formula",
    "validate_rows",
]

FORMULA_FIRST = frozenset("=+-@\t\r'")
"""First characters that get a quote in front in ``validated/``: what makes a spreadsheet
read a cell as a formula, and the quote itself."""
_SIMPLE_CLASS = re.compile(r"\^\[[^\]\\]+\][+*]\$")


def neutralize_formula(value: str) -> str:
    """``value`` as written to a CSV output: a quote in front when it starts with one of
    :data:`FORMULA_FIRST`."""
    return "'" + value if value[:1] in FORMULA_FIRST else value


def restore_formula(value: str) -> str:
    """The value :func:`neutralize_formula` was given."""
    return value[1:] if value[:1] == "'" else value


def formula_columns(schema: Schema) -> list[str]:
    """The columns whose valid values may start with one of :data:`FORMULA_FIRST`: text,
    identifiers (unless a ``^[...]+$`` pattern excludes them) and enums with such a value.
    Timestamps, amounts, codes and masked card numbers never do."""
    names = []
    for column in schema.columns:
        if column.type == "identifier" and column.pattern:
            pattern = re.compile(column.pattern)
            may = not _SIMPLE_CLASS.fullmatch(column.pattern) or any(
                pattern.fullmatch(char) for char in FORMULA_FIRST
            )
        elif column.type == "enum":
            may = any(value[:1] in FORMULA_FIRST for value in column.values)
        else:
            may = column.type in ("text", "identifier")
        if may:
            names.append(column.name)
    return names


@dataclass
class ValidationResult:
    """What validation found (:func:`etl_handlers.engines.selector.validate_stream`).
    ``error`` is ``(code, message)`` when INVALID; ``report``: what the engine did."""

    outcome: str
    rows_input: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    totals: Totals = field(default_factory=Totals)
    error: tuple[str, str] | None = None
    extra_columns: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    report: EngineReport | None = field(default=None, compare=False)
    input_format: str | None = field(default=None, compare=False)
    """The file's format as detected (``csv``, ``camt.053 (camt.053.001.08)``...), once read."""
    repeated_header_row: int | None = field(default=None, compare=False)
    """The row that repeats the header, when that failed the file (as :attr:`error` says)."""

    def to_json(self) -> dict[str, Any]:
        """The step result fields of the contract (the handler adds ``outputs``)."""
        error = None if self.error is None else {"code": self.error[0], "message": self.error[1]}
        return {
            "outcome": self.outcome,
            "rows": {
                "input": self.rows_input,
                "valid": self.rows_valid,
                "rejected": self.rows_rejected,
            },
            "totals": self.totals.to_json(),
            "error": error,
        }


class RejectWriter:
    """Writes reject lines, masking card columns and scrubbing everything else."""

    def __init__(self, sink: BinaryIO, schema: Schema, positions: dict[str, int]) -> None:
        self._sink = sink
        cards = {column.name for column in schema.columns if column.type == "card_number"}
        self._fields = [
            (name, position, name in cards)
            for name in schema.column_names
            if (position := positions.get(name)) is not None
        ]

    def write(self, number: int, failure: Failure, row: list[str]) -> None:
        code, column, message = failure
        fields: dict[str, str] = {}
        width = len(row)
        for name, position, is_card in self._fields:
            if position < width:
                value = row[position]
                fields[name] = mask_pan(value) if is_card else scrub(value)
        record = {
            "row": number,
            "code": code,
            "column": column,
            "message": scrub(message),
            "fields": fields,
        }
        self._sink.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")


def _sanitizer(kind: str, formula: bool) -> Callable[[str], str]:
    """What a valid value of a column of type ``kind`` goes through on its way to
    ``validated/``: card numbers masked, text scrubbed, formulas neutralized."""
    if kind == "card_number":
        return mask_pan
    if kind == "text":
        return _text_cell
    return neutralize_formula if formula else str


def _text_cell(value: str) -> str:
    value = scrub(value)
    return "'" + value if value[:1] in FORMULA_FIRST else value


def reject_rate_error(
    *, rows_input: int, rows_rejected: int, max_reject_rate: Decimal = DEFAULT_MAX_REJECT_RATE
) -> tuple[str, str] | None:
    """``REJECT_RATE_EXCEEDED`` and its message when more than ``max_reject_rate`` of the
    rows read were rejected, else None (a whole file, or the merged parts of a big one)."""
    if not rows_input or Decimal(rows_rejected) <= max_reject_rate * rows_input:
        return None
    rate = Decimal(rows_rejected) / rows_input
    return (
        codes.REJECT_RATE_EXCEEDED,
        f"{rows_rejected} of {rows_input} rows rejected ({rate:.2%}), "
        f"above the maximum reject rate of {max_reject_rate:%}",
    )


def validate_rows(
    source: BinaryIO,
    valid_sink: BinaryIO,
    reject_sink: BinaryIO,
    schema: Schema,
    result: ValidationResult,
) -> None:
    """The reference: one row at a time. Fills ``result`` (counts so far also when it
    raises FileRejected); the reject rate is the caller's to apply."""
    reader = CsvSource(source)
    header = reader.read_header(schema.required_names)
    known = set(schema.column_names)
    result.header = [scrub(name) for name in header]
    result.extra_columns = [scrub(name) for name in header if name not in known]
    positions = {name: index for index, name in enumerate(header) if name in known}
    checks, uniques = compile_checks(schema, positions)
    rejects = RejectWriter(reject_sink, schema, positions)

    text_sink = io.TextIOWrapper(valid_sink, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text_sink)
    writer.writerow(schema.column_names)
    canonical = list(schema.column_names) == header
    order = [positions.get(name, -1) for name in schema.column_names]
    # validated/ is an output object too: no full card number may reach it.
    formulas = set(formula_columns(schema))
    sanitizers = [
        (positions[column.name], _sanitizer(column.type, column.name in formulas))
        for column in schema.columns
        if column.name in positions
        and (column.type in ("card_number", "text") or column.name in formulas)
    ]

    spec = schema.totals
    amount_at = positions[spec.amount]
    currency_at = positions[spec.currency]
    direction_at = positions[spec.direction]
    debit = spec.debit
    totals = result.totals
    minor_units = CURRENCY_MINOR_UNITS

    width = len(header)
    nul_failure: Failure = (codes.NUL_CHARACTER, None, "the row contains a NUL character")
    count_failure: Failure = (codes.FIELD_COUNT, None, f"the row does not have {width} fields")
    named = list(positions)
    repeated_at = 0  # the first row that repeats the header: the file fails once read
    number = valid = rejected = 0
    rows = reader.rows
    try:
        with reader.errors():
            for row in rows:
                if not row:
                    continue  # a blank line is not a row
                number += 1
                failure: Failure | None = None
                if len(row) != width:
                    failure = count_failure
                elif reader.saw_nul and any("\0" in value for value in row):
                    failure = nul_failure
                else:
                    for check in checks:
                        failure = check(row)
                        if failure is not None:
                            break
                if failure is not None:
                    rejected += 1
                    rejects.write(number, failure, row)
                    if (
                        not repeated_at
                        and failure is not nul_failure
                        and repeats_header(row, named)
                    ):
                        repeated_at = number
                    continue
                valid += 1
                for position, seen in uniques:
                    value = row[position]
                    if value:
                        seen.add(value)
                currency = row[currency_at].upper()
                totals.add(
                    currency,
                    row[direction_at].upper() == debit,
                    amount_to_minor(row[amount_at], minor_units[currency]),
                )
                for position, sanitize in sanitizers:
                    if row[position]:
                        row[position] = sanitize(row[position])
                if canonical:
                    writer.writerow(row)
                else:
                    writer.writerow([row[index] if index >= 0 else "" for index in order])
        if repeated_at:
            raise RepeatedHeader(repeated_at)
    finally:
        result.rows_input = number
        result.rows_valid = valid
        result.rows_rejected = rejected
        text_sink.flush()
        text_sink.detach()
        for _, seen in uniques:
            seen.close()
