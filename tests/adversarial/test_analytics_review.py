"""Adversarial review of the analytics outputs: the curated Parquet, the saved queries,
``etl-pipeline query`` and the OpenLineage events, through the entry points a user runs
(an offline pipeline, the CLI, the emitter the steps call). Each test asserts what a user
relies on and is xfail(strict) until the bug it names is fixed."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from etl_handlers.app import lineage as emitter

from etl_constructs import LargeFiles
from etl_constructs.lineage import LineagePolicy
from etl_constructs.local import cli, query
from etl_constructs.schema import TransactionSchema
from tests.adversarial.kit import PAN, csv, pipeline, read, run

pytestmark = pytest.mark.xdist_group("adversarial-analytics")

ROOT = Path(__file__).resolve().parents[2]


def line(ident: str, *, at: str = "2026-11-19T10:00:00Z", amount: str = "10.00", kind="DEBIT"):
    return f"{ident},ACC1,{at},{amount},EUR,{kind},Shop,food,{PAN},DE"


def lower_case_direction_schema() -> TransactionSchema:
    """The default schema with its direction values written in lower case, as the schema
    rules allow (values and totals.debit/credit are compared ignoring case)."""
    document = copy.deepcopy(TransactionSchema.default().to_document())
    for column in document["columns"]:
        if column["name"] == "transaction_type":
            column["values"] = ["debit", "credit"]
    document["totals"].update(debit="debit", credit="credit")
    schema = TransactionSchema.from_document(document)
    assert schema.problems() == []
    return schema


FILES = {
    # every row rejected: the run's curated dataset is a rejects file only
    "all-rejected.csv": csv(line("r1", amount="abc"), line("r2", amount="1,00")),
    # valid timestamps (years 1..9999 pass validation) outside nanosecond range
    "far-dates.csv": csv(
        line("f1", at="2300-01-01T00:00:00Z"),
        line("f2", at="1600-06-01T12:00:00Z"),
        line("f3", at="2026-11-18T10:00:00Z"),
    ),
    # nine fractional digits before 1970
    "pre-epoch.csv": csv(
        line("p1", at="1969-12-31T23:59:59.999999999Z"),
        line("p2", at="1969-12-31T23:59:59.123456789Z"),
    ),
    # debits and credits whose direction the sender wrote in mixed case
    "directions.csv": csv(
        line("d1", amount="10.00", kind="debit"),
        line("d2", amount="5.00", kind="CREDIT"),
        line("d3", amount="1.00", kind="Debit"),
    ),
}


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict[str, Any]:
    """One offline pipeline with the curated dataset and lineage on; each file's job, the
    curated rows by key, and the export of the all-rejected run alone (its DIR, as
    ``etl-pipeline run all-rejected.csv --out DIR`` leaves it)."""
    jobs: dict[str, dict] = {}
    rows: dict[str, list[dict]] = {}
    rejected_only = tmp_path_factory.mktemp("etl-out-rejected")
    everything = tmp_path_factory.mktemp("etl-out-all")
    with pipeline(
        tmp_path_factory.mktemp("cdk.out.analytics"),
        "rvanalytics",
        curated_dataset=True,
        lineage=LineagePolicy(),
        large_files=LargeFiles.off(),
        max_reject_rate=1.0,
        schema=lower_case_direction_schema(),
    ) as local:
        for name, body in FILES.items():
            jobs[name] = run(local, name, body)
            if name == "all-rejected.csv":
                local.export(rejected_only)
            for keys in ((jobs[name].get("outputs") or {}).get("curated") or {}).values():
                for key in keys:
                    rows[key] = pq.read_table(io.BytesIO(read(local, key))).to_pylist()
        local.export(everything)
    return {"jobs": jobs, "rows": rows, "rejected_only": rejected_only, "out": everything}


def _curated_rows(story: dict[str, Any], name: str) -> dict[str, dict]:
    """The job's curated transactions by id, each with its partition value."""
    job = story["jobs"][name]
    found = {}
    for key in job["outputs"]["curated"]["transactions"]:
        day = key.split("transaction_date=")[1].split("/")[0]
        for record in story["rows"][key]:
            found[record["transaction_id"]] = {**record, "transaction_date": day}
    return found


# -- the curated Parquet ----------------------------------------------------------------------


