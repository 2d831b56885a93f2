"""The big-file path's pieces: the plan, parts, the id merge across parts, the reduces."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from etl_handlers.app import large, large_steps, modes
from etl_handlers.core import codes
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.schema import load_schema
from etl_handlers.engines.selector import validate_stream
from hypothesis import given, settings
from hypothesis import strategies as st

from .handlers_testkit import BUCKET, Recorder, put_source

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


def _row(ident: str, amount: str = "10.00", **changes: str) -> str:
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
    return ",".join(values.values())


def _file(*rows: str, end: str = "\n") -> bytes:
    return end.join([",".join(HEADER), *rows, ""]).encode()


def _parts(data: bytes, rows_per_part: int) -> list[large.BatchResult]:
    """Plan ``data`` and validate each part from the header's bytes and its own."""
    plan = large.plan_parts(io.BytesIO(data), rows_per_part=rows_per_part, schema=SCHEMA)
    return [_validate_part(data, part) for part in plan.parts]


def _validate_part(data: bytes, part: large.PartPlan, schema=SCHEMA) -> large.BatchResult:
    return large.validate_part(
        lambda: io.BytesIO(data[: part.header_end] + data[part.start : part.end]),
        plan=part,
        schema=schema,
    )


def _index(result: large.BatchResult) -> list[list[Any]]:
    return [json.loads(line) for line in result.ids.splitlines()]


def test_a_part_numbers_its_rejects_as_rows_of_the_file_and_indexes_its_ids():
    data = _file(
        *(_row(f"f-{i}") for i in range(4)),
        _row("t-a", amount="-1"),  # rejected
        _row("t-c", amount="2.50"),
        _row("t-b"),
        "t-d,A",  # ragged
    )
    _, result = _parts(data, rows_per_part=4)
    assert result.part == "part-000000000005"  # the part's first row (1-based)
    assert (result.rows_input, result.rows_valid, result.rows_rejected) == (4, 2, 2)
    rejects = [json.loads(line) for line in result.rejects.splitlines()]
    assert [(r["row"], r["code"]) for r in rejects] == [
        (5, codes.INVALID_AMOUNT),
        (8, codes.FIELD_COUNT),
    ]
    assert rejects[0]["fields"]["card_number"] == "************1111"
    # sorted by id; positions are the rows' places in the part, rows the file's numbers; a
    # row rejected for a column after its id (t-a's amount) joins with position -1
    assert _index(result) == [
        ["t-a", 5, -1, "", False, 0],
        ["t-b", 7, 1, "USD", True, 1000],
        ["t-c", 6, 0, "USD", True, 250],
    ]
    assert result.summary()["rows"] == {"input": 4, "valid": 2, "rejected": 2}


def test_the_plan_cuts_at_record_ends_and_tiles_the_file():
    # a quoted line break in the merchant, CRLF, blank lines and a BOM: each part starts
    # right after a record, so the parser reads every part as it reads the whole file
    data = b"\xef\xbb\xbf" + _file(
        _row("a"),
        _row("b", merchant='"Caf\u00e9\r\nde Flore"'),
        "",
        _row("c"),
        "",
        _row("d"),
        end="\r\n",
    )
    plan = large.plan_parts(io.BytesIO(data), rows_per_part=2, schema=SCHEMA)
    assert [(p.first_row, p.rows) for p in plan.parts] == [(1, 2), (3, 2)]
    first, second = plan.parts
    assert data[: first.header_end].endswith(b"card_number\r\n")
    assert (first.start, first.end, second.start, second.end) == (
        first.header_end,
        second.start,
        first.end,
        len(data),
    )
    assert data[first.end : second.start] == b"" and data[second.start :].startswith(b"\r\nc,")
    results = [_validate_part(data, p) for p in plan.parts]
    assert [r.rows_valid for r in results] == [2, 2]
    assert "Caf\u00e9\r\nde Flore" in results[0].valid_csv.decode()


def test_a_file_rule_fails_the_plan_as_it_fails_a_whole_file():
    data = _file(_row("a"), _row("b"), 'c,"unterminated', _row("d"))
    whole = validate_stream(io.BytesIO(data), io.BytesIO(), io.BytesIO(), schema=SCHEMA)
    with pytest.raises(FileRejected) as rejected:
        large.plan_parts(io.BytesIO(data), rows_per_part=1, schema=SCHEMA)
    assert (rejected.value.code, rejected.value.message) == whole.error
    with pytest.raises(ConfigurationError):
        large.plan_parts(io.BytesIO(data), rows_per_part=0, schema=SCHEMA)


