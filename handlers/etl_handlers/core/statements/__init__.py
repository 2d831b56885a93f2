"""Bank statement files (camt.053, MT940, BAI2) read as the CSV the pipeline validates.

:class:`StatementCsv` detects a file's format from its first bytes and, for a statement, streams its
entries as canonical CSV rows of the schema's columns, checking each statement's balances and
currency as it ends. So a statement takes the very path a CSV file takes: validation, rejects,
totals, transform, enrich, masking and the job record. Standard library only; the mapping of
every field is in ``docs/pipeline-contract.md``.
"""

from __future__ import annotations

from etl_handlers.core.statements.detect import CAMT053_VERSIONS, Detected, detect
from etl_handlers.core.statements.model import STATEMENT_FIELDS, Entry, StatementEnd
from etl_handlers.core.statements.reader import (
    StatementCsv,
    csv_only,
    parse_formats,
    statement_schema_problems,
)

__all__ = [
    "CAMT053_VERSIONS",
    "STATEMENT_FIELDS",
    "Detected",
    "Entry",
    "StatementCsv",
    "StatementEnd",
    "csv_only",
    "detect",
    "parse_formats",
    "statement_schema_problems",
]
