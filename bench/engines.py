"""The implementations the benchmark times, each run in a fresh process by ``bench.worker``.

* ``ours``: the handlers' core functions, validate -> transform -> enrich over local files,
  exactly as the step handlers call them (S3 streams replaced by files); with pyarrow
  installed they take the columnar engine (``etl_handlers.engines.selector`` chooses).
* ``reference``: the same chain on the reference engine: the pure-Python per-row code, the
  reference every other engine is checked against.
* ``duckdb``, ``polars``, ``pandas``: the same job (same rules, same outputs: rejects with
  row numbers and codes, processed and enriched JSON Lines, exact per-currency totals)
  written as someone who knows each engine would (:data:`DESCRIPTIONS` says how), engines
  held to one thread, columns read by position (header spellings vary).

Each returns a summary: row counts, rejects per code, a digest of the (row, code) list and
the totals, so the driver can check every engine against the reference chain.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import time
from collections import Counter
from contextlib import nullcontext
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.job_sql import NAMES, SCRUB_PREFILTER

# SCRUB_PREFILTER for Python's re as well as RE2 (no POSIX class, no capturing group).
SCRUB_PREFILTER_PY = r"(?:[0-9]|[^\x00-\x7f])(?:[ \t./_-]{0,3}(?:[0-9]|[^\x00-\x7f])){11,}"

ROOT = Path(__file__).resolve().parent.parent

META = {
    "job_id": "0123456789abcdef0123456789abcdef",
    "source_key": "raw/bench/transactions.csv",
    "processed_at": "2026-11-26T00:00:00Z",
    "pipeline_version": "bench",
}


class Clock:
    """Wall-clock and CPU seconds from its creation to :meth:`read`: what every engine
    reports of its run (the clock stops before the checks read the outputs back)."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def read(self) -> dict[str, float]:
        return {
            "seconds": time.perf_counter() - self._wall,
            "cpu_seconds": time.process_time() - self._cpu,
        }


def summary(
    rows_in: int, rejects: list[tuple[int, str]], totals: dict[str, list[int]]
) -> dict[str, Any]:
    """What every engine reports, in one shape."""
    rejects.sort()
    digest = hashlib.sha256("\n".join(f"{r},{c}" for r, c in rejects).encode()).hexdigest()
    return {
        "rows_in": rows_in,
        "rejected": len(rejects),
        "valid": rows_in - len(rejects),
        "by_code": dict(sorted(Counter(code for _, code in rejects).items())),
        "rejects_digest": digest[:16],
        "totals": {key: totals[key] for key in sorted(totals)},
    }


# -- ours ------------------------------------------------------------------------------------


def _engine(name: str | None) -> Any:
    """The engine the step handlers would select (``name`` None), or the one named; the fast
    path's modules (pyarrow, numpy) are imported here, before the clock starts, as
    ``duckdb``, ``polars`` and ``pandas`` are for theirs (a warm function has them loaded;
    the import is a cold-start cost, measured apart)."""
    from etl_handlers.core.report import REFERENCE
    from etl_handlers.engines.reference.engine import ReferenceEngine
    from etl_handlers.engines.selector import select_engine

    engine = ReferenceEngine() if name == REFERENCE else select_engine()
    if engine.name != REFERENCE:
        import etl_handlers.engines.columnar.enrich
        import etl_handlers.engines.columnar.transform
        import etl_handlers.engines.columnar.validate  # noqa: F401
    return engine


