"""The curated files the columnar enrich engine builds from the values it holds hold exactly
what the files read back from the enriched output hold (``write_transactions``, the spec):
same partitions, rows in the same order, same values and types."""

from __future__ import annotations

import io
import json
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etl_handlers.core.schema import load_schema
from etl_handlers.engines.columnar import curate
from etl_handlers.engines.columnar import enrich as fast_enrich
from etl_handlers.engines.columnar.engine import ColumnarEngine
from etl_handlers.engines.reference.engine import ReferenceEngine
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

from tests.unit.core.test_curated import BANK_EXPORT, CUSTOM, DEFAULT_DOCUMENT, META

DEFAULT_PARTITION = "2026-12-07"
HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category,"
    "card_number,country\n"
)


def _generated(rows: int, seed: int = 7) -> bytes:
    """Rows over 40 days in random order, as real exports vary: offsets and fractions in
    timestamps, quotes and line breaks in merchant names (escaped in JSON), empty optional
    fields (null in JSON), non-ASCII text, three currencies."""
    pick = random.Random(seed)
    lines = [HEADER]
    merchants = ["Shop", 'Joe\'s ""Diner""', '"Hotel\nBerlin"', "Café Zürich", "", "寿司"]
    # backslashes: one at the end of a value (before its closing quote), one before an
    # escaped quote, a tab (escaped as \t)
    merchants += ["C:\\shop\\", '"a\\""b"', "tab\there"]
    for n in range(rows):
        day = pick.randrange(1, 41)
        stamp = f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T{pick.randrange(24):02d}:15:00"
        stamp += pick.choice(["Z", "+02:00", ".123456789Z", "-05:30"])
        currency, amount = pick.choice([("EUR", "12.30"), ("JPY", "1000"), ("BHD", "1.250")])
        card = pick.choice(["4111111111111111", ""])
        lines.append(
            f"t-{n},ACC{n % 13},{stamp},{amount},{currency},{pick.choice(['DEBIT', 'credit'])},"
            f"{pick.choice(merchants)},{pick.choice(['food', ''])},{card},"
            f"{pick.choice(['DE', 'ch', ''])}\n"
        )
    return "".join(lines).encode("utf-8")


def _processed(data: bytes, document: dict[str, Any]) -> bytes:
    schema = load_schema(json.dumps(document))
    valid, rejects = io.BytesIO(), io.BytesIO()
    validated = validate_stream(
        io.BytesIO(data), valid, rejects, schema=schema, max_reject_rate=Decimal(1)
    )
    assert validated.outcome == "VALID", validated
    processed = io.BytesIO()
    transform_stream(io.BytesIO(valid.getvalue()), processed, schema=schema)
    return processed.getvalue()


def _built(
    processed: bytes, document: dict[str, Any], engine: Any = None
) -> tuple[bytes, curate.CuratedBuilder, dict[str, io.BytesIO]]:
    """Enrich with a builder: (the enriched output, the builder, its sinks)."""
    sinks: dict[str, io.BytesIO] = {}
    builder = curate.CuratedBuilder(
        document=document,
        open_sink=lambda value: sinks.setdefault(value, io.BytesIO()),
        default_partition=DEFAULT_PARTITION,
    )
    enriched = io.BytesIO()
    enrich_stream(
        io.BytesIO(processed),
        enriched,
        metadata=META,
        schema=load_schema(json.dumps(document)),
        engine=engine,
        curated=builder,
    )
    return enriched.getvalue(), builder, sinks


def _spec(enriched: bytes, document: dict[str, Any]) -> dict[str, pa.Table]:
    sinks: dict[str, io.BytesIO] = {}
    curate.write_transactions(
        io.BytesIO(enriched),
        document=document,
        input_format="jsonl",
        open_sink=lambda value: sinks.setdefault(value, io.BytesIO()),
        default_partition=DEFAULT_PARTITION,
    )
    return {value: pq.read_table(io.BytesIO(sink.getvalue())) for value, sink in sinks.items()}


