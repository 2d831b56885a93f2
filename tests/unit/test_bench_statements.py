"""bench/statements.py prints its figures: entries per CPU-second per format, and the peak
memory of a child reading a big camt.053."""

from __future__ import annotations

import re

from bench.statements import main


def test_the_bench_prints_a_rate_per_format(capsys):
    assert main(["--entries", "300"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["camt.053", "mt940", "bai2", "camt.053"]
    assert all(re.search(r"[\d,]+ entries/CPU-s$", line) for line in lines)


def test_the_big_statement_is_read_by_a_child_whose_peak_memory_is_reported(capsys):
    assert main(["--entries", "0", "--big-mb", "2"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    found = re.fullmatch(
        r"camt\.053 big: (\d+) MB, ([\d,]+) entries, .* peak RSS (\d+) MB "
        r"\(before reading: (\d+) MB\)",
        line,
    )
    assert found, line
    assert int(found.group(1)) == 2 and int(found.group(3)) >= int(found.group(4)) > 0
