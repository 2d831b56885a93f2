"""What every statement parser yields, and the statement-level checks they share.

A parser turns a file into a stream of :class:`Entry` objects and, at the end of each
statement, a :class:`StatementEnd` carrying the balances the bank declared. The checks
(opening + credits - debits = closing, the statement's currency) are the same for the three
formats and live here, in exact decimals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, NoReturn

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.statements.fields import STATEMENT_FIELDS

__all__ = [
    "CREDIT",
    "DEBIT",
    "STATEMENT_FIELDS",
    "Entry",
    "StatementEnd",
    "StatementTally",
    "date_only",
    "fallback_id",
    "malformed",
    "text",
]

CREDIT = "CREDIT"
DEBIT = "DEBIT"

DATE_ONLY_TIME = "T00:00:00Z"
"""The time and offset given to a booking that has a date only (the booking day, UTC)."""

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_TEXT = 255


@dataclass(slots=True)
class Entry:
    """One statement entry, already in the schema's terms (strings; ``""`` for absent)."""

    transaction_id: str
    account_id: str
    timestamp: str
    amount: str
    currency: str
    transaction_type: str
    merchant: str = ""
    category: str = ""
    value_date: str = ""
    statement_id: str = ""
    bank_reference: str = ""
    remittance_info: str = ""
    reversal: str = ""
    entry_status: str = ""
    source_format: str = ""
    counts_in_balance: bool = True
    """False for an entry that does not move the booked balance (camt ``PDNG``/``INFO``)."""
    blank: ClassVar[str] = ""
    """What a schema column that statements do not fill gets."""


@dataclass(frozen=True, slots=True)
class StatementEnd:
    """The end of one statement: its name, and the booked balances it declared (signed)."""

    name: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None


@dataclass(slots=True)
class StatementTally:
    """Adds up one statement's entries and checks them against its balances."""

    credits: Decimal = field(default_factory=Decimal)
    debits: Decimal = field(default_factory=Decimal)
    entries: int = 0

    def add(self, entry: Entry, amount: Decimal) -> None:
        self.entries += 1
        if not entry.counts_in_balance:
            return
        if entry.transaction_type == CREDIT:
            self.credits += amount
        else:
            self.debits += amount

    def check(self, end: StatementEnd) -> None:
        """Raise ``BALANCE_MISMATCH`` when opening + credits - debits != closing.
        A statement that declares no opening or no closing booked balance is not checked."""
        if end.opening is None or end.closing is None:
            return
        computed = end.opening + self.credits - self.debits
        if computed != end.closing:
            raise FileRejected(
                codes.BALANCE_MISMATCH,
                f"statement {end.name}: opening balance {end.opening} + credits "
                f"{self.credits} - debits {self.debits} = {computed} {end.currency}, "
                f"but the closing balance is {end.closing} {end.currency}",
            )


def malformed(fmt: str, message: str) -> NoReturn:
    """Raise ``MALFORMED_STATEMENT`` for a ``fmt`` file (FileRejected masks card numbers in it)."""
    raise FileRejected(codes.MALFORMED_STATEMENT, f"{fmt}: {message}")


def fallback_id(statement: str, number: int) -> str:
    """The id of an entry the bank gave no reference: ``{statement}-{n}`` (n from 1 in the
    statement), characters outside ``[A-Za-z0-9_-]`` replaced, at most 64 characters."""
    suffix = f"-{number}"
    base = _ID_UNSAFE.sub("_", statement).strip("_") or "stmt"
    return base[: 64 - len(suffix)] + suffix


def date_only(day: str) -> str:
    """``YYYY-MM-DD`` -> the documented timestamp of a date-only booking."""
    return day + DATE_ONLY_TIME if day else ""


def text(value: str) -> str:
    """Free text as one line of at most :data:`MAX_TEXT` characters."""
    return " ".join(value.split())[:MAX_TEXT]
