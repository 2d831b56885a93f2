"""Row rules: one small check function per schema column, compiled once per file.

A check takes the whole row (a list of strings from the CSV reader) and reads its own
field by position, so the hot loop builds no dict per row. It returns None when the
value passes, or a :data:`Failure` ``(code, column, message)``. Messages never echo the
value (the reject line carries the fields, masked and scrubbed).

Empty values: a required column that is empty fails with ``REQUIRED``; an optional empty
value passes every other rule. Values are not trimmed: a leading or trailing space makes a
code, amount or timestamp invalid, and counts towards a text's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from etl_handlers.core import codes
from etl_handlers.core.idset import IdSet
from etl_handlers.core.masking import luhn_valid
from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import Column, Schema
from etl_handlers.core.values import split_amount, timestamp_to_utc

__all__ = ["Check", "Failure", "SeenIds", "compile_checks", "duplicate_failure"]

Failure = tuple[str, "str | None", str]
"""(reject code, column name or None for a row-level rule, human message)."""
Check = Callable[[list[str]], "Failure | None"]


class SeenIds(IdSet):
    """The values a unique column has taken so far in this file (exact, compact).

    A Python set costs ~100 bytes per id (510 MB at 5M rows); this keeps a 64-bit
    fingerprint table in memory (~13 bytes per id) and the ids in a temporary file, from
    which every fingerprint hit is confirmed, so a "duplicate" is never a false one (see
    :mod:`core.idset`). Record only accepted rows' values with :meth:`add`; :meth:`close`
    drops the temporary file.
    """


def compile_checks(
    schema: Schema, positions: dict[str, int]
) -> tuple[list[Check], list[tuple[int, SeenIds]]]:
    """Build the checks, in schema order, for the columns the header has.

    ``positions`` maps a schema column name to its index in the row. Columns absent from
    the header (necessarily optional) are skipped: their value is empty. Also returns
    ``(position, SeenIds)`` per unique column, for the caller to record accepted values.
    """
    currency_position = positions.get(schema.totals.currency, -1)
    checks: list[Check] = []
    uniques: list[tuple[int, SeenIds]] = []
    for column in schema.columns:
        position = positions.get(column.name)
        if position is None:
            continue
        seen = None
        if column.unique:
            seen = SeenIds()
            uniques.append((position, seen))
        checks.append(_build(column, position, currency_position, seen))
    return checks, uniques


def _build(column: Column, position: int, currency_position: int, seen: SeenIds | None) -> Check:
    name = column.name
    required: Failure | None = (
        (codes.REQUIRED, name, f"{name} is required") if column.required else None
    )
    kind = column.type
    if kind == "identifier":
        return _identifier(column, position, required, seen)
    if kind == "text":
        return _text(column, position, required)
    if kind == "timestamp":
        return _timestamp(name, position, required)
    if kind == "amount":
        return _amount(name, position, required, currency_position)
    if kind == "currency":
        return _coded(
            position,
            required,
            CURRENCY_MINOR_UNITS.keys(),
            (codes.INVALID_CURRENCY, name, f"{name} must be an active ISO 4217 currency code"),
        )
    if kind == "enum":
        return _coded(
            position,
            required,
            frozenset(column.values),
            (codes.INVALID_ENUM, name, f"{name} must be one of {', '.join(column.values)}"),
            spelled_unicode=column.unicode_values,
        )
    if kind == "card_number":
        return _card(name, position, required)
    return _coded(  # country
        position,
        required,
        COUNTRIES,
        (codes.INVALID_COUNTRY, name, f"{name} must be an ISO 3166-1 alpha-2 country code"),
    )


def duplicate_failure(name: str) -> Failure:
    """A unique column's value already accepted in an earlier row of the file."""
    return (codes.DUPLICATE_ID, name, f"{name} was already used by an earlier row")


def _identifier(
    column: Column, position: int, required: Failure | None, seen: SeenIds | None
) -> Check:
    name = column.name
    limit = column.max_length
    matcher = full_matcher(column.pattern) if column.pattern else None
    too_long = (codes.TOO_LONG, name, f"{name} is longer than {limit} characters")
    bad = (codes.INVALID_FORMAT, name, f"{name} must match {column.pattern}")
    duplicate = duplicate_failure(name)

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        if limit is not None and len(value) > limit:
            return too_long
        if matcher is not None and not matcher(value):
            return bad
        if seen is not None and value in seen:
            return duplicate
        return None

    return check


SIMPLE_CHAR_CLASS = re.compile(r"\^\[([A-Za-z0-9_-]+)\]\+\$")


