"""The hostile-input corpus (``tests/corpus``): every file gets the outcome its manifest
entry gives, through the processing chain (all files) and through the local pipeline (the
entries marked ``pipeline``); nothing either writes holds a card number."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.engines.selector import transform_stream

from tests.corpus.generate import GENERATED

from .chain import SCHEMA, run_chain
from .conftest import Driver
from .pans import pan_findings, planted_pans

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]
PIPELINE = sorted(name for name, entry in MANIFEST.items() if entry.get("pipeline"))


def corpus_bytes(name: str) -> bytes:
    if MANIFEST[name].get("source") == "generated":
        return GENERATED[name]()
    return (CORPUS / "files" / name).read_bytes()


def test_the_manifest_describes_every_file_and_every_code():
    committed = {path.name for path in (CORPUS / "files").iterdir()}
    generated = {n for n, e in MANIFEST.items() if e.get("source") == "generated"}
    assert committed | generated == set(MANIFEST) and not committed & generated
    assert generated == set(GENERATED)
    assert len(MANIFEST) >= 40
    file_codes = {e.get("code") for e in MANIFEST.values()}
    row_codes = {code for e in MANIFEST.values() for code in e.get("rejects", {})}
    assert set(codes.FILE_CODES) <= file_codes
    assert set(codes.FILE_ROW_CODES) <= row_codes  # one file cannot repeat another
    for name, entry in MANIFEST.items():
        assert entry["about"] and entry["status"] in ("SUCCEEDED", "FAILED"), name
        assert (entry["status"] == "FAILED") == bool(entry.get("code") and entry.get("message"))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_the_chain_gives_each_file_its_outcome(name):
    entry = MANIFEST[name]
    data = corpus_bytes(name)
    if entry.get("input") == "validated":  # a corrupt intermediate object, given to transform
        with pytest.raises(FileRejected) as rejected:
            transform_stream(io.BytesIO(data), io.BytesIO(), schema=SCHEMA)
        assert rejected.value.code == entry["code"]
        assert entry["message"] in rejected.value.message
        return
    outcome = run_chain(data)
    assert (outcome.status, outcome.code) == (entry["status"], entry.get("code")), outcome.message
    if outcome.code:
        assert entry["message"] in outcome.message
        assert not pan_findings(outcome.message)
    rows = outcome.rows
    assert {k: rows[k] for k in ("input", "valid", "rejected")} == entry["rows"]
    assert outcome.reject_codes == entry.get("rejects", {})
    assert rows["input"] == rows["valid"] + rows["rejected"] == rows["valid"] + len(outcome.rejects)
    for reject in outcome.rejects:
        assert reject["code"] in codes.ROW_CODES and reject["message"] and reject["row"] >= 1
    if outcome.status == "SUCCEEDED":
        records = outcome.records()
        ids = [r["transaction_id"] for r in records]
        assert len(records) == rows["valid"] == rows["enriched"] and len(set(ids)) == len(ids)
    planted = planted_pans(data)
    for output in [*outcome.outputs(), json.dumps(outcome.summary).encode()]:
        assert not pan_findings(output.decode("utf-8", "replace"), planted)


# -- through the local pipeline ---------------------------------------------------------------


def example_app_group(test):
    return pytest.mark.xdist_group("example-app")(
        pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")(test)
    )


@pytest.fixture(scope="module")
def pipeline_run(driver: Driver) -> dict[str, tuple[str, dict]]:
    """Every ``pipeline`` entry uploaded at once; name -> (key, final job)."""
    uploads = {name: driver.put(driver.key(name), corpus_bytes(name)) for name in PIPELINE}
    jobs = driver.pipeline.wait(list(uploads.values()), timeout=120)
    return {name: (uploads[name][0], jobs[uploads[name]]) for name in PIPELINE}


@example_app_group
@pytest.mark.parametrize("name", PIPELINE)
def test_the_pipeline_gives_each_file_its_outcome(driver, pipeline_run, name):
    entry = MANIFEST[name]
    _, job = pipeline_run[name]
    assert job is not None and job["status"] == entry["status"], job and job.get("error")
    rows = job["rows"]
    if job["status"] == "FAILED":
        assert job["error"]["code"] == entry["code"] and job["error"]["step"] == "validate"
        assert entry["message"] in job["error"]["message"]
        assert driver.read(job["outputs"]["failed"]) == corpus_bytes(name)
        assert not set(driver.job_keys(job["jobId"])) & {"validated/", "processed/", "enriched/"}
    else:
        assert "error" not in job
        if name == "header-1mb.csv":  # 128 names of 8 KiB, recorded within DynamoDB's limits
            assert len(job["extraColumns"]) == 101 and job["extraColumns"][-1] == "... 28 more"
            assert max(len(n) for n in job["extraColumns"]) <= 64
        enriched = driver.read(job["outputs"]["enriched"]).splitlines()
        assert len(enriched) == rows["valid"] == rows["transformed"] == rows["enriched"]
    if job["status"] == "SUCCEEDED":
        assert {k: rows[k] for k in ("input", "valid", "rejected")} == entry["rows"]
    else:  # nothing published: the rows read, no valid counts, no totals
        assert rows == {"read": entry["rows"]["input"]} and "totals" not in job
    rejected_key = job["outputs"].get("rejected")
    lines = driver.read(rejected_key).splitlines() if rejected_key else []
    assert len(lines) == sum(entry.get("rejects", {}).values())


def _parquet_text(body: bytes) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(body))
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    return json.dumps([metadata, table.to_pylist()], default=str, ensure_ascii=False)


@example_app_group
def test_nothing_the_pipeline_wrote_holds_a_card_number(driver, pipeline_run):
    """Output objects, reports, job records, execution histories, API answers and the log
    file of the whole run, against every card number planted in the corpus."""
    planted = set().union(*(planted_pans(corpus_bytes(name)) for name in PIPELINE))
    assert len(planted) >= 5
    driver.pipeline.run_schedule("quality_check")
    scanned: dict[str, str] = {}
    for key in driver.keys(""):
        if key.startswith(("raw/", "failed/")):
            continue  # the customer's own file and its copy: card data by design
        body = driver.read(key)
        # Parquet as a reader sees it, values and metadata: its raw pages set values side by
        # side (two account numbers in a dictionary page read as one long digit run)
        scanned[key] = (
            _parquet_text(body) if key.endswith(".parquet") else body.decode("utf-8", "replace")
        )
    for job in driver.pipeline.jobs():
        scanned[f"job {job['jobId']}"] = json.dumps(job)
        status, body = driver.api("GET", f"/status/{job['jobId']}")
        scanned[f"GET /status/{job['jobId']}"] = json.dumps(body)
        if job.get("executionArn"):
            events = driver.pipeline.sfn.get_execution_history(
                executionArn=job["executionArn"], maxResults=1000
            )["events"]
            scanned[f"history {job['jobId']}"] = json.dumps(events, default=str)
    for status in ("SUCCEEDED", "FAILED"):
        scanned[f"GET /jobs {status}"] = json.dumps(
            driver.api("GET", "/jobs", query={"status": status})
        )
    scanned["pipeline.log"] = driver.log_text()
    assert any(k.startswith("enriched/") for k in scanned) and scanned["pipeline.log"]
    # The scan does find what it looks for: in the inputs themselves.
    raw = driver.read(pipeline_run["pan-in-text.csv"][0]).decode()
    assert len(pan_findings(raw, planted)) >= 5
    leaks = {
        where: found for where, text in scanned.items() if (found := pan_findings(text, planted))
    }
    assert not leaks, leaks


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "paid 4111 1111 1111 1111.",
        "5555-5555-5555-4444",
        "TX-378282246310005",
        '{"merchant": "x6011111111111117y"}',
        "0041111111111111119",
        "4526.7805.3117.0466",
        "4267  9037  1281  0485",
        "4111 / 1111_1111\u200b1111",
        "\u0664\u0661\u0661\u0661\u2009\u0661\u0661\u0661\u0661 1111-1111",
        '"4111\\u00a01111\\u00a01111\\u00a01111"',  # JSON with ensure_ascii
        '"{\\"m\\": \\"4111\\\\u00a01111\\\\u00a01111\\\\u00a01111\\"}"',  # JSON in JSON
        "'4111\\xa01111\\xa01111\\xa01111'",  # a repr
    ],
)
def test_the_scan_finds_card_numbers(text):
    assert pan_findings(text, {"4111111111111111"})


@pytest.mark.parametrize(
    "text",
    [
        '"function_request_id":"6737b3d1-7025-46ab-a223-438836012345"',
        '"job_id":"50692ac6cb026aa02c382b3992d3c31a"',
        '"_aws":{"Timestamp":1795667960073}',
        '"status": "FAILED", "startDate": 1796640032191, "stopDate": 1796640013217',
        "arn:aws:lambda:us-east-1:123456789012:function:x",
        "amount 999999999999999999.99",
        "paid 12.30 on 2024-01-15, 2024-03-07T06:15:00Z",
        "4111\n1111\n1111\n1111",
        "************1111",
    ],
)
def test_the_scan_ignores_what_is_not_a_card_number(text):
    assert not pan_findings(text, {"4111111111111111"})


def test_the_reliability_doc_tells_the_corpus_as_it_is():
    readme = (CORPUS.parents[1] / "docs" / "reliability.md").read_text()
    generated = sum(1 for e in MANIFEST.values() if e.get("source") == "generated")
    assert f"`tests/corpus/` holds {len(MANIFEST)} files" in readme
    assert f"The {generated} big ones are generated" in readme
    assert f"All {len(MANIFEST)} go through validate" in readme
    assert f"{len(PIPELINE)} of them through the whole local pipeline" in readme
