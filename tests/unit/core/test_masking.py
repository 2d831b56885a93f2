"""Luhn, PAN masking and scrubbing of free text."""

from __future__ import annotations

import pytest
from shared.masking import luhn_valid, mask_pan, scrub

from .conftest import ARABIC_INDIC, FULL_WIDTH, VISA, digits_of


@pytest.mark.parametrize(
    "digits",
    [
        "4111111111111111",
        "378282246310005",
        "79927398713",
        "0",
        "00",
        digits_of(ARABIC_INDIC, "4111111111111111"),
    ],
)
def test_luhn_valid(digits: str) -> None:
    assert luhn_valid(digits)
    assert luhn_valid(digits_of(FULL_WIDTH, digits))


@pytest.mark.parametrize(
    "digits", ["4111111111111112", "79927398710", "", "4111-1111", "12a4", "1"]
)
def test_luhn_invalid(digits: str) -> None:
    assert not luhn_valid(digits)
    assert not luhn_valid(digits_of(FULL_WIDTH, digits))


def test_luhn_against_a_plain_implementation() -> None:
    def reference(digits: str) -> bool:
        total = 0
        for index, char in enumerate(reversed(digits)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    for number in range(0, 100_000, 7):
        text = str(number * 7919)
        assert luhn_valid(text) == reference(text), text


def test_mask_pan() -> None:
    assert mask_pan("4111111111111111") == "************1111"
    assert mask_pan("378282246310005") == "***********0005"
    assert mask_pan("1234") == "1234"
    assert mask_pan("") == ""
    assert mask_pan("abcdef") == "**cdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111111111111111 declined", "card ************1111 declined"),
        ("card 4111 1111 1111 1111.", "card ************1111."),
        ("4111-1111-1111-1111", "************1111"),
        ("x4111111111111111y", "x************1111y"),
        (digits_of(ARABIC_INDIC, VISA), "************" + digits_of(ARABIC_INDIC, "1111")),
        # a PAN glued to other digits is still a PAN
        ("94111111111111111", "*************1111"),
        # not Luhn-valid anywhere: left alone
        ("order 123456789012", "order 123456789012"),
        # too short to be a PAN
        ("id 41111111111", "id 41111111111"),
        # two spaces are not a separator: two short runs
        ("4111  1111 1111 1111", "4111  1111 1111 1111"),
        ("", ""),
        ("short", "short"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_scrub_masks_long_runs_without_searching() -> None:
    assert scrub("1" * 65) == "*" * 61 + "1111"
    text = "1" * 1_000_000  # no window passes Luhn, and this must not take long
    assert scrub(text).endswith("*1111")


def test_scrub_checks_every_window_of_a_medium_run() -> None:
    # 30 ones: no window of 12..19 ones passes Luhn, so the run stays.
    assert scrub("1" * 30) == "1" * 30
    assert scrub("1" * 10 + "4111111111111111" + "1" * 10).endswith("1111")
    assert "4111111111111111" not in scrub("1" * 10 + "4111111111111111" + "1" * 10)
