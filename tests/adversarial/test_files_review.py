"""Adversarial review of the CSV intake: files as banks, card processors and spreadsheets
really export them, through the entry points a user runs (the step engines as the
validator, transformer and enricher call them, and ``etl-pipeline run``). Each test
asserts a promise of the README or docs/ and is xfail(strict) until the bug it names is
fixed.

The promises: no row is lost and none is invented (rows in = valid + rejected, and a
transaction is a row of the file); bad input gets a clear error (a FAILED job with a code
and a message that names the problem, or a row rejected with a code), never a hang or a
silent success; no card number in any output, log or job record.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from etl_handlers.core import codes

from tests.adversarial.engines import ENGINES, engine_chain
from tests.adversarial.kit import HEADER, PAN, cli_run, row
from tests.reliability.pans import pan_findings

ROOT = Path(__file__).resolve().parents[2]


def chain(data: bytes, engine: str, max_reject_rate: Decimal = Decimal("0.05")) -> dict:
    """validate -> transform -> enrich with one engine, as the three steps run them."""
    return engine_chain(data, engine, max_reject_rate=max_reject_rate)


# --- 1. Two exports concatenated: the second header is read as a data row -------------------

SECOND_HEADER = (  # the same columns, merchant and category the other way round
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,category,"
    "merchant,card_number,country"
)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_two_concatenated_exports_with_other_column_orders_are_not_silently_mixed_up(engine):
    first = [row(f"a{i}", merchant="Amazon", category="retail") for i in range(25)]
    second = [
        f"b{i},ACC1,2026-11-19T10:00:00Z,10.00,EUR,DEBIT,retail,Amazon,{PAN},DE" for i in range(25)
    ]
    data = ("\r\n".join([HEADER, *first, SECOND_HEADER, *second]) + "\r\n").encode()
    out = chain(data, engine)
    if out["outcome"] == "VALID":
        # a pipeline that reads the second export by its own header keeps every value
        # in its column; merchant "Amazon" and category "retail" in every row
        swapped = [r["transaction_id"] for r in out["records"] if r["merchant"] != "Amazon"]
        assert swapped == [], f"merchant and category swapped in {len(swapped)} rows"
        # and the header line is not a transaction of the file
        assert out["rows"][0] == 50, out["rows"]
    else:
        assert out["error"] is not None and "header" in out["error"][1].lower(), out["error"]


# --- 2. Junk a sender's tool leaves after the last row --------------------------------------


@pytest.mark.parametrize(
    "tail",
    [b"   \r\n", b"\t\r\n", b"\x1a", b" \r\n\t\r\n\x1a", b"\r\n   ", b"  \n\n  \r"],
    ids=["spaces-line", "tab-line", "ctrl-z-eof", "three-lines", "blank-then-spaces", "mixed"],
)
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_blank_looking_last_line_is_not_a_rejected_transaction(engine, tail):
    """A spreadsheet's last "empty" row (spaces or a tab) or a DOS end-of-file mark
    (Ctrl-Z, 0x1A) was read as a row and rejected FIELD_COUNT: rows.input counted a
    transaction the file does not hold (a manifest's rows never matched), and a small good
    file ended REJECT_RATE_EXCEEDED."""
    rows = [row("t1"), row("t2", amount="5.00", kind="CREDIT"), row("t3", currency="USD")]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode() + tail
    out = chain(data, engine)
    assert out["rows"] == (3, 3, 0), (out["rows"], out["rejects"])
    assert out["outcome"] == "VALID", out["error"]
    assert out == chain(("\r\n".join([HEADER, *rows]) + "\r\n").encode(), engine)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_line_of_spaces_between_rows_is_still_a_rejected_row(engine):
    """Only the file's end is trimmed: a line of spaces between two records is a row the
    sender wrote (rejected FIELD_COUNT, numbered), and what follows the last record's value
    without a line end stays that value's, but for DOS end-of-file marks."""
    rows = [row("t1"), "   ", row("t2")]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode()
    out = chain(data, engine, max_reject_rate=Decimal("0.5"))
    assert out["rows"] == (3, 2, 1)
    assert [(r["row"], r["code"]) for r in out["rejects"]] == [(2, codes.FIELD_COUNT)]
    # a DOS end-of-file mark glued to the last record goes; the record's own bytes stay
    for tail, code in (("\x1a", None), ("X\x1a\x1a", codes.INVALID_COUNTRY)):
        glued = ("\r\n".join([HEADER, row("t1")]) + tail).encode()
        out = chain(glued, engine, max_reject_rate=Decimal("1"))
        assert [r["code"] for r in out["rejects"]] == ([code] if code else []), out["rejects"]
        assert out["rows"][0] == 1


# --- 3. Misleading MISSING_COLUMN: the error names columns the header holds ------------------

HEADER_SHAPES = {  # shape: the input, and words a message naming its real problem would use
    # Excel's delimiter hint on the first line (what Excel writes for "CSV for Excel")
    "excel-sep-line": b"sep=,\r\n" + HEADER.encode() + b"\r\n" + row("t1").encode() + b"\r\n",
    # a European Excel export: semicolons
    "semicolons": (HEADER + "\r\n" + row("t1") + "\r\n").replace(",", ";").encode(),
    # a file saved twice by a tool that adds a BOM each time
    "double-bom": b"\xef\xbb\xbf\xef\xbb\xbf" + HEADER.encode() + b"\n" + row("t1").encode(),
    # a line of spaces before the header
    "spaces-before-header": b"   \n" + HEADER.encode() + b"\n" + row("t1").encode() + b"\n",
    # quoted names with a space after the delimiter: `a, "b"`
    "space-then-quoted-name": (
        HEADER.replace(",account_id,", ', "account_id",') + "\n" + row("t1") + "\n"
    ).encode(),
}


HINTS = {
    "excel-sep-line": ("sep=",),
    "semicolons": ("delimiter", "';'", "semicolon"),
    "double-bom": ("bom", "byte order mark", "\ufeff"),
    "spaces-before-header": ("blank", "whitespace", "line 1"),
    "space-then-quoted-name": ("quote",),
}


@pytest.mark.parametrize("shape", sorted(HEADER_SHAPES))
def test_a_header_problem_is_not_reported_as_columns_the_header_holds_being_missing(shape):
    data = HEADER_SHAPES[shape]
    out = chain(data, "columnar")
    assert out == chain(data, "reference")  # both engines agree; the message is the issue
    if out["outcome"] == "VALID":
        assert out["rows"] == (1, 1, 0)
        return
    code, message = out["error"]
    assert code in codes.FILE_CODES and message
    if any(hint in message.lower() for hint in HINTS[shape]):
        return  # the message names the real problem
    if code == codes.MISSING_COLUMN:
        named = message.split(":", 1)[1].split(",")
        text = data.decode("utf-8", errors="replace").lower()
        present = [name.strip() for name in named if name.strip() in text]
        assert present == [], f"{message!r} names columns the file has: {present}"


# --- 4 and 5. Through etl-pipeline run (one pipeline per process: a subprocess each) -------


def _cli_run(files: list[Path], out: Path, *, timeout: float) -> tuple[int, list[dict], float, str]:
    """`etl-pipeline run FILE... --out OUT --json --project ROOT` in its own process: exit
    status, result lines, seconds taken, standard error."""
    run = cli_run(ROOT, files, out, timeout=timeout)
    return run.code, run.results, run.seconds, run.stderr


CLEAN = (
    "\r\n".join([HEADER, row("t1"), row("t2", amount="5.00", kind="CREDIT")]) + "\r\n"
).encode()


def test_a_file_named_after_a_card_number_is_refused_and_leaves_no_card_number(tmp_path):
    """A per-card statement, 'statement-4111111111111111.csv': processing it would copy the
    number into every row's source_key, the job record, the logs, the lineage events and the
    output keys. The job is recorded FAILED CARD_NUMBER_IN_NAME under the masked name, with
    a message that says what to do, and the number is in nothing the command writes."""
    source = tmp_path / "in" / f"statement-{PAN}.csv"
    source.parent.mkdir()
    source.write_bytes(CLEAN)
    out = tmp_path / "out"
    run = cli_run(ROOT, [source], out, timeout=300)
    assert run.code == 1 and len(run.results) == 1, (run.code, run.results, run.stderr)
    job = run.results[0]
    assert job["status"] == "FAILED", job
    assert job["error"].startswith(f"{codes.CARD_NUMBER_IN_NAME}: "), job
    assert "rename the file" in job["error"], job
    assert job["file"] == str(source.with_name("statement-************1111.csv")), job
    leaks = {}
    for path in out.rglob("*"):
        if ".assembly" in path.parts or not path.is_file():
            continue
        relative = str(path.relative_to(out))
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = pan_findings(relative + "\n" + text, planted=[PAN])
        if found:
            leaks[relative] = found[0]
    assert not leaks, f"a card number in {len(leaks)} exported files: {sorted(leaks)}"
    said = pan_findings(run.stdout + "\n" + run.stderr, planted=[PAN])
    assert not said, said


def test_a_file_name_the_trigger_refuses_is_refused_at_once_with_the_reason(tmp_path):
    """A name the rule's pattern takes but the trigger refuses (a tab, as scripts name
    files) started no job, and the command waited out its whole --timeout: it is refused
    up front now, with the trigger's reason, as a name no rule takes is."""
    source = tmp_path / "in" / "export\t2026-11-19.csv"
    source.parent.mkdir()
    source.write_bytes(CLEAN)
    code, results, took, errors = _cli_run([source], tmp_path / "out", timeout=300)
    assert code == 2 and not results, (code, results)
    assert "the trigger refuses it (key must not contain control characters)" in errors
    assert took < 200, f"etl-pipeline run waited {took:.0f}s for a job that never started"
