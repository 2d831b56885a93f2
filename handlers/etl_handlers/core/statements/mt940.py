"""SWIFT MT940 (customer statement), read line by line.

Fields start with ``:tag:`` at the beginning of a line and run on over the following lines.
A SWIFT envelope (``{1:...}{2:...}{4:`` ... ``-}``) around each message is allowed. Each
statement is ``:20:`` .. ``:62F:``/``:62M:``; a file may hold many. Only the current field
and statement are in memory. Text is UTF-8 (ASCII, the SWIFT character set, is UTF-8).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.statements.model import (
    CREDIT,
    DEBIT,
    Entry,
    StatementEnd,
    date_only,
    fallback_id,
    malformed,
    text,
)

__all__ = ["read_mt940"]

FORMAT = "mt940"
MAX_FIELD_LINES = 100
_BALANCE = re.compile(r"([CD])(\d{6})([A-Z]{3})(\d{1,15},\d{0,4})$")
_LINE61 = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d{1,15},\d{0,4})(?P<type>[SNF][A-Z0-9]{3})"
    r"(?P<owner>.{0,16}?)(?://(?P<bank>.{0,16}))?$"
)
DIRECTIONS = {"C": CREDIT, "D": DEBIT, "RC": DEBIT, "RD": CREDIT}
"""``RC`` (reversal of a credit) is a debit, ``RD`` (reversal of a debit) a credit."""
AFTER_CLOSING = ("64", "65", "86")
"""Fields that may follow the closing balance: available balances and statement-level text."""
_TAG = re.compile(r":(\d\d[A-Z]?):")


def _date(yymmdd: str) -> str:
    """YYMMDD as an ISO date; YY is 20YY."""
    return f"20{yymmdd[:2]}-{yymmdd[2:4]}-{yymmdd[4:6]}"


def _amount(raw: str) -> Decimal:
    whole, _, fraction = raw.partition(",")
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def _fields(source: BinaryIO) -> Iterator[tuple[int, str, str]]:
    """``(line number, tag, value)`` per field; the value keeps its line ends as ``\\n``."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    tag = ""
    value: list[str] = []
    start = number = 0
    pending = ""
    while True:
        chunk = source.read(1 << 16)
        try:
            pending += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise FileRejected(
                codes.NOT_UTF8, f"mt940: the bytes after line {number} are not valid UTF-8"
            ) from None
        lines = pending.splitlines(keepends=True)
        pending = lines.pop() if chunk and lines and not lines[-1].endswith(("\n", "\r")) else ""
        for raw in lines:
            number += 1
            line = raw.rstrip("\r\n")
            if line.startswith("{"):  # a SWIFT envelope: the text block starts after {4:
                _, found, line = line.partition("{4:")
                if not found:
                    continue
            if line.startswith("-}") or line.strip() in ("-", "}"):
                continue
            found_tag = _TAG.match(line)
            if found_tag:
                if tag:
                    yield start, tag, "\n".join(value)
                tag, value, start = found_tag.group(1), [line[found_tag.end() :]], number
            elif tag and line.strip():
                if len(value) >= MAX_FIELD_LINES:
                    malformed(
                        FORMAT, f"field :{tag}: at line {start} runs over {MAX_FIELD_LINES} lines"
                    )
                value.append(line)
            elif line.strip():
                malformed(FORMAT, f"line {number} is outside any :tag: field")
        if not chunk:
            break
    if tag:
        yield start, tag, "\n".join(value)


class _Statement:
    def __init__(self, reference: str, line: int) -> None:
        self.reference = reference.strip()
        self.line = line
        self.number = ""
        self.account = ""
        self.currency = ""
        self.opening: Decimal | None = None
        self.closed = False
        self.entries = 0

    @property
    def name(self) -> str:
        return "/".join(p for p in (self.reference, self.number) if p) or f"at line {self.line}"

    def balance(self, tag: str, value: str, line: int) -> Decimal:
        found = _BALANCE.match(value.strip())
        if not found:
            malformed(
                FORMAT,
                f"statement {self.name}: :{tag}: at line {line} is not D/C, YYMMDD, currency, "
                "amount",
            )
        mark, _, currency, raw = found.groups()
        if self.currency and currency != self.currency:
            raise FileRejected(
                codes.CURRENCY_MISMATCH,
                f"statement {self.name}: the :{tag}: balance is in {currency}, the statement in "
                f"{self.currency}",
            )
        self.currency = currency
        amount = _amount(raw)
        return -amount if mark == "D" else amount


