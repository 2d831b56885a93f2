"""Card number (PAN) handling: the Luhn check, masking, and scrubbing of free text.

Nothing that leaves a handler (an output file, a reject line, a log line, the job record)
may hold a full card number. Card columns are masked with :func:`mask_pan`; every other
piece of free text that may echo input (reject fields, error messages, header names) goes
through :func:`scrub` first.
"""

from __future__ import annotations

import re
from itertools import accumulate
from operator import sub

__all__ = [
    "KEEP_LAST",
    "MAX_GAP",
    "SEPARATORS",
    "card_numbers_in_name",
    "luhn_valid",
    "mask_card_numbers_in_name",
    "mask_pan",
    "scrub",
]

KEEP_LAST = 4
"""How many trailing characters of a card number stay visible (PCI DSS allows the last 4)."""

MASK_CHAR = "*"

# What may stand between the digit groups of a card number, as people write one: spaces
# (every Unicode space separator, Zs, and a tab), invisible format characters (Cf:
# zero-width spaces, soft hyphens, direction marks), dashes (every Pd dash and the minus
# sign), dots, slashes and underscores (with their full-width forms), combining marks and
# other invisible characters, and the group marks of other scripts. Not line breaks:
# numbers on separate lines are separate numbers. Regex class syntax (ranges).
_SPACES = "\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_DASHES = (
    "\\-\u058a\u05be\u1400\u1806\u2010-\u2015\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c"
    "\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\U00010d6e\U00010ead\u2212"
)
_MARKS = "./_\uff0e\uff0f\uff3f"
# Marks on or between digits that a reader does not see as characters of their own:
# combining marks (diacritics, the keycap of "4\ufe0f\u20e3", an underline), variation
# selectors and blank fillers (Hangul, braille).
_INVISIBLE = (
    "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\ufe00-\ufe0f\u180b-\u180d\u180f\U000e0100-\U000e01ef\u3164\uffa0\u2800"
)
# Group and decimal marks of other scripts and typography: the Arabic thousands and
# decimal separators, middle dot, bullet, one-dot leader and the ideographic full stop.
_GROUP_MARKS = "\u066b\u066c\u00b7\u2022\u2024\u3002"
SEPARATORS = f"[{_SPACES}{_FORMAT}{_DASHES}{_MARKS}{_INVISIBLE}{_GROUP_MARKS}]"
"""The characters :func:`scrub` reads as digit group separators (a regex class)."""
MAX_GAP = 3
"""Most separator characters between two digits of one run (``"4111 - 1111"``)."""

_MIN_PAN = 12
_MAX_PAN = 19
_MAX_SEARCHED_RUN = 64
"""Longer digit runs are masked without searching them (nobody needs one verbatim)."""
# A run of at least 12 digits (any script: re's \d is str.isdecimal), up to MAX_GAP
# separators between two digits. Maximal by construction: the scan starts at the leftmost
# digit and is greedy. Digits and separators are disjoint, so matching stays linear.
_DIGIT_RUN = re.compile(rf"\d(?:{SEPARATORS}{{0,{MAX_GAP}}}\d){{{_MIN_PAN - 1},}}")
_NOT_DIGIT = re.compile(r"\D")

