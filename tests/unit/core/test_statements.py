"""Bank statements (camt.053, MT940, BAI2) read as the CSV validation takes: detection,
the mapping of each format, the statement checks, safe and bounded XML."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from pathlib import Path

import pytest
from etl_handlers.contract import FORMAT_CSV, INPUT_FORMATS
from etl_handlers.core import codes
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.schema import load_schema
from etl_handlers.core.statements import (
    StatementCsv,
    csv_only,
    detect,
    parse_formats,
    statement_schema_problems,
)
from etl_handlers.core.statements import camt as camt_module
from etl_handlers.core.statements.detect import SNIFF_BYTES

from bench.statements import bai2_bytes, camt053_chunks, mt940_bytes

FILES = Path(__file__).resolve().parents[2] / "corpus" / "files"
SCHEMA = load_schema()
NS8 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def rows(data: bytes, *, schema=SCHEMA, accepted=INPUT_FORMATS, read_size: int = -1) -> list:
    reader = StatementCsv(io.BytesIO(data), schema=schema, accepted=accepted)
    out = b""
    while chunk := reader.read(read_size if read_size > 0 else 1 << 16):
        out += chunk
    return list(csv.DictReader(io.StringIO(out.decode())))


def rejected(data: bytes, **kw) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        rows(data, **kw)
    return caught.value


class Trickle(io.RawIOBase):
    """A source that hands out ``size`` bytes per read: every boundary gets crossed."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size, self._pos = data, size, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece = self._data[self._pos : self._pos + min(self._size, size if size > 0 else 1 << 30)]
        self._pos += len(piece)
        return piece


def camt(entries: str, *, balances: str = "", ns: str = NS8, account: str = "") -> bytes:
    account = account or "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        f"<Stmt><Id>S1</Id>{account}{balances}{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def ntry(amount: str = "1.00", cdi: str = "CRDT", ccy: str = "EUR", extra: str = "") -> str:
    return (
        f'<Ntry><NtryRef>R{amount.replace(".", "")}</NtryRef><Amt Ccy="{ccy}">{amount}</Amt>'
        f"<CdtDbtInd>{cdi}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>2024-01-15</Dt></BookgDt>{extra}</Ntry>"
    )


def balance(code: str, amount: str, cdi: str = "CRDT", ccy: str = "EUR") -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{amount}</Amt>'
        f"<CdtDbtInd>{cdi}</CdtDbtInd><Dt><Dt>2024-01-15</Dt></Dt></Bal>"
    )


# -- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"transaction_id,account_id\n", "csv"),
        (b"\xef\xbb\xbf" + camt(ntry())[:200], "camt.053"),
        (b":20:REF\r\n:25:X\r\n:28C:1\r\n:60F:C240101EUR1,00\r\n", "mt940"),
        (b"{1:F01BANK}{2:O940}{4:\r\n:20:REF\r\n:60F:C240101EUR1,00\r\n", "mt940"),
        (b"01,SENDER,RECEIVER,240101,0000,1,,,2/\n", "bai2"),
        (b"\x1f\x8b\x08binary", "csv"),  # unknown bytes: the CSV rules say what is wrong
    ],
)
def test_the_format_comes_from_the_first_bytes(head, fmt):
    assert detect(head, complete=True).format == fmt


@pytest.mark.parametrize(
    ("version", "readable"), [("01", False), ("02", True), ("13", True), ("14", False)]
)
def test_camt053_versions_002_to_013_are_read(version, readable):
    head = camt(ntry(), ns=f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}")
    if readable:
        assert detect(head, complete=True).label == f"camt.053 (camt.053.001.{version})"
    else:
        with pytest.raises(FileRejected) as caught:
            detect(head, complete=True)
        assert caught.value.code == codes.UNSUPPORTED_FORMAT
        assert f"camt.053.001.{version}" in caught.value.message


