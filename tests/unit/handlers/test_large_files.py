"""The big-file path's pieces: batches, the id merge across batches, parts, the reduces."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from shared import codes, large, large_steps, modes
from shared.errors import ConfigurationError
from shared.schema import load_schema

from .handlers_testkit import BUCKET, put_source

SCHEMA = load_schema(None)
HEADER = [
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "transaction_type",
    "merchant",
    "card_number",
]


def _item(row: int, ident: str, amount: str = "10.00", **changes: str) -> dict[str, Any]:
    values = dict(
        zip(
            HEADER,
            [
                ident,
                "ACC1",
                "2024-01-01T00:00:00Z",
                amount,
                "USD",
                "DEBIT",
                "=shop",
                "4111111111111111",
            ],
            strict=True,
        )
    )
    values.update(changes)
    return {"row": row, "values": values}


def _index(result: large.BatchResult) -> list[list[Any]]:
    return [json.loads(line) for line in result.ids.splitlines()]


def test_a_batch_numbers_its_rejects_as_rows_of_the_file_and_indexes_its_ids():
    items = [
        _item(12, "t-b"),
        _item(10, "t-a", amount="-1"),  # rejected
        _item(11, "t-c", amount="2.50"),
        {"row": 13, "values": {"transaction_id": "t-d", "account_id": "A"}},  # ragged
    ]
    result = large.validate_batch(items, schema=SCHEMA)
    assert result.part == "part-000000000011"  # the first row of the batch (1-based)
    assert (result.rows_input, result.rows_valid, result.rows_rejected) == (4, 2, 2)
    rejects = [json.loads(line) for line in result.rejects.splitlines()]
    assert [(r["row"], r["code"]) for r in rejects] == [
        (11, codes.INVALID_AMOUNT),
        (14, codes.FIELD_COUNT),
    ]
    assert rejects[0]["fields"]["card_number"] == "************1111"
    # sorted by id; positions are the rows' places in the part, rows the file's numbers
    assert _index(result) == [["t-b", 13, 1, "USD", True, 1000], ["t-c", 12, 0, "USD", True, 250]]
    assert result.summary()["rows"] == {"input": 4, "valid": 2, "rejected": 2}


def test_the_merge_keeps_the_first_row_of_each_id_across_batches():
    first = large.validate_batch([_item(0, "x"), _item(1, "y", amount="1.00")], schema=SCHEMA)
    second = large.validate_batch([_item(2, "y", amount="5.00"), _item(3, "z")], schema=SCHEMA)
    reduced = large.reduce_validation(
        [first.summary(), second.summary()],
        [
            large.index_entries(first.part, first.ids.splitlines()),
            large.index_entries(second.part, second.ids.splitlines()),
        ],
        unique="transaction_id",
    )
    assert reduced.duplicates == {second.part: [[0, 3]]}  # row 3 repeats row 2's id
    assert (reduced.rows_input, reduced.rows_valid, reduced.rows_rejected) == (4, 3, 1)
    # the duplicate's 5.00 is not in the totals
    assert reduced.totals.to_json() == {"USD": {"count": 3, "debit": "21.00", "credit": "0.00"}}


def test_a_part_drops_its_duplicates_into_rejects_with_their_fields():
    batch = large.validate_batch([_item(0, "a"), _item(1, "b"), _item(2, "c")], schema=SCHEMA)
    sink = io.BytesIO()
    result, rejects = large.transform_part(
        batch.valid_csv, [[1, 2]], schema=SCHEMA, output_format="jsonl", sink=sink
    )
    assert result.rows == 2
    assert [json.loads(line)["transaction_id"] for line in sink.getvalue().splitlines()] == [
        "a",
        "c",
    ]
    (reject,) = [json.loads(line) for line in rejects.splitlines()]
    assert reject["row"] == 2 and reject["code"] == codes.DUPLICATE_ID
    assert reject["fields"]["merchant"] == "=shop"  # verbatim in JSON, neutralized only in CSV
    assert reject["fields"]["card_number"] == "************1111"


def test_totals_of_parts_add_up_exactly():
    total = large.add_totals(
        [
            {"USD": {"count": 1, "debit": "0.10", "credit": "0.00"}},
            {
                "USD": {"count": 2, "debit": "0.20", "credit": "1.05"},
                "JPY": {"count": 1, "debit": "5", "credit": "0"},
            },
        ]
    )
    assert total.to_json() == {
        "JPY": {"count": 1, "debit": "5", "credit": "0"},
        "USD": {"count": 3, "debit": "0.30", "credit": "1.05"},
    }


def test_duplicates_are_found_on_one_column_only():
    document = json.loads(SCHEMA_DOC)
    document["columns"][1]["unique"] = True
    with pytest.raises(ConfigurationError, match="one column"):
        large.unique_column(load_schema(json.dumps(document)))


SCHEMA_DOC = json.dumps(
    {
        "name": "t",
        "version": 1,
        "columns": [
            {
                "name": "transaction_id",
                "type": "identifier",
                "required": True,
                "maxLength": 64,
                "pattern": "^[A-Za-z0-9_-]+$",
                "unique": True,
            },
            {
                "name": "account_id",
                "type": "identifier",
                "required": True,
                "maxLength": 34,
                "pattern": "^[A-Za-z0-9]+$",
            },
            {"name": "amount", "type": "amount", "required": True},
            {"name": "currency", "type": "currency", "required": True},
            {
                "name": "transaction_type",
                "type": "enum",
                "required": True,
                "values": ["DEBIT", "CREDIT"],
            },
        ],
        "totals": {
            "amount": "amount",
            "currency": "currency",
            "direction": "transaction_type",
            "debit": "DEBIT",
            "credit": "CREDIT",
        },
    }
)


def test_events_name_their_big_file_task():
    assert modes.mode_of({"Items": [], "BatchInput": {"jobId": "j"}}) == modes.BATCH
    assert modes.mode_of({"mode": "reduce", "jobId": "j"}) == modes.REDUCE
    assert modes.mode_of({"jobId": "j"}) is None
    assert modes.mode_of(["not", "an", "event"]) is None


def test_the_reduce_merges_in_rounds_when_indexes_exceed_the_fan_in(s3):
    batches = [
        large.validate_batch(
            [_item(2 * i, f"id-{i}"), _item(2 * i + 1, f"id-{i % 3}")], schema=SCHEMA
        )
        for i in range(7)
    ]
    keys = []
    for batch in batches:
        key = f"validated/j/ids/{batch.part}.jsonl"
        s3.put_object(Bucket=BUCKET, Key=key, Body=batch.ids)
        keys.append(key)
    summaries = [b.summary() for b in batches]
    in_rounds = large.reduce_id_indexes(
        s3, BUCKET, summaries, keys, unique="transaction_id", fan_in=2
    )
    at_once = large.reduce_id_indexes(s3, BUCKET, summaries, keys, unique="transaction_id")
    assert in_rounds.duplicates == at_once.duplicates
    assert in_rounds.totals == at_once.totals
    # ids 0, 1, 2 reappear: within batches 0-2 (caught there) and as second rows of 3-6
    assert sum(len(v) for v in at_once.duplicates.values()) == 4


def test_a_batch_file_problem_fails_the_reduce_with_its_code(s3, store):
    job = put_source(s3, store, "raw/big.csv", b"transaction_id\n1\n")
    prefixes = large.JobPrefixes(job["jobId"])
    summary = {
        "part": "part-000000000001",
        "rows": {"input": 1, "valid": 0, "rejected": 0},
        "error": [codes.MALFORMED_CSV, "a quote is not closed"],
        "header": [],
        "extraColumns": [],
    }
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{prefixes.batches}part-000000000001.json",
        Body=json.dumps(summary).encode(),
    )
    event = {
        "mode": "reduce",
        "jobId": job["jobId"],
        "bucket": BUCKET,
        "key": "raw/big.csv",
        "fileName": "raw/big.csv",
    }
    store.start_step(job["jobId"], "raw/big.csv", "validate")
    result = large_steps.reduce_validation(
        event, store=store, s3=s3, schema=SCHEMA, max_reject_rate=large_steps.Decimal("0.05")
    )
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == codes.MALFORMED_CSV


def test_parts_of_a_failed_job_do_nothing(s3, store):
    job = put_source(s3, store, "raw/big.csv", b"transaction_id\n1\n")
    store.fail(job["jobId"], "raw/big.csv", step="validate", code="X", message="failed")
    event = {
        "mode": "part",
        "jobId": job["jobId"],
        "bucket": BUCKET,
        "key": "raw/big.csv",
        "fileName": "raw/big.csv",
        "partKey": f"validated/{job['jobId']}/parts/part-1.csv",
    }
    with pytest.raises(Exception, match="FAILED; part not run"):
        large_steps.transform_part(event, store=store, s3=s3, schema=SCHEMA, output_format="jsonl")
