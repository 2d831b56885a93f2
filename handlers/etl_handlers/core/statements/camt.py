"""camt.053 (ISO 20022 Bank-to-Customer Statement), read as a stream in bounded memory.

Every byte goes through the standard library's XML parser (expat) first, with no handler
but those that refuse a DTD and note comments, CDATA sections and processing instructions:
that pass decides well-formedness (a truncated or broken file is ``MALFORMED_STATEMENT``)
and, with detection's refusal of any ``<!DOCTYPE``, guarantees that no entity is declared,
expanded or fetched. Building a tree of every element costs about ten times that pass, so
the fields are then read from the checked bytes of one statement header or one ``Ntry`` at
a time by :class:`_Scan`, a search by element name; an entry holding a comment, a CDATA
section or a processing instruction (rare in bank files), and every document whose declared
encoding is not UTF-8, is read through ``xml.etree`` instead (:class:`_Tree`). Both answer
the same questions (:class:`_Node`), so the mapping below is written once; a test holds
them to the same rows.

Lookups name elements by path of descendants (``BookgDt/Dt``: the first ``Dt`` inside the
first ``BookgDt``), which for the elements read here is the element the schema places
there: versions 001.02 to 001.13 share them, and where they differ (``Sts`` became
``Sts/Cd`` in 001.08, party names moved under ``Pty``) both places are read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO
from xml.parsers import expat

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

__all__ = ["MAX_BLOCK_BYTES", "read_camt053"]

FORMAT = "camt.053"
CHUNK = 1 << 16
MAX_BLOCK_BYTES = 16 << 20
"""Largest statement header or single entry read (16 MiB); a larger one is malformed."""
_DIRECTION = {"CRDT": CREDIT, "DBIT": DEBIT}
OPENING = ("OPBD", "PRCD")
"""Balance types taken as the opening booked balance (the first one found)."""
CLOSING = "CLBD"
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_TAG = re.compile(rb"<(/?)((?:[A-Za-z_][\w.-]*:)?)([A-Za-z_][\w.-]*)[\s/>]")
_NAME_END_BYTES = frozenset(b">/ \t\r\n")
_CCY = re.compile(r"""\bCcy\s*=\s*["']([^"']*)["']""")
_MARKUP = re.compile(rb"<[!?]")
_NAME_END = frozenset(">/ \t\r\n")


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name[0] == "#":
            return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))
        return _NAMED[name]

    return _ENTITY.sub(one, value) if "&" in value else value


class _Text:
    """Field readers over the checked text of one statement header or entry, by regular
    expressions that follow the schema's nesting (compiled once per namespace prefix)."""

    def __init__(self, prefix: str) -> None:
        p = re.escape(prefix)

        def leaf(path: str, tail: str = r"\s*>([^<]*)<") -> re.Pattern[str]:
            *outer, last = path.split("/")
            head = "".join(rf"<{p}{name}\s*>\s*" for name in outer)
            return re.compile(head + rf"<{p}{last}" + tail)

        self.ref, self.cdi, self.rvsl = leaf("NtryRef"), leaf("CdtDbtInd"), leaf("RvslInd")
        self.amt = leaf("Amt", r"(\s[^>]*)?>([^<]*)<")
        self.sts = re.compile(rf"<{p}Sts\s*>\s*(?:<{p}Cd\s*>)?([^<]*)<")
        self.booked = re.compile(rf"<{p}BookgDt\s*>\s*<{p}(Dt|DtTm)\s*>([^<]*)<")
        self.value = re.compile(rf"<{p}ValDt\s*>\s*<{p}(Dt|DtTm)\s*>([^<]*)<")
        self.svcr_ref = leaf("AcctSvcrRef")
        self.domain = re.compile(
            rf"<{p}BkTxCd\s*>\s*<{p}Domn\s*>\s*<{p}Cd\s*>([^<]*)</{p}Cd\s*>\s*<{p}Fmly\s*>"
            rf"\s*<{p}Cd\s*>([^<]*)</{p}Cd\s*>\s*<{p}SubFmlyCd\s*>([^<]*)<"
        )
        self.proprietary = re.compile(
            rf"<{p}BkTxCd\s*>\s*(?:<{p}Domn\s*>.*?</{p}Domn\s*>\s*)?<{p}Prtry\s*>\s*"
            rf"<{p}Cd\s*>([^<]*)<",
            re.DOTALL,
        )
        self.tx_start, self.tx_end = f"<{prefix}TxDtls", f"</{prefix}TxDtls"
        self.details = f"<{prefix}NtryDtls"

        def element(name: str, inner: str = r"([^<]*)") -> str:
            return rf"<{p}{name}\s*>{inner}</{p}{name}\s*>\s*"

        date = rf"\s*<{p}(Dt|DtTm)\s*>([^<]*)</{p}(?:Dt|DtTm)\s*>\s*"
        self.head = re.compile(
            rf"<{p}Ntry(?:\s[^>]*)?>\s*(?:{element('NtryRef')})?"
            rf"<{p}Amt(\s[^>]*)?>([^<]*)</{p}Amt\s*>\s*"
            + element("CdtDbtInd")
            + f"(?:{element('RvslInd')})?"
            + element("Sts", rf"\s*(?:<{p}Cd\s*>([^<]*)</{p}Cd\s*>\s*|([^<]*))")
            + f"(?:{element('BookgDt', date)})?"
            + f"(?:{element('ValDt', date)})?"
            + f"(?:{element('AcctSvcrRef')})?"
        )
        self.parties, self.parties_end = f"<{prefix}RltdPties", f"</{prefix}RltdPties"
        self.party = re.compile(rf"<{p}(Cdtr|Dbtr)\s*>\s*(?:<{p}Pty\s*>\s*)?<{p}Nm\s*>([^<]*)<")
        self.ustrd, self.tx_info = leaf("Ustrd"), leaf("AddtlTxInf")
        self.entry_info = leaf("AddtlNtryInf")
        self.stmt_id = re.compile(rf"<{p}Stmt(?:\s[^>]*)?>\s*<{p}Id\s*>([^<]*)<")
        self.acct_start, self.acct_end = f"<{prefix}Acct>", f"</{prefix}Acct"
        self.iban, self.other_id = leaf("Id/IBAN"), leaf("Othr/Id")
        self.ccy = re.compile(
            rf"</{p}Id\s*>\s*(?:<{p}Tp\s*>.*?</{p}Tp\s*>\s*)?<{p}Ccy\s*>([^<]*)<", re.DOTALL
        )
        self.bal_start, self.bal_end = f"<{prefix}Bal>", f"</{prefix}Bal"
        self.bal_code = leaf("CdOrPrtry/Cd")
        self.bal_prtry = leaf("CdOrPrtry/Prtry")
        self.credit_line_end = f"</{prefix}CdtLine"

    @staticmethod
    def _get(
        pattern: re.Pattern[str], s: str, start: int = 0, end: int | None = None, group: int = 1
    ) -> str:
        found = pattern.search(s, start, end) if end is not None else pattern.search(s, start)
        return _unescape(found.group(group).strip()) if found else ""

    def entry(self, s: str) -> dict[str, object]:
        found_details = s.find(self.details)
        details = found_details if found_details != -1 else len(s)
        clean = _clean if "&" in s else str.strip
        head = self.head.match(s)
        if head is not None:  # the usual entry: its first elements in the schema's order
            g = head.groups()
            fields: dict[str, object] = {
                "ref": clean(g[0] or ""),
                "amt": clean(g[2]),
                "ccy": _currency(g[1]) if g[1] else "",
                "cdi": clean(g[3]),
                "rvsl": clean(g[4] or ""),
                "sts": clean(g[5] if g[5] is not None else g[6]),
                "booked": (g[7], g[8].strip()) if g[7] else ("", ""),
                "value": (g[9], g[10].strip()) if g[9] else ("", ""),
                "svcr_ref": clean(g[11] or ""),
            }
            start = head.end()
        else:
            fields = self._entry_head(s, details)
            start = 0
        domain = self.domain.search(s, start, details)
        fields["code"] = tuple(map(clean, domain.groups())) if domain else ()
        fields["proprietary"] = "" if domain else self._get(self.proprietary, s, start, details)
        info = self.entry_info.search(s, details if found_details != -1 else start)
        fields["entry_info"] = clean(info.group(1)) if info else ""
        fields["tx"] = None
        tx = s.find(self.tx_start, details)
        if tx != -1:
            end = s.find(self.tx_end, tx)
            creditor = debtor = ""
            parties = s.find(self.parties, tx, end)
            if parties != -1:
                for party in self.party.finditer(s, parties, s.find(self.parties_end, parties)):
                    if party.group(1) == "Cdtr":
                        creditor = creditor or clean(party.group(2))
                    else:
                        debtor = debtor or clean(party.group(2))
            extra = self.tx_info.search(s, tx, end)
            fields["tx"] = {
                "Cdtr": creditor,
                "Dbtr": debtor,
                "ustrd": [clean(u) for u in self.ustrd.findall(s, tx, end)],
                "tx_info": clean(extra.group(1)) if extra else "",
            }
        return fields

    def _entry_head(self, s: str, end: int) -> dict[str, object]:
        """The entry's own elements one by one, before its details (any order, any
        attributes): for the entry the one-pass expression does not match."""
        get = self._get
        amt = self.amt.search(s, 0, end)
        booked = self.booked.search(s, 0, end)
        value = self.value.search(s, 0, end)
        return {
            "ref": get(self.ref, s, 0, end),
            "amt": _clean(amt.group(2)) if amt else None,
            "ccy": _currency(amt.group(1) or "") if amt else "",
            "cdi": get(self.cdi, s, 0, end),
            "rvsl": get(self.rvsl, s, 0, end),
            "sts": get(self.sts, s, 0, end),
            "booked": (booked.group(1), booked.group(2).strip()) if booked else ("", ""),
            "value": (value.group(1), value.group(2).strip()) if value else ("", ""),
            "svcr_ref": get(self.svcr_ref, s, 0, end),
        }

    def header(self, s: str) -> dict[str, object]:
        get = self._get
        start = s.find(self.acct_start)
        end = s.find(self.acct_end, start) if start != -1 else -1
        balances = []
        position = s.find(self.bal_start)
        while position != -1:
            stop = s.find(self.bal_end, position)
            credit_line = s.find(self.credit_line_end, position, stop)
            amt = self.amt.search(s, credit_line if credit_line != -1 else position, stop)
            balances.append(
                {
                    "code": get(self.bal_code, s, position, stop),
                    "prtry": get(self.bal_prtry, s, position, stop),
                    "amt": _unescape(amt.group(2).strip()) if amt else None,
                    "ccy": _currency(amt.group(1) or "") if amt else "",
                    "cdi": get(self.cdi, s, position, stop),
                }
            )
            position = s.find(self.bal_start, stop)
        return {
            "id": get(self.stmt_id, s),
            "iban": get(self.iban, s, start, end) if start != -1 else "",
            "other_id": get(self.other_id, s, start, end) if start != -1 else "",
            "ccy": get(self.ccy, s, start, end) if start != -1 else "",
            "balances": balances,
        }


