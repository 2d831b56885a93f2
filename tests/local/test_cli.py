"""etl-pipeline as a user runs it: files in, table or JSON lines out, exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from pathlib import Path

import pytest
from etl_handlers.core.masking import luhn_valid

from etl_constructs.local import cli
from tests.reliability.pans import pan_findings

pytestmark = pytest.mark.xdist_group("moto-runtime")
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
FILES = [
    DATA / "transactions-clean.csv",
    DATA / "transactions-with-rejects.csv",
    DATA / "transactions-missing-column.csv",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `etl-pipeline run --json` over the example data, shared by the tests below."""
    out = tmp_path_factory.mktemp("etl-out")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(
            ["run", *map(str, FILES), "--out", str(out), "--json", "--project", str(ROOT)]
        )
    lines = stdout.getvalue().splitlines()
    return code, [json.loads(line) for line in lines], out


def test_run_reports_each_file_as_json_and_exits_1_when_one_failed(run):
    code, results, out = run
    assert code == cli.EXIT_FAILED
    by_file = {Path(r["file"]).name: r for r in results}
    assert [Path(r["file"]).name for r in results] == [f.name for f in FILES]
    clean = by_file["transactions-clean.csv"]
    assert clean["status"] == "SUCCEEDED" and clean["error"] is None
    assert clean["rows"] == {"input": 6, "valid": 6, "rejected": 0}
    assert clean["totals"]["EUR"] == {"count": 1, "debit": "0.00", "credit": "2300.00"}
    (enriched,) = clean["outputs"]["enriched"]
    assert Path(enriched).is_file() and Path(enriched).is_relative_to(out)
    rejects = by_file["transactions-with-rejects.csv"]
    assert rejects["rows"]["rejected"] == 3 and len(rejects["outputs"]["rejected"]) == 1
    failed = by_file["transactions-missing-column.csv"]
    assert failed["status"] == "FAILED"
    assert failed["error"].startswith("MISSING_COLUMN:")
    # a FAILED job published nothing: the rows read, no valid rows, no totals
    assert failed["rows"] == {"read": 0} and "totals" not in failed
    (copy,) = failed["outputs"]["failed"]
    assert Path(copy).read_bytes() == FILES[2].read_bytes()
    succeeded = [r for r in results if r["status"] == "SUCCEEDED"]
    assert set(json.dumps(r["totals"]) for r in succeeded)  # amounts are strings, never floats
    for result in succeeded:
        for figures in result["totals"].values():
            assert all(isinstance(figures[k], str) for k in ("debit", "credit"))


def test_no_card_number_reaches_any_exported_file(run):
    _, _, out = run
    pans = ("4111111111111111", "5500005555555559", "378282246310005")
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json", ".log"):
            text = path.read_text(errors="replace")
            assert not any(pan in text for pan in pans), path


def test_each_file_is_one_openlineage_run_without_a_card_number(run):
    """The events a run exports: START then COMPLETE or FAIL per file, each read back
    unchanged by the OpenLineage client, and none with a card number of the input files."""
    from etl_constructs.local.lineage import check_event

    _, results, out = run
    pans = {
        digits
        for path in FILES
        for digits in re.findall(r"\d{12,19}", path.read_text())
        if luhn_valid(digits)
    }
    assert len(pans) >= 3  # the example data has card numbers to leak
    ends = {"SUCCEEDED": "2-COMPLETE.json", "FAILED": "2-FAIL.json"}
    for result in results:
        folder = out / "lineage" / result["job_id"] / "1"
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["1-START.json", ends[result["status"]]], result["file"]
        for path in folder.iterdir():
            text = path.read_text()
            assert not any(pan in text for pan in pans), path
            # nothing that even looks like a card number (job ids and run ids aside: their
            # digits may read as one by chance, e.g. ...-5c24-9743-084029862931)
            assert not pan_findings(text, pans), path
            event = check_event(json.loads(text))
            assert event.job.name == f"raw/{Path(result['file']).name}"