def read_mt940(source: BinaryIO) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    """Yield ``(entry, amount)`` per ``:61:`` line and a StatementEnd per statement."""
    statement: _Statement | None = None
    pending: Entry | None = None
    pending_amount = Decimal(0)
    statements = 0
    for line, tag, value in _fields(source):
        if tag == "86" and pending is not None:
            info = text(value)
            pending.merchant = info
            pending.remittance_info = info
            continue
        if pending is not None:
            yield pending, pending_amount
            pending = None
        if tag == "20":
            if statement is not None and not statement.closed:
                malformed(
                    FORMAT,
                    f"statement {statement.name} has no closing balance :62F: before line {line}",
                )
            statement = _Statement(value, line)
            statements += 1
            continue
        if statement is None:
            malformed(FORMAT, f"field :{tag}: at line {line} comes before any :20: statement")
        if statement.closed:
            if tag not in AFTER_CLOSING:
                malformed(
                    FORMAT,
                    f"statement {statement.name}: :{tag}: at line {line} after its closing balance",
                )
            continue
        if tag == "25":
            statement.account = re.sub(r"[^A-Za-z0-9]", "", value)
        elif tag == "28C":
            statement.number = value.strip()
        elif tag in ("60F", "60M"):
            statement.opening = statement.balance(tag, value, line)
        elif tag == "61":
            if statement.opening is None:
                malformed(
                    FORMAT,
                    f"statement {statement.name}: :61: at line {line} before the opening "
                    "balance :60F:",
                )
            statement.entries += 1
            pending, pending_amount = _entry(value, statement, line)
        elif tag in ("62F", "62M"):
            closing = statement.balance(tag, value, line)
            yield StatementEnd(statement.name, statement.currency, statement.opening, closing)
            statement.closed = True
    if pending is not None:  # pragma: no cover - a :61: is always followed by :62F: in a valid file
        yield pending, pending_amount
    if statement is not None and not statement.closed:
        malformed(
            FORMAT, f"statement {statement.name} ends without a closing balance :62F: (truncated?)"
        )
    if not statements:  # pragma: no cover - detection needs a :60F:, and :20: comes first
        malformed(FORMAT, "the file holds no :20: statement")


def _entry(value: str, statement: _Statement, line: int) -> tuple[Entry, Decimal]:
    first, _, rest = value.partition("\n")
    found = _LINE61.match(first.strip())
    if not found:
        malformed(
            FORMAT,
            f"statement {statement.name}: the :61: line at line {line} is not value date, "
            "[entry date], C/D/RC/RD, amount, type, reference",
        )
    value_date = _date(found["value"])
    booked = value_date
    if found["entry"]:
        month = int(found["entry"][:2])
        year = int(value_date[:4])
        value_month = int(value_date[5:7])
        if month == 12 and value_month == 1:
            year -= 1
        elif month == 1 and value_month == 12:
            year += 1
        booked = f"{year:04d}-{found['entry'][:2]}-{found['entry'][2:]}"
    owner = found["owner"].strip()
    bank = (found["bank"] or "").strip()
    reference = owner if owner and owner.upper() != "NONREF" else bank
    amount = _amount(found["amount"])
    mark = found["mark"]
    entry = Entry(
        transaction_id=reference or fallback_id(statement.name, statement.entries),
        account_id=statement.account,
        timestamp=date_only(booked),
        amount=str(amount),
        currency=statement.currency,
        transaction_type=DIRECTIONS[mark],
        category=found["type"],
        value_date=value_date,
        statement_id=statement.name,
        bank_reference=bank,
        remittance_info=text(rest),
        reversal="true" if mark.startswith("R") else "",
        source_format=FORMAT,
    )
    return entry, amount
