"""A bank statement and the same transactions as CSV come out of validate -> transform ->
enrich as the same enriched records, field by field where both carry the facts."""

# ruff: noqa: E501 - the CSV files below are written out as a bank would export them

from __future__ import annotations

from pathlib import Path

import pytest

from .chain import run_chain

FILES = Path(__file__).resolve().parents[1] / "corpus" / "files"

# camt053-two-statements.xml, written as CSV by hand from the document (not by the reader):
# what a bank's CSV export of those six entries holds in the default schema.
CAMT_AS_CSV = """transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category
E2024011500001,DE89370400440532013000,2024-01-15T09:12:30+01:00,250.00,EUR,CREDIT,Jürgen Müller GmbH,PMNT-RCDT-ESCT
E2024011500002,DE89370400440532013000,2024-01-15T00:00:00Z,45.99,EUR,DEBIT,Café Ørsted Kopenhagen,PMNT-CCRD-POSD
E2024011500003,DE89370400440532013000,2024-01-15T00:00:00Z,19.50,EUR,CREDIT,Online Shop Łódź,NRTI+117
STMT-DE-2024-015-4,DE89370400440532013000,2024-01-15T00:00:00Z,260.00,EUR,CREDIT,Bareinzahlung,
E2024011500005,DE89370400440532013000,2024-01-17T00:00:00Z,75.00,EUR,DEBIT,Vorgemerkte Lastschrift,
GB-0001,40051512345678,2024-01-15T14:00:00Z,100.00,GBP,CREDIT,Siân O'Brien,PMNT-RCDT-DMCT
"""

MT940_AS_CSV = """transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category
RECHNUNG4711,370400440532013000,2024-01-15T00:00:00Z,250.00,EUR,CREDIT,Jürgen Müller GmbH Rechnung 4711 vom 10.01.,NTRF
STMT240115A_15_1-2,370400440532013000,2024-01-15T00:00:00Z,45.99,EUR,DEBIT,Café Ørsted Kopenhagen,NMSC
STORNO99,370400440532013000,2024-01-15T00:00:00Z,19.50,EUR,CREDIT,Storno Lastschrift Online Shop Łódź,NTRF
STMT240115A_15_1-4,370400440532013000,2024-01-15T00:00:00Z,5.00,EUR,DEBIT,,NCHG
B240115GB01,DE89370400440532013000,2024-01-15T00:00:00Z,100.00,EUR,CREDIT,,NTRF
"""

BAI2_AS_CSV = """transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category
BR240115001,123456789,2024-01-15T00:00:00Z,500.00,USD,CREDIT,Preauthorized ACH credit Jürgen Müller,165
BR240115002,123456789,2024-01-15T00:00:00Z,45.00,USD,DEBIT,"Check paid 1001,Café Ørsted",475
BR240115003,123456789,2024-01-15T00:00:00Z,16.50,USD,CREDIT,Debit reversal Online Shop Łódź,252
987654321_as_of_2024-01-15-1,987654321,2024-01-15T00:00:00Z,25.00,CAD,DEBIT,,495
"""


@pytest.mark.parametrize(
    ("statement", "as_csv"),
    [
        ("camt053-two-statements.xml", CAMT_AS_CSV),
        ("mt940-two-statements.sta", MT940_AS_CSV),
        ("bai2-two-accounts.bai", BAI2_AS_CSV),
    ],
)
def test_a_statement_and_its_csv_give_the_same_enriched_records(statement, as_csv):
    from_statement = run_chain((FILES / statement).read_bytes())
    from_csv = run_chain(as_csv.encode())
    assert from_statement.status == from_csv.status == "SUCCEEDED", from_statement.message
    records, expected = from_statement.records(), from_csv.records()
    assert len(records) == len(expected) == len(as_csv.splitlines()) - 1
    for got, want in zip(records, expected, strict=True):
        assert got == want  # every field: the facts, normalized values, derived fields
    assert from_statement.summary["totals"] == from_csv.summary["totals"]