def ours_step(
    step: str, path: Path, out: Path, engine: str | None = None, curated: bool = False
) -> dict[str, Any]:
    """One step of the chain over local files (for per-step peak RSS); ``engine``: the
    engine's name (default: the one the selector chooses). ``report``: what it did.
    ``curated``: the enrich step also writes the curated Parquet, as the enricher does."""
    from etl_handlers.core.schema import load_schema
    from etl_handlers.engines.reference.enrich import EnrichMetadata
    from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

    chosen = _engine(engine)
    schema = load_schema(None)
    clock = Clock()
    if step == "validate":
        with (
            path.open("rb") as source,
            (out / "validated.csv").open("wb") as valid,
            (out / "rejected.jsonl").open("wb") as rejects,
        ):
            result = validate_stream(
                source, valid, rejects, schema=schema, max_reject_rate=Decimal(1), engine=chosen
            )
        info = {"rows": result.rows_input, "totals": result.totals.to_json()}
    elif step == "transform":
        with (
            (out / "validated.csv").open("rb") as source,
            (out / "processed.jsonl").open("wb") as sink,
        ):
            result = transform_stream(source, sink, schema=schema, engine=chosen)
        info = {"rows": result.rows}
    else:
        metadata = EnrichMetadata(**META)
        with _Curated(out, schema) if curated else nullcontext() as staged:
            with (
                (out / "processed.jsonl").open("rb") as source,
                (out / "enriched.jsonl").open("wb") as sink,
            ):
                result = enrich_stream(
                    source,
                    sink,
                    metadata=metadata,
                    schema=schema,
                    engine=chosen,
                    curated=staged.builder if staged else None,
                )
            info = {"rows": result.rows}
            if staged:
                info["curated"] = staged.write()
    info["report"] = result.report.to_json()
    info.update(clock.read())
    return info


class _Curated:
    """What the enrich step adds with the curated dataset on, with the enricher's own code
    (``app.curate.StagedCurated``: in-memory spooled files, as in the function; the upload
    to S3 is not timed): the ``transactions`` files built while the engine enriches (read
    back from the enriched output when the engine did not build them), then the rejects'
    file."""

    def __init__(self, out: Path, schema: Any) -> None:
        from etl_handlers.app.curate import StagedCurated, schema_document
        from etl_handlers.engines.columnar import curate

        self.out = out
        self.curate = curate
        self.document = schema_document(schema)
        self.staged = StagedCurated(schema=schema, received_date="2026-01-01")
        self.builder = self.staged.builder

    def write(self) -> int:
        """Rows written to the ``transactions`` files."""
        if self.builder.complete:
            written = self.builder.finish()
        else:
            with (self.out / "enriched.jsonl").open("rb") as source:
                written = self.curate.write_transactions(
                    source,
                    document=self.document,
                    input_format="jsonl",
                    open_sink=self.staged.open_sink,
                    default_partition="2026-01-01",
                )
        with (self.out / "rejected.jsonl").open("rb") as source:
            sink = self.staged.open_sink("rejects")  # a spooled file, as for the others
            self.curate.write_rejects(source, job_id=META["job_id"], source_key="bench", sink=sink)
        return written.total

    def __enter__(self) -> _Curated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.staged.__exit__(None, None, None)


def ours_curated(path: Path, out: Path) -> dict[str, Any]:
    """The chain with the curated Parquet on: the enrich step's time includes it."""
    return ours(path, out, curated=True)


def ours(path: Path, out: Path, engine: str | None = None, curated: bool = False) -> dict[str, Any]:
    """The whole chain; the summary is read back from the outputs. ``curated``: the enrich
    step also writes the curated Parquet."""
    _engine(engine)
    if curated:  # loaded before the clock starts, as the engines' modules are
        import etl_handlers.app.curate
        import etl_handlers.engines.columnar.curate  # noqa: F401
    clock = Clock()
    validate = ours_step("validate", path, out, engine)
    transform = ours_step("transform", path, out, engine)
    enrich = ours_step("enrich", path, out, engine, curated)
    timing = clock.read()
    rejects = []
    with (out / "rejected.jsonl").open("rb") as lines:
        for line in lines:
            record = json.loads(line)
            rejects.append((record["row"], record["code"]))
    totals = {
        f"{currency}": [figures["count"], figures["debit"], figures["credit"]]
        for currency, figures in validate["totals"].items()
    }
    result = summary(validate["rows"], rejects, totals)
    result["steps"] = {
        "validate": validate["seconds"],
        "transform": transform["seconds"],
        "enrich": enrich["seconds"],
    }
    result["check"] = {"transformed": transform["rows"], "enriched": enrich["rows"]}
    if curated:
        result["check"]["curated"] = enrich["curated"]
    result["outputs"] = _digests(out)
    if engine is None:  # what the engine report says it did: rows on the columnar path
        result["columnar_share"] = columnar_share(
            {"validate": validate, "transform": transform, "enrich": enrich}
        )
    result.update(timing)
    return result


