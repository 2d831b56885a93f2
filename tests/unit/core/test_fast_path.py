"""The columnar fast path (engines.columnar) against the pure-Python reference: the same bytes in
every output, the same counts, totals and errors, on generated inputs with every kind of bad
row, on file-level failures in the middle of a file, and on arbitrary input (hypothesis)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from etl_handlers.core import csvio
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.masking import luhn_valid, mask_pan, scrub
from etl_handlers.core.report import EngineReport, Reason
from etl_handlers.core.schema import load_schema
from etl_handlers.core.values import format_minor, split_amount, timestamp_to_utc, to_minor
from etl_handlers.engines import selector as fast
from etl_handlers.engines.columnar import csvchunks, kernels, memory
from etl_handlers.engines.columnar import enrich as fast_enrich
from etl_handlers.engines.columnar import validate as fast_validate
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.reliability.pans import SEPARATOR_CHARS, written_pans

from .conftest import GOOD, HEADER, SCHEMA, VISA, csv_bytes, row
from .test_custom_schema import HEAD as CUSTOM_HEAD
from .test_custom_schema import custom

ROOT = Path(__file__).resolve().parents[3]
META = EnrichMetadata(
    job_id="0123456789abcdef0123456789abcdef",
    source_key="raw/2024/dé.csv",
    processed_at="2026-01-02T03:04:05Z",
    pipeline_version="0.1.0",
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A context switch: ``with reference(): ...`` runs the pure-Python path."""
    from contextlib import contextmanager

    @contextmanager
    def switch() -> Any:
        monkeypatch.setenv(fast.ENV_SWITCH, "0")
        try:
            yield
        finally:
            monkeypatch.delenv(fast.ENV_SWITCH)

    return switch


def run_validate(data: bytes, schema: Any = SCHEMA) -> tuple[Any, ...]:
    valid, rejects = io.BytesIO(), io.BytesIO()
    result = validate_stream(
        io.BytesIO(data), valid, rejects, schema=schema, max_reject_rate=Decimal(1)
    )
    return result, valid.getvalue(), rejects.getvalue()


def run_transform(data: bytes, schema: Any = SCHEMA) -> tuple[Any, ...]:
    sink = io.BytesIO()
    try:
        result = transform_stream(io.BytesIO(data), sink, schema=schema)
    except FileRejected as error:
        return ("error", error.code, error.message)
    return result.rows, result.totals, sink.getvalue()


def run_enrich(data: bytes, schema: Any = SCHEMA) -> tuple[Any, ...]:
    sink = io.BytesIO()
    try:
        result = enrich_stream(io.BytesIO(data), sink, metadata=META, schema=schema)
    except FileRejected as error:
        return ("error", error.code, error.message)
    return result.rows, result.totals, sink.getvalue()


def chain(data: bytes, schema: Any = SCHEMA) -> dict[str, Any]:
    out: dict[str, Any] = {"validate": run_validate(data, schema)}
    result, valid, _ = out["validate"]
    if result.outcome == "VALID":
        out["transform"] = run_transform(valid, schema)
        if out["transform"][0] != "error":
            out["enrich"] = run_enrich(out["transform"][2], schema)
    return out


def plain(data: bytes) -> bool:
    """Input nothing in which makes the columnar reader hand rows to the reference: UTF-8,
    LF line ends only, no blank line, no quote, a line end at the end, no NUL beside every
    control byte (the parser reads NULs as one it lacks)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if b"\0" in data and csvchunks._stand_in(data) is None:
        return False
    return data.endswith(b"\n") and not any(bad in data for bad in (b"\r", b"\n\n", b'"'))


def assert_columnar(result: Any, data: bytes) -> None:
    """The columnar engine validated ``data``, and on plain input without a single row on
    the reference path (so a comparison with the reference compares two engines)."""
    report = result.report
    assert report.engine == "columnar"
    assert report.columnar_rows + report.reference_rows == result.rows_input
    if plain(data):  # a schema the columnar engine does not take is the one excuse
        assert set(report.reasons) <= {Reason.TWO_UNIQUE_COLUMNS}, report.to_json()


def same_chain(reference: Any, data: bytes, schema: Any = SCHEMA) -> dict[str, Any]:
    assert fast.columnar_unavailable() is None
    ours = chain(data, schema)
    with reference():
        expected = chain(data, schema)
    assert ours == expected
    assert_columnar(ours["validate"][0], data)
    return ours


# -- generated files ----------------------------------------------------------------------


def generated(rows: int, seed: int, extra: list[list[str]] | None = None) -> bytes:
    """Rows like the benchmark's (every reject kind), plus ``extra`` rows, quoted as CSV."""
    from bench.generate import BAD_KINDS, _good, _quote, _spoil
    from bench.generate import HEADER as BENCH_HEADER

    rng = random.Random(seed)
    lines = [BENCH_HEADER]
    for number in range(1, rows + 1):
        values = _good(rng, number)
        if rng.random() < 0.05:
            earlier = f"tx-{rng.randrange(1, number):010d}" if number > 1 else values[0]
            values = _spoil(rng, values, rng.choice(BAD_KINDS), earlier)
        lines.append(",".join(_quote(value) for value in values))
    for values in extra or []:
        lines.append(",".join(_quote(value) for value in values))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def tricky(tid: str, stamp: str, amount: str, currency: str, kind: str, *rest: str) -> list[str]:
    """A row with the given values (the rest: merchant, category, card, country)."""
    return [tid, "ACC1", stamp, amount, currency, kind, *rest, *[""] * (4 - len(rest))]


NOON = "2024-01-01T00:00:00Z"
TRICKY = [
    tricky("tx-f1", NOON, "1", "USD", "DEBIT", "=SUM(A1)", "@x", VISA, "US"),
    tricky("tx-f2", NOON, "1", "USD", "DEBIT", "-2", "+3", "", "us"),
    tricky("tx-f3", NOON, "1", "USD", "DEBIT", "'quoted", "\tx"),
    tricky("tx-u1", "2024-12-31T23:30:00-12:00", "0.5", "eur", "credit", 'Zoë, "Ⅻ"'),
    tricky("tx-u2", "9999-12-31T23:59:59Z", "1.230000", "JPY", "DEBIT", "tab\tin"),
    tricky("tx-u3", "0001-01-01T00:00:00+14:00", "1", "USD", "DEBIT", "x"),
    tricky("tx-u4", "2024-02-29t12:00:00.123456789z", "000000000001.5", "CLF", "debit"),
    tricky("tx-u5", "2023-02-29T12:00:00Z", "1", "USD", "DEBIT"),
    tricky("tx-u6", NOON, "1" * 13, "USD", "DEBIT", "back\\slash"),
    tricky("tx-u7", NOON, "1", "USD", "DEBIT", "٤١١١١١١١١١١١١١١١"),
    tricky("tx-u8", NOON, "1", "US\u017f", "DEBIT"),
    tricky("tx-u9", NOON, "1", "USD", "DEBIT", "4111 1111 1111 1111"),
    tricky("tx-ctl", NOON, "1", "USD", "DEBIT", "a\x01b"),
]


def test_generated_file_is_the_same(reference: Any) -> None:
    data = generated(3000, 1, TRICKY)
    out = same_chain(reference, data)
    result = out["validate"][0]
    assert result.rows_input == 3000 + len(TRICKY)
    assert 0 < result.rows_rejected < result.rows_input
    assert out["enrich"][0] == result.rows_valid


def test_small_chunks_cross_every_boundary(reference: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 256)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 1024)
    monkeypatch.setattr(fast_enrich, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(fast_validate, "SLOW_BATCH_ROWS", 7)
    same_chain(reference, generated(400, 2, TRICKY))


def test_quoted_line_breaks_hand_over_to_the_reader(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 4096)
    extra = [
        ["tx-nl", "ACC1", "2024-01-01T00:00:00Z", "1", "USD", "DEBIT", "two\nlines", "", "", ""]
    ]
    data = generated(300, 3) + generated(300, 4, extra).split(b"\r\n", 1)[1]
    out = same_chain(reference, data)
    assert b"two\nlines" in out["validate"][1]


@pytest.mark.parametrize(
    "tail",
    [
        b"\xff\xfe bad bytes,x\r\n",  # NOT_UTF8 in the middle of the file
        b'tx-q,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"open\r\n',  # unterminated quote
        b'tx-q,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"a"b,x,,\r\n',  # text after a quote
        b"tx-cr,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,m,c,,US\rtx-cr2,ACC1,x\r\n",  # bare CR
        b"\r\n\r\n",  # blank lines
        b"tx-last,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,m,c,,US",  # no final line end
        b'tx-s,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,a"b,c,,US\r\n',  # stray quote
        b"\xef\xbb\xbftx-bom,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,m,c,,US\r\n",  # BOM mid-file
    ],
)
def test_file_problems_mid_file(
    reference: Any, monkeypatch: pytest.MonkeyPatch, tail: bytes
) -> None:
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    data = generated(200, 5) + tail + generated(50, 6).split(b"\r\n", 1)[1]
    same_chain(reference, data)


@pytest.mark.parametrize("limit", ["MAX_LINE_BYTES", "MAX_FIELD_CHARS"])
def test_size_limits_mid_file(reference: Any, monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setattr(csvio, limit, 300)
    if limit == "MAX_FIELD_CHARS":  # the csv module's own limit is process-wide
        previous = csv.field_size_limit(300)
        monkeypatch.setattr(csvio, "MAX_LINE_BYTES", 1 << 20)
        request_restore = previous
    else:
        request_restore = None
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 256)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 1 << 14)
    long = row(transaction_id="tx-long", merchant="m" * 400)
    data = generated(200, 7) + csv_bytes([long]).split(b"\n", 1)[1]
    try:
        out = same_chain(reference, data)
    finally:
        if request_restore is not None:
            csv.field_size_limit(request_restore)
    assert out["validate"][0].outcome == "INVALID"