_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit -> digit sum of its double
# The same as byte values, for the window search.
_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED_VALUES = bytes.maketrans(b"0123456789", bytes(map(int, "0246813579")))
_PASSING_SUMS = frozenset(range(0, 9 * _MAX_PAN + 1, 10))
"""The Luhn sums of a window of at most 19 digits that pass the check."""


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
    verbatim. A window's Luhn sum is the difference of two prefix sums, so a run costs time
    linear in its length, each window sum one subtraction in C.
    """
    length = len(digits)
    if length > _MAX_SEARCHED_RUN:
        return True
    if not digits.isascii():
        digits = "".join(str(int(char)) for char in digits)
    plain = digits.encode().translate(_VALUES)
    doubled = digits.encode().translate(_DOUBLED_VALUES)
    # Luhn doubles every second digit from a window's last one: in the window [s, e), the
    # digits at indexes of e's parity. Its sum is by[e] - by[s], ``by`` the prefix sums of
    # the digits doubled at that parity (by_even or by_odd).
    even, odd = bytearray(plain), bytearray(plain)
    even[0::2], odd[1::2] = doubled[0::2], doubled[1::2]
    by_even, by_odd = list(accumulate(even, initial=0)), list(accumulate(odd, initial=0))
    # own[i]: the prefix sum up to i doubled at i's parity, other[i]: at the other parity.
    # A window ends at own[e] and starts at own[s] (even size) or other[s] (odd size).
    own, other = by_even.copy(), by_odd.copy()
    own[1::2], other[1::2] = by_odd[1::2], by_even[1::2]
    for size in range(_MIN_PAN, min(length, _MAX_PAN) + 1):
        starts = other if size % 2 else own
        if not _PASSING_SUMS.isdisjoint(map(sub, own[size:], starts)):
            return True
    return False


def _mask_run(match: re.Match[str]) -> str:
    digits = _NOT_DIGIT.sub("", match.group())
    if _has_pan(digits):
        return mask_pan(digits)
    return match.group()


def scrub(text: str) -> str:
    """Replace every card-number-like digit run in ``text`` by its masked form.

    A run is 12 or more digits of any script, where up to three separators (see
    :data:`SEPARATORS`: spaces, dashes, dots, slashes, underscores, invisible characters)
    may stand between two digits: ``4111 1111 1111 1111``, ``4111-1111-1111-1111``,
    ``4526.7805.3117.0466``, ``4267  9037  1281  0485``. It is masked, separators dropped and
    only the last four digits kept, when the run or any 12-19 digit window inside it passes
    Luhn (a PAN glued to other digits is still a PAN), or when it is longer than 64 digits.
    Runs that cannot hold a PAN stay as they are, so ordinary numbers in messages survive.
    """
    if len(text) < _MIN_PAN:
        return text
    return _DIGIT_RUN.sub(_mask_run, text)


# -- card numbers in file names -------------------------------------------------------------
# A file name is not free text: long digit runs in names are mostly dates, times and batch
# numbers (``export-20261201123456789.csv``, ``batch_4_20260106_101530.csv``), and
# :func:`scrub`'s rule (any 12-19 digit window passing Luhn, groups joined) would find a
# "card number" in about half of the names with a 14-digit time stamp. A name holds a card
# number when 12-19 digits (any script) pass Luhn, begin as a card network's numbers do
# (ISO/IEC 7812: 2200-2204 and 2221-2720, 300-305 and 34-39, 4, 5, 6, 81-82, 9792) and are
# written as people write card numbers: in one group, or in groups of four (the last of one
# to four), or 4-6-5 / 4-6-4 (American Express, Diners), the groups split by up to
# :data:`MAX_GAP` of :data:`SEPARATORS` (``/`` among them). Dates and times never form such
# groups (``26.01.2026``, ``2026-01-06``, ``10.15.30``), and time stamps (19.., 20..) never
# begin like a card.
_NAME_RUN = re.compile(rf"\d+(?:{SEPARATORS}{{1,{MAX_GAP}}}\d+)*")
_NAME_GROUP = re.compile(r"\d+")
_CARD_PREFIX = re.compile(
    r"2(?:20[0-4]|22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)|30[0-5]|3[4-9]|[456]|8[12]|9792"
)
_GROUPED_LAYOUTS = ((4, 6, 5), (4, 6, 4))


def _card_layout(lengths: list[int]) -> bool:
    """Whether digit groups of these lengths are written as a card number is."""
    if len(lengths) == 1:
        return True
    if tuple(lengths) in _GROUPED_LAYOUTS:
        return True
    return all(length == 4 for length in lengths[:-1]) and 1 <= lengths[-1] <= 4


def card_numbers_in_name(name: str) -> list[tuple[int, int]]:
    """The spans ``(start, end)`` of ``name`` that write a card number (see the rule above),
    in order and not overlapping; empty when the name holds none. From each group, the
    longest number found is taken, so that a span never leaves digits of the card after it."""
    spans: list[tuple[int, int]] = []
    for run in _NAME_RUN.finditer(name):
        groups = [
            (run.start() + g.start(), run.start() + g.end(), g.group())
            for g in _NAME_GROUP.finditer(run.group())
        ]
        first = 0
        while first < len(groups):
            last = _card_from(groups, first)
            if last is None:
                first += 1
                continue
            spans.append((groups[first][0], groups[last][1]))
            first = last + 1
    return spans


def _card_from(groups: list[tuple[int, int, str]], first: int) -> int | None:
    """The last group of the longest card number starting at ``groups[first]``, or None."""
    found = None
    digits = ""
    lengths: list[int] = []
    for last in range(first, len(groups)):
        text = groups[last][2]
        digits += text if text.isascii() else "".join(str(int(c)) for c in text)
        lengths.append(len(text))
        if len(digits) > _MAX_PAN:
            break
        if (
            len(digits) >= _MIN_PAN
            and _card_layout(lengths)
            and _CARD_PREFIX.match(digits)
            and luhn_valid(digits)
        ):
            found = last
    return found


def mask_card_numbers_in_name(name: str) -> str:
    """``name`` with each card number in it (see :func:`card_numbers_in_name`) masked as
    :func:`mask_pan` masks one, its separators dropped:
    ``statement-4111-1111-1111-1111.csv`` -> ``statement-************1111.csv``."""
    for start, end in reversed(card_numbers_in_name(name)):
        digits = "".join(_NAME_GROUP.findall(name[start:end]))
        name = name[:start] + mask_pan(digits) + name[end:]
    return name