def columnar_share(steps: dict[str, dict[str, Any]]) -> str:
    """Per step, the share of rows the columnar engine did, and why the rest went to the
    reference (``validate 3.1% (quoted_line_break 96.9%), transform 100%, ...``)."""
    parts = []
    for step, info in steps.items():
        report = info["report"]
        done, handed = report["rows"]["columnar"], report["rows"]["reference"]
        total = done + handed
        text = f"{step} {100 * done / total:.1f}%" if total else f"{step} (no rows)"
        reasons = report.get("reasons") or {}
        if reasons and total:
            text += (
                " ("
                + ", ".join(
                    f"{name} {100 * figures['rows'] / total:.1f}%"
                    for name, figures in sorted(reasons.items(), key=lambda item: -item[1]["rows"])
                )
                + ")"
            )
        parts.append(text)
    return ", ".join(parts)


def _digests(out: Path) -> dict[str, str]:
    found = {}
    for name in ("validated.csv", "rejected.jsonl", "processed.jsonl", "enriched.jsonl"):
        digest = hashlib.sha256()
        with (out / name).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        found[name] = digest.hexdigest()[:16]
    return found


def _format_totals(raw: dict[tuple[str, bool], tuple[int, int]]) -> dict[str, list[Any]]:
    from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
    from etl_handlers.core.values import format_minor

    merged: dict[str, list[int]] = {}
    for (currency, debit), (count, minor_units) in raw.items():
        entry = merged.setdefault(currency, [0, 0, 0])
        entry[0] += count
        entry[1 if debit else 2] += minor_units
    return {
        currency: [
            count,
            format_minor(debit, CURRENCY_MINOR_UNITS[currency]),
            format_minor(credit, CURRENCY_MINOR_UNITS[currency]),
        ]
        for currency, (count, debit, credit) in merged.items()
    }


def _widths(path: Path) -> list[int]:
    """Fields per record, as the ``csv`` module reads the file (quoted line breaks kept)."""
    import csv

    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [len(fields) for fields in reader if fields]


def _row_numbers(ks: list[int], bad_rows: list[int]) -> list[int]:
    """Map the k-th parsed row (1-based) to its data row number, given rows the reader dropped."""
    bad_rows = sorted(bad_rows)
    result = []
    for k in ks:
        row = k
        while True:  # row = k + number of dropped rows at or before row
            shifted = k + bisect.bisect_right(bad_rows, row)
            if shifted == row:
                break
            row = shifted
        result.append(row)
    return result


# -- duckdb ----------------------------------------------------------------------------------


def duckdb_job(path: Path, out: Path) -> dict[str, Any]:
    import duckdb
    from etl_handlers.core.masking import scrub
    from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS

    from bench.job_sql import script

    clock = Clock()
    con = duckdb.connect(config={"threads": 1, "preserve_insertion_order": True})
    con.execute("SET threads = 1")
    con.create_function("scrub", scrub, ["VARCHAR"], "VARCHAR", side_effects=False)
    statements = script(
        str(path),
        str(out),
        META,
        minor_units=dict(CURRENCY_MINOR_UNITS),
        countries=frozenset(COUNTRIES),
    )
    for statement in statements:
        con.execute(statement)
    dropped = [
        line - 1
        for (line,) in con.execute(
            "SELECT DISTINCT line FROM reject_errors ORDER BY line"
        ).fetchall()
    ]
    rows_in = con.execute("SELECT count(*) FROM job").fetchone()[0] + len(dropped)
    checked = []
    with (out / "rejected.csv").open() as lines:
        for line in lines:
            k, code = line.rstrip("\n").split(",")
            checked.append((int(k), code))
    numbers = _row_numbers([k for k, _ in checked], dropped)
    rejects = [(row, code) for row, (_, code) in zip(numbers, checked, strict=True)]
    rejects += [(row, "FIELD_COUNT") for row in dropped]
    raw = {(c, d): (n, int(m)) for c, d, n, m in con.execute("SELECT * FROM totals").fetchall()}
    timing = clock.read()
    result = summary(rows_in, rejects, _format_totals(raw))
    result.update(timing)
    return result


