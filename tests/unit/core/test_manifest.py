"""Sender manifests: parsing (every problem named, never a traceback) and the check of the
counted figures against the declared ones (each difference named)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from etl_handlers.core.codes import CONTROL_TOTALS_MISMATCH, MANIFEST_INVALID
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.manifest import (
    DeclaredTotals,
    HashingReader,
    Manifest,
    check_counted,
    manifest_key,
    parse_manifest,
)
from etl_handlers.core.totals import Totals

SHA = "ab" * 32


def document(**fields: object) -> bytes:
    base: dict[str, object] = {
        "rows": 3,
        "totals": {"EUR": {"count": 2, "debit": "12.30", "credit": "0.00"}},
    }
    base.update(fields)
    return json.dumps(base).encode()


def counted() -> Totals:
    totals = Totals()
    totals.add("EUR", True, 1000)
    totals.add("EUR", True, 230)
    return totals


def test_the_key_sits_beside_the_data_file() -> None:
    assert manifest_key("raw/2026/a.csv") == "raw/2026/a.csv.manifest.json"


def test_a_manifest_parses_into_minor_units() -> None:
    parsed = parse_manifest(document(sha256=SHA.upper(), sender="bank", extra=[1]))
    assert parsed == Manifest(
        rows=3, totals={"EUR": DeclaredTotals(count=2, debit=1230, credit=0)}, sha256=SHA
    )
    assert parse_manifest(b'{"rows": 0, "totals": {}}') == Manifest(rows=0, totals={})
    # more trailing zeros than the currency's minor units are the same amount
    assert parse_manifest(
        document(totals={"JPY": {"count": 1, "debit": "5.000", "credit": "0"}})
    ).totals["JPY"] == DeclaredTotals(count=1, debit=5, credit=0)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{rows: 3}", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b" " * (1024 * 1024 + 1), "larger than"),
        (document(rows=-1), '"rows" must be a whole number'),
        (document(rows="3"), '"rows" must be a whole number'),
        (document(rows=True), '"rows" must be a whole number'),
        (document(totals=[]), '"totals" must be an object'),
        (document(totals={"XXX": {"count": 1, "debit": "1", "credit": "0"}}), "ISO 4217"),
        (document(totals={"EUR": 5}), 'must be an object with "count"'),
        (document(totals={"EUR": {"count": 1, "debit": 1.5, "credit": "0"}}), "not a JSON number"),
        (document(totals={"EUR": {"count": 1, "debit": "-1", "credit": "0"}}), "decimal string"),
        (document(totals={"EUR": {"count": 1, "debit": "1.234", "credit": "0"}}), "more decimals"),
        (document(totals={"EUR": {"debit": "1", "credit": "0"}}), 'count" must be a whole'),
        (document(sha256="abc"), '"sha256" must be 64 hexadecimal digits'),
    ],
)
def test_a_malformed_manifest_is_refused_with_its_problem(data: bytes, says: str) -> None:
    with pytest.raises(FileRejected) as caught:
        parse_manifest(data, key="raw/a.csv.manifest.json")
    assert caught.value.code == MANIFEST_INVALID
    assert says in caught.value.message
    assert caught.value.message.startswith("raw/a.csv.manifest.json is not a valid manifest")


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(FileRejected) as caught:
        parse_manifest(json.dumps({"rows": "x", "totals": {"EUR": {}}, "sha256": 1}).encode())
    message = caught.value.message
    assert '"rows"' in message and "totals.EUR.count" in message and '"sha256"' in message


def test_figures_that_agree_pass() -> None:
    manifest = parse_manifest(document(sha256=SHA))
    assert check_counted(manifest, rows=3, totals=counted(), sha256=SHA) is None


@pytest.mark.parametrize(
    ("fields", "rows", "sha256", "difference"),
    [
        ({}, 4, None, "rows: declared 3, counted 4"),
        (
            {"totals": {"EUR": {"count": 3, "debit": "12.30", "credit": "0.00"}}},
            3,
            None,
            "EUR count: declared 3, counted 2",
        ),
        (
            {"totals": {"EUR": {"count": 2, "debit": "12.31", "credit": "0.00"}}},
            3,
            None,
            "EUR debit: declared 12.31, counted 12.30",
        ),
        (
            {"totals": {"EUR": {"count": 2, "debit": "12.30", "credit": "0.01"}}},
            3,
            None,
            "EUR credit: declared 0.01, counted 0.00",
        ),
        ({"totals": {}}, 3, None, "EUR: counted 2 valid row(s), none declared"),
        (
            {
                "totals": {
                    "EUR": {"count": 2, "debit": "12.30", "credit": "0.00"},
                    "USD": {"count": 1, "debit": "1.00", "credit": "0.00"},
                }
            },
            3,
            None,
            "USD count: declared 1, counted 0",
        ),
        ({"sha256": SHA}, 3, "cd" * 32, f"sha256: declared {SHA}, computed {'cd' * 32}"),
    ],
)
def test_each_difference_is_named(
    fields: dict[str, object], rows: int, sha256: str | None, difference: str
) -> None:
    found = check_counted(
        parse_manifest(document(**fields)), rows=rows, totals=counted(), sha256=sha256
    )
    assert found is not None
    assert found.code == CONTROL_TOTALS_MISMATCH
    assert difference in found.message


def test_several_differences_are_named_together() -> None:
    manifest = parse_manifest(
        document(rows=9, totals={"EUR": {"count": 2, "debit": "1.00", "credit": "0.00"}})
    )
    found = check_counted(manifest, rows=3, totals=counted(), sha256=None)
    assert found is not None
    assert "rows: declared 9, counted 3; EUR debit: declared 1.00, counted 12.30" in found.message


def test_the_hashing_reader_hashes_what_passes_and_the_rest() -> None:
    data = b"x" * 3_000_000
    reader = HashingReader(io.BytesIO(data))
    assert reader.readable()
    buffer = bytearray(10)
    assert reader.readinto(buffer) == 10 and bytes(buffer) == data[:10]
    assert reader.read(5) == data[10:15]
    # a reader that stopped early: the digest reads the rest
    assert reader.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.bytes_read == len(data)
    reader.close()