def test_a_part_whose_rows_differ_from_its_plan_is_a_fault():
    data = _file(_row("a"), _row("b"))
    (part,) = large.plan_parts(io.BytesIO(data), rows_per_part=5, schema=SCHEMA).parts
    grown = data[: part.header_end] + data[part.start : part.end] + _row("c").encode()
    with pytest.raises(ValueError, match="holds 3 rows where its plan counted 2"):
        large.validate_part(lambda: io.BytesIO(grown), plan=part, schema=SCHEMA)


def test_the_merge_keeps_the_first_row_of_each_id_across_parts():
    first, second = _parts(
        _file(_row("x"), _row("y", amount="1.00"), _row("y", amount="5.00"), _row("z")),
        rows_per_part=2,
    )
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
    (batch,) = _parts(_file(_row("a"), _row("b"), _row("c")), rows_per_part=3)
    sink = io.BytesIO()
    result, rejects, _ = large.transform_part(
        batch.valid_csv,
        [[1, 2]],
        schema=SCHEMA,
        file_columns=HEADER,
        output_format="jsonl",
        sink=sink,
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
    with pytest.raises(ConfigurationError, match="at most one column may be unique"):
        load_schema(json.dumps(document))
    # a Schema built past the validator still fails loudly on the big-file path
    columns = tuple(replace(column, unique=True) for column in SCHEMA.columns[:2])
    with pytest.raises(ConfigurationError, match="one column"):
        large.unique_column(replace(SCHEMA, columns=columns + SCHEMA.columns[2:]))


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
    assert modes.mode_of({"mode": "batch", "jobId": "j", "planKey": "k"}) == modes.BATCH
    assert modes.mode_of({"Items": [], "BatchInput": {"jobId": "j"}}) is None
    assert modes.mode_of({"mode": "reduce", "jobId": "j"}) == modes.REDUCE
    assert modes.mode_of({"jobId": "j"}) is None
    assert modes.mode_of(["not", "an", "event"]) is None


def test_the_reduce_merges_in_rounds_when_indexes_exceed_the_fan_in(s3):
    batches = _parts(
        _file(*(_row(f"id-{i // 2}" if i % 2 == 0 else f"id-{i // 2 % 3}") for i in range(14))),
        rows_per_part=2,
    )
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


# -- the parts of a file find what the whole file finds ---------------------------------------

_LINES = [
    _row("a"),
    _row("b", amount="2.50"),
    _row("a", amount="7.00"),  # a's id again: a duplicate wherever it lands
    _row("a", amount="-1"),  # a duplicate before its amount is looked at
    _row("4111111111111111", account_id="5555555555554444"),  # ids a person reads as cards
    _row("c", currency="EUR", transaction_type="CREDIT"),
    _row("d", amount="-1"),  # INVALID_AMOUNT
    _row("e", merchant='"Caf\u00e9 ""Le Nord""\nParis"'),  # a quoted line break
    _row("f", merchant='"two\r\nlines"'),
    _row("g", merchant="  padded  "),
    _row("h", card_number="4111111111111112"),  # not Luhn-valid
    _row("i", merchant="M\u00fcller \u65e5\u672c"),
    _row("j", merchant="nul\x00here"),
    "k,ACC1",  # FIELD_COUNT
    "",  # a blank line: no record
    "   ",  # a record of one field; at the file's end, no record
    "\t\x1a",  # the same with a tab and a DOS end-of-file mark
]


@given(
    lines=st.lists(st.sampled_from(_LINES), max_size=25),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
    last_end=st.booleans(),
    broken=st.sampled_from([None, 'z,"open', 'y,x"y"z,1']),
    rows_per_part=st.integers(1, 6),
)
@settings(max_examples=300, deadline=None)
def test_parts_find_the_rows_rejects_and_totals_of_the_whole_file(
    lines, end, bom, last_end, broken, rows_per_part
):
    body = [",".join(HEADER), *lines] + ([broken] if broken else [])
    data = (b"\xef\xbb\xbf" if bom else b"") + (end.join(body) + (end if last_end else "")).encode()
    whole_rejects = io.BytesIO()
    whole = validate_stream(
        io.BytesIO(data), io.BytesIO(), whole_rejects, schema=SCHEMA, max_reject_rate=Decimal(1)
    )
    try:
        parts = _parts(data, rows_per_part)
    except FileRejected as rejected:  # a file rule: the same one, with the same words
        assert whole.outcome == "INVALID" and whole.error == (rejected.code, rejected.message)
        return
    assert whole.outcome == "VALID", whole.error
    assert all(p.error is None for p in parts)
    reduced = large.reduce_validation(
        [p.summary() for p in parts],
        [large.index_entries(p.part, p.ids.splitlines()) for p in parts],
        unique="transaction_id",
    )
    assert (reduced.rows_input, reduced.rows_valid, reduced.rows_rejected) == (
        whole.rows_input,
        whole.rows_valid,
        whole.rows_rejected,
    )
    assert reduced.totals == whole.totals
    found = sorted(_part_rejects(parts, reduced), key=lambda r: r["row"])
    expected = [json.loads(line) for line in whole_rejects.getvalue().splitlines()]
    assert found == expected  # whole records: codes, columns, messages, masked fields


def _part_rejects(parts, reduced) -> list[dict]:
    """Every reject line of the big-file path: each part's own (recoded where the reduce
    found a duplicate) and its transform's duplicates."""
    found = []
    for part in parts:
        entries = reduced.duplicates.get(part.part, [])
        recoded = [row for position, row in entries if position == large.LATE_REJECT]
        own = large.recode_duplicates(part.rejects, recoded, schema=SCHEMA)
        _, dropped, _ = large.transform_part(
            part.valid_csv,
            entries,
            schema=SCHEMA,
            file_columns=part.header,
            output_format="jsonl",
            sink=io.BytesIO(),
        )
        found += [json.loads(line) for line in (own + dropped).splitlines()]
    return found


def test_a_later_part_repeating_an_id_is_a_duplicate_before_its_bad_amount():
    data = _file(_row("x"), _row("x", amount="0"))
    parts = _parts(data, rows_per_part=1)
    reduced = large.reduce_validation(
        [p.summary() for p in parts],
        [large.index_entries(p.part, p.ids.splitlines()) for p in parts],
        unique="transaction_id",
    )
    assert (reduced.rows_valid, reduced.rows_rejected) == (1, 1)
    (reject,) = _part_rejects(parts, reduced)
    assert (reject["row"], reject["code"], reject["column"]) == (
        2,
        "DUPLICATE_ID",
        "transaction_id",
    )


def test_empty_values_of_an_optional_unique_column_are_no_duplicates():
    # the schema rules refuse an optional unique column; a Schema built past them still
    # treats empty values as no duplicates
    small = load_schema(SCHEMA_DOC)
    columns = (replace(small.columns[0], required=False), *small.columns[1:])
    schema = replace(small, columns=columns)
    data = (
        b"transaction_id,account_id,amount,currency,transaction_type\n"
        b",A,1.00,USD,DEBIT\n,A,2.00,USD,DEBIT\n"
    )
    plan = large.plan_parts(io.BytesIO(data), rows_per_part=1, schema=schema)
    parts = [_validate_part(data, part, schema) for part in plan.parts]
    reduced = large.reduce_validation(
        [p.summary() for p in parts],
        [large.index_entries(p.part, p.ids.splitlines()) for p in parts],
        unique="transaction_id",
    )
    whole = validate_stream(io.BytesIO(data), io.BytesIO(), io.BytesIO(), schema=schema)
    assert (reduced.rows_valid, reduced.rows_rejected) == (whole.rows_valid, 0) == (2, 0)


def test_a_file_rule_reports_the_rows_read_before_it_as_a_whole_file_does():
    data = _file(*(_row(f"r{i}") for i in range(5)), 'x,"open')
    whole = validate_stream(io.BytesIO(data), io.BytesIO(), io.BytesIO(), schema=SCHEMA)
    with pytest.raises(large.PlanRejected) as rejected:
        large.plan_parts(io.BytesIO(data), rows_per_part=2, schema=SCHEMA)
    assert rejected.value.rows_read == whole.rows_input == 5
    assert (rejected.value.code, rejected.value.message) == whole.error


def test_the_preflight_records_header_names_scrubbed(s3, store):
    body = (",".join([*HEADER, "note 4111111111111111"]) + "\n" + _row("a") + ",x\n").encode()
    job = put_source(s3, store, "raw/big.csv", body)
    event = {
        "mode": "preflight",
        "rowsPerPart": 10,
        "jobId": job["jobId"],
        "bucket": BUCKET,
        "key": "raw/big.csv",
        "fileName": "raw/big.csv",
    }
    result = large_steps.preflight(event, store=store, s3=s3, schema=SCHEMA)
    assert result["outcome"] == "VALID"
    record = store.require(job["jobId"])
    assert record["extraColumns"] == ["note ************1111"]


def _keys_under(s3, prefix: str) -> list[str]:
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in found)


