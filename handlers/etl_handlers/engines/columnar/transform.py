"""Columnar :func:`engines.reference.transform.transform_stream` for JSON Lines output: same
bytes, rows, totals and errors.

Per batch of validated rows: every column is normalized with vectorized kernels where the
result is certain (a valid timestamp, amount, code, an ASCII card number...); a row with any
other value is normalized by the reference normalizers, which also raise the reference's
``INVALID_INPUT`` at the first row that fails. Records are encoded as JSON text with string
kernels (values that need escaping are escaped as ``encode_basestring`` does) in schema key order.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl_handlers.core import codes
from etl_handlers.core.csvio import CsvSource
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.masking import scrub
from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS
from etl_handlers.core.report import EngineReport, Reason
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import StepResult, Totals
from etl_handlers.core.values import amount_to_minor
from etl_handlers.engines.columnar import kernels as k
from etl_handlers.engines.columnar.csvchunks import CsvChunks, FastChunk, parse_chunk
from etl_handlers.engines.columnar.memory import keep_freed_memory
from etl_handlers.engines.columnar.validate import (
    MINOR_TABLE,
    add_totals,
    currency_index,
    supported,
)
from etl_handlers.engines.reference.transform import (
    InvalidValue,
    column_normalizer,
    required_values_getter,
    transform_rows,
)
from etl_handlers.engines.reference.validate import formula_columns

__all__ = ["transform_jsonl"]

_SAFE_CODE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- ")


def transform_jsonl(
    source: BinaryIO, sink: BinaryIO, *, schema: Schema, report: EngineReport
) -> StepResult:
    """Drop-in for the reference's ``transform_rows(..., output_format="jsonl")``; records in
    ``report`` the rows of each path."""
    reason = supported(schema)
    if reason is None:
        keep_freed_memory()
        chunks = CsvChunks(source)
        source = chunks.open(schema.required_names) or source
        reason = chunks.reason
        if reason is None and chunks.header != list(schema.column_names):
            source, reason = chunks.restart(), Reason.COLUMN_ORDER
    if reason is not None:
        result = transform_rows(source, sink, schema=schema, output_format="jsonl")
        report.reference(reason, result.rows)
        return result
    state = _Transformer(schema, sink)
    for piece in chunks:
        if isinstance(piece, FastChunk):
            columns, lines, ragged = parse_chunk(piece, len(schema.columns))
            state.batch(columns, lines, [line for line, _ in ragged])
            report.columnar(len(lines))
        else:
            before = state.written
            state.slow(piece.reader)
            report.reference(piece.reason, state.written - before)
    return StepResult(rows=state.written, totals=state.totals)


class _Transformer:
    def __init__(self, schema: Schema, sink: BinaryIO) -> None:
        self.schema = schema
        self.sink = sink
        names = schema.column_names
        positions = {name: index for index, name in enumerate(names)}
        self.formulas = set(formula_columns(schema))
        self.normalizers = [
            column_normalizer(column, positions, schema, column.name in self.formulas)
            for column in schema.columns
        ]
        self.required = required_values_getter(schema)
        self.required_at = [i for i, column in enumerate(schema.columns) if column.required]
        spec = schema.totals
        self.amount_at = names.index(spec.amount)
        self.currency_at = names.index(spec.currency)
        self.direction_at = names.index(spec.direction)
        self.debit = spec.debit
        self.keys = [
            ("{" if index == 0 else ",") + encode_basestring(name) + ":"
            for index, name in enumerate(names)
        ]
        # Columns whose output may need JSON escaping (the others are certified or checked).
        self.escapable = [
            column.type in ("identifier", "text", "card_number")
            or (column.type == "enum" and not all(set(v) <= _SAFE_CODE for v in column.values))
            for column in schema.columns
        ]
        self.written = 0
        self.totals = Totals()

    def batch(self, columns: list[pa.Array], lines: np.ndarray, ragged: list[int]) -> None:
        """``lines``: the 1-based line in the batch of each row of ``columns``; ``ragged``:
        lines of rows with another width (the first one is an error)."""
        n = len(lines)
        values: list[pa.Array] = []
        certain = np.ones(n, dtype=bool)
        currency = currency_index(columns[self.currency_at])  # as the totals index it
        minor = MINOR_TABLE[currency]
        amounts = None
        for index, column in enumerate(self.schema.columns):
            array = columns[index]
            if column.name in self.formulas:
                quoted = k.first_byte_in(array, "'")
                if quoted.any():
                    array = k.drop_first_byte(array, quoted)
            offsets, _ = k.pieces(array)
            empty = offsets[1:] == offsets[:-1]
            kind = column.type
            if kind == "timestamp":
                stamps = k.Timestamps(array)
                certain &= stamps.ok | empty
                out = stamps.utc()
            elif kind == "amount":
                parsed = k.Amounts(array, minor)
                certain &= parsed.ok | empty
                out = parsed.text()
                if index == self.amount_at:
                    amounts = parsed
            elif kind == "card_number":
                ascii_ = k.bools(pc.string_is_ascii(array))
                certain &= ascii_
                long = ascii_ & ((offsets[1:] - offsets[:-1]) > 4) & ~k.masked(array)
                out = array
                if long.any():
                    rows = np.flatnonzero(long)
                    out = k.replace_rows(array, rows, k.mask_cards(array, rows))
            elif kind == "text":
                candidates = k.scrub_candidates(array)
                out = k.apply_python(array, candidates, scrub)
            elif kind == "identifier":
                out = array
            else:
                members = (
                    column.values
                    if kind == "enum"
                    else CURRENCY_MINOR_UNITS.keys()
                    if kind == "currency"
                    else COUNTRIES
                )
                certain &= k.member_ok(array, members) | empty
                out = k.ascii_upper(array)
            if column.required:
                certain &= ~empty
            if empty.any():
                out = pc.if_else(k.bool_array(empty), pa.nulls(n, pa.string()), out)
            values.append(out)
        first_bad = min(ragged) if ragged else None
        slow = np.flatnonzero(~certain)
        if first_bad is not None:
            slow = slow[lines[slow] < first_bad]
        records: list[list[Any]] = []
        if len(slow):
            rows = k.python_rows(columns, slow)
            for position, row in zip(slow.tolist(), rows, strict=True):
                try:
                    record = [normalize(row) for normalize in self.normalizers]
                    if None in self.required(record):
                        raise InvalidValue("a required column is empty")
                except InvalidValue as problem:
                    self._fail(int(lines[position]), lines, str(problem))
                records.append(record)
        if first_bad is not None:
            self._fail(first_bad, lines, "the row does not have as many fields as the header")
        if len(slow):
            values = [
                k.replace_rows(array, slow, k.str_array([r[i] for r in records]))
                for i, array in enumerate(values)
            ]
        self._totals(values, certain, currency, amounts, records)
        self._write(values)
        self.written += n

    def _fail(self, line: int, lines: np.ndarray, problem: str) -> None:
        """Raise the reference's error for the row at ``line`` of the batch."""
        before = int(np.count_nonzero(lines < line))
        raise FileRejected(
            codes.INVALID_INPUT, f"validated row {self.written + before + 1}: {problem}"
        )

    def _totals(
        self,
        values: list[pa.Array],
        certain: np.ndarray,
        currency: np.ndarray,
        amounts: Any,
        records: list[list[Any]],
    ) -> None:
        """Add the rows to the totals: the certain ones by their currency index (a certain
        code is its upper case, which ``currency`` indexes), the others from their records."""
        rows = np.flatnonzero(certain)
        if len(rows):
            debit = k.bools(pc.equal(values[self.direction_at], self.debit))[rows]
            head, fraction = amounts.head[rows], amounts.fraction[rows]
            add_totals(self.totals, currency[rows], debit, head, fraction)
        for record in records:
            code = record[self.currency_at]
            self.totals.add(
                code,
                record[self.direction_at] == self.debit,
                amount_to_minor(record[self.amount_at], CURRENCY_MINOR_UNITS[code]),
            )

    def _write(self, values: list[pa.Array]) -> None:
        """Write the records as JSON lines, joined in one pass. The quotes around a value go
        into the literals between the values; in a column with nulls, into a piece of each
        row (none around a null, which the join writes as JSON null). A value holding a
        character to escape is replaced by its escaped text beforehand."""
        parts: list[Any] = []
        literal = ""
        for key, array, escapable in zip(self.keys, values, self.escapable, strict=True):
            # Timestamps, amounts and codes are certified or normalized by the reference:
            # never a character to escape. The other columns are looked at.
            if escapable:
                array = k.json_escaped(array)
            literal += key
            if array.null_count:
                quotes = pc.if_else(pc.is_valid(array), '"', "")
                parts += [literal, quotes, array, quotes]
                literal = ""
            else:
                parts += [literal + '"', array]
                literal = '"'
        parts.append(literal + "}\n")
        lines = pc.binary_join_element_wise(
            *parts, "", null_handling="replace", null_replacement="null"
        )
        offsets, _ = k.pieces(lines)
        self.sink.write(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]])

    def slow(self, reader: CsvSource) -> None:
        """Transform the rest of the file with the reference reader, in batches."""
        width = len(self.schema.columns)
        rows: list[list[str]] = []
        ragged: list[int] = []

        def flush() -> None:
            columns = [k.str_array([row[i] for row in rows]) for i in range(width)]
            self.batch(columns, np.arange(1, len(rows) + 1, dtype=np.int64), list(ragged))
            rows.clear()

        try:
            with reader.errors():
                for row in reader.rows:
                    if not row:
                        continue
                    if len(row) != width:
                        ragged.append(len(rows) + 1)
                        flush()  # raises
                    rows.append(row)
                    if len(rows) >= 20_000:
                        flush()
        except FileRejected:
            flush()  # an earlier row's error comes first, as in the reference
            raise
        flush()
