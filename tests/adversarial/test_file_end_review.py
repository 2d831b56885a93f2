"""Adversarial review of commit 2415410 (``csvio.FileEnd``): lines at a file's end that hold
only spaces, tabs or DOS end-of-file marks (0x1A) are no rows.

Each test asserts a promise of the README, the CHANGELOG or the module's docstrings; each
failed before its fix (a long blank run scanned byte by byte in Python at every read, a
statement's glued end-of-file mark, files of only blank-looking bytes not EMPTY_FILE).
What held under review (both engines alike, the big-file plan and its parts finding what the
whole file finds, read windows and NOT_UTF8 offsets unchanged, manifests' hash whole, CR-
only files, tails across a 64 KiB window) is listed in the review's report, not tested twice
here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from etl_handlers.core import codes

from tests.adversarial.engines import ENGINES, engine_chain, engine_validate

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"
HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,"
    "category,card_number,country"
)


def row(ident: str) -> str:
    return f"{ident},ACC1,2026-11-19T10:00:00Z,10.00,EUR,DEBIT,Shop,food,4111111111111111,DE"


def _validate(data: bytes, engine: str, *, file_end: bool = True) -> tuple:
    result = engine_validate(data, engine, file_end=file_end)
    return result.outcome, result.error, (result.rows_input, result.rows_valid)


# --- 1. A long run of blank lines costs ten to seventy times what it did ----------------------


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_long_run_of_blank_lines_costs_about_what_it_did_before(engine):
    """A guard against a cost that grows with the run's length times the reads (it was
    scanned byte by byte in Python at every read: 17-60x), not a speed figure: CPU time,
    compared with the same file read without FileEnd in the same process, a wide margin."""
    rows = [row(f"t{i}") for i in range(50)]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode() + b"\r\n" * (1 << 20)
    data += (row("last") + "\r\n").encode()  # blank lines between records: no rows either way
    started = time.process_time()
    before = _validate(data, engine, file_end=False)
    cost_before = time.process_time() - started
    started = time.process_time()
    after = _validate(data, engine)
    cost_after = time.process_time() - started
    assert after == before == ("VALID", None, (51, 51))
    assert cost_after < 4 * cost_before + 0.5, (round(cost_before, 2), round(cost_after, 2))


# --- 2. A DOS end-of-file mark right after a statement's last byte ----------------------------


@pytest.mark.parametrize("name", ["camt053-two-statements.xml", "bai2-two-accounts.bai"])
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_statement_with_a_dos_end_of_file_mark_after_its_last_byte_is_read(engine, name):
    statement = (CORPUS / name).read_bytes().rstrip(b"\r\n")
    expected = engine_chain(statement, engine)
    assert expected["outcome"] == "VALID", expected["error"]
    assert engine_chain(statement + b"\x1a", engine) == expected


# --- 3. A file holding only blank-looking lines --------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"   \r\n\t\r\n\x1a", b"\x1a", b"\t\r\n", b"\xef\xbb\xbf\x1a"],
    ids=["spaces-tab-ctrl-z", "lone-ctrl-z", "tab-line", "bom-ctrl-z"],
)
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_file_of_only_blank_looking_lines_is_empty(engine, data):
    assert engine_chain(b"\r\n   \r\n", engine)["error"][0] == codes.EMPTY_FILE
    out = engine_chain(data, engine)
    assert out["outcome"] == "INVALID"
    assert out["error"][0] == codes.EMPTY_FILE, out["error"]
