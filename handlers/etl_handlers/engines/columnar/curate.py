"""Write the curated dataset's Parquet from a job's enriched records and rejects (pyarrow).

The enriched records (JSON Lines or Parquet, every value a string) are read in blocks,
typed by the columns of :mod:`etl_handlers.core.curated` (amounts to exact decimals,
timestamps to UTC timestamps) and split by their ``transaction_date``: each partition gets
one Parquet file per job (zstd, row groups of up to :data:`ROW_GROUP_ROWS` rows), written to
a sink the caller opens, so memory stays at one block plus the writers' open row groups.
Rejects (the validator's JSON Lines) become one file per job. The values are the ones the
JSON outputs hold (card numbers already masked there), typed: nothing is recomputed.

Timestamps keep microseconds (what Athena reads); a fraction of more than six digits is cut
to six in the curated table only, never rounded into another second.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from etl_handlers.core import curated
from etl_handlers.core.curated import CuratedColumn

__all__ = [
    "BLOCK_BYTES",
    "ROW_GROUP_ROWS",
    "CurateResult",
    "arrow_schema",
    "write_rejects",
    "write_transactions",
]

#: Bytes of JSON Lines parsed at a time.
BLOCK_BYTES = 16 << 20
#: Most rows in one row group (Athena reads row groups in parallel; fewer, larger ones scan
#: faster than many small ones).
ROW_GROUP_ROWS = 1 << 20
COMPRESSION = "zstd"
#: Rows held (typed, per day) before they are written: each flush writes one row group per
#: day, so a file of many days gets row groups of this size over the days, in bounded memory.
FLUSH_ROWS = 1 << 19
#: A block with more runs of days than this is sorted by day first.
MAX_RUNS = 64

_DECIMAL = pa.decimal128(38, 4)
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "bigint": pa.int64(),
    curated.contract.AMOUNT_TYPE: _DECIMAL,
}

#: Opens the sink for one partition's file; called once per partition value.
SinkFactory = Callable[[str], BinaryIO]


def arrow_schema(columns: list[CuratedColumn]) -> pa.Schema:
    """The Arrow schema of a curated table's data columns (the Parquet files' schema)."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.type], metadata={"comment": c.comment}) for c in columns]
    )


@dataclass
class CurateResult:
    """What was written: rows per partition value."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def write_transactions(
    source: BinaryIO,
    *,
    document: Mapping[str, Any],
    input_format: str,
    open_sink: SinkFactory,
    default_partition: str,
) -> CurateResult:
    """Type the enriched records of ``source`` and write them, one file per
    ``transaction_date``, to the sinks ``open_sink(date)`` returns (the caller closes them
    after this returns). ``default_partition`` takes records without a transaction date
    (a schema with no timestamp column): the job's received date."""
    columns = curated.transactions_columns(document)
    schema = arrow_schema(columns)
    partition = curated.contract.TRANSACTIONS_PARTITION
    writers: dict[str, pq.ParquetWriter] = {}
    pending: dict[str, list[pa.Table]] = {}
    result = CurateResult()

    def flush() -> None:
        for value, pieces in pending.items():
            writer = writers.get(value)
            if writer is None:
                writer = writers[value] = _writer(open_sink(value), schema)
            writer.write_table(pa.concat_tables(pieces), row_group_size=ROW_GROUP_ROWS)
        pending.clear()

    buffered = 0
    try:
        for batch in _enriched_batches(source, input_format, [c.name for c in columns], partition):
            dates = batch.column(partition).fill_null(default_partition)
            typed = _typed(batch, schema)
            runs = pc.run_end_encode(dates)
            if len(runs.values) > MAX_RUNS:
                # Rows of many days interleaved: one sort groups them (a filter per day
                # would read the batch once per day).
                order = pc.sort_indices(dates)
                typed, runs = typed.take(order), pc.run_end_encode(dates.take(order))
            start = 0
            for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
                pending.setdefault(value, []).append(typed.slice(start, end - start))
                result.rows[value] = result.rows.get(value, 0) + end - start
                start = end
            buffered += batch.num_rows
            if buffered >= FLUSH_ROWS:
                flush()
                buffered = 0
        flush()
    finally:
        for writer in writers.values():
            writer.close()
    return result


def write_rejects(source: Iterable[bytes], *, job_id: str, source_key: str, sink: BinaryIO) -> int:
    """Write the reject lines of ``source`` (a file, or the lines of several) as the
    ``rejects`` table's file; returns the count. The lines are the contract's (``row``,
    ``code``, ``column``, ``message``, ``fields``); ``fields`` stays JSON text."""
    schema = arrow_schema(curated.rejects_columns())
    names = schema.names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    writer = _writer(sink, schema)
    count = 0
    try:
        for line in source:
            if not line.strip():
                continue
            record = json.loads(line)
            columns["job_id"].append(job_id)
            columns["source_key"].append(source_key)
            columns["row_number"].append(record.get("row"))
            columns["code"].append(record.get("code"))
            columns["column_name"].append(record.get("column"))
            columns["message"].append(record.get("message"))
            columns["fields"].append(json.dumps(record.get("fields"), ensure_ascii=False))
            count += 1
            if len(columns["job_id"]) >= ROW_GROUP_ROWS:
                writer.write_table(pa.table(columns, schema=schema))
                columns = {name: [] for name in names}
        if columns["job_id"] or count == 0:
            writer.write_table(pa.table(columns, schema=schema))
    finally:
        writer.close()
    return count


def _writer(sink: BinaryIO, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        sink,
        schema,
        compression=COMPRESSION,
        # Athena and DuckDB read INT64 microseconds as timestamp; no legacy INT96.
        coerce_timestamps="us",
        allow_truncated_timestamps=True,
    )


def _enriched_batches(
    source: BinaryIO, input_format: str, names: list[str], partition: str
) -> Iterator[pa.RecordBatch]:
    """The enriched records as string batches holding ``names`` and ``partition``."""
    wanted = [*names, partition]
    if input_format == "parquet":
        yield from pq.ParquetFile(source).iter_batches(columns=wanted)
        return
    strings = pa.schema([pa.field(name, pa.string()) for name in wanted])
    try:
        reader = pa_json.open_json(
            source,
            read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            parse_options=pa_json.ParseOptions(
                explicit_schema=strings, unexpected_field_behavior="ignore"
            ),
        )
    except pa.ArrowInvalid as error:
        if "empty" in str(error).lower():
            return  # no enriched record (every row rejected): nothing to write
        raise
    yield from reader


def _typed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """``batch``'s data columns cast from strings to the curated types."""
    arrays = []
    for target in schema:
        values = batch.column(target.name)
        if target.type == pa.string():
            arrays.append(values)
        elif pa.types.is_timestamp(target.type):
            # Nanoseconds first (a fraction may have nine digits), then cut to microseconds.
            exact = pc.cast(values, pa.timestamp("ns", tz="UTC"))
            arrays.append(pc.cast(exact, target.type, safe=False))
        else:
            arrays.append(pc.cast(values, target.type))
    return pa.Table.from_arrays(arrays, schema=schema)