@pytest.mark.parametrize(
    "head",
    [
        b"\xef\xbb\xbf" + ",".join(HEADER).encode(),  # BOM
        ",".join([*HEADER, "extra"]).encode(),  # unknown column
        ",".join(reversed(HEADER)).encode(),  # another order
        b'"transaction_id","account_id",timestamp,amount,currency,transaction_type',  # quoted
        b"\r\n" + ",".join(HEADER).encode(),  # a blank line first
        b"transaction_id,account_id,timestamp,amount,currency,transaction_type,amount",
        b"transaction_id,account_id",  # missing required columns
    ],
)
def test_headers(reference: Any, head: bytes) -> None:
    names = next(csv.reader([head.decode("utf-8-sig").strip()]))
    rows = [row(transaction_id=f"tx-{i}", amount=f"{i}.5") for i in range(1, 30)]
    body = csv_bytes(rows, header=[n.strip().lower() for n in names if n.strip()])
    data = head + b"\r\n" + body.split(b"\n", 1)[1]
    same_chain(reference, data)


def test_header_only_and_empty(reference: Any) -> None:
    same_chain(reference, ",".join(HEADER).encode() + b"\r\n")
    same_chain(reference, b"")
    same_chain(reference, b"\xef\xbb\xbf")


def test_bad_utf8_in_the_first_window_fails_before_the_header(reference: Any) -> None:
    data = ",".join(HEADER).encode() + b"\n" + csv_bytes([GOOD]).split(b"\n", 1)[1] + b"\xe9\n"
    out = same_chain(reference, data)
    assert out["validate"][0].header == []


def test_custom_schema(reference: Any) -> None:
    schema = custom()
    lines = [
        "a b c,1.00,,EUR,soll,,x,",
        "2,1.00,0.001,EUR,haben,über,,",
        "3,1.00,,EUR,haben,KLEIN,,2024-01-01T00:00:00+01:00",
        "4,1.00,,EUR,haben,mittel,,",
        "5,2.50,0.10,EUR,HABEN,UBER,,",
        "6,3,,JPY,Soll,ÜBER,=1+1,",
        "7,3,,JPY,Soll,über,,2024-13-01T00:00:00Z",
        "a b c,4,,JPY,Soll,,,",
    ]
    same_chain(reference, (CUSTOM_HEAD + "\n".join(lines) + "\n").encode(), schema)


def test_two_unique_columns_use_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    columns = tuple(
        replace(column, unique=True) if column.name == "account_id" else column
        for column in SCHEMA.columns
    )
    schema = replace(SCHEMA, columns=columns)
    assert fast_validate.supported(schema) is not None
    rows = [row(transaction_id=f"t{i}", account_id=f"A{i % 3}") for i in range(9)]
    # The columnar engine hands such a schema to the reference, so comparing the two paths
    # compares the reference with itself: check the hand-over and the reference's answer.
    calls: list[Any] = []
    original = fast_validate.validate_rows
    monkeypatch.setattr(
        fast_validate, "validate_rows", lambda *args: calls.append(args) or original(*args)
    )
    result, _, rejects = run_validate(csv_bytes(rows), schema)
    assert len(calls) == 1
    assert (result.rows_valid, result.rows_rejected) == (3, 6)
    assert [json.loads(line)["code"] for line in rejects.splitlines()] == ["DUPLICATE_ID"] * 6
    assert [json.loads(line)["column"] for line in rejects.splitlines()] == ["account_id"] * 6


def test_identifier_pattern_that_is_not_a_simple_class(reference: Any) -> None:
    columns = tuple(
        replace(column, pattern="^ACC[0-9]{1,3}$") if column.name == "account_id" else column
        for column in SCHEMA.columns
    )
    schema = replace(SCHEMA, columns=columns)
    rows = [row(transaction_id=f"t{i}", account_id=f"ACC{i * 7}") for i in range(300)]
    rows.append(row(transaction_id="t-x", account_id=""))
    same_chain(reference, csv_bytes(rows), schema)


# -- transform and enrich on their own (inputs the previous step never writes) -------------


def validated_bytes(data: bytes) -> bytes:
    result, valid, _ = run_validate(data)
    assert result.outcome == "VALID"
    return valid


@pytest.mark.parametrize(
    "change",
    [
        lambda line: line.replace(b"2024-", b"2024x", 1),  # invalid timestamp
        lambda line: line.replace(b",", b",,", 1),  # a field too many
        lambda line: b",".join([line.split(b",")[0], b"", *line.split(b",")[2:]]),  # required
        lambda line: line + b"\r\n",  # a blank line after it (skipped, not an error)
        lambda line: line.replace(b",USD,", b",XXX,", 1),  # a code that is not one
        lambda line: line + b",extra",  # a field too many at the end
    ],
)
def test_transform_rejects_corrupt_input(reference: Any, change: Any) -> None:
    valid = validated_bytes(generated(500, 8))
    lines = valid.split(b"\r\n")
    target = next(i for i, line in enumerate(lines) if b",USD," in line and i > 300)
    lines[target] = change(lines[target])
    corrupt = b"\r\n".join(lines)
    ours = run_transform(corrupt)
    with reference():
        assert ours == run_transform(corrupt)
    assert (ours[0] == "error") is not corrupt.count(b"\r\n\r\n")


def test_transform_other_header_and_parquet(reference: Any) -> None:
    valid = validated_bytes(generated(50, 9))
    header, body = valid.split(b"\r\n", 1)
    swapped = b",".join(reversed(header.split(b","))) + b"\r\n"
    rows = [line.split(b",") for line in body.split(b"\r\n") if line]
    reordered = swapped + b"".join(b",".join(reversed(r)) + b"\r\n" for r in rows if len(r) == 10)
    ours = run_transform(reordered)
    with reference():
        assert ours == run_transform(reordered)
    sink = io.BytesIO()
    result = transform_stream(io.BytesIO(valid), sink, schema=SCHEMA, output_format="parquet")
    assert (result.rows, result.totals) == run_transform(valid)[:2]


def processed_bytes(rows: int = 300, seed: int = 10) -> bytes:
    out = run_transform(validated_bytes(generated(rows, seed, TRICKY)))
    assert out[0] != "error"
    return out[2]


def corrupt_line(processed: bytes, index: int, change: Any) -> bytes:
    lines = processed.split(b"\n")
    lines[index] = change(lines[index])
    return b"\n".join(lines)


@pytest.mark.parametrize(
    "change",
    [
        lambda line: b"not json",
        lambda line: b"[1, 2]",
        lambda line: b"",
        lambda line: line.replace(b'"amount":"', b'"amount":"-', 1),
        lambda line: line.replace(b'"currency":"', b'"currency":"x', 1),
        lambda line: line.replace(b'"transaction_type":"', b'"transaction_type":"x', 1),
        lambda line: line.replace(b'"timestamp":"2', b'"timestamp":"x', 1),
        lambda line: line.replace(b'"timestamp":"', b'"timestamp":null,"x":"', 1),
        lambda line: line + b"  ",  # trailing spaces
        lambda line: line.replace(b'{"', b'{ "', 1),  # spaces between tokens
        lambda line: line.replace(b'"account_id":"', b'"account_id":"\\u00e9', 1),  # escape
        lambda line: line.replace(b'"account_id":"', b'"account_id":1,"y":"', 1),  # a number
        lambda line: line + b"\r",
        lambda line: line.replace(b'"transaction_id":"', b'"transaction_id":null,"z":"', 1),
        lambda line: line[:-1] + b',"timestamp":"2024-01-01T00:00:00Z"}',  # duplicate key
        lambda line: line.replace(b"Z", b"+14:00", 1),  # an offset (never written by transform)
        lambda line: line.replace(b'"amount":"', b'"amount":"0000', 1),  # leading zeros
        lambda line: line.replace(b'"amount":"', b'"amount":"0.0', 1),
        lambda line: re.sub(rb'"amount":"[^"]*"', b'"amount":null', line),  # a null amount
        lambda line: re.sub(rb'"currency":"[^"]*"', b'"currency":"' + b"X" * 70 + b'"', line),
    ],
)
def test_enrich_odd_lines(reference: Any, change: Any) -> None:
    data = corrupt_line(processed_bytes(), 150, change)
    ours = run_enrich(data)
    with reference():
        assert ours == run_enrich(data)


def assert_enriched_as_the_reference(data: bytes) -> None:
    """The fast path enriches ``data`` as the reference does (outputs, or the same error);
    for hypothesis tests, which cannot take the function-scoped ``reference`` fixture."""
    ours = run_enrich(data)
    os.environ[fast.ENV_SWITCH] = "0"
    try:
        assert ours == run_enrich(data)
    finally:
        del os.environ[fast.ENV_SWITCH]