def test_a_valid_timestamp_outside_the_nanosecond_range_is_curated_not_a_failed_job(story):
    job = story["jobs"]["far-dates.csv"]
    assert job["status"] == "SUCCEEDED", job.get("error")
    curated = _curated_rows(story, "far-dates.csv")
    assert curated["f1"]["timestamp"] == datetime(2300, 1, 1, tzinfo=UTC)
    assert curated["f1"]["transaction_date"] == "2300-01-01"
    assert curated["f2"]["timestamp"] == datetime(1600, 6, 1, 12, tzinfo=UTC)


def test_a_pre_1970_fraction_is_cut_to_microseconds_never_rounded_into_another_day(story):
    job = story["jobs"]["pre-epoch.csv"]
    assert job["status"] == "SUCCEEDED", job.get("error")
    curated = _curated_rows(story, "pre-epoch.csv")
    # docs: "a longer fraction is cut, never rounded" (and the partition is that day's)
    assert curated["p1"]["transaction_date"] == "1969-12-31"
    assert curated["p1"]["timestamp"] == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert curated["p2"]["timestamp"] == datetime(1969, 12, 31, 23, 59, 59, 123456, tzinfo=UTC)


# -- saved queries and `etl-pipeline query` ---------------------------------------------------


def test_daily_control_totals_equal_the_job_s_totals_with_lower_case_direction_values(story):
    job = story["jobs"]["directions.csv"]
    assert job["status"] == "SUCCEEDED", job.get("error")
    document = lower_case_direction_schema().to_document(descriptions=False)
    sql = query.saved_query("daily-control-totals", document)
    result = query.run_query(story["out"], sql)
    # 2026-11-19 holds directions.csv's rows alone
    (day,) = [r for r in result.records() if r["transaction_date"] == "2026-11-19"]
    expected = job["totals"]["enrich"]["EUR"]
    assert (day["row_count"], day["debit"], day["credit"]) == (
        expected["count"],
        Decimal(expected["debit"]),
        Decimal(expected["credit"]),
    )


def test_a_query_of_transactions_after_a_run_that_rejected_every_row_counts_zero(story):
    job = story["jobs"]["all-rejected.csv"]
    assert (job["status"], job["rows"]["valid"], job["rows"]["rejected"]) == ("SUCCEEDED", 0, 2)
    out = story["rejected_only"]
    assert query.run_query(out, "SELECT count(*) AS n FROM rejects").rows == [(2,)]
    assert query.run_query(out, "SELECT count(*) AS n FROM transactions").rows == [(0,)]


