"""The benchmark's input profiles (``bench.generate``) hold what they claim: the reference
engine rejects exactly the rows the generator meant to spoil, with the codes it meant, and
each profile has the shape its row of the bench table is labelled with."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from etl_handlers.core.codes import FILE_ROW_CODES
from etl_handlers.core.schema import load_schema
from etl_handlers.engines.reference.engine import ReferenceEngine
from etl_handlers.engines.selector import validate_stream

from bench.generate import PROFILES, generate, main

SCHEMA = load_schema(None)
ROWS = 5_000  # enough for every row code in every profile but clean


def reference_rejects(path: Path) -> list[tuple[int, str]]:
    rejects = io.BytesIO()
    with path.open("rb") as source:
        result = validate_stream(
            source,
            io.BytesIO(),
            rejects,
            schema=SCHEMA,
            max_reject_rate=Decimal(1),
            engine=ReferenceEngine(),
        )
    assert result.error is None and result.rows_input == ROWS
    return [
        (line["row"], line["code"]) for line in map(json.loads, rejects.getvalue().splitlines())
    ]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_gives_exactly_the_rejects_it_claims(profile, tmp_path):
    made = generate(ROWS, tmp_path / "f.csv", profile=profile)
    assert reference_rejects(made.path) == made.rejects
    rate = len(made.rejects) / ROWS
    expected_rate = PROFILES[profile].reject_rate
    assert 0.7 * expected_rate < rate < 1.3 * expected_rate
    if profile != "clean":  # the clean file misses a code or two at this size
        assert set(made.by_code) == set(FILE_ROW_CODES)


def test_rates_can_be_set_on_the_messy_profiles_only(tmp_path):
    made = generate(ROWS, tmp_path / "f.csv", profile="realistic", reject_rate=0.0)
    assert made.rejects == [] == reference_rejects(made.path)
    with pytest.raises(ValueError, match="clean"):
        generate(10, tmp_path / "g.csv", profile="clean", reject_rate=0.02)


def records(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


def breaks(rows: list[list[str]]) -> int:
    return sum(1 for row in rows if len(row) > 6 and "\n" in row[6])


def test_the_clean_profile_is_the_original_file(tmp_path):
    path = generate(2_000, tmp_path / "f.csv", profile="clean").path
    data = path.read_bytes()
    # the bytes the generator wrote before profiles existed: README figures stay comparable
    assert hashlib.sha256(data).hexdigest()[:16] == "3ffe9bd344234350"
    assert not data.startswith(b"\xef\xbb\xbf") and breaks(records(path)) == 0


def test_the_realistic_profiles_hold_line_breaks_at_their_rate(tmp_path):
    sparse = generate(20_000, tmp_path / "a.csv", profile="realistic").path
    dense = generate(2_000, tmp_path / "b.csv", profile="realistic-10").path
    data = sparse.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfTransaction_ID,") and b"\r\n" in data
    assert 8 <= breaks(records(sparse)) <= 35  # 1 in 1,000
    assert 150 <= breaks(records(dense)) <= 250  # 1 in 10
    text = data.decode("utf-8")
    for sample in ("=SUM(A1:A9)", "🍕", "usd", "Debit", "  "):
        assert sample in text


def test_the_adversarial_profile_breaks_every_row_in_a_wide_merchant(tmp_path):
    path = generate(2_000, tmp_path / "f.csv", profile="adversarial").path
    rows = [row for row in records(path) if len(row) == 10 and "\0" not in row[6]]
    widths = [len(row[6]) for row in rows]
    assert breaks(rows) == len(rows) and min(widths) >= 100 and 255 in widths
    assert path.read_bytes().split(b"\n", 1)[0].endswith(b",Country")  # LF records


def test_same_seed_same_bytes(tmp_path):
    one = generate(1_000, tmp_path / "a.csv", profile="adversarial", seed=7).path.read_bytes()
    two = generate(1_000, tmp_path / "b.csv", profile="adversarial", seed=7).path.read_bytes()
    other = generate(1_000, tmp_path / "c.csv", profile="adversarial", seed=8).path.read_bytes()
    assert one == two != other


def test_one_command_makes_a_file_and_says_its_mix(tmp_path, capsys):
    out = tmp_path / "mine.csv"
    assert main(["--profile", "realistic-10", "--rows", "2k", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (realistic-10, 2,000 rows" in printed
    assert "rejects it must give: " in printed and "DUPLICATE_ID" in printed
    assert len(records(out)) == 2_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rows", "lots", "--out", "x.csv"], "not a row count: 'lots'"),
        (["--rows", "2k"], "give --rows and --out"),
        (["--rows", "2k", "--out", "x.csv", "--reject-rate", "7"], "between 0 and 1"),
    ],
)
def test_bad_arguments_get_a_clear_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_rate_the_clean_profile_cannot_take_is_refused(tmp_path, capsys):
    argv = ["--profile", "clean", "--rows", "10", "--out", str(tmp_path / "x.csv")]
    assert main([*argv, "--special-rate", "0.1"]) == 2
    assert "fixed rates" in capsys.readouterr().err
