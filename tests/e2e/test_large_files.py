"""Big files through the Distributed Map path, offline.

The example app is synthesized with a threshold of one byte and parts of 10 rows, so every
file takes the path: duplicates across parts, totals added up across parts, and the same
outcome as the single-function path on the same bytes, for every file of the hostile-input
corpus. No execution state holds a row: every task's input and output is scanned for the
card numbers of the files. moto runs the maps as AWS does (object listings, one child per
part); it cannot prove the tolerated-failure percentage, which is always 0 locally.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from etl_handlers.core.schema import load_schema
from etl_handlers.engines.selector import validate_stream

from etl_constructs.local import CloudAssembly, LocalPipeline
from etl_constructs.local.lambdas import FunctionFailed
from tests.conftest import build_example_app

pytestmark = pytest.mark.xdist_group("example-app")
DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
BATCH_ROWS = 10


@contextlib.contextmanager
def recording_pipeline(outdir: Path, *, batch_rows: int) -> Iterator[LocalPipeline]:
    """The example app with every non-empty file on the big-file path, in parts of
    ``batch_rows``; each invocation's function, event and answer are kept, as JSON, in
    ``pipeline.invocations``: the input and output of every task, in a map's children too."""
    app, _ = build_example_app(
        outdir,
        environmentSuffix="big",
        largeFileThresholdBytes="1",
        largeFileBatchRows=str(batch_rows),
    )
    assembly = app.synth()
    with LocalPipeline(CloudAssembly.load(Path(assembly.directory)), time_scale=0.05) as local:
        local.invocations = []
        invoke = local.functions.invoke

        def recording(function, event):
            answer = None
            try:
                answer = invoke(function, event)
            except FunctionFailed as failed:
                answer = failed.payload
                raise
            finally:
                local.invocations.append(json.dumps([function.name, event, answer], default=str))
            return answer

        local.functions.invoke = recording
        yield local


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with recording_pipeline(
        tmp_path_factory.mktemp("cdk.out.large"), batch_rows=BATCH_ROWS
    ) as local:
        yield local


def _run(pipeline, name: str, body: bytes) -> dict:
    path_key = f"raw/large/{name}"
    response = pipeline.s3.put_object(Bucket=pipeline.bucket, Key=path_key, Body=body)
    obj = (path_key, response["VersionId"])
    job = pipeline.wait([obj], timeout=120)[obj]
    assert job is not None
    return job


def _read_lines(pipeline, prefix: str) -> list[dict]:
    lines = []
    for key in sorted(pipeline._keys(prefix)):
        body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read()
        lines += [json.loads(line) for line in body.splitlines()]
    return lines


def _reference(body: bytes):
    """What the single-function core finds in the same bytes."""
    rejects = io.BytesIO()
    result = validate_stream(io.BytesIO(body), io.BytesIO(), rejects, schema=load_schema(None))
    codes = sorted(
        (json.loads(line)["row"], json.loads(line)["code"])
        for line in rejects.getvalue().splitlines()
    )
    return result, codes


def test_a_big_file_is_validated_in_batches_with_the_same_outcome(pipeline):
    body = (DATA / "transactions-with-rejects.csv").read_bytes()
    assert len(body) > 1000
    job = _run(pipeline, "rejects.csv", body)
    reference, reference_rejects = _reference(body)
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert job["rows"]["input"] == reference.rows_input == 80
    assert job["rows"]["valid"] == reference.rows_valid == 77
    assert job["rows"]["rejected"] == 3
    assert job["rows"]["transformed"] == job["rows"]["enriched"] == 77
    assert job["totals"]["validate"] == reference.totals.to_json()
    assert job["totals"]["validate"] == job["totals"]["transform"] == job["totals"]["enrich"]
    assert job["outputs"]["enriched"] == f"enriched/{job['jobId']}/parts/"
    # row 20 repeats row 1's id from another batch: found by the reduce, rejected by its part
    rejects = _read_lines(pipeline, job["outputs"]["rejected"])
    assert sorted((r["row"], r["code"]) for r in rejects) == reference_rejects
    assert (20, "DUPLICATE_ID") in reference_rejects
    enriched = _read_lines(pipeline, job["outputs"]["enriched"])
    assert len(enriched) == 77
    assert len({r["transaction_id"] for r in enriched}) == 77
    assert {r["job_id"] for r in enriched} == {job["jobId"]}
    parts = list(pipeline._keys(f"validated/{job['jobId']}/parts/"))
    assert len(parts) == 8  # 80 rows in batches of 10


def _curated(pipeline, keys: list[str]):
    import pyarrow.parquet as pq

    return [
        pq.read_table(
            io.BytesIO(pipeline.s3.get_object(Bucket=pipeline.bucket, Key=k)["Body"].read())
        )
        for k in keys
    ]


def test_a_big_files_curated_parts_are_published_only_when_it_succeeds(pipeline):
    body = (DATA / "transactions-with-rejects.csv").read_bytes()
    job = _run(pipeline, "curated.csv", body)
    assert job["status"] == "SUCCEEDED", job.get("error")
    job_id = job["jobId"]
    curated = job["outputs"]["curated"]
    keys = curated["transactions"]
    assert keys and all(k.startswith("curated/transactions/transaction_date=") for k in keys)
    assert all(k.rsplit("/", 1)[1].startswith(f"{job_id}-part-") for k in keys)
    assert set(keys) <= set(pipeline._keys("curated/transactions/"))
    rows = [r for table in _curated(pipeline, keys) for r in table.to_pylist()]
    assert len(rows) == job["rows"]["valid"] == 77
    sums: dict[str, dict] = {}
    for row in rows:
        figures = sums.setdefault(row["currency"], {"count": 0, "debit": 0, "credit": 0})
        figures["count"] += 1
        figures[row["transaction_type"].lower()] += row["amount"]
    assert {
        currency: {
            "count": f["count"],
            "debit": f"{f['debit']:.2f}",
            "credit": f"{f['credit']:.2f}",
        }
        for currency, f in sums.items()
    } == job["totals"]["enrich"]
    rejects = [r for table in _curated(pipeline, curated["rejects"]) for r in table.to_pylist()]
    assert sorted((r["row_number"], r["code"]) for r in rejects) == _reference(body)[1]


