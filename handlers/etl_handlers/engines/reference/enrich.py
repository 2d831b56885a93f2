"""Add processing metadata and derived fields to the ``processed/`` records.

Each record gains, after the schema's columns: ``job_id``, ``source_key``,
``processed_at``, ``pipeline_version`` (from :class:`EnrichMetadata`) and
``transaction_date``, the UTC date (``YYYY-MM-DD``) of the schema's first timestamp column
(null when the schema has none). Totals are recomputed from what is written, for the
reconciliation across stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.formats import JSONL, open_writer, read_records
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import Schema, TotalsSpec, load_schema
from etl_handlers.core.schema_rules import ADDED_FIELDS
from etl_handlers.core.totals import StepResult, Totals
from etl_handlers.core.values import split_amount, timestamp_to_utc, to_minor

__all__ = [
    "ENRICH_FIELDS",
    "EnrichMetadata",
    "check_enrich_schema",
    "count_record",
    "enrich_rows",
    "transaction_date_of",
]

#: The fields enrich adds to every record (a schema rule forbids them as column names).
ENRICH_FIELDS = ADDED_FIELDS


@dataclass(frozen=True)
class EnrichMetadata:
    """Processing metadata stamped on every record (``processed_at``: ISO 8601 UTC)."""

    job_id: str
    source_key: str
    processed_at: str
    pipeline_version: str


def check_enrich_schema(schema: Schema | None) -> Schema:
    """``schema`` (default: the default schema), checked for columns that clash with the
    fields the enricher adds (ConfigurationError)."""
    schema = schema or load_schema(None)
    clash = sorted(set(schema.column_names) & set(ENRICH_FIELDS))
    if clash:
        raise ConfigurationError(
            f"schema columns {', '.join(clash)} clash with fields the enricher adds"
        )
    return schema


def enrich_rows(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    metadata: EnrichMetadata,
    schema: Schema,
    input_format: str = JSONL,
    output_format: str = JSONL,
) -> StepResult:
    """The reference: one record at a time. Read processed records from ``source``, write
    enriched ones to ``sink``.

    ``schema`` (checked by :func:`check_enrich_schema`) names the columns, the timestamp the
    date is derived from, and the totals columns. Raises FileRejected ``INVALID_INPUT`` when
    a record is not what transform writes.
    """
    names = schema.column_names
    timestamps = [column.name for column in schema.columns if column.type == "timestamp"]
    timestamp = timestamps[0] if timestamps else None
    spec = schema.totals
    constant = [
        metadata.job_id,
        metadata.source_key,
        metadata.processed_at,
        metadata.pipeline_version,
    ]
    # JSONL to JSONL: keep the input line and append the new fields, no re-encoding.
    suffix = "".join(
        f",{encode_basestring(name)}:{encode_basestring(value)}"
        for name, value in zip(ENRICH_FIELDS, constant, strict=False)
    )
    date_key = "," + encode_basestring("transaction_date") + ":"
    writer = open_writer(sink, [*names, *ENRICH_FIELDS], output_format)
    raw_copy = writer.accepts_json_lines and input_format == JSONL
    totals = Totals()
    written = 0
    try:
        for record, line in read_records(source, input_format):
            number = written + 1
            date = transaction_date_of(record, timestamp, number)
            count_record(totals, record, spec.amount, spec.currency, spec.direction, spec, number)
            if raw_copy and record:
                end = line.rindex("}")
                writer.write_raw(
                    line[:end]
                    + suffix
                    + date_key
                    + ("null" if date is None else encode_basestring(date))
                    + "}\n"
                )
            else:
                writer.write([*(record.get(name) for name in names), *constant, date])
            written += 1
    finally:
        writer.close()
    return StepResult(rows=written, totals=totals)


def _invalid(number: int, problem: str) -> FileRejected:
    return FileRejected(codes.INVALID_INPUT, f"processed record {number}: {problem}")


def transaction_date_of(record: dict[str, Any], timestamp: str | None, number: int) -> str | None:
    if timestamp is None:
        return None
    value = record.get(timestamp)
    if value is None:
        return None
    utc = timestamp_to_utc(value) if isinstance(value, str) else None
    if utc is None:
        raise _invalid(number, f"{timestamp} is not a timestamp")
    return utc[:10]


def count_record(
    totals: Totals,
    record: dict[str, Any],
    amount_key: str,
    currency_key: str,
    direction_key: str,
    spec: TotalsSpec,
    number: int,
) -> None:
    amount = record.get(amount_key)
    currency = record.get(currency_key)
    minor = CURRENCY_MINOR_UNITS.get(currency) if isinstance(currency, str) else None
    parts = split_amount(amount) if isinstance(amount, str) else None
    if minor is None or parts is None or len(parts[1]) > minor:
        raise _invalid(number, f"{amount_key}/{currency_key} are not a valid amount")
    direction = record.get(direction_key)
    if direction != spec.debit and direction != spec.credit:
        raise _invalid(number, f"{direction_key} is neither {spec.debit} nor {spec.credit}")
    totals.add(currency, direction == spec.debit, to_minor(*parts, minor))  # type: ignore[arg-type]
