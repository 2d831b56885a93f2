"""Every row rule of the default schema: a value that passes and values that fail it."""

from __future__ import annotations

import re

import pytest
from etl_handlers.core import codes
from etl_handlers.core.rules import SeenIds, full_matcher
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import (
    ARABIC_INDIC,
    FULL_WIDTH,
    GOOD,
    HEADER,
    csv_bytes,
    digits_of,
    one_code,
    row,
    validate,
)


def test_good_row_is_valid() -> None:
    assert one_code() is None


@pytest.mark.parametrize(
    "column",
    [
        name
        for name in HEADER
        if name
        in ("transaction_id", "account_id", "timestamp", "amount", "currency", "transaction_type")
    ],
)
def test_required_columns_must_not_be_empty(column: str) -> None:
    assert one_code(**{column: ""}) == codes.REQUIRED


@pytest.mark.parametrize("column", ["merchant", "category", "card_number", "country"])
def test_optional_columns_may_be_empty(column: str) -> None:
    assert one_code(**{column: ""}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a" * 64, None),
        ("A-z_09", None),
        ("a" * 65, codes.TOO_LONG),
        ("tx 1", codes.INVALID_FORMAT),
        ("tx.1", codes.INVALID_FORMAT),
        ("tx-1\n", codes.INVALID_FORMAT),
        ("tx-é", codes.INVALID_FORMAT),
    ],
)
def test_transaction_id(value: str, expected: str | None) -> None:
    assert one_code(transaction_id=value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 34, None),
        ("A" * 35, codes.TOO_LONG),
        ("ACC-1", codes.INVALID_FORMAT),
        ("ACC_1", codes.INVALID_FORMAT),
    ],
)
def test_account_id(value: str, expected: str | None) -> None:
    assert one_code(account_id=value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-29T10:00:00Z",
        "2024-02-29t10:00:00z",
        "2023-12-31T23:59:59+14:00",
        "2023-12-31T23:59:59-12:00",
        "2024-01-01T00:00:00+05:30",
        "2024-01-01T00:00:00.123456+01:00",
        "2024-01-01T00:00:00-00:00",
    ],
)
def test_timestamp_valid(value: str) -> None:
    assert one_code(timestamp=value) is None


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30T10:00:00Z",  # no such day
        "2023-02-29T10:00:00Z",  # not a leap year
        "2024-13-01T10:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T10:60:00Z",
        "2024-01-01T10:00:60Z",  # leap seconds refused
        "2024-01-01T10:00Z",  # no seconds
        "2024-01-01T10:00:00",  # no offset
        "2024-01-01 10:00:00Z",  # space instead of T
        "2024-01-01T10:00:00+0100",  # offset without colon
        "2024-01-01T10:00:00+14:01",  # east of +14:00
        "2024-01-01T10:00:00-12:30",  # west of -12:00
        "2024-01-01T10:00:00+01:60",
        "2024-01-01T10:00:00.Z",  # empty fraction
        "2024-01-01T10:00:00.1234567890Z",  # fraction past nanoseconds
        "2024-01-01",
        "20240101T100000Z",  # basic format
        digits_of(FULL_WIDTH, "2024") + "-01-01T10:00:00Z",
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
        "2024-01-01T10:00:00Z ",
        "2024/01/01T10:00:00Z",
    ],
)
def test_timestamp_invalid(value: str) -> None:
    assert one_code(timestamp=value) == codes.INVALID_TIMESTAMP


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("12.30", "USD"),
        ("12.3", "USD"),
        ("12", "USD"),
        ("0012.30", "USD"),
        ("0.01", "USD"),
        ("100", "JPY"),
        ("1.005", "BHD"),
        ("12.300", "USD"),  # trailing zeros are not precision
        ("100.0", "JPY"),
        ("9" * 18, "USD"),
    ],
)
def test_amount_valid(amount: str, currency: str) -> None:
    assert one_code(amount=amount, currency=currency) is None


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "-1.00",
        "+1.00",
        "1e3",
        "1,000.00",
        "1 000",
        ".50",
        "5.",
        "1.2.3",
        " 12.30",
        digits_of(ARABIC_INDIC, "12"),
        "1" * 19,
        "NaN",
        "Infinity",
    ],
)
def test_amount_invalid(amount: str) -> None:
    assert one_code(amount=amount) == codes.INVALID_AMOUNT


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("12.345", "USD"), ("100.5", "JPY"), ("1.0005", "BHD"), ("1.00001", "CLF")],
)
def test_amount_precision_follows_the_currency(amount: str, currency: str) -> None:
    assert one_code(amount=amount, currency=currency) == codes.AMOUNT_PRECISION


def test_amount_with_unknown_currency_is_a_currency_failure() -> None:
    assert one_code(amount="12.345", currency="ZZZ") == codes.INVALID_CURRENCY


@pytest.mark.parametrize("value", ["USD", "usd", "Eur", "BHD", "CLF"])
def test_currency_valid(value: str) -> None:
    assert one_code(currency=value) is None