def test_an_unsupported_format_names_what_was_recognised():
    message = rejected(camt(ntry(), ns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09")).message
    assert "ISO 20022 message pain.001.001.09" in message
    message = rejected(b"<?xml version='1.0'?><html><body/></html>").message
    assert "root element html without a namespace" in message
    mt942 = rejected(b":20:X\r\n:25:Y\r\n:34F:EURD0,\r\n:61:240101C1,00NTRFNONREF\r\n")
    assert mt942.code == codes.UNSUPPORTED_FORMAT and "MT942" in mt942.message


def test_a_format_the_pipeline_does_not_accept_is_refused_by_name():
    error = rejected(camt(ntry()), accepted=(FORMAT_CSV,))
    assert error.code == codes.UNSUPPORTED_FORMAT
    assert error.message == (
        "recognised a camt.053 (camt.053.001.08) file; this pipeline accepts csv "
        "(its input_formats)"
    )
    assert rows(b"transaction_id\nX\n", accepted=(FORMAT_CSV,)) == [{"transaction_id": "X"}]


def test_the_big_file_path_refuses_a_statement_and_says_what_to_do():
    reader = csv_only(io.BytesIO(mt940_bytes(2)), schema=SCHEMA)
    with pytest.raises(FileRejected) as caught:
        reader.read(100)
    assert caught.value.code == codes.UNSUPPORTED_FORMAT
    assert "mt940" in caught.value.message and "LargeFiles(threshold_bytes=" in caught.value.message
    assert csv_only(io.BytesIO(b"a,b\n1,2\n"), schema=SCHEMA).read(-1) == b"a,b\n1,2\n"


def test_the_accepted_formats_setting():
    assert parse_formats(None) == parse_formats(" ") == INPUT_FORMATS
    assert parse_formats("CSV, mt940,csv") == ("csv", "mt940")
    with pytest.raises(ConfigurationError, match="input formats xls unknown"):
        parse_formats("csv,xls")


# -- safe XML --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xml-bomb.xml", "xml-external-entity.xml"])
def test_a_dtd_is_refused_before_any_parsing_in_bounded_time_and_memory(name):
    tracemalloc.start()
    started = time.process_time()
    error = rejected((FILES / name).read_bytes())
    elapsed = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert error.code == codes.UNSAFE_XML and "DOCTYPE" in error.message
    assert elapsed < 0.5 and peak < 2 << 20
    assert "passwd" not in error.message


def test_a_root_element_beyond_the_sniff_window_is_refused():
    padded = b"<?xml version='1.0'?>" + b"<!-- pad -->" * (SNIFF_BYTES // 10) + camt(ntry())[38:]
    assert rejected(padded).code == codes.UNSAFE_XML
    assert rejected(b"<?xml version='1.0'?><!-- no root -->").code == codes.MALFORMED_STATEMENT
    assert rejected(b"<?xml version='1.0'?><<<").code == codes.MALFORMED_STATEMENT


def test_an_undeclared_entity_is_malformed_not_expanded():
    error = rejected(camt(ntry(extra="<AddtlNtryInf>&secret;</AddtlNtryInf>")))
    assert error.code == codes.MALFORMED_STATEMENT and "undefined entity" in error.message


def test_a_big_statement_is_read_in_bounded_memory():
    data = b"".join(camt053_chunks(20_000, statements=2))
    assert len(data) > 9_000_000
    tracemalloc.start()
    reader = StatementCsv(io.BytesIO(data), schema=SCHEMA)
    lines = 0
    while chunk := reader.read(1 << 16):
        lines += chunk.count(b"\n")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines == 20_001
    assert peak < 3 << 20, peak  # a few chunks, never the document


# -- camt.053 --------------------------------------------------------------------------------


def test_camt053_fields_as_the_contract_maps_them():
    got = rows((FILES / "camt053-two-statements.xml").read_bytes())
    assert [r["transaction_id"] for r in got] == [
        "E2024011500001",
        "E2024011500002",
        "E2024011500003",
        "STMT-DE-2024-015-4",  # no NtryRef, no AcctSvcrRef: statement id and entry number
        "E2024011500005",
        "GB-0001",
    ]
    first, second, reversal, cash, pending, other = got
    assert first == {
        "transaction_id": "E2024011500001",
        "account_id": "DE89370400440532013000",
        "timestamp": "2024-01-15T09:12:30+01:00",
        "amount": "250.00",
        "currency": "EUR",
        "transaction_type": "CREDIT",
        "merchant": "Jürgen Müller GmbH",  # the debtor of a credit
        "category": "PMNT-RCDT-ESCT",
        "card_number": "",
        "country": "",
    }
    assert second["timestamp"] == "2024-01-15T00:00:00Z"  # a date-only booking
    assert second["merchant"] == "Café Ørsted Kopenhagen"  # the creditor of a debit
    # a reversal's CdtDbtInd is its own effect; its parties are the reversed booking's
    assert (reversal["transaction_type"], reversal["merchant"]) == ("CREDIT", "Online Shop Łódź")
    assert reversal["category"] == "NRTI+117"  # a proprietary bank transaction code
    assert cash["merchant"] == "Bareinzahlung"  # AddtlNtryInf when nothing else names it
    assert pending["timestamp"] == "2024-01-17T00:00:00Z"  # no booking date: the value date
    assert other["account_id"] == "40051512345678" and other["timestamp"].endswith("14:00:00Z")


def test_a_schema_with_the_extra_statement_columns_keeps_them():
    document = {
        "name": "statements",
        "version": 1,
        "columns": [
            *load_schema_document()["columns"],
            *(
                {"name": name, "type": "text", "maxLength": 255}
                for name in (
                    "value_date",
                    "statement_id",
                    "bank_reference",
                    "remittance_info",
                    "reversal",
                    "entry_status",
                    "source_format",
                )
            ),
        ],
        "totals": load_schema_document()["totals"],
    }
    import json

    schema = load_schema(json.dumps(document))
    assert statement_schema_problems(schema) == []
    got = rows((FILES / "camt053-two-statements.xml").read_bytes(), schema=schema)
    assert {k: got[2][k] for k in list(got[2])[10:]} == {
        "value_date": "2024-01-15",
        "statement_id": "STMT-DE-2024-015",
        "bank_reference": "",
        "remittance_info": "Storno Bestellung 99",
        "reversal": "true",
        "entry_status": "BOOK",
        "source_format": "camt.053.001.08",
    }
    assert got[0]["bank_reference"] == "BANKREF-0001"
    assert got[4]["entry_status"] == "PDNG"


def load_schema_document() -> dict:
    import json

    from etl_handlers.core.schema import _DEFAULT_PATH

    return json.loads(_DEFAULT_PATH.read_text())


def test_a_schema_statements_cannot_fill_is_refused_when_a_statement_arrives():
    import json

    document = load_schema_document()
    document["columns"] = [c for c in document["columns"] if c["name"] != "merchant"]
    document["columns"].append({"name": "branch", "type": "text", "required": True})
    document["columns"].append({"name": "reversal", "type": "enum", "values": ["true"]})
    schema = load_schema(json.dumps(document))
    assert statement_schema_problems(schema) == [
        "column merchant is missing",
        "required column branch is not a statement field",
        "column reversal must be of type text",
    ]
    error = rejected(mt940_bytes(1), schema=schema)
    assert error.code == codes.UNSUPPORTED_FORMAT
    assert "recognised a mt940 file, but the pipeline's schema cannot take statements" in (
        error.message
    )
    assert rows(b"transaction_id\nA\n", schema=schema)  # CSV files as before


def test_balances_are_checked_per_statement_in_exact_decimals():
    entries = ntry("0.10") + ntry("0.20") + ntry("0.05", "DBIT")
    ok = camt(entries, balances=balance("OPBD", "0.05", "DBIT") + balance("CLBD", "0.20"))
    assert len(rows(ok)) == 3
    bad = camt(entries, balances=balance("OPBD", "0.05", "DBIT") + balance("CLBD", "0.21"))
    error = rejected(bad)
    assert error.code == codes.BALANCE_MISMATCH
    assert error.message == (
        "statement S1: opening balance -0.05 + credits 0.30 - debits 0.05 = 0.20 EUR, "
        "but the closing balance is 0.21 EUR"
    )
    # no opening or no closing booked balance: nothing to check against
    assert len(rows(camt(entries, balances=balance("CLBD", "9.99")))) == 3


def test_an_interim_or_credit_line_balance_is_not_taken_for_a_booked_one():
    credit_line = (
        "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><CdtLine><Incl>true</Incl>"
        '<Amt Ccy="EUR">500.00</Amt></CdtLine><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<Dt><Dt>2024-01-15</Dt></Dt></Bal>"
    )
    data = camt(ntry("1.00"), balances=credit_line + balance("ITBD", "7") + balance("CLBD", "2.00"))
    assert len(rows(data)) == 1


def test_currencies_must_agree_within_a_statement():
    data = camt(ntry(), balances=balance("OPBD", "0", ccy="USD"))
    error = rejected(data)
    assert error.code == codes.CURRENCY_MISMATCH
    assert error.message == "statement S1: entry 1 is in EUR, the statement in USD"
    account = "<Acct><Id><IBAN>DE1</IBAN></Id><Ccy>CHF</Ccy></Acct>"
    assert (
        "its OPBD balance is in EUR"
        in rejected(camt(ntry(), balances=balance("OPBD", "0"), account=account)).message
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ntry(cdi="BOTH"), "entry 1 has CdtDbtInd 'BOTH'"),
        (ntry(amount="-1"), "entry 1 has no valid Amt ('-1')"),
        (ntry(amount="x"), "entry 1 has no valid Amt ('x')"),
        (ntry().replace('<Amt Ccy="EUR">1.00</Amt>', ""), "entry 1 has no valid Amt"),
    ],
)
def test_an_entry_without_a_readable_amount_or_direction_is_malformed(entry, message):
    error = rejected(camt(entry))
    assert error.code == codes.MALFORMED_STATEMENT and message in error.message


def test_a_document_without_statements_is_malformed():
    data = f'<Document xmlns="{NS8}"><BkToCstmrStmt/></Document>'.encode()
    assert "holds no Stmt" in rejected(data).message


def test_a_statement_without_entries_is_still_checked():
    data = camt("", balances=balance("OPBD", "1.00") + balance("CLBD", "2.00"))
    assert rejected(data).code == codes.BALANCE_MISMATCH
    assert rows(camt("", balances=balance("OPBD", "1.00") + balance("CLBD", "1.00"))) == []


ODD_XML = camt(
    "<!-- an entry list; </Ntry> in a comment is text -->"
    + ntry("1.00", extra="<AddtlNtryInf><![CDATA[<Ntry> & </Ntry>]]></AddtlNtryInf>")
    + "<?bank-pi keep?>"
    + ntry(
        "2.00",
        extra="<NtryDtls><TxDtls><!-- c --><RltdPties><Dbtr><Nm>A &amp; B &#x263A;</Nm></Dbtr>"
        "</RltdPties></TxDtls></NtryDtls>",
    )
    + ntry("3.00", extra="<AddtlNtryInf>Fish &amp; Chips &lt;3 &#33;</AddtlNtryInf>")
)


def prefixed(data: bytes) -> bytes:
    text = data.decode()
    text = text.replace(f'xmlns="{NS8}"', f'xmlns:c="{NS8}"')
    text = text.replace("</", "\0").replace("<", "<c:").replace("\0", "</c:")
    return text.replace("<c:?xml", "<?xml").replace("<c:!--", "<!--").replace("<c:![", "<![")


@pytest.mark.parametrize(
    "name",
    [
        "camt053-two-statements.xml",
        "camt053-v02-minimal.xml",
        "camt053-row-rejects.xml",
        "odd",
        "prefixed",
        "latin1",
        "generated",
    ],
)
def test_the_text_reader_and_the_tree_reader_give_the_same_rows(name):
    if name == "odd":
        data = ODD_XML
    elif name == "prefixed":
        data = prefixed((FILES / "camt053-two-statements.xml").read_bytes()).encode()
    elif name == "latin1":
        data = (
            (FILES / "camt053-two-statements.xml")
            .read_text()
            .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
            .replace("Łódź", "Lodz")
            .encode("latin-1")
        )
    elif name == "generated":
        data = b"".join(camt053_chunks(300, statements=3))
    else:
        data = (FILES / name).read_bytes()
    namespace = detect(data[:SNIFF_BYTES], complete=True).detail
    scanned = list(camt_module.read_camt053(Trickle(data, 97), namespace=namespace, version="v"))
    source = io.BytesIO(data)
    first = source.read(camt_module.CHUNK)
    tree = list(camt_module._read_tree(first, source, namespace=namespace, version="v"))
    assert scanned == tree and len(scanned) > 2
    assert rows(data) == rows(data, read_size=13)


def test_markup_in_entries_is_read_as_the_xml_says():
    got = rows(ODD_XML)
    assert [r["amount"] for r in got] == ["1.00", "2.00", "3.00"]
    assert got[0]["merchant"] == "<Ntry> & </Ntry>"
    assert got[1]["merchant"] == "A & B \u263a"
    assert got[2]["merchant"] == "Fish & Chips <3 !"


def test_an_unclosed_comment_or_a_truncated_document_is_malformed():
    data = (FILES / "camt053-two-statements.xml").read_bytes()
    for cut in (data[: data.index(b"</Stmt>")], data.replace(b"<Ntry>", b"<!-- <Ntry>", 1)):
        assert rejected(cut).code == codes.MALFORMED_STATEMENT


def test_an_entry_larger_than_the_limit_is_malformed(monkeypatch):
    monkeypatch.setattr(camt_module, "MAX_BLOCK_BYTES", 4096)
    big = camt(ntry(extra=f"<AddtlNtryInf>{'x' * 5000}</AddtlNtryInf>"))
    with pytest.raises(FileRejected, match="an entry longer than 0 MiB"):
        list(camt_module.read_camt053(Trickle(big, 1000), namespace=NS8, version="v"))


# -- MT940 ------------------------------------------------------------------------------------


def test_mt940_fields_as_the_contract_maps_them():
    got = rows((FILES / "mt940-two-statements.sta").read_bytes())
    assert [(r["transaction_id"], r["transaction_type"], r["amount"]) for r in got] == [
        ("RECHNUNG4711", "CREDIT", "250.00"),
        ("STMT240115A_15_1-2", "DEBIT", "45.99"),  # NONREF, no bank reference
        ("STORNO99", "CREDIT", "19.50"),  # RD: reversal of a debit, a credit
        ("STMT240115A_15_1-4", "DEBIT", "5.00"),  # RC: reversal of a credit, a debit
        ("B240115GB01", "CREDIT", "100.00"),  # NONREF: the bank's reference
    ]
    assert got[0]["account_id"] == "370400440532013000"  # :25: without its separators
    assert got[0]["merchant"] == "Jürgen Müller GmbH Rechnung 4711 vom 10.01."
    assert got[0]["category"] == "NTRF" and got[0]["timestamp"] == "2024-01-15T00:00:00Z"
    assert got[4]["account_id"] == "DE89370400440532013000"


def mt940(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def test_mt940_an_entry_date_across_new_year_belongs_to_the_right_year():
    data = mt940(
        ":20:R",
        ":25:A1",
        ":60F:C231229EUR0,",
        ":61:2401021231D1,00NMSCREF1",  # value 2024-01-02, booked 31 Dec: 2023
        ":61:2312290102C1,00NMSCREF2",  # value 2023-12-29, booked 2 Jan: 2024
        ":62F:C240102EUR0,",
    )
    got = rows(data)
    assert [r["timestamp"][:10] for r in got] == ["2023-12-31", "2024-01-02"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((":20:R", ":25:A", ":60F:C240101EUR1,", ":61:garbage"), "the :61: line at line 4"),
        ((":20:R", ":60F:X240101EUR1,", ":62F:C240101EUR1,"), ":60F: at line 2 is not D/C"),
        ((":20:R", ":61:240101C1,NTRFX", ":60F:C240101EUR1,"), "before the opening balance"),
        ((":20:R", ":60F:C240101EUR1,", ":20:S"), "has no closing balance :62F: before line 3"),
        ((":20:R", ":60F:C240101EUR1,", ":62F:C240101EUR1,", ":61:240101C1,NTRFX"), "after"),
        ((":20:R", ":60F:C240101EUR1,"), "ends without a closing balance"),
        (("{1:F01}{2:O940}{4:", ":20:R", "stray", ":60F:C240101EUR1,"), "can't happen"),
    ],
)
def test_mt940_structure_errors_are_malformed(lines, message):
    if message == "can't happen":  # a continuation line belongs to the field before it
        assert rows(mt940(*lines, ":62F:C240101EUR1,")) == []
        return
    error = rejected(mt940(*lines))
    assert error.code == codes.MALFORMED_STATEMENT and message in error.message, error.message


def test_mt940_bytes_that_are_not_utf8():
    assert rejected(mt940(":20:R", ":60F:C240101EUR1,", ":86:\xe9")[:-2] + b"\xe9").code in (
        codes.NOT_UTF8,
    )


# -- BAI2 -------------------------------------------------------------------------------------


def test_bai2_fields_as_the_contract_maps_them():
    got = rows((FILES / "bai2-two-accounts.bai").read_bytes())
    assert [
        (r["transaction_id"], r["transaction_type"], r["amount"], r["currency"]) for r in got
    ] == [
        ("BR240115001", "CREDIT", "500.00", "USD"),
        ("BR240115002", "DEBIT", "45.00", "USD"),
        ("BR240115003", "CREDIT", "16.50", "USD"),  # 252 Debit Reversal: a credit
        ("987654321_as_of_2024-01-15-1", "DEBIT", "25.00", "CAD"),
    ]
    assert got[1]["merchant"] == "Check paid 1001,Café Ørsted"  # with its 88 continuation
    assert got[0]["category"] == "165" and got[0]["timestamp"] == "2024-01-15T00:00:00Z"


def bai2(*details: str, opening: int = 0, closing: int | None = None, currency: str = "USD"):
    amounts = [int(d.split(",")[2]) for d in details]
    credit = sum(
        a for d, a in zip(details, amounts, strict=True) if 100 <= int(d.split(",")[1]) < 400
    )
    debit = sum(amounts) - credit
    closing = opening + credit - debit if closing is None else closing
    account = [f"03,ACC1,{currency},010,{opening},,,015,{closing},,/", *details]
    physical = len(account) + sum(d.count("\n") for d in details) + 1
    total = opening + closing + sum(amounts)
    return "\n".join(
        [
            "01,S,R,240101,0000,1,,,2/",
            "02,R,B,1,240101,,USD,2/",
            *account,
            f"49,{total},{physical}/",
            f"98,{total},1,{physical + 2}/",
            f"99,{total},1,{physical + 4}/",
        ]
    ).encode()


def test_bai2_funds_types_and_implied_decimals():
    data = bai2(
        "16,195,1000,V,240103,1200,BR1,CR1,value dated",
        "16,475,300,S,100,100,100,BR2,,split",
        "16,301,7,D,2,0,5,1,2,BR3,,distributed",
        currency="JPY",
    )
    got = rows(data)
    assert [(r["transaction_id"], r["amount"], r["merchant"]) for r in got] == [
        ("BR1", "1000", "value dated"),
        ("BR2", "300", "split"),
        ("BR3", "7", "distributed"),
    ]


def test_bai2_a_customer_defined_code_is_a_rejected_row_not_a_guess():
    got = rows(bai2("16,165,100,Z,BR1,,ok", "16,950,100,Z,BR2,,custom", closing=100))
    assert [r["transaction_type"] for r in got] == ["CREDIT", ""]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace(b"49,", b"49,1"), "the account trailer declares the control total"),
        (lambda d: d.replace(b"99,", b"99,9"), "the file trailer declares the control total"),
        (lambda d: d.replace(b",1,7/", b",2,7/"), "declares 2 groups, the file has 1"),
        (lambda d: d.replace(b"16,165", b"17,165"), "unknown record type '17'"),
        (lambda d: d.replace(b"02,", b"01,S/\n02,"), "a second file header"),
        (lambda d: d + b"\n01,S/", "after the file trailer (99)"),
        (lambda d: d.replace(b"02,R,B,1,240101", b"02,R,B,1,2401"), "no as-of date"),
        (lambda d: d.replace(b"03,ACC1,USD", b"03,ACC1,XXX"), "not an ISO 4217 currency"),
        (lambda d: d.replace(b"49,", b"49,x"), "is not a whole number"),
    ],
)
def test_bai2_control_records_are_checked(mutate, message):
    error = rejected(mutate(bai2("16,165,100,Z,BR1,,ok")))
    assert error.code in (codes.MALFORMED_STATEMENT, codes.CURRENCY_MISMATCH)
    assert message in error.message, error.message