# -- polars ----------------------------------------------------------------------------------


def _polars_checks(pl: Any, minor: Any) -> tuple[Any, Any]:
    """(pre, post) reject-code expressions; pre decides before the duplicate test."""
    c = pl.col
    ts = c("timestamp")
    tail = ts.str.slice(-6)
    offset_minutes = tail.str.slice(1, 2).cast(pl.Int32, strict=False) * 60 + tail.str.slice(
        4, 2
    ).cast(pl.Int32, strict=False)
    head = c("amount").str.split_exact(".", 1).struct.field("field_0").str.strip_chars_start("0")
    frac = (
        c("amount")
        .str.split_exact(".", 1)
        .struct.field("field_1")
        .fill_null("")
        .str.strip_chars_end("0")
    )
    # Luhn as integer arithmetic on the card's value (19 digits fit in a UInt64): several
    # times faster than splitting the text into a list of digits.
    number = c("card_number").cast(pl.UInt64, strict=False)
    luhn = pl.lit(0, dtype=pl.UInt64)
    for index in range(20):
        digit = number // (10**index) % 10
        luhn = luhn + (digit * 2 - pl.when(digit > 4).then(9).otherwise(0) if index % 2 else digit)
    luhn = luhn % 10
    nul = pl.any_horizontal([c(name).str.contains("\x00", literal=True) for name in NAMES])
    pre = (
        pl.when(nul)
        .then(pl.lit("NUL_CHARACTER"))
        .when(c("transaction_id") == "")
        .then(pl.lit("REQUIRED"))
        .when(c("transaction_id").str.len_chars() > 64)
        .then(pl.lit("TOO_LONG"))
        .when(~c("transaction_id").str.contains(r"^[A-Za-z0-9_-]+$"))
        .then(pl.lit("INVALID_FORMAT"))
    )
    bad_ts = (
        ~ts.str.contains(
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
        )
        | ts.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False).is_null()
        | (ts.str.slice(0, 4) == "0000")
        | (ts.str.slice(11, 2).cast(pl.Int32, strict=False) > 23)
        | (ts.str.slice(14, 2).cast(pl.Int32, strict=False) > 59)
        | (ts.str.slice(17, 2).cast(pl.Int32, strict=False) > 59)
        | (
            (ts.str.slice(-1).str.to_uppercase() != "Z")
            & (
                (tail.str.slice(4, 2).cast(pl.Int32, strict=False) > 59)
                | ((tail.str.slice(0, 1) == "+") & (offset_minutes > 840))
                | ((tail.str.slice(0, 1) == "-") & (offset_minutes > 720))
            )
        )
    )
    post = (
        pl.when(c("account_id") == "")
        .then(pl.lit("REQUIRED"))
        .when(c("account_id").str.len_chars() > 34)
        .then(pl.lit("TOO_LONG"))
        .when(~c("account_id").str.contains(r"^[A-Za-z0-9]+$"))
        .then(pl.lit("INVALID_FORMAT"))
        .when(ts == "")
        .then(pl.lit("REQUIRED"))
        .when(bad_ts.fill_null(True))
        .then(pl.lit("INVALID_TIMESTAMP"))
        .when(c("amount") == "")
        .then(pl.lit("REQUIRED"))
        .when(~c("amount").str.contains(r"^[0-9]+(\.[0-9]+)?$") | (head.str.len_chars() > 18))
        .then(pl.lit("INVALID_AMOUNT"))
        .when((head == "") & (frac == ""))
        .then(pl.lit("INVALID_AMOUNT"))
        .when(minor.is_not_null() & (frac.str.len_chars() > minor))
        .then(pl.lit("AMOUNT_PRECISION"))
        .when(c("currency") == "")
        .then(pl.lit("REQUIRED"))
        .when(minor.is_null())
        .then(pl.lit("INVALID_CURRENCY"))
        .when(c("transaction_type") == "")
        .then(pl.lit("REQUIRED"))
        .when(~c("transaction_type").str.to_uppercase().is_in(["DEBIT", "CREDIT"]))
        .then(pl.lit("INVALID_ENUM"))
        .when(c("merchant").str.len_chars() > 255)
        .then(pl.lit("TOO_LONG"))
        .when(c("category").str.len_chars() > 64)
        .then(pl.lit("TOO_LONG"))
        .when(
            (c("card_number") != "")
            & (~c("card_number").str.contains(r"^[0-9]{12,19}$") | (luhn != 0).fill_null(True))
        )
        .then(pl.lit("INVALID_CARD"))
        .when((c("country") != "") & (~c("country_ok")))
        .then(pl.lit("INVALID_COUNTRY"))
    )
    return pre, post