def _assert_same_files(
    processed: bytes, document: dict[str, Any], *, walked: bool = True
) -> dict[str, pa.Table]:
    """The built files equal the read-back ones; ``walked``: the quote walk read every
    record (none was read back from the written records)."""
    read_back: list[int] = []
    original = curate.CuratedBuilder.add_enriched

    def spy(self: curate.CuratedBuilder, data: bytes, first: int) -> None:
        read_back.append(first)
        original(self, data, first)

    curate.CuratedBuilder.add_enriched = spy  # type: ignore[method-assign]
    try:
        enriched, builder, sinks = _built(processed, document)
    finally:
        curate.CuratedBuilder.add_enriched = original  # type: ignore[method-assign]
    assert builder.complete
    assert (read_back == []) is walked, read_back
    result = builder.finish()
    built = {value: pq.read_table(io.BytesIO(sink.getvalue())) for value, sink in sinks.items()}
    spec = _spec(enriched, document)
    assert sorted(built) == sorted(spec)
    for value, table in spec.items():
        assert built[value].schema.equals(table.schema, check_metadata=True), value
        assert built[value].to_pylist() == table.to_pylist(), value
    assert result.rows == {value: table.num_rows for value, table in spec.items()}
    return built


@pytest.mark.parametrize(
    ("data", "document"),
    [
        (BANK_EXPORT, DEFAULT_DOCUMENT),  # escapes, nulls, offsets, days out of order
        (_generated(3000), DEFAULT_DOCUMENT),
        (b"ref,value,ccy,side,note\nS1,10.00,USD,DR,first\nS2,2.50,usd,cr,\n", CUSTOM),
    ],
    ids=["bank-export", "generated", "no-timestamp"],
)
def test_built_files_hold_what_the_enriched_output_holds(
    data: bytes, document: dict[str, Any]
) -> None:
    _assert_same_files(_processed(data, document), document)


def test_many_chunks_and_flushes_keep_every_row_in_file_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fast_enrich, "CHUNK_BYTES", 4096)  # chunks with and without escapes
    monkeypatch.setattr(curate, "BUILD_ROWS", 500)  # several row groups per day
    built = _assert_same_files(
        _processed(_generated(3000, seed=11), DEFAULT_DOCUMENT), DEFAULT_DOCUMENT
    )
    assert sum(table.num_rows for table in built.values()) == 3000
    ids = [
        int(i[2:]) for table in built.values() for i in table.column("transaction_id").to_pylist()
    ]
    assert len(set(ids)) == 3000


def test_records_enriched_row_by_row_are_built_from_what_was_written() -> None:
    # Not what transform writes (spaces after the separators): the engine enriches these
    # line by line, and the builder reads the records it wrote.
    processed = _processed(_generated(50), DEFAULT_DOCUMENT)
    spaced = b"".join(
        json.dumps(json.loads(line), ensure_ascii=False).encode("utf-8") + b"\n"
        for line in processed.splitlines()
    )
    _assert_same_files(spaced, DEFAULT_DOCUMENT, walked=False)


@pytest.mark.parametrize("engine", [ReferenceEngine(), None], ids=["reference", "parquet"])
def test_an_engine_that_does_not_build_leaves_the_builder_incomplete(engine: Any) -> None:
    # then the enrich step reads the enriched output back (publish_curated)
    processed = _processed(BANK_EXPORT, DEFAULT_DOCUMENT)
    if engine is None:  # the columnar engine with Parquet in and out: the reference's rows
        sinks: dict[str, io.BytesIO] = {}
        builder = curate.CuratedBuilder(
            document=DEFAULT_DOCUMENT,
            open_sink=lambda value: sinks.setdefault(value, io.BytesIO()),
            default_partition=DEFAULT_PARTITION,
        )
        schema = load_schema(None)
        as_parquet = io.BytesIO()
        transform_stream(
            io.BytesIO(_valid(BANK_EXPORT)), as_parquet, schema=schema, output_format="parquet"
        )
        enrich_stream(
            io.BytesIO(as_parquet.getvalue()),
            io.BytesIO(),
            metadata=META,
            schema=schema,
            input_format="parquet",
            output_format="parquet",
            engine=ColumnarEngine(),
            curated=builder,
        )
    else:
        _, builder, sinks = _built(processed, DEFAULT_DOCUMENT, engine=engine)
    assert not builder.complete and not sinks


def _valid(data: bytes) -> bytes:
    valid = io.BytesIO()
    validate_stream(
        io.BytesIO(data),
        valid,
        io.BytesIO(),
        schema=load_schema(None),
        max_reject_rate=Decimal(1),
    )
    return valid.getvalue()


