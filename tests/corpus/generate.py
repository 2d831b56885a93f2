"""Builds the corpus files too big to commit, byte for byte the same on every run.

Each builder returns the file's bytes; ``manifest.json`` names a generated file with
``"source": "generated"``. The sizes are relative to the limits of ``core.csvio`` (a field
of :data:`MAX_FIELD_CHARS` characters, a line of :data:`MAX_LINE_BYTES` bytes) and larger
than every buffer on the way (the 64 KiB read chunk, the 1 MiB read buffer, the 8 MiB
multipart part), so a limit that moves moves the files with it.

``python -m tests.corpus.generate DIR`` writes them into DIR (to look at, or to seed a fuzzer).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from etl_handlers.core.csvio import MAX_FIELD_CHARS, MAX_LINE_BYTES

from bench.statements import camt053_chunks

COLUMNS = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "transaction_type",
    "merchant",
    "category",
    "card_number",
    "country",
)
HEADER = ",".join(COLUMNS)


def good_row(number: int, transaction_id: str | None = None) -> str:
    """A valid data row (no card number: the generated files are about size, not PANs)."""
    return ",".join(
        (
            transaction_id or f"TX-{number:06d}",
            f"ACC{number % 7:03d}",
            f"2024-03-{1 + number % 28:02d}T{number % 24:02d}:15:00Z",
            f"{1 + number % 97}.{number % 100:02d}",
            ("USD", "EUR", "GBP")[number % 3],
            "DEBIT" if number % 2 else "CREDIT",
            f"Shop {number}",
            "retail",
            "",
            "US",
        )
    )


def _file(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _extra_columns(count: int, prefix: str = "extra") -> list[str]:
    return [f"{prefix}_{index:05d}" for index in range(count)]


def field_at_limit() -> bytes:
    """One unknown column holding a field of exactly MAX_FIELD_CHARS characters: accepted."""
    rows = [good_row(1) + "," + "x" * MAX_FIELD_CHARS, good_row(2) + ",short"]
    return _file(HEADER + ",blob", rows)


def field_too_large() -> bytes:
    """The same field one character longer: FIELD_TOO_LARGE."""
    rows = [good_row(1) + "," + "x" * (MAX_FIELD_CHARS + 1), good_row(2) + ",short"]
    return _file(HEADER + ",blob", rows)


def runaway_quote() -> bytes:
    """An opening quote never closed swallows 2 MiB of short lines: FIELD_TOO_LARGE."""
    rows = [good_row(1), good_row(2).replace("Shop 2", '"Shop 2')]
    rows += [good_row(number) for number in range(3, 3 + (2 * MAX_FIELD_CHARS) // 80)]
    return _file(HEADER, rows)


def _long_line_row(length: int) -> tuple[str, str]:
    """(header, row) where the row's line is ``length`` bytes, spread over unknown columns
    of at most MAX_FIELD_CHARS characters each."""
    base = good_row(1)
    blobs: list[str] = []
    remaining = length - len(base)
    while remaining > 0:
        size = min(MAX_FIELD_CHARS, remaining - 1)  # the comma before each blob
        blobs.append("y" * size)
        remaining -= size + 1
    header = ",".join([HEADER, *_extra_columns(len(blobs), "blob")])
    row = ",".join([base, *blobs])
    assert len(row) == length, (len(row), length)
    return header, row


def line_at_limit() -> bytes:
    """A data line of exactly MAX_LINE_BYTES bytes: accepted."""
    header, row = _long_line_row(MAX_LINE_BYTES)
    return _file(header, [good_row(0) + "," * (header.count(",") - HEADER.count(",")), row])


def line_too_long() -> bytes:
    """A data line of MAX_LINE_BYTES + 1 bytes: LINE_TOO_LONG."""
    header, row = _long_line_row(MAX_LINE_BYTES + 1)
    return _file(header, [good_row(0) + "," * (header.count(",") - HEADER.count(",")), row])


def header_1mb() -> bytes:
    """A 1 MiB header: the schema's columns and 128 unknown columns of 8 KiB names each."""
    names = [f"c{index:03d}_" + "n" * 8186 for index in range(128)]
    return _file(",".join([HEADER, *names]), [good_row(n) + "," * 128 for n in range(1, 4)])


def columns_10k() -> bytes:
    """10,000 columns: the schema's 10 and 9,990 unknown ones, three rows."""
    extra = _extra_columns(10_000 - len(COLUMNS))
    filler = "," * len(extra)
    return _file(",".join([HEADER, *extra]), [good_row(n) + filler for n in range(1, 4)])


#: Row numbers (1-based) that repeat an id used earlier: at the validator's id-table growth
#: points (1024 slots at load 0.7, doubling), at 1,000-row batch edges, around the Parquet
#: row group (32,768 rows) and the id spill file's 1 MiB flush, and the last row.
DUPLICATE_ROWS = (717, 718, 1000, 1001, 1434, 2001, 21846, 32768, 32769, 34000)


def duplicate_ids_at_boundaries() -> bytes:
    """34,000 rows with 40-character ids; the rows of DUPLICATE_ROWS reuse the id of the row
    before (or, for the last row, of the first): exactly len(DUPLICATE_ROWS) DUPLICATE_ID."""
    rows = []
    for number in range(1, 34_001):
        if number == 34_000:
            id_number = 1
        elif number in DUPLICATE_ROWS:
            id_number = number - 1
            while id_number in DUPLICATE_ROWS:
                id_number -= 1
        else:
            id_number = number
        rows.append(good_row(number, f"TX-{id_number:08d}-" + "i" * 28))
    return _file(HEADER, rows)


def camt053_many_entries() -> bytes:
    """A camt.053 of 10,000 entries over 3 statements (about 5 MB): entries and statements
    across every read chunk, balances that add up (see bench/statements.py)."""
    return b"".join(camt053_chunks(10_000, statements=3))


GENERATED: dict[str, Callable[[], bytes]] = {
    "field-at-limit.csv": field_at_limit,
    "field-too-large.csv": field_too_large,
    "runaway-quote.csv": runaway_quote,
    "line-at-limit.csv": line_at_limit,
    "line-too-long.csv": line_too_long,
    "header-1mb.csv": header_1mb,
    "columns-10k.csv": columns_10k,
    "duplicate-ids-at-boundaries.csv": duplicate_ids_at_boundaries,
    "camt053-many-entries.xml": camt053_many_entries,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.corpus.generate DIR", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.mkdir(parents=True, exist_ok=True)
    for name, build in GENERATED.items():
        (target / name).write_bytes(build())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
