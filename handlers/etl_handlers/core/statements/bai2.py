"""BAI2 (cash management balance reporting, version 2), read record by record.

Records: ``01`` file header, ``02`` group header (as-of date, currency), ``03`` account
identifier with its balances (type ``010`` opening ledger, ``015`` closing ledger), ``16``
transaction detail, ``88`` continuation of the record before, ``49`` account trailer, ``98``
group trailer, ``99`` file trailer. Every trailer's record count and control total is checked
(a mismatch is ``MALFORMED_STATEMENT``): they are how BAI2 tells a truncated or damaged file.
Each account section (``03`` .. ``49``) is one statement. Amounts carry no decimal point: the
currency's minor units are implied (``10050`` USD is 100.50).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
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

__all__ = ["REVERSAL_CODES", "direction", "read_bai2"]

FORMAT = "bai2"
DEFAULT_CURRENCY = "USD"
"""BAI2: a group or account without a currency code reports in US dollars."""
OPENING_LEDGER, CLOSING_LEDGER = "010", "015"
REVERSAL_CODES = frozenset({"252", "258", "395", "552", "558", "694"})
"""Detail type codes that reverse an earlier transaction (Debit Reversal, ACH Reversal
Credit, Check Reversal; Credit Reversal, ACH Reversal Debit, Deposit Reversal). Their
direction is that of their range, like every code's."""


def direction(type_code: str) -> str:
    """CREDIT for detail codes 100-399, DEBIT for 400-699; ``""`` otherwise (a
    customer-defined 9xx code whose direction the file does not say: the row is rejected)."""
    if type_code.isdigit() and 100 <= int(type_code) <= 399:
        return CREDIT
    if type_code.isdigit() and 400 <= int(type_code) <= 699:
        return DEBIT
    return ""