@pytest.mark.parametrize(
    "value", ["US", "USDD", "ZZZ", "XAU", "XXX", "XTS", "XDR", " USD", "u\u017fd"]
)
def test_currency_invalid(value: str) -> None:
    assert one_code(currency=value) == codes.INVALID_CURRENCY


@pytest.mark.parametrize("value", ["DEBIT", "debit", "Credit"])
def test_transaction_type_valid(value: str) -> None:
    assert one_code(transaction_type=value) is None


@pytest.mark.parametrize("value", ["REFUND", "DEBITS", "D", " DEBIT"])
def test_transaction_type_invalid(value: str) -> None:
    assert one_code(transaction_type=value) == codes.INVALID_ENUM


def test_text_lengths() -> None:
    assert one_code(merchant="m" * 255) is None
    assert one_code(merchant="m" * 256) == codes.TOO_LONG
    assert one_code(category="c" * 64) is None
    assert one_code(category="c" * 65) == codes.TOO_LONG
    assert one_code(merchant="é" * 255) is None  # characters, not bytes


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111111",
        "378282246310005",
        "6011000990139424",
        "4222222222222",
        "6759649826438453",
    ],
)
def test_card_valid(value: str) -> None:
    assert one_code(card_number=value) is None


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111112",  # Luhn fails
        "41111111111",  # 11 digits
        "41111111111111111113",  # 20 digits
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        digits_of(FULL_WIDTH, "4111111111111111"),
    ],
)
def test_card_invalid(value: str) -> None:
    assert one_code(card_number=value) == codes.INVALID_CARD


@pytest.mark.parametrize("value", ["US", "us", "Gb", "DE"])
def test_country_valid(value: str) -> None:
    assert one_code(country=value) is None


@pytest.mark.parametrize("value", ["USA", "U", "XX", "ZZ", "UK"])
def test_country_invalid(value: str) -> None:
    assert one_code(country=value) == codes.INVALID_COUNTRY


def test_field_count_is_checked_first() -> None:
    data = csv_bytes([GOOD]) + b"tx-2,ACC1\n" + b"tx-3," + b",".join([b"x"] * 10) + b"\n"
    run = validate(data)
    assert run.codes == [codes.FIELD_COUNT, codes.FIELD_COUNT]
    assert [reject["column"] for reject in run.rejects] == [None, None]
    assert [reject["row"] for reject in run.rejects] == [2, 3]


def test_first_failing_column_in_schema_order_wins() -> None:
    assert one_code(amount="-1", currency="ZZZ", country="ZZ") == codes.INVALID_AMOUNT
    assert one_code(account_id="", timestamp="bad") == codes.REQUIRED
    assert one_code(timestamp="bad", transaction_id="a b") == codes.INVALID_FORMAT


def test_duplicate_id_only_against_accepted_rows() -> None:
    rows = [
        row(transaction_id="a", amount="-1"),  # rejected: does not take the id
        row(transaction_id="a"),  # accepted
        row(transaction_id="a"),  # duplicate
        row(transaction_id="A"),  # ids are case-sensitive
        row(transaction_id="a", amount="bad"),  # amount fails after the id: id rule first
    ]
    run = validate(csv_bytes(rows))
    assert [(r["row"], r["code"]) for r in run.rejects] == [
        (1, codes.INVALID_AMOUNT),
        (3, codes.DUPLICATE_ID),
        (5, codes.DUPLICATE_ID),
    ]
    assert run.result.rows_valid == 2


def test_nul_character_rejects_the_row() -> None:
    data = csv_bytes(
        [GOOD, row(transaction_id="tx-2", merchant="a\0b"), row(transaction_id="tx-3")]
    )
    run = validate(data)
    assert run.codes == [codes.NUL_CHARACTER]
    assert run.result.rows_valid == 2


def test_seen_ids() -> None:
    seen = SeenIds()
    assert "a" not in seen
    seen.add("a")
    assert "a" in seen
    assert len(seen) == 1


PATTERNS = [
    "^[A-Za-z0-9_-]+$",
    "^[A-Za-z0-9]+$",
    "^[-a-f0-9]+$",
    "^[Z-a]+$",
    "^[a-z-9]+$",  # ambiguous dash: falls back to re
    "^[_-a]+$",  # a range from a non-alphanumeric: re
    "^[a-z]{2,4}$",  # not a simple class: re
]


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    value=st.text(alphabet="aAzZ09_-.[]`\n é\u0660", min_size=1, max_size=8),
)
def test_fast_pattern_matches_like_the_regex(pattern: str, value: str) -> None:
    assert bool(full_matcher(pattern)(value)) == bool(re.fullmatch(pattern, value))


def test_simple_patterns_skip_the_regex() -> None:
    assert full_matcher("^[A-Za-z0-9_-]+$") != re.compile("^[A-Za-z0-9_-]+$").fullmatch
    assert full_matcher("^[a-z-9]+$") == re.compile("^[a-z-9]+$").fullmatch
