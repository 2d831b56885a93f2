"""Synthetic transaction CSVs for the benchmarks: deterministic, ~1% bad rows of every kind.

Valid rows vary the way real exports do: several currencies (JPY with no minor units, BHD
with three), timestamps in UTC and with offsets (some crossing midnight, some with a fraction
of seconds), lower-case codes, optional columns left empty, merchants with commas, quotes and
non-ASCII letters, and now and then a card number typed into the merchant name (it must be
scrubbed). About 1% of the rows are bad, spread over every row reject code of
``core.codes`` (duplicate ids included), so the fast paths and their fallbacks both run.

``python -m bench.generate ROWS PATH`` writes one file; :func:`ensure` caches files under
``bench/data/`` (ignored by git).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

__all__ = ["BAD_KINDS", "DATA_DIR", "ensure", "write_csv"]

DATA_DIR = Path(__file__).resolve().parent / "data"
HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,"
    "merchant,category,card_number,country"
)
SEED = 20261126
BAD_RATE = 0.01

# (currency, minor units, weight)
CURRENCIES = [
    ("USD", 2, 40),
    ("EUR", 2, 25),
    ("GBP", 2, 12),
    ("JPY", 0, 10),
    ("BHD", 3, 5),
    ("CHF", 2, 4),
    ("KWD", 3, 2),
    ("CLF", 4, 1),
    ("KRW", 0, 1),
]
MERCHANTS = [
    "Coffee Shop",
    "Grocery Mart",
    "Fuel & Go",
    "Book Nook",
    "Café Zürich",
    "Müller Drogerie",
    "Sushi 寿司",
    '"Quoted" Deli',
    "Hardware, Tools & More",
    "Airline Tickets",
    "Pharmacy",
    "Online Store",
    "Cinema 3",
    "Taxi 24/7",
]
CATEGORIES = ["food", "travel", "fuel", "retail", "health", "entertainment", "utilities"]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BH", "CH", "KW", "CL", "KR", "us", "gb"]
CARDS = [
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "4012888888881881",
    "3530111333300000",
    "5105105105105100",
    "4222222222222",
]
OFFSETS = [
    "Z",
    "Z",
    "Z",
    "Z",
    "Z",
    "Z",
    "+01:00",
    "-05:00",
    "+05:30",
    "+09:00",
    "-12:00",
    "+14:00",
    "z",
]

BAD_KINDS = (
    "FIELD_COUNT",
    "NUL_CHARACTER",
    "REQUIRED",
    "TOO_LONG",
    "INVALID_FORMAT",
    "INVALID_TIMESTAMP",
    "INVALID_AMOUNT",
    "AMOUNT_PRECISION",
    "INVALID_CURRENCY",
    "INVALID_ENUM",
    "INVALID_CARD",
    "INVALID_COUNTRY",
    "DUPLICATE_ID",
)


def _quote(value: str) -> str:
    if any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _good(rng: random.Random, number: int) -> list[str]:
    currency, minor, _ = rng.choices(CURRENCIES, weights=[c[2] for c in CURRENCIES])[0]
    whole = rng.randrange(1, 5000)
    if minor:
        fraction = f"{rng.randrange(10**minor):0{minor}d}"
        if rng.random() < 0.2:
            fraction = fraction.rstrip("0") or "0"  # "12.3", "12.0"
        amount = f"{whole}.{fraction}"
    else:
        amount = str(whole)
    if rng.random() < 0.02:
        amount = "00" + amount
    stamp = (
        f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    )
    if rng.random() < 0.05:
        stamp += "." + "123456"[: rng.randrange(1, 7)]
    stamp += rng.choice(OFFSETS)
    merchant = rng.choice(MERCHANTS)
    if rng.random() < 0.005:
        merchant = f"Paid {rng.choice(CARDS)} at desk"
    return [
        f"tx-{number:010d}",
        f"ACC{rng.randrange(10**6):06d}",
        stamp,
        amount,
        currency if rng.random() < 0.95 else currency.lower(),
        rng.choice(("DEBIT", "DEBIT", "CREDIT", "debit", "Credit")),
        merchant if rng.random() < 0.97 else "",
        rng.choice(CATEGORIES) if rng.random() < 0.95 else "",
        rng.choice(CARDS) if rng.random() < 0.9 else "",
        rng.choice(COUNTRIES) if rng.random() < 0.97 else "",
    ]


def _spoil(rng: random.Random, values: list[str], kind: str, earlier_id: str) -> list[str]:
    if kind == "FIELD_COUNT":
        return values[: rng.randrange(3, 9)] if rng.random() < 0.5 else [*values, "extra"]
    if kind == "NUL_CHARACTER":
        values[6] = values[6] + "\0"
    elif kind == "REQUIRED":
        values[rng.randrange(6)] = ""
    elif kind == "TOO_LONG":
        index = rng.choice((0, 1, 6, 7))
        values[index] = values[index] + "x" * (300 if index == 6 else 70)
    elif kind == "INVALID_FORMAT":
        values[rng.choice((0, 1))] = rng.choice(("tx 1", "a.b", "ACC-1", "é1"))
    elif kind == "INVALID_TIMESTAMP":
        values[2] = rng.choice(
            (
                "2024-02-30T10:00:00Z",
                "2024-01-01 10:00:00Z",
                "2024-01-01T10:00Z",
                "2024-01-01T24:00:00Z",
                "2024-01-01T10:00:00+15:00",
                "yesterday",
                "2024-13-01T00:00:00Z",
            )
        )
    elif kind == "INVALID_AMOUNT":
        values[3] = rng.choice(
            ("-12.30", "1e3", "1,000.00", "12.", ".5", "0", "0.00", " 12.30", "twelve", "1" * 19)
        )
    elif kind == "AMOUNT_PRECISION":
        values[4] = rng.choice(("USD", "JPY", "BHD"))
        values[3] = {"USD": "1.234", "JPY": "100.5", "BHD": "1.2345"}[values[4]]
    elif kind == "INVALID_CURRENCY":
        values[4] = rng.choice(("XXX", "US", "usdd", "XAU", "ABC"))
    elif kind == "INVALID_ENUM":
        values[5] = rng.choice(("REFUND", "D", "debit "))
    elif kind == "INVALID_CARD":
        values[8] = rng.choice(
            ("4111111111111112", "41111111", "4111-1111-1111-1111", "41111111111111111111")
        )
    elif kind == "INVALID_COUNTRY":
        values[9] = rng.choice(("XX", "USA", "u", "ZZ"))
    elif kind == "DUPLICATE_ID":
        values[0] = earlier_id
    return values


def write_csv(rows: int, path: Path, *, seed: int = SEED) -> Path:
    """Write ``rows`` data rows (plus the header) to ``path``; same seed, same bytes."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        lines: list[str] = []
        for number in range(1, rows + 1):
            values = _good(rng, number)
            if rng.random() < BAD_RATE:
                earlier = f"tx-{rng.randrange(1, number):010d}" if number > 1 else values[0]
                values = _spoil(rng, values, rng.choice(BAD_KINDS), earlier)
            lines.append(",".join(_quote(value) for value in values))
            if len(lines) >= 50_000:
                out.write("\r\n".join(lines) + "\r\n")
                lines.clear()
        if lines:
            out.write("\r\n".join(lines) + "\r\n")
    tmp.replace(path)
    return path


def ensure(rows: int, *, directory: Path = DATA_DIR) -> Path:
    """The cached benchmark file with ``rows`` rows (generated on first use)."""
    path = directory / f"transactions-{rows}.csv"
    if not path.exists():
        write_csv(rows, path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    write_csv(args.rows, args.path)


if __name__ == "__main__":
    main()