def test_bai2_balances_are_checked_per_account():
    error = rejected(bai2("16,165,100,Z,BR1,,ok", opening=50, closing=151))
    assert error.code == codes.BALANCE_MISMATCH
    assert "statement ACC1 as of 2024-01-01: opening balance 0.50 + credits 1.00" in error.message


# -- throughput sanity (the figures are in bench/statements.py) -------------------------------


def test_the_bench_files_are_read_in_full():
    for data, count in ((mt940_bytes(500), 500), (bai2_bytes(500), 500)):
        assert len(rows(data)) == count


# -- edges of the readers ---------------------------------------------------------------------


def test_every_split_of_a_document_with_markup_gives_the_same_rows():
    namespace = NS8
    whole = list(camt_module.read_camt053(io.BytesIO(ODD_XML), namespace=namespace, version="v"))
    split = list(camt_module.read_camt053(Trickle(ODD_XML, 1), namespace=namespace, version="v"))
    assert split == whole and len(whole) == 4


def test_the_camt_reader_itself_refuses_a_dtd():
    with pytest.raises(FileRejected) as caught:
        list(
            camt_module.read_camt053(
                io.BytesIO((FILES / "xml-bomb.xml").read_bytes()), namespace=NS8, version="v"
            )
        )
    assert caught.value.code == codes.UNSAFE_XML


