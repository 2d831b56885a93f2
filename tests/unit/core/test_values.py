"""Timestamp and amount parsing shared by validation and transform."""

from __future__ import annotations

import pytest
from etl_handlers.core.values import (
    amount_to_minor,
    format_minor,
    split_amount,
    timestamp_to_utc,
    to_minor,
)


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2024-02-29T10:00:00Z", "2024-02-29T10:00:00Z"),
        ("2024-02-29t10:00:00z", "2024-02-29T10:00:00Z"),
        ("2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z"),
        ("2024-01-01T00:30:00+14:00", "2023-12-31T10:30:00Z"),
        ("2024-12-31T23:30:00-12:00", "2025-01-01T11:30:00Z"),
        ("2024-06-15T12:00:00+05:30", "2024-06-15T06:30:00Z"),
        ("2024-06-15T12:00:00.5-01:00", "2024-06-15T13:00:00.5Z"),
        ("2024-06-15T12:00:00.123456789Z", "2024-06-15T12:00:00.123456789Z"),
        ("2024-06-15T12:00:00-00:00", "2024-06-15T12:00:00Z"),
        ("0001-01-01T00:30:00-01:00", "0001-01-01T01:30:00Z"),
    ],
)
def test_timestamp_to_utc(value: str, utc: str) -> None:
    assert timestamp_to_utc(value) == utc


def test_timestamp_rejects_garbage() -> None:
    for value in ["", "x" * 25, "2024-01-01T10:00:00+01:00x", "2024-01-01X10:00:00Z"]:
        assert timestamp_to_utc(value) is None


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("12.30", ("12", "3")),
        ("0012.300", ("12", "3")),
        ("0.50", ("", "5")),
        ("0", ("", "")),
        ("100", ("100", "")),
        ("0" * 1000 + "1", ("1", "")),
        ("-1", None),
        ("1.", None),
        (".1", None),
        ("1e2", None),
        ("1" * 19, None),
    ],
)
def test_split_amount(value: str, parts: tuple[str, str] | None) -> None:
    assert split_amount(value) == parts


def test_minor_units_round_trip() -> None:
    assert to_minor("12", "3", 2) == 1230
    assert to_minor("", "", 2) == 0
    assert to_minor("100", "", 0) == 100
    assert amount_to_minor("0012.300", 2) == 1230
    assert amount_to_minor("1.5", 3) == 1500
    assert amount_to_minor("0" * 5000 + "7", 0) == 7
    assert amount_to_minor("0.00", 2) == 0
    assert format_minor(1230, 2) == "12.30"
    assert format_minor(5, 3) == "0.005"
    assert format_minor(0, 2) == "0.00"
    assert format_minor(100, 0) == "100"
    assert format_minor(-5, 2) == "-0.05"
