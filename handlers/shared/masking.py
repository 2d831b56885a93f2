"""Card number (PAN) handling: the Luhn check, masking, and scrubbing of free text.

Nothing that leaves a handler (an output file, a reject line, a log line, the job record)
may hold a full card number. Card columns are masked with :func:`mask_pan`; every other
piece of free text that may echo input (reject fields, error messages, header names) goes
through :func:`scrub` first.
"""

from __future__ import annotations

import re

__all__ = ["KEEP_LAST", "luhn_valid", "mask_pan", "scrub"]

KEEP_LAST = 4
"""How many trailing characters of a card number stay visible (PCI DSS allows the last 4)."""

MASK_CHAR = "*"

# A run of at least 12 digits, where single spaces or dashes may separate digit groups.
# Maximal by construction: the scan starts at the leftmost digit and is greedy.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){11,}")
_SEPARATORS = str.maketrans("", "", " -")

_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit -> digit sum of its double
_MIN_PAN = 12
_MAX_PAN = 19
_MAX_SEARCHED_RUN = 64
"""Longer digit runs are masked without searching them (bounded time on hostile input)."""


def luhn_valid(digits: str) -> bool:
    """Return True when ``digits`` (decimal digits only, non-empty) passes the Luhn check.

    Unicode decimal digits count as their value (``int`` accepts them), so a PAN written in
    another script is recognised too. Anything that is not a digit makes it False.
    """
    if not digits or not digits.isdecimal():
        return False
    if digits.isascii():
        # Digits at odd positions from the right count as they are, the others doubled
        # (digit sum of the double, via a translation table): all in C.
        kept = digits[-1::-2].encode()
        doubled = digits[-2::-2].translate(_DOUBLED).encode()
        return (sum(kept) + sum(doubled) - 48 * len(digits)) % 10 == 0  # 48: ord("0")
    total = 0
    double = False
    for char in reversed(digits):
        value = int(char)
        if double:
            value *= 2
            if value > 9:
                value -= 9
        total += value
        double = not double
    return total % 10 == 0


def mask_pan(value: str) -> str:
    """Mask all but the last four characters: ``"4111111111111111"`` -> ``"************1111"``.

    Works on any string (an invalid card value in a reject line is masked the same way);
    values of four characters or fewer are returned unchanged, as they reveal no more than
    the last four digits would. The mask keeps the length.
    """
    hidden = len(value) - KEEP_LAST
    if hidden <= 0:
        return value
    return MASK_CHAR * hidden + value[hidden:]


def _has_pan(digits: str) -> bool:
    """True when some window of 12-19 consecutive digits of ``digits`` passes Luhn.

    Runs longer than ``_MAX_SEARCHED_RUN`` count as holding one: nobody needs such a run
    verbatim, and searching it would cost time quadratic in hostile input.
    """
    length = len(digits)
    if length > _MAX_SEARCHED_RUN:
        return True
    if length <= _MAX_PAN and luhn_valid(digits):
        return True
    for size in range(_MIN_PAN, min(length, _MAX_PAN) + 1):
        for start in range(length - size + 1):
            if size == length:
                continue  # the whole run, checked above
            if luhn_valid(digits[start : start + size]):
                return True
    return False


def _mask_run(match: re.Match[str]) -> str:
    digits = match.group().translate(_SEPARATORS)
    if _has_pan(digits):
        return mask_pan(digits)
    return match.group()


def scrub(text: str) -> str:
    """Replace every card-number-like digit run in ``text`` by its masked form.

    A run is 12 or more digits, single spaces or dashes allowed between digit groups
    (``4111 1111 1111 1111``, ``4111-1111-1111-1111``). It is masked, separators dropped and
    only the last four digits kept, when the run or any 12-19 digit window inside it passes
    Luhn (a PAN glued to other digits is still a PAN), or when it is longer than 64 digits.
    Runs that cannot hold a PAN stay as
    they are, so ordinary numbers in messages survive.
    """
    if len(text) < _MIN_PAN:
        return text
    return _DIGIT_RUN.sub(_mask_run, text)
