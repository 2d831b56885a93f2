"""The columns a statement fills, and whether a schema can take statements.

Standard library only and no import from the rest of ``etl_handlers``: the construct side
loads this very file from the handler asset to refuse, at synth, a schema that statements
cannot fill (``EtlWorkflow(input_formats=...)``), with the rule the validator applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["EXTRA_TYPE", "STATEMENT_FIELDS", "schema_problems"]

STATEMENT_FIELDS = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "transaction_type",
    "merchant",
    "category",
    "value_date",
    "statement_id",
    "bank_reference",
    "remittance_info",
    "reversal",
    "entry_status",
    "source_format",
)
"""Every column a statement fills (``docs/pipeline-contract.md`` maps each, per format).
The first eight are the default schema's; the others reach the outputs when the schema
declares them (as optional ``text`` columns), and are left out otherwise."""
EXTRA_TYPE = "text"


def schema_problems(document: Mapping[str, Any], default: Mapping[str, Any]) -> list[str]:
    """Why the schema ``document`` cannot take statement files (empty when it can).

    ``default`` is the default schema's document. The schema must have the default's
    statement columns with their types, and its totals; its other required columns must be
    statement fields; the extra statement fields it declares must be ``text``. A column
    that is no statement field is left empty.
    """
    columns = {c["name"]: c for c in document.get("columns", ())}
    problems = []
    defaults = set()
    for column in default["columns"]:
        name = column["name"]
        if name not in STATEMENT_FIELDS:
            continue
        defaults.add(name)
        if name not in columns:
            problems.append(f"column {name} is missing")
        elif columns[name].get("type") != column["type"]:
            problems.append(f"column {name} must be of type {column['type']}")
    for name, column in columns.items():
        if name in STATEMENT_FIELDS and name not in defaults:
            if column.get("type") != EXTRA_TYPE:
                problems.append(f"column {name} must be of type {EXTRA_TYPE}")
        elif column.get("required") and name not in STATEMENT_FIELDS:
            problems.append(f"required column {name} is not a statement field")
    if dict(document.get("totals", {})) != dict(default["totals"]):
        problems.append("the totals must be those of the default schema")
    return problems