def latin1(text: str) -> bytes:
    return f'<?xml version="1.0" encoding="ISO-8859-1"?>{text}'.encode("latin-1")


def test_the_tree_reader_of_other_encodings():
    ok = latin1(
        f'<Document xmlns="{NS8}"><BkToCstmrStmt><Stmt><Id>É</Id></Stmt></BkToCstmrStmt></Document>'
    )
    assert rows(ok) == []
    empty = latin1(f'<Document xmlns="{NS8}"><BkToCstmrStmt/></Document>')
    assert "holds no Stmt" in rejected(empty).message
    truncated = latin1(f'<Document xmlns="{NS8}"><BkToCstmrStmt><Stmt><Id>É</Id>')
    assert "not well-formed or is truncated" in rejected(truncated).message


def test_the_csv_stream_reads_whole_and_into_buffers():
    data = (FILES / "mt940-two-statements.sta").read_bytes()
    whole = StatementCsv(io.BytesIO(data), schema=SCHEMA).read()
    assert whole.count(b"\n") == 6
    reader = StatementCsv(io.BytesIO(data), schema=SCHEMA)
    buffer = bytearray(10)
    assert reader.readable() and reader.readinto(buffer) == 10 and bytes(buffer) == whole[:10]
    reader.close()
    csv_reader = StatementCsv(io.BytesIO(b"a,b\n1,2\n"), schema=SCHEMA)
    assert csv_reader.read() == b"a,b\n1,2\n" and csv_reader.label == "csv"


