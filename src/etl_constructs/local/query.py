"""``etl-pipeline query``: SQL over the curated dataset a local run exported, with DuckDB.

The tables have the catalog's names (``transactions``, ``rejects``), read from
``OUT/curated/{table}/`` with Hive partitioning; the partition columns are text, as the Glue
tables declare them, so a query written for Athena runs here unchanged (the saved queries
among them: :func:`saved_query`). DuckDB (the ``local`` extra) runs single-threaded over the
Parquet files in place; nothing is copied. A table with no files yet (every row of the run
rejected) is an empty view of the catalog's columns, as Athena reads an empty table. The
session reads timestamps in UTC, as Athena does, whatever the machine's time zone, and the
query reads and writes no other file: once the views exist, DuckDB's file access is limited
to their Parquet files and ``COPY``/``EXPORT`` are refused (Athena has no such access either).
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

__all__ = [
    "DUCKDB_TYPES",
    "QueryError",
    "QueryResult",
    "run_query",
    "saved_query",
    "schema_document",
    "table_types",
]

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


def run_query(
    out: Path,
    sql: str,
    *,
    params: Sequence[Any] = (),
    document: dict[str, Any] | None = None,
) -> QueryResult:
    """Run ``sql`` (``?`` for each of ``params``) over ``out``'s curated dataset.

    ``document`` is the schema document of the run (default: :func:`schema_document`); it is
    read only when a table has no files, for the columns of its empty view."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the local extra brings it
        raise QueryError("DuckDB is not installed: pip install 'etl-constructs[local]'") from None
    root = out / contract.CURATED_PREFIX
    files = {table: _files(root / table) for table in _PARTITIONS}
    if not any(files.values()):
        raise QueryError(
            f"no curated data under {root}: run `etl-pipeline run FILE --out {out}` first"
        )
    connection = duckdb.connect(":memory:", config={"threads": 1})
    try:
        # Athena reads `timestamp` values in UTC: so do the session's dates and Python values
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET allowed_paths = ?", [[str(f) for v in files.values() for f in v]])
        for table, paths in files.items():
            if paths:
                listed = ", ".join(_literal(str(path)) for path in paths)
                connection.execute(
                    f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}], "  # noqa: S608 - constants and quoted paths
                    f"hive_partitioning = true, hive_types = {{'{_PARTITIONS[table]}': VARCHAR}})"
                )
            else:
                if document is None:
                    document = schema_document(out)
                connection.execute(_empty_view(table, document))
        # the views' files alone from here on: no other file read or written, no extension
        connection.execute("SET enable_external_access = false")
        for statement in connection.extract_statements(sql):
            if statement.type in (duckdb.StatementType.COPY, duckdb.StatementType.EXPORT):
                raise QueryError("etl-pipeline query reads the curated tables; it writes no file")
        cursor = connection.execute(sql, list(params))
        columns = [d[0] for d in cursor.description or ()]
        return QueryResult(columns=columns, rows=cursor.fetchall())
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from None
    finally:
        connection.close()


def schema_document(out: Path) -> dict[str, Any]:
    """The schema the run in ``out`` curated with (its enricher's ``ETL_SCHEMA``, from the
    cloud assembly the run left there), or the default schema."""
    from .._asset import handlers_path
    from .assembly import ASSEMBLY_DIR, CloudAssembly

    assembly_dir = out / ASSEMBLY_DIR
    if assembly_dir.is_dir():
        assembly = CloudAssembly.load(assembly_dir)
        for resource in assembly.resources():
            if resource.type != "AWS::Lambda::Function":
                continue
            variables = (resource.properties.get("Environment") or {}).get("Variables") or {}
            if contract.CURATED in variables and isinstance(variables.get(contract.SCHEMA), str):
                return json.loads(variables[contract.SCHEMA])
    path = handlers_path() / "etl_handlers" / "core" / "default_schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def table_types(out: Path, table: str) -> dict[str, str]:
    """The DuckDB type of each column of ``table`` as read from ``out`` (for tests and
    ``--describe``)."""
    result = run_query(out, f"DESCRIBE {table}")
    return {record["column_name"]: record["column_type"] for record in result.records()}


def saved_query(name: str, document: dict[str, Any]) -> str:
    """The SQL of the catalog's saved query ``name`` for the schema ``document``."""
    queries = {query.name: query.sql for query in _curated().saved_queries(document)}
    if name not in queries:
        raise QueryError(f"no saved query {name!r}: use one of {', '.join(sorted(queries))}")
    return queries[name]


def _curated() -> Any:
    """``etl_handlers/core/curated.py``: the tables' columns and saved queries, as the
    catalog construct reads them."""
    from .._asset import load_asset_module

    return load_asset_module("etl_handlers/core/curated.py", name="etl_constructs._handler_curated")


def _empty_view(table: str, document: dict[str, Any]) -> str:
    """A view of ``table`` with no rows: the catalog's columns and types, partition last
    (where the Parquet views have it)."""
    curated = _curated()
    columns = (
        curated.transactions_columns(document)
        if table == contract.TRANSACTIONS_TABLE
        else curated.rejects_columns()
    )
    typed = [f'CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS "{column.name}"' for column in columns]
    typed.append(f'CAST(NULL AS VARCHAR) AS "{curated.partition_column(table).name}"')
    return f"CREATE VIEW {table} AS SELECT {', '.join(typed)} WHERE false"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(folder: Path) -> list[Path]:
    """A table's Parquet files, ``{partition}={value}/*.parquet``, in name order."""
    return sorted(folder.glob("*/*.parquet")) if folder.is_dir() else []


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
