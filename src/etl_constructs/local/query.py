"""``etl-pipeline query``: SQL over the curated dataset a local run exported, with DuckDB.

The tables have the catalog's names (``transactions``, ``rejects``), read from
``OUT/curated/{table}/`` with Hive partitioning; the partition columns are text, as the Glue
tables declare them, so a query written for Athena runs here unchanged (the saved queries
among them: :func:`saved_query`). DuckDB (the ``local`` extra) runs single-threaded over the
Parquet files in place; nothing is copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._contract import contract

__all__ = ["DUCKDB_TYPES", "QueryError", "QueryResult", "run_query", "saved_query", "table_types"]

#: The Glue types of the curated tables and the DuckDB types they read as.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    contract.AMOUNT_TYPE: "DECIMAL(38,4)",
}

_PARTITIONS = {
    contract.TRANSACTIONS_TABLE: contract.TRANSACTIONS_PARTITION,
    contract.REJECTS_TABLE: contract.REJECTS_PARTITION,
}


class QueryError(Exception):
    """The query could not run: no curated data, bad SQL, a missing parameter."""


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows (Python values: ``Decimal``, ``datetime``, ``str``, ...)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=True))

    def json_lines(self) -> Iterator[str]:
        """One JSON object per row; decimals as exact strings, times in ISO 8601."""
        for record in self.records():
            yield json.dumps(record, default=_json_value, ensure_ascii=False)

    def table(self) -> str:
        """The rows as an aligned text table."""
        cells = [self.columns, *([_text(v) for v in row] for row in self.rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''})")
        return "\n".join(line.rstrip() for line in lines)


def run_query(out: Path, sql: str, *, params: Sequence[Any] = ()) -> QueryResult:
    """Run ``sql`` (``?`` for each of ``params``) over ``out``'s curated dataset."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the local extra brings it
        raise QueryError("DuckDB is not installed: pip install 'etl-constructs[local]'") from None
    root = out / contract.CURATED_PREFIX
    connection = duckdb.connect(":memory:", config={"threads": 1})
    try:
        found = [table for table in _PARTITIONS if _has_files(root / table)]
        if not found:
            raise QueryError(
                f"no curated data under {root}: run `etl-pipeline run FILE --out {out}` first"
            )
        for table in found:
            files = _literal(str(root / table / "*" / "*.parquet"))
            connection.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files}, "  # noqa: S608 - constants and a quoted path
                f"hive_partitioning = true, hive_types = {{'{_PARTITIONS[table]}': VARCHAR}})"
            )
        cursor = connection.execute(sql, list(params))
        columns = [d[0] for d in cursor.description or ()]
        return QueryResult(columns=columns, rows=cursor.fetchall())
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from None
    finally:
        connection.close()


def table_types(out: Path, table: str) -> dict[str, str]:
    """The DuckDB type of each column of ``table`` as read from ``out`` (for tests and
    ``--describe``)."""
    result = run_query(out, f"DESCRIBE {table}")
    return {record["column_name"]: record["column_type"] for record in result.records()}


def saved_query(name: str, document: dict[str, Any]) -> str:
    """The SQL of the catalog's saved query ``name`` for the schema ``document``."""
    from .._asset import load_asset_module

    curated = load_asset_module(
        "etl_handlers/core/curated.py", name="etl_constructs._handler_curated"
    )
    queries = {query.name: query.sql for query in curated.saved_queries(document)}
    if name not in queries:
        raise QueryError(f"no saved query {name!r}: use one of {', '.join(sorted(queries))}")
    return queries[name]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*/*.parquet"))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
