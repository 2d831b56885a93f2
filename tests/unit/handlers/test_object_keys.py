"""Object keys and job ids: what users and the constructs rely on."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from etl_handlers.core import keys


def test_job_id_is_the_contract_hash() -> None:
    expected = hashlib.sha256(b"bucket\nraw/a.csv\nv1").hexdigest()[:32]
    assert keys.job_id("bucket", "raw/a.csv", "v1") == expected
    assert keys.is_job_id(expected)


def test_job_id_differs_per_version_key_and_bucket() -> None:
    ids = {
        keys.job_id("b", "raw/a.csv", "v1"),
        keys.job_id("b", "raw/a.csv", "v2"),
        keys.job_id("b", "raw/b.csv", "v1"),
        keys.job_id("c", "raw/a.csv", "v1"),
    }
    assert len(ids) == 4


@pytest.mark.parametrize("value", ["", "A" * 32, "g" * 32, "a" * 31, "a" * 33, None, 7])
def test_is_job_id_rejects_other_shapes(value: object) -> None:
    assert not keys.is_job_id(value)


@pytest.mark.parametrize(
    "key",
    [
        "raw/a.csv",
        "raw/A.CSV",
        "raw/2026/11/daily tx.Csv",
        "raw/a..b.csv",  # ".." inside a name is not a segment
        "raw/ünïcode.csv",
    ],
)
def test_pipeline_inputs(key: str) -> None:
    assert keys.is_pipeline_input(key)
    assert keys.input_problem(key) is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "non-empty"),
        (None, "non-empty"),
        ("processed/a.csv", "raw/"),
        ("raw", "raw/"),
        ("/raw/a.csv", "relative"),
        ("raw/../validated/a.csv", ".."),
        ("raw/x/../a.csv", ".."),
        ("raw/a.txt", ".csv"),
        ("raw/a.csv.gz", ".csv"),
        ("raw/.csv", "file name"),
        ("raw/sub/", ".csv"),
        ("raw/a\nb.csv", "control"),
        ("raw/" + "a" * 1017 + ".csv", "1024"),
        ("raw/\udc80.csv", "UTF-8"),
    ],
)
def test_not_pipeline_inputs(key: object, reason: str) -> None:
    assert not keys.is_pipeline_input(key)
    assert reason in (keys.input_problem(key) or "")


def test_key_length_is_counted_in_utf8_bytes() -> None:
    exactly = "raw/" + "é" * 508 + ".csv"  # 4 + 1016 + 4 bytes
    assert len(exactly.encode()) == 1024 and keys.is_pipeline_input(exactly)
    assert not keys.is_pipeline_input("raw/" + "é" * 509 + ".csv")


def test_output_keys_are_functions_of_job_and_stem() -> None:
    job = "0" * 32
    source = "raw/2026/11/Daily TX.CSV"
    assert keys.file_name(source) == "Daily TX.CSV"
    assert keys.stem(source) == "Daily TX"
    assert keys.validated_key(job, source) == f"validated/{job}/Daily TX.csv"
    assert keys.rejected_key(job, source) == f"rejected/{job}/Daily TX.rejected.jsonl"
    assert keys.processed_key(job, source) == f"processed/{job}/Daily TX.jsonl"
    assert keys.processed_key(job, source, "parquet") == f"processed/{job}/Daily TX.parquet"
    assert keys.enriched_key(job, source) == f"enriched/{job}/Daily TX.jsonl"
    assert keys.enriched_key(job, source, "parquet") == f"enriched/{job}/Daily TX.parquet"
    assert keys.failed_key(job, source) == f"failed/{job}/Daily TX.CSV"
    assert keys.stem("raw/notes") == "notes"


def test_unknown_output_format() -> None:
    with pytest.raises(ValueError, match="csv"):
        keys.processed_key("0" * 32, "raw/a.csv", "csv")


def test_report_key() -> None:
    assert keys.report_key(date(2026, 11, 20)) == "reports/2026-11-20.json"
    assert keys.report_key(datetime(2026, 11, 20, 23, 59, tzinfo=UTC)) == "reports/2026-11-20.json"


def test_copy_source_is_url_encoded_for_copy_object() -> None:
    assert keys.copy_source("b", "raw/a b+c.csv") == "b/raw/a%20b%2Bc.csv"
    assert keys.copy_source("b", "raw/a.csv", "v/1=") == "b/raw/a.csv?versionId=v%2F1%3D"