def test_quotes_that_do_not_pair_up_give_nothing() -> None:
    # a chunk the quote walk cannot read (here: fewer keys than the schema has) is read
    # back from the enriched records instead
    data = b'{"transaction_id":"a"}\n'
    view = np.frombuffer(data, dtype=np.uint8)
    held: list[Any] = []
    builder = curate.CuratedBuilder(
        document=DEFAULT_DOCUMENT, open_sink=lambda value: io.BytesIO(), default_partition="x"
    )
    builder.add = lambda *args: held.append(args)  # type: ignore[method-assign]
    ends = np.flatnonzero(view == 10)
    assert not fast_enrich._hand_over(builder, data, view, ends, None, None, 0, 10)
    assert held == []


def test_pruning_columns_keep_statistics() -> None:
    # Athena and DuckDB skip row groups by min/max: a job's rows (job_id: the job-rows
    # query skips other jobs' files), a time range, an amount range, a currency.
    _, builder, sinks = _built(_processed(BANK_EXPORT, DEFAULT_DOCUMENT), DEFAULT_DOCUMENT)
    builder.finish()
    assert sinks
    for sink in sinks.values():
        group = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata.row_group(0)
        names = [group.column(i).path_in_schema for i in range(group.num_columns)]
        for name in ("job_id", "timestamp", "amount", "currency", "transaction_type"):
            stats = group.column(names.index(name)).statistics
            assert stats is not None and stats.has_min_max, name


def _rejects_spec(lines: list[bytes]) -> list[dict[str, Any]]:
    """The rejects table's rows, line by line as the contract reads them."""
    rows = []
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        rows.append(
            {
                "job_id": "job",
                "source_key": "raw/a.csv",
                "row_number": record.get("row"),
                "code": record.get("code"),
                "column_name": record.get("column"),
                "message": record.get("message"),
                "fields": json.dumps(record.get("fields"), ensure_ascii=False),
            }
        )
    return rows


def _rejects_table(lines: list[bytes]) -> list[dict[str, Any]]:
    sink = io.BytesIO()
    count = curate.write_rejects(lines, job_id="job", source_key="raw/a.csv", sink=sink)
    rows = pq.read_table(io.BytesIO(sink.getvalue())).to_pylist()
    assert count == len(rows)
    return rows


def test_rejects_read_in_blocks_hold_what_each_line_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    # the validator's own lines: card numbers masked, control characters, quotes, non-ASCII
    data = (
        _generated(400)
        + (
            't-x,ACC1,2024-01-01T00:00:00Z,1.00,EUR,DEBIT,"tab\there ""q"" \x01 é",food,'
            "4111111111111111,DE,extra\n"
            "t-y,ACC1,not a time,1.00,EUR,DEBIT,Shop,food,4111111111111111,DE\n"
            "t-z,ACC1,2024-01-01T00:00:00Z,-5,XXX,DEBIT,Shop,food,,DE\n"
        ).encode()
    )
    rejects = io.BytesIO()
    validate_stream(
        io.BytesIO(data),
        io.BytesIO(),
        rejects,
        schema=load_schema(None),
        max_reject_rate=Decimal(1),
    )
    lines = rejects.getvalue().splitlines(keepends=True)
    assert len(lines) >= 3
    monkeypatch.setattr(curate, "REJECT_BLOCK_LINES", 2)
    assert _rejects_table([*lines, b"\n"]) == _rejects_spec(lines)


@pytest.mark.parametrize(
    "odd",
    [
        b'{"row": 1, "code": "X", "column": null, "message": "m", "fields": {"a": "\\u00e9"}}\n',
        b'{"row": 1, "code": "X", "column": "c", "message": "m", "fields": {"a":"b"}}\n',
        b'{"row": 1, "code": "X", "column": "c", "message": "m", "fields": {"a": 1}}\n',
        b'{"row": 1, "code": "X", "column": "c", "message": "m", "fields": {"a": "\\/"}}\n',
        b'{"code": "X", "row": 1, "column": "c", "message": "m", "fields": null}',
    ],
    ids=["escaped-non-ascii", "no-space", "number", "escaped-slash", "key-order"],
)
def test_reject_lines_in_another_form_are_read_line_by_line(odd: bytes) -> None:
    # fields text not in json.dumps form: written as json.dumps writes it, whatever the block
    plain = b'{"row": 2, "code": "Y", "column": "c", "message": "m", "fields": {"a": "b"}}\n'
    lines = [plain, odd, plain]
    assert _rejects_table(lines) == _rejects_spec(lines)