def test_status_jobs_and_quality_check_answer_from_the_run(run, capsys):
    _, results, out = run
    failed = next(r for r in results if r["status"] == "FAILED")
    capsys.readouterr()
    assert cli.main(["status", failed["job_id"], "--out", str(out)]) == cli.EXIT_OK
    status = json.loads(capsys.readouterr().out)
    assert status["jobId"] == failed["job_id"] and status["error"]["code"] == "MISSING_COLUMN"

    assert cli.main(["jobs", "--status", "SUCCEEDED", "--out", str(out)]) == cli.EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert {j["status"] for j in listed["items"]} == {"SUCCEEDED"} and len(listed["items"]) == 2

    assert cli.main(["status", "not-a-job", "--out", str(out)]) == cli.EXIT_FAILED
    assert "message" in json.loads(capsys.readouterr().out)

    assert cli.main(["quality-check", "--out", str(out)]) == cli.EXIT_OK
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert report["failedJobs"] == 1
    assert (out / report["reportKey"]).is_file()
    # the page beside the JSON, exported with it, its path on stdout (JSON) and stderr
    page = Path(report["pageFile"])
    assert page == out / report["pageKey"] and page.suffix == ".html" and page.is_file()
    assert Path(report["reportFile"]) == out / report["reportKey"]
    assert f"report page: {page}" in printed.err
    figures = json.loads((out / report["reportKey"]).read_text())
    html = page.read_text(encoding="utf-8")
    assert figures["jobsByStatus"]["FAILED"] == 1 and figures["jobsByStatus"]["SUCCEEDED"] == 2
    assert 'data-figure="jobsByStatus.SUCCEEDED">2<' in html
    # the reject lines of the run's exported rejected/ are read back and counted by code
    assert sum(figures["rejectsByCode"].values()) == 3 and figures["rejectsUnread"] == []
    assert all(f'data-figure="rejectsByCode.{code}"' in html for code in figures["rejectsByCode"])
    assert not any(pan in html for pan in ("4111111111111111", "5500005555555559"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "does-not-exist.csv"], "does-not-exist.csv: no such file"),
        (["run", str(DATA)], "not a file"),
        (["run", str(FILES[0]), str(FILES[0])], "share a name"),
        (["status", "abc", "--out", "/nonexistent-dir"], "run `etl-pipeline run"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_broken_app_is_reported_not_raised(tmp_path, capsys):
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "python3 -c 'raise SystemExit(3)'"}))
    code = cli.main(
        ["run", str(FILES[0]), "--out", str(tmp_path / "out"), "--project", str(tmp_path)]
    )
    assert code == cli.EXIT_SYNTH  # not 1: no job ran, so none failed
    assert "synthesizing" in capsys.readouterr().err


def test_jobs_without_a_status_lists_every_job_newest_first(run, capsys):
    _, results, out = run
    capsys.readouterr()
    assert cli.main(["jobs", "--out", str(out)]) == cli.EXIT_OK
    listed = json.loads(capsys.readouterr().out)["items"]
    assert {j["jobId"] for j in listed} == {r["job_id"] for r in results}
    assert sorted(j["status"] for j in listed) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    stamps = [j["timestamp"] for j in listed]
    assert stamps == sorted(stamps, reverse=True)
    assert cli.main(["jobs", "--limit", "1", "--out", str(out)]) == cli.EXIT_OK
    assert len(json.loads(capsys.readouterr().out)["items"]) == 1


def test_jobs_with_a_bad_since_says_what_is_wrong_with_it(run, capsys):
    _, _, out = run
    capsys.readouterr()
    assert cli.main(["jobs", "--since", "yesterday", "--out", str(out)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert "since='yesterday' is not an ISO 8601 date-time" in err
    assert "status" not in err and len(err.splitlines()) == 1


def test_a_second_run_reuses_the_synth(run, tmp_path, capsys):
    code = cli.main(
        ["run", str(FILES[0]), "--out", str(tmp_path / "again"), "--project", str(ROOT)]
    )
    assert code == cli.EXIT_OK
    assert "reusing the synth in " in capsys.readouterr().err


def test_a_file_no_rule_matches_is_refused_at_once_naming_the_pattern(run, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a csv\n")
    started = time.monotonic()
    code = cli.main(["run", str(notes), "--out", str(tmp_path / "o"), "--project", str(ROOT)])
    assert code == cli.EXIT_USAGE
    assert time.monotonic() - started < 120  # not the 900 s timeout
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "raw/notes.txt would start no job" in err and "raw/*.csv" in err
    # the refusal names the file as the pipeline's records would: no card number in it
    notes = notes.rename(tmp_path / "statement-4111111111111111.txt")
    code = cli.main(["run", str(notes), "--out", str(tmp_path / "o"), "--project", str(ROOT)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == cli.EXIT_USAGE
    assert "raw/statement-************1111.txt would start no job" in err, err


def test_questions_about_a_run_stand_up_no_state_machine(run):
    _, results, out = run
    with cli._restored(out) as pipeline:  # what status, jobs and quality-check answer from
        assert pipeline.sfn.list_state_machines()["stateMachines"] == []
        assert "AWS::StepFunctions::StateMachine" in pipeline.skipped
        status, body = pipeline.api(
            "GET",
            f"/status/{results[0]['job_id']}",
            path_parameters={"jobId": results[0]["job_id"]},
        )
        assert status == 200 and body["status"] == "SUCCEEDED"
