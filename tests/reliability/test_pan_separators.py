"""Card numbers written with any separator and in any digit script (the audit found dots and
runs of spaces coming through), planted in every text column of valid rows, in the fields of
rejected rows and in header names: none reaches validated/, rejected/, processed/, enriched/,
the step result (counts, totals, header, extra columns, error message) or a log record, on the
fast path and on the reference, which write the same bytes.

One test per kind of separator (``pans.GAPS``), each with card numbers of any script and
grouping; ``FUZZ_EXAMPLES`` examples each (default 30).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from etl_handlers.engines import selector as fast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpus.generate import COLUMNS

from .chain import SCHEMA, ChainOutcome, check_invariants, run_chain
from .pans import GAPS, pan_findings, written_pans

EXAMPLES = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT_COLUMNS = [column.name for column in SCHEMA.columns if column.type == "text"]
GOOD = {name: "" for name in COLUMNS} | {
    "account_id": "ACC1",
    "timestamp": "2024-03-01T10:00:00Z",
    "amount": "12.30",
    "currency": "USD",
    "transaction_type": "DEBIT",
    "country": "US",
}


class Planting:
    """Draws card numbers written one kind of way, around other text, and keeps their digits."""

    def __init__(self, data: st.DataObject, kind: str) -> None:
        self.data = data
        self.kind = kind
        self.digits: set[str] = set()

    def text(self) -> str:
        written, digits = self.data.draw(written_pans(self.kind))
        self.digits.add(digits)
        before = self.data.draw(st.sampled_from(["", "paid ", "x", "card: ", "9"]))
        after = self.data.draw(st.sampled_from(["", " thanks", "y", ".", "0"]))
        return before + written + after


def planted_file(planting: Planting) -> bytes:
    """A few rows: the text columns of any row may hold a card number; a rejected row (a bad
    amount) holds one in its identifiers too; maybe an extra column is named by one."""
    draw = planting.data.draw
    extra = [planting.text()] if draw(st.booleans()) else []
    rows = [[*COLUMNS, *extra]]
    for number in range(draw(st.integers(1, 6))):
        values = {**GOOD, "transaction_id": f"tx-{number}"}
        for name in TEXT_COLUMNS:
            if draw(st.booleans()):
                values[name] = planting.text()
        if draw(st.integers(0, 3)) == 0:
            values.update(transaction_id=planting.text(), account_id=planting.text(), amount="x")
        rows.append([*(values[name] for name in COLUMNS), *(["v"] if extra else [])])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@contextlib.contextmanager
def path(switch: str) -> Iterator[None]:
    """The fast path (``"1"``) or the reference (``"0"``) inside the block."""
    os.environ[fast.ENV_SWITCH] = switch
    try:
        yield
    finally:
        del os.environ[fast.ENV_SWITCH]


@contextlib.contextmanager
def columnar_chunks() -> Iterator[list[int]]:
    """Counts the chunks the columnar validator parses itself inside the block."""
    from etl_handlers.engines.columnar import validate as columnar_validate

    count = [0]
    original = columnar_validate.parse_chunk

    def counted(*args: object, **kwargs: object) -> object:
        count[0] += 1
        return original(*args, **kwargs)

    columnar_validate.parse_chunk = counted  # type: ignore[assignment]
    try:
        yield count
    finally:
        columnar_validate.parse_chunk = original


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps({**vars(record), "message": record.getMessage()}, default=str))


@contextlib.contextmanager
def logged() -> Iterator[list[str]]:
    """Every log record of any level emitted inside the block, with its extra fields."""
    root = logging.getLogger()
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.NOTSET)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def leaks(
    data: bytes, planted: set[str], *, rows: bool = True
) -> tuple[ChainOutcome, list[ChainOutcome], list[str]]:
    """Both paths' outcomes for ``data``, and what the scan finds in anything they wrote;
    with ``rows``, the fast path must have validated rows with the columnar engine."""
    # The scan does find what it looks for: in the input itself.
    assert all(pan_findings(data.decode(), {digits}) for digits in planted)
    outcomes, found = [], []
    for switch in ("1", "0"):
        with path(switch), logged() as records, columnar_chunks() as chunks:
            outcome = run_chain(data, max_reject_rate=Decimal(1))
        # The comparison means something only if the columnar engine validated the file
        # itself, not by falling back to the reference reader for every chunk.
        assert (chunks[0] > 0) == (rows and switch == "1"), (switch, chunks)
        check_invariants(data, outcome)
        outcomes.append(outcome)
        texts = [*(output.decode() for output in outcome.outputs()), *records]
        texts += [outcome.message or "", json.dumps(outcome.summary)]
        found += [finding for text in texts for finding in pan_findings(text, planted)]
    return outcomes[0], outcomes, found


@pytest.mark.parametrize("kind", sorted(GAPS))
@EXAMPLES
@given(data=st.data())
def test_no_card_number_written_any_way_reaches_an_output(kind: str, data: st.DataObject) -> None:
    planting = Planting(data, kind)
    source = planted_file(planting)
    outcome, outcomes, found = leaks(source, planting.digits)
    assert not found
    assert outcomes[0] == outcomes[1]  # the fast path wrote the reference's bytes
    assert outcome.status == "SUCCEEDED"


@pytest.mark.parametrize("kind", sorted(GAPS))
@EXAMPLES
@given(data=st.data())
def test_no_card_number_written_any_way_reaches_a_failed_files_message(
    kind: str, data: st.DataObject
) -> None:
    """A header that names one column twice: the message quotes the (scrubbed) name."""
    planting = Planting(data, kind)
    name = planting.text()
    source = (",".join([*COLUMNS, name, name]) + "\n").encode()
    outcome, outcomes, found = leaks(source, planting.digits, rows=False)
    assert not found
    assert outcomes[0] == outcomes[1]
    assert outcome.code == "DUPLICATE_COLUMN"
