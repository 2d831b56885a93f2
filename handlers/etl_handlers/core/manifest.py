"""Sender manifests: the control totals a sender declares for a data file, and the check of
what validation counted against them. Standard library only.

A data file ``raw/<name>`` has its manifest at ``raw/<name>.manifest.json``::

    {"rows": 3,
     "totals": {"EUR": {"count": 2, "debit": "123.45", "credit": "0.00"},
                "USD": {"count": 1, "debit": "0.00", "credit": "9.99"}},
     "sha256": "<64 hex digits of the data file's SHA-256>"}

``rows`` counts the data rows (valid plus rejected), ``totals`` the valid rows per currency
with their debit and credit sums as exact decimal strings (the figures of the job's
``totals.validate``), ``sha256`` is optional. Other keys are ignored. Also here: the
SHA-256 of the data file, taken while validation reads it (:class:`HashingReader`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from etl_handlers.contract import MANIFEST_SUFFIX
from etl_handlers.core.codes import CONTROL_TOTALS_MISMATCH, MANIFEST_INVALID
from etl_handlers.core.csvio import ReadsInto
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.totals import Totals
from etl_handlers.core.values import format_minor

__all__ = [
    "MAX_MANIFEST_BYTES",
    "DeclaredTotals",
    "HashingReader",
    "Manifest",
    "check_counted",
    "check_sha256",
    "manifest_key",
    "mismatch",
    "parse_manifest",
]

MAX_MANIFEST_BYTES = 1024 * 1024
"""A manifest is a few hundred bytes; a bigger object is refused before it is parsed."""
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_AMOUNT = re.compile(r"^[0-9]{1,18}(\.[0-9]+)?$")


def manifest_key(data_key: str) -> str:
    """``raw/<name>`` -> ``raw/<name>.manifest.json``."""
    return data_key + MANIFEST_SUFFIX


@dataclass(frozen=True)
class DeclaredTotals:
    """One currency's declared figures, amounts in the currency's minor units."""

    count: int
    debit: int
    credit: int


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: ``rows``, ``totals`` by currency, ``sha256`` (lower case) or None."""

    rows: int
    totals: Mapping[str, DeclaredTotals] = field(default_factory=dict)
    sha256: str | None = None


def parse_manifest(data: bytes, *, key: str = "the manifest") -> Manifest:
    """Parse a manifest's bytes; raises :class:`FileRejected` (``MANIFEST_INVALID``) listing
    every problem found."""
    if len(data) > MAX_MANIFEST_BYTES:
        _invalid(key, [f"it is larger than {MAX_MANIFEST_BYTES} bytes"])
    try:
        # utf-8-sig: a byte order mark (Windows editors write one) is not part of the JSON
        document = json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        _invalid(key, ["it is not UTF-8"])
    except ValueError as exc:
        _invalid(key, [f"it is not JSON ({exc.__class__.__name__} at {_where(exc)})"])
    except RecursionError:
        _invalid(key, ["it is nested deeper than a manifest can be"])
    if not isinstance(document, dict):
        _invalid(key, ["it must be a JSON object"])
    problems: list[str] = []
    rows = _count(document.get("rows"), "rows", problems)
    totals: dict[str, DeclaredTotals] = {}
    declared = document.get("totals")
    if not isinstance(declared, dict):
        problems.append('"totals" must be an object of currencies (may be empty: {})')
        declared = {}
    for currency, figures in declared.items():
        parsed = _currency(_shown(str(currency)), figures, problems)
        if parsed is not None:
            totals[str(currency)] = parsed
    sha256 = document.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
        problems.append('"sha256" must be 64 hexadecimal digits')
        sha256 = None
    if problems:
        _invalid(key, problems)
    return Manifest(rows=rows, totals=totals, sha256=sha256.lower() if sha256 else None)


