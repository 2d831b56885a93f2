"""Parsing of the typed values shared by validation and transform (pure, str methods only).

Both steps must agree on what a valid timestamp or amount is and what it means, so the
rules live here once. Functions return ``None`` for an invalid value instead of raising:
the hot path tests a result, it does not catch exceptions.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "amount_to_minor",
    "format_minor",
    "split_amount",
    "timestamp_to_utc",
    "to_minor",
]

MAX_AMOUNT_DIGITS = 18
"""Most integer digits (after leading zeros) an amount may have: 10**18 is far beyond any
transaction, and the bound keeps integer conversion cheap on hostile input."""

_ASCII_DIGITS = frozenset("0123456789")
_MAX_EAST = 14 * 60  # +14:00 (Line Islands)
_MAX_WEST = 12 * 60  # -12:00 (Baker Island)
_MAX_FRACTION = 9  # nanoseconds
_DAY = 24 * 60
# Lookup tables: a dict hit is cheaper than parsing digits with int() on the hot path.
_HHMM = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(_DAY)]
_CLOCK = {text: minute for minute, text in enumerate(_HHMM)}  # "HH:MM" -> minute of day
_SECONDS = frozenset(f"{second:02d}" for second in range(60))
_OFFSETS = {  # "+HH:MM" / "-HH:MM" -> minutes east of UTC
    f"{sign}{minutes // 60:02d}:{minutes % 60:02d}": factor * minutes
    for sign, factor, limit in (("+", 1, _MAX_EAST), ("-", -1, _MAX_WEST))
    for minutes in range(limit + 1)
}


def split_amount(value: str) -> tuple[str, str] | None:
    """Split a plain decimal ``digits[.digits]`` into significant integer and fraction digits.

    ``"0012.300"`` -> ``("12", "3")``; ``"0.50"`` -> ``("", "5")``; ``"0"`` -> ``("", "")``.
    Returns None for anything else: a sign, an exponent, thousands separators, spaces,
    non-ASCII digits, a missing digit on either side of the dot, or more than
    :data:`MAX_AMOUNT_DIGITS` significant integer digits. Zero is returned (as two empty
    strings); whether it is allowed is the caller's rule.
    """
    head, dot, tail = value.partition(".")
    if not head.isdigit() or not head.isascii():
        return None
    if dot and (not tail.isdigit() or not tail.isascii()):
        return None
    head = head.lstrip("0")
    if len(head) > MAX_AMOUNT_DIGITS:
        return None
    return head, tail.rstrip("0")


def to_minor(head: str, fraction: str, minor_units: int) -> int:
    """Amount in minor units from :func:`split_amount`'s parts (``fraction`` must fit)."""
    return int(head + fraction.ljust(minor_units, "0") or "0")


def amount_to_minor(value: str, minor_units: int) -> int:
    """Minor units of an amount that already passed the amount rule for its currency.

    The fast path of the totals: no checks beyond what ``int`` does. Digits past
    ``minor_units`` can only be trailing zeros there, so they are cut.
    """
    head, _, tail = value.partition(".")
    return int(head.lstrip("0") + tail[:minor_units].ljust(minor_units, "0") or "0")


def format_minor(amount: int, minor_units: int) -> str:
    """Exact decimal string with exactly ``minor_units`` decimals: (1230, 2) -> ``"12.30"``."""
    sign = "-" if amount < 0 else ""
    digits = str(abs(amount))
    if not minor_units:
        return sign + digits
    digits = digits.rjust(minor_units + 1, "0")
    return f"{sign}{digits[:-minor_units]}.{digits[-minor_units:]}"


def timestamp_to_utc(value: str) -> str | None:
    """Check an ISO 8601 date-time and return it in UTC, or None when it is invalid.

    Accepted: ``YYYY-MM-DDTHH:MM:SS``, optional fraction of 1-9 digits, then ``Z`` or
    ``+HH:MM`` / ``-HH:MM`` between -12:00 and +14:00 (``T`` and ``Z`` in either case). The
    date and time must exist (2024-02-30 and 24:00:00 do not; leap seconds are refused).
    The result is ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``; the fraction is kept as written,
    since offsets are whole minutes and never touch it.
    """
    if len(value) < 20 or value[10] not in "Tt" or value[16] != ":":
        return None
    clock = _CLOCK.get(value[11:16])
    second = value[17:19]
    if clock is None or second not in _SECONDS or not _valid_date(value[:10]):
        return None
    rest = value[19:]
    fraction = ""
    if rest[0] == ".":
        end = 1
        while end < len(rest) and rest[end] in _ASCII_DIGITS:
            end += 1
        if end == 1 or end - 1 > _MAX_FRACTION:
            return None
        fraction, rest = rest[:end], rest[end:]
    if rest == "Z" or rest == "z":
        return f"{value[:10]}T{value[11:19]}{fraction}Z"
    offset = _OFFSETS.get(rest)
    if offset is None:
        return None
    minutes = clock - offset
    day: str | None = value[:10]
    if minutes < 0 or minutes >= _DAY:
        day = _shift_day(value[:10], -1 if minutes < 0 else 1)
        if day is None:
            return None
        minutes %= _DAY
    return f"{day}T{_HHMM[minutes]}:{second}{fraction}Z"


@lru_cache(maxsize=4096)
def _valid_date(text: str) -> bool:
    """True for an existing ``YYYY-MM-DD`` date (ASCII digits); cached, dates repeat."""
    if text[4] != "-" or text[7] != "-":
        return False
    digits = text[:4] + text[5:7] + text[8:10]
    if not digits.isdigit() or not digits.isascii():
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def _shift_day(text: str, days: int) -> str | None:
    """The ISO date ``days`` away from ``text`` (valid), or None past year 1..9999."""
    try:
        return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
    except OverflowError:
        return None