def polars_job(path: Path, out: Path) -> dict[str, Any]:
    import os

    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    import polars as pl
    from etl_handlers.core.masking import scrub
    from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS

    clock = Clock()
    # Every column a string (no inference: a typed read would fail a bad value without its
    # code), by position (header names vary); rows of another width are kept (truncated or
    # padded) so that row k of the frame is data row k.
    frame = pl.read_csv(
        path,
        has_header=False,
        skip_rows=1,
        schema=dict.fromkeys(NAMES, pl.String),
        quote_char='"',
        truncate_ragged_lines=True,
    ).with_columns(pl.all().fill_null(""))
    # polars cannot say which rows had another width: one pass of the csv module (C) does.
    widths = _widths(path)
    bad = [width != len(NAMES) for width in widths]
    frame = frame.with_row_index("k", offset=1)
    dropped = [int(k) for k in frame["k"].filter(pl.Series(bad))]
    frame = frame.filter(~pl.Series(bad))
    currencies = pl.DataFrame(
        {"cur": list(CURRENCY_MINOR_UNITS), "minor": list(CURRENCY_MINOR_UNITS.values())}
    )
    frame = frame.with_columns(
        cur=pl.when(pl.col("currency").str.contains("^[A-Za-z]+$")).then(
            pl.col("currency").str.to_uppercase()
        ),
        country_ok=pl.col("country").str.to_uppercase().is_in(sorted(COUNTRIES))
        & pl.col("country").str.contains("^[A-Za-z]+$"),
    ).join(currencies, on="cur", how="left", maintain_order="left")
    pre, post = _polars_checks(pl, pl.col("minor"))
    frame = frame.with_columns(pre=pre, post=post)
    firsts = (
        frame.filter(pl.col("pre").is_null() & pl.col("post").is_null())
        .group_by("transaction_id")
        .agg(first_k=pl.col("k").min())
    )
    frame = frame.join(firsts, on="transaction_id", how="left", maintain_order="left").with_columns(
        code=pl.coalesce(
            pl.col("pre"),
            pl.when(pl.col("first_k") < pl.col("k")).then(pl.lit("DUPLICATE_ID")),
            pl.col("post"),
        )
    )
    rejected = frame.filter(pl.col("code").is_not_null()).select("k", "code")
    rejected.write_csv(out / "rejected.csv")
    valid = frame.filter(pl.col("code").is_null())
    head = (
        pl.col("amount").str.split_exact(".", 1).struct.field("field_0").str.strip_chars_start("0")
    )
    frac = (
        pl.col("amount")
        .str.split_exact(".", 1)
        .struct.field("field_1")
        .fill_null("")
        .str.strip_chars_end("0")
    )
    ts = pl.col("timestamp")
    offset = (
        pl.when(ts.str.slice(-1).str.to_uppercase() == "Z")
        .then(0)
        .otherwise(
            pl.when(ts.str.slice(-6, 1) == "-").then(-1).otherwise(1)
            * (ts.str.slice(-5, 2).cast(pl.Int32) * 60 + ts.str.slice(-2, 2).cast(pl.Int32))
        )
    )
    utc = ts.str.slice(0, 19).str.to_uppercase().str.strptime(
        pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S"
    ) - pl.duration(minutes=offset)
    fraction = ts.str.extract(r"^.{19}(\.[0-9]+)", 1).fill_null("")
    valid = valid.with_columns(head=head, frac=frac)
    enriched = valid.select(
        "transaction_id",
        "account_id",
        timestamp=pl.concat_str([utc.dt.strftime("%Y-%m-%dT%H:%M:%S"), fraction, pl.lit("Z")]),
        amount=pl.when(pl.col("minor") == 0)
        .then(pl.col("head").replace("", "0"))
        .otherwise(
            pl.concat_str(
                [
                    pl.col("head").replace("", "0"),
                    pl.lit("."),
                    pl.col("frac").str.pad_end(8, "0").str.slice(0, pl.col("minor")),
                ]
            )
        ),
        currency=pl.col("currency").str.to_uppercase(),
        transaction_type=pl.col("transaction_type").str.to_uppercase(),
        merchant=pl.when(pl.col("merchant").str.contains(SCRUB_PREFILTER))
        .then(pl.col("merchant").map_elements(scrub, return_dtype=pl.String))
        .otherwise(pl.col("merchant"))
        .replace("", None),
        category=pl.when(pl.col("category").str.contains(SCRUB_PREFILTER))
        .then(pl.col("category").map_elements(scrub, return_dtype=pl.String))
        .otherwise(pl.col("category"))
        .replace("", None),
        card_number=pl.when(pl.col("card_number").str.len_chars() > 4)
        .then(
            pl.concat_str(
                [
                    pl.lit("*" * 19).str.slice(0, pl.col("card_number").str.len_chars() - 4),
                    pl.col("card_number").str.slice(-4),
                ]
            )
        )
        .otherwise(pl.col("card_number"))
        .replace("", None),
        country=pl.col("country").str.to_uppercase().replace("", None),
        **{name: pl.lit(value) for name, value in META.items()},
        transaction_date=utc.dt.strftime("%Y-%m-%d"),
    )
    enriched.select(NAMES).write_ndjson(out / "processed.jsonl")
    enriched.write_ndjson(out / "enriched.jsonl")
    totals = valid.group_by("cur", pl.col("transaction_type").str.to_uppercase() == "DEBIT").agg(
        n=pl.len(),
        minor_units=pl.concat_str(
            [pl.col("head"), pl.col("frac").str.pad_end(8, "0").str.slice(0, pl.col("minor"))]
        )
        .cast(pl.Int128)
        .sum(),
    )
    raw = {(cur, debit): (n, int(m)) for cur, debit, n, m in totals.iter_rows()}
    checked = list(rejected.iter_rows())
    numbers = [int(k) for k, _ in checked]
    rejects = [(row, code) for row, (_, code) in zip(numbers, checked, strict=True)]
    rejects += [(row, "FIELD_COUNT") for row in dropped]
    timing = clock.read()
    result = summary(len(widths), rejects, _format_totals(raw))
    result.update(timing)
    return result


