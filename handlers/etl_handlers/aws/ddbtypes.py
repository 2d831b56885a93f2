"""DynamoDB attribute values to and from Python values, for the job records.

The conversions of boto3's ``boto3.dynamodb.types.TypeSerializer`` and ``TypeDeserializer``
(same number context, so numbers are exact ``Decimal`` values or refused, same errors),
restricted to the types a job record holds; importing boto3 for them would cost a cold
start about 120 ms. ``tests/unit/handlers/test_ddbtypes.py`` checks both agree.

========================  ==========================
Python                    DynamoDB
========================  ==========================
None                      ``{"NULL": True}``
bool                      ``{"BOOL": ...}``
int, Decimal              ``{"N": "..."}`` (read back as Decimal)
str                       ``{"S": ...}``
Mapping                   ``{"M": {...}}`` (read back as dict)
list, tuple               ``{"L": [...]}`` (read back as list)
set of str / of numbers   read only: ``{"SS": [...]}`` / ``{"NS": [...]}``
========================  ==========================

Floats are refused (as boto3 does), and so are binary values and sets on the way in: job
records hold none.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

DYNAMODB_CONTEXT = Context(
    Emin=-128,
    Emax=126,
    prec=38,
    traps=[Clamped, Overflow, Inexact, Rounded, Underflow],
)
"""DynamoDB's number limits (38 digits, exponent -128..126); inexact numbers raise."""

__all__ = ["DYNAMODB_CONTEXT", "deserialize", "serialize"]


def serialize(value: Any) -> dict[str, Any]:
    """The attribute value for ``value`` (``{"S": "x"}``, ``{"N": "1"}``...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {key: serialize(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    """The Python value of one attribute value; numbers come back as ``Decimal``."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "S" or kind == "BOOL":
        return data
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {key: deserialize(item) for key, item in data.items()}
    if kind == "L":
        return [deserialize(item) for item in data]
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(number) for number in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number
