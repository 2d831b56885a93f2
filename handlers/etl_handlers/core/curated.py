"""The curated dataset's tables: their columns and types, derived from the schema document.

One home for what the writer and the catalog must agree on: the Parquet writer
(``app/curate.py``) builds its Arrow schema from :func:`transactions_columns` and
:func:`rejects_columns`, and the ``AnalyticsCatalog`` construct its Glue tables from the same
functions, so a table never declares a type the files do not hold. Types are Hive/Glue type
names (what Athena reads); amounts are exact decimals (:data:`contract.AMOUNT_TYPE`),
timestamps UTC ``timestamp`` values, every other schema type a ``string`` (card numbers
masked, as in every output).

Standard library only and no import from the rest of ``etl_handlers``: the construct side
loads this file by its path (with the contract beside it) without importing the handler
package. It reads the schema *document* (the JSON the handlers receive), not the parsed
:class:`~etl_handlers.core.schema.Schema`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "CuratedColumn",
    "SavedQuery",
    "curated_key",
    "parse_key",
    "partition_column",
    "partition_prefix",
    "rejects_columns",
    "saved_queries",
    "table_prefix",
    "transactions_columns",
]


def _contract() -> ModuleType:
    """``etl_handlers.contract``, imported normally inside the package, or loaded from the
    file beside this one when the construct side loads this module by its path."""
    if __name__.startswith("etl_handlers."):
        from etl_handlers import contract

        return contract
    name = "etl_constructs._handler_contract"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "contract.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


contract = _contract()

#: Glue keeps at most 255 characters of a column comment.
MAX_COMMENT = 255

#: Schema column type -> the curated column's type.
_TYPES = {
    "identifier": "string",
    "text": "string",
    "timestamp": "timestamp",
    "amount": contract.AMOUNT_TYPE,
    "currency": "string",
    "enum": "string",
    "card_number": "string",
    "country": "string",
}

#: What the type of each schema column type means to a reader (the column comment's tail).
_NOTES = {
    "timestamp": "UTC",
    "amount": "exact decimal, the currency's minor units",
    "currency": "ISO 4217, upper case",
    "enum": "upper case",
    "card_number": "masked: last four digits only",
    "country": "ISO 3166-1 alpha-2, upper case",
}


@dataclass(frozen=True)
class CuratedColumn:
    """One column of a curated table: its name, Glue/Hive type and comment."""

    name: str
    type: str
    comment: str


def _schema_columns(document: Mapping[str, Any]) -> list[CuratedColumn]:
    columns = []
    for column in document["columns"]:
        kind = column["type"]
        parts = [column.get("description") or "", _NOTES.get(kind, "")]
        if column.get("required"):
            parts.append("required")
        comment = "; ".join(part for part in parts if part)
        columns.append(CuratedColumn(column["name"], _TYPES[kind], comment[:MAX_COMMENT]))
    return columns


def transactions_columns(document: Mapping[str, Any]) -> list[CuratedColumn]:
    """The ``transactions`` table's data columns: the schema's columns in schema order,
    then the processing fields the enricher adds (the partition column is apart: see
    :data:`contract.TRANSACTIONS_PARTITION`)."""
    return [
        *_schema_columns(document),
        CuratedColumn("job_id", "string", "the job that wrote the row"),
        CuratedColumn("source_key", "string", "the raw object the row came from"),
        CuratedColumn("processed_at", "timestamp", "when the job enriched the row, UTC"),
        CuratedColumn("pipeline_version", "string", "the pipeline release that wrote it"),
    ]


def rejects_columns() -> list[CuratedColumn]:
    """The ``rejects`` table's data columns (partition: :data:`contract.REJECTS_PARTITION`)."""
    return [
        CuratedColumn("job_id", "string", "the job that rejected the row"),
        CuratedColumn("source_key", "string", "the raw object the row came from"),
        CuratedColumn("row_number", "bigint", "1-based data row number in the file"),
        CuratedColumn("code", "string", "the reject code (pipeline contract: Codes)"),
        CuratedColumn("column_name", "string", "the column the code is about, if any"),
        CuratedColumn("message", "string", "why, scrubbed of card numbers"),
        CuratedColumn("fields", "string", "the row's fields as JSON, card numbers masked"),
    ]


