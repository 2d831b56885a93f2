"""The transaction schema: typed configuration the constructs pass to the handlers.

A pipeline's schema (columns, types, whether required, rules) is construct configuration.
It travels to the validator, transformer and enricher as a compact JSON document in the
``ETL_SCHEMA`` environment variable; the handlers compile it into their checks. The default,
*financial transactions v1*, is the JSON file ``etl_handlers/core/default_schema.json`` in
the handler asset: one document serves both sides.

One validator serves both sides too: :meth:`TransactionSchema.problems` applies the handlers'
own rules (``etl_handlers/core/schema_rules.py``, loaded from the handler asset) to the very
JSON document the handlers receive, so a schema accepted at synth loads at cold start.
``EtlWorkflow`` reports the problems in its one ``PropsError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ._asset import handlers_path, load_asset_module

#: Lambda allows 4 KB of environment variables in all; the schema may take at most this.
MAX_DOCUMENT_BYTES = 3072


def handler_schema_rules() -> ModuleType:
    """The handlers' schema rules, ``etl_handlers/core/schema_rules.py`` of the handler asset
    (stdlib only: loaded by file path, see :func:`~etl_constructs._asset.load_asset_module`)."""
    return load_asset_module(
        "etl_handlers/core/schema_rules.py", name="etl_constructs._handler_schema_rules"
    )


#: The column types the handlers know.
COLUMN_TYPES: tuple[str, ...] = tuple(handler_schema_rules().COLUMN_TYPES)


class SchemaError(ValueError):
    """The schema document is not usable; the message lists every problem found."""


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """One CSV column.

    ``name`` is matched against the header after trimming and lower-casing; it may not be
    one of the fields the enricher adds (``job_id``, ``source_key``, ``processed_at``,
    ``pipeline_version``, ``transaction_date``). ``description`` (one line, at most 255
    characters) becomes the column's comment in the analytics catalog. ``type`` is one
    of :data:`COLUMN_TYPES`. ``max_length`` applies to identifier and text columns,
    ``pattern`` to identifier columns, ``values`` to enum columns; ``unique`` (one required
    identifier column at most) rejects a row whose value an accepted earlier row already used.
    """

    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    pattern: str | None = None
    values: tuple[str, ...] | None = None
    unique: bool = False
    description: str | None = None

    def to_document(self, *, descriptions: bool = True) -> dict[str, Any]:
        """The column's JSON document; ``descriptions=False`` leaves the description out
        (what the handlers receive: it only feeds the catalog's column comments)."""
        # Values as given (not coerced), so the rules see what the handlers will receive.
        doc: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.required is not False:
            doc["required"] = self.required
        if self.max_length is not None:
            doc["maxLength"] = self.max_length
        if self.pattern is not None:
            doc["pattern"] = self.pattern
        if self.values is not None:
            doc["values"] = (
                list(self.values) if isinstance(self.values, (tuple, list)) else self.values
            )
        if self.unique is not False:
            doc["unique"] = self.unique
        if descriptions and self.description is not None:
            doc["description"] = self.description
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ColumnSpec:
        values = doc.get("values")
        return cls(
            name=doc.get("name", ""),
            type=doc.get("type", ""),
            required=doc.get("required", False),
            max_length=doc.get("maxLength"),
            pattern=doc.get("pattern"),
            values=tuple(values) if values is not None else None,
            unique=doc.get("unique", False),
            description=doc.get("description"),
        )


@dataclass(frozen=True, kw_only=True)
class TotalsSpec:
    """Which columns control totals are computed from, and the debit / credit values."""

    amount: str = "amount"
    currency: str = "currency"
    direction: str = "transaction_type"
    debit: str = "DEBIT"
    credit: str = "CREDIT"

    def to_document(self) -> dict[str, str]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "direction": self.direction,
            "debit": self.debit,
            "credit": self.credit,
        }


@dataclass(frozen=True, kw_only=True)
class TransactionSchema:
    """A named, versioned list of columns plus the control-totals mapping.

    Building one checks nothing: ``EtlWorkflow`` reports :meth:`problems` with its other props
    problems at synth, and :meth:`check` raises :class:`SchemaError` for a schema on its own.
    """

    name: str
    version: int
    columns: tuple[ColumnSpec, ...]
    totals: TotalsSpec = field(default_factory=TotalsSpec)

    def check(self) -> TransactionSchema:
        """Raise :class:`SchemaError` listing every problem; return the schema when fine."""
        problems = self.problems()
        if problems:
            raise SchemaError(f"schema {self.name!r} is invalid: " + "; ".join(problems))
        return self

    @classmethod
    def default(cls) -> TransactionSchema:
        """Financial transactions v1, from the handler asset's ``default_schema.json``."""
        path = handlers_path() / "etl_handlers" / "core" / "default_schema.json"
        return cls.from_document(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TransactionSchema:
        totals = doc.get("totals") or {}
        return cls(
            name=doc.get("name", ""),
            version=doc.get("version", 0),
            columns=tuple(ColumnSpec.from_document(c) for c in doc.get("columns", ())),
            totals=TotalsSpec(**{k: totals[k] for k in totals if k in TotalsSpec().to_document()}),
        )

    def to_document(self, *, descriptions: bool = True) -> dict[str, Any]:
        """The schema's JSON document (``descriptions=False``: without column descriptions)."""
        return {
            "name": self.name,
            "version": self.version,
            "columns": [c.to_document(descriptions=descriptions) for c in self.columns],
            "totals": self.totals.to_document(),
        }

    def to_json(self) -> str:
        """Compact JSON, as the handlers receive it: without column descriptions, which
        only the catalog reads (they would spend the environment variable's 4 KB)."""
        return json.dumps(
            self.to_document(descriptions=False), separators=(",", ":"), sort_keys=False
        )

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    def problems(self) -> list[str]:
        """Every reason this schema cannot be used, empty when it is fine.

        The handlers' own rules applied to :meth:`to_json` (what ``ETL_SCHEMA`` carries), then
        the size limit of a Lambda environment variable.
        """
        shape = _shape_problems(self)
        if shape:
            return shape
        try:
            document = self.to_json()
            described = json.dumps(self.to_document())
        except (TypeError, ValueError) as error:
            return [f"schema: not expressible as a JSON document ({error})"]
        found = list(handler_schema_rules().schema_problems(described))
        if not found and len(document.encode()) > MAX_DOCUMENT_BYTES:
            found.append(
                f"schema: the JSON document exceeds {MAX_DOCUMENT_BYTES} bytes "
                "(it travels in a Lambda environment variable)"
            )
        return found


def _shape_problems(schema: TransactionSchema) -> list[str]:
    """Columns that are not :class:`ColumnSpec` values (a dict of the JSON document, say):
    named here, since they have no JSON of their own to check."""
    columns = schema.columns
    if isinstance(columns, (str, bytes, Mapping)) or not isinstance(columns, (tuple, list)):
        return [
            f"schema field columns: must be a sequence of ColumnSpec, got {type(columns).__name__}"
        ]
    return [
        f"schema field columns[{index}]: must be a ColumnSpec, got {type(column).__name__}"
        + (
            " (use TransactionSchema.from_document for a JSON document)"
            if isinstance(column, Mapping)
            else ""
        )
        for index, column in enumerate(columns)
        if not isinstance(column, ColumnSpec)
    ]
