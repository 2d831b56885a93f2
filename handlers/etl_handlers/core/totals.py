"""Control totals per currency (row count, debit sum, credit sum) and their reconciliation.

Amounts are held as integers in the currency's minor units, so sums are exact and cheap;
their JSON form (job record, step results) writes them as exact decimal strings with the
currency's minor units (``{"USD": {"count": 2, "debit": "12.30", "credit": "0.00"}}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.report import EngineReport
from etl_handlers.core.values import format_minor

__all__ = ["StepResult", "Totals", "reconcile"]


class Totals:
    """Per-currency row count and debit/credit sums, exact, in minor units.

    Two Totals are equal when they hold the same currencies with the same figures.
    """

    __slots__ = ("_by_currency",)

    def __init__(self) -> None:
        # currency -> [count, debit minor units, credit minor units]
        self._by_currency: dict[str, list[int]] = {}

    def add(self, currency: str, debit: bool, amount_minor: int) -> None:
        """Count one row of ``amount_minor`` (minor units) in ``currency`` (upper case)."""
        entry = self._by_currency.get(currency)
        if entry is None:
            entry = self._by_currency[currency] = [0, 0, 0]
        entry[0] += 1
        entry[1 if debit else 2] += amount_minor

    def add_many(self, currency: str, debit: bool, count: int, amount_minor: int) -> None:
        """Count ``count`` rows whose amounts sum to ``amount_minor`` (minor units)."""
        entry = self._by_currency.get(currency)
        if entry is None:
            entry = self._by_currency[currency] = [0, 0, 0]
        entry[0] += count
        entry[1 if debit else 2] += amount_minor

    @property
    def rows(self) -> int:
        """Rows counted, over all currencies."""
        return sum(entry[0] for entry in self._by_currency.values())

    def currencies(self) -> list[str]:
        """Currencies seen, sorted."""
        return sorted(self._by_currency)

    def figures(self, currency: str) -> tuple[int, int, int]:
        """(count, debit, credit) for ``currency``, amounts in minor units; zeros if unseen."""
        count, debit, credit = self._by_currency.get(currency, (0, 0, 0))
        return count, debit, credit

    def to_json(self) -> dict[str, dict[str, Any]]:
        """JSON form: ``{currency: {"count": n, "debit": "1.00", "credit": "0.00"}}``, sorted."""
        result: dict[str, dict[str, Any]] = {}
        for currency in sorted(self._by_currency):
            count, debit, credit = self._by_currency[currency]
            minor = CURRENCY_MINOR_UNITS[currency]
            result[currency] = {
                "count": count,
                "debit": format_minor(debit, minor),
                "credit": format_minor(credit, minor),
            }
        return result

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, Any]]) -> Totals:
        """Parse the JSON form back (counts may be ``int`` or ``Decimal``, as DynamoDB gives).

        Raises ValueError on an unknown currency or an amount that is not exact in its
        minor units.
        """
        totals = cls()
        for currency, figures in data.items():
            if currency not in CURRENCY_MINOR_UNITS:
                raise ValueError(f"totals: unknown currency {currency!r}")
            minor = CURRENCY_MINOR_UNITS[currency]
            count = figures["count"]
            if (
                isinstance(count, bool)
                or not isinstance(count, int | Decimal)
                or int(count) != count
                or count < 0
            ):
                raise ValueError(f"totals: count of {currency} must be a whole number >= 0")
            totals._by_currency[currency] = [
                int(count),
                _parse_minor(figures["debit"], minor, currency),
                _parse_minor(figures["credit"], minor, currency),
            ]
        return totals

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Totals):
            return NotImplemented
        return self._by_currency == other._by_currency

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Totals({self.to_json()!r})"


@dataclass
class StepResult:
    """What transform or enrich wrote: the record count and the control totals; ``report``:
    what the engine did (set by the step entry points)."""

    rows: int = 0
    totals: Totals = field(default_factory=Totals)
    report: EngineReport | None = field(default=None, compare=False)


def _parse_minor(text: Any, minor_units: int, currency: str) -> int:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ValueError(f"totals: {currency} amount {text!r} is not a decimal") from None
    scaled = value.scaleb(minor_units)
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"totals: {currency} amount {text!r} is not exact in minor units")
    return int(scaled)


def _describe(totals: Totals, currency: str) -> str:
    count, debit, credit = totals.figures(currency)
    minor = CURRENCY_MINOR_UNITS[currency]
    return f"{count} rows, debit {format_minor(debit, minor)}, credit {format_minor(credit, minor)}"


def reconcile(
    *,
    rows_input: int,
    rows_valid: int,
    rows_rejected: int,
    rows_transformed: int,
    rows_enriched: int,
    validate: Totals,
    transform: Totals,
    enrich: Totals,
) -> list[str]:
    """Check that every stage accounts for every row and every amount.

    Returns human-readable problems, empty when everything reconciles:
    rows in == valid + rejected; the validate totals count the valid rows; rows written by
    transform == valid == rows written by enrich; the per-currency totals of validate,
    transform and enrich are equal.
    """
    problems: list[str] = []
    if rows_input != rows_valid + rows_rejected:
        problems.append(
            f"rows in ({rows_input}) != valid ({rows_valid}) + rejected ({rows_rejected})"
        )
    if validate.rows != rows_valid:
        problems.append(f"validate totals count {validate.rows} rows, not valid ({rows_valid})")
    if rows_transformed != rows_valid:
        problems.append(f"rows written by transform ({rows_transformed}) != valid ({rows_valid})")
    if rows_enriched != rows_valid:
        problems.append(f"rows written by enrich ({rows_enriched}) != valid ({rows_valid})")
    for stage, totals in (("transform", transform), ("enrich", enrich)):
        if totals == validate:
            continue
        for currency in sorted(set(validate.currencies()) | set(totals.currencies())):
            if validate.figures(currency) != totals.figures(currency):
                problems.append(
                    f"{currency} totals differ: validate has {_describe(validate, currency)}, "
                    f"{stage} has {_describe(totals, currency)}"
                )
    return problems
