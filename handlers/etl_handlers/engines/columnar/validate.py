"""Columnar :func:`engines.reference.validate.validate_stream`: same outputs, counts, totals
and errors.

Rows come in batches (a pyarrow-parsed chunk, or rows of the reference reader). Per batch:
vectorized checks certify values valid; a row with a value not certified runs the reference
rule functions of those values, in rule order (a certified value passes its rule); duplicate
ids are decided for the whole batch at once (an id is a duplicate when the set holds it or
an earlier row of the batch that passes every other rule has it, which is exactly when the
reference, row by row, would find it in its set); valid rows are copied or built as CSV
with vectorized string kernels; reject lines are built as the reference's writer writes them
(their fields as JSON text, column by column), and a row of another width is written by that
writer itself, in row order.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from etl_handlers.core import codes
from etl_handlers.core.csvio import CsvSource, RepeatedHeader, repeats_header
from etl_handlers.core.idset import IdSet, fingerprints, words_at
from etl_handlers.core.masking import mask_pan, scrub
from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS
from etl_handlers.core.report import EngineReport, Reason
from etl_handlers.core.rules import SIMPLE_CHAR_CLASS, compile_checks, expand_class, full_matcher
from etl_handlers.core.schema import Schema
from etl_handlers.core.values import amount_to_minor
from etl_handlers.engines.columnar import kernels as k
from etl_handlers.engines.columnar.csvchunks import CsvChunks, FastChunk, parse_chunk, ragged_fields
from etl_handlers.engines.columnar.memory import keep_freed_memory
from etl_handlers.engines.reference.validate import (
    FORMULA_FIRST,
    RejectWriter,
    ValidationResult,
    formula_columns,
    validate_rows,
)

__all__ = ["SLOW_BATCH_ROWS", "add_totals", "currency_index", "supported", "validate"]

SLOW_BATCH_ROWS = 20_000
"""Rows of the reference reader gathered into one batch."""
_NUL = k.byte_table([0])
_FEW_RUNS = 64
"""Most runs of copied or built lines a chunk's valid rows are joined from in Python."""
_QUOTE = k.byte_table([ord('"')])
CURRENCIES = sorted(CURRENCY_MINOR_UNITS)
"""The supported currency codes, sorted: :func:`currency_index` numbers them in this order."""
CURRENCY_ARRAY = lru_cache(maxsize=1)(lambda: k.str_array(CURRENCIES))
_JSON = json.JSONEncoder(ensure_ascii=False)  # json.dumps(..., ensure_ascii=False)
MINOR_TABLE = np.array([CURRENCY_MINOR_UNITS[code] for code in CURRENCIES] + [-1], np.int64)


# The kernels assume ASCII formula characters and currency codes, minor units up to 4.
assert all(char.isascii() for char in FORMULA_FIRST)
assert all(code.isascii() for code in CURRENCY_MINOR_UNITS)
assert max(CURRENCY_MINOR_UNITS.values()) <= 4


def supported(schema: Schema) -> Reason | None:
    """None when the fast path handles ``schema`` (at most one unique column), else why not."""
    if sum(column.unique for column in schema.columns) > 1:
        return Reason.TWO_UNIQUE_COLUMNS
    return None


def validate(
    source: BinaryIO,
    valid_sink: BinaryIO,
    reject_sink: BinaryIO,
    schema: Schema,
    result: ValidationResult,
    report: EngineReport,
) -> None:
    """Drop-in for the reference ``validate_rows`` (raises FileRejected); records in
    ``report`` the rows of each path."""
    unsupported = supported(schema)
    if unsupported is not None:
        _reference(source, valid_sink, reject_sink, schema, result, report, unsupported)
        return
    keep_freed_memory()
    chunks = CsvChunks(source)
    whole = chunks.open(schema.required_names)
    if whole is not None:
        assert chunks.reason is not None
        _reference(whole, valid_sink, reject_sink, schema, result, report, chunks.reason)
        return
    header = chunks.header
    known = set(schema.column_names)
    result.header = [scrub(name) for name in header]
    result.extra_columns = [scrub(name) for name in header if name not in known]
    positions = {name: index for index, name in enumerate(header) if name in known}
    state = _Validator(schema, header, positions, valid_sink, reject_sink, result)
    try:
        for piece in chunks:
            if isinstance(piece, FastChunk):
                columns, lines, ragged = parse_chunk(piece, len(header))
                base = state.number
                specials = [
                    (base + line, state.count_failure, ragged_fields(text)) for line, text in ragged
                ]
                state.chunk, state.chunk_base = piece, base
                state.batch(columns, lines + base, specials, _nul_lines(piece, lines))
                state.chunk = None
                state.number = base + piece.lines
                report.columnar(piece.lines)
            else:
                before = state.number
                try:
                    state.slow(piece.reader)
                finally:
                    report.reference(piece.reason, state.number - before)
        if state.repeated_at:
            raise RepeatedHeader(state.repeated_at)
    finally:
        state.close()


