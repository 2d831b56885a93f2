"""Control totals and their reconciliation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from etl_handlers.core.totals import StepResult, Totals, reconcile


def make(*entries: tuple[str, bool, int]) -> Totals:
    totals = Totals()
    for currency, debit, amount in entries:
        totals.add(currency, debit, amount)
    return totals


def test_add_and_json() -> None:
    totals = make(("USD", True, 1230), ("USD", False, 5), ("JPY", True, 100), ("BHD", False, 1))
    assert totals.to_json() == {
        "BHD": {"count": 1, "debit": "0.000", "credit": "0.001"},
        "JPY": {"count": 1, "debit": "100", "credit": "0"},
        "USD": {"count": 2, "debit": "12.30", "credit": "0.05"},
    }
    assert totals.rows == 4
    assert totals.currencies() == ["BHD", "JPY", "USD"]
    assert totals.figures("USD") == (2, 1230, 5)
    assert totals.figures("EUR") == (0, 0, 0)
    assert "USD" in repr(totals)


def test_sums_are_exact() -> None:
    totals = make(*[("USD", True, 10)] * 10)  # 10 x 0.10: 1.00 exactly, unlike float
    assert totals.to_json()["USD"]["debit"] == "1.00"


def test_json_round_trip_and_equality() -> None:
    totals = make(("USD", True, 1230), ("EUR", False, 99))
    assert Totals.from_json(totals.to_json()) == totals
    dynamo: dict[str, Any] = {"USD": {"count": Decimal(1), "debit": "12.30", "credit": "0"}}
    assert Totals.from_json(dynamo) == make(("USD", True, 1230))
    assert totals != make(("USD", True, 1230))
    assert totals != "USD"
    assert Totals() == Totals()


@pytest.mark.parametrize(
    "data",
    [
        {"ZZZ": {"count": 1, "debit": "1", "credit": "0"}},
        {"USD": {"count": 1, "debit": "1.234", "credit": "0"}},
        {"USD": {"count": 1, "debit": "abc", "credit": "0"}},
        {"USD": {"count": 1, "debit": "NaN", "credit": "0"}},
        {"USD": {"count": -1, "debit": "1", "credit": "0"}},
        {"USD": {"count": 1.5, "debit": "1", "credit": "0"}},
        {"USD": {"count": "1", "debit": "1", "credit": "0"}},
        {"USD": {"count": True, "debit": "1", "credit": "0"}},
    ],
)
def test_from_json_rejects_bad_figures(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Totals.from_json(data)


def test_totals_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Totals())


def test_step_result_defaults() -> None:
    assert StepResult() == StepResult(rows=0, totals=Totals())


def good(**changes: Any) -> dict[str, Any]:
    totals = make(("USD", True, 1230), ("EUR", False, 50))
    arguments: dict[str, Any] = {
        "rows_input": 3,
        "rows_valid": 2,
        "rows_rejected": 1,
        "rows_transformed": 2,
        "rows_enriched": 2,
        "validate": totals,
        "transform": make(("USD", True, 1230), ("EUR", False, 50)),
        "enrich": make(("EUR", False, 50), ("USD", True, 1230)),
    }
    arguments.update(changes)
    return arguments


def test_reconcile_clean() -> None:
    assert reconcile(**good()) == []


def test_reconcile_row_counts() -> None:
    problems = reconcile(**good(rows_input=4))
    assert problems == ["rows in (4) != valid (2) + rejected (1)"]
    assert reconcile(**good(rows_transformed=1)) == ["rows written by transform (1) != valid (2)"]
    assert reconcile(**good(rows_enriched=3)) == ["rows written by enrich (3) != valid (2)"]


def test_reconcile_validate_totals_must_count_the_valid_rows() -> None:
    problems = reconcile(**good(rows_valid=3, rows_input=4, rows_transformed=3, rows_enriched=3))
    assert problems == ["validate totals count 2 rows, not valid (3)"]


def test_reconcile_amounts() -> None:
    problems = reconcile(**good(transform=make(("USD", True, 1231), ("EUR", False, 50))))
    assert problems == [
        "USD totals differ: validate has 1 rows, debit 12.30, credit 0.00, "
        "transform has 1 rows, debit 12.31, credit 0.00"
    ]
    problems = reconcile(**good(enrich=make(("USD", True, 1230))))
    assert problems == [
        "EUR totals differ: validate has 1 rows, debit 0.00, credit 0.50, "
        "enrich has 0 rows, debit 0.00, credit 0.00"
    ]
