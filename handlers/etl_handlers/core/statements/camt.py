"""camt.053 (ISO 20022 Bank-to-Customer Statement), read as a stream.

The standard library's pull parser (expat) builds one ``Ntry`` element at a time; each is
turned into an :class:`~etl_handlers.core.statements.model.Entry` and removed from its
statement at once, so memory stays bounded whatever the number of entries. Detection has
already refused a DTD (so no entity can be declared, let alone expanded or fetched), and the
parser resolves no external resource.

Versions 001.02 to 001.13 share the elements read here; where they differ (``Sts`` became
``Sts/Cd`` in 001.08, party names moved under ``Pty`` in 001.08) both places are read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
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

__all__ = ["read_camt053"]

CHUNK = 1 << 16
_OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")
_DIRECTION = {"CRDT": CREDIT, "DBIT": DEBIT}
OPENING = ("OPBD", "PRCD")
"""Balance types taken as the opening booked balance (the first one found)."""
CLOSING = "CLBD"


def _timestamp(value: str) -> str:
    """An ISODateTime as the schema wants it: one without an offset is taken as UTC."""
    if not value or _OFFSET.search(value):
        return value
    return value + "Z"


class _Paths:
    """The namespaced paths read from a statement and an entry (built once per file)."""

    def __init__(self, ns: str) -> None:
        def p(path: str) -> str:
            return "/".join(f"{{{ns}}}{part}" for part in path.split("/"))

        self.stmt, self.ntry = p("Stmt"), p("Ntry")
        self.container = p("BkToCstmrStmt")
        self.stmt_id, self.iban = p("Id"), p("Acct/Id/IBAN")
        self.other_id, self.acct_ccy = p("Acct/Id/Othr/Id"), p("Acct/Ccy")
        self.bal, self.bal_code, self.bal_prtry = p("Bal"), p("Tp/CdOrPrtry/Cd"), p("Tp/CdOrPrtry/Prtry")
        self.amt, self.cdi, self.rvsl = p("Amt"), p("CdtDbtInd"), p("RvslInd")
        self.sts, self.sts_cd = p("Sts"), p("Sts/Cd")
        self.booked_dt, self.booked_dttm = p("BookgDt/Dt"), p("BookgDt/DtTm")
        self.value_dt, self.value_dttm = p("ValDt/Dt"), p("ValDt/DtTm")
        self.ntry_ref, self.svcr_ref = p("NtryRef"), p("AcctSvcrRef")
        self.domain, self.family = p("BkTxCd/Domn/Cd"), p("BkTxCd/Domn/Fmly/Cd")
        self.sub_family, self.proprietary = p("BkTxCd/Domn/Fmly/SubFmlyCd"), p("BkTxCd/Prtry/Cd")
        self.tx = p("NtryDtls/TxDtls")
        self.creditor = (p("RltdPties/Cdtr/Nm"), p("RltdPties/Cdtr/Pty/Nm"))
        self.debtor = (p("RltdPties/Dbtr/Nm"), p("RltdPties/Dbtr/Pty/Nm"))
        self.ustrd, self.tx_info = p("RmtInf/Ustrd"), p("AddtlTxInf")
        self.entry_info = p("AddtlNtryInf")


def _first(element: ET.Element, paths: tuple[str, ...]) -> str:
    for path in paths:
        value = element.findtext(path)
        if value:
            return value.strip()
    return ""


class _Statement:
    def __init__(self, element: ET.Element, paths: _Paths, number: int) -> None:
        self.element = element
        self.name = (element.findtext(paths.stmt_id) or "").strip() or f"#{number}"
        self.account = (element.findtext(paths.iban) or element.findtext(paths.other_id) or "").strip()
        self.currency = (element.findtext(paths.acct_ccy) or "").strip().upper()
        self.opening: Decimal | None = None
        self.closing: Decimal | None = None
        for balance in element.iterfind(paths.bal):
            kind = _first(balance, (paths.bal_code, paths.bal_prtry)).upper()
            if kind not in (*OPENING, CLOSING):
                continue
            amount, currency = self.amount(balance, paths, f"its {kind} balance")
            if balance.findtext(paths.cdi, "").strip() == "DBIT":
                amount = -amount
            if kind == CLOSING:
                self.closing = amount if self.closing is None else self.closing
            elif self.opening is None:
                self.opening = amount
            self.check_currency(currency, f"its {kind} balance")
        self.entries = 0

    def amount(self, element: ET.Element, paths: _Paths, what: str) -> tuple[Decimal, str]:
        amt = element.find(paths.amt)
        raw = (amt.text or "").strip() if amt is not None else ""
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0 or amt is None:
            malformed("camt.053", f"statement {self.name}: {what} has no valid Amt ({raw[:40]!r})")
        return value, (amt.get("Ccy") or "").strip().upper()

    def check_currency(self, currency: str, what: str) -> None:
        if not self.currency:
            self.currency = currency
        elif currency != self.currency:
            raise FileRejected(
                codes.CURRENCY_MISMATCH,
                f"statement {self.name}: {what} is in {currency[:3] or 'no currency'}, "
                f"the statement in {self.currency}",
            )

    def end(self) -> StatementEnd:
        return StatementEnd(self.name, self.currency, self.opening, self.closing)


def read_camt053(
    source: BinaryIO, *, namespace: str, version: str
) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    """Yield ``(entry, amount)`` per entry and a StatementEnd after each statement.

    Raises FileRejected: ``MALFORMED_STATEMENT`` (not well-formed, truncated, an entry
    without a valid amount or indicator), ``CURRENCY_MISMATCH``.
    """
    paths = _Paths(namespace)
    parser = ET.XMLPullParser(events=("start", "end"))
    statement: _Statement | None = None
    stmt_element: ET.Element | None = None
    container: ET.Element | None = None
    statements = 0
    stmt_tag, ntry_tag, container_tag = paths.stmt, paths.ntry, paths.container
    done = False
    while not done:
        chunk = source.read(CHUNK)
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
                done = True
        except ET.ParseError as error:
            line, column = error.position
            malformed("camt.053", f"the XML is not well-formed or is truncated (line {line}, column {column}: {error})")
        for event, element in parser.read_events():
            tag = element.tag
            if event == "start":
                if tag == stmt_tag:
                    stmt_element, statement = element, None
                    statements += 1
                elif tag == container_tag:
                    container = element
                continue
            if tag == ntry_tag:
                if stmt_element is None:  # pragma: no cover - an Ntry outside Stmt is invalid XML for the namespace
                    malformed("camt.053", "an Ntry outside a Stmt")
                if statement is None:
                    statement = _Statement(stmt_element, paths, statements)
                statement.entries += 1
                yield _entry(element, statement, paths, version)
                stmt_element.remove(element)
            elif tag == stmt_tag:
                if statement is None:
                    statement = _Statement(element, paths, statements)
                yield statement.end()
                if container is not None:
                    container.remove(element)
                stmt_element = statement = None
    if not statements:
        malformed("camt.053", "the document holds no Stmt (statement)")


def _entry(element: ET.Element, statement: _Statement, paths: _Paths, version: str) -> tuple[Entry, Decimal]:
    number = statement.entries
    amount, currency = statement.amount(element, paths, f"entry {number}")
    statement.check_currency(currency, f"entry {number}")
    indicator = (element.findtext(paths.cdi) or "").strip()
    direction = _DIRECTION.get(indicator)
    if direction is None:
        malformed("camt.053", f"statement {statement.name}: entry {number} has CdtDbtInd {indicator[:10]!r}, not CRDT or DBIT")
    reversal = (element.findtext(paths.rvsl) or "").strip().lower() in ("true", "1")
    status = _first(element, (paths.sts_cd, paths.sts)).upper()
    booked = _timestamp(_first(element, (paths.booked_dttm,))) or date_only(_first(element, (paths.booked_dt,)))
    value = _first(element, (paths.value_dt,)) or _first(element, (paths.value_dttm,))[:10]
    reference = _first(element, (paths.ntry_ref,))
    bank_reference = _first(element, (paths.svcr_ref,))
    domain = _first(element, (paths.domain,))
    if domain:
        category = "-".join(c for c in (domain, _first(element, (paths.family,)), _first(element, (paths.sub_family,))) if c)
    else:
        category = _first(element, (paths.proprietary,))
    tx = element.find(paths.tx)
    remittance = party = ""
    if tx is not None:
        # the other party: who was paid on a debit, who paid on a credit (a reversal keeps
        # the parties of the booking it reverses)
        pays_out = (direction == DEBIT) != reversal
        party = _first(tx, paths.creditor if pays_out else paths.debtor) or _first(
            tx, paths.debtor if pays_out else paths.creditor
        )
        remittance = " ".join(u.text or "" for u in tx.iterfind(paths.ustrd)) or _first(tx, (paths.tx_info,))
    info = _first(element, (paths.entry_info,))
    entry = Entry(
        transaction_id=reference or bank_reference or fallback_id(statement.name, number),
        account_id=statement.account,
        timestamp=booked or date_only(value),
        amount=str(amount),
        currency=currency,
        transaction_type=direction,
        merchant=text(party or remittance or info),
        category=text(category)[:64],
        value_date=value,
        statement_id=statement.name,
        bank_reference=bank_reference,
        remittance_info=text(remittance or info),
        reversal="true" if reversal else "",
        entry_status=status,
        source_format=version,
        counts_in_balance=status in ("", "BOOK"),
    )
    return entry, amount