def check_counted(
    manifest: Manifest, *, rows: int, totals: Totals, sha256: str | None
) -> FileRejected | None:
    """Compare what validation counted (data rows read, totals of the valid rows, the
    file's SHA-256) with ``manifest``; a ``CONTROL_TOTALS_MISMATCH`` naming each difference,
    or None when everything agrees."""
    differences: list[str] = []
    if rows != manifest.rows:
        differences.append(f"rows: declared {manifest.rows}, counted {rows}")
    for currency in sorted(set(manifest.totals) | set(totals.currencies())):
        count, debit, credit = totals.figures(currency)
        declared = manifest.totals.get(currency)
        if declared is None:
            differences.append(f"{currency}: counted {count} valid row(s), none declared")
            continue
        minor = CURRENCY_MINOR_UNITS[currency]
        if count != declared.count:
            differences.append(f"{currency} count: declared {declared.count}, counted {count}")
        for name, want, got in (
            ("debit", declared.debit, debit),
            ("credit", declared.credit, credit),
        ):
            if want != got:
                differences.append(
                    f"{currency} {name}: declared {format_minor(want, minor)}, "
                    f"counted {format_minor(got, minor)}"
                )
    differences += check_sha256(manifest, sha256=sha256)
    return mismatch(differences)


def check_sha256(manifest: Manifest, *, sha256: str | None) -> list[str]:
    """The SHA-256 difference, if the manifest declares one (a big file's preflight checks
    it before any part is read)."""
    if manifest.sha256 is not None and sha256 != manifest.sha256:
        return [f"sha256: declared {manifest.sha256}, computed {sha256}"]
    return []


def mismatch(differences: list[str]) -> FileRejected | None:
    """``CONTROL_TOTALS_MISMATCH`` naming ``differences``; None when there are none."""
    if not differences:
        return None
    return FileRejected(
        CONTROL_TOTALS_MISMATCH,
        "the file does not match its manifest: " + "; ".join(differences),
    )


class HashingReader(ReadsInto):
    """A binary stream that hands on what it reads from ``source`` and hashes it (SHA-256),
    so the content hash costs no second read."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self._hash.update(data)
        self.bytes_read += len(data)
        return bytes(data)

    def hexdigest(self) -> str:
        """The SHA-256 of the whole stream: what was not read yet is read (and hashed) first.
        A reader that stopped early (a file rule) costs the rest of the file."""
        while self.read(1 << 20):
            pass
        return self._hash.hexdigest()

    def close(self) -> None:
        self._source.close()


def _invalid(key: str, problems: list[str]) -> Any:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    raise FileRejected(MANIFEST_INVALID, f"{key} is not a valid manifest: {text}")


#: Problems a MANIFEST_INVALID message lists (the job record and the execution's state hold
#: it: a manifest with thousands of bad currencies must not outgrow them).
MAX_PROBLEMS_SHOWN = 20
_SHOWN_CHARACTERS = 40


def _shown(value: str) -> str:
    """A value of the manifest as a message names it: at most 40 characters."""
    return value if len(value) <= _SHOWN_CHARACTERS else value[: _SHOWN_CHARACTERS - 1] + "…"


def _where(exc: ValueError) -> str:
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    return f"line {line} column {column}" if line is not None else "an unknown position"


def _count(value: Any, name: str, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f'"{name}" must be a whole number >= 0')
        return 0
    return value


def _currency(currency: str, figures: Any, problems: list[str]) -> DeclaredTotals | None:
    where = f'"totals.{currency}"'
    minor = CURRENCY_MINOR_UNITS.get(currency)
    if minor is None:
        problems.append(f"{where}: not an active ISO 4217 currency code (upper case)")
        return None
    if not isinstance(figures, dict):
        problems.append(f'{where} must be an object with "count", "debit" and "credit"')
        return None
    found = len(problems)
    count = _count(figures.get("count"), f"totals.{currency}.count", problems)
    amounts = [
        _amount(figures.get(name), f'{where[:-1]}.{name}"', minor, problems)
        for name in ("debit", "credit")
    ]
    if len(problems) > found:
        return None
    return DeclaredTotals(count=count, debit=amounts[0], credit=amounts[1])


def _amount(value: Any, where: str, minor: int, problems: list[str]) -> int:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        problems.append(f'{where} must be a decimal string such as "123.45" (not a JSON number)')
        return 0
    try:
        scaled = Decimal(value).scaleb(minor)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        problems.append(f"{where} is not a decimal")
        return 0
    if scaled != scaled.to_integral_value():
        problems.append(f"{where} has more decimals than the currency's {minor}")
        return 0
    return int(scaled)