def _reference(
    source: BinaryIO,
    valid_sink: BinaryIO,
    reject_sink: BinaryIO,
    schema: Schema,
    result: ValidationResult,
    report: EngineReport,
    reason: Reason,
) -> None:
    """The whole file with the reference's ``validate_rows``."""
    try:
        validate_rows(source, valid_sink, reject_sink, schema, result)
    finally:
        report.reference(reason, result.rows_input)


class _Validator:
    def __init__(
        self,
        schema: Schema,
        header: list[str],
        positions: dict[str, int],
        valid_sink: BinaryIO,
        reject_sink: BinaryIO,
        result: ValidationResult,
    ) -> None:
        self.schema = schema
        self.width = len(header)
        self.positions = positions
        self.result = result
        self.valid_sink = valid_sink
        self.rejects = RejectWriter(reject_sink, schema, positions)
        self.reject_sink = reject_sink
        self.heads: dict[Any, str] = {}  # failure -> JSON text (_head)
        self.present = [column for column in schema.columns if column.name in positions]
        plain = replace(
            schema, columns=tuple(replace(column, unique=False) for column in schema.columns)
        )
        self.checks, _ = compile_checks(plain, positions)
        self.unique = next(
            (index for index, column in enumerate(self.present) if column.unique), None
        )
        self.ids = IdSet(portable=True) if self.unique is not None else None
        self.in_batch_repeats = _Repeats()
        self.duplicate = None
        if self.unique is not None:
            name = self.present[self.unique].name
            self.duplicate = (
                codes.DUPLICATE_ID,
                name,
                f"{name} was already used by an earlier row",
            )
        self.nul_failure = (codes.NUL_CHARACTER, None, "the row contains a NUL character")
        self.count_failure = (
            codes.FIELD_COUNT,
            None,
            f"the row does not have {self.width} fields",
        )
        self.formulas = set(formula_columns(schema))
        # Valid values of the other columns never hold a comma, quote or line end.
        self.quotable = {
            column.name
            for column in schema.columns
            if column.type == "text"
            or (column.type == "identifier" and not _simple(column.pattern))
            or (column.type == "enum" and any(re.search(r'[,"\r\n]', v) for v in column.values))
        }
        self.patterns = {
            column.name: _pattern(column.pattern)
            for column in self.present
            if column.type == "identifier" and column.pattern
        }
        spec = schema.totals
        self.amount_at = positions[spec.amount]
        self.currency_at = positions[spec.currency]
        self.direction_at = positions[spec.direction]
        self.debit = spec.debit
        self.number = self.valid = self.rejected = 0
        self.named = list(positions)
        self.repeated_at = 0  # the first row that repeats the header (the reference's rule)
        out = io.StringIO()
        csv.writer(out).writerow(schema.column_names)
        valid_sink.write(out.getvalue().encode("utf-8"))
        self.chunk: FastChunk | None = None  # the chunk the current batch comes from
        self.chunk_base = 0  # rows before it
        self.canonical = list(schema.column_names) == header
        self.card_at = [
            positions[column.name]
            for column in schema.columns
            if column.type == "card_number" and column.name in positions
        ]
        self.checked_at = [  # values that may change on their way to validated/
            (positions[column.name], column.type == "text")
            for column in schema.columns
            if column.name in positions and (column.type == "text" or column.name in self.formulas)
        ]

    # -- per batch -------------------------------------------------------------------------

    def batch(
        self,
        columns: list[pa.Array],
        numbers: np.ndarray,
        specials: list[tuple[int, Any, list[str]]],
        nul_possible: Any,
    ) -> None:
        """``nul_possible``: False, True (look), or a mask of the rows with a NUL."""
        n = len(numbers)
        if not n and not specials:
            return
        nul = np.zeros(n, dtype=bool)
        if isinstance(nul_possible, np.ndarray):
            nul = nul_possible
        elif nul_possible and n:
            for column in columns:
                nul |= k.any_byte(column, _NUL)
        certain = ~nul
        self.currency = currency_index(columns[self.currency_at])
        minor = MINOR_TABLE[self.currency]
        amounts = None
        oks = []
        for column in self.present:
            array = columns[self.positions[column.name]]
            ok, extra = self._certain(column, array, minor)
            if column.name == self.schema.totals.amount:
                amounts = extra
            certain &= ok
            oks.append(ok)
        uncertain = np.flatnonzero(~certain & ~nul)
        slow_rows: dict[int, list[str]] = {}
        failures: dict[int, tuple[int, Any]] = {}
        if len(uncertain):
            # per row, the checks of the values not certified (the others pass): in rule
            # order, the first of them that fails is the row's failure
            unsure = (~np.stack([ok[uncertain] for ok in oks], axis=1)).tolist()
            checks = list(enumerate(self.checks))
            rows = k.python_rows(columns, uncertain)
            for index, row, flags in zip(uncertain.tolist(), rows, unsure, strict=True):
                slow_rows[index] = row
                for position, check in itertools.compress(checks, flags):
                    failure = check(row)
                    if failure is not None:
                        failures[index] = (position, failure)
                        break
        passes = ~nul
        if failures:
            passes[list(failures)] = False
        duplicate = np.zeros(n, dtype=bool)
        if self.unique is not None and n:
            duplicate = self._duplicates(columns, certain, uncertain, failures, passes)
        valid = passes & ~duplicate
        # rejects, in row order (merged with the rows of a wrong width)
        bad = np.flatnonzero(~valid)
        entries: list[tuple[int, Any, list[str], Any]] = [
            (number, failure, row, None) for number, failure, row in specials
        ]
        clean = self._fields(columns, bad)
        for index, number, has_nul, repeated, fields in zip(
            bad.tolist(),
            numbers[bad].tolist(),
            nul[bad].tolist(),
            duplicate[bad].tolist(),
            clean,
            strict=True,
        ):
            if has_nul:
                failure = self.nul_failure
            elif repeated:  # only rows whose rules passed up to the unique column
                failure = self.duplicate
            else:
                failure = failures[index][1]
            entries.append((number, failure, [], fields))
        entries.sort(key=lambda entry: entry[0])
        if not self.repeated_at:
            named = self.named
            repeats = [number for number, _, row in specials if repeats_header(row, named)]
            repeats += [
                int(numbers[index]) for index in failures if repeats_header(slow_rows[index], named)
            ]
            self.repeated_at = min(repeats, default=0)
        lines: list[str] = []
        for number, failure, row, fields in entries:
            if fields is None:  # a row of another width: the reference's own writer
                self._write_rejects(lines)
                self.rejects.write(number, failure, row)
            else:
                lines.append(f'{{"row": {number}, {self._head(failure)}{fields}}}\n')
        self._write_rejects(lines)
        self.rejected += len(entries)
        rows = np.flatnonzero(valid)
        self.valid += len(rows)
        if not len(rows):
            return
        fast = certain[rows]
        self._totals(columns, rows[fast], minor, amounts)
        for index in rows[~fast].tolist():
            row = slow_rows[index]
            currency = row[self.currency_at].upper()
            self.result.totals.add(
                currency,
                row[self.direction_at].upper() == self.debit,
                amount_to_minor(row[self.amount_at], CURRENCY_MINOR_UNITS[currency]),
            )
        self._write(columns, rows, numbers)

    def _fields(self, columns: list[pa.Array], rows: np.ndarray) -> list[str]:
        """The JSON text of the ``fields`` object of the reject lines of ``rows`` (full
        width), as the reference writes it: card columns masked, every other value scrubbed
        (scrub() runs only on the values that may hold a digit run it masks). The values
        of all columns go through the kernels as one array: a batch has few rejects."""
        n = len(rows)
        if not n:
            return []
        taken = k.int_array(rows)
        arrays = []
        for _, position, is_card in self.rejects._fields:
            array = columns[position].take(taken)
            if is_card:
                array = k.str_array([mask_pan(value) for value in k.python_strings(array)])
            arrays.append(array)
        values = pa.concat_arrays(arrays)
        plain = np.repeat([not is_card for _, _, is_card in self.rejects._fields], n)
        text = k.json_values(k.apply_python(values, k.scrub_candidates(values) & plain, scrub))
        parts: list[Any] = []
        for slot, (name, _, _) in enumerate(self.rejects._fields):
            parts += [f"{', ' if parts else '{'}{_JSON.encode(name)}: ", text.slice(slot * n, n)]
        return k.python_strings(pc.binary_join_element_wise(*parts, "}", ""))

    def _head(self, failure: Any) -> str:
        """The JSON text of a reject line from ``"code"`` to ``"fields": ``, per failure."""
        text = self.heads.get(failure)
        if text is None:
            code, column, message = failure
            text = self.heads[failure] = (
                f'"code": {_JSON.encode(code)}, "column": {_JSON.encode(column)}, '
                f'"message": {_JSON.encode(scrub(message))}, "fields": '
            )
        return text

    def _write_rejects(self, lines: list[str]) -> None:
        """Write and forget ``lines`` (reject lines, as the reference writes them)."""
        if lines:
            self.reject_sink.write("".join(lines).encode("utf-8"))
            lines.clear()

    def _certain(self, column: Any, array: pa.Array, minor: np.ndarray) -> tuple[np.ndarray, Any]:
        offsets, _ = k.pieces(array)
        lengths = offsets[1:] - offsets[:-1]
        empty = lengths == 0
        kind = column.type
        extra = None
        if kind == "identifier":
            ok = ~empty
            if column.max_length is not None:
                ok &= k.chars_within(array, lengths, column.max_length)
            if column.pattern:
                ok &= self.patterns[column.name](array)
        elif kind == "text":
            ok = ~empty
            if column.max_length is not None:
                ok &= k.chars_within(array, lengths, column.max_length)
        elif kind == "timestamp":
            ok = k.Timestamps(array).ok
        elif kind == "amount":
            extra = k.Amounts(array, minor)
            ok = extra.ok.copy()
        elif kind == "currency" and column.name == self.schema.totals.currency:
            ok = self.currency < len(CURRENCIES)  # (ASCII codes) as member_ok decides
        elif kind == "currency":
            ok = k.member_ok(array, CURRENCY_MINOR_UNITS.keys())
        elif kind == "enum":
            ok = k.member_ok(array, column.values)
        elif kind == "card_number":
            ok = k.luhn_ok(array)
        else:
            ok = k.member_ok(array, COUNTRIES)
        if not column.required:
            ok = ok | empty
        return ok & ~(empty & column.required), extra

    def _duplicates(
        self,
        columns: list[pa.Array],
        certain: np.ndarray,
        uncertain: np.ndarray,
        failures: dict[int, tuple[int, Any]],
        passes: np.ndarray,
    ) -> np.ndarray:
        unique = self.unique
        assert unique is not None and self.ids is not None
        values = columns[self.positions[self.present[unique].name]]
        offsets, data = k.pieces(values)
        nonempty = offsets[1:] > offsets[:-1]
        reached = certain.copy()  # the unique column's own rule (and all before it) passed
        reached[uncertain] = [
            failure is None or failure[0] > unique
            for failure in map(failures.get, uncertain.tolist())
        ]
        reached &= nonempty
        duplicate = np.zeros(len(values), dtype=bool)
        rows = np.flatnonzero(reached)
        if not len(rows):
            return duplicate
        hashes = fingerprints(data, offsets)[rows]

        def value(index: int) -> bytes:
            row = rows[index]
            return bytes(data[offsets[row] : offsets[row + 1]])

        seen, slots = self.ids.probe_many(hashes, value)
        candidates = passes[rows]
        duplicate[rows] = seen | self.in_batch_repeats(values, rows, hashes, candidates)
        accepted = candidates & ~duplicate[rows]
        if accepted.any():
            keep = values.take(k.int_array(rows[accepted]))
            keep_offsets, keep_data = k.pieces(keep)
            self.ids.add_many(hashes[accepted], keep_data, keep_offsets, slots[accepted])
        return duplicate

    def _totals(
        self, columns: list[pa.Array], rows: np.ndarray, minor: np.ndarray, amounts: Any
    ) -> None:
        if not len(rows):
            return
        currency = self.currency[rows]
        direction = k.ascii_upper(columns[self.direction_at])
        debit = k.bools(pc.equal(direction, self.debit))[rows]
        add_totals(self.result.totals, currency, debit, amounts.head[rows], amounts.fraction[rows])

    def _write(self, columns: list[pa.Array], rows: np.ndarray, numbers: np.ndarray) -> None:
        """Write the valid ``rows``: copied from the input line when the line already reads
        as ``csv.writer`` writes the row (no quotes, CRLF, canonical header, nothing to
        scrub or neutralize; card numbers masked in place), built from the columns
        otherwise."""
        chunk = self.chunk
        if chunk is None or not self.canonical:
            self.valid_sink.write(self._build(columns, rows))
            return
        view = np.frombuffer(chunk.data, dtype=np.uint8)
        line = numbers[rows] - self.chunk_base - 1  # line index in the chunk
        ends = chunk.ends[line]
        crlf = view[ends - 1] == 13
        if not crlf.any():  # csv.writer ends lines with CRLF: no line can be copied
            self.valid_sink.write(self._build(columns, rows))
            return
        starts = np.where(line > 0, chunk.ends[np.maximum(line - 1, 0)] + 1, 0)
        sizes = [np.diff(k.pieces(column)[0]) for column in columns]
        # The line csv.writer would write has this many bytes (CRLF included); the input
        # line is the same text exactly when it has as many (a field quoted without need
        # would make it longer; one that needs quotes cannot be unquoted in a safe chunk).
        raw_sizes = [size[rows] for size in sizes]  # each field's bytes in the line
        # Only a line with a quote can have a field that needs quotes (a field unquoted in
        # a safe line has no comma, quote or line end).
        quoted = np.flatnonzero(chunk.quoted[line]) if chunk.quoted is not None else None
        if quoted is None or len(quoted):
            taken = k.int_array(rows if quoted is None else rows[quoted])
            for column in self.schema.columns:
                if column.name in self.quotable:
                    position = self.positions[column.name]
                    array = columns[position].take(taken)
                    need = k.any_byte(array, k.CSV_QUOTE_BYTES)
                    extra = need * (2 + k.byte_counts(array, _QUOTE))
                    if quoted is None:
                        raw_sizes[position] += extra
                    else:
                        raw_sizes[position][quoted] += extra
        expected = sum(raw_sizes) + len(columns) + 1
        copy = crlf & (ends - starts + 1 == expected)
        for position, is_text in self.checked_at:
            array = columns[position]
            copy &= ~k.first_byte_in(array, FORMULA_FIRST)[rows]
            if is_text:
                copy &= ~k.scrub_candidates(array)[rows]
        out = view
        if self.card_at and copy.any():
            out = view.copy()
            for card in self.card_at:
                chosen = rows[copy]
                before = sum(raw_sizes[c][copy] + 1 for c in range(card)) if card else 0
                width = sizes[card][chosen]
                _stars(out, starts[copy] + before, np.maximum(width - 4, 0))
        # runs of rows copied from consecutive lines, or built one after another
        breaks = (
            np.flatnonzero((copy[1:] != copy[:-1]) | (copy[1:] & (line[1:] != line[:-1] + 1))) + 1
        )
        begins = np.concatenate(([0], breaks))
        finals = np.concatenate((breaks, [len(rows)])) - 1  # each run's last row
        copied = copy[begins]
        low = starts[begins]  # each run's bytes: in the chunk, or in the built lines
        high = ends[finals] + 1
        built = b""
        if not copy.all():
            built = self._build(columns, rows[~copy])
            index = np.cumsum(~copy) - 1  # a built row's line among the built ones
            low = np.where(copied, low, self._built_offsets[index[begins]])
            high = np.where(copied, high, self._built_offsets[index[finals] + 1])
        if len(begins) <= _FEW_RUNS:
            chunk_view = memoryview(out)
            built_view = memoryview(built)
            pieces = [
                (chunk_view if from_chunk else built_view)[begin:end]
                for from_chunk, begin, end in zip(
                    copied.tolist(), low.tolist(), high.tolist(), strict=True
                )
            ]
            self.valid_sink.write(b"".join(pieces))
            return
        # many runs (rows built between copied ones): one gather in C, not a slice per run
        source = np.concatenate((out, np.frombuffer(built, dtype=np.uint8))) if built else out
        shift = np.where(copied, 0, len(out))
        self.valid_sink.write(k.concat_ranges(source, low + shift, high + shift))

    def _build(self, columns: list[pa.Array], rows: np.ndarray) -> bytes:
        """CSV lines of ``rows`` built from the columns; line offsets in ``_built_offsets``."""
        taken = k.int_array(rows)
        cells: list[Any] = []
        for column in self.schema.columns:
            position = self.positions.get(column.name)
            if position is None:
                cells.append("")
                continue
            array = columns[position].take(taken)
            if column.type == "card_number":
                array = _mask(array)
            elif column.type == "text":
                array = _scrubbed(array)
                array = _neutralized(array)
            elif column.name in self.formulas:
                array = _neutralized(array)
            if column.name in self.quotable:
                array = k.csv_quoted(array)
            cells.append(array)
        last = cells[-1]
        cells[-1] = pc.binary_join_element_wise(last, "\r\n", "")
        lines = pc.binary_join_element_wise(*cells, ",")
        offsets, data = k.pieces(lines)
        self._built_offsets = offsets - offsets[0]
        return data[offsets[0] : offsets[-1]].tobytes()

    # -- the reference reader --------------------------------------------------------------

    def slow(self, reader: CsvSource) -> None:
        """Validate the rest of the file with the reference reader, in batches."""
        width = self.width
        numbers: list[int] = []
        rows: list[list[str]] = []
        specials: list[tuple[int, Any, list[str]]] = []

        def flush() -> None:
            columns = [k.str_array([row[index] for row in rows]) for index in range(width)]
            self.batch(columns, np.array(numbers, dtype=np.int64), list(specials), reader.saw_nul)
            numbers.clear()
            rows.clear()
            specials.clear()

        try:
            with reader.errors():
                for row in reader.rows:
                    if not row:
                        continue
                    self.number += 1
                    if len(row) != width:
                        specials.append((self.number, self.count_failure, row))
                    else:
                        numbers.append(self.number)
                        rows.append(row)
                    if len(rows) + len(specials) >= SLOW_BATCH_ROWS:
                        flush()
        finally:
            flush()

    def close(self) -> None:
        self.result.rows_input = self.number
        self.result.rows_valid = self.valid
        self.result.rows_rejected = self.rejected
        if self.ids is not None:
            self.ids.close()


