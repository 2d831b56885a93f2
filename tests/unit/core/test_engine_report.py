"""What the engines report: the selector's choice, the rows on each path, and a named reason for
every row handed to the reference (one test per reason, from a crafted input)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from etl_handlers.core import csvio
from etl_handlers.core.formats import PARQUET
from etl_handlers.core.report import COLUMNAR, REFERENCE, EngineReport, Reason
from etl_handlers.engines import selector
from etl_handlers.engines.columnar.engine import ColumnarEngine
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

from .conftest import HEADER, SCHEMA, csv_bytes, row

COLUMNAR_ENGINE = ColumnarEngine()
META = EnrichMetadata(
    job_id="j", source_key="raw/k.csv", processed_at="2026-01-01T00:00:00Z", pipeline_version="1"
)
HEAD = ",".join(HEADER).encode() + b"\n"


def validated(data: bytes, schema: Any = SCHEMA) -> tuple[Any, bytes]:
    valid = io.BytesIO()
    result = validate_stream(
        io.BytesIO(data),
        valid,
        io.BytesIO(),
        schema=schema,
        max_reject_rate=Decimal(1),
        engine=COLUMNAR_ENGINE,
    )
    return result, valid.getvalue()


def lines(*texts: str) -> bytes:
    return HEAD + "".join(text + "\n" for text in texts).encode()


def good(number: int, merchant: str = "Shop") -> str:
    return f"t{number},A1,2024-01-01T00:00:00Z,1.00,USD,DEBIT,{merchant},,,US"


def handed(report: EngineReport) -> dict[Reason, tuple[int, int]]:
    return {reason: (h.rows, h.chunks) for reason, h in report.reasons.items()}


# -- the selector ----------------------------------------------------------------------------


def test_the_selector_picks_the_columnar_engine_when_it_can_run() -> None:
    assert selector.select_engine().name == COLUMNAR


def test_switched_off_the_reference_runs_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(selector.ENV_SWITCH, "0")
    result = validate_stream(
        io.BytesIO(lines(good(1), good(2))), io.BytesIO(), io.BytesIO(), schema=SCHEMA
    )
    assert result.report.engine == REFERENCE
    assert handed(result.report) == {Reason.SWITCHED_OFF: (2, 1)}
    assert result.report.columnar_share == 0.0


def test_without_pyarrow_the_reference_runs_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selector, "find_spec", lambda name: None)
    selector._importable.cache_clear()
    try:
        engine = selector.select_engine()
    finally:
        selector._importable.cache_clear()
    assert engine.name == REFERENCE
    result = transform_stream(
        io.BytesIO(validated(lines(good(1)))[1]), io.BytesIO(), schema=SCHEMA, engine=engine
    )
    assert handed(result.report) == {Reason.PYARROW_MISSING: (1, 1)}


# -- clean input: all columnar ---------------------------------------------------------------


def test_a_clean_generated_file_is_all_columnar_in_every_step(tmp_path: Path) -> None:
    from bench.generate import write_csv

    data = write_csv(30_000, tmp_path / "clean.csv").read_bytes()
    result, valid = validated(data)
    assert result.rows_input == 30_000
    assert result.report.to_json()["rows"] == {"columnar": 30_000, "reference": 0}
    assert result.report.reasons == {} and result.report.columnar_share == 1.0
    processed = io.BytesIO()
    transformed = transform_stream(io.BytesIO(valid), processed, schema=SCHEMA)
    assert transformed.report.columnar_rows == transformed.rows == result.rows_valid
    assert transformed.report.reasons == {}
    enriched = enrich_stream(io.BytesIO(processed.getvalue()), io.BytesIO(), metadata=META)
    assert enriched.report.columnar_rows == enriched.rows == result.rows_valid
    assert enriched.report.reasons == {}


# -- validate: one reason each ---------------------------------------------------------------

CASES = {
    # a quoted field still open at the end of the file: no record end to cut at
    Reason.QUOTED_LINE_BREAK: lines(good(1), good(2, '"two\nlines'), good(3)),
    Reason.BARE_CR: lines(good(1), good(2, '"a\rb"'), good(3)),
    Reason.BAD_UTF8: lines(good(1)) + b"x" * 70_000 + b"\n" + good(2, "caf\xe9").encode("latin-1"),
    Reason.STRAY_QUOTE: lines(good(1), good(2, 'Joe"s'), good(3)),
    Reason.OVERLONG_LINE: lines(good(1), good(2, "m" * csvio.MAX_FIELD_CHARS)),
    Reason.NO_FINAL_LINE_END: lines(good(1)) + good(2).encode(),
    Reason.HEADER: (",".join(HEADER) + ',no"te\n').encode() + lines(good(1))[len(HEAD) :],
}


def test_quoted_line_breaks_stay_on_the_columnar_path() -> None:
    data = lines(good(1), good(2, '"two\nlines"'), good(3, '"CR\r\nLF"'), good(4))
    result, _ = validated(data)
    assert result.rows_valid == 4
    assert result.report.reasons == {} and result.report.columnar_rows == 4


def test_blank_lines_stay_on_the_columnar_path() -> None:
    data = HEAD + (good(1) + "\n\n" + good(2) + "\r\n\r\n").encode()
    result, _ = validated(data)
    assert result.rows_valid == 2
    assert result.report.reasons == {} and result.report.columnar_rows == 2


@pytest.mark.parametrize("reason", list(CASES), ids=str)
def test_each_hand_over_to_the_reference_names_its_reason(reason: Reason) -> None:
    result, _ = validated(CASES[reason])
    report = result.report
    assert report.engine == COLUMNAR
    assert list(report.reasons) == [reason]
    assert report.reference_chunks == 1
    # every row read is counted once, on one path or the other
    assert report.columnar_rows + report.reference_rows == result.rows_input


def test_the_reason_of_a_hand_over_is_the_first_thing_the_reader_met() -> None:
    """A stray quote before a quoted line break in the same chunk: the stray quote decides."""
    data = lines(good(1, 'a"b'), good(2, '"two\nlines"'))
    assert list(validated(data)[0].report.reasons) == [Reason.STRAY_QUOTE]


def test_two_unique_columns_are_named() -> None:
    columns = tuple(
        replace(column, unique=True) if column.name == "account_id" else column
        for column in SCHEMA.columns
    )
    result, _ = validated(lines(good(1), good(2)), replace(SCHEMA, columns=columns))
    assert handed(result.report) == {Reason.TWO_UNIQUE_COLUMNS: (2, 1)}


def test_a_file_rejected_mid_way_reports_the_rows_read() -> None:
    data = lines(good(1)) + b"x" * 70_000 + b"\n" + good(2, "caf\xe9").encode("latin-1") + b"\n"
    result, _ = validated(data)
    assert result.outcome == "INVALID" and result.error[0] == "NOT_UTF8"
    assert result.report.columnar_rows + result.report.reference_rows == result.rows_input


# -- transform and enrich --------------------------------------------------------------------


def test_transform_names_a_bare_cr_and_keeps_quoted_line_breaks_columnar() -> None:
    _, valid = validated(lines(good(1), good(2, '"bare\rCR"'), good(3, '"two\nlines"')))
    result = transform_stream(
        io.BytesIO(valid), io.BytesIO(), schema=SCHEMA, engine=COLUMNAR_ENGINE
    )
    assert handed(result.report) == {Reason.BARE_CR: (1, 1)}
    assert result.report.columnar_rows == 2


def test_transform_names_columns_out_of_schema_order() -> None:
    names = list(HEADER)
    names[0], names[1] = names[1], names[0]
    data = csv_bytes([row()], header=names)
    result = transform_stream(io.BytesIO(data), io.BytesIO(), schema=SCHEMA, engine=COLUMNAR_ENGINE)
    assert handed(result.report) == {Reason.COLUMN_ORDER: (1, 1)}


def test_transform_to_parquet_names_the_format() -> None:
    _, valid = validated(lines(good(1)))
    result = transform_stream(
        io.BytesIO(valid),
        io.BytesIO(),
        schema=SCHEMA,
        output_format=PARQUET,
        engine=COLUMNAR_ENGINE,
    )
    assert handed(result.report) == {Reason.OUTPUT_FORMAT: (1, 1)}


def processed_lines(count: int) -> bytes:
    _, valid = validated(lines(*(good(n) for n in range(1, count + 1))))
    sink = io.BytesIO()
    transform_stream(io.BytesIO(valid), sink, schema=SCHEMA)
    return sink.getvalue()


def test_enrich_names_a_record_it_cannot_certify() -> None:
    """Keys in another order than transform writes them: valid, but not certified."""
    first, second = processed_lines(2).splitlines(keepends=True)
    record = json.loads(second)
    swapped = {"account_id": record.pop("account_id"), **record}
    data = first + json.dumps(swapped, separators=(",", ":")).encode() + b"\n"
    enriched = enrich_stream(io.BytesIO(data), io.BytesIO(), metadata=META, engine=COLUMNAR_ENGINE)
    assert handed(enriched.report) == {Reason.NOT_CERTIFIED: (2, 1)}


def test_enrich_names_a_last_line_without_line_end() -> None:
    data = processed_lines(2).rstrip(b"\n")
    enriched = enrich_stream(io.BytesIO(data), io.BytesIO(), metadata=META, engine=COLUMNAR_ENGINE)
    assert handed(enriched.report) == {Reason.NO_FINAL_LINE_END: (2, 1)}


def test_enrich_names_bad_utf8() -> None:
    data = processed_lines(1).replace(b"Shop", b"Sh\xffp")
    with pytest.raises(Exception, match="not UTF-8"):
        enrich_stream(io.BytesIO(data), io.BytesIO(), metadata=META, engine=COLUMNAR_ENGINE)
    report = EngineReport(engine=COLUMNAR)
    with pytest.raises(Exception, match="not UTF-8"):
        COLUMNAR_ENGINE.enrich(
            io.BytesIO(data),
            io.BytesIO(),
            metadata=META,
            schema=SCHEMA,
            input_format="jsonl",
            output_format="jsonl",
            report=report,
        )
    assert list(report.reasons) == [Reason.BAD_UTF8]


def test_enrich_names_a_column_name_too_long_for_its_pattern() -> None:
    data = processed_lines(1)
    long_name = "m" * 200
    columns = tuple(
        replace(column, name=long_name) if column.name == "merchant" else column
        for column in SCHEMA.columns
    )
    data = data.replace(b'"merchant"', f'"{long_name}"'.encode())
    enriched = enrich_stream(
        io.BytesIO(data),
        io.BytesIO(),
        metadata=META,
        schema=replace(SCHEMA, columns=columns),
        engine=COLUMNAR_ENGINE,
    )
    assert handed(enriched.report) == {Reason.LONG_COLUMN_NAME: (1, 1)}


def test_the_report_holds_counts_and_reason_names_only() -> None:
    secret = "4111111111111111"
    result, _ = validated(lines(good(1, f'"{secret}\rx"'), good(2)))
    text = str(result.report.to_json())
    assert secret not in text and "1111" not in text
    assert result.report.to_json()["reasons"] == {"bare CR": {"rows": 1, "chunks": 1}}