def _clean(value: str) -> str:
    return _unescape(value.strip())


def _currency(attributes: str) -> str:
    """The ``Ccy`` attribute among an ``Amt`` element's attributes."""
    if len(attributes) == 10 and attributes.startswith(' Ccy="') and attributes[9] == '"':
        return attributes[6:9]  # the usual ` Ccy="EUR"`
    found = _CCY.search(attributes)
    return _unescape(found.group(1)).strip() if found else ""


class _Tree:
    """The same fields from an ``xml.etree`` element, by the schema's paths."""

    def __init__(self, namespace: str) -> None:
        self.ns = "{" + namespace + "}"
        self._paths: dict[str, str] = {}

    def _path(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = "/".join(self.ns + part for part in path.split("/"))
        return found

    def _text(self, element: ET.Element | None, path: str) -> str:
        if element is None:
            return ""
        found = element.find(self._path(path))
        return "" if found is None or len(found) else (found.text or "").strip()

    def _either(self, element: ET.Element, path: str) -> tuple[str, str]:
        for kind in ("Dt", "DtTm"):
            value = self._text(element, f"{path}/{kind}")
            if value:
                return kind, value
        return "", ""

    def entry(self, element: ET.Element) -> dict[str, object]:
        text_of = self._text
        amt = element.find(self._path("Amt"))
        domain = element.find(self._path("BkTxCd/Domn"))
        tx = element.find(self._path("NtryDtls/TxDtls"))
        fields: dict[str, object] = {
            "ref": text_of(element, "NtryRef"),
            "amt": (amt.text or "").strip() if amt is not None and not len(amt) else None,
            "ccy": (amt.get("Ccy") or "").strip() if amt is not None else "",
            "cdi": text_of(element, "CdtDbtInd"),
            "rvsl": text_of(element, "RvslInd"),
            "sts": text_of(element, "Sts/Cd") or text_of(element, "Sts"),
            "booked": self._either(element, "BookgDt"),
            "value": self._either(element, "ValDt"),
            "svcr_ref": text_of(element, "AcctSvcrRef"),
            "code": (
                (
                    text_of(domain, "Cd"),
                    text_of(domain, "Fmly/Cd"),
                    text_of(domain, "Fmly/SubFmlyCd"),
                )
                if domain is not None
                else ()
            ),
            "proprietary": "" if domain is not None else text_of(element, "BkTxCd/Prtry/Cd"),
            "tx": None,
            "entry_info": text_of(element, "AddtlNtryInf"),
        }
        if tx is not None:
            fields["tx"] = {
                name: text_of(tx, f"RltdPties/{name}/Nm") or text_of(tx, f"RltdPties/{name}/Pty/Nm")
                for name in ("Cdtr", "Dbtr")
            } | {
                "ustrd": [(u.text or "").strip() for u in tx.iterfind(self._path("RmtInf/Ustrd"))],
                "tx_info": text_of(tx, "AddtlTxInf"),
            }
        return fields

    def header(self, element: ET.Element) -> dict[str, object]:
        text_of = self._text
        balances = []
        for balance in element.iterfind(self._path("Bal")):
            amt = balance.find(self._path("Amt"))
            balances.append(
                {
                    "code": text_of(balance, "Tp/CdOrPrtry/Cd"),
                    "prtry": text_of(balance, "Tp/CdOrPrtry/Prtry"),
                    "amt": (amt.text or "").strip() if amt is not None and not len(amt) else None,
                    "ccy": (amt.get("Ccy") or "").strip() if amt is not None else "",
                    "cdi": text_of(balance, "CdtDbtInd"),
                }
            )
        return {
            "id": text_of(element, "Id"),
            "iban": text_of(element, "Acct/Id/IBAN"),
            "other_id": text_of(element, "Acct/Id/Othr/Id"),
            "ccy": text_of(element, "Acct/Ccy"),
            "balances": balances,
        }


class _Statement:
    def __init__(self, header: dict[str, Any], number: int) -> None:
        self.name = header["id"] or f"#{number}"
        self.account = header["iban"] or header["other_id"]
        self.currency = header["ccy"].upper()
        self.opening: Decimal | None = None
        self.closing: Decimal | None = None
        for balance in header["balances"]:
            kind = (balance["code"] or balance["prtry"]).upper()
            if kind not in (*OPENING, CLOSING):
                continue
            amount, currency = self.amount(balance, f"its {kind} balance")
            if balance["cdi"] == "DBIT":
                amount = -amount
            if kind == CLOSING:
                self.closing = amount if self.closing is None else self.closing
            elif self.opening is None:
                self.opening = amount
            self.check_currency(currency, f"its {kind} balance")
        self.entries = 0

    def amount(self, fields: dict[str, Any], what: str | int) -> tuple[Decimal, str]:
        """The amount and currency of a balance or of entry number ``what``."""
        raw = fields["amt"]
        try:
            value = Decimal(raw) if raw is not None else Decimal("NaN")
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0:
            what = what if isinstance(what, str) else f"entry {what}"
            malformed(
                FORMAT, f"statement {self.name}: {what} has no valid Amt ({(raw or '')[:40]!r})"
            )
        return value, fields["ccy"].upper()

    def check_currency(self, currency: str, what: str | int) -> None:
        if currency == self.currency:
            return
        if not self.currency:
            self.currency = currency
        else:
            what = what if isinstance(what, str) else f"entry {what}"
            raise FileRejected(
                codes.CURRENCY_MISMATCH,
                f"statement {self.name}: {what} is in {currency[:3] or 'no currency'}, "
                f"the statement in {self.currency}",
            )

    def end(self) -> StatementEnd:
        return StatementEnd(self.name, self.currency, self.opening, self.closing)


def _timestamp(value: str) -> str:
    """An ISODateTime as the schema wants it: one without an offset is taken as UTC."""
    if not value or value[-1] == "Z" or (value[-3:-2] == ":" and value[-6:-5] in ("+", "-")):
        return value
    return value + "Z"


def _entry(fields: dict[str, Any], statement: _Statement, version: str) -> tuple[Entry, Decimal]:
    number = statement.entries
    amount, currency = statement.amount(fields, number)
    statement.check_currency(currency, number)
    indicator = fields["cdi"]
    direction = _DIRECTION.get(indicator)
    if direction is None:
        malformed(
            FORMAT,
            f"statement {statement.name}: entry {number} has CdtDbtInd {indicator[:10]!r}, "
            "not CRDT or DBIT",
        )
    reversal = fields["rvsl"].lower() in ("true", "1")
    status = fields["sts"].upper()
    kind, when = fields["booked"]
    booked = _timestamp(when) if kind == "DtTm" else date_only(when)
    kind, when = fields["value"]
    value = when[:10]
    reference, bank_reference = fields["ref"], fields["svcr_ref"]
    category = "-".join(filter(None, fields["code"])) or fields["proprietary"]
    tx = fields["tx"]
    remittance = party = ""
    if tx is not None:
        # the other party: who was paid on a debit, who paid on a credit (a reversal keeps
        # the parties of the booking it reverses)
        pays_out = (direction == DEBIT) != reversal
        first, second = ("Cdtr", "Dbtr") if pays_out else ("Dbtr", "Cdtr")
        party = tx[first] or tx[second]
        remittance = " ".join(u for u in tx["ustrd"] if u) or tx["tx_info"]
    info = fields["entry_info"]
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


class _Checker:
    """The well-formedness pass: expat over every byte, refusing a DTD."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._doctype

    @staticmethod
    def _doctype(*_: object) -> None:
        raise FileRejected(codes.UNSAFE_XML, "the XML declares a document type (<!DOCTYPE>)")

    def feed(self, data: bytes, final: bool) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as error:
            malformed(
                FORMAT,
                "the XML is not well-formed or is truncated "
                f"({expat.errors.messages[error.code]}, line {error.lineno}, "
                f"column {error.offset})",
            )


def read_camt053(
    source: BinaryIO, *, namespace: str, version: str
) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    """Yield ``(entry, amount)`` per entry and a StatementEnd after each statement.

    Raises FileRejected: ``MALFORMED_STATEMENT`` (not well-formed, truncated, an entry
    without a valid amount or indicator, a block over :data:`MAX_BLOCK_BYTES`),
    ``CURRENCY_MISMATCH``, ``UNSAFE_XML``.
    """
    first = source.read(CHUNK)
    declared = _ENCODING.match(first)
    if declared and declared.group(1).decode().lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
        "us-ascii",
        "ascii",
    ):
        yield from _read_tree(first, source, namespace=namespace, version=version)
        return
    yield from _read_scan(first, source, namespace=namespace, version=version)


def _markup_end(buffer: bytes, start: int) -> int | None:
    """The index after the comment, CDATA section or processing instruction at ``start``;
    None while its end has not arrived."""
    opener = buffer[start : start + 9]
    if opener.startswith(b"<?"):
        closer = b"?>"
    elif opener.startswith(b"<!--"):
        closer = b"-->"
    elif opener == b"<![CDATA[":
        closer = b"]]>"
    else:
        return None  # not all of its opener yet (a DOCTYPE never passes the checker)
    stop = buffer.find(closer, start + len(closer))
    return None if stop == -1 else stop + len(closer)


def _read_scan(
    first: bytes, source: BinaryIO, *, namespace: str, version: str
) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    checker = _Checker()
    buffer = b""
    pos = 0  # where the scan goes on in buffer
    block_start: int | None = None  # the open statement header's or entry's start
    in_entry = marked = False
    statement: _Statement | None = None
    statements = 0
    read = _Reader(namespace, "")
    close_entry = b"</Ntry"
    next_entry = re.compile(rb"\s*(<Ntry[\s>])")
    chunk = first
    while True:
        final = not chunk
        checker.feed(chunk, final)  # everything scanned below has passed the parser
        buffer += chunk
        waiting: int | None = None  # a comment, CDATA or PI whose end is still to come
        while True:
            if in_entry:  # straight to the entry's end tag
                close = buffer.find(close_entry, pos)
                while close != -1:
                    after_name = close + len(close_entry)
                    if after_name >= len(buffer):
                        close = -1  # the end tag continues in the next chunk
                    elif buffer[after_name] not in _NAME_END_BYTES:
                        close = buffer.find(close_entry, after_name)
                    else:
                        break
                markup = _MARKUP.search(buffer, pos, len(buffer) if close == -1 else close)
                if markup is not None:  # what looks like a tag inside it is text
                    after = _markup_end(buffer, markup.start())
                    if after is None:
                        waiting = markup.start()
                        break
                    pos, marked = after, True
                    continue
                end = buffer.find(b">", close) if close != -1 else -1
                if end == -1:
                    break
                assert block_start is not None and statement is not None
                statement.entries += 1
                fields = read.entry(buffer[block_start : end + 1], marked=marked)
                yield _entry(fields, statement, version)
                block_start, in_entry, pos, marked = None, False, end + 1, False
                following = next_entry.match(buffer, pos)  # the usual case: another entry
                if following is not None:
                    block_start, in_entry, pos = following.start(1), True, following.end()
                continue
            lt = buffer.find(b"<", pos)
            if lt == -1:
                break
            if buffer.startswith((b"<!", b"<?"), lt):
                after = _markup_end(buffer, lt)
                if after is None:
                    waiting = lt
                    break
                pos = after
                continue
            tag = _TAG.match(buffer, lt)
            end = buffer.find(b">", lt)
            if tag is None or end == -1:
                break  # the tag continues in the next chunk
            pos = end + 1
            closing, prefix, name = tag.groups()
            empty = buffer[end - 1] == 0x2F  # "/>": an element without content
            if name == b"Stmt" and not closing and empty:
                statements += 1
                yield _Statement(read.header(buffer[lt : end + 1]), statements).end()
            elif name == b"Stmt" and not closing:
                statements += 1
                block_start, statement = lt, None
                if read.prefix != prefix.decode():
                    read = _Reader(namespace, prefix.decode())
                close_entry = b"</" + prefix + b"Ntry"
                next_entry = re.compile(rb"\s*(<" + re.escape(prefix) + rb"Ntry[\s>])")
            elif name == b"Ntry" and not closing:
                if statement is None:
                    if block_start is None:  # pragma: no cover - an Ntry outside a Stmt
                        malformed(FORMAT, "an Ntry outside a Stmt")
                    header = buffer[block_start:lt] + b"</" + prefix + b"Stmt>"
                    statement = _Statement(read.header(header), statements)
                block_start, in_entry = lt, True
                if empty:  # an entry without its elements: malformed, said by _entry
                    statement.entries += 1
                    yield _entry(read.entry(buffer[lt : end + 1], marked=False), statement, version)
                    block_start, in_entry = None, False
            elif name == b"Stmt":  # the end of a statement
                if statement is None:  # one without entries
                    if block_start is None:  # pragma: no cover - expat
                        malformed(FORMAT, "a Stmt end without its start")
                    header = buffer[block_start : end + 1]
                    statement = _Statement(read.header(header), statements)
                yield statement.end()
                block_start, statement = None, None
        # keep only what an open block, a markup section or an unfinished tag still needs
        if block_start is not None:
            keep = block_start
        elif waiting is not None:
            keep = waiting
        else:
            last = buffer.rfind(b"<", pos)
            keep = last if last != -1 else len(buffer)
        if len(buffer) - keep > MAX_BLOCK_BYTES:
            what = "an entry" if in_entry else "a statement header or markup section"
            malformed(FORMAT, f"{what} longer than {MAX_BLOCK_BYTES >> 20} MiB")
        buffer = buffer[keep:]
        pos = max(pos - keep, 0)
        if block_start is not None:
            block_start -= keep
        if final:
            break
        chunk = source.read(CHUNK)
    if not statements:
        malformed(FORMAT, "the document holds no Stmt (statement)")


class _Reader:
    """The fields of a statement header or an entry given as checked bytes: by the text
    readers, or through the tree when the block holds markup they do not read (a comment,
    a CDATA section, a processing instruction)."""

    def __init__(self, namespace: str, prefix: str) -> None:
        self.namespace, self.prefix = namespace, prefix
        self._text = _Text(prefix)
        self._tree = _Tree(namespace)

    def _element(self, block: bytes) -> ET.Element:
        name = self.prefix[:-1]
        declared = f' xmlns:{name}="{self.namespace}"' if name else f' xmlns="{self.namespace}"'
        wrapped = f"<wrap{declared}>".encode() + block + b"</wrap>"
        # the block has passed expat already, and the document has no DTD (detection)
        return ET.fromstring(wrapped)[0]  # noqa: S314

    def entry(self, block: bytes, *, marked: bool) -> dict[str, Any]:
        """``marked``: the scan skipped a comment, CDATA section or PI inside the entry."""
        if marked:
            return self._tree.entry(self._element(block))
        return self._text.entry(block.decode("utf-8"))

    def header(self, block: bytes) -> dict[str, Any]:
        if b"<!" in block or b"<?" in block:
            return self._tree.header(self._element(block))
        return self._text.header(block.decode("utf-8"))


def _read_tree(
    first: bytes, source: BinaryIO, *, namespace: str, version: str
) -> Iterator[tuple[Entry, Decimal] | StatementEnd]:
    """The same, through ``xml.etree`` for a document in another encoding than UTF-8."""
    ns = "{" + namespace + "}"
    tree = _Tree(namespace)
    parser = ET.XMLPullParser(events=("start", "end"))
    statement: _Statement | None = None
    stmt: ET.Element | None = None
    statements = 0
    chunk = first
    while True:
        try:
            parser.feed(chunk) if chunk else parser.close()
        except ET.ParseError as error:
            line, column = error.position
            malformed(
                FORMAT, f"the XML is not well-formed or is truncated (line {line}, column {column})"
            )
        for event, element in parser.read_events():
            if event == "start":
                if element.tag == ns + "Stmt":
                    stmt, statement = element, None
                    statements += 1
                continue
            if element.tag == ns + "Ntry" and stmt is not None:
                if statement is None:
                    statement = _Statement(tree.header(stmt), statements)
                statement.entries += 1
                yield _entry(tree.entry(element), statement, version)
                stmt.remove(element)
            elif element.tag == ns + "Stmt":
                if statement is None:
                    statement = _Statement(tree.header(element), statements)
                yield statement.end()
                element.clear()
                stmt = statement = None
        if not chunk:
            break
        chunk = source.read(CHUNK)
    if not statements:
        malformed(FORMAT, "the document holds no Stmt (statement)")
