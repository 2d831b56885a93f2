"""Review of issue 19: the operator commands as a user types them (`etl-pipeline run`,
`etl-pipeline reprocess`), in-process like tests/local/test_cli_operations.py."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from etl_constructs.local import cli
from tests.adversarial.kit import csv, manifest, row

pytestmark = pytest.mark.xdist_group("adversarial-ops")
ROOT = Path(__file__).resolve().parents[2]


def _main(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


def _day(folder: Path) -> Path:
    """A data file and its sender's manifest beside it (what `run` uploads with it)."""
    body = csv(row("cli-1"), row("cli-2"))
    data = folder / "day.csv"
    data.write_bytes(body)
    (folder / "day.csv.manifest.json").write_bytes(manifest(body, rows=2, count=2, debit="20.00"))
    return data


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """`etl-pipeline run day.csv -c manifestWaitSeconds=2` with day.csv.manifest.json
    beside it: SUCCEEDED."""
    folder = tmp_path_factory.mktemp("r19-cli")
    data, out = _day(folder), folder / "etl-out"
    context = ["-c", "manifestWaitSeconds=2", "-c", "environmentSuffix=rvcli"]
    code, text, _ = _main(
        "run", str(data), "--out", str(out), "--json", "--project", str(ROOT), *context
    )
    (first,) = map(json.loads, text.splitlines())
    assert (code, first["status"]) == (0, "SUCCEEDED"), first
    return out, first


def test_reprocess_of_a_job_whose_pipeline_requires_manifests_succeeds(ran):
    """`etl-pipeline reprocess JOB` of the job `run` made (its manifest uploaded beside
    it) should run it again from the same file and manifest. Observed: exit 1, 'attempt
    2: FAILED (MANIFEST_MISSING: ... raw/day.csv.manifest.json did not arrive ...)', and
    the job's current status is now FAILED although nothing about the file changed."""
    out, first = ran
    code, text, _ = _main("reprocess", first["job_id"], "--out", str(out), "--json")
    again = json.loads(text)
    assert (code, again["status"], again["attempt"]) == (0, "SUCCEEDED", 2), again


def test_quality_check_with_a_window_too_long_is_a_usage_error(ran):
    """`etl-pipeline quality-check --hours 1000000000`: expected exit 2 with a message
    (as for --hours 0). Observed: a Python traceback, FunctionFailed: date value out of
    range, exit 1."""
    out, _ = ran
    code, _, err = _main("quality-check", "--out", str(out), "--hours", "1000000000")
    assert code == cli.EXIT_USAGE and "--hours" in err


def test_run_with_a_relative_out_and_another_project(tmp_path, monkeypatch):
    """`cd work && etl-pipeline run day.csv --out etl-out --project ../app`: expected the
    run (exit 0, outputs in work/etl-out). Observed: exit 1, 'etl-out/.assembly is not a
    cloud assembly (no manifest.json)', and the synth written into the project's folder
    (../app/etl-out/.assembly)."""
    project = tmp_path / "app"
    project.mkdir()
    settings = json.loads((ROOT / "cdk.json").read_text())
    settings["app"] = f"{sys.executable} {ROOT / 'examples' / 'app.py'}"
    (project / "cdk.json").write_text(json.dumps(settings))
    work = tmp_path / "work"
    work.mkdir()
    (work / "day.csv").write_bytes(csv(row("rel-1")))
    monkeypatch.chdir(work)
    code, _, err = _main(
        "run", "day.csv", "--out", "etl-out", "--json", "--project", "../app",
        "-c", "environmentSuffix=rvrel",
    )  # fmt: skip
    assert not (project / "etl-out").exists()  # nothing written into the app's folder
    assert code == 0, err
    assert (work / "etl-out" / "jobs.json").is_file()


def test_reprocess_of_a_duplicate_job_reports_it_as_run_does(tmp_path):
    """`etl-pipeline run a.csv b.csv -c duplicateFiles=true` (same bytes) exits 0 and says
    'DUPLICATE: same bytes as job ...'. `etl-pipeline reprocess` of the DUPLICATE job (the
    API allows it) ends DUPLICATE again, as it should, but exits 1 (a script takes that
    for a failure) and prints 'attempt 2: DUPLICATE' without the job it duplicates."""
    body = csv(row("dup-cli-1"))
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in files:
        path.write_bytes(body)
    out = tmp_path / "etl-out"
    code, text, _ = _main(
        "run", *map(str, files), "--out", str(out), "--json", "--project", str(ROOT),
        "-c", "duplicateFiles=true", "-c", "environmentSuffix=rvclidup",
    )  # fmt: skip
    results = [json.loads(line) for line in text.splitlines()]
    assert code == 0 and sorted(r["status"] for r in results) == ["DUPLICATE", "SUCCEEDED"]
    (duplicate,) = [r for r in results if r["status"] == "DUPLICATE"]
    (original,) = [r for r in results if r["status"] == "SUCCEEDED"]
    code, text, _ = _main("reprocess", duplicate["job_id"], "--out", str(out))
    assert "DUPLICATE" in text
    assert code == 0, text
    assert original["job_id"] in text