def test_a_schema_with_other_types_or_totals_cannot_take_statements():
    import json

    document = load_schema_document()
    document["columns"][0] = {"name": "transaction_id", "type": "text"}
    document["totals"]["debit"] = "D"
    document["columns"][5]["values"] = ["D", "CREDIT"]
    assert statement_schema_problems(load_schema(json.dumps(document))) == [
        "column transaction_id must be of type identifier",
        "the totals must be those of the default schema",
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("{1:F01BANK}{2:O940}", "stray", ":20:R", ":60F:C240101EUR1,"), "line 2 is outside"),
        (("{1:F01BANK}{2:O940}{4:", ":25:A", ":20:R", ":60F:C240101EUR1,"), "before any :20:"),
        (("{1:F01BANK}{4:", ":60F:C240101EUR1,"), "before any :20:"),
        ((":20:R", ":60F:C240101EUR1,", ":86:" + "\r\nx" * 101), "runs over 100 lines"),
    ],
)
def test_mt940_more_structure_errors(lines, message):
    error = rejected(mt940(*lines))
    assert error.code == codes.MALFORMED_STATEMENT and message in error.message, error.message


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace(b"03,", b"02,R,B,1,240101,,USD,2/\n03,"), "inside an open group"),
        (lambda d: d.replace(b"03,ACC1,USD,010,0,,,015,100,,/\n", b""), "outside an account"),
        (lambda d: d.replace(b"16,165,100,Z,BR1,,ok\n", b"16,165\n"), "fewer than 4 fields"),
        (lambda d: d.replace(b"98,", b"49,0,1/\n98,"), "(49) without its account"),
        (lambda d: d.replace(b"49,", b"98,0,0,0/\n49,"), "(98) without its group, or inside"),
        (lambda d: d.replace(b"99,", b"02,R,B,1,240101,,USD,2/\n99,"), "inside an open group"),
        (lambda d: d[: d.index(b"99,")], "truncated"),
        (lambda d: d.replace(b"ok", b"\xff"), "not valid UTF-8"),
    ],
)
def test_bai2_more_structure_errors(mutate, message):
    error = rejected(mutate(bai2("16,165,100,Z,BR1,,ok")))
    assert error.code in (codes.MALFORMED_STATEMENT, codes.NOT_UTF8)
    assert message in error.message, error.message