def _through_parts(
    job: dict[str, Any], *, rows_per_part: int, curated: bool = False, **kw: Any
) -> dict[str, Any]:
    """``job``'s file through every step of the big-file path, in parts of
    ``rows_per_part`` rows, as the state machine runs them; the last reduce's result."""
    s3, store = kw["s3"], kw["store"]
    prefixes = large.JobPrefixes(job["jobId"])
    preflight = {**job, "mode": "preflight", "rowsPerPart": rows_per_part}
    assert large_steps.preflight(preflight, store=store, s3=s3, schema=SCHEMA)["outcome"] == "VALID"
    for plan in _keys_under(s3, prefixes.plan):
        large_steps.validate_batch(
            {**job, "mode": "batch", "planKey": plan},
            s3=s3,
            schema=SCHEMA,
            metrics=kw.get("metrics"),
            log=kw.get("log"),
        )
    reduced = large_steps.reduce_validation(
        {**job, "mode": "reduce"}, schema=SCHEMA, max_reject_rate=Decimal("0.05"), **kw
    )
    assert reduced["outcome"] == "VALID"
    for part_key in _keys_under(s3, prefixes.parts):
        part = {**job, "mode": "part", "partKey": part_key}
        transformed = large_steps.transform_part(part, schema=SCHEMA, output_format="jsonl", **kw)
        large_steps.enrich_part(
            {**part, "part": transformed},
            schema=SCHEMA,
            output_format="jsonl",
            pipeline_version="test",
            curated=curated,
            **kw,
        )
    return large_steps.reduce_enrich({**job, "mode": "reduce"}, curated=curated, **kw)


