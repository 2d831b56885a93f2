"""Find card numbers (PANs) in text: what the PAN leak tests scan everything with.

A finding is a run of 12-19 digits (single spaces or dashes allowed between digit groups,
as people write card numbers) that passes the Luhn check, or that holds one of the card
numbers the test planted in its inputs (which also catches a PAN glued to other digits).
Identifiers the pipeline itself prints (UUIDs, 32-hex job ids and ETags, the local account
id, EMF's millisecond timestamps, big-file part names) are taken out first: they are not
card data, and a digit run inside one would pass Luhn one time in ten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.masking import luhn_valid

_OURS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs
    r"|(?<![0-9a-zA-Z])[0-9a-f]{32}(?![0-9a-zA-Z])"  # job ids, ETags
    r"|\"Timestamp\":\s*\d+"  # EMF metric timestamps (epoch milliseconds)
    r"|\b123456789012\b"  # the local account id
    r"|\bpart-\d{12}\b"  # big-file part names (the part's first row, zero-padded)
)
_RUN = re.compile(r"\d(?:[ -]?\d){11,}")
_SEPARATORS = re.compile(r"[ -]")


def planted_pans(data: bytes) -> set[str]:
    """Every Luhn-valid 12-19 digit run of an input: the card numbers to look for later."""
    text = data.decode("utf-8", "replace")
    found = set()
    for match in _RUN.finditer(text):
        digits = _SEPARATORS.sub("", match.group())
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            found.add(digits)
    return found


def pan_findings(text: str, planted: Iterable[str] = ()) -> list[str]:
    """The card-number-like runs of ``text`` (see the module docstring)."""
    cleaned = _OURS.sub(" ", text)
    planted = tuple(planted)
    findings = []
    for match in _RUN.finditer(cleaned):
        digits = _SEPARATORS.sub("", match.group())
        if (12 <= len(digits) <= 19 and luhn_valid(digits)) or any(p in digits for p in planted):
            start = max(0, match.start() - 40)
            findings.append(cleaned[start : match.end() + 20])
    return findings
