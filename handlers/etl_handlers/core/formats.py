"""Record writers and readers for the ``processed/`` and ``enriched/`` objects.

Two formats (``ETL_OUTPUT_FORMAT``): ``jsonl`` (default; one JSON object per line, keys in
column order, UTF-8) and ``parquet``. Every value is a string or null in both: amounts as
exact decimal strings (a decimal128 column needs one scale for all rows, and the scale is
per currency), timestamps as the normalized ``...Z`` strings. So a JSONL and a Parquet
output hold exactly the same data, and any engine can cast on read.

Parquet goes through pyarrow, imported only when Parquet is asked for; rows are buffered
in groups of :data:`ROW_GROUP_ROWS` and each group is written as one row group, so memory
stays bounded. Reading Parquet needs a seekable source (a file in ``/tmp``, not a socket).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.errors import ConfigurationError, FileRejected

__all__ = [
    "FORMATS",
    "JSONL",
    "PARQUET",
    "ROW_GROUP_ROWS",
    "RecordWriter",
    "check_format",
    "open_writer",
    "read_records",
]

JSONL = "jsonl"
PARQUET = "parquet"
FORMATS = (JSONL, PARQUET)
ROW_GROUP_ROWS = 32_768
"""Rows per Parquet row group (and per read batch)."""


def check_format(output_format: str) -> str:
    """Return ``output_format`` if known, else raise ConfigurationError naming it."""
    if output_format not in FORMATS:
        raise ConfigurationError(
            f"output format {output_format!r} is not one of {', '.join(FORMATS)}"
        )
    return output_format


class RecordWriter:
    """Writes records given as value lists in the order of ``names``."""

    accepts_json_lines = False
    """True when :meth:`write_raw` takes already encoded JSON object lines."""

    def write_raw(self, line: str) -> None:
        """Write an already encoded JSON object line (ending in a newline)."""
        raise NotImplementedError(f"{type(self).__name__} does not take JSON lines")

    def write(self, values: Sequence[str | None]) -> None:  # pragma: no cover - interface
        """Write one record."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        """Flush everything to the sink (which stays open)."""
        raise NotImplementedError


class _JsonLinesWriter(RecordWriter):
    accepts_json_lines = True

    def __init__(self, sink: BinaryIO, names: Sequence[str]) -> None:
        self._text = io.TextIOWrapper(sink, encoding="utf-8", newline="\n")
        self._keys = [encode_basestring(name) + ":" for name in names]

    def write(self, values: Sequence[str | None]) -> None:
        self._text.write(
            "{"
            + ",".join(
                key + ("null" if value is None else encode_basestring(value))
                for key, value in zip(self._keys, values, strict=True)
            )
            + "}\n"
        )

    def write_raw(self, line: str) -> None:
        self._text.write(line)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class _ParquetWriter(RecordWriter):
    def __init__(self, sink: BinaryIO, names: Sequence[str]) -> None:
        import pyarrow as pa  # lazy: only the Parquet option needs it
        import pyarrow.parquet as pq

        self._pa = pa
        self._names = list(names)
        self._schema = pa.schema([pa.field(name, pa.string()) for name in self._names])
        self._writer = pq.ParquetWriter(sink, self._schema)
        self._columns: list[list[str | None]] = [[] for _ in self._names]
        self._buffered = 0

    def write(self, values: Sequence[str | None]) -> None:
        for column, value in zip(self._columns, values, strict=True):
            column.append(value)
        self._buffered += 1
        if self._buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        table = self._pa.Table.from_arrays(
            [self._pa.array(column, type=self._pa.string()) for column in self._columns],
            schema=self._schema,
        )
        self._writer.write_table(table)
        self._columns = [[] for _ in self._names]
        self._buffered = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_writer(sink: BinaryIO, names: Sequence[str], output_format: str) -> RecordWriter:
    """A writer of records with columns ``names`` to ``sink`` in ``output_format``."""
    if check_format(output_format) == PARQUET:
        return _ParquetWriter(sink, names)
    return _JsonLinesWriter(sink, names)


def read_records(source: BinaryIO, input_format: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield ``(record, raw_line)`` per record; ``raw_line`` is ``""`` for Parquet input.

    A JSONL line that is not a JSON object is FileRejected ``INVALID_INPUT``.
    """
    if check_format(input_format) == PARQUET:
        yield from _read_parquet(source)
        return
    text = io.TextIOWrapper(source, encoding="utf-8", newline="\n")
    try:
        for number, line in enumerate(text, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise FileRejected(
                    codes.INVALID_INPUT, f"line {number} of the input is not a JSON object"
                )
            yield record, line
    except UnicodeDecodeError:
        raise FileRejected(codes.INVALID_INPUT, "the input is not UTF-8") from None
    finally:
        text.detach()


def _read_parquet(source: BinaryIO) -> Iterator[tuple[dict[str, Any], str]]:
    """Records of a Parquet stream. Only pyarrow's verdict on the data (``ArrowInvalid``)
    becomes INVALID_INPUT: an exception raised by ``source`` itself (a TransientError from
    a ranged GET, say) reaches pyarrow's caller unchanged and must stay a fault."""
    import pyarrow as pa  # lazy: only the Parquet option needs it
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
            for record in batch.to_pylist():
                yield record, ""
    except pa.ArrowInvalid as error:
        raise FileRejected(
            codes.INVALID_INPUT, f"the input is not a readable Parquet file ({error})"
        ) from None