class _Repeats:
    """Finds, in a batch, the rows whose value an earlier candidate row has (in-batch
    duplicate ids); its scratch tables are kept from batch to batch."""

    def __init__(self) -> None:
        self.buckets = np.empty(0, dtype=np.int32)
        self.shared = np.zeros(0, dtype=bool)

    def __call__(
        self, values: pa.Array, rows: np.ndarray, hashes: np.ndarray, candidates: np.ndarray
    ) -> np.ndarray:
        """Which of ``rows`` (ascending) of ``values`` have the value of an earlier row among
        them that is a candidate; ``hashes``: their fingerprints.

        Equal values have equal fingerprints, so a row alone in its fingerprint bucket (in a
        table of 8-16 times as many buckets as rows) has none; only the few rows that share
        a bucket are compared by value."""
        size = min(1 << 21, 1 << max((8 * len(rows)).bit_length(), 10))
        if len(self.buckets) < size:
            self.buckets = np.empty(size, dtype=np.int32)
            self.shared = np.zeros(size, dtype=bool)
        bucket = (hashes >> np.uint64(65 - size.bit_length())).astype(np.intp)
        order = np.arange(len(rows), dtype=np.int32)
        self.buckets[bucket] = order  # one row of each bucket stays
        clash = bucket[self.buckets[bucket] != order]
        repeated = np.zeros(len(rows), dtype=bool)
        if not len(clash):
            return repeated
        self.shared[clash] = True
        involved = np.flatnonzero(self.shared[bucket])
        self.shared[clash] = False
        encoded = pc.dictionary_encode(values.take(k.int_array(rows[involved])))
        ids = k.ints(encoded.indices)
        chosen = candidates[involved]
        first = np.full(len(encoded.dictionary), len(involved), dtype=np.int64)
        position = np.arange(len(involved))
        np.minimum.at(first, ids[chosen], position[chosen])
        repeated[involved] = first[ids] < position
        return repeated


