"""The curated dataset: Parquet typed from the schema, partitioned by transaction date, whose
sums per currency and direction are the job's control totals."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etl_handlers import contract
from etl_handlers.core import curated, schema_rules
from etl_handlers.core.formats import JSONL, PARQUET, open_writer, read_records
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import load_schema
from etl_handlers.core.values import MAX_AMOUNT_DIGITS
from etl_handlers.engines.columnar import curate
from etl_handlers.engines.reference.enrich import ENRICH_FIELDS, EnrichMetadata
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

DEFAULT_DOCUMENT = json.loads(
    Path(curated.__file__).with_name("default_schema.json").read_text(encoding="utf-8")
)

META = EnrichMetadata(
    job_id="0123456789abcdef0123456789abcdef",
    source_key="raw/exports/statement.csv",
    processed_at="2026-12-07T10:11:12.5Z",
    pipeline_version="1.2.3",
)

# A bank export as users send them: BOM, CRLF, a mixed-case header, a quoted line break and
# quotes in a merchant name, padded and lower-case codes, non-ASCII text, a card number in
# free text, three currencies with 0, 2 and 3 minor units, two days (one row late), rejects.
BANK_EXPORT = (
    "\ufeffTransaction_ID,Account_ID,Timestamp,Amount,Currency,Transaction_Type,Merchant,"
    "Category,Card_Number,Country\r\n"
    't-1,ACC1,2024-03-01T23:30:00-02:00,12.30,eur,debit,"Café ""Zürich""\nFiliale 2",'
    "food,4111111111111111,ch\r\n"
    "t-2,ACC1,2024-03-02T08:00:00Z,1000,JPY,CREDIT,Sushi 寿司,food,,jp\r\n"
    "t-3,ACC2,2024-03-02T09:15:00.123456789Z,1.5,bhd,DEBIT,  Gulf Air  ,travel,,BH\r\n"
    "t-4,ACC2,2024-02-27T12:00:00Z,0.01,EUR,credit,refund 4111 1111 1111 1111,misc,,de\r\n"
    "t-5,ACC3,not a time,5.00,EUR,DEBIT,Shop,misc,,DE\r\n"
    "t-1,ACC3,2024-03-02T10:00:00Z,5.00,EUR,DEBIT,again,misc,,DE\r\n"
    "t-6,ACC3,2024-03-02T11:00:00Z,7.777,EUR,DEBIT,Shop,misc,,DE\r\n"
).encode("utf-8")


def _chain(data: bytes, document: dict[str, Any]) -> dict[str, Any]:
    """validate -> transform -> enrich over bytes, as the steps run them."""
    schema = load_schema(json.dumps(document))
    valid, rejects = io.BytesIO(), io.BytesIO()
    validated = validate_stream(
        io.BytesIO(data), valid, rejects, schema=schema, max_reject_rate=Decimal(1)
    )
    assert validated.outcome == "VALID", validated
    processed = io.BytesIO()
    transform_stream(io.BytesIO(valid.getvalue()), processed, schema=schema)
    enriched = io.BytesIO()
    result = enrich_stream(io.BytesIO(processed.getvalue()), enriched, metadata=META, schema=schema)
    return {"enriched": enriched.getvalue(), "rejects": rejects.getvalue(), "result": result}


def _curate(enriched: bytes, document: dict[str, Any]) -> dict[str, pa.Table]:
    sinks: dict[str, io.BytesIO] = {}

    def open_sink(value: str) -> io.BytesIO:
        sinks[value] = io.BytesIO()
        return sinks[value]

    written = curate.write_transactions(
        io.BytesIO(enriched),
        document=document,
        input_format="jsonl",
        open_sink=open_sink,
        default_partition="2026-12-07",
    )
    tables = {value: pq.read_table(io.BytesIO(sink.getvalue())) for value, sink in sinks.items()}
    assert written.rows == {value: table.num_rows for value, table in tables.items()}
    return tables


def test_sums_per_currency_and_direction_are_the_control_totals() -> None:
    run = _chain(BANK_EXPORT, DEFAULT_DOCUMENT)
    tables = _curate(run["enriched"], DEFAULT_DOCUMENT)
    rows = [record for table in tables.values() for record in table.to_pylist()]
    assert len(rows) == run["result"].rows == 4
    sums: dict[str, dict[str, Any]] = {}
    for record in rows:
        figures = sums.setdefault(
            record["currency"], {"count": 0, "debit": Decimal(0), "credit": Decimal(0)}
        )
        figures["count"] += 1
        figures[record["transaction_type"].lower()] += record["amount"]
    expected = run["result"].totals.to_json()
    assert {
        currency: {
            "count": figures["count"],
            "debit": Decimal(expected[currency]["debit"]),
            "credit": Decimal(expected[currency]["credit"]),
        }
        for currency, figures in sums.items()
    } == {
        currency: {**values, "debit": Decimal(values["debit"]), "credit": Decimal(values["credit"])}
        for currency, values in expected.items()
    }
    assert {currency: f["debit"] + f["credit"] for currency, f in sums.items()} == {
        "EUR": Decimal("12.31"),
        "JPY": Decimal("1000"),
        "BHD": Decimal("1.5"),
    }


def test_partitions_by_utc_transaction_date_with_late_rows_in_their_own_day() -> None:
    tables = _curate(_chain(BANK_EXPORT, DEFAULT_DOCUMENT)["enriched"], DEFAULT_DOCUMENT)
    ids = {
        value: sorted(table.column("transaction_id").to_pylist()) for value, table in tables.items()
    }
    # 23:30 at -02:00 on March 1st is March 2nd in UTC; the February row keeps its own day.
    assert ids == {"2024-03-02": ["t-1", "t-2", "t-3"], "2024-02-27": ["t-4"]}
    assert all(contract.TRANSACTIONS_PARTITION not in t.column_names for t in tables.values())


def test_columns_are_typed_as_the_catalog_declares_them() -> None:
    tables = _curate(_chain(BANK_EXPORT, DEFAULT_DOCUMENT)["enriched"], DEFAULT_DOCUMENT)
    table = tables["2024-03-02"]
    declared = curated.transactions_columns(DEFAULT_DOCUMENT)
    assert table.column_names == [c.name for c in declared]
    assert table.schema.field("amount").type == pa.decimal128(38, 4)
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("processed_at").type == pa.timestamp("us", tz="UTC")
    record = {r["transaction_id"]: r for r in table.to_pylist()}
    # Nine fraction digits are cut to six, never rounded into another value.
    assert record["t-3"]["timestamp"].isoformat() == "2024-03-02T09:15:00.123456+00:00"
    assert record["t-3"]["merchant"] == "  Gulf Air  "  # values as the JSON outputs hold them
    assert record["t-1"]["merchant"] == 'Café "Zürich"\nFiliale 2'
    assert record["t-1"]["card_number"] == "************1111"
    # stored dictionary-encoded, read as the strings the catalog declares (not categories)
    assert table.schema.field("currency").type == pa.string()
    assert table.schema.field("job_id").type == pa.string()


def test_no_card_number_reaches_the_parquet_bytes() -> None:
    run = _chain(BANK_EXPORT, DEFAULT_DOCUMENT)
    sinks: list[io.BytesIO] = []
    curate.write_transactions(
        io.BytesIO(run["enriched"]),
        document=DEFAULT_DOCUMENT,
        input_format="jsonl",
        open_sink=lambda value: sinks.append(io.BytesIO()) or sinks[-1],
        default_partition="2026-12-07",
    )
    rejects = io.BytesIO()
    curate.write_rejects(
        io.BytesIO(run["rejects"]), job_id=META.job_id, source_key=META.source_key, sink=rejects
    )
    for sink in [*sinks, rejects]:
        text = str(pq.read_table(io.BytesIO(sink.getvalue())).to_pylist())
        assert "4111111111111111" not in text and "4111 1111 1111 1111" not in text


def test_rejects_table_has_code_column_row_and_job() -> None:
    run = _chain(BANK_EXPORT, DEFAULT_DOCUMENT)
    sink = io.BytesIO()
    count = curate.write_rejects(
        io.BytesIO(run["rejects"]), job_id=META.job_id, source_key=META.source_key, sink=sink
    )
    table = pq.read_table(io.BytesIO(sink.getvalue()))
    assert count == table.num_rows == 3
    assert [(r["row_number"], r["code"], r["column_name"]) for r in table.to_pylist()] == [
        (5, "INVALID_TIMESTAMP", "timestamp"),
        (6, "DUPLICATE_ID", "transaction_id"),
        (7, "AMOUNT_PRECISION", "amount"),
    ]
    assert set(table.column("job_id").to_pylist()) == {META.job_id}
    assert [f.name for f in table.schema] == [c.name for c in curated.rejects_columns()]


def test_an_empty_reject_file_still_writes_a_readable_file() -> None:
    sink = io.BytesIO()
    assert curate.write_rejects(io.BytesIO(b""), job_id="j", source_key="k", sink=sink) == 0
    assert pq.read_table(io.BytesIO(sink.getvalue())).num_rows == 0


CUSTOM = {
    "name": "card-settlements",
    "version": 3,
    "columns": [
        {
            "name": "ref",
            "type": "identifier",
            "required": True,
            "unique": True,
            "description": "settlement reference from the acquirer",
        },
        {"name": "value", "type": "amount", "required": True},
        {"name": "ccy", "type": "currency", "required": True},
        {"name": "side", "type": "enum", "required": True, "values": ["DR", "CR"]},
        {"name": "note", "type": "text", "maxLength": 40},
    ],
    "totals": {
        "amount": "value",
        "currency": "ccy",
        "direction": "side",
        "debit": "DR",
        "credit": "CR",
    },
}


def test_a_custom_schema_without_timestamp_lands_in_the_received_date() -> None:
    data = b"ref,value,ccy,side,note\nS1,10.00,USD,DR,first\nS2,2.50,usd,cr,\n"
    run = _chain(data, CUSTOM)
    tables = _curate(run["enriched"], CUSTOM)
    assert list(tables) == ["2026-12-07"]
    table = tables["2026-12-07"]
    assert table.column_names == [c.name for c in curated.transactions_columns(CUSTOM)]
    assert table.column("value").to_pylist() == [Decimal("10.0000"), Decimal("2.5000")]
    assert curated.transactions_columns(CUSTOM)[0].comment == (
        "settlement reference from the acquirer; required"
    )


def test_parquet_enriched_output_is_curated_the_same_way() -> None:
    schema = load_schema(None)
    run = _chain(BANK_EXPORT, DEFAULT_DOCUMENT)
    as_parquet = io.BytesIO()
    names = [*schema.column_names, *ENRICH_FIELDS]
    writer = open_writer(as_parquet, names, PARQUET)
    for record, _ in read_records(io.BytesIO(run["enriched"]), JSONL):
        writer.write([record[name] for name in names])
    writer.close()
    sinks: dict[str, io.BytesIO] = {}
    curate.write_transactions(
        io.BytesIO(as_parquet.getvalue()),
        document=DEFAULT_DOCUMENT,
        input_format="parquet",
        open_sink=lambda value: sinks.setdefault(value, io.BytesIO()),
        default_partition="2026-12-07",
    )
    assert {v: pq.read_table(io.BytesIO(s.getvalue())).to_pylist() for v, s in sinks.items()} == {
        v: t.to_pylist() for v, t in _curate(run["enriched"], DEFAULT_DOCUMENT).items()
    }


def test_every_column_type_has_a_curated_type() -> None:
    for kind in schema_rules.COLUMN_TYPES:
        document = {"columns": [{"name": "c", "type": kind}]}
        (column, *_) = curated.transactions_columns(document)
        assert column.type in curate._ARROW_TYPES


def test_the_amount_type_holds_every_currency_and_the_largest_amount() -> None:
    precision, scale = (int(n) for n in contract.AMOUNT_TYPE[len("decimal(") : -1].split(","))
    assert scale >= max(CURRENCY_MINOR_UNITS.values())
    assert precision - scale >= MAX_AMOUNT_DIGITS


def test_keys_put_one_file_per_job_and_partition() -> None:
    assert curated.curated_key("transactions", "transaction_date", "2024-03-02", "ab" * 16) == (
        "curated/transactions/transaction_date=2024-03-02/" + "ab" * 16 + ".parquet"
    )


@pytest.mark.parametrize("description", [7, "x" * 256])
def test_a_description_must_be_short_text(description: object) -> None:
    document = {**CUSTOM, "columns": [{**CUSTOM["columns"][0], "description": description}]}
    problems = schema_rules.schema_problems(json.dumps(document))
    assert any("description" in problem for problem in problems)


def test_a_job_with_no_valid_row_writes_no_transactions_file() -> None:
    # every row rejected (or claimed by earlier files): the enriched object is empty
    opened: list[str] = []
    written = curate.write_transactions(
        io.BytesIO(b""),
        document=DEFAULT_DOCUMENT,
        input_format="jsonl",
        open_sink=lambda value: opened.append(value) or io.BytesIO(),
        default_partition="2026-12-07",
    )
    assert written.rows == {} and opened == []