OPTIONAL_TIME = {
    **CUSTOM,
    "columns": [*CUSTOM["columns"], {"name": "booked", "type": "timestamp"}],
}


def test_rows_without_a_timestamp_land_in_the_received_date_beside_dated_ones() -> None:
    data = (
        b"ref,value,ccy,side,note,booked\n"
        b"S1,10.00,USD,DR,first,2024-03-01T10:00:00Z\n"
        b"S2,2.50,usd,cr,,\n"
        b"S3,1.00,USD,DR,third,2024-03-01T23:30:00-02:00\n"
    )
    built = _assert_same_files(_processed(data, OPTIONAL_TIME), OPTIONAL_TIME)
    assert {day: t.column("ref").to_pylist() for day, t in built.items()} == {
        "2024-03-01": ["S1"],
        DEFAULT_PARTITION: ["S2"],
        "2024-03-02": ["S3"],
    }


def test_a_job_with_no_enriched_record_builds_no_file() -> None:
    _, builder, sinks = _built(b"", DEFAULT_DOCUMENT)
    assert builder.complete and builder.finish().rows == {} and sinks == {}


def test_a_builder_without_the_processing_fields_writes_nothing() -> None:
    builder = curate.CuratedBuilder(
        document=CUSTOM, open_sink=lambda value: io.BytesIO(), default_partition="x"
    )
    strings = [pa.array(["S1"]), pa.array(["1.00"]), pa.array(["USD"]), pa.array(["DR"])]
    builder.add([*strings, pa.array([None], pa.string())], None, np.arange(1))
    with pytest.raises(ValueError, match="processing fields"):
        builder.finish()


def test_rejects_past_a_row_group_start_another(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        f'{{"row": {n}, "code": "X", "column": null, "message": "m", "fields": {{}}}}\n'.encode()
        for n in range(1, 8)
    ]
    monkeypatch.setattr(curate, "REJECT_BLOCK_LINES", 2)
    monkeypatch.setattr(curate, "ROW_GROUP_ROWS", 3)
    sink = io.BytesIO()
    assert curate.write_rejects(lines, job_id="job", source_key="raw/a.csv", sink=sink) == 7
    assert pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata.num_row_groups == 3
    assert _rejects_table(lines) == _rejects_spec(lines)


def test_a_reject_line_that_is_not_utf8_fails_as_the_line_by_line_read_does() -> None:
    bad = b'{"row": 1, "code": "X", "column": null, "message": "\xff", "fields": null}\n'
    with pytest.raises(ValueError):
        _rejects_spec([bad])
    with pytest.raises(ValueError):
        curate.write_rejects([bad], job_id="job", source_key="raw/a.csv", sink=io.BytesIO())


def test_a_job_s_staged_files_spill_to_disk_past_one_budget_for_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hundreds of day files, each small, must not fill the function's memory together: past
    # the shared budget the files go to /tmp, their bytes intact.
    from etl_handlers.app import curate as app_curate

    monkeypatch.setattr(app_curate, "_SPOOL_BYTES", 4096)
    monkeypatch.setattr(curate, "BUILD_ROWS", 500)
    processed = _processed(_generated(3000, seed=5), DEFAULT_DOCUMENT)
    schema = load_schema(json.dumps(DEFAULT_DOCUMENT))
    with app_curate.StagedCurated(schema=schema, received_date=DEFAULT_PARTITION) as staged:
        enriched = io.BytesIO()
        enrich_stream(
            io.BytesIO(processed), enriched, metadata=META, schema=schema, curated=staged.builder
        )
        staged.builder.finish()
        in_memory = [f for f in staged.files.values() if not f._rolled]  # type: ignore[attr-defined]
        on_disk = [f for f in staged.files.values() if f._rolled]  # type: ignore[attr-defined]
        assert on_disk and in_memory  # the first files stayed in memory, later ones spilled
        assert sum(f.tell() for f in in_memory) <= 4096
        built = {}
        for value, data in staged.files.items():
            data.seek(0)
            built[value] = pq.read_table(io.BytesIO(data.read()))
    spec = _spec(enriched.getvalue(), DEFAULT_DOCUMENT)
    assert sorted(built) == sorted(spec)
    assert all(built[v].to_pylist() == spec[v].to_pylist() for v in spec)