@pytest.fixture(scope="module")
def enrich_sample() -> bytes:
    """Processed lines whose heads the word-by-word check takes (strings, no backslash)."""
    lines = processed_bytes(120, 13).split(b"\n")[:-1]
    clean = [
        line
        for line in lines
        if b"\\" not in line and b":null" not in line.split(b',"merchant"')[0]
    ]
    assert len(clean) > 40
    return b"".join(line + b"\n" for line in clean)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.integers(min_value=0, max_value=200),
    st.sampled_from([b'"', b"\\", b",", b":", b"x", b"\x01", b"}", b"{", b" ", b"n", b"", None]),
)
def test_enrich_certifies_no_line_the_reference_reads_otherwise(
    enrich_sample: bytes, at: int, byte: bytes | None
) -> None:
    """One byte of a line changed, dropped (``b""``) or added (``None``: a second copy), in
    its head (the fixed text and values up to the last value enrich reads, checked word by
    word) or its tail (checked by RE2): the fast path writes what the reference writes, or
    raises its error."""
    lines = enrich_sample.split(b"\n")
    target = 20
    line = lines[target]
    at = min(at, len(line) - 1)
    lines[target] = line[:at] + (line[at : at + 1] * 2 if byte is None else byte) + line[at + 1 :]
    assert_enriched_as_the_reference(b"\n".join(lines))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "US",
        "USDX",
        "usd",
        "EUR",
        "JPY",
        "XXX",
        "USé",
        "DEBIT",
        "CREDIT",
        "debit",
        "DEBI",
        "CREDITS",
        "CREDIT\\u0000",
    ],
)
@pytest.mark.parametrize("column", ["currency", "transaction_type"])
def test_enrich_codes_of_checked_heads(enrich_sample: bytes, column: str, value: str) -> None:
    """Currency and direction of a line the head check took decide as the reference
    decides (a code exactly, or the reference's error)."""
    lines = enrich_sample.split(b"\n")
    pattern = rb'"' + column.encode() + rb'":"[^"]*"'
    text = b'"' + column.encode() + b'":"' + value.encode() + b'"'
    lines[20] = re.sub(pattern, lambda _: text, lines[20])
    assert_enriched_as_the_reference(b"\n".join(lines))


