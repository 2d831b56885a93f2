"""Which file formats a pipeline reads (``EtlWorkflow(input_formats=...)``).

CSV and the bank statements camt.053, MT940 and BAI2 (all four by default). The setting
decides three things: the key suffixes the ingestion rule sends to the trigger, the formats
the validator accepts (``ETL_INPUT_FORMATS``; a file of another format ends FAILED with
``UNSUPPORTED_FORMAT``), and, when a statement format is in, that the schema can take
statements (checked here with the handlers' own rule, loaded from the asset).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from ._asset import load_asset_module
from ._contract import contract

__all__ = ["INPUT_FORMATS", "input_format_problems", "key_wildcards", "resolve_formats"]

INPUT_FORMATS: tuple[str, ...] = tuple(contract.INPUT_FORMATS)


def _fields() -> ModuleType:
    return load_asset_module(
        "etl_handlers/core/statements/fields.py", name="etl_constructs._handler_statement_fields"
    )


def resolve_formats(given: Sequence[str] | None) -> tuple[str, ...]:
    """The formats in force: all of them when ``given`` is None, else ``given`` (checked by
    :func:`input_format_problems`), without repeats, in the contract's order."""
    if given is None:
        return INPUT_FORMATS
    return tuple(f for f in INPUT_FORMATS if f in given)


def input_format_problems(
    given: Sequence[str] | None, *, schema_document: dict | None, default_document: dict
) -> list[str]:
    """Every problem of ``input_formats`` with this schema (empty when fine); the schema is
    not checked when ``schema_document`` is None (a schema with problems of its own)."""
    if given is None:
        formats: Sequence[str] = INPUT_FORMATS
    elif isinstance(given, str) or not all(isinstance(f, str) for f in given):
        return [f"input_formats: must be a list of format names ({', '.join(INPUT_FORMATS)})"]
    else:
        formats = given
    problems = [
        f"input_formats: {f!r} is not one of {', '.join(INPUT_FORMATS)}"
        for f in formats
        if f not in INPUT_FORMATS
    ]
    if not formats:
        problems.append("input_formats: name at least one format")
    statements = [f for f in formats if f in INPUT_FORMATS and f != contract.FORMAT_CSV]
    if statements and schema_document is not None:
        problems += [
            f"input_formats: {', '.join(statements)} need a schema statements can fill: {p} "
            "(or leave the statement formats out of input_formats)"
            for p in _fields().schema_problems(schema_document, default_document)
        ]
    return problems


def key_wildcards(formats: Sequence[str], raw_prefix: str) -> list[dict[str, str]]:
    """The ingestion rule's key filters: each accepted format's suffixes, lower and upper
    case (EventBridge wildcards are case-sensitive)."""
    return [
        {"wildcard": f"{raw_prefix}*{spelling}"}
        for f in formats
        for suffix in contract.FORMAT_SUFFIXES[f]
        for spelling in (suffix, suffix.upper())
    ]
