"""Duplicates across files on the big-file path, offline: parts claim their ids in
parallel, and the file comes out as the single-function path makes it."""

from __future__ import annotations

import json

import pytest

from etl_constructs import LargeFiles
from tests.e2e.test_seen_ids import _csv, _local, _row, _run

MONDAY = _csv(*(_row(n) for n in range(1, 6)))
TUESDAY = _csv(_row(3, "99.00"), _row(6), _row(1), _row(3), _row(6, "5.00"), _row(8, "2.50"))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """What the single-function path makes of Monday's then Tuesday's file (run, then shut
    down: one offline pipeline at a time in a process)."""
    outdir = tmp_path_factory.mktemp("cdk.out.seen.small")
    with _local(outdir, "seensmall", max_reject_rate=0.5, large_files=LargeFiles.off()) as local:
        return _monday_and_tuesday(local)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Every file on the Distributed Map path, in parts of two rows."""
    outdir = tmp_path_factory.mktemp("cdk.out.seen.big")
    large = LargeFiles(threshold_bytes=1, batch_rows=2)
    with _local(outdir, "seenbig", max_reject_rate=0.5, large_files=large) as local:
        yield local


def _rejects(pipeline, job: dict) -> list[dict]:
    """Every reject line of a job, in row order (a big file's are in several parts)."""
    folder = job["outputs"]["rejected"]
    keys = [folder] if folder.endswith(".jsonl") else list(pipeline._keys(folder))
    lines = [
        json.loads(line)
        for key in keys
        for line in pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"]
        .read()
        .splitlines()
    ]
    return sorted(lines, key=lambda line: line["row"])


def test_big_files_reject_ids_of_earlier_files_as_a_small_file_does(small, big):
    """Parts claim in parallel; the file's outcome is the single-function path's, line for
    line: the first row of a held id is DUPLICATE_ACROSS_FILES, its repeats in later parts
    DUPLICATE_ID; those rows are not counted against the reject rate (2 of 6 rows would be
    under the 0.5 maximum, 4 of 6 would not)."""
    (small_job, small_lines), (job, lines) = small, _monday_and_tuesday(big)
    assert job["outputs"]["enriched"].endswith("/parts/")  # the Distributed Map path ran
    assert (job["rows"]["input"], job["rows"]["valid"], job["rows"]["rejected"]) == (6, 2, 4)
    assert job["rows"]["enriched"] == 2
    assert small_job["rows"] == {**job["rows"], "enriched": 2}
    kept = {"EUR": {"count": 2, "debit": "12.50", "credit": "0.00"}}
    assert job["totals"] == small_job["totals"] == dict.fromkeys(job["totals"], kept)
    assert set(job["totals"]) == {"validate", "transform", "enrich"}
    assert [(line["row"], line["code"]) for line in lines] == [
        (1, "DUPLICATE_ACROSS_FILES"),
        (3, "DUPLICATE_ACROSS_FILES"),
        (4, "DUPLICATE_ID"),
        (5, "DUPLICATE_ID"),
    ]
    assert lines == small_lines  # fields masked and scrubbed alike, messages alike
    assert "4111111111111111" not in json.dumps(lines)


def test_a_big_file_that_fails_does_not_keep_its_ids_from_later_files(big):
    """Parts claim before the file's outcome is known; the claims of a job that ends FAILED
    (here: too many rejects) do not count, so a later file's row takes the id over."""
    bad = "t-90,ACC9,2026-11-19T10:00:00Z,not-a-number,EUR,DEBIT,Shop,food,4111111111111111,DE"
    failed = _run(big, "broken.csv", _csv(_row(91), bad, bad.replace("t-90", "t-92"), bad))
    assert failed["status"] == "FAILED"
    assert failed["error"]["code"] == "REJECT_RATE_EXCEEDED"
    later = _run(big, "resent.csv", _csv(_row(91), _row(93)))
    assert later["status"] == "SUCCEEDED", later.get("error")
    assert (later["rows"]["valid"], later["rows"]["rejected"]) == (2, 0)


def _monday_and_tuesday(local) -> tuple[dict, list[dict]]:
    """Tuesday's job and reject lines (Monday's job id in messages replaced by a mark)."""
    first = _run(local, "monday.csv", MONDAY)
    assert first["status"] == "SUCCEEDED", first.get("error")
    second = _run(local, "tuesday.csv", TUESDAY)
    assert second["status"] == "SUCCEEDED", second.get("error")
    lines = _rejects(local, second)
    for line in lines:
        line["message"] = line["message"].replace(first["jobId"], "<monday>")
    return second, lines
