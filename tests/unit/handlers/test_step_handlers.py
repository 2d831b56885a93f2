"""The three state machine tasks through their Lambda handlers: settings from the
environment, results, and the contract's metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from etl_handlers.app.large import JobPrefixes
from etl_handlers.aws.jobs import SUCCEEDED, JobStore
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.enricher import handler as enricher
from etl_handlers.transformer import handler as transformer
from etl_handlers.validator import handler as validator

from .handlers_testkit import FakeContext, csv_bytes, emf_metrics, good_csv, put_source, read, row

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def test_the_three_tasks_in_a_row(
    s3: Any,
    store: JobStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0.5")
    monkeypatch.setenv("ETL_OUTPUT_FORMAT", "jsonl")
    monkeypatch.setenv("ETL_PIPELINE_VERSION", "9.9.9")
    state = put_source(
        s3, store, "raw/tx.csv", good_csv(3) + (row(7, currency="ZZZ") + "\n").encode()
    )

    state["validation"] = validator.lambda_handler(dict(state), FakeContext())
    assert state["validation"]["outcome"] == "VALID"
    assert emf_metrics(capsys.readouterr().out) == {"RowsRejected": 1}

    state["transform"] = transformer.lambda_handler(dict(state), FakeContext())
    assert state["transform"]["outcome"] == "VALID"
    assert emf_metrics(capsys.readouterr().out) == {}

    state["enrich"] = enricher.lambda_handler(dict(state), FakeContext())
    assert state["enrich"]["outcome"] == "VALID"
    assert emf_metrics(capsys.readouterr().out) == {"FilesSucceeded": 1, "RowsProcessed": 3}
    assert store.require(state["jobId"])["status"] == SUCCEEDED
    first = json.loads(read(s3, state["enrich"]["outputs"]["enriched"]).splitlines()[0])
    assert first["pipeline_version"] == "9.9.9"
    json.dumps(state)  # every result is plain JSON for the state machine


def test_a_data_failure_counts_the_file_as_failed(
    s3: Any, store: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    state = put_source(s3, store, "raw/tx.csv", csv_bytes(row(1, amount="x"), row(2, amount="y")))
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "INVALID"
    assert emf_metrics(capsys.readouterr().out) == {"RowsRejected": 2, "FilesFailed": 1}


def test_the_enricher_without_a_version_setting(s3: Any, store: JobStore) -> None:
    state = put_source(s3, store, "raw/tx.csv", good_csv(1))
    validator.lambda_handler(state, FakeContext())
    transformer.lambda_handler(state, FakeContext())
    result = enricher.lambda_handler(state, FakeContext())
    line = json.loads(read(s3, result["outputs"]["enriched"]))
    assert line["pipeline_version"] == enricher.UNKNOWN_VERSION


def test_a_bad_setting_is_a_fault_not_a_data_problem(
    s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = put_source(s3, store, "raw/tx.csv", good_csv(1))
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "lots")
    with pytest.raises(ConfigurationError):
        validator.lambda_handler(state, FakeContext())
    monkeypatch.setenv("ETL_OUTPUT_FORMAT", "xml")
    with pytest.raises(ConfigurationError):
        transformer.lambda_handler(state, FakeContext())
    with pytest.raises(ConfigurationError):
        enricher.lambda_handler(state, FakeContext())


def test_a_big_file_s_parts_publish_rows_on_the_reference_path(
    s3: Any,
    store: JobStore,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The batch and part tasks hand their engine reports to the handlers' logger and
    metrics: a bare CR in one part's quoted merchant shows on the dashboard."""
    body = csv_bytes(row(1), row(2, merchant='"Shop\rSecret 4111111111111111"'), row(3))
    state = put_source(s3, store, "raw/big.csv", body)
    prefixes = JobPrefixes(state["jobId"])

    def listed(prefix: str) -> list[str]:
        found = s3.list_objects_v2(Bucket=state["bucket"], Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in found)

    preflight = {**state, "mode": "preflight", "rowsPerPart": 2}
    assert validator.lambda_handler(preflight, FakeContext())["outcome"] == "VALID"
    capsys.readouterr()
    for plan in listed(prefixes.plan):
        validator.lambda_handler({**state, "mode": "batch", "planKey": plan}, FakeContext())
    batches = capsys.readouterr().out
    assert emf_metrics(batches) == {"RowsOnReferencePath": 1}
    assert validator.lambda_handler({**state, "mode": "reduce"}, FakeContext())["outcome"] == (
        "VALID"
    )
    capsys.readouterr()
    for part_key in listed(prefixes.parts):
        part = {**state, "mode": "part", "partKey": part_key}
        part["part"] = transformer.lambda_handler(part, FakeContext())
        enricher.lambda_handler(part, FakeContext())
    parts = capsys.readouterr().out
    assert emf_metrics(parts) == {"RowsOnReferencePath": 1}  # the transform's
    reports = [vars(record) for record in caplog.records if record.msg == "engine report"]
    assert sorted((report["step"], report["part"]) for report in reports) == sorted(
        (step, part)
        for step in ("validate", "transform", "enrich")
        for part in ("part-000000000001", "part-000000000003")
    )
    logged = json.dumps([record.getMessage() for record in caplog.records] + reports, default=str)
    assert "Secret" not in logged and "4111111111111111" not in logged
