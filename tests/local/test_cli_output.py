"""The human side of etl-pipeline: the summary table, progress, and jobs that never end."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pytest

from etl_constructs.local import JobOutcome, cli


def test_summary_table_aligns_figures_and_shows_errors():
    stream = io.StringIO()
    cli._print_table(
        [
            JobOutcome(
                file="/x/a.csv",
                key="raw/a.csv",
                job_id="j1",
                status="SUCCEEDED",
                error=None,
                rows={"input": 1200, "valid": 1199, "rejected": 1},
                duration_seconds=1.234,
            ),
            JobOutcome(
                file="b.csv",
                key="raw/b.csv",
                job_id="j2",
                status="FAILED",
                error="REJECT_RATE_EXCEEDED: 9 of 10 rows rejected",
                rows={"read": 10},
                totals=None,
                duration_seconds=0.1,
            ),
        ],
        stream,
    )
    header, rule, first, second = stream.getvalue().splitlines()
    assert header.split() == ["file", "status", "read", "valid", "rejected", "duration", "error"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:6] == ["a.csv", "SUCCEEDED", "1200", "1199", "1", "1.23s"]
    assert header.index("rejected") + len("rejected") == first.index("1 ") + 1  # right-aligned
    # a FAILED job: the rows read, no valid or rejected figures (nothing was published)
    assert second.split()[:4] == ["b.csv", "FAILED", "10", "0.10s"]
    assert second.endswith("REJECT_RATE_EXCEEDED: 9 of 10 rows rejected")


def test_a_failed_job_reports_the_rows_read_and_no_totals():
    """The FAILED job's record as written before FAILED records dropped their partial
    figures, and as written now: the CLI reports both as rows read, without totals."""
    for rows in ({"input": 100000, "valid": 100000, "rejected": 0}, {"read": 100000}):
        job = {
            "jobId": "j",
            "status": "FAILED",
            "error": {"code": "TransientError", "message": "x"},
            "rows": rows,
            "totals": {"validate": {"EUR": {"count": 1, "debit": "1.00", "credit": "0.00"}}},
        }
        reported = cli._outcome(Path("a.csv"), "raw/a.csv", job, 1.0).to_json()
        assert reported["rows"] == {"read": 100000} and "totals" not in reported
    succeeded = {"jobId": "j", "status": "SUCCEEDED", "rows": {"input": 2, "valid": 2}}
    reported = cli._outcome(Path("a.csv"), "raw/a.csv", succeeded, 1.0).to_json()
    assert reported["rows"] == {"input": 2, "valid": 2, "rejected": 0}
    assert reported["totals"] == {}


def test_progress_prints_a_line_per_file_when_not_a_terminal(capsys):
    progress = cli._Progress(2, enabled=True)
    progress.advance("a.csv", "SUCCEEDED")
    progress.advance("b.csv", "FAILED")
    progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "[###############---------------] 1/2 files  a.csv: SUCCEEDED",
        "[##############################] 2/2 files  b.csv: FAILED",
    ]


class _NeverEnding:
    """A pipeline whose jobs stay RUNNING."""

    def upload(self, path: Path):
        return f"raw/{path.name}", "v1"

    def shown_key(self, key: str) -> str:
        return key

    def finished(self, objects, *, timeout):
        return {}


def test_jobs_without_a_final_status_are_reported_failed(tmp_path):
    path = tmp_path / "slow.csv"
    path.write_text("x\n")
    args = argparse.Namespace(json=True, timeout=0.3)
    (outcome,) = cli._process(_NeverEnding(), [path], args)
    assert outcome.status == "FAILED"
    assert outcome.error == "no final status within 0s"
    assert outcome.job_id is None
    assert "totals" not in outcome.to_json()


def test_duration_falls_back_to_the_wall_clock_without_timestamps():
    assert (
        cli._duration(
            {"createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:02.5Z"}, 9.0
        )
        == 2.5
    )
    assert cli._duration({}, 9.0) == 9.0


def test_context_pairs_reach_the_synth_and_bad_ones_are_usage_errors(tmp_path, capsys):
    assert cli._context(["compliance=strict", "a=b=c"]) == {"compliance": "strict", "a": "b=c"}
    data = Path(__file__).resolve().parents[2] / "examples" / "data" / "transactions-clean.csv"
    code = cli.main(["run", str(data), "-c", "compliance", "--out", str(tmp_path)])
    assert code == cli.EXIT_USAGE
    assert "--context 'compliance': use KEY=VALUE" in capsys.readouterr().err


def test_a_big_files_outputs_are_its_parts_in_order_without_the_summaries_and_its_curated_files(
    tmp_path,
):
    job = "0123456789abcdef0123456789abcdef"
    exported = [
        tmp_path / "enriched" / job / "summaries" / "part-000000000001.json",
        tmp_path / "enriched" / job / "parts" / "part-000000000011.jsonl",
        tmp_path / "enriched" / job / "parts" / "part-000000000001.jsonl",
        tmp_path / "rejected" / job / "parts" / "part-000000000001.rejected.jsonl",
        tmp_path / "enriched" / "another-job" / "x.jsonl",
        tmp_path / "curated" / "transactions" / "transaction_date=2024-03-02" / f"{job}.parquet",
        tmp_path / "curated" / "rejects" / "received_date=2026-12-07" / f"{job}.parquet",
        tmp_path / "curated" / "transactions" / "transaction_date=2024-03-02" / "other.parquet",
    ]
    outcome = JobOutcome(
        file="big.csv", key="raw/big.csv", job_id=job, status="SUCCEEDED", error=None
    )
    outputs = cli._local_outputs(outcome, tmp_path, exported)
    assert outputs == {
        "enriched": [str(exported[2]), str(exported[1])],
        "rejected": [str(exported[3])],
        "failed": [],
        "curated": [str(exported[6]), str(exported[5])],
    }


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_redraws_one_line_with_what_the_job_does(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = cli._Progress(1, enabled=True)
    assert progress.live
    progress.show("big.csv: TRANSFORMING, 52.1 of 98.7 MB read")
    progress.advance("big.csv", "SUCCEEDED")
    progress.close()
    text = terminal.getvalue()
    assert "\n" not in text.rstrip("\n")  # one line, redrawn with carriage returns
    assert "0/1 files  big.csv: TRANSFORMING, 52.1 of 98.7 MB read" in text
    # each redraw clears the rest of the line: a shorter line leaves nothing of a longer one
    assert text.rstrip().endswith("1/1 files  big.csv: SUCCEEDED\x1b[K")


@pytest.mark.parametrize("tty", [False, True])
def test_progress_shows_no_activity_with_json_or_off_a_terminal(tty, monkeypatch):
    stream = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    progress = cli._Progress(1, enabled=not tty)  # --json on the terminal; plain elsewhere
    assert not progress.live
    progress.show("big.csv: VALIDATING, 1.0 of 9.0 MB read")
    assert "VALIDATING" not in stream.getvalue()


class _Busy:
    """A pipeline whose one job ends after two looks, saying what it does meanwhile."""

    def __init__(self) -> None:
        self.looks = 0

    def upload(self, path: Path):
        return f"raw/{path.name}", "v1"

    def shown_key(self, key: str) -> str:
        return key

    def finished(self, objects, *, timeout):
        self.looks += 1
        assert timeout <= cli.PROGRESS_SECONDS  # short waits, to redraw between them
        if self.looks < 3:
            return {}
        return {obj: {"jobId": "j", "status": "SUCCEEDED", "rows": {}} for obj in objects}

    def activity(self, obj):
        return f"VALIDATING, {self.looks}.0 of 3.0 MB read"


def test_a_run_on_a_terminal_shows_the_step_and_bytes_read(tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    path = tmp_path / "big.csv"
    path.write_text("x\n")
    (outcome,) = cli._process(_Busy(), [path], argparse.Namespace(json=False, timeout=60))
    assert outcome.status == "SUCCEEDED"
    assert "big.csv: VALIDATING, 2.0 of 3.0 MB read" in terminal.getvalue()
