"""Transform (normalization, JSONL/Parquet) and enrich (metadata, transaction date)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from etl_handlers.core import codes, formats
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.formats import check_format, open_writer, read_records
from etl_handlers.core.schema import load_schema
from etl_handlers.core.totals import StepResult
from etl_handlers.engines import selector as fast
from etl_handlers.engines.reference.enrich import ENRICH_FIELDS, EnrichMetadata
from etl_handlers.engines.selector import enrich_stream, transform_stream

from .conftest import HEADER, SCHEMA, VISA, csv_bytes, row, validate

META = EnrichMetadata(
    job_id="0123456789abcdef0123456789abcdef",
    source_key="raw/2024/day.csv",
    processed_at="2026-01-02T03:04:05Z",
    pipeline_version="0.1.0",
)

ROWS = [
    row(
        transaction_id="t1",
        timestamp="2024-03-01T00:30:00+01:00",
        amount="0012.3",
        currency="usd",
        transaction_type="debit",
        merchant=f"Shop paid by {VISA}",
        country="gb",
    ),
    row(
        transaction_id="t2",
        amount="100",
        currency="jpy",
        transaction_type="Credit",
        merchant="",
        category="",
        card_number="",
        country="",
    ),
    row(transaction_id="t3", amount="1.5", currency="BHD", timestamp="2024-01-01T10:00:00.25Z"),
]


def validated() -> tuple[bytes, Any]:
    run = validate(csv_bytes(ROWS))
    assert run.result.rows_valid == 3
    return run.valid, run.result


def transformed(output_format: str = "jsonl") -> tuple[bytes, StepResult]:
    data, _ = validated()
    sink = io.BytesIO()
    result = transform_stream(io.BytesIO(data), sink, schema=SCHEMA, output_format=output_format)
    assert not sink.closed
    return sink.getvalue(), result


def parquet_rows(data: bytes) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()  # type: ignore[no-any-return]


def test_transform_normalizes() -> None:
    data, result = transformed()
    lines = data.decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert list(records[0]) == list(HEADER)  # keys in schema order
    assert records[0] == {
        "transaction_id": "t1",
        "account_id": "ACC1",
        "timestamp": "2024-02-29T23:30:00Z",
        "amount": "12.30",
        "currency": "USD",
        "transaction_type": "DEBIT",
        "merchant": "Shop paid by ************1111",
        "category": "food",
        "card_number": "************1111",
        "country": "GB",
    }
    assert records[1]["amount"] == "100"
    assert records[1]["transaction_type"] == "CREDIT"
    for name in ("merchant", "category", "card_number", "country"):
        assert records[1][name] is None
    assert records[2]["amount"] == "1.500"
    assert records[2]["timestamp"] == "2024-01-01T10:00:00.25Z"
    assert VISA not in data.decode()
    assert result.rows == 3


AUDIT = ("4526.7805.3117.0466", "4267  9037  1281  0485")  # from the security audit


@pytest.mark.parametrize("fast_path", ["1", "0"])
def test_the_audits_card_numbers_in_merchant_reach_no_output(
    monkeypatch: pytest.MonkeyPatch, fast_path: str
) -> None:
    """Dots, and two spaces, between the digit groups: masked like any card number in
    validated/, processed/ and enriched/, on the fast path and the reference."""
    monkeypatch.setenv(fast.ENV_SWITCH, fast_path)
    rows = [row(transaction_id=f"t{i}", merchant=f"paid {pan} ok") for i, pan in enumerate(AUDIT)]
    valid = validate(csv_bytes(rows)).valid
    processed, enriched = io.BytesIO(), io.BytesIO()
    transform_stream(io.BytesIO(valid), processed, schema=SCHEMA)
    enrich_stream(io.BytesIO(processed.getvalue()), enriched, metadata=META, schema=SCHEMA)
    for output in (valid, processed.getvalue(), enriched.getvalue()):
        for pan in AUDIT:
            assert pan.encode() not in output
            assert pan.replace(".", "").replace(" ", "").encode() not in output
    merchants = [json.loads(line)["merchant"] for line in enriched.getvalue().splitlines()]
    assert merchants == ["paid ************0466 ok", "paid ************0485 ok"]


def test_transform_totals_equal_validation_totals() -> None:
    _, validation = validated()
    _, result = transformed()
    assert result.totals == validation.totals
    assert result.totals.to_json()["USD"] == {"count": 1, "debit": "12.30", "credit": "0.00"}


def test_transform_parquet() -> None:
    jsonl, _ = transformed()
    data, result = transformed("parquet")
    assert data[:4] == b"PAR1"
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == list(HEADER)
    assert {str(field.type) for field in table.schema} == {"string"}
    expected = [json.loads(line) for line in jsonl.decode().splitlines()]
    assert table.to_pylist() == expected
    assert result.rows == 3


def test_parquet_row_groups_bound_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "ROW_GROUP_ROWS", 2)
    data, _ = transformed("parquet")
    import pyarrow.parquet as pq

    assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == 2


def test_transform_empty_input_writes_nothing() -> None:
    run = validate(csv_bytes([]))
    sink = io.BytesIO()
    result = transform_stream(io.BytesIO(run.valid), sink, schema=SCHEMA)
    assert (result.rows, sink.getvalue()) == (0, b"")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"amount": "12.345"}, "amount"),
        ({"currency": "ZZZ"}, "amount"),
        ({"transaction_type": "REFUND"}, "transaction_type"),
        ({"country": "ZZ"}, "country"),
        ({"account_id": ""}, "required"),
    ],
)
def test_transform_rejects_corrupt_input(change: dict[str, str], problem: str) -> None:
    data = csv_bytes([row(transaction_id="ok"), row(**change)])
    with pytest.raises(FileRejected) as caught:
        transform_stream(io.BytesIO(data), io.BytesIO(), schema=SCHEMA)
    assert caught.value.code == codes.INVALID_INPUT
    assert "validated row 2" in caught.value.message
    assert problem in caught.value.message


def test_transform_rejects_a_short_row() -> None:
    data = csv_bytes([row()]) + b"a,b\n"
    with pytest.raises(FileRejected) as caught:
        transform_stream(io.BytesIO(data), io.BytesIO(), schema=SCHEMA)
    assert caught.value.code == codes.INVALID_INPUT


def test_transform_fills_absent_optional_columns_with_null() -> None:
    header = [name for name in HEADER if name != "merchant"]
    data = csv_bytes([row()], header=header)
    sink = io.BytesIO()
    transform_stream(io.BytesIO(data), sink, schema=SCHEMA)
    assert json.loads(sink.getvalue())["merchant"] is None


def enriched(input_format: str, output_format: str) -> tuple[list[dict[str, Any]], StepResult]:
    data, _ = transformed(input_format)
    sink = io.BytesIO()
    result = enrich_stream(
        io.BytesIO(data),
        sink,
        metadata=META,
        input_format=input_format,
        output_format=output_format,
        schema=SCHEMA,
    )
    out = sink.getvalue()
    if output_format == "parquet":
        return parquet_rows(out), result
    return [json.loads(line) for line in out.decode().splitlines()], result


@pytest.mark.parametrize("input_format", ["jsonl", "parquet"])
@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_enrich(input_format: str, output_format: str) -> None:
    records, result = enriched(input_format, output_format)
    _, validation = validated()
    assert result.rows == 3
    assert result.totals == validation.totals
    assert list(records[0]) == [*HEADER, *ENRICH_FIELDS]
    first = records[0]
    assert first["job_id"] == META.job_id
    assert first["source_key"] == META.source_key
    assert first["processed_at"] == META.processed_at
    assert first["pipeline_version"] == META.pipeline_version
    assert first["transaction_date"] == "2024-02-29"  # the UTC date, not the local one
    assert first["amount"] == "12.30"
    assert records[1]["merchant"] is None


def test_enrich_defaults_to_the_default_schema_and_jsonl() -> None:
    data, _ = transformed()
    sink = io.BytesIO()
    result = enrich_stream(io.BytesIO(data), sink, metadata=META)
    assert result.rows == 3


def test_enrich_without_a_timestamp_column() -> None:
    doc = json.loads(json.dumps(_schema_document()))
    doc["columns"] = [column for column in doc["columns"] if column["type"] != "timestamp"]
    schema = load_schema(json.dumps(doc))
    record = {
        "transaction_id": "t",
        "account_id": "A",
        "amount": "1.00",
        "currency": "USD",
        "transaction_type": "DEBIT",
    }
    sink = io.BytesIO()
    enrich_stream(
        io.BytesIO(json.dumps(record).encode() + b"\n"), sink, metadata=META, schema=schema
    )
    assert json.loads(sink.getvalue())["transaction_date"] is None


def _schema_document() -> dict[str, Any]:
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[3]
        / "handlers"
        / "etl_handlers"
        / "core"
        / "default_schema.json"
    )
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_enrich_refuses_a_clashing_schema() -> None:
    doc = _schema_document()
    doc["columns"].append({"name": "job_id", "type": "text"})
    with pytest.raises(ConfigurationError, match="job_id"):
        enrich_stream(
            io.BytesIO(b""), io.BytesIO(), metadata=META, schema=load_schema(json.dumps(doc))
        )


def base_record(**changes: Any) -> bytes:
    record = {
        "transaction_id": "t",
        "account_id": "A",
        "timestamp": "2024-01-01T00:00:00Z",
        "amount": "1.00",
        "currency": "USD",
        "transaction_type": "DEBIT",
        **changes,
    }
    return json.dumps(record).encode() + b"\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"[1]\n", "not a JSON object"),
        (b"{oops\n", "not a JSON object"),
        (b"\xff\n", "not UTF-8"),
        (base_record(timestamp="2024-01-01"), "timestamp"),
        (base_record(timestamp=5), "timestamp"),
        (base_record(amount="1.234"), "amount"),
        (base_record(amount=1.5), "amount"),
        (base_record(currency="ZZZ"), "amount"),
        (base_record(transaction_type="debit"), "transaction_type"),
    ],
)
def test_enrich_rejects_corrupt_input(data: bytes, problem: str) -> None:
    with pytest.raises(FileRejected) as caught:
        enrich_stream(io.BytesIO(data), io.BytesIO(), metadata=META)
    assert caught.value.code == codes.INVALID_INPUT
    assert problem in caught.value.message


def test_enrich_null_timestamp_gives_null_date() -> None:
    sink = io.BytesIO()
    enrich_stream(io.BytesIO(base_record(timestamp=None)), sink, metadata=META)
    assert json.loads(sink.getvalue())["transaction_date"] is None


def test_enrich_rejects_a_non_parquet_input() -> None:
    with pytest.raises(FileRejected) as caught:
        enrich_stream(
            io.BytesIO(b"not parquet"), io.BytesIO(), metadata=META, input_format="parquet"
        )
    assert caught.value.code == codes.INVALID_INPUT


def test_formats() -> None:
    assert check_format("jsonl") == "jsonl"
    with pytest.raises(ConfigurationError, match="csv"):
        check_format("csv")
    with pytest.raises(ConfigurationError):
        transform_stream(
            io.BytesIO(csv_bytes([row()])), io.BytesIO(), schema=SCHEMA, output_format="xml"
        )
    sink = io.BytesIO()
    writer = open_writer(sink, ["a", "b"], "jsonl")
    writer.write(['x\n"y"', None])
    writer.close()
    assert sink.getvalue() == b'{"a":"x\\n\\"y\\"","b":null}\n'
    assert [record for record, _ in read_records(io.BytesIO(sink.getvalue()), "jsonl")] == [
        {"a": 'x\n"y"', "b": None}
    ]


def test_parquet_writer_takes_no_raw_lines() -> None:
    writer = open_writer(io.BytesIO(), ["a"], "parquet")
    with pytest.raises(NotImplementedError):
        writer.write_raw("{}\n")
    writer.close()


def test_transform_skips_blank_lines() -> None:
    data, _ = validated()
    sink = io.BytesIO()
    result = transform_stream(io.BytesIO(data.replace(b"\r\n", b"\r\n\r\n")), sink, schema=SCHEMA)
    assert result.rows == 3


def test_enrich_lets_source_faults_through() -> None:
    from etl_handlers.core.errors import TransientError

    data, _ = transformed("parquet")

    class Flaky(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise TransientError("S3 read timed out")

    with pytest.raises(TransientError):
        enrich_stream(Flaky(data), io.BytesIO(), metadata=META, input_format="parquet")