_STARS = np.uint64(int.from_bytes(b"*" * 8, "little"))


def _stars(out: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> None:
    """Write ``*`` over ``sizes[i]`` bytes of ``out`` from ``first[i]`` on. A span of 8 to
    16 bytes (the hidden digits of a card number) is two 8-byte writes that may overlap;
    other sizes are one 2-D write per size."""
    words = words_at(out, len(out) - 7)
    span = (sizes >= 8) & (sizes <= 16)
    at = first[span]
    words[at] = _STARS
    words[at + sizes[span] - 8] = _STARS
    other = ~span & (sizes > 0)
    for size in np.unique(sizes[other]).tolist():
        windows = sliding_window_view(out, size, writeable=True)
        windows[first[other & (sizes == size)]] = ord("*")


def _nul_lines(chunk: FastChunk, lines: np.ndarray) -> Any:
    """Which rows (given by their line in the chunk) contain a NUL byte; False if none."""
    if not len(chunk.nul_lines):
        return False
    return np.isin(lines, chunk.nul_lines)


def currency_index(currency: pa.Array) -> np.ndarray:
    """Index of each row's currency (ASCII, any case) in the sorted codes; one past the
    last when it is not one."""
    found = pc.index_in(k.ascii_upper(currency), value_set=CURRENCY_ARRAY())
    return k.ints(found, len(CURRENCIES))


def add_totals(
    totals: Any, currency: np.ndarray, debit: np.ndarray, head: np.ndarray, fraction: np.ndarray
) -> None:
    """Add rows to ``totals`` by currency index (into the sorted codes) and direction; amounts
    are ``head * 10**minor + fraction`` (both int64, summed per group exactly)."""
    key = currency.astype(np.int64) * 2 + debit
    size = 2 * (len(CURRENCIES) + 1)
    counts = np.bincount(key, minlength=size)
    groups = np.flatnonzero(counts)
    # bincount sums in float64: exact while every sum stays below 2**53, so the heads
    # (< 10**12) are summed in two halves of six digits (a chunk has far fewer than 10**9 rows)
    high, low = np.divmod(head, _HALF)
    heads = _exact_sums(key, high, size)[groups] * _HALF + _exact_sums(key, low, size)[groups]
    fractions = _exact_sums(key, fraction, size)[groups]
    for group, count, head_sum, fraction_sum in zip(
        groups.tolist(), counts[groups].tolist(), heads.tolist(), fractions.tolist(), strict=True
    ):
        code = CURRENCIES[group // 2]
        minor = CURRENCY_MINOR_UNITS[code]
        totals.add_many(code, bool(group % 2), count, head_sum * 10**minor + fraction_sum)


_HALF = 10**6


def _exact_sums(key: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per key, the sum of ``values`` (non-negative, below 10**6 each) as int64."""
    return np.rint(np.bincount(key, weights=values, minlength=size)).astype(np.int64)


def _simple(pattern: str | None) -> bool:
    """A ``^[...]+$`` class of letters, digits, ``_`` and ``-`` (see ``core.rules``)."""
    simple = SIMPLE_CHAR_CLASS.fullmatch(pattern) if pattern else None
    return simple is not None and expand_class(simple.group(1)) is not None


def _pattern(pattern: str) -> Callable[[pa.Array], np.ndarray]:
    """Where ``pattern`` full-matches (as ``etl_handlers.core.rules`` decides), certainly."""
    simple = SIMPLE_CHAR_CLASS.fullmatch(pattern)
    allowed = expand_class(simple.group(1)) if simple else None
    if allowed is not None:
        table = k.byte_table(ord(char) for char in allowed)  # ASCII letters, digits, _ and -

        def simple_match(array: pa.Array) -> np.ndarray:
            offsets, _ = k.pieces(array)
            return (offsets[1:] > offsets[:-1]) & k.bytes_all(array, table)

        return simple_match
    matcher = full_matcher(pattern)
    return lambda array: np.array(
        [bool(value) and bool(matcher(value)) for value in array.to_pylist()], dtype=bool
    )


def _mask(array: pa.Array) -> pa.Array:
    """:func:`etl_handlers.core.masking.mask_pan` of valid card numbers (ASCII digits)."""
    offsets, _ = k.pieces(array)
    long = (offsets[1:] - offsets[:-1]) > 4
    if not long.any():
        return array
    rows = np.flatnonzero(long)
    return k.replace_rows(array, rows, k.mask_cards(array, rows))


def _scrubbed(array: pa.Array) -> pa.Array:
    return k.apply_python(array, k.scrub_candidates(array), scrub)


def _neutralized(array: pa.Array) -> pa.Array:
    formula = k.first_byte_in(array, FORMULA_FIRST)
    if not formula.any():
        return array
    return pc.if_else(k.bool_array(formula), pc.binary_join_element_wise("'", array, ""), array)