def test_enrich_a_line_cut_short_is_not_read_into_the_next(enrich_sample: bytes) -> None:
    """A line cut anywhere in its head: its quote table row would run into the next line's
    quotes, so there is none; the outcome is the reference's (its error)."""
    import numpy as np
    from etl_handlers.engines.reference.enrich import EnrichMetadata

    lines = enrich_sample.split(b"\n")[:-1]
    line = lines[5]
    last = line.index(b'"transaction_type":"') + len(b'"transaction_type":"') + 2
    for cut in [*range(1, 40, 3), last]:
        data = b"".join(text + b"\n" for text in [*lines[:5], line[:cut], *lines[6:]])
        assert_enriched_as_the_reference(data)
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    meta = EnrichMetadata(job_id="j", source_key="k", processed_at="t", pipeline_version="v")
    enricher = fast_enrich._Enricher(SCHEMA, meta, io.BytesIO(), EngineReport(engine="columnar"))
    assert enricher._quote_table(data, view, starts, ends) is None
    whole = b"".join(text + b"\n" for text in lines)
    view = np.frombuffer(whole, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    table = enricher._quote_table(whole, view, starts, ends)
    assert table is not None and (table[:, -1] < ends).all()


def test_enrich_bad_utf8_and_no_final_line_end(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_enrich, "CHUNK_BYTES", 5000)
    processed = processed_bytes(600, 11)
    for data in (processed[:-1], processed[:20000] + b"\xff" + processed[20000:], b"\n", b""):
        ours = run_enrich(data)
        with reference():
            assert ours == run_enrich(data)


def test_enrich_bad_utf8_in_the_read_window_a_chunk_ends_in(
    enrich_sample: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference's text layer fails a whole 8 KiB read window on a bad byte before it
    gives any line of it: a bad byte just past a chunk's end, in the window the chunk ends
    in, wins over an invalid line of that chunk (found by an adversarial review)."""
    monkeypatch.setattr(fast_enrich, "CHUNK_BYTES", 5000)
    data = enrich_sample * 4
    cut = data.rfind(b"\n", 0, 5000) + 1
    start = data.rfind(b"\n", 0, cut - 1) + 1
    line = data[start:cut]
    invalid = re.sub(rb'"transaction_type":"[A-Z]*"', b'"transaction_type":"NEITHER"', line)
    for bad_at in (cut + 3, 8191, 8192):
        spoiled = data[:start] + invalid + data[cut:bad_at] + b"\xff" + data[bad_at + 1 :]
        assert_enriched_as_the_reference(spoiled)


def test_enrich_a_line_longer_than_a_chunk(reference: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_enrich, "CHUNK_BYTES", 100)
    processed = processed_bytes(20, 12)
    ours = run_enrich(processed)
    with reference():
        assert ours == run_enrich(processed)


def test_enrich_null_timestamps_and_no_timestamp_column(reference: Any) -> None:
    schema = custom()
    lines = "\n".join(
        f"{i},{i}.00,,EUR,{'soll' if i % 2 else 'haben'},,,"
        + ("2024-01-01T00:00:00Z" if i % 3 else "")
        for i in range(1, 40)
    )
    same_chain(reference, (CUSTOM_HEAD + lines + "\n").encode(), schema)
    without = replace(schema, columns=tuple(c for c in schema.columns if c.type != "timestamp"))
    processed = b'{"id":"1","value":"1.00","fee":null,"ccy":"EUR","side":"SOLL","kind":null,'
    processed += b'"note":null}\n'
    ours = run_enrich(processed * 3, without)
    with reference():
        assert ours == run_enrich(processed * 3, without)


# -- hypothesis: arbitrary rows ----------------------------------------------------------

VALUES = {
    "transaction_id": st.sampled_from(["tx-1", "tx-2", "tx-1", "", "tx 3", "é", "x" * 70]),
    "account_id": st.sampled_from(["ACC1", "", "AC-1", "A" * 40]),
    "timestamp": st.sampled_from(
        [
            "2024-02-29T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2024-01-01T00:10:00+01:00",
            "2024-12-31T23:00:00-12:00",
            "2024-01-01T10:00:00.5z",
            "0001-01-01T00:00:00+00:30",
            "2024-01-01T24:00:00Z",
            "2024-01-01 10:00:00Z",
            "",
        ]
    ),
    "amount": st.sampled_from(["12.30", "0012.3", "1.234", "100.5", "0", "0.00", "-1", "1e3", ""]),
    "currency": st.sampled_from(["USD", "jpy", "BHD", "XXX", "", "usd ", "CLF"]),
    "transaction_type": st.sampled_from(["DEBIT", "credit", "REFUND", ""]),
    "merchant": st.text(max_size=20),
    "category": st.sampled_from(["food", "=cmd", "", "x" * 70, "a,b", 'q"q']),
    "card_number": st.sampled_from([VISA, "4111111111111112", "", "4111-1111", "٤١١١"]),
    "country": st.sampled_from(["US", "gb", "XX", "", "ß"]),
}


@SETTINGS
@given(st.lists(st.fixed_dictionaries(VALUES), max_size=25))
def test_any_rows(rows: list[dict[str, str]]) -> None:
    data = csv_bytes(rows)
    ours = chain(data)
    assert_columnar(ours["validate"][0], data)
    fast._importable.cache_clear()
    import os

    os.environ[fast.ENV_SWITCH] = "0"
    try:
        expected = chain(data)
    finally:
        del os.environ[fast.ENV_SWITCH]
    assert ours == expected


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_after_a_good_header(data: bytes) -> None:
    content = ",".join(HEADER).encode() + b"\n" + data
    ours = run_validate(content)
    import os

    os.environ[fast.ENV_SWITCH] = "0"
    try:
        expected = run_validate(content)
    finally:
        del os.environ[fast.ENV_SWITCH]
    assert ours == expected


# Free text holding card numbers written with every kind of separator, in any digit script,
# and near misses: digit runs with separators (ASCII and not, up to four in a row).
CARD_TEXT = st.one_of(
    st.tuples(st.text(max_size=6), written_pans(), st.text(max_size=6)).map(
        lambda parts: parts[0] + parts[1][0] + parts[2]
    ),
    st.text(
        alphabet=st.sampled_from([*"0123456789", *" -./_\t,x", *"٤١\u00a0\u2013\u200b\uff0e"]),
        max_size=60,
    ),
    st.lists(
        st.tuples(
            st.text(alphabet="0123456789٤", min_size=1, max_size=5),
            st.text(alphabet=SEPARATOR_CHARS, max_size=4),
        ),
        max_size=12,
    ).map(lambda pairs: "".join(digits + gap for digits, gap in pairs)),
)


@SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {**VALUES, "merchant": CARD_TEXT, "category": CARD_TEXT, "transaction_id": CARD_TEXT}
        ),
        max_size=12,
    )
)
def test_rows_with_card_numbers_written_any_way(rows: list[dict[str, str]]) -> None:
    """Scrubbed text (valid rows, and every field of the rejected ones: the ids are card
    text here too) is the same on both paths, byte for byte."""
    data = csv_bytes(rows)
    ours = chain(data)
    os.environ[fast.ENV_SWITCH] = "0"
    try:
        expected = chain(data)
    finally:
        del os.environ[fast.ENV_SWITCH]
    assert ours == expected


# -- kernels against the reference functions -----------------------------------------------


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.from_regex(
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,10})?"
                r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
                fullmatch=True,
            ),
            st.text(max_size=30),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_timestamps_kernel(values: list[str]) -> None:
    stamps = kernels.Timestamps(kernels.str_array(values))
    utc = stamps.utc().to_pylist()
    for value, ok, text in zip(values, stamps.ok.tolist(), utc, strict=True):
        if ok:  # a certificate is never wrong
            assert text == timestamp_to_utc(value)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.from_regex(
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
                fullmatch=True,
            ),
            st.integers(min_value=0, max_value=30),
            st.sampled_from(["", "0", "9", "-", ":", "T", "Z", "+", ".", "x", "/", "é", "\n"]),
        ),
        min_size=1,
        max_size=40,
    )
)
@example([("2024-03-04T14:45:22.1234Z", 30, ""), ("2024-03-04T14:45:22+01:00", 30, "")])
def test_timestamp_shapes_match_the_regex(cases: list[tuple[str, int, str]]) -> None:
    """The byte-by-byte check of the common forms decides exactly as the regex does,
    also on near misses (one character replaced or dropped)."""
    import pyarrow.compute as pc

    values = [value[:at] + char + value[at + 1 :] for value, at, char in cases]
    array = kernels.str_array(values)
    expected = kernels.bools(pc.match_substring_regex(array, kernels.TIMESTAMP_RE))
    assert kernels._timestamp_matrix(array)[0].tolist() == expected.tolist()


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[0-9]{1,32}(\.[0-9]{0,6})?", fullmatch=True),
            st.integers(min_value=0, max_value=34),
            st.sampled_from(["", "0", ".", "-", "x", "é", " ", "\n"]),
        ),
        min_size=1,
        max_size=40,
    )
)
@example([("123456789012345678901234567890", 40, ""), ("1.2345", 9, ""), ("1.23450", 9, "")])
def test_amount_shapes_match_the_regex(cases: list[tuple[str, int, str]]) -> None:
    """The certificate from non-digit positions decides exactly as the regex does."""
    import pyarrow.compute as pc

    values = [value[:at] + char + value[at + 1 :] for value, at, char in cases]
    array = kernels.str_array(values)
    expected = kernels.bools(pc.match_substring_regex(array, kernels.AMOUNT_RE))
    assert kernels._amount_shape(array).tolist() == expected.tolist()


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=low, max_value=high).map(lambda value: f"{value:02d}")


# Near-valid date-times: fields just inside and just outside their ranges, leap days, offsets
# that move the date across a day, a month or a year, fractions and either case of T and Z.
NEAR_VALID_TIMESTAMPS = st.builds(
    lambda year, month, day, t, hour, minute, second, fraction, zone: (
        f"{year:04d}-{month}-{day}{t}{hour}:{minute}:{second}{fraction}{zone}"
    ),
    st.sampled_from([0, 1, 1900, 2000, 2023, 2024, 2100, 9999]),
    _two(0, 13),
    st.sampled_from(["00", "01", "28", "29", "30", "31", "32"]),
    st.sampled_from("Tt"),
    _two(0, 24),
    _two(0, 60),
    _two(0, 60),
    st.sampled_from(["", ".5", ".123456789"]),
    st.one_of(
        st.sampled_from("Zz"),
        st.builds(
            lambda sign, hours, minutes: f"{sign}{hours}:{minutes}",
            st.sampled_from("+-"),
            _two(0, 15),
            st.sampled_from(["00", "30", "45", "59", "60"]),
        ),
    ),
)


@SETTINGS
@given(st.lists(NEAR_VALID_TIMESTAMPS, min_size=1, max_size=60))
def test_timestamps_kernel_decides_as_the_reference(values: list[str]) -> None:
    """Every value of the accepted shape is certified exactly when the reference accepts it,
    with the reference's UTC text (the kernel never sends a valid timestamp to the slow path)."""
    stamps = kernels.Timestamps(kernels.str_array(values))
    expected = [timestamp_to_utc(value) for value in values]
    assert stamps.ok.tolist() == [text is not None for text in expected]
    utc = stamps.utc().to_pylist()
    assert [text for text, ok in zip(utc, stamps.ok, strict=True) if ok] == [
        text for text in expected if text is not None
    ]


def test_common_timestamps_are_certified() -> None:
    values = ["2024-02-29T10:00:00Z", "2024-01-01T00:10:00+01:00", "2024-12-31T23:59:59.5-05:00"]
    stamps = kernels.Timestamps(kernels.str_array(values))
    assert stamps.ok.all()
    assert stamps.utc().to_pylist() == [timestamp_to_utc(value) for value in values]


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.from_regex(r"0*[0-9]{1,14}(\.[0-9]{1,6})?", fullmatch=True), st.text()),
            st.sampled_from([0, 2, 3, 4, -1]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_amounts_kernel(pairs: list[tuple[str, int]]) -> None:
    import numpy as np

    values = [value for value, _ in pairs]
    minor = np.array([m for _, m in pairs], dtype=np.int64)
    amounts = kernels.Amounts(kernels.str_array(values), minor)
    texts = amounts.text().to_pylist()
    for index, (value, units) in enumerate(pairs):
        parts = split_amount(value)
        certain = bool(amounts.ok[index])
        if certain:
            assert parts is not None and (parts[0] or parts[1]) and len(parts[1]) <= units
            minor_units = to_minor(*parts, units)
            assert (
                int(amounts.head[index]) * 10**units + int(amounts.fraction[index]) == minor_units
            )
            assert texts[index] == format_minor(minor_units, units)


@SETTINGS
@given(
    st.lists(
        st.from_regex(r"[0-9]{10,20}", fullmatch=True)
        | st.from_regex(r"\*{0,15}[0-9*a]{0,5}", fullmatch=True)
        | st.text(max_size=20),
        max_size=40,
    )
)
def test_card_kernels(values: list[str]) -> None:
    import numpy as np

    array = kernels.str_array(values)
    ok = kernels.luhn_ok(array)
    for value, certain in zip(values, ok.tolist(), strict=True):
        assert certain == (12 <= len(value) <= 19 and value.isascii() and luhn_valid(value))
    rows = np.array([i for i, v in enumerate(values) if len(v) > 4 and v.isascii()], dtype=np.int64)
    if len(rows):
        masked = kernels.mask_cards(array, rows).to_pylist()
        assert masked == [mask_pan(values[i]) for i in rows.tolist()]
    # already masked: transform keeps such values as they are (it checks ASCII itself: what
    # masked() says of other values is unspecified)
    for value, found in zip(values, kernels.masked(array).tolist(), strict=True):
        if value.isascii():
            assert found == (len(value) > 4 and mask_pan(value) == value)


@SETTINGS
@given(st.lists(CARD_TEXT | st.text(max_size=20), max_size=40))
def test_scrub_candidates_hold_every_value_scrub_changes(values: list[str]) -> None:
    candidates = kernels.scrub_candidates(kernels.str_array(values))
    for value, candidate in zip(values, candidates.tolist(), strict=True):
        assert candidate or scrub(value) == value, value


@SETTINGS
@given(st.lists(st.text(max_size=8), max_size=30))
def test_byte_class_kernels(values: list[str]) -> None:
    array = kernels.str_array(values)
    assert kernels.ascii_upper(array).to_pylist() == [
        "".join(c.upper() if "a" <= c <= "z" else c for c in value) for value in values
    ]
    encoded = [value.encode("utf-8", "surrogatepass") for value in values]
    assert kernels.byte_counts(array, kernels.DIGIT_LIKE_BYTES).tolist() == [
        sum(b in b"0123456789" or b >= 0x80 for b in value) for value in encoded
    ]
    assert kernels.any_byte(array, kernels.JSON_ESCAPE_BYTES).tolist() == [
        any(b < 0x20 or b in b'"\\' for b in value) for value in encoded
    ]
    assert kernels.bytes_all(array, kernels.DIGIT_BYTES).tolist() == [
        all(b in b"0123456789" for b in value) for value in encoded
    ]


@SETTINGS
@given(st.lists(st.none() | st.text(max_size=12), max_size=30), st.integers(0, 3))
@example(['a\\b"c\nd\re\tf\bg\fh\x00i\x1fé🛒', '\\"', None, ""], 1)
def test_json_escaping_writes_what_encode_basestring_writes(
    values: list[str | None], skip: int
) -> None:
    """Values with quotes, backslashes and control characters (the short escapes replaced
    in bulk, the others as \\u00XX) read as ``encode_basestring`` writes them; nulls as
    ``null``; on an array past offset 0."""
    from json.encoder import encode_basestring  # type: ignore[attr-defined]

    array = kernels.str_array(["x" * skip, *values]).slice(1)
    assert kernels.json_values(array).to_pylist() == [
        "null" if value is None else encode_basestring(value) for value in values
    ]


@SETTINGS
@given(st.lists(st.text(alphabet="aé€🛒", min_size=1, max_size=9), max_size=30))
def test_length_limit_counts_characters(values: list[str]) -> None:
    """A value is within a limit of characters as ``len`` counts them, whatever the bytes of
    each character: a name of multi-byte characters within the limit is certified."""
    import numpy as np

    array = kernels.str_array(values)
    offsets, _ = kernels.pieces(array)
    for limit in (3, 6):
        ok = kernels.chars_within(array, np.diff(offsets), limit)
        assert ok.tolist() == [len(value) <= limit for value in values]


@SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "cé", "", "dd"]), st.booleans()), max_size=40),
    st.integers(min_value=0, max_value=3),
)
def test_in_batch_repeats(rows: list[tuple[str, bool]], spread: int) -> None:
    """Repeats (in-batch duplicate ids) against the rule it decides: a row repeats when an
    earlier candidate row has its value; with every fingerprint in one bucket, or in a
    few, or as computed, so that both the lone-bucket shortcut and the value comparison
    are exercised, with a table kept from a larger batch before."""
    import numpy as np
    from etl_handlers.core.idset import fingerprints

    values = kernels.str_array(["pad", *(value for value, _ in rows)])
    chosen = np.arange(1, len(rows) + 1)
    candidates = np.array([candidate for _, candidate in rows], dtype=bool)
    offsets, data = kernels.pieces(values)
    real = fingerprints(data, offsets)[chosen]
    hashes = real if spread == 3 else (real % np.uint64(spread + 1)) << np.uint64(62)
    repeats = fast_validate._Repeats()
    repeats(
        values, np.arange(len(values)), np.zeros(len(values), np.uint64), np.ones(len(values), bool)
    )
    expected = [
        any(rows[j][1] and rows[j][0] == value for j in range(i))
        for i, (value, _) in enumerate(rows)
    ]
    assert repeats(values, chosen, hashes, candidates).tolist() == expected


