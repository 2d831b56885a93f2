"""Statement files through the Validate task: the job records the format, the accepted
formats come from ``ETL_INPUT_FORMATS``, and statement rules end the file like CSV rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from etl_handlers.aws.jobs import JobStore
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.validator import handler as validator

from .handlers_testkit import FakeContext, good_csv, put_source

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
FILES = Path(__file__).resolve().parents[2] / "corpus" / "files"


def test_a_statement_is_validated_and_its_format_recorded(s3: Any, store: JobStore) -> None:
    body = (FILES / "mt940-two-statements.sta").read_bytes()
    state = put_source(s3, store, "raw/2024/statement.sta", body)
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "VALID" and result["rows"]["valid"] == 5
    assert result["outputs"]["validated"].endswith("/statement.csv")
    job = store.require(state["jobId"])
    assert job["inputFormat"] == "mt940"
    csv_state = put_source(s3, store, "raw/plain.csv", good_csv(2))
    validator.lambda_handler(csv_state, FakeContext())
    assert "inputFormat" not in store.require(csv_state["jobId"])


def test_a_format_left_out_of_the_setting_fails_the_file(
    s3: Any, store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_INPUT_FORMATS", "csv,mt940")
    body = (FILES / "camt053-two-statements.xml").read_bytes()
    state = put_source(s3, store, "raw/statement.xml", body)
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "INVALID"
    assert result["error"] == {
        "code": "UNSUPPORTED_FORMAT",
        "message": "recognised a camt.053 (camt.053.001.08) file; this pipeline accepts "
        "csv, mt940 (its input_formats)",
    }
    assert result["outputs"] == {"validated": None, "rejected": None}
    monkeypatch.setenv("ETL_INPUT_FORMATS", "csv,pdf")
    with pytest.raises(ConfigurationError, match="input formats pdf unknown"):
        validator.lambda_handler(state, FakeContext())


def test_a_statement_check_ends_the_file_with_its_code(s3: Any, store: JobStore) -> None:
    body = (FILES / "bai2-bad-balance.bai").read_bytes()
    state = put_source(s3, store, "raw/statement.bai", body)
    result = validator.lambda_handler(state, FakeContext())
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == "BALANCE_MISMATCH"
    assert store.require(state["jobId"])["inputFormat"] == "bai2"


def test_a_statement_on_the_big_file_path_fails_saying_what_to_do(s3: Any, store: JobStore):
    from etl_handlers.app import large_steps
    from etl_handlers.core.schema import load_schema

    body = (FILES / "camt053-two-statements.xml").read_bytes()
    job = put_source(s3, store, "raw/huge.xml", body)
    event = {**job, "mode": "preflight", "rowsPerPart": 10}
    result = large_steps.preflight(event, store=store, s3=s3, schema=load_schema())
    assert result["outcome"] == "INVALID"
    assert result["error"]["code"] == "UNSUPPORTED_FORMAT"
    assert "not cut into parts" in result["error"]["message"]
    assert "LargeFiles(threshold_bytes=...)" in result["error"]["message"]
    plans = s3.list_objects_v2(Bucket=job["bucket"], Prefix="validated/").get("KeyCount", 0)
    assert plans == 0