# -- pandas ----------------------------------------------------------------------------------


def pandas_job(path: Path, out: Path) -> dict[str, Any]:
    """The job in pandas: the C parser, every column a string, str methods, numpy for the
    Luhn check; the reference's own function for timestamps (Python, per row)."""
    import pandas as pd
    from etl_handlers.core.masking import scrub
    from etl_handlers.core.refdata import COUNTRIES, CURRENCY_MINOR_UNITS
    from etl_handlers.core.values import timestamp_to_utc

    clock = Clock()
    # The C parser (the pyarrow engine cannot read quoted line breaks through pandas).
    frame = pd.read_csv(
        path,
        header=0,
        names=list(NAMES),
        encoding="utf-8-sig",
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        on_bad_lines="skip",
        engine="c",
    )
    # pandas skips lines with too many fields without saying which and pads lines with too
    # few: find both in a pass with the csv module.
    widths = _widths(path)
    rows_in = len(widths)
    bad_rows = [n for n, width in enumerate(widths, start=1) if width != len(NAMES)]
    frame.index = pd.Index([n for n, w in enumerate(widths, start=1) if w <= len(NAMES)])
    frame = frame[frame.index.map(lambda n: widths[n - 1] == len(NAMES))]
    minor = frame["currency"].str.upper().map(CURRENCY_MINOR_UNITS)
    minor[~frame["currency"].str.fullmatch("[A-Za-z]+")] = float("nan")
    utc = frame["timestamp"].map(timestamp_to_utc)
    parts = frame["amount"].str.extract(r"^([0-9]+)(?:\.([0-9]+))?$")
    head = parts[0].fillna("").str.lstrip("0")
    frac = parts[1].fillna("").str.rstrip("0")
    amount_ok = parts[0].notna() & (head.str.len() <= 18)
    nul = frame.apply(lambda col: col.str.contains("\x00", regex=False)).any(axis=1)
    frame = frame.fillna("")
    card = frame["card_number"]
    card_ok = (card == "") | _luhn_ok(card)
    conditions = [
        (nul, "NUL_CHARACTER"),
        (frame["transaction_id"] == "", "REQUIRED"),
        (frame["transaction_id"].str.len() > 64, "TOO_LONG"),
        (~frame["transaction_id"].str.fullmatch("[A-Za-z0-9_-]+"), "INVALID_FORMAT"),
    ]
    post_conditions = [
        (frame["account_id"] == "", "REQUIRED"),
        (frame["account_id"].str.len() > 34, "TOO_LONG"),
        (~frame["account_id"].str.fullmatch("[A-Za-z0-9]+"), "INVALID_FORMAT"),
        (frame["timestamp"] == "", "REQUIRED"),
        (utc.isna(), "INVALID_TIMESTAMP"),
        (frame["amount"] == "", "REQUIRED"),
        (~amount_ok, "INVALID_AMOUNT"),
        ((head == "") & (frac == ""), "INVALID_AMOUNT"),
        (minor.notna() & (frac.str.len() > minor.fillna(99)), "AMOUNT_PRECISION"),
        (frame["currency"] == "", "REQUIRED"),
        (minor.isna(), "INVALID_CURRENCY"),
        (frame["transaction_type"] == "", "REQUIRED"),
        (~frame["transaction_type"].str.upper().isin(["DEBIT", "CREDIT"]), "INVALID_ENUM"),
        (frame["merchant"].str.len() > 255, "TOO_LONG"),
        (frame["category"].str.len() > 64, "TOO_LONG"),
        (~card_ok, "INVALID_CARD"),
        (
            (frame["country"] != "")
            & ~(
                frame["country"].str.upper().isin(COUNTRIES)
                & frame["country"].str.fullmatch("[A-Za-z]+")
            ),
            "INVALID_COUNTRY",
        ),
    ]

    def first_code(pairs: list[tuple[Any, str]]) -> Any:
        code = pd.Series(pd.NA, index=frame.index, dtype="object")
        for condition, name in reversed(pairs):
            code = code.mask(condition.fillna(True).astype(bool), name)
        return code

    pre, post = first_code(conditions), first_code(post_conditions)
    otherwise_valid = pre.isna() & post.isna()
    first_k = (
        frame.index.to_series()
        .where(otherwise_valid)
        .groupby(frame["transaction_id"])
        .transform("min")
    )
    duplicate = pre.isna() & (first_k < frame.index.to_series())
    code = pre.fillna(post.where(~duplicate, "DUPLICATE_ID")).where(
        ~duplicate | pre.notna(), "DUPLICATE_ID"
    )
    rejected = code[code.notna()]
    valid = frame[code.isna()].copy()
    vminor = minor[code.isna()].astype(int)
    vhead, vfrac = head[code.isna()], frac[code.isna()]
    padded = [f.ljust(m, "0") for f, m in zip(vfrac, vminor, strict=True)]
    valid["timestamp"] = utc[code.isna()]
    valid["amount"] = [
        (h or "0") + ("." + p if m else "") for h, p, m in zip(vhead, padded, vminor, strict=True)
    ]
    for name in ("currency", "transaction_type", "country"):
        valid[name] = valid[name].str.upper()
    for name in ("merchant", "category"):  # scrub() only where a card number may hide
        text = valid[name]
        suspect = text.str.contains(SCRUB_PREFILTER_PY, regex=True)
        valid[name] = text.where(~suspect, text[suspect].map(scrub))
    valid["card_number"] = valid["card_number"].map(
        lambda v: "*" * (len(v) - 4) + v[-4:] if len(v) > 4 else v
    )
    valid.replace("", None).to_json(
        out / "processed.jsonl", orient="records", lines=True, force_ascii=False
    )
    for name, value in META.items():
        valid[name] = value
    valid["transaction_date"] = valid["timestamp"].str.slice(0, 10)
    valid = valid.replace("", None)
    valid.to_json(out / "enriched.jsonl", orient="records", lines=True, force_ascii=False)
    minor_units = pd.Series(
        [int(h + p or "0") for h, p in zip(vhead, padded, strict=True)], index=valid.index
    )
    grouped = (
        pd.DataFrame(
            {
                "cur": valid["currency"],
                "debit": valid["transaction_type"] == "DEBIT",
                "m": minor_units,
            }
        )
        .groupby(["cur", "debit"])["m"]
        .agg(["count", "sum"])
    )
    raw = {(cur, bool(debit)): (int(n), int(s)) for (cur, debit), (n, s) in grouped.iterrows()}
    rejects = [(int(row), str(c)) for row, c in rejected.items()]
    rejects += [(row, "FIELD_COUNT") for row in bad_rows]
    timing = clock.read()
    result = summary(rows_in, rejects, _format_totals(raw))
    result.update(timing)
    return result