def test_bai2_blank_lines_are_not_records():
    assert len(rows(bai2("16,165,100,Z,BR1,,ok").replace(b"\n16,", b"\n\n16,"))) == 1


def test_empty_statement_and_entry_elements():
    empty_statement = f'<Document xmlns="{NS8}"><BkToCstmrStmt><Stmt/></BkToCstmrStmt></Document>'
    assert rows(empty_statement.encode()) == []
    error = rejected(camt("<Ntry/>" + ntry()))
    assert error.code == codes.MALFORMED_STATEMENT and "entry 1 has no valid Amt" in error.message


@pytest.mark.parametrize(
    ("booked", "timestamp"),
    [
        ("2024-01-15T10:30:00.123-05:00", "2024-01-15T10:30:00.123-05:00"),
        ("2024-01-15T10:30:00+14:00", "2024-01-15T10:30:00+14:00"),
        ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"),
        ("2024-01-15T10:30:00.5", "2024-01-15T10:30:00.5Z"),  # no offset: taken as UTC
        ("2024-01-15T10:30:00", "2024-01-15T10:30:00Z"),
    ],
)
def test_a_booking_time_keeps_its_offset_or_is_taken_as_utc(booked, timestamp):
    entry = ntry().replace(
        "<BookgDt><Dt>2024-01-15</Dt></BookgDt>", f"<BookgDt><DtTm>{booked}</DtTm></BookgDt>"
    )
    assert rows(camt(entry))[0]["timestamp"] == timestamp