def test_a_part_s_curated_files_come_from_its_enrich_pass_not_a_second_read(s3, store):
    """With the curated dataset on, each part's Parquet is built from the values its enrich
    step hands over while it writes them (as a small file's is): no enriched part is read
    back, and the published rows are the file's valid rows, typed, in file order per day."""
    rows = [
        _row(f"t{i}", f"{i}.{i % 10}0", timestamp=f"2024-01-0{1 + i % 3}T10:00:00Z")
        for i in range(1, 40)
    ]
    rows.insert(4, _row("bad", "1.234"))  # a reject: AMOUNT_PRECISION
    job = put_source(s3, store, "raw/big.csv", _file(*rows))
    enriched_parts = large.JobPrefixes(job["jobId"]).enriched()
    enriched_reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith(enriched_parts):
            enriched_reads.append(params["Key"])

    s3.meta.events.register("before-parameter-build.s3.GetObject", record)
    result = _through_parts(job, rows_per_part=3, curated=True, store=store, s3=s3)
    assert result["outcome"] == "VALID"
    assert enriched_reads == []
    import pyarrow.parquet as pq

    curated = result["outputs"]["curated"]
    tables = [
        pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
        for key in curated["transactions"]
    ]
    got = [
        (r["transaction_id"], str(r["amount"]), r["timestamp"].day)
        for t in tables
        for r in t.to_pylist()
    ]
    want = sorted(
        ((f"t{i}", f"{i}.{i % 10}000", 1 + i % 3) for i in range(1, 40)), key=lambda r: r[2]
    )
    assert got == want
    assert {r["card_number"] for t in tables for r in t.to_pylist()} == {"************1111"}
    rejects = pq.read_table(
        io.BytesIO(s3.get_object(Bucket=BUCKET, Key=curated["rejects"][0])["Body"].read())
    ).to_pylist()
    assert [(r["row_number"], r["code"]) for r in rejects] == [(5, "AMOUNT_PRECISION")]


def test_each_part_logs_its_engine_report_and_counts_rows_on_the_reference_path(s3, store):
    """A big file's parts report what their engine did as a single file's steps do: one
    ``engine report`` line per part and step (no value of the file), and the rows handed to
    the reference published as ``RowsOnReferencePath``."""
    body = _file(_row("a"), _row("b", merchant='"Shop\rSecret 4111111111111111"'), _row("c"))
    job = put_source(s3, store, "raw/big.csv", body)
    metrics = Recorder()
    logged: list[tuple[str, dict[str, Any]]] = []

    def log(message: str, **fields: Any) -> None:
        logged.append((message, fields))

    kw = {"store": store, "s3": s3, "metrics": metrics, "log": log}
    assert _through_parts(job, rows_per_part=2, **kw)["outcome"] == "VALID"

    reports = {
        (fields["step"], fields["part"]): fields
        for message, fields in logged
        if message == "engine report"
    }
    first, second = large.part_name(1), large.part_name(3)
    assert sorted(reports) == sorted(
        (step, part) for step in ("validate", "transform", "enrich") for part in (first, second)
    )
    assert all(fields["job_id"] == job["jobId"] for fields in reports.values())
    assert reports["validate", first]["reasons"] == {"bare CR": {"rows": 1, "chunks": 1}}
    assert reports["validate", first]["rows"] == {"columnar": 1, "reference": 1}
    assert reports["transform", first]["rows"]["reference"] == 1
    assert reports["validate", second]["rows"] == {"columnar": 1, "reference": 0}
    assert reports["enrich", first]["rows"] == {"columnar": 2, "reference": 0}
    assert metrics.metrics["RowsOnReferencePath"] == 2  # validate's row and transform's
    assert metrics.metrics["FilesSucceeded"] == 1
    assert "4111111111111111" not in json.dumps(logged) and "Secret" not in json.dumps(logged)


