"""The transaction schema: typed configuration the constructs pass to the handlers.

A pipeline's schema (columns, types, whether required, rules) is construct configuration.
It travels to the validator, transformer and enricher as a compact JSON document in the
``ETL_SCHEMA`` environment variable; the handlers compile it into their checks. The default,
*financial transactions v1*, is the JSON file ``etl_handlers/core/default_schema.json`` in
the handler asset: one document serves both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .runtime import handlers_path

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
#: Lambda allows 4 KB of environment variables in all; the schema may take at most this.
MAX_DOCUMENT_BYTES = 3072

_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


class SchemaError(ValueError):
    """The schema document is not usable; the message lists every problem found."""


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """One CSV column.

    ``name`` is matched against the header after trimming and lower-casing. ``type`` is one
    of :data:`COLUMN_TYPES`. ``max_length`` and ``pattern`` apply to identifier and text
    columns, ``values`` to enum columns, ``unique`` rejects a row whose value an accepted
    earlier row already used.
    """

    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    pattern: str | None = None
    values: tuple[str, ...] | None = None
    unique: bool = False

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.required:
            doc["required"] = True
        if self.max_length is not None:
            doc["maxLength"] = self.max_length
        if self.pattern is not None:
            doc["pattern"] = self.pattern
        if self.values is not None:
            doc["values"] = list(self.values)
        if self.unique:
            doc["unique"] = True
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ColumnSpec:
        values = doc.get("values")
        return cls(
            name=doc.get("name", ""),
            type=doc.get("type", ""),
            required=bool(doc.get("required", False)),
            max_length=doc.get("maxLength"),
            pattern=doc.get("pattern"),
            values=tuple(values) if values is not None else None,
            unique=bool(doc.get("unique", False)),
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
    """A named, versioned list of columns plus the control-totals mapping."""

    name: str
    version: int
    columns: tuple[ColumnSpec, ...]
    totals: TotalsSpec = field(default_factory=TotalsSpec)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SchemaError(f"schema {self.name!r} is invalid: " + "; ".join(problems))

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

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "columns": [c.to_document() for c in self.columns],
            "totals": self.totals.to_document(),
        }

    def to_json(self) -> str:
        """Compact JSON, as the handlers receive it."""
        return json.dumps(self.to_document(), separators=(",", ":"), sort_keys=False)

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    def problems(self) -> list[str]:
        """Every reason this schema cannot be used, empty when it is fine."""
        found: list[str] = []
        if not self.name:
            found.append("name is empty")
        if not isinstance(self.version, int) or self.version < 1:
            found.append("version must be a positive integer")
        if not self.columns:
            found.append("columns is empty")
        seen: set[str] = set()
        for column in self.columns:
            found.extend(_column_problems(column))
            if column.name in seen:
                found.append(f"column {column.name!r} is declared twice")
            seen.add(column.name)
        found.extend(self._totals_problems())
        if not found and len(self.to_json().encode()) > MAX_DOCUMENT_BYTES:
            found.append(
                f"the JSON document exceeds {MAX_DOCUMENT_BYTES} bytes "
                "(it travels in a Lambda environment variable)"
            )
        return found

    def _totals_problems(self) -> list[str]:
        expected = {
            "amount": ("amount",),
            "currency": ("currency",),
            "direction": ("enum",),
        }
        found = []
        for role, types in expected.items():
            name = getattr(self.totals, role)
            column = self.column(name)
            if column is None:
                found.append(f"totals.{role} names column {name!r}, which is not declared")
            elif column.type not in types:
                found.append(f"totals.{role} column {name!r} must have type {types[0]}")
            elif not column.required:
                found.append(f"totals.{role} column {name!r} must be required")
        direction = self.column(self.totals.direction)
        if direction is not None and direction.values is not None:
            for role in ("debit", "credit"):
                value = getattr(self.totals, role)
                if value.upper() not in {v.upper() for v in direction.values}:
                    found.append(
                        f"totals.{role} value {value!r} is not one of the values of "
                        f"{direction.name!r}"
                    )
        return found


def _column_problems(column: ColumnSpec) -> list[str]:
    where = f"column {column.name!r}"
    found = []
    if not _NAME.match(column.name or ""):
        found.append(f"{where}: name must be 1-64 lower-case letters, digits or underscores")
    if column.type not in COLUMN_TYPES:
        found.append(f"{where}: type {column.type!r} is not one of {', '.join(COLUMN_TYPES)}")
    if column.max_length is not None and (
        not isinstance(column.max_length, int) or column.max_length < 1
    ):
        found.append(f"{where}: max_length must be a positive integer")
    if column.type in ("identifier", "text") and column.max_length is None:
        found.append(f"{where}: {column.type} columns need max_length")
    if column.pattern is not None:
        if column.type not in ("identifier", "text"):
            found.append(f"{where}: pattern applies to identifier and text columns only")
        try:
            re.compile(column.pattern)
        except re.error as exc:
            found.append(f"{where}: pattern does not compile ({exc})")
    if column.type == "identifier" and column.pattern is None:
        found.append(f"{where}: identifier columns need a pattern")
    if column.type == "enum" and not column.values:
        found.append(f"{where}: enum columns need values")
    if column.values is not None and column.type != "enum":
        found.append(f"{where}: values apply to enum columns only")
    if column.unique and not column.required:
        found.append(f"{where}: a unique column must be required")
    return found