def test_characters_the_scrub_prefilter_skips_are_neither_digits_nor_separators() -> None:
    """The scrub prefilter reads the letters of some scripts (and emoji) as not digit-like:
    none of them is a decimal digit or a separator to scrub(), so no value it would change
    is skipped; names written in those scripts are not scrubbed for being long."""
    from etl_handlers.core.masking import SEPARATORS

    separator = re.compile(SEPARATORS)
    for low, high in kernels.NOT_DIGIT_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            assert not char.isdecimal() and not separator.fullmatch(char), hex(code)
    names = ["Пекарня Хлеб Müller Drogerie", "مطعم السلام 寿司 🛒 ☕ 한국어 ひらがな Ελληνικά"]
    assert not kernels.scrub_candidates(kernels.str_array(names)).any()
    pans = ["Пекарня 4111 1111 1111 1111", "٤١١١١١١١١١١١١١١١ café", "4111\u200b1111\u00ad1111 1111"]
    assert kernels.scrub_candidates(kernels.str_array(pans)).all()


@SETTINGS
@given(st.lists(st.text(alphabet="ab1é,", max_size=12), max_size=40), st.integers(0, 3))
def test_byte_counts_sparse_and_dense(values: list[str], skip: int) -> None:
    """Marked bytes per value, counted both ways (a lookup per value among the marks, a
    sum over each value's marks), on arrays that start past offset 0, against a count
    in Python."""
    import numpy as np

    array = kernels.str_array(["x" * skip, *values]).slice(1)
    encoded = [value.encode() for value in values]
    offsets, data = kernels.pieces(array)
    bounds = offsets - offsets[0] if len(values) else offsets
    for table, members in ((kernels.DIGIT_LIKE_BYTES, b"1"), (kernels.CSV_QUOTE_BYTES, b",")):
        expected = [
            sum(b in members or (b >= 0x80 and members == b"1") for b in v) for v in encoded
        ]
        assert kernels.byte_counts(array, table).tolist() == expected
        assert kernels._marked(array, table)[1].tolist() == expected
        if values:
            marked = table.mask(data[int(offsets[0]) : int(offsets[-1])])
            dense = kernels._per_value(marked, bounds, np.flatnonzero(marked).repeat(8))
            assert dense.tolist() == expected  # as many marks as values: a sum per value
            sparse = kernels._per_value(marked, bounds, np.flatnonzero(marked))
            assert sparse.tolist() == expected


def test_per_value_counts_alike_whether_marks_are_sparse_or_dense() -> None:
    """Few marks are counted by searching their positions, many by a sum per value: both
    give each value's count (here 3 marks among 61 values, then 100 among 60)."""
    import numpy as np

    for values in (["a"] * 30 + ["a,b", ""] + ["b"] * 27 + [",,"], ["a,b,"] * 50 + [""] * 10):
        array = kernels.str_array(values)
        offsets, data = kernels.pieces(array)
        marked = kernels.CSV_QUOTE_BYTES.mask(data[: int(offsets[-1])])
        positions = np.flatnonzero(marked)
        assert (len(positions) * 8 < len(offsets)) == (values[0] == "a")  # the branch taken
        expected = [value.count(",") for value in values]
        assert kernels._per_value(marked, offsets, positions).tolist() == expected
        assert kernels._per_value(marked, offsets).tolist() == expected


@SETTINGS
@given(
    st.lists(st.text(alphabet="usdUSDcrédiCRÉDI\u017f\u0131", max_size=7), max_size=30),
    st.sampled_from([("USD", "EUR", "SD"), ("CRÉDIT", "DEBIT", "USD", "É")]),
)
@example(["CRÉDIT", "crédit", "usd", "u\u017fd", "USD", "É"], ("CRÉDIT", "DEBIT", "USD", "É"))
def test_member_kernel(values: list[str], members: tuple[str, ...]) -> None:
    """member_ok certifies exactly the ASCII values whose upper case is a member, with
    members all ASCII (no separate ASCII test) or not: "u\\u017fd".upper() is "USD"."""
    assert kernels.member_ok(kernels.str_array(values), members).tolist() == [
        value.isascii() and value.upper() in members for value in values
    ]


@pytest.mark.parametrize(
    "lines", [["a,b", "c\0,\0d", "e", "\0"], ["x\0" * 1100, "y", "\0z"], ["q"]]
)
def test_nul_lines(lines: list[str]) -> None:
    """The lines of a chunk that hold a NUL byte, a few (searched one by one) or many."""
    import numpy as np

    data = "".join(line + "\n" for line in lines).encode()
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    chunk = csvchunks.FastChunk(data, len(lines), ends)
    expected = [number for number, line in enumerate(lines, 1) if "\0" in line]
    assert chunk.nul_lines.tolist() == expected


@SETTINGS
@given(st.lists(st.text(), max_size=20), st.integers(0, 3))
def test_strings_of_an_array(values: list[str], skip: int) -> None:
    """python_strings reads back what to_pylist reads, from an array past offset 0."""
    array = kernels.str_array(["x" * skip, *values]).slice(1)
    assert kernels.python_strings(array) == values == array.to_pylist()


_QUOTED = r'"(?:[^"\r]|\r\n|"")*"'
_RECORD = rf'(?:[^",\r\n]*|{_QUOTED})(?:,(?:[^",\r\n]*|{_QUOTED}))*'
SAFE_RECORDS = re.compile(rf"(?:(?!\r?\n){_RECORD}\r?\n)+")
"""Whole records both parsers read the same way: every field unquoted without quotes, CR or
LF, or quoted whole with doubled inner quotes (line breaks inside allowed, a CR only before
a LF); no blank record."""


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(alphabet='a,"\n\r', min_size=1, max_size=9), st.booleans()), min_size=1
    )
)
@example([('"a""b",c', True), ('"",""', False), ('a"', False)])
@example([('"a"""', False), ('"a" ,b', False), ('""""', True), (',"x",', False)])
@example([('"a', False), ('b",c', True), ("x\ry", False), ('"\r', True), ('"', False)])
def test_quoted_records_are_safe_exactly_as_the_record_pattern_says(
    lines: list[tuple[str, bool]],
) -> None:
    """The layout decides where quotes may be from their positions (a quoted field may run
    over line ends), as SAFE_RECORDS would: all records safe exactly when it matches."""
    data = "".join(body + ("\r\n" if crlf else "\n") for body, crlf in lines).encode()
    layout = csvchunks._layout(data, True)
    safe = (
        not isinstance(layout, (Reason, type(None)))
        and layout.size == len(data)
        and not layout.bad.any()
    )
    assert safe == bool(SAFE_RECORDS.fullmatch(data.decode()))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=12))
def test_stars(spans: list[tuple[int, int]]) -> None:
    """validate's _stars writes ``*`` over exactly the given spans, of any size."""
    import numpy as np

    out = np.frombuffer(bytes(range(100)), dtype=np.uint8).copy()
    expected = bytearray(out.tobytes())
    for first, size in spans:
        expected[first : first + size] = b"*" * size
    first = np.array([first for first, _ in spans], dtype=np.int64)
    sizes = np.array([size for _, size in spans], dtype=np.int64)
    fast_validate._stars(out, first, sizes)
    assert out.tobytes() == bytes(expected)


