"""`etl-pipeline reprocess` and `etl-pipeline redrive` after a run, as a user runs them."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from etl_constructs.local import cli

pytestmark = pytest.mark.xdist_group("moto-runtime")
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"


def _main(*argv: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(list(argv))
    return code, stdout.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run of two files (one SUCCEEDED, one FAILED) from copies the tests may change."""
    folder = tmp_path_factory.mktemp("files")
    files = [
        shutil.copy(DATA / name, folder / name)
        for name in ("transactions-clean.csv", "transactions-missing-column.csv")
    ]
    out = tmp_path_factory.mktemp("etl-out")
    code, text = _main("run", *map(str, files), "--out", str(out), "--json", "--project", str(ROOT))
    assert code == cli.EXIT_FAILED  # one job FAILED
    results = {Path(r["file"]).name: r for r in map(json.loads, text.splitlines())}
    return out, results, [Path(f) for f in files]


def _job(out: Path, job_id: str) -> dict:
    return next(j for j in json.loads((out / "jobs.json").read_text()) if j["jobId"] == job_id)


def test_reprocess_runs_a_succeeded_job_again_and_replaces_its_exported_outputs(run):
    out, results, _ = run
    job_id = results["transactions-clean.csv"]["job_id"]
    first = sorted(p.relative_to(out) for p in (out / "enriched" / job_id).rglob("*.jsonl"))
    assert [str(p) for p in first] == [f"enriched/{job_id}/transactions-clean.jsonl"]

    code, text = _main("reprocess", job_id, "--out", str(out), "--json")
    answer = json.loads(text)
    assert code == 0 and answer["status"] == "SUCCEEDED" and answer["attempt"] == 2
    assert answer["outputs"]["enriched"] == f"enriched/{job_id}/a2/transactions-clean.jsonl"
    exported = sorted(str(p.relative_to(out)) for p in (out / "enriched" / job_id).rglob("*.jsonl"))
    assert exported == [answer["outputs"]["enriched"]]  # attempt 1's file went, as in the bucket
    assert len((out / answer["outputs"]["enriched"]).read_text().splitlines()) == 6
    record = _job(out, job_id)
    assert record["attempt"] == 2 and [a["status"] for a in record["attempts"]] == ["SUCCEEDED"]
    # the other job's record is still there
    assert _job(out, results["transactions-missing-column.csv"]["job_id"])["status"] == "FAILED"
    # each attempt is its own OpenLineage run, and the first run's events stay
    runs = sorted(
        str(p.relative_to(out / "lineage" / job_id))
        for p in (out / "lineage" / job_id).rglob("*.json")
    )
    assert runs == ["1/1-START.json", "1/2-COMPLETE.json", "2/1-START.json", "2/2-COMPLETE.json"]


def test_reprocess_of_an_unknown_job_exits_1_with_the_api_answer(run, capsys):
    out, _, _ = run
    code, text = _main("reprocess", "0" * 32, "--out", str(out))
    assert code == 1 and "not found" in json.loads(text)["message"]


def test_reprocess_of_a_changed_file_is_refused(run, capsys):
    out, results, files = run
    job_id = results["transactions-missing-column.csv"]["job_id"]
    original = files[1].read_bytes()
    files[1].write_bytes(original + b"\n")
    try:
        code, _ = _main("reprocess", job_id, "--out", str(out))
    finally:
        files[1].write_bytes(original)
    assert code == cli.EXIT_USAGE
    assert "changed since the run" in capsys.readouterr().err


def test_redrive_lists_then_drops_a_message_whose_job_succeeded(run):
    out, results, _ = run
    job_id = results["transactions-clean.csv"]["job_id"]
    record = _job(out, job_id)
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": record["bucket"]},
            "object": {
                "key": record["fileName"],
                "size": record["sizeBytes"],
                "etag": record["etag"],
                "version-id": record.get("versionId"),
            },
        },
    }
    letters = json.loads((out / "dead-letters.json").read_text())
    [trigger] = [name for name in letters if name.startswith("trigger")]
    letters[trigger] = [
        {
            "body": json.dumps(event),
            "attributes": {"ErrorMessage": {"DataType": "String", "StringValue": "Boom: x"}},
        }
    ]
    (out / "dead-letters.json").write_text(json.dumps(letters))

    code, text = _main("redrive", "--dry-run", "--out", str(out), "--json")
    [listed] = map(json.loads, text.splitlines())
    assert code == 0 and listed["action"] == "listed" and listed["jobId"] == job_id
    assert listed["error"] == "Boom: x" and listed["detail"] == "job SUCCEEDED"
    assert json.loads((out / "dead-letters.json").read_text())[trigger]  # still there

    code, text = _main("redrive", "--out", str(out))
    assert code == 0 and "dropped" in text and "already SUCCEEDED" in text
    assert json.loads((out / "dead-letters.json").read_text())[trigger] == []


def test_reprocess_of_a_failed_job_that_fails_again_exits_1_and_keeps_its_history(run):
    out, results, _ = run
    job_id = results["transactions-missing-column.csv"]["job_id"]
    code, text = _main("reprocess", job_id, "--out", str(out))
    assert code == 1
    assert text.startswith(f"job {job_id} attempt 2: FAILED (MISSING_COLUMN:")
    record = _job(out, job_id)
    assert [a["error"]["code"] for a in record["attempts"]] == ["MISSING_COLUMN"]
    assert (out / "failed" / job_id / "transactions-missing-column.csv").is_file()
    attempt = out / "lineage" / job_id / "2"
    assert sorted(p.name for p in attempt.iterdir()) == ["1-START.json", "2-FAIL.json"]
