"""`etl-pipeline` refuses what it cannot carry out with one line and exit 2, before it
synthesizes or starts anything: never a traceback, never a silent fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_constructs.local import cli

DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "transactions-clean.csv"


def _usage_error(argv, capsys) -> str:
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("etl-pipeline: error: "), err
    return err


def test_a_project_folder_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    err = _usage_error(
        ["run", str(DATA), "--project", "/nonexistent", "--out", str(tmp_path)], capsys
    )
    assert "--project /nonexistent: no such folder" in err


def test_a_project_folder_without_cdk_json_is_a_usage_error(tmp_path, capsys):
    err = _usage_error(
        ["run", str(DATA), "--project", str(tmp_path), "--out", str(tmp_path)], capsys
    )
    assert "no cdk.json there" in err


def test_an_output_folder_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    existing = tmp_path / "results.txt"
    existing.write_text("keep me\n")
    err = _usage_error(["run", str(DATA), "--out", str(existing)], capsys)
    assert "is a file, not a folder" in err
    assert existing.read_text() == "keep me\n"
    for command in (["status", "j1"], ["jobs"], ["quality-check"]):
        assert "is a file" in _usage_error([*command, "--out", str(existing)], capsys)


@pytest.mark.parametrize("hours", ["-3", "0", "1000000000"])
def test_quality_check_hours_outside_the_window_is_a_usage_error(hours, tmp_path, capsys):
    err = _usage_error(["quality-check", "--hours", hours, "--out", str(tmp_path)], capsys)
    assert f"--hours {hours}: give a number of hours from 1 to" in err


def test_a_timeout_of_zero_is_a_usage_error(tmp_path, capsys):
    err = _usage_error(["run", str(DATA), "--timeout", "0", "--out", str(tmp_path)], capsys)
    assert "--timeout 0" in err


def test_help_documents_every_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = capsys.readouterr().out
    for code in (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_SYNTH):
        assert f"\n  {code}  " in text
    assert "did not synthesize" in text and ".etl-pipeline/cache" in text
    assert "--no-cache" in text