def test_a_failed_big_file_publishes_no_curated_rows(pipeline):
    header, *rows = (DATA / "transactions-clean.csv").read_text().splitlines()
    # 60 rows, every third one with an unknown currency: far above the 5% reject rate
    lines = [header] + [
        row.replace(",USD,", ",XXX,") if index % 3 == 0 else row
        for index, row in enumerate((rows * 10)[:60])
    ]
    job = _run(pipeline, "failing-curated.csv", ("\n".join(lines) + "\n").encode())
    assert job["status"] == "FAILED"
    assert not [k for k in pipeline._keys("curated/") if job["jobId"] in k]


def test_a_big_file_with_a_broken_header_fails_at_preflight(pipeline):
    body = (DATA / "transactions-missing-column.csv").read_bytes() * 20
    job = _run(pipeline, "missing.csv", body)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "MISSING_COLUMN" and job["error"]["step"] == "validate"
    assert job["outputs"]["failed"] == f"failed/{job['jobId']}/missing.csv"
    assert not list(pipeline._keys(f"validated/{job['jobId']}/parts/"))


def test_too_many_rejects_across_batches_fail_the_file(pipeline):
    header, *rows = (DATA / "transactions-clean.csv").read_text().splitlines()
    lines = [header]
    for index in range(60):
        row = rows[index % len(rows)].split(",", 1)[1]
        # from row 31 on, every fourth row repeats the id of the row 30 before it, three
        # batches back: 8 duplicates in 60 rows, above the 5% reject rate
        source = index - 30 if index >= 30 and index % 4 == 3 else index
        ident = f"TX-{10_000 + source}"
        lines.append(f"{ident},{row}")
    job = _run(pipeline, "rate.csv", ("\n".join(lines) + "\n").encode())
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "REJECT_RATE_EXCEEDED"
    # nothing was published: the record keeps the rows read; the figures are in the message
    assert job["rows"] == {"read": 60} and "totals" not in job
    assert "8 of 60 rows rejected" in job["error"]["message"]


def test_parts_reject_what_the_whole_file_rejects_with_quoted_line_breaks(pipeline):
    """Rows with a wrong field count and merchants with quoted line breaks, across parts:
    each part is read by the whole-file parser, so no ragged row slips through."""
    header, *rows = (DATA / "transactions-with-rejects.csv").read_text().splitlines()
    lines = [header]
    for index in range(300):
        values = rows[index % len(rows)].split(",")
        values[0] = f"TX-{50_000 + index}"
        if index % 7 == 3:
            values[6] = '"Café du\nNord, ""Paris"""'
        line = ",".join(values)
        if index % 61 == 5:
            line += ",extra"  # one field too many
        lines.append(line)
    body = ("\r\n".join(lines) + "\r\n").encode()
    job = _run(pipeline, "ragged.csv", body)
    reference, reference_rejects = _reference(body)
    assert ("FIELD_COUNT" in {code for _, code in reference_rejects}) is True
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert job["rows"]["input"] == reference.rows_input == 300
    assert (job["rows"]["valid"], job["rows"]["rejected"]) == (
        reference.rows_valid,
        reference.rows_rejected,
    )
    assert job["totals"]["validate"] == reference.totals.to_json()
    rejects = _read_lines(pipeline, job["outputs"]["rejected"])
    assert sorted((r["row"], r["code"]) for r in rejects) == reference_rejects


def test_a_reprocessed_big_file_keeps_its_parts_apart_and_replaces_them(pipeline):
    """Attempt 2 of a big file lists and writes its parts under ``{job}/a2/`` only: the
    first attempt's plans and parts can neither feed it nor mix with its outputs; once it
    SUCCEEDED, the first attempt's are gone."""
    body = (DATA / "transactions-with-rejects.csv").read_bytes()
    first = _run(pipeline, "again.csv", body)
    assert first["status"] == "SUCCEEDED", first.get("error")
    job_id = first["jobId"]
    status, answer = pipeline.reprocess(job_id)
    assert status == 202 and answer["attempt"] == 2
    job = pipeline.wait_job(job_id, timeout=120)
    assert job["status"] == "SUCCEEDED", job.get("error")
    assert job["rows"] == first["rows"] and job["totals"] == first["totals"]
    assert job["outputs"]["enriched"] == f"enriched/{job_id}/a2/parts/"
    enriched = _read_lines(pipeline, job["outputs"]["enriched"])
    assert len(enriched) == 77 and len({r["transaction_id"] for r in enriched}) == 77
    assert len(list(pipeline._keys(f"validated/{job_id}/a2/parts/"))) == 8
    for prefix in ("validated/", "rejected/", "processed/", "enriched/"):
        left = list(pipeline._keys(f"{prefix}{job_id}/"))
        assert left and all(k.startswith(f"{prefix}{job_id}/a2/") for k in left), left
