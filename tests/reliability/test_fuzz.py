"""Fuzzing the parser, the validator and the rest of the chain with hypothesis.

Bounded for CI: each test runs ``FUZZ_EXAMPLES`` examples (default 200; set the variable
higher for a longer local session). Every committed corpus file is replayed as an explicit
example first: an input that once crashed anything goes into ``tests/corpus/files`` with its
manifest entry, and from then on every run replays it.

Properties: the chain never raises, whatever the bytes; a failed file has a stable file code
and a message; rows in = valid + rejected = enriched + reject lines, ids unique; the same
rows with LF, CRLF or CR line ends give the same records; no card number from a text or
card column reaches any output.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.corpus.generate import COLUMNS

from .chain import check_invariants, run_chain
from .pans import pan_findings, pan_windows, planted_pans

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"
SEEDS = [path.read_bytes() for path in sorted(CORPUS.iterdir()) if path.stat().st_size < 65536]
HEADER = ",".join(COLUMNS)
CARD_AND_TEXT = ("merchant", "category", "card_number")


def with_seeds(test):
    for seed in SEEDS:
        test = example(seed)(test)
    return test


def card_and_text_pans(data: bytes) -> set[str]:
    """Card numbers the input holds in card or text columns (identifiers are carried as
    they are: a card number typed into an id column is not recognisable as one)."""
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        return set()
    found: set[str] = set()
    for row in rows:
        for name in CARD_AND_TEXT:
            value = row.get(name)
            if isinstance(value, str):
                found |= planted_pans(value.encode())
    return found


@FUZZ
@with_seeds
@given(st.binary(max_size=4096))
def test_any_bytes(data):
    check_invariants(data, run_chain(data))


# CSV-ish text: the characters that matter to a CSV parser, in any order.
CSV_CHARS = st.sampled_from([*",\"\r\n\0\ufeff=+-@'\t 0123456789.:TZaZé€😀", "4111111111111111"])


@FUZZ
@given(st.lists(CSV_CHARS, max_size=400).map("".join))
def test_csv_like_text_after_a_real_header(text):
    data = (HEADER + "\n" + text).encode()
    check_invariants(data, run_chain(data))


def values(column: str):
    valid = {
        "transaction_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "account_id": st.from_regex(r"[A-Za-z0-9]{1,34}", fullmatch=True),
        "timestamp": st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "amount": st.decimals(min_value="0.01", max_value="99999999", places=2).map(str),
        "currency": st.sampled_from(["USD", "eur", "GBP", "JPY", "BHD"]),
        "transaction_type": st.sampled_from(["DEBIT", "credit"]),
        "merchant": st.text(max_size=40),
        "category": st.text(max_size=10),
        "card_number": st.sampled_from(["", "4111111111111111", "378282246310005", "1234"]),
        "country": st.sampled_from(["US", "de", "", "XX"]),
    }[column]
    return st.one_of(valid, valid, valid, st.text(max_size=20))


ROWS = st.lists(st.tuples(*(values(c) for c in COLUMNS)), max_size=25)


def _csv(rows, newline: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([COLUMNS, *rows])
    return out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(ROWS, st.sampled_from(["\n", "\r\n"]))
def test_structured_rows_keep_every_row_once_and_no_card_number(rows, newline):
    try:
        data = _csv(rows, newline)
        data.decode("utf-8")
    except UnicodeError:
        return  # lone surrogates: not text a file can hold
    outcome = run_chain(data)
    check_invariants(data, outcome)
    planted = card_and_text_pans(data)
    for output in outcome.outputs():
        assert not pan_findings(output.decode("utf-8", "replace"), planted)
    if outcome.status == "SUCCEEDED":
        by_id = {r["transaction_id"]: r for r in outcome.records()}
        for row in rows:
            record = by_id.get(row[0])
            if record is not None and row[6] and not pan_windows(row[6]) and "\r" not in row[6]:
                assert record["merchant"] == row[6]  # text as sent, formulas included


@FUZZ
@given(ROWS)
def test_line_ends_do_not_change_the_records(rows):
    rows = [r for r in rows if not any(c in v for v in r for c in "\r\n")]
    try:
        variants = [_csv(rows, newline) for newline in ("\n", "\r\n", "\r")]
    except UnicodeError:
        return
    outcomes = [run_chain(data) for data in variants]
    assert len({(o.status, o.code, json.dumps(o.rows)) for o in outcomes}) == 1
    assert outcomes[0].enriched == outcomes[1].enriched == outcomes[2].enriched


def test_every_small_corpus_file_is_a_seed():
    assert len(SEEDS) >= 40
