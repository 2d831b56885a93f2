"""Synthetic transaction CSVs for the benchmarks, in input profiles; deterministic (seeded).

Profiles (:data:`PROFILES`), each a row of the bench table:

* ``clean``: the original benchmark file. Valid rows vary the way tidy exports do (several
  currencies, JPY with no minor units and BHD with three, timestamps in UTC and with offsets,
  lower-case codes, empty optional columns, merchants with commas, quotes and non-ASCII
  letters, now and then a card number typed into a merchant name, which must be scrubbed);
  ~1% of the rows are bad, spread over every row reject code of ``core.codes``. No quoted
  line breaks, CRLF, no BOM.
* ``realistic``: what files from other systems look like: a BOM, a mixed-case header, CRLF
  records with LF (and now and then CRLF) line breaks inside quoted fields, mixed-case and
  lower-case enums and codes, padded text, non-ASCII and emoji text, formula-like text
  (``=SUM(A1:A9)``, ``+cmd``, ``@x``, ``-5% off``), ids and accounts of several shapes,
  re-sent rows (duplicate ids), and ~3.5% rejects of every row reject code with the causes
  met in practice (padded codes, thousands separators, an unquoted comma, a cut-off line).
  Free text holds a quoted line break, a quoted comma and a quoted quote each at 1 row in
  1,000; ``realistic-10`` is the same at 1 row in 10.
* ``realistic-daily``: the realistic mix as a bank's daily export: every row booked on one
  day (local time, so offsets put some on the UTC day before or after) but ~2% late
  postings from the three days before. The other profiles draw days over a year in no
  order: the worst case for the curated dataset's day partitions, this one the usual case.
* ``adversarial``: the realistic mix where every row has a quoted line break in a very wide
  merchant name (100-255 characters, some exactly at the limit, quotes and emoji inside);
  LF records.

Every file is valid for the default schema apart from the intended rejects: the generator
records the code each bad row must get (the first failing rule, duplicates decided against
the ids accepted so far), and ``tests/unit/test_bench_generate.py`` checks that the
reference engine rejects exactly those rows with exactly those codes.

``python -m bench.generate --profile realistic --rows 1M --out FILE`` writes one file and
prints the reject mix it holds; :func:`ensure` caches files under ``bench/data/`` (ignored
by git).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date as _date
from datetime import timedelta as _timedelta
from pathlib import Path

__all__ = [
    "BAD_KINDS",
    "DATA_DIR",
    "PROFILES",
    "Generated",
    "Profile",
    "ensure",
    "generate",
    "parse_rows",
    "write_csv",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,"
    "merchant,category,card_number,country"
)
SEED = 20261126
#: Rows of a daily export booked on an earlier day (late postings).
LATE_RATE = 0.02
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


# -- profiles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How a generated file looks. Rates are per data row."""

    name: str
    summary: str
    reject_rate: float
    special_rate: float = 0.0
    """Rows whose free text holds a quoted line break; as many again a quoted comma, and a
    quoted quote (independently)."""
    messy: bool = False
    """Values of other systems: BOM, mixed-case header and codes, padded and emoji text..."""
    wide: bool = False
    """Every merchant name 100-255 characters with a quoted line break inside."""
    newline: str = "\r\n"
    business_day: str | None = None
    """A daily export: every row booked on this day (``YYYY-MM-DD``, local time: an offset
    can put it on the UTC day before or after), but ~2% late postings from the three days
    before. None: days drawn over 2024 (a year's extract in no order, the worst case for
    the curated dataset's day partitions)."""


