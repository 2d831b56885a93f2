"""The rules of a schema document: :func:`schema_problems` lists every way one breaks them.

The one validator of the schema: the handlers' :func:`~etl_handlers.core.schema.load_schema`
raises on this list at cold start, and the constructs (``etl_constructs.schema``) report the
same list at synth. This module imports only the standard library and nothing of the package,
so the constructs load it by file path from the handler asset.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ADDED_FIELDS", "COLUMN_TYPES", "schema_problems"]

COLUMN_TYPES = (
    "identifier",
    "text",
    "timestamp",
    "amount",
    "currency",
    "enum",
    "card_number",
    "country",
)

#: A column name: lower case, as header names are matched after trimming and lower-casing.
NAME = re.compile(r"[a-z0-9_]{1,64}")

#: The fields the enricher adds to every record (``engines.reference.enrich`` reads them
#: from here), the last the curated ``transactions`` table's partition: no column may take
#: one of these names (a job would fail at enrich, and the catalog declare it twice).
ADDED_FIELDS = ("job_id", "source_key", "processed_at", "pipeline_version", "transaction_date")

#: A column description becomes a Glue column comment, which holds at most 255 characters
#: and no line break or other control character but a tab.
MAX_DESCRIPTION = 255
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# Keys each column type accepts besides name/type/required/description.
TYPE_KEYS: dict[str, frozenset[str]] = {
    "identifier": frozenset({"maxLength", "pattern", "unique"}),
    "text": frozenset({"maxLength"}),
    "enum": frozenset({"values"}),
}
COMMON_KEYS = frozenset({"name", "type", "required", "description"})
DOCUMENT_KEYS = frozenset({"name", "version", "columns", "totals", "description"})
TOTALS_KEYS = ("amount", "currency", "direction", "debit", "credit")
_ANY_COLUMN_KEY = COMMON_KEYS.union(*TYPE_KEYS.values())


def _problem(field: str, text: str) -> str:
    return f"schema field {field}: {text}"


def _unknown_keys(data: dict[str, Any], allowed: frozenset[str], where: str) -> list[str]:
    return [
        _problem(f"{where}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(set(data) - allowed, key=str)
    ]


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def schema_problems(document: Any) -> list[str]:
    """Every reason ``document`` is not a usable schema, empty when it is one.

    ``document`` is the compact JSON text or the parsed object. Each problem names its
    field: ``schema field columns[3].maxLength: must be a positive integer``.
    """
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except (ValueError, TypeError) as error:
            return [f"schema: not a JSON document ({error})"]
    if not isinstance(document, dict):
        return [_problem("(document)", "must be a JSON object")]
    found = _unknown_keys(document, DOCUMENT_KEYS, "")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        found.append(_problem("name", "must be a non-empty string"))
    if not _is_positive_int(document.get("version")):
        found.append(_problem("version", "must be a positive integer"))
    raw_columns = document.get("columns")
    columns: dict[str, dict[str, Any]] = {}
    if not isinstance(raw_columns, list) or not raw_columns:
        found.append(_problem("columns", "must be a non-empty list"))
        raw_columns = []
    unique: list[str] = []
    for index, raw in enumerate(raw_columns):
        found += _column_problems(raw, index)
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        if raw["name"] in columns:
            found.append(
                _problem(f"columns[{index}].name", f"duplicate column name {raw['name']!r}")
            )
        else:
            columns[raw["name"]] = raw
        if raw.get("unique") is True:
            unique.append(raw["name"])
    if len(unique) > 1:
        found.append(
            _problem(
                "columns",
                "at most one column may be unique (duplicates are found on one column); "
                f"unique: {', '.join(unique)}",
            )
        )
    found += _totals_problems(document.get("totals"), columns)
    return found


def _column_problems(raw: Any, index: int) -> list[str]:
    where = f"columns[{index}]."
    if not isinstance(raw, dict):
        return [_problem(f"columns[{index}]", "must be a JSON object")]
    found = []
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        found.append(_problem(f"{where}name", "must be 1-64 lower-case letters, digits or _"))
    elif name in ADDED_FIELDS:
        found.append(
            _problem(
                f"{where}name",
                f"{name!r} is a field the pipeline adds to every record "
                f"({', '.join(ADDED_FIELDS)}): name the column otherwise",
            )
        )
    kind = raw.get("type")
    if kind not in COLUMN_TYPES:
        found.append(_problem(f"{where}type", f"must be one of {', '.join(COLUMN_TYPES)}"))
        found += _unknown_keys(raw, _ANY_COLUMN_KEY, where)
    else:
        found += _unknown_keys(raw, COMMON_KEYS | TYPE_KEYS.get(kind, frozenset()), where)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        found.append(_problem(f"{where}required", "must be true or false"))
    if "maxLength" in raw and not _is_positive_int(raw["maxLength"]):
        found.append(_problem(f"{where}maxLength", "must be a positive integer"))
    if "pattern" in raw:
        pattern = raw["pattern"]
        if not isinstance(pattern, str) or not pattern:
            found.append(
                _problem(f"{where}pattern", "must be a non-empty regular expression string")
            )
        else:
            try:
                re.compile(pattern)
            except re.error as error:
                found.append(
                    _problem(f"{where}pattern", f"not a valid regular expression ({error})")
                )
    description = raw.get("description")
    if description is not None and not (
        isinstance(description, str) and len(description) <= MAX_DESCRIPTION
    ):
        found.append(
            _problem(f"{where}description", f"must be text of at most {MAX_DESCRIPTION} characters")
        )
    elif isinstance(description, str) and _CONTROL.search(description):
        found.append(
            _problem(f"{where}description", "must be one line: no line break or control character")
        )
    unique = raw.get("unique", False)
    if not isinstance(unique, bool):
        found.append(_problem(f"{where}unique", "must be true or false"))
    elif unique and required is not True:
        found.append(_problem(f"{where}unique", "a unique column must be required"))
    if kind == "enum":
        values = raw.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(value, str) and value for value in values)
        ):
            found.append(
                _problem(f"{where}values", "must be a non-empty list of non-empty strings")
            )
        elif len({value.upper() for value in values}) != len(values):
            found.append(_problem(f"{where}values", "values must differ ignoring case"))
    return found


def _totals_problems(raw: Any, columns: dict[str, dict[str, Any]]) -> list[str]:
    if not isinstance(raw, dict):
        return [
            _problem("totals", "must be an object naming the amount/currency/direction columns")
        ]
    found = _unknown_keys(raw, frozenset(TOTALS_KEYS), "totals.")
    good = {}
    for key in TOTALS_KEYS:
        if isinstance(raw.get(key), str) and raw[key]:
            good[key] = raw[key]
        else:
            found.append(_problem(f"totals.{key}", "must be a non-empty string"))
    for key, kind in (("amount", "amount"), ("currency", "currency"), ("direction", "enum")):
        if key not in good:
            continue
        column = columns.get(good[key])
        if column is None or column.get("type") != kind:
            found.append(_problem(f"totals.{key}", f"must name a column of type {kind}"))
        elif column.get("required") is not True:
            found.append(_problem(f"totals.{key}", f"column {good[key]!r} must be required"))
    if "debit" in good and "credit" in good:
        debit, credit = good["debit"].upper(), good["credit"].upper()
        if debit == credit:
            found.append(_problem("totals.credit", "must differ from totals.debit"))
        direction = columns.get(good.get("direction", ""))
        values = direction.get("values") if direction and direction.get("type") == "enum" else None
        if (
            isinstance(values, list)
            and all(isinstance(value, str) for value in values)
            and {debit, credit} != {value.upper() for value in values}
        ):
            found.append(
                _problem(
                    "totals.debit",
                    "totals.debit and totals.credit must be exactly the values of "
                    f"{good['direction']!r}",
                )
            )
    return found