def test_keep_freed_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc's malloc is told to keep freed memory (where there is no glibc: nothing)."""
    import ctypes

    calls: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

    keep = memory.keep_freed_memory.__wrapped__
    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    assert keep() is True
    assert calls == [(-3, 8 << 20), (-1, 32 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD

    def missing(name: str) -> Any:
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert keep() is False


def test_value_helpers() -> None:
    import numpy as np

    array = kernels.str_array(["a", None, "é"])
    assert array.to_pylist() == ["a", None, "é"]
    assert kernels.ints(kernels.str_array(["x", None]).is_null().cast("int8"), 7).tolist() == [0, 1]
    assert kernels.bools(kernels.bool_array(np.array([True, False, True]))).tolist() == [
        True,
        False,
        True,
    ]
    quoted = kernels.csv_quoted(kernels.str_array(["plain", 'a"b', "c,d"])).to_pylist()
    assert quoted == ["plain", '"a""b"', '"c,d"']
    assert kernels.json_values(kernels.str_array(["x", None, 'q"\\'])).to_pylist() == [
        '"x"',
        "null",
        json.dumps('q"\\'),
    ]
    assert kernels.byte_counts(kernels.str_array([]), kernels.DIGIT_BYTES).tolist() == []


def test_resume_reads_in_the_reference_windows() -> None:
    source = io.BytesIO(b"y" * 70000)
    resumed = csvio.Joined(b"x" * 10, source, offset=65530)
    assert resumed.readable()
    assert len(resumed.read(100)) == 6  # up to the next 64 KiB boundary
    assert len(resumed.read()) == csvio.CHUNK_BYTES
    rest = b""
    while data := resumed.read(csvio.CHUNK_BYTES):
        rest += data
    assert len(rest) == 70010 - 6 - csvio.CHUNK_BYTES


# -- switches, imports, packaging ------------------------------------------------------------


def test_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast.columnar_unavailable() is None
    monkeypatch.setenv(fast.ENV_SWITCH, "0")
    assert fast.columnar_unavailable() is not None


def test_handlers_import_without_pyarrow_and_work_without_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "sys.modules['numpy'] = None\n"
        "import io\n"
        "from decimal import Decimal\n"
        "from etl_handlers.engines import selector as fast\n"
        "from etl_handlers.core.schema import load_schema\n"
        "from etl_handlers.engines.selector import validate_stream\n"
        "assert fast.columnar_unavailable() == 'pyarrow or numpy missing'\n"
        "data = b'transaction_id,account_id,timestamp,amount,currency,transaction_type\\n"
        "t1,A1,2024-01-01T00:00:00Z,1.00,USD,DEBIT\\n'\n"
        "r = validate_stream(io.BytesIO(data), io.BytesIO(), io.BytesIO(), "
        "schema=load_schema(None), max_reject_rate=Decimal(1))\n"
        "assert r.rows_valid == 1, r\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "handlers", check=True)


def test_importing_the_step_modules_does_not_load_pyarrow() -> None:
    code = (
        "import sys\n"
        "import etl_handlers.engines.reference.validate\n"
        "import etl_handlers.engines.reference.transform\n"
        "import etl_handlers.engines.reference.enrich\n"
        "import etl_handlers.engines.columnar\n"
        "import etl_handlers.engines.selector\n"
        "etl_handlers.engines.selector.select_engine()\n"
        "assert 'pyarrow' not in sys.modules and 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "handlers", check=True)


def test_the_fast_path_does_not_import_pandas() -> None:
    code = (
        "import io, sys\n"
        "from decimal import Decimal\n"
        "from etl_handlers.core.schema import load_schema\n"
        "from etl_handlers.engines.selector import validate_stream\n"
        "data = b'transaction_id,account_id,timestamp,amount,currency,transaction_type\\n"
        "t1,A1,2024-01-01T00:00:00Z,1.00,USD,DEBIT\\n'\n"
        "validate_stream(io.BytesIO(data), io.BytesIO(), io.BytesIO(), "
        "schema=load_schema(None), max_reject_rate=Decimal(1))\n"
        "assert 'pyarrow' in sys.modules and 'pandas' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "handlers", check=True)


def test_default_schema_round_trip_unchanged() -> None:
    assert load_schema(None) == SCHEMA


def test_a_broken_pyarrow_install_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> None:
        raise ValueError(f"{name}.__spec__ is None")

    monkeypatch.setattr(fast, "find_spec", broken)
    fast._importable.cache_clear()
    try:
        assert fast.columnar_unavailable() is not None
    finally:
        fast._importable.cache_clear()


def test_the_benchmark_mix_gives_byte_identical_outputs_on_both_paths(
    tmp_path, monkeypatch
) -> None:
    """Thousands of lines with every kind of bad row (NUL bytes and rows of another width
    among them) in one chunk: pyarrow 24 misnumbered such rows and split fields at NUL."""
    from bench.generate import write_csv

    path = write_csv(20_000, tmp_path / "mix.csv")
    outputs = []
    for switch in ("1", "0"):
        monkeypatch.setenv("ETL_FAST_PATH", switch)
        valid, rejects = io.BytesIO(), io.BytesIO()
        with path.open("rb") as source:
            result = validate_stream(
                source, valid, rejects, schema=SCHEMA, max_reject_rate=Decimal("0.05")
            )
        outputs.append(
            (
                result.rows_input,
                result.rows_rejected,
                valid.getvalue(),
                rejects.getvalue(),
                result.totals,
            )
        )
    assert outputs[0][0] == 20_000 and outputs[0][1] > 100
    assert outputs[0] == outputs[1]


def test_skipped_lines_are_located_from_their_text_and_checked() -> None:
    """pyarrow reports only the text of a line it skipped: the line is the first whole line
    of that text after the previous one (not a substring of another line), and a located
    line that has the header's width means the texts do not add up: count instead."""
    import numpy as np

    data = b"a,b,c\r\nx1,2\r\n1,2\r\nq,r,s\n1,2\n"
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    keep = csvchunks._located(data, starts, ends, ["1,2", "1,2"], 3)
    assert keep is not None and keep.tolist() == [True, True, False, True, False]
    assert csvchunks._located(data, starts, ends, ["9,9"], 3) is None  # not in the chunk
    assert csvchunks._located(data, starts, ends, ["q,r,s"], 3) is None  # has the width
    chunk = csvchunks.FastChunk(data, len(ends), ends, np.zeros(len(ends), dtype=bool))
    columns, numbers, ragged = csvchunks.parse_chunk(chunk, 3)
    assert numbers.tolist() == [1, 4]
    assert [line for line, _ in ragged] == [2, 3, 5]
    assert columns[0].to_pylist() == ["a", "q"]


def test_totals_are_exact_for_the_largest_fast_amounts() -> None:
    """Chunk totals are summed in float64 halves: exact up to the largest amounts the fast
    path takes (12 integer digits) over more rows than a chunk holds."""
    import numpy as np
    from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS as MINOR
    from etl_handlers.core.totals import Totals
    from etl_handlers.engines.columnar.validate import CURRENCIES, add_totals

    rng = np.random.default_rng(7)
    rows = 300_000
    currency = rng.integers(0, len(CURRENCIES), rows)
    debit = rng.integers(0, 2, rows).astype(bool)
    head = rng.integers(10**12 - 1000, 10**12, rows)
    fraction = rng.integers(0, 10**4, rows)
    fraction = np.minimum(fraction, 10 ** np.array([MINOR[c] for c in CURRENCIES])[currency] - 1)
    totals = Totals()
    add_totals(totals, currency, debit, head, fraction)
    expected = Totals()
    columns = (currency.tolist(), debit.tolist(), head.tolist(), fraction.tolist())
    for c, d, h, f in zip(*columns, strict=True):
        code = CURRENCIES[c]
        expected.add(code, d, h * 10 ** MINOR[code] + f)
    assert totals.to_json() == expected.to_json()


def test_fields_are_counted_when_the_skipped_texts_do_not_add_up(monkeypatch) -> None:
    """The fallback of parse_chunk: every line's fields counted, commas inside quoted text
    (doubled quotes included) not separating, gives what locating by text gives."""
    import numpy as np

    data = b'a,"b,""c"",d",e\r\n"x,y",z\r\n1,2,3,4\n"p","q","r"\n'
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    assert csvchunks._field_counts(view, ends, None).tolist() == [3, 2, 4, 3]
    chunk = csvchunks.FastChunk(data, len(ends), ends, None)
    located = csvchunks.parse_chunk(chunk, 3)
    monkeypatch.setattr(csvchunks, "_located", lambda *args: None)
    counted = csvchunks.parse_chunk(chunk, 3)
    for result in (located, counted):
        columns, numbers, ragged = result
        assert numbers.tolist() == [1, 4]
        assert [line for line, _ in ragged] == [2, 3]
        assert columns[1].to_pylist() == ['b,"c",d', "q"]


def test_a_chunk_of_many_ragged_lines_is_counted() -> None:
    """Hundreds of lines of another width in one chunk: counted in one pass, not located
    one by one; the rows of the header's width are still found."""
    import numpy as np

    data = b"".join(b"1,2,3\n" if i % 3 == 0 else b"1,2\n" for i in range(900))
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    chunk = csvchunks.FastChunk(data, len(ends), ends, np.zeros(len(ends), dtype=bool))
    columns, numbers, ragged = csvchunks.parse_chunk(chunk, 3)
    assert numbers.tolist() == list(range(1, 901, 3))
    assert len(ragged) == 600 and ragged[0] == (2, "1,2")
    assert columns[2].to_pylist() == ["3"] * 300


def test_nuls_are_read_back_in_every_column() -> None:
    """pyarrow splits a field at a NUL, so parse_chunk parses a stand-in byte and puts the
    NULs back: every value reads as the csv module reads it, in every column, also next to
    a quoted field and in a value that is only a NUL."""
    import numpy as np

    data = b'a\x00b,c,"d\x00,e"\r\nx,\x00,\x00z\x00\r\np,q,r\r\n\x00,"\x01",s\x00\r\n'
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    quoted = np.array([b'"' in line for line in data.split(b"\n")[:-1]])
    chunk = csvchunks.FastChunk(data, len(ends), ends, quoted)
    columns, numbers, ragged = csvchunks.parse_chunk(chunk, 3)
    expected = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert not ragged and numbers.tolist() == [1, 2, 3, 4]
    assert [list(row) for row in zip(*(c.to_pylist() for c in columns), strict=True)] == expected


def test_reject_lines_with_names_and_values_to_escape(reference: Any) -> None:
    """Reject lines are built as JSON text by the fast path: column names and values that
    JSON escapes (a backslash, a quote, a control character) or keeps as they are (non-ASCII)
    come out as the reference's writer writes them."""
    renamed = {"merchant": "mer\\chant", "category": "catégorie"}
    schema = replace(
        SCHEMA,
        columns=tuple(replace(c, name=renamed.get(c.name, c.name)) for c in SCHEMA.columns),
    )
    names = [c.name for c in schema.columns]
    rows = [
        ["tx-1", "ACC1", "2024-01-01T00:00:00Z", "1.00", "EUR", "DEBIT", 'a "b" \\ c', "é", "", ""],
        ["tx-2", "ACC1", "not a time", "1.00", "EUR", "DEBIT", "tab\there", "x\x01y", "", "DE"],
        ["tx-2", "ACC1", "2024-01-01T00:00:00Z", "-1", "EUR", "DEBIT", '"', "\\", "", ""],
    ]
    data = csv_bytes([dict(zip(names, row, strict=True)) for row in rows], header=names)
    assert csvchunks._simple_header(data.split(b"\n")[0] + b"\n")  # the fast path reads it
    ours = same_chain(reference, data, schema)
    rejects = ours["validate"][2].decode().splitlines()
    assert len(rejects) == 2 and all('"mer\\\\chant": ' in line for line in rejects)


@SETTINGS
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=30),
    st.data(),
    st.booleans(),
)
def test_replace_rows_is_replace_with_mask(
    values: list[str | None], data: Any, large: bool
) -> None:
    """The one take gives what pyarrow's replace_with_mask gives: on sliced arrays, with
    nulls on either side, for either string type."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = pa.large_string() if large else pa.string()
    array = pa.array(["pad", *values], kind).slice(1)  # an offset into its buffers
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))))
    rows = np.flatnonzero(mask)
    given_values = data.draw(
        st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=len(rows), max_size=len(rows))
    )
    replacements = pa.array(given_values, pa.string())
    ours = kernels.replace_rows(array, rows, replacements)
    theirs = pc.replace_with_mask(array, pa.array(mask), replacements.cast(kind))
    assert ours.type == theirs.type == kind
    assert ours.to_pylist() == theirs.to_pylist()


@given(st.lists(st.text(max_size=8), min_size=1, max_size=30), st.data())
def test_drop_first_byte_is_the_slice_after_a_leading_quote(values: list[str], data: Any) -> None:
    """The byte gather gives what ``utf8_slice_codeunits(value, 1)`` gives under the mask
    (values starting with an ASCII quote), on a sliced array with multi-byte text."""
    import pyarrow as pa

    values = [("'" + value) if data.draw(st.booleans()) else value for value in values]
    array = pa.array(["pad", *values], pa.string()).slice(1)  # an offset into its buffers
    mask = kernels.first_byte_in(array, "'")
    ours = kernels.drop_first_byte(array, mask)
    assert ours.type == pa.string()
    expected = [v[1:] if m else v for v, m in zip(values, mask.tolist(), strict=True)]
    assert ours.to_pylist() == expected


@given(st.binary(min_size=1, max_size=64), st.data())
def test_concat_ranges_joins_ranges_in_the_order_given(raw: bytes, data: Any) -> None:
    """Disjoint byte ranges, given in any order (empty ones too), come out one after
    another in that order; overlapping ones are refused."""
    import numpy as np

    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), min_size=2, max_size=20)))
    ranges = list(zip(cuts[0::2], cuts[1::2], strict=False))  # an odd cut is left out
    order = data.draw(st.permutations(range(len(ranges))))
    begin = np.array([ranges[i][0] for i in order], dtype=np.int64)
    end = np.array([ranges[i][1] for i in order], dtype=np.int64)
    joined = kernels.concat_ranges(np.frombuffer(raw, dtype=np.uint8), begin, end)
    assert bytes(joined) == b"".join(raw[ranges[i][0] : ranges[i][1]] for i in order)
    if len(raw) >= 2:
        with pytest.raises(ValueError):
            kernels.concat_ranges(
                np.frombuffer(raw, dtype=np.uint8), np.array([0, 0]), np.array([2, 1])
            )


def test_amounts_either_side_of_the_float_parse_are_exact() -> None:
    """Below 10**11 amounts are read from a float64 parse, above from a decimal one: both
    give the exact minor units, up to the largest amount the fast path certifies."""
    import numpy as np

    values = [
        "0.0001",
        "0.0009",
        "1.1",
        "0000012345.6789",
        "99999999999.9999",
        "99999999999.99990000",
        "100000000000.0001",
        "123456789012.3456",
        "999999999999.9999",
        "1000000000000",
        "98765432109.8765",
        "4503599627.3705",
        # longer than decimal(38, 4) reads: left to the reference (never an error)
        "123456789012." + "0" * 40,
        "0" * 40 + "123456789012.5",
        "123456789012.1234" + "0" * 20,
        "1.5" + "0" * 50,  # below 10**11: the float parse reads any length
        "0" * 40 + "12345.5",  # more integer digits than the shape takes: the reference's
    ]
    amounts = kernels.Amounts(kernels.str_array(values), np.full(len(values), 4))
    for index, value in enumerate(values):
        parts = split_amount(value)
        expected = (
            parts is not None
            and len(parts[0].lstrip("0")) <= kernels.MAX_HEAD_DIGITS
            and re.fullmatch(kernels.AMOUNT_RE.strip("^$"), value) is not None
            and not (len(value) > 30 and float(value) >= 1e11)
        )
        assert bool(amounts.ok[index]) == expected, value
        if expected:
            minor_units = to_minor(*parts, 4)
            assert int(amounts.head[index]) * 10**4 + int(amounts.fraction[index]) == minor_units


# -- local fallback: ranges of the reference between columnar chunks ---------------------------

# Records the columnar reader reads itself (quoted line breaks) or hands to the reference for
# their own range only (the rest), each a complete CSV record ending in CRLF.
LOCAL = {
    "quoted LF": b'tx-a,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"two\nlines",c,,US\r\n',
    "quoted CRLF": b'tx-b,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"two\r\nlines",c,,US\r\n',
    "quoted blank line": b'tx-c,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"x\n\ny",c,,US\r\n',
    "bare CR": b"tx-d,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,m,c,,US\rtx-e,ACC1,x\r\n",
    "quoted bare CR": b'tx-f,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"a\rb",c,,US\r\n',
    "blank lines": b"\r\n\n\r\n",
    "stray quote": b'tx-g,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,a"b,c,,US\r\n',
    "stray quotes": b'tx-h,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,Joe "Pi" s,c,,US\r\n',
    "NUL in a range": b'tx-i,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"a\n\x00",c,,US\r\n',
    "short quoted": b'tx-j,ACC1,"2024-01-01\nT00:00:00Z",1\r\n',
}
# What fails the file inside a range or after one: the same error, line and counts.
FATAL = {
    "text after a quote": b'tx-k,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"a"b,c,,US\r\n',
    "bad UTF-8 in a quoted field": b'tx-l,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"\xff\n",c\r\n',
}


def with_records(rows: int, seed: int, records: dict[int, bytes], crlf: bool = True) -> bytes:
    """``generated`` rows with ``records`` put in before the data rows they are keyed by."""
    lines = generated(rows, seed).split(b"\r\n")[:-1]
    out = [lines[0] + b"\r\n"]
    for number, line in enumerate(lines[1:], 1):
        out.append(records.get(number, b""))
        out.append(line + (b"\r\n" if crlf else b"\n"))
    out.append(records.get(rows + 1, b""))
    return b"".join(out)


@pytest.mark.parametrize("kind", list(LOCAL))
@pytest.mark.parametrize("where", ["first row", "chunk edges", "every 7th row", "last row"])
def test_a_record_the_columnar_reader_cannot_take_costs_only_its_range(
    reference: Any, monkeypatch: pytest.MonkeyPatch, kind: str, where: str
) -> None:
    """The same outputs, rejects (row numbers after a range), counts and totals as the
    reference, and the columnar path goes on after each range."""
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    rows = 300
    if where == "first row":
        at = [1]
    elif where == "last row":
        at = [rows + 1]
    elif where == "every 7th row":
        at = list(range(3, rows, 7))
    else:  # the records nearest each 2 KiB buffer's end
        plain = generated(rows, 11)
        ends = [i for i in range(1, len(plain)) if plain[i - 1 : i + 1] == b"\r\n"]
        at = sorted(
            {
                1 + next(n for n, end in enumerate(ends) if end >= edge)
                for edge in range(2048, len(plain), 2048)
            }
        )
    data = with_records(rows, 11, dict.fromkeys(at, LOCAL[kind]))
    out = same_chain(reference, data)
    result = out["validate"][0]
    report = result.report
    assert result.outcome == "VALID"
    if where == "every 7th row":  # runs shorter than MIN_RUN are read with the ranges
        assert report.columnar_rows > 0 and report.reference_chunks <= len(at)
    else:
        assert report.reference_rows <= len(at) * 2  # a bare CR makes two rows of one line
        assert report.columnar_rows >= rows - len(at)
    assert set(report.reasons) <= {Reason.BARE_CR, Reason.STRAY_QUOTE}


@pytest.mark.parametrize("kind", list(FATAL))
@pytest.mark.parametrize("after", ["", "bare CR", "stray quote", "blank lines"])
def test_a_file_error_after_ranges_has_the_references_line_and_counts(
    reference: Any, monkeypatch: pytest.MonkeyPatch, kind: str, after: str
) -> None:
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    records = dict.fromkeys(range(5, 200, 9), LOCAL[after]) if after else {}
    records[150] = records.get(150, b"") + FATAL[kind]
    out = same_chain(reference, with_records(200, 12, records, crlf=False))
    assert out["validate"][0].outcome == "INVALID"


def test_a_quoted_field_longer_than_a_buffer_is_read_whole(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted field with line breaks that runs past a buffer: the buffer grows until the
    record ends; the file stays on the columnar path."""
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    memo = "\n".join(f"line {n}" for n in range(900))  # ~7 KiB: over three buffers
    record = f'tx-long,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"{memo}",c,,US\r\n'.encode()
    out = same_chain(reference, with_records(100, 13, {40: record}))
    assert out["validate"][0].report.reasons == {}


def test_a_quoted_field_past_the_buffer_bound_goes_to_the_reference(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    monkeypatch.setattr(csvchunks, "MAX_BUFFER", 4096)
    memo = "\n".join(f"line {n}" for n in range(900))
    record = f'tx-long,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,"{memo}",c,,US\r\n'.encode()
    out = same_chain(reference, with_records(100, 13, {40: record}))
    assert list(out["validate"][0].report.reasons) == [Reason.QUOTED_LINE_BREAK]


SPECIAL_TEXT = st.sampled_from(
    ["plain", "two\nlines", "cr\r\nlf", "bare\rcr", 'q"q', "", "\n", "x\n\ny", "é\n"]
)


@SETTINGS
@given(
    st.lists(st.tuples(SPECIAL_TEXT, st.booleans(), st.booleans()), min_size=1, max_size=60),
    st.sampled_from([64, 200, 1024]),
)
def test_any_mix_of_ranges_and_columnar_chunks(
    rows: list[tuple[str, bool, bool]], window: int
) -> None:
    """Merchants with line breaks, CRs and quotes, LF or CRLF line ends, blank lines between
    rows, small buffers: the chain is the reference's, byte for byte."""
    out = io.BytesIO()
    out.write(",".join(HEADER).encode() + b"\n")
    for number, (merchant, crlf, blank) in enumerate(rows, 1):
        values = dict(GOOD, transaction_id=f"t{number}", merchant=merchant)
        line = csv_bytes([values]).split(b"\n", 1)[1]
        end = b"\r\n" if crlf else b"\n"
        out.write(line[:-1] + end + (end if blank else b""))
    data = out.getvalue()
    previous = csvio.CHUNK_BYTES, csvchunks.CHUNK_TARGET
    csvio.CHUNK_BYTES, csvchunks.CHUNK_TARGET = window, 4 * window
    try:
        ours = chain(data)
        assert_columnar(ours["validate"][0], data)
        os.environ[fast.ENV_SWITCH] = "0"
        try:
            expected = chain(data)
        finally:
            del os.environ[fast.ENV_SWITCH]
    finally:
        csvio.CHUNK_BYTES, csvchunks.CHUNK_TARGET = previous
    assert ours == expected


@pytest.mark.parametrize(("every", "chunks"), [(5, 3), (600, 9)])
def test_short_runs_between_unsafe_records_are_read_with_the_range(
    reference: Any, every: int, chunks: int
) -> None:
    """A line with a bare CR after every 5th row: one range, not a batch per five rows; one
    after every 600th: columnar runs between ranges of one line (two rows) each."""
    bare = LOCAL["bare CR"]
    data = with_records(3000, 14, dict.fromkeys(range(every + 1, 3001, every), bare))
    out = same_chain(reference, data)
    report = out["validate"][0].report
    assert report.columnar_chunks + report.reference_chunks == chunks
    if every > csvchunks.MIN_RUN:
        assert report.columnar_rows == 3000 and report.reference_rows == 8


@pytest.mark.parametrize("blank", [b"\r\n", b"\n", b"\r\n\n\r\n"])
@pytest.mark.parametrize("crlf", [True, False])
def test_blank_lines_stay_on_the_columnar_path(
    reference: Any, monkeypatch: pytest.MonkeyPatch, blank: bytes, crlf: bool
) -> None:
    """Blank lines (after every 10th row, before the first and after the last, over chunk
    edges) are skipped as the reference skips them, without a row number, on the columnar
    path: the same outputs, no range handed to the csv module."""
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    data = with_records(300, 16, dict.fromkeys([1, *range(11, 302, 10)], blank), crlf=crlf)
    out = same_chain(reference, data)
    report = out["validate"][0].report
    assert report.columnar_rows == 300 and report.reasons == {}


@pytest.mark.parametrize("bound", [1 << 20, 4096])
def test_a_range_the_csv_module_reads_past_the_buffer(
    reference: Any, monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    """A stray quote, then a quote at a field's start that the csv module takes as opening
    a field: its range runs past the buffer, which grows (or, past the bound, the rest of
    the file goes to the reference); the outcome is the reference's."""
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 512)
    monkeypatch.setattr(csvchunks, "CHUNK_TARGET", 2048)
    monkeypatch.setattr(csvchunks, "MAX_BUFFER", bound)
    plain = b"x,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,m,c,,US\r\n" * 150
    record = b'tx-s,ACC1,2024-01-01T00:00:00Z,1,USD,DEBIT,a"b,"c\r\n'
    closing = b'end",c,,US\r\n'
    data = with_records(30, 15, {20: record + plain + closing})
    out = same_chain(reference, data)
    assert Reason.STRAY_QUOTE in out["validate"][0].report.reasons


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.text(
                alphabet=st.characters(max_codepoint=0x1F600, exclude_categories=("Cs",)),
                max_size=12,
            ),
        ),
        max_size=20,
    ),
    offset=st.integers(min_value=0, max_value=3),
)
def test_json_escaped_writes_what_json_writes_inside_a_string(
    values: list[str | None], offset: int
) -> None:
    # control characters, quotes, backslashes, non-ASCII and nulls, in a sliced array
    array = pa.array(["pad"] * offset + values, pa.string()).slice(offset)
    expected = [None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in values]
    assert kernels.json_escaped(array).to_pylist() == expected


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.text(alphabet='ab\\"/\n\r\t\b\f\x01é', max_size=10), min_size=1, max_size=12
    ),
    offset=st.integers(min_value=0, max_value=2),
)
def test_json_string_bodies_unescape_as_json_loads_reads_them(
    values: list[str], offset: int
) -> None:
    # the curated hand-over's decoder of values with escapes: runs of backslashes, escaped
    # quotes, every short escape; a \u escape (json writes one for \x01) is left to json
    bodies = [json.dumps(v, ensure_ascii=False)[1:-1] for v in values]
    array = pa.array(["pad"] * offset + bodies, pa.string()).slice(offset)
    decoded = fast_enrich._unescaped(array)
    if any("\\u" in body for body in bodies):
        assert decoded is None
    else:
        assert decoded is not None and decoded.to_pylist() == values


def test_a_chunk_holding_nul_and_every_control_byte_goes_to_the_reference(reference: Any) -> None:
    """pyarrow reads a chunk's NULs as a control byte the chunk lacks; a chunk holding NUL
    and every such byte (the fuzz test drew one) went to the parser and crashed the step. It
    is read by the reference now, with the same outputs, and the report says why."""
    controls = "".join(chr(code) for code in (*range(1, 9), 11, 12, *range(14, 32)))
    data = csv_bytes(
        [row(transaction_id=f"t{i}", merchant=f"m{i}") for i in range(5)]
        + [
            row(transaction_id="t-nul", merchant="a\0b"),
            row(transaction_id="t-c", merchant=controls),
        ]
    )
    out = same_chain(reference, data)
    result = out["validate"][0]
    assert (result.rows_input, result.rows_valid) == (7, 6)  # the NUL row rejected
    assert Reason.NUL_WITHOUT_STAND_IN in result.report.reasons