def _records(source: BinaryIO) -> Iterator[tuple[int, str, int]]:
    """``(line number, record with its 88 continuations joined, physical records)``."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    pending = ""
    current: list[str] = []
    start = physical = number = 0
    while True:
        chunk = source.read(1 << 16)
        try:
            pending += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise FileRejected(
                codes.NOT_UTF8, f"bai2: the bytes after line {number} are not valid UTF-8"
            ) from None
        lines = pending.splitlines()
        pending = lines.pop() if chunk and lines and not pending.endswith(("\n", "\r")) else ""
        for line in lines:
            number += 1
            line = line.strip()
            if not line:
                continue
            if line.startswith("88,"):
                if not current:  # pragma: no cover - detection: the file starts with 01
                    malformed(
                        FORMAT, f"line {number}: a continuation (88) with no record before it"
                    )
                current.append(line[3:])
                physical += 1
                continue
            if current:
                yield start, ",".join(current), physical
            current, start, physical = [line], number, 1
        if not chunk:
            break
    if current:
        yield start, ",".join(current), physical


def _fields(record: str) -> list[str]:
    return record.removesuffix("/").split(",")


@dataclass
class _Section:
    """The records and control total of one level (file, group, account)."""

    records: int = 0
    total: int = 0


def _int(value: str, what: str, line: int) -> int:
    raw = value.strip()
    try:
        return int(raw) if raw else 0
    except ValueError:
        malformed(FORMAT, f"line {line}: {what} {raw[:20]!r} is not a whole number")


def _check(
    section: _Section, fields: list[str], *, what: str, line: int, total_at: int, count_at: int
) -> None:
    declared_total = _int(
        fields[total_at] if len(fields) > total_at else "", f"the {what} control total", line
    )
    declared = _int(
        fields[count_at] if len(fields) > count_at else "", f"the {what} record count", line
    )
    if declared != section.records:
        malformed(
            FORMAT,
            f"line {line}: the {what} trailer declares {declared} records, the {what} has "
            f"{section.records}",
        )
    if declared_total != section.total:
        malformed(
            FORMAT,
            f"line {line}: the {what} trailer declares the control total {declared_total}, the "
            f"amounts add up to {section.total}",
        )


def read_bai2(source: BinaryIO) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    """Yield ``(entry, amount)`` per ``16`` record and a StatementEnd per account section."""
    file = group = account = None
    as_of = group_currency = ""
    account_id = currency = ""
    opening: Decimal | None = None
    closing: Decimal | None = None
    scale = Decimal(1)
    entries = 0
    groups_seen = 0
    ended = False
    for line, record, physical in _records(source):
        fields = _fields(record)
        kind = fields[0]
        if ended:
            malformed(FORMAT, f"line {line}: a record after the file trailer (99)")
        for section in (file, group, account):
            if section is not None:
                section.records += physical
        if kind == "01":
            if file is not None:
                malformed(FORMAT, f"line {line}: a second file header (01)")
            file = _Section(records=physical)
        elif file is None:  # pragma: no cover - detection reads BAI2 by its 01 record
            malformed(FORMAT, f"line {line}: record {kind[:4]!r} before the file header (01)")
        elif kind == "02":
            if group is not None:
                malformed(FORMAT, f"line {line}: a group header (02) inside an open group")
            group = _Section(records=physical)
            groups_seen += 1
            if len(fields) < 5 or len(fields[4]) != 6 or not fields[4].isdigit():
                malformed(FORMAT, f"line {line}: the group header (02) has no as-of date YYMMDD")
            as_of = f"20{fields[4][:2]}-{fields[4][2:4]}-{fields[4][4:6]}"
            group_currency = (fields[6].strip() if len(fields) > 6 else "") or DEFAULT_CURRENCY
        elif kind == "03":
            if group is None or account is not None:
                malformed(
                    FORMAT,
                    f"line {line}: an account identifier (03) outside a group or inside an open "
                    "account",
                )
            account = _Section(records=physical)
            account_id = fields[1].strip() if len(fields) > 1 else ""
            currency = (fields[2].strip() if len(fields) > 2 else "") or group_currency
            minor = CURRENCY_MINOR_UNITS.get(currency.upper())
            if minor is None:
                raise FileRejected(
                    codes.CURRENCY_MISMATCH,
                    f"bai2: account {account_id[:34]} at line {line} reports in "
                    f"{currency[:3]!r}, not an ISO 4217 currency with minor units",
                )
            scale = Decimal(1).scaleb(-minor)
            opening = closing = None
            entries = 0
            summaries = fields[3:]
            while len(summaries) >= 4 and summaries[0]:
                code, amount_raw, funds = summaries[0], summaries[1], summaries[3]
                amount = _int(amount_raw, f"the amount of type {code[:4]}", line)
                account.total += amount
                if code == OPENING_LEDGER:
                    opening = amount * scale
                elif code == CLOSING_LEDGER:
                    closing = amount * scale
                summaries = summaries[4 + _funds_extra(funds, summaries[4:], line) :]
        elif kind == "16":
            if account is None:
                malformed(FORMAT, f"line {line}: a transaction detail (16) outside an account")
            entries += 1
            yield _detail(record, line, account, account_id, currency, as_of, scale, entries)
        elif kind == "49":
            if account is None:
                malformed(FORMAT, f"line {line}: an account trailer (49) without its account")
            _check(account, fields, what="account", line=line, total_at=1, count_at=2)
            assert group is not None
            group.total += account.total
            name = f"{account_id} as of {as_of}"
            yield StatementEnd(name, currency.upper(), opening, closing)
            account = None
        elif kind == "98":
            if group is None or account is not None:
                malformed(
                    FORMAT,
                    f"line {line}: a group trailer (98) without its group, or inside an open "
                    "account",
                )
            _check(group, fields, what="group", line=line, total_at=1, count_at=3)
            file.total += group.total
            group = None
        elif kind == "99":
            if group is not None:
                malformed(FORMAT, f"line {line}: the file trailer (99) inside an open group")
            _check(file, fields, what="file", line=line, total_at=1, count_at=3)
            declared_groups = _int(
                fields[2] if len(fields) > 2 else "", "the number of groups", line
            )
            if declared_groups != groups_seen:
                malformed(
                    FORMAT,
                    f"line {line}: the file trailer declares {declared_groups} groups, the file "
                    f"has {groups_seen}",
                )
            ended = True
        else:
            malformed(FORMAT, f"line {line}: unknown record type {kind[:4]!r}")
    if not ended:
        malformed(FORMAT, "the file ends without its file trailer (99): truncated?")


def _funds_extra(funds: str, after: list[str], line: int) -> int:
    """How many fields follow a funds type: V: date and time; S: three amounts; D: a
    count and that many (days, amount) pairs; otherwise none."""
    funds = funds.strip().upper()
    if funds == "V":
        return 2
    if funds == "S":
        return 3
    if funds == "D":
        count = _int(after[0] if after else "", "the distribution count", line)
        return 1 + 2 * count
    return 0


def _detail(
    record: str,
    line: int,
    account: _Section,
    account_id: str,
    currency: str,
    as_of: str,
    scale: Decimal,
    number: int,
) -> tuple[Entry, Decimal]:
    fields = record.split(",")
    if len(fields) < 4:
        malformed(FORMAT, f"line {line}: the transaction detail (16) has fewer than 4 fields")
    code = fields[1].strip()
    amount_units = _int(fields[2], "the amount", line)
    account.total += amount_units
    funds = fields[3]
    extra = _funds_extra(funds, fields[4:], line)
    rest = fields[4 + extra :]
    bank = rest[0].strip() if rest else ""
    customer = rest[1].strip() if len(rest) > 1 else ""
    detail_text = ",".join(rest[2:]).removesuffix("/") if len(rest) > 2 else ""
    value_date = ""
    if funds.strip().upper() == "V" and len(fields) > 4 and len(fields[4].strip()) == 6:
        raw = fields[4].strip()
        value_date = f"20{raw[:2]}-{raw[2:4]}-{raw[4:]}"
    bank, customer = bank.removesuffix("/"), customer.removesuffix("/")
    amount = amount_units * scale
    name = f"{account_id} as of {as_of}"
    entry = Entry(
        transaction_id=bank or customer or fallback_id(name, number),
        account_id=account_id,
        timestamp=date_only(as_of),
        amount=str(amount),
        currency=currency.upper(),
        transaction_type=direction(code),
        merchant=text(detail_text),
        category=code,
        value_date=value_date,
        statement_id=name,
        bank_reference=bank,
        remittance_info=text(customer),
        reversal="true" if code in REVERSAL_CODES else "",
        source_format=FORMAT,
        counts_in_balance=bool(direction(code)),
    )
    return entry, amount
