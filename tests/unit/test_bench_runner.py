"""``python -m bench --input FILE``: a user times the engines on a file of their own, each
checked against the reference, and gets a clear error for a bad argument."""

from __future__ import annotations

import pytest

from bench.__main__ import main
from bench.generate import generate


def test_a_users_file_gets_a_table_with_every_engine_checked(tmp_path, capsys):
    mine = generate(2_000, tmp_path / "mine.csv", profile="realistic-10").path
    argv = ["--input", str(mine), "--engines", "reference,ours", "--runs", "1"]
    assert main([*argv, "--cpu", "0", "--scratch", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"{mine} (2,000 rows" in printed
    assert "| ours |" in printed and "yes, byte-identical outputs" in printed
    assert "ours on the columnar path: validate " in printed  # the engine report's share


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "/no/such.csv"], "no such file: /no/such.csv"),
        (["--profiles", "clean,messy"], "unknown size or profile: messy"),
        (["--engines", "ours,spark"], "unknown engines: spark"),
    ],
)
def test_bad_arguments_get_a_clear_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_the_curated_run_times_every_valid_row_in_the_enrich_step(tmp_path):
    from bench import engines

    mine = generate(2_000, tmp_path / "mine.csv", profile="realistic").path
    result = engines.run("ours-curated", mine, tmp_path / "out")
    assert result["check"]["curated"] == result["valid"] == result["check"]["enriched"]
    assert set(result["steps"]) == {"validate", "transform", "enrich"}
