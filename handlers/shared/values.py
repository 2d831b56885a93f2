"""Parsing of the typed values shared by validation and transform (pure, str methods only).

Both steps must agree on what a valid timestamp or amount is and what it means, so the
rules live here once. Functions return ``None`` for an invalid value instead of raising:
the hot path tests a result, it does not catch exceptions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = [
    "MAX_AMOUNT_DIGITS",
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
    if (
        len(value) < 20
        or value[4] != "-"
        or value[7] != "-"
        or value[10] not in "Tt"
        or value[13] != ":"
        or value[16] != ":"
    ):
        return None
    fields = (value[0:4], value[5:7], value[8:10], value[11:13], value[14:16], value[17:19])
    joined = "".join(fields)
    if not joined.isdigit() or not joined.isascii():
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
    if rest in ("Z", "z"):
        offset = 0
    elif (
        len(rest) == 6
        and rest[0] in "+-"
        and rest[3] == ":"
        and rest[1:3].isdigit()
        and rest[4:6].isdigit()
        and rest.isascii()
    ):
        hours, minutes = int(rest[1:3]), int(rest[4:6])
        offset = hours * 60 + minutes
        if minutes > 59 or offset > (_MAX_EAST if rest[0] == "+" else _MAX_WEST):
            return None
        if rest[0] == "-":
            offset = -offset
    else:
        return None
    try:
        moment = datetime(*map(int, fields))  # type: ignore[arg-type]
        if offset:
            moment -= timedelta(minutes=offset)
    except (ValueError, OverflowError):
        return None
    if not offset:
        return f"{value[:10]}T{value[11:19]}{fraction}Z"
    return f"{moment.isoformat()}{fraction}Z"