def test_the_offline_query_reads_timestamps_in_utc_whatever_the_machine_s_zone(story):
    # 2026-11-19T10:00Z (directions.csv) is 19:00 in Tokyo; 1969-12-31T23:59:59Z is the
    # next day there. Athena reads the `timestamp` column as UTC.
    sql = (
        'SELECT transaction_id, "timestamp", CAST("timestamp" AS DATE) AS day, '
        "transaction_date FROM transactions WHERE transaction_id IN ('d1', 'p2') "
        "ORDER BY transaction_id"
    )
    program = (
        "import sys; from etl_constructs.local import cli; raise SystemExit(cli.main(sys.argv[1:]))"
    )
    env = {**os.environ, "TZ": "Asia/Tokyo"}
    done = subprocess.run(
        [sys.executable, "-c", program, "query", sql, "--json", "--out", str(story["out"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = {r["transaction_id"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert records["d1"]["timestamp"] == "2026-11-19T10:00:00+00:00"
    for record in records.values():
        assert record["day"] == record["transaction_date"], record


# -- `etl-pipeline reprocess` then `etl-pipeline query` ---------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(list(args))
    return code, stdout.getvalue()


@pytest.fixture(scope="module")
def reprocessed(tmp_path_factory, story) -> tuple[Path, dict, dict]:
    """``etl-pipeline run`` of one file with the default app (curated on), then
    ``etl-pipeline reprocess`` of its job (``story`` first: one pipeline at a time)."""
    folder = tmp_path_factory.mktemp("files")
    source = folder / "monday.csv"
    source.write_bytes(csv(line("m1"), line("m2", amount="2.50", kind="CREDIT")))
    out = tmp_path_factory.mktemp("etl-out-reprocess")
    project = tmp_path_factory.mktemp("project")  # no cdk.json: the default pipeline
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        code, text = _cli("run", str(source), "--out", str(out), "--json")
        assert code == cli.EXIT_OK, text
        first = json.loads(text)
        code, text = _cli("reprocess", first["job_id"], "--out", str(out), "--json")
        assert code == cli.EXIT_OK, text
    return out, first, json.loads(text)


def test_after_a_reprocess_the_exported_curated_files_are_the_new_attempt_s(reprocessed):
    out, first, answer = reprocessed
    assert answer["status"] == "SUCCEEDED" and answer["attempt"] == 2
    named = answer["outputs"]["curated"]["transactions"]
    assert named and all(key.endswith("-a2.parquet") for key in named)
    exported = sorted(str(p.relative_to(out)) for p in (out / "curated").rglob("*.parquet"))
    assert exported == sorted(named)  # as in the bucket: attempt 1's file went
    assert not any(Path(path).exists() for path in first["outputs"]["curated"])
    rows = query.run_query(out, "SELECT processed_at FROM transactions").rows
    assert len(rows) == 2


# -- lineage endpoint -------------------------------------------------------------------------


class _Bucket:
    """The bucket copy of an event: accepted (S3 is not what these tests are about)."""

    def put_object(self, **_: Any) -> None:
        return None


class _Secrets:
    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": "key-7f3a9c"}


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def elsewhere() -> Iterator[tuple[ThreadingHTTPServer, list]]:
    """Another host (``localhost`` vs the endpoint's ``127.0.0.1``) that records requests."""
    seen: list[tuple[str, str | None]] = []

    class Record(_Quiet):
        def do_GET(self) -> None:
            seen.append((self.command, self.headers.get("Authorization")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    for server in _serve(Record):
        yield server, seen


@pytest.fixture
def redirecting(elsewhere) -> Iterator[str]:
    """A lineage endpoint that answers every POST with a 302 to the other host."""
    target, _ = elsewhere

    class Redirect(_Quiet):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{target.server_port}/collect")
            self.send_header("Content-Length", "0")
            self.end_headers()

    for server in _serve(Redirect):
        yield f"http://127.0.0.1:{server.server_port}/api/v1/lineage"


JOB = {
    "jobId": "a" * 32,
    "fileName": "raw/monday.csv",
    "bucket": "data",
    "status": "SUCCEEDED",
    "rows": {"input": 1, "valid": 1, "rejected": 0},
}


def _emit(endpoint: str, *, secret: str | None = None, logged: list | None = None) -> str:
    settings = emitter.LineageSettings(namespace="ns", endpoint=endpoint, api_key_secret=secret)
    metrics = type("Metrics", (), {"add_metric": lambda *a, **k: None})()
    return emitter.emit(
        "COMPLETE",
        JOB,
        s3=_Bucket(),
        settings=settings,
        secrets=_Secrets(),
        metrics=metrics,
        log=lambda message, **fields: (logged if logged is not None else []).append(message),
    )


def test_the_lineage_api_key_never_follows_a_redirect_to_another_host(redirecting, elsewhere):
    _, seen = elsewhere
    _emit(redirecting, secret="arn:aws:secretsmanager:us-east-1:1:secret:lineage")
    assert [authorization for _, authorization in seen if authorization] == []


def test_an_endpoint_that_redirects_is_not_counted_as_delivered(redirecting, elsewhere):
    _, seen = elsewhere
    logged: list[str] = []
    outcome = _emit(redirecting, logged=logged)
    assert seen == []  # the redirect is not followed: nothing goes to its host
    assert outcome == emitter.FAILED
    assert "lineage event not emitted" in logged


@pytest.fixture
def trickling() -> Iterator[str]:
    """An endpoint that answers a header line every 0.3 s: never idle for a timeout."""

    class Trickle(_Quiet):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(10):
                self.wfile.flush()
                time.sleep(0.3)
                self.wfile.write(b"X-Pad: a\r\n")
            self.wfile.write(b"Content-Length: 0\r\n\r\n")

    for server in _serve(Trickle):
        yield f"http://127.0.0.1:{server.server_port}/api/v1/lineage"


def test_a_post_to_a_slow_endpoint_ends_by_its_timeout(trickling, monkeypatch):
    monkeypatch.setattr(emitter, "HTTP_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    _emit(trickling)
    # the documented bound ("the POST waits at most 5 seconds"), here 0.5 s, with slack
    assert time.monotonic() - started < 1.5