def test_a_part_s_validated_rows_are_the_rows_the_file_kept_and_a_retried_transform_agrees(
    s3, store
):
    """The part's transform takes the rows the reduce rejected (here an id an earlier part
    accepted) out of ``validated/{job}/parts/`` too, as a whole file's validated object
    lacks them; a retry of that transform (Lambda retries) reads the narrowed part and
    writes the same processed rows and reject lines again."""
    body = _file(_row("a"), _row("b"), _row("a", amount="7.00"), _row("c"), _row("d"))
    job = put_source(s3, store, "raw/big.csv", body)
    prefixes = large.JobPrefixes(job["jobId"])
    kw = {"store": store, "s3": s3}
    large_steps.preflight(
        {**job, "mode": "preflight", "rowsPerPart": 2}, store=store, s3=s3, schema=SCHEMA
    )
    for plan in _keys_under(s3, prefixes.plan):
        large_steps.validate_batch({**job, "mode": "batch", "planKey": plan}, s3=s3, schema=SCHEMA)
    reduced = large_steps.reduce_validation(
        {**job, "mode": "reduce"}, schema=SCHEMA, max_reject_rate=Decimal("0.5"), **kw
    )
    assert reduced["outcome"] == "VALID"
    second = f"{prefixes.parts}{large.part_name(3)}.csv"  # rows 3 and 4: a again, then c

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    outputs = []
    for _ in range(2):  # the transform, then its retry
        part = {**job, "mode": "part", "partKey": second}
        transformed = large_steps.transform_part(part, schema=SCHEMA, output_format="jsonl", **kw)
        outputs.append(
            (
                transformed["rows"],
                read(transformed["processedKey"]),
                read(f"{prefixes.rejected}{large.part_name(3)}.duplicates.jsonl"),
                read(second),
            )
        )
    assert outputs[0] == outputs[1]
    rows, processed, rejects, validated = outputs[0]
    assert rows == 1 and b'"c"' in processed and b'"a"' not in processed
    assert [json.loads(line)["row"] for line in rejects.splitlines()] == [3]
    kept = list(csv.reader(io.StringIO(validated.decode())))
    assert [r[0] for r in kept[1:]] == ["c"]


def test_a_header_repeated_in_a_part_fails_the_big_file_as_it_fails_a_whole_file(s3, store):
    """Two exports joined into one big file: the part holding the second header fails,
    and the reduce fails the file with the code and row the whole-file path names."""
    rows = [_row(f"a{i}") for i in range(6)]
    data = _file(*rows, ",".join(reversed(HEADER)), *[_row(f"b{i}") for i in range(6)])
    job = put_source(s3, store, "raw/big.csv", data)
    prefixes = large.JobPrefixes(job["jobId"])
    preflight = {**job, "mode": "preflight", "rowsPerPart": 3}
    assert large_steps.preflight(preflight, store=store, s3=s3, schema=SCHEMA)["outcome"] == "VALID"
    for plan in _keys_under(s3, prefixes.plan):
        large_steps.validate_batch({**job, "mode": "batch", "planKey": plan}, s3=s3, schema=SCHEMA)
    result = large_steps.reduce_validation(
        {**job, "mode": "reduce"}, store=store, s3=s3, schema=SCHEMA, max_reject_rate=Decimal(1)
    )
    whole = validate_stream(
        io.BytesIO(data), io.BytesIO(), io.BytesIO(), schema=SCHEMA, max_reject_rate=Decimal(1)
    )
    assert whole.error == (codes.MALFORMED_CSV, whole.error[1])
    assert "row 7 repeats the header" in whole.error[1]
    assert result["outcome"] == "INVALID"
    assert [result["error"]["code"], result["error"]["message"]] == list(whole.error)
