"""Find card numbers (PANs) in text: what the PAN leak tests scan everything with.

A finding is a run of 12-19 digits (any script) that passes the Luhn check, or that holds one
of the card numbers the test planted in its inputs (which also catches a PAN glued to other
digits). Up to three separators may stand between two digits of a run, as people write card
numbers: spaces, dashes, invisible format characters (Unicode Zs, Pd, Cf, a tab, the minus
sign), dots, slashes and underscores (and their full-width forms), combining marks,
variation selectors, blank fillers and the group marks of other scripts. This is the rule of
``etl_handlers.core.masking.scrub``, written here from the Unicode categories rather than taken from
the code under test. Escapes (``\\u00a0``, ``\\xa0``, ``\\t``) are read as the characters they
stand for first: job records, log lines and execution histories are JSON written with
``ensure_ascii`` (JSON in JSON, in a history), and messages may hold a ``repr``.

Identifiers the pipeline itself prints (UUIDs, 32-hex job ids and ETags, the local account
id, EMF's millisecond timestamps, big-file part names) are taken out first: they are not
card data, and a digit run inside one would pass Luhn one time in ten.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable

from etl_handlers.core.masking import luhn_valid
from hypothesis import strategies as st

_CHARS = [chr(code) for code in range(sys.maxunicode + 1)]
_CATEGORIES = ("Zs", "Pd", "Cf")  # spaces, dashes, invisible format characters
_BLOCKS = (  # combining marks, variation selectors (code point ranges, inclusive)
    (0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F),
    (0xFE00, 0xFE0F), (0x180B, 0x180D), (0x180F, 0x180F), (0xE0100, 0xE01EF),
)  # fmt: skip
SEPARATOR_CHARS = (
    "".join(c for c in _CHARS if unicodedata.category(c) in _CATEGORIES)
    + (
        "\t\u2212./_\uff0e\uff0f\uff3f"  # a tab, the minus sign, dot, slash, underscore
        "\u3164\uffa0\u2800"  # blank fillers: Hangul, halfwidth Hangul, braille
        "\u066b\u066c\u00b7\u2022\u2024\u3002"  # Arabic group marks, middle dot, bullet, ...
    )
    + "".join(chr(c) for low, high in _BLOCKS for c in range(low, high + 1))
)
"""Every character that may stand between the digit groups of a card number."""
SEPARATOR = f"[{re.escape(SEPARATOR_CHARS)}]"
MAX_GAP = 3

_OURS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs
    r"|(?<![0-9a-zA-Z])[0-9a-f]{32}(?![0-9a-zA-Z])"  # job ids, ETags
    r"|\"Timestamp\":\s*\d+"  # EMF metric timestamps (epoch milliseconds)
    r"|\"(?:startDate|stopDate)\":\s*\d+"  # execution status events (epoch milliseconds)
    r"|\b123456789012\b"  # the local account id
    r"|\bpart-\d{12}\b"  # big-file part names (the part's first row, zero-padded)
)
_RUN = re.compile(rf"\d(?:{SEPARATOR}{{0,{MAX_GAP}}}\d){{11,}}")
_ANY_RUN = re.compile(rf"\d(?:{SEPARATOR}{{0,{MAX_GAP}}}\d)*")
_NOT_DIGIT = re.compile(r"\D")
# An escape of JSON or of Python's repr; read back from the outside in (a JSON string that
# holds JSON, as in an execution history, has its escapes escaped once more).
_ESCAPE = re.compile(
    r"\\(?:u[0-9a-fA-F]{4}|U000[0-9a-fA-F]{5}|U0010[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\\t])"
)
_NESTING = 4


def _char(escape: re.Match[str]) -> str:
    code = escape[0][1:]
    return {"\\": "\\", "t": "\t"}.get(code) or chr(int(code[1:], 16))


def _unescaped(text: str) -> str:
    """``text`` with its escapes (``\\u00a0``, ``\\xa0``, ``\\t``) as the characters they
    stand for, nested ones too, and surrogate pairs joined (JSON writes a digit outside the
    BMP as two escapes)."""
    for _ in range(_NESTING):
        decoded = _ESCAPE.sub(_char, text)
        if decoded == text:
            break
        text = decoded
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def run_digits(run: str) -> str:
    """The digits of a run, separators dropped, each written as an ASCII digit (so that a
    planted number is found in whichever script an output writes it)."""
    return "".join(str(int(char)) for char in _NOT_DIGIT.sub("", run))


def planted_pans(data: bytes) -> set[str]:
    """Every Luhn-valid 12-19 digit run of an input: the card numbers to look for later."""
    text = data.decode("utf-8", "replace")
    found = set()
    for match in _RUN.finditer(text):
        digits = run_digits(match.group())
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            found.add(digits)
    return found


def pan_findings(text: str, planted: Iterable[str] = ()) -> list[str]:
    """The card-number-like runs of ``text`` (see the module docstring)."""
    cleaned = _OURS.sub(" ", _unescaped(text))
    planted = tuple(planted)
    findings = []
    for match in _RUN.finditer(cleaned):
        digits = run_digits(match.group())
        if (12 <= len(digits) <= 19 and luhn_valid(digits)) or any(p in digits for p in planted):
            start = max(0, match.start() - 40)
            findings.append(cleaned[start : match.end() + 20])
    return findings


def pan_windows(text: str) -> list[str]:
    """Every Luhn-valid 12-19 digit window inside the digit runs of ``text``: stricter than
    :func:`pan_findings` (a PAN glued to other digits counts without being planted), for
    text that holds no identifiers of ours."""
    found = []
    for match in _ANY_RUN.finditer(text):
        digits = run_digits(match.group())
        for size in range(12, min(len(digits), 19) + 1):
            for start in range(len(digits) - size + 1):
                window = digits[start : start + size]
                if luhn_valid(window):
                    found.append(window)
    return found


# -- card numbers written as people write them, for the tests to plant -------------------

DIGIT_ZEROS = "".join(char for char in _CHARS if char.isdecimal() and int(char) == 0)
"""The zero of every digit script (its other digits follow it)."""

GAPS = {
    "spaces": st.text(alphabet=" \u00a0\u202f\u2009\u2007\u3000\t", min_size=1, max_size=3),
    "dash": st.sampled_from([*"-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d", " - ", " \u2013 "]),
    "dot": st.sampled_from([".", "\uff0e", ". ", " . "]),
    "slash": st.sampled_from(["/", "\uff0f", " / "]),
    "underscore": st.sampled_from(["_", "\uff3f", "__"]),
    "invisible": st.sampled_from(["\u200b", "\u00ad", "\u200e", "\u200f", "\u2060", "\ufeff"]),
    "any": st.text(alphabet=SEPARATOR_CHARS, min_size=1, max_size=MAX_GAP),
}
"""Per kind of separator, the gaps people leave between digit groups."""


def luhn_completed(body: str) -> str:
    """``body`` (ASCII digits) with the check digit that makes it pass Luhn."""
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


@st.composite
def written_pans(draw: st.DrawFn, kind: str | None = None) -> tuple[str, str]:
    """A Luhn-valid card number of 12-19 digits written in one digit script, in groups of
    four or of any sizes, with gaps of the separator kind ``kind`` (see :data:`GAPS`; any
    kind when None) between the groups. Returns the text and its digits in ASCII."""
    length = draw(st.integers(12, 19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    digits = luhn_completed(body)
    zero = ord(draw(st.sampled_from(DIGIT_ZEROS)))
    gap = GAPS[kind or draw(st.sampled_from(sorted(GAPS)))]
    fours = list(range(4, length, 4))
    cuts = draw(st.sampled_from([fours, None])) or sorted(
        draw(st.sets(st.integers(1, length - 1), max_size=length - 1))
    )
    text = ""
    for index, digit in enumerate(digits):
        if index in cuts:
            text += draw(gap)
        text += chr(zero + int(digit))
    return text, digits
