"""Luhn, PAN masking and scrubbing of free text."""

from __future__ import annotations

import re
import sys
import time
import unicodedata

import pytest
from etl_handlers.core.masking import (
    SEPARATORS,
    card_numbers_in_name,
    luhn_valid,
    mask_card_numbers_in_name,
    mask_pan,
    scrub,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.pans import (
    DIGIT_ZEROS,
    GAPS,
    SEPARATOR_CHARS,
    pan_findings,
    pan_windows,
    written_pans,
)

from .conftest import ARABIC_INDIC, FULL_WIDTH, VISA, digits_of

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
        # the audit's two: dots, and two spaces
        ("4526.7805.3117.0466", "************0466"),
        ("4267  9037  1281  0485", "************0485"),
        # every kind of separator, up to three of them between two digits
        ("4111/1111/1111/1111", "************1111"),
        ("4111_1111_1111_1111", "************1111"),
        ("4111\t1111\t1111\t1111", "************1111"),
        ("4111 - 1111 - 1111 - 1111", "************1111"),
        ("4111\u00a01111\u202f1111\u20091111", "************1111"),
        ("4111\u20131111\u22121111\u20101111", "************1111"),
        ("4111\u200b1111\u00ad1111\u200f1111", "************1111"),
        ("41\uff0e11\uff0f1111\uff3f1111\u30001111", "************1111"),
        ("4111 1111-1111.1111/", "************1111/"),
        (
            digits_of(FULL_WIDTH, "4111\uff0d1111\uff0d1111\uff0d1111"),
            "*" * 12 + digits_of(FULL_WIDTH, "1111"),
        ),
        # four separators, a line break, a comma or a colon end a run: two short runs
        ("4111    1111 1111 1111", "4111    1111 1111 1111"),
        ("4111 -- 1111 1111 1111", "4111 -- 1111 1111 1111"),
        ("4111\n1111\n1111\n1111", "4111\n1111\n1111\n1111"),
        ("4111,1111,1111,1111", "4111,1111,1111,1111"),
        ("4111:1111:1111:1111", "4111:1111:1111:1111"),
        # ordinary numbers with separators survive
        ("paid 12.30 on 2024-01-15 at 10.15", "paid 12.30 on 2024-01-15 at 10.15"),
        ("call +1 415-555-0123 or 15/01/2024", "call +1 415-555-0123 or 15/01/2024"),
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


def test_separators_are_spaces_dashes_invisible_characters_dots_slashes_underscores() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    found = set(re.findall(SEPARATORS, every))
    assert set(SEPARATOR_CHARS) <= found  # the test-side rule, from the Unicode categories
    # anything more is unassigned here (a separator in a newer Unicode)
    assert {unicodedata.category(char) for char in found - set(SEPARATOR_CHARS)} <= {"Cn"}
    # never a digit (each character is one or the other: runs are matched in linear time),
    # never a line break
    assert not found & {*filter(str.isdecimal, every), *"\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


@SETTINGS
@given(
    st.sampled_from(sorted(GAPS)).flatmap(written_pans), st.text(max_size=4), st.text(max_size=4)
)
def test_scrub_masks_a_card_number_written_any_way(
    written: tuple[str, str], before: str, after: str
) -> None:
    text, digits = written
    scrubbed = scrub(before + text + after)
    assert not pan_findings(scrubbed, {digits})


@SETTINGS
@given(st.text(alphabet="0123456789", min_size=12, max_size=70), st.sampled_from(DIGIT_ZEROS))
def test_scrub_masks_a_run_exactly_when_a_window_passes_luhn(digits: str, zero: str) -> None:
    text = digits_of(ord(zero), digits)
    windows = (
        digits[start : start + size]
        for size in range(12, min(len(digits), 19) + 1)
        for start in range(len(digits) - size + 1)
    )
    masked = len(digits) > 64 or any(map(luhn_valid, windows))
    assert scrub(text) == (mask_pan(text) if masked else text)


TEXT = st.text(
    alphabet=st.sampled_from([*"0123456789", *"٠١٤", *" -./_\t\u00a0\u2013\u200b", *"ab,:\n"]),
    max_size=64,  # no run of more than 64 digits: scrub masks those without a search
)


@SETTINGS
@given(TEXT)
def test_scrub_leaves_no_luhn_window_and_nothing_else_changed(text: str) -> None:
    scrubbed = scrub(text)
    assert not pan_windows(scrubbed)
    if not pan_windows(text):
        assert scrubbed == text


@pytest.mark.parametrize(
    "run", ["1" * 64, "1" * 19, "1" * 12, " ".join("1" * 64), "1 - " * 18 + "1", "1" * 11]
)
def test_scrub_takes_linear_time_on_hostile_text(run: str) -> None:
    """1 MB of the runs that cost the most (each searched for a Luhn window, none found;
    or too short, looked at from each of its digits) in well under a second: CPU time, a
    generous bound for a busy machine (about 0.3 s on one core of a shared 2-core box)."""
    text = (run + "x") * (1_000_000 // (len(run) + 1))
    start = time.process_time()
    assert scrub(text) == text
    assert time.process_time() - start < 2


@pytest.mark.parametrize(
    "written",
    [
        "\u0664\u0661\u0661\u0661\u066c\u0661\u0661\u0661\u0661\u066c"
        "\u0661\u0661\u0661\u0661\u066c\u0661\u0661\u0661\u0661",  # Arabic-Indic, thousands mark
        "".join(d + "\ufe0f\u20e3" for d in "4111111111111111"),  # keycaps
        "".join(d + "\u0332" for d in "4111111111111111"),  # combining low line
        "4111\u180b1111\u180b1111\u180b1111",  # Mongolian variation selector
        "4111\u31641111\u31641111\u31641111",  # Hangul filler
        "4111\u28001111\u28001111\u28001111",  # braille blank
        "4111\u00b71111\u00b71111\u00b71111",  # middle dot
        "4111\u20221111\u20221111\u20221111",  # bullet
        "4111\u30021111\u30021111\u30021111",  # ideographic full stop
    ],
)
def test_scrub_masks_card_numbers_behind_invisible_marks_and_other_scripts_group_marks(
    written: str,
) -> None:
    scrubbed = scrub(f"paid {written} thanks")
    assert not pan_findings(scrubbed, {"4111111111111111"}), scrubbed
    assert scrubbed.startswith("paid ") and scrubbed.endswith(" thanks")


# -- card numbers in file names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("raw/statement-4111111111111111.csv", "raw/statement-************1111.csv"),
        ("raw/statement-4111-1111-1111-1111.csv", "raw/statement-************1111.csv"),
        ("raw/card 4111 1111 1111 1111.csv", "raw/card ************1111.csv"),
        ("raw/2026-12-01_5500005555555559.csv", "raw/2026-12-01_************5559.csv"),
        ("raw/x_4111111111111111-2026.csv", "raw/x_************1111-2026.csv"),  # glued to a year
        ("raw/amex.378282246310005.csv", "raw/amex.***********0005.csv"),
        ("raw/2223000048400011/a.csv", "raw/************0011/a.csv"),  # Mastercard 2-series
        ("raw/4111111111111111-5500005555555559.csv", "raw/************1111-************5559.csv"),
    ],
)
def test_a_card_number_in_a_file_name_is_found_and_masked(name: str, shown: str) -> None:
    assert card_numbers_in_name(name)
    assert mask_card_numbers_in_name(name) == shown
    assert not pan_findings(shown, {"4111111111111111", "5500005555555559", "378282246310005"})


@pytest.mark.parametrize(
    "name",
    [
        "raw/export-20261201123456789.csv",  # a 17-digit time stamp (scrub masks it: windows)
        "raw/export-2026-12-01-1234567890123.csv",  # a date before a 13-digit batch number
        "raw/batch-12345678901234.csv",  # begins like no card network's numbers
        "raw/statement-4111111111111112.csv",  # fails Luhn
        "raw/acct-41111111111.csv",  # 11 digits
        "raw/4111111111111111111111.csv",  # 22 digits in one group: not 12-19
    ],
)
def test_dates_batch_numbers_and_non_card_numbers_in_names_are_left_alone(name: str) -> None:
    assert card_numbers_in_name(name) == []
    assert mask_card_numbers_in_name(name) == name


def test_names_with_a_time_stamp_are_never_taken_for_card_numbers() -> None:
    """Every 14- and 17-digit UTC time stamp of a day, as export tools name files: scrub's
    free-text rule would mask about half of them, the name rule none (a refused name costs a
    sender a rename)."""
    stamps = [
        f"20261207{h:02d}{m:02d}{s:02d}" for h in range(24) for m in range(60) for s in (0, 37)
    ]
    assert sum(scrub(stamp) != stamp for stamp in stamps) > len(stamps) // 4
    for stamp in stamps:
        for name in (f"raw/export-{stamp}.csv", f"raw/export-{stamp}123.csv"):
            assert card_numbers_in_name(name) == [], name


@pytest.mark.parametrize(
    "pattern",
    [
        "batch_{n}_{ymd}_{hms}.csv",
        "export-{n}-{y}-{m}-{d}-{hms}.csv",
        "store{n}_{ymd}_{hms}.csv",
        "kontoauszug_{d}.{m}.{y}_{hms}.csv",
        "statement {d}.{m}.{y} {hh}.{mm}.{ss}.csv",
        "{d}-{m}-{y}_{hms}.csv",
        "statement_{n}-{m}-{d}_{ymd}.csv",
        "{ymd}{hms}{n}.csv",
    ],
)
def test_names_with_dates_times_and_batch_numbers_are_never_refused(pattern: str) -> None:
    """Every day of a year, every batch or store number 0-99, at a few times: the name rule
    joins digit groups only as card numbers are written (the review found ~1 day in 10 of
    such names refused when groups of any length were joined)."""
    from datetime import date, timedelta

    for day in (date(2026, 1, 1) + timedelta(days) for days in range(365)):
        for n in range(0, 100, 7):
            for hh, mm, ss in ((0, 0, 0), (10, 15, 30), (23, 59, 59)):
                name = pattern.format(
                    n=n, y=day.year, m=f"{day.month:02d}", d=f"{day.day:02d}",
                    ymd=day.strftime("%Y%m%d"), hms=f"{hh:02d}{mm:02d}{ss:02d}",
                    hh=f"{hh:02d}", mm=f"{mm:02d}", ss=f"{ss:02d}",
                )  # fmt: skip
                assert card_numbers_in_name(name) == [], name