def _luhn_ok(card: Any) -> Any:
    """12-19 ASCII digits passing the Luhn check, vectorized: the digits of the cards of the
    right shape as a numpy matrix (left-padded to 20), every second from the right doubled."""
    import numpy as np

    shaped = card.str.fullmatch("[0-9]{12,19}").fillna(False).astype(bool)
    padded = card[shaped].str.zfill(20)
    digits = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).reshape(-1, 20) - 48
    doubled = digits[:, 0::2] * 2
    total = digits[:, 1::2].sum(axis=1) + (doubled - 9 * (doubled > 9)).sum(axis=1)
    ok = shaped.copy()
    ok[shaped] = total % 10 == 0
    return ok


def reference(path: Path, out: Path) -> dict[str, Any]:
    """The chain on the reference engine (the pure-Python path)."""
    return ours(path, out, "reference")


DESCRIPTIONS = {
    "reference": "the chain (validate -> transform -> enrich) on its pure-Python path",
    "ours": "the chain as the handlers run it, columnar engine selected (pyarrow)",
    "ours-curated": "ours, plus the curated Parquet the enrich step writes by default (typed "
    "columns, one file per transaction date, and the rejects)",
    "duckdb": "one read_csv, explicit VARCHAR columns, quote/escape set; one statement checks "
    "and normalizes into a temp table, duplicates by one UPDATE, a COPY per output; 1 thread",
    "polars": "read_csv with a String schema by position, ragged rows kept, expressions "
    "(integer Luhn); field counts from one csv-module pass (polars cannot report them); "
    "1 thread",
    "pandas": "C-parser read_csv, all strings; str methods, numpy Luhn, the core's timestamp "
    "function per row; field counts from one csv-module pass",
}

JOBS = {
    "reference": reference,
    "ours": ours,
    "ours-curated": ours_curated,
    "duckdb": duckdb_job,
    "polars": polars_job,
    "pandas": pandas_job,
}


def run(engine: str, path: Path, out: Path) -> dict[str, Any]:
    """Run one engine's job; ``out`` receives its outputs."""
    out.mkdir(parents=True, exist_ok=True)
    return JOBS[engine](path, out)


__all__ = ["DESCRIPTIONS", "JOBS", "META", "columnar_share", "ours_step", "run", "summary"]
_ = io