PROFILES = {
    profile.name: profile
    for profile in (
        Profile(
            "clean",
            "generated as before: ~1% rejects, no quoted line break, CRLF",
            reject_rate=BAD_RATE,
        ),
        Profile(
            "realistic",
            "BOM, mixed case, padded/emoji/formula text, ~3.5% rejects, "
            "quoted line break/comma/quote in 1 row in 1,000",
            reject_rate=0.035,
            special_rate=0.001,
            messy=True,
        ),
        Profile(
            "realistic-10",
            "as realistic, quoted line break/comma/quote in 1 row in 10",
            reject_rate=0.035,
            special_rate=0.1,
            messy=True,
        ),
        Profile(
            "adversarial",
            "as realistic, every row a quoted line break in a 100-255 character merchant, LF",
            reject_rate=0.035,
            special_rate=1.0,
            messy=True,
            wide=True,
            newline="\n",
        ),
        Profile(
            "realistic-daily",
            "as realistic, a day's export: one booking day, ~2% late postings (3 days before)",
            reject_rate=0.035,
            special_rate=0.001,
            messy=True,
            business_day="2024-03-15",
        ),
    )
}


@dataclass
class Generated:
    """A written file and the rejects it must give: (data row number, code), in row order."""

    path: Path
    rows: int
    profile: str
    rejects: list[tuple[int, str]] = field(default_factory=list)

    @property
    def by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(code for _, code in self.rejects).items()))


MESSY_HEADER = (
    "Transaction_ID,Account_ID,Timestamp,Amount,Currency,Transaction_Type,"
    "Merchant,Category,Card_Number,Country"
)
MESSY_MERCHANTS = [
    "Coffee Shop",
    "Grocery Mart",
    "Fuel & Go",
    "Café Zürich",
    "Müller Drogerie",
    "Sushi 寿司",
    "Пекарня Хлеб",
    "مطعم السلام",
    "☕ Morning Brew",
    "Pizza 🍕 Express",
    "👩‍💻 Dev Supplies",
    "Taxi 24/7",
    "AMAZON MKTPLACE PMTS",
    "amazon mktplace pmts",
    "SQ *BLUE BOTTLE",
    "PAYPAL *STEAM GAMES",
    "=SUM(A1:A9)",
    "+cmd Hardware",
    "@x Social",
    "-5% Outlet",
    "'Quoted' Bistro",
    "Zoë's Bäckerei",
]
MESSY_CATEGORIES = ["food", "Travel", "FUEL", "retail", "health", "épicerie", "utilities", "🎬"]
SPECIAL_MERCHANTS = {  # one of each kind of quoted free text, by what it holds
    "break": ["Main Street Deli\nUnit 4", "Hotel Adlon\r\nBerlin", "Ferry\nterminal 2\nkiosk"],
    "comma": ["Smith, Jones & Co", "Books, Maps, More", "Tokyo, Ginza 🏯"],
    "quote": ['The "Best" Bar', 'Joe\'s "Diner"', '"Quoted" Deli'],
}
CASED = {  # value -> the spellings the files use, most common first
    "DEBIT": ["DEBIT", "Debit", "debit"],
    "CREDIT": ["CREDIT", "Credit", "credit"],
}
BAD_VALUES = {  # code -> (column index, values that fail exactly there)
    "INVALID_TIMESTAMP": (
        2,
        [
            "2024-01-31 13:45:00",
            "31/01/2024 13:45",
            "2024-01-31T13:45:00",
            "2024-02-30T10:00:00Z",
            "2024-01-31T13:45:00+1:00",
            " 2024-01-31T13:45:00Z",
            "2024-01-31T13:45:00Z ",
            "2024-01-31T24:00:00Z",
        ],
    ),
    "INVALID_AMOUNT": (
        3,
        ["12.30 ", " 12.30", "-12.30", "1,234.56", "$12.30", "12,30", "0.00", "1.2e3", "n/a"],
    ),
    "INVALID_CURRENCY": (4, [" USD", "USD ", "US$", "EURO", "XAU", "XXX", "€"]),
    "INVALID_ENUM": (5, [" DEBIT", "Debit ", "REFUND", "DR", "Débit", "PURCHASE"]),
    "INVALID_CARD": (
        8,
        [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111112",
            "************1111",
            "411111",
            "41111111111111111111",
        ],
    ),
    "INVALID_COUNTRY": (9, ["DE ", " gb", "USA", "UK", "XX", "Deutschland", "D"]),
}