def full_matcher(pattern: str) -> Callable[[str], object]:
    """A full-match test for ``pattern``: None (falsy) when the value does not match.

    Patterns of the form ``^[...]+$`` over letters, digits, ``_`` and ``-`` (ranges
    allowed, a ``-`` last is literal; the default schema's identifiers) become a
    ``str.strip`` test, several times faster than the regex; anything else uses ``re``.
    """
    simple = SIMPLE_CHAR_CLASS.fullmatch(pattern)
    allowed = expand_class(simple.group(1)) if simple else None
    if allowed is None:
        return re.compile(pattern).fullmatch
    # Stripping every allowed character from both ends leaves "" exactly when all are
    # allowed (the caller never passes an empty value).
    return lambda value: not value.strip(allowed)


def expand_class(body: str) -> str | None:
    """Characters of a regex class body like ``A-Za-z0-9_-``; None when unsure."""
    chars: set[str] = set()
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = body[index], body[index + 2]
            if not (low.isalnum() and high.isalnum()) or ord(low) > ord(high):
                return None
            chars.update(chr(code) for code in range(ord(low), ord(high) + 1))
            index += 3
        elif body[index] == "-" and 0 < index < len(body) - 1:
            return None  # a dash between two ranges: leave it to re
        else:
            chars.add(body[index])
            index += 1
    return "".join(sorted(chars))


def _text(column: Column, position: int, required: Failure | None) -> Check:
    name = column.name
    limit = column.max_length
    too_long = (codes.TOO_LONG, name, f"{name} is longer than {limit} characters")

    if limit is None:

        def check_any(row: list[str]) -> Failure | None:
            return required if not row[position] else None

        return check_any

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        if len(value) > limit:
            return too_long
        return None

    return check


def _timestamp(name: str, position: int, required: Failure | None) -> Check:
    bad = (
        codes.INVALID_TIMESTAMP,
        name,
        f"{name} must be an ISO 8601 date-time with seconds and an offset "
        "(2024-01-31T13:45:00Z or 2024-01-31T14:45:00+01:00), a real date, offset within "
        "-12:00..+14:00",
    )

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        if timestamp_to_utc(value) is None:
            return bad
        return None

    return check


def _amount(name: str, position: int, required: Failure | None, currency_position: int) -> Check:
    bad = (
        codes.INVALID_AMOUNT,
        name,
        f"{name} must be a plain positive decimal such as 12.30 (no sign, exponent or "
        "separators, at most 18 integer digits)",
    )
    zero = (codes.INVALID_AMOUNT, name, f"{name} must be greater than zero")
    minor_units = CURRENCY_MINOR_UNITS

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        parts = split_amount(value)
        if parts is None:
            return bad
        head, fraction = parts
        if not head and not fraction:
            return zero
        if fraction:
            currency = row[currency_position].upper()
            minor = minor_units.get(currency)
            # An unknown currency is the currency rule's failure, reported at its column.
            if minor is not None and len(fraction) > minor:
                return (
                    codes.AMOUNT_PRECISION,
                    name,
                    f"{name} has more than {minor} decimals, the minor units of {currency}",
                )
        return None

    return check


def _coded(
    position: int,
    required: Failure | None,
    allowed: Iterable[str],
    bad: Failure,
    *,
    spelled_unicode: frozenset[str] = frozenset(),
) -> Check:
    """A code compared case-insensitively against ``allowed`` (upper-case members). A value
    that is not ASCII matches only a member the schema spells that way (``spelled_unicode``:
    an enum's ``Großhandel``, whose upper case ``GROSSHANDEL`` is ASCII)."""
    members = frozenset(allowed)
    if not all(member.isascii() for member in members):

        def check_unicode(row: list[str]) -> Failure | None:
            value = row[position]
            if not value:
                return required
            return bad if value.upper() not in members else None

        return check_unicode

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        # ASCII codes need an ASCII value: "\u017f".upper() == "S" (long s).
        upper = value.upper()
        if upper not in members or not (value.isascii() or upper in spelled_unicode):
            return bad
        return None

    return check


def _card(name: str, position: int, required: Failure | None) -> Check:
    bad = (codes.INVALID_CARD, name, f"{name} must be 12-19 digits passing the Luhn check")

    def check(row: list[str]) -> Failure | None:
        value = row[position]
        if not value:
            return required
        if not 12 <= len(value) <= 19 or not value.isascii() or not luhn_valid(value):
            return bad
        return None

    return check
