"""``etl_handlers.aws.ddbtypes`` converts as boto3's TypeSerializer / TypeDeserializer do, for every
value a job record can hold, and refuses what a job record never holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from etl_handlers.aws import ddbtypes
from hypothesis import given, settings
from hypothesis import strategies as st

BOTO3_SERIALIZER = TypeSerializer()
BOTO3_DESERIALIZER = TypeDeserializer()

# What a job record holds (jobs._storable turns ints into Decimal first; both are covered):
# None, bool, int and Decimal (any size: past 38 digits both refuse), str, maps and lists.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**38), max_value=10**38)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.text()
)
records = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def outcome(convert: Any, value: Any) -> tuple[str, Any]:
    """What ``convert(value)`` returns, or the error it raises (type and message)."""
    try:
        return "value", convert(value)
    except Exception as exc:  # compared, not swallowed
        return "error", (type(exc), str(exc))


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (Decimal("1") is not 1 here)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, set):
        return left == right and all(type(item) is Decimal or type(item) is str for item in left)
    if isinstance(left, Decimal) and left.is_nan():
        return right.is_nan() and str(left) == str(right)
    return left == right and str(left) == str(right)


@settings(max_examples=400, deadline=None)
@given(records)
def test_serialize_as_boto3(value: Any) -> None:
    ours = outcome(ddbtypes.serialize, value)
    assert ours == outcome(BOTO3_SERIALIZER.serialize, value)
    if ours[0] == "value":  # and back
        mine, theirs = (
            outcome(ddbtypes.deserialize, ours[1]),
            outcome(BOTO3_DESERIALIZER.deserialize, ours[1]),
        )
        assert mine[0] == theirs[0] == "value"
        assert same(mine[1], theirs[1])


@pytest.mark.parametrize(
    "number",
    ["0", "-0", "1e5", "1E+2", "-0.00", "12345678901234567890123456789012345678",
     "123456789012345678901234567890123456789", "1e-130", "1e127", "NaN", "Infinity", "x"],
)  # fmt: skip
def test_numbers_read_as_boto3(number: str) -> None:
    mine = outcome(ddbtypes.deserialize, {"N": number})
    theirs = outcome(BOTO3_DESERIALIZER.deserialize, {"N": number})
    assert mine[0] == theirs[0]
    assert same(mine[1], theirs[1]) if mine[0] == "value" else mine[1][0] is theirs[1][0]


@pytest.mark.parametrize(
    "attribute",
    [
        {"SS": ["b", "a"]},
        {"NS": ["1", "2.50", "-3"]},
        {"M": {"s": {"SS": ["x"]}, "n": {"L": [{"NS": ["7"]}, {"NULL": True}]}}},
        {"BOOL": False},
        {"NULL": True},
    ],
)
def test_sets_and_nesting_read_as_boto3(attribute: dict[str, Any]) -> None:
    assert same(ddbtypes.deserialize(attribute), BOTO3_DESERIALIZER.deserialize(attribute))


def test_the_same_errors_as_boto3() -> None:
    for value in (1.5, float("nan"), object(), Decimal("Infinity"), 10**40):
        assert outcome(ddbtypes.serialize, value) == outcome(BOTO3_SERIALIZER.serialize, value)
    for attribute in ({}, {"X": "1"}):
        assert outcome(ddbtypes.deserialize, attribute) == outcome(
            BOTO3_DESERIALIZER.deserialize, attribute
        )


@pytest.mark.parametrize("value", [b"bytes", bytearray(b"x"), {"a"}, frozenset({1})])
def test_binary_and_sets_are_not_stored(value: Any) -> None:
    """boto3 would write B, SS or NS; no job record field is one, so these are refused."""
    with pytest.raises(TypeError, match="Unsupported type"):
        ddbtypes.serialize({"field": value})


@pytest.mark.parametrize("attribute", [{"B": b"x"}, {"BS": [b"x"]}])
def test_binary_is_not_read(attribute: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="not supported"):
        ddbtypes.deserialize(attribute)
