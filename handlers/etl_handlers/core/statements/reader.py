"""A file of any input format as the CSV bytes validation reads.

:class:`StatementCsv` wraps the source object's stream. On the first read it detects the format
(:mod:`.detect`); a CSV file is handed on byte for byte, a statement is parsed as it streams
and written as canonical CSV of the schema's columns, one row per entry in file order (so a
reject's ``row`` is the entry's number in the file). The statement checks run as each
statement ends: a failing one raises FileRejected from ``read``, which validation turns
into the file's error like any CSV file rule.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import asdict
from decimal import Decimal
from operator import attrgetter
from typing import Any, BinaryIO

from etl_handlers.contract import FORMAT_BAI2, FORMAT_CAMT053, FORMAT_CSV, INPUT_FORMATS
from etl_handlers.core import codes
from etl_handlers.core.csvio import ReadsInto
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.schema import Schema, load_schema
from etl_handlers.core.statements import fields
from etl_handlers.core.statements.detect import SNIFF_BYTES, Detected, detect
from etl_handlers.core.statements.model import (
    STATEMENT_FIELDS,
    Entry,
    StatementEnd,
    StatementTally,
)

__all__ = ["StatementCsv", "csv_only", "parse_formats", "statement_schema_problems"]

_BUFFER = 1 << 16


def parse_formats(value: str | None) -> tuple[str, ...]:
    """The accepted formats from ``ETL_INPUT_FORMATS`` (comma-separated; absent or empty:
    all). Raises ConfigurationError naming an unknown format."""
    if value is None or not value.strip():
        return INPUT_FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in INPUT_FORMATS]
    if unknown:
        raise ConfigurationError(
            f"input formats {', '.join(unknown)} unknown: use some of {', '.join(INPUT_FORMATS)}"
        )
    return formats


def statement_schema_problems(schema: Schema) -> list[str]:
    """Why ``schema`` cannot take statement files (empty when it can; see
    :func:`.fields.schema_problems`)."""
    return fields.schema_problems(_document(schema), _document(load_schema()))


def _document(schema: Schema) -> dict[str, Any]:
    return {
        "columns": [
            {"name": c.name, "type": c.type, "required": c.required} for c in schema.columns
        ],
        "totals": asdict(schema.totals),
    }


def csv_only(source: BinaryIO, *, schema: Schema) -> StatementCsv:
    """``source`` for the big-file path, which cuts CSV into parts: a statement there ends
    ``UNSUPPORTED_FORMAT`` saying how to let one function read it instead."""
    return StatementCsv(
        source,
        schema=schema,
        accepted=(FORMAT_CSV,),
        refusal="a statement above the big-file threshold is not cut into parts: one "
        "function reads it, so raise LargeFiles(threshold_bytes=...) above its size, or "
        "switch the path off with LargeFiles.off()",
    )


class StatementCsv(ReadsInto):
    """A read-only binary stream: the source's bytes (CSV) or its entries as CSV.

    ``accepted``: the formats read; another one raises ``UNSUPPORTED_FORMAT`` on the first
    read, its message ending in ``refusal`` (default: the pipeline's ``input_formats``).
    """

    def __init__(
        self,
        source: BinaryIO,
        *,
        schema: Schema,
        accepted: Collection[str] = INPUT_FORMATS,
        refusal: str | None = None,
    ) -> None:
        self._source = source
        self._refusal = refusal
        self._schema = schema
        self._accepted = tuple(accepted)
        self._head: bytes | None = None
        self._rows: Iterator[bytes] | None = None
        self._buffer = b""
        self.detected: Detected | None = None
        """The format, once the first read has detected it."""

    @property
    def label(self) -> str | None:
        """The detected format as a person reads it (None before the first read)."""
        return None if self.detected is None else self.detected.label

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.detected is None:
            self._start()
        if self._rows is None:  # CSV: the sniffed head, then the source itself
            if self._head:
                if size is None or size < 0:
                    data, self._head = self._head + self._source.read(), b""
                else:
                    data, self._head = self._head[:size], self._head[size:]
                return data
            return self._source.read(-1 if size is None else size)
        want = _BUFFER if size is None or size < 0 else size
        while len(self._buffer) < want:
            chunk = next(self._rows, b"")
            if not chunk:
                break
            self._buffer += chunk
            if size is None or size < 0:
                want = len(self._buffer) + 1
        data, self._buffer = self._buffer[:want], self._buffer[want:]
        return data

    def close(self) -> None:
        self._source.close()

    def _start(self) -> None:
        head = b""
        while len(head) < SNIFF_BYTES:
            chunk = self._source.read(SNIFF_BYTES - len(head))
            if not chunk:
                break
            head += chunk
        complete = len(head) < SNIFF_BYTES
        try:
            self.detected = detect(head, complete=complete)
        finally:
            self._head = head
        fmt = self.detected.format
        if fmt not in self._accepted:
            raise FileRejected(
                codes.UNSUPPORTED_FORMAT,
                f"recognised a {self.detected.label} file; "
                + (
                    self._refusal
                    or f"this pipeline accepts {', '.join(self._accepted)} (its input_formats)"
                ),
            )
        if fmt == FORMAT_CSV:
            return
        problems = statement_schema_problems(self._schema)
        if problems:
            raise FileRejected(
                codes.UNSUPPORTED_FORMAT,
                f"recognised a {self.detected.label} file, but the pipeline's schema cannot "
                "take statements: " + "; ".join(problems),
            )
        self._rows = _csv_rows(self._parse(_Joined(head, self._source)), self._schema)

    def _parse(self, stream: BinaryIO) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
        assert self.detected is not None
        fmt = self.detected.format
        if fmt == FORMAT_CAMT053:
            from etl_handlers.core.statements.camt import read_camt053

            namespace = self.detected.detail
            return read_camt053(stream, namespace=namespace, version=namespace.rpartition(":")[2])
        if fmt == FORMAT_BAI2:
            from etl_handlers.core.statements.bai2 import read_bai2

            return read_bai2(stream)
        from etl_handlers.core.statements.mt940 import read_mt940

        return read_mt940(stream)


class _Joined:
    """The sniffed head, then the rest of the source."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head, self._source = head, source

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._source.read(size)


def _csv_rows(
    items: Iterator[tuple[Entry, Decimal] | StatementEnd], schema: Schema
) -> Iterator[bytes]:
    """CSV bytes (header first) of every entry, checking each statement as it ends."""
    names = schema.column_names
    # one C call per row: a column statements do not fill reads the entry's empty ``blank``
    values = attrgetter(*(name if name in STATEMENT_FIELDS else "blank" for name in names))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    tally = StatementTally()
    for item in items:
        if isinstance(item, StatementEnd):
            tally.check(item)
            tally = StatementTally()
            continue
        entry, amount = item
        tally.add(entry, amount)
        row = values(entry)
        writer.writerow(row if isinstance(row, tuple) else (row,))
        if text.tell() >= _BUFFER:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8")