def _tx_id(owner: int) -> str:
    """The id of the row numbered ``owner``: several shapes, never two rows alike."""
    shape = owner % 4
    if shape == 0:
        return f"tx-{owner:010d}"
    if shape == 1:
        return f"TXN_{owner:09d}"
    if shape == 2:
        return f"{owner}"
    return f"ord-{owner:08x}"


def _cased(rng: random.Random, code: str) -> str:
    draw = rng.random()
    if draw < 0.8:
        return code
    return code.lower() if draw < 0.95 else code.title()


def _wide_pool(rng: random.Random) -> list[str]:
    """Merchant names of 100-255 characters, each with a quoted line break (LF or CRLF)."""
    words = [*MESSY_MERCHANTS, "and", "Sons", "Ltd.", '"Premium"', "Outlet", "🛒", "naïve"]
    pool = []
    for index in range(400):
        target = 255 if index % 10 == 0 else rng.randrange(100, 256)
        text = ""
        while len(text) < target:
            text += rng.choice(words) + " "
        text = text[:target].rstrip(" ") or "x"
        cut = rng.randrange(1, len(text))
        breaker = "\r\n" if index % 3 == 0 else "\n"
        text = (text[:cut] + breaker + text[cut:])[:target]
        if "\n" not in text:  # the break was cut off the end
            text = text[: target - 1] + "\n"
        pool.append(text)
    return pool


def _messy_good(rng: random.Random, number: int, profile: Profile, pool: list[str]) -> list[str]:
    currency, minor, _ = rng.choices(CURRENCIES, weights=[c[2] for c in CURRENCIES])[0]
    whole = rng.randrange(1, 20000)
    if minor:
        fraction = f"{rng.randrange(10**minor):0{minor}d}"
        if rng.random() < 0.2:
            fraction = fraction.rstrip("0") or "0"
        amount = f"{whole}.{fraction}"
    else:
        amount = str(whole)
    date = f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if profile.business_day is not None:
        day = _date.fromisoformat(profile.business_day)
        if rng.random() < LATE_RATE:
            day -= _timedelta(days=rng.randrange(1, 4))
        date = day.isoformat()
    stamp = (
        f"{date}"
        f"{'T' if rng.random() < 0.98 else 't'}"
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    )
    if rng.random() < 0.1:
        stamp += "." + "123456789"[: rng.randrange(1, 10)]
    stamp += rng.choice(OFFSETS)
    account = rng.randrange(10**6)
    shape = rng.random()
    if shape < 0.7:
        account_id = f"ACC{account:06d}"
    elif shape < 0.85:
        account_id = f"acc{account:06d}"
    else:
        account_id = f"GB{account % 97:02d}NWBK6016{account:08d}"
    if profile.wide:
        merchant = rng.choice(pool)
    else:
        merchant = rng.choice(MESSY_MERCHANTS)
        draw = rng.random()
        if draw < 0.03:
            merchant = ""
        elif draw < 0.06:
            merchant = f"  {merchant} "
        elif draw < 0.065:
            merchant = f"Paid {rng.choice(CARDS)} at desk"
        for kind, names in SPECIAL_MERCHANTS.items():
            if rng.random() < profile.special_rate:
                special = rng.choice(names)
                merchant = special if kind != "comma" else f"{special}, {merchant}".strip(", ")
    category = rng.choice(MESSY_CATEGORIES) if rng.random() < 0.95 else ""
    if category and rng.random() < 0.03:
        category = f" {category}  "
    return [
        _tx_id(number),
        account_id,
        stamp,
        amount,
        _cased(rng, currency),
        rng.choice(CASED[rng.choice(("DEBIT", "DEBIT", "CREDIT"))]),
        merchant,
        category,
        rng.choice(CARDS) if rng.random() < 0.9 else "",
        _cased(rng, rng.choice(COUNTRIES[:10])) if rng.random() < 0.97 else "",
    ]


