"""The whole hostile-input corpus through the big-file path, offline: each file gets the
outcome of the single-function path (status, error, rows, rejects and totals), and no task
of any execution, a map's children included, sees a card number of any file.

Parts of 1,000 rows keep the 34,000-row file to 34 parts; how parts split files of a few rows
is held to the whole file's outcome in tests/unit/handlers/test_large_files.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.schema import load_schema
from etl_handlers.core.statements.detect import detect
from etl_handlers.engines.selector import validate_stream

from tests.corpus.generate import GENERATED
from tests.e2e.test_large_files import _read_lines, recording_pipeline
from tests.reliability.pans import pan_findings, planted_pans

pytestmark = pytest.mark.xdist_group("example-app")

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]
RAW_FILES = sorted(n for n, e in MANIFEST.items() if e.get("input") != "validated")


def _corpus_bytes(name: str) -> bytes:
    if MANIFEST[name].get("source") == "generated":
        return GENERATED[name]()
    return (CORPUS / "files" / name).read_bytes()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with recording_pipeline(tmp_path_factory.mktemp("cdk.out.corpus"), batch_rows=1000) as local:
        yield local


@pytest.fixture(scope="module")
def corpus_run(pipeline) -> dict[str, dict]:
    """Every raw file of the corpus uploaded at once; name -> final job."""
    uploads = {}
    for name in RAW_FILES:
        key = f"raw/corpus/{name}"
        response = pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=_corpus_bytes(name))
        uploads[name] = (key, response["VersionId"])
    jobs = pipeline.wait(list(uploads.values()), timeout=600)
    return {name: jobs[uploads[name]] for name in RAW_FILES}


def _format(name: str) -> str | None:
    """The format a file is read as; None: one it is refused as (e.g. a camt.052)."""
    try:
        return detect(_corpus_bytes(name)[: 1 << 16], complete=True).format
    except FileRejected:
        return None


def _is_statement(name: str) -> bool:
    return _format(name) != "csv"


CSV_FILES = [name for name in RAW_FILES if not _is_statement(name)]
STATEMENT_FILES = [name for name in RAW_FILES if _is_statement(name)]


@pytest.mark.parametrize("name", CSV_FILES)
def test_each_corpus_file_gets_the_outcome_of_the_single_function_path(pipeline, corpus_run, name):
    job, data = corpus_run[name], _corpus_bytes(name)
    rejects = io.BytesIO()
    whole = validate_stream(io.BytesIO(data), io.BytesIO(), rejects, schema=load_schema(None))
    entry = MANIFEST[name]
    assert job is not None and job["status"] == entry["status"], job and job.get("error")
    if job["status"] == "FAILED":
        assert job["error"]["code"] == entry["code"]
        if whole.outcome == "INVALID":  # a file rule or the reject rate: the same words
            assert job["error"]["message"] == whole.error[1]
        return
    assert {k: job["rows"][k] for k in ("input", "valid", "rejected")} == {
        "input": whole.rows_input,
        "valid": whole.rows_valid,
        "rejected": whole.rows_rejected,
    }
    assert job["totals"]["validate"] == job["totals"]["enrich"] == whole.totals.to_json()
    rejected = job["outputs"].get("rejected")
    found = _read_lines(pipeline, rejected) if rejected else []
    expected = [json.loads(line) for line in rejects.getvalue().splitlines()]
    # whole reject records: row, code, column, message and the masked fields
    found.sort(key=lambda r: r["row"])
    assert found == expected


@pytest.mark.parametrize("name", STATEMENT_FILES)
def test_a_statement_above_the_threshold_is_refused_saying_how_to_read_it(corpus_run, name):
    """A statement is not cut into parts: above the big-file threshold it ends
    UNSUPPORTED_FORMAT, naming the setting that lets it through (README, Bank statements)."""
    job = corpus_run[name]
    assert job["status"] == "FAILED"
    if job["error"]["code"] == MANIFEST[name].get("code") != "UNSUPPORTED_FORMAT":
        return  # refused before its size matters (a DTD: UNSAFE_XML), as when small
    assert job["error"]["code"] == "UNSUPPORTED_FORMAT"
    if _format(name) is not None:  # a statement it reads, when small enough
        assert "threshold_bytes" in job["error"]["message"]


def test_no_task_of_a_big_file_sees_a_card_number(pipeline, corpus_run):
    """Each task's input is the state of its execution (a child's, inside a map) and its
    answer becomes state: none may hold a card number of any CSV file of the corpus (the
    statements' 12-digit entry references would count as planted numbers; those files end
    at the preflight here)."""
    planted = set().union(*(planted_pans(_corpus_bytes(name)) for name in CSV_FILES))
    assert len(planted) >= 5
    assert any('"mode": "batch"' in seen for seen in pipeline.invocations)
    leaks = [found for seen in pipeline.invocations if (found := pan_findings(seen, planted))]
    assert not leaks, leaks[:3]
    for job in pipeline.jobs():
        events = pipeline.sfn.get_execution_history(
            executionArn=job["executionArn"], maxResults=1000
        )["events"]
        assert not pan_findings(json.dumps(events, default=str), planted), job["fileName"]