def partition_column(table: str) -> CuratedColumn:
    """A table's one partition column. A ``string`` in ``yyyy-MM-dd`` form, as Athena's date
    projection reads partition values (compare with ``'2024-03-01'``; they sort as dates)."""
    if table == contract.TRANSACTIONS_TABLE:
        return CuratedColumn(
            contract.TRANSACTIONS_PARTITION,
            "string",
            "UTC date of the transaction (the job's received date when the row has no "
            "timestamp), yyyy-MM-dd",
        )
    if table == contract.REJECTS_TABLE:
        return CuratedColumn(
            contract.REJECTS_PARTITION, "string", "UTC date the job was created, yyyy-MM-dd"
        )
    raise ValueError(f"no curated table {table!r}")


@dataclass(frozen=True)
class SavedQuery:
    """A query the catalog saves in the workgroup and ``etl-pipeline query`` runs offline
    (portable SQL: Athena's Trino and DuckDB both read it). ``?`` marks a parameter."""

    name: str
    description: str
    sql: str


def saved_queries(document: Mapping[str, Any]) -> list[SavedQuery]:
    """The saved queries of a pipeline with the schema ``document`` (its totals columns)."""
    totals = document["totals"]
    # Schema names are quoted: a column may be called like an SQL keyword (``timestamp``).
    amount, currency, direction = (_name(totals[k]) for k in ("amount", "currency", "direction"))
    # The transform stores enum values in upper case (the schema's values compare ignoring
    # case), so the direction is compared with totals.debit/credit as stored, not as written.
    debit, credit = (_literal(totals[side].upper()) for side in ("debit", "credit"))
    day = contract.TRANSACTIONS_PARTITION
    return [
        SavedQuery(
            "daily-control-totals",
            "Rows and debit / credit sums per day and currency: the jobs' control totals.",
            f"SELECT {day}, {currency}, count(*) AS row_count,\n"
            f"  sum(CASE WHEN {direction} = {debit} THEN {amount} ELSE 0 END) AS debit,\n"
            f"  sum(CASE WHEN {direction} = {credit} THEN {amount} ELSE 0 END) AS credit\n"
            f"FROM {contract.TRANSACTIONS_TABLE}\n"
            f"GROUP BY {day}, {currency}\nORDER BY {day}, {currency}",
        ),
        SavedQuery(
            "rejects-by-code",
            "Rejected rows per day and reject code.",
            f"SELECT {contract.REJECTS_PARTITION}, code, count(*) AS rejects\n"
            f"FROM {contract.REJECTS_TABLE}\n"
            f"GROUP BY {contract.REJECTS_PARTITION}, code\n"
            f"ORDER BY {contract.REJECTS_PARTITION}, rejects DESC, code",
        ),
        SavedQuery(
            "job-rows",
            "Every row one job wrote (parameter: the job id).",
            f"SELECT * FROM {contract.TRANSACTIONS_TABLE} WHERE job_id = ?",  # noqa: S608 - a constant
        ),
    ]


def _name(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (schema names are ``[a-z0-9_]``)."""
    return f'"{identifier}"'


def _literal(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def table_prefix(table: str, *, root: str = contract.CURATED_PREFIX) -> str:
    """``curated/{table}/``: where a table's partitions live (under ``root``)."""
    return f"{root}{table}/"


def partition_prefix(
    table: str, partition: str, value: str, *, root: str = contract.CURATED_PREFIX
) -> str:
    """``curated/{table}/{partition}={value}/``: one Hive-style partition."""
    return f"{table_prefix(table, root=root)}{partition}={value}/"


def curated_key(
    table: str, partition: str, value: str, stem: str, *, root: str = contract.CURATED_PREFIX
) -> str:
    """``curated/{table}/{partition}={value}/{stem}.parquet``, ``stem`` the job id (a big
    file: ``{job}-{part}``): one job's rows of one partition in objects of its own, so a job
    never mixes with another job's half-written file and a rerun replaces its own objects.
    A big file's parts write under ``root`` = ``enriched/{job}/curated/`` first."""
    return f"{partition_prefix(table, partition, value, root=root)}{stem}.parquet"


def parse_key(key: str, *, root: str = contract.CURATED_PREFIX) -> tuple[str, str, str, str]:
    """``(table, partition, value, stem)`` of a key :func:`curated_key` made under ``root``."""
    table, folder, name = key[len(root) :].split("/")
    partition, value = folder.split("=", 1)
    return table, partition, value, name.removesuffix(".parquet")