MESSY_KINDS = (*BAD_KINDS, "DUPLICATE_ID", "FIELD_COUNT")  # re-sent rows and cut lines: common


def _messy_spoil(rng: random.Random, values: list[str], kind: str) -> list[str]:
    """``values`` made to fail with ``kind`` at its column (earlier columns still pass);
    DUPLICATE_ID is the caller's (it knows which ids were accepted)."""
    if kind == "FIELD_COUNT":
        if rng.random() < 0.5:
            return values[: rng.randrange(2, 9)]  # a line cut off
        return [*values[:6], "Smith", " Jones & Co", *values[7:]]  # an unquoted comma
    if kind == "NUL_CHARACTER":
        values[rng.choice((6, 7, 9))] += "\0"
    elif kind == "REQUIRED":
        values[rng.randrange(6)] = ""
    elif kind == "TOO_LONG":
        index = rng.choice((0, 1, 6, 7))
        limit = {0: 64, 1: 34, 6: 255, 7: 64}[index]
        filler = "x" if index < 2 else rng.choice(("x", "é", "🍕"))
        values[index] = values[index] + filler * (limit + 1 - len(values[index]) + rng.randrange(3))
    elif kind == "INVALID_FORMAT":
        if rng.random() < 0.5:
            values[0] = rng.choice(("tx 12", "tx#12", "tx-ü1", "tx.12", "tx-12 "))
        else:
            values[1] = rng.choice(("ACC-0001", "ACC 0001", "acc.1", " ACC1"))
    elif kind == "AMOUNT_PRECISION":
        code, amount = rng.choice((("USD", "1.234"), ("JPY", "100.5"), ("BHD", "1.2345")))
        values[3], values[4] = amount, _cased(rng, code)
    elif kind in BAD_VALUES:
        index, choices = BAD_VALUES[kind]
        values[index] = rng.choice(choices)
    return values


def generate(
    rows: int,
    path: Path,
    *,
    profile: str | Profile = "clean",
    seed: int = SEED,
    reject_rate: float | None = None,
    special_rate: float | None = None,
) -> Generated:
    """Write ``rows`` data rows of ``profile`` to ``path``; same arguments, same bytes.

    ``reject_rate`` and ``special_rate`` override the profile's (not for ``clean``, which
    stays the original file). Returns the rejects the file must give.
    """
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    if chosen.messy and (reject_rate is not None or special_rate is not None):
        chosen = replace(
            chosen,
            reject_rate=chosen.reject_rate if reject_rate is None else reject_rate,
            special_rate=chosen.special_rate if special_rate is None else special_rate,
        )
    elif reject_rate is not None or special_rate is not None:
        raise ValueError("the clean profile has fixed rates (it is the original file)")
    rng = random.Random(seed)
    result = Generated(path=path, rows=rows, profile=chosen.name)
    accepted = bytearray(rows + 1)  # by the number the row's id was made from
    taken: set[str] = set()  # accepted ids not made from a row number
    pool = _wide_pool(random.Random(seed + 1)) if chosen.wide else []
    newline = chosen.newline
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        if chosen.messy:
            out.write("\ufeff" + MESSY_HEADER + newline)
        else:
            out.write(HEADER + newline)
        lines: list[str] = []
        for number in range(1, rows + 1):
            owner, code = number, None
            if not chosen.messy:  # the original sequence of draws, unchanged
                values = _good(rng, number)
                if rng.random() < BAD_RATE:
                    earlier = rng.randrange(1, number) if number > 1 else number
                    kind = rng.choice(BAD_KINDS)
                    values = _spoil(rng, values, kind, f"tx-{earlier:010d}")
                    code = kind
                    if kind == "DUPLICATE_ID":
                        owner = earlier
                        code = kind if accepted[earlier] else None
                    elif values[0] == "ACC-1":  # an INVALID_FORMAT meant for the account
                        code = "DUPLICATE_ID" if "ACC-1" in taken else None  # is a valid id
                        taken.add("ACC-1")
            else:
                values = _messy_good(rng, number, chosen, pool)
                if rng.random() < chosen.reject_rate:
                    code = rng.choice(MESSY_KINDS)
                    if code == "DUPLICATE_ID":
                        if number == 1:
                            code = None
                        else:  # a re-sent row; its original may itself have been rejected
                            owner = rng.randrange(1, number)
                            values[0] = _tx_id(owner)
                            code = code if accepted[owner] else None
                    else:
                        values = _messy_spoil(rng, values, code)
            if code is None:
                accepted[owner] = 1
            else:
                result.rejects.append((number, code))
            lines.append(",".join(_quote(value) for value in values))
            if len(lines) >= 50_000:
                out.write(newline.join(lines) + newline)
                lines.clear()
        if lines:
            out.write(newline.join(lines) + newline)
    tmp.replace(path)
    return result


def write_csv(rows: int, path: Path, *, seed: int = SEED, profile: str = "clean") -> Path:
    """Write ``rows`` data rows (plus the header) to ``path``; same seed, same bytes."""
    return generate(rows, path, profile=profile, seed=seed).path


def ensure(rows: int, *, profile: str = "clean", directory: Path = DATA_DIR) -> Path:
    """The cached benchmark file of ``profile`` with ``rows`` rows (generated on first use)."""
    name = (
        f"transactions-{rows}.csv" if profile == "clean" else f"transactions-{profile}-{rows}.csv"
    )
    path = directory / name
    if not path.exists():
        write_csv(rows, path, profile=profile)
    return path


def parse_rows(text: str) -> int:
    """``"100k"`` -> 100000, ``"1M"`` -> 1000000, ``"2500"`` -> 2500."""
    value = text.strip()
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(value[-1:], 1)
    digits = value[:-1] if scale > 1 else value
    try:
        rows = int(float(digits) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r} (try 100k or 1M)") from None
    if rows < 1:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r} (at least 1)")
    return rows


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (a fraction: 0.035)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (between 0 and 1)")
    return value


def main(argv: list[str] | None = None) -> int:
    profiles = "\n".join(f"  {p.name}: {p.summary}" for p in PROFILES.values())
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__.splitlines()[0],
        epilog=f"profiles:\n{profiles}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("legacy_rows", nargs="?", metavar="ROWS", type=parse_rows)
    parser.add_argument("legacy_path", nargs="?", metavar="PATH", type=Path)
    parser.add_argument("--rows", type=parse_rows, help="data rows: 2000, 100k, 1M")
    parser.add_argument("--out", type=Path, help="the CSV file to write")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--reject-rate", type=_rate, help="bad rows (not for clean)")
    parser.add_argument(
        "--special-rate", type=_rate, help="quoted line breaks, commas, quotes (not for clean)"
    )
    args = parser.parse_args(argv)
    rows = args.rows or args.legacy_rows
    out = args.out or args.legacy_path
    if rows is None or out is None:
        parser.error("give --rows and --out (or ROWS PATH)")
    if args.legacy_rows is not None and args.rows is None and args.profile == "realistic":
        args.profile = "clean"  # ``python -m bench.generate ROWS PATH`` wrote the clean file
    try:
        made = generate(
            rows,
            out,
            profile=args.profile,
            seed=args.seed,
            reject_rate=args.reject_rate,
            special_rate=args.special_rate,
        )
    except (ValueError, OSError) as error:
        print(f"python -m bench.generate: {error}", file=sys.stderr)
        return 2
    megabytes = out.stat().st_size / 1e6
    mix = ", ".join(f"{code} {count}" for code, count in made.by_code.items())
    print(f"wrote {out} ({made.profile}, {rows:,} rows, {megabytes:.1f} MB)")
    print(f"rejects it must give: {len(made.rejects):,} ({mix})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
