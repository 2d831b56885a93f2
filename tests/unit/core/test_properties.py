"""Properties over arbitrary input: validate_stream never escapes with an exception, counts
always add up, and no Luhn-valid 12-19 digit run ever reaches the reject file."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.reliability.pans import pan_windows

from .conftest import GOOD, HEADER, VISA, validate

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAD = ",".join(HEADER).encode()


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in strings(key) + strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def check_run(data: bytes) -> None:
    run = validate(data)
    result = run.result
    assert result.outcome in ("VALID", "INVALID")
    if result.outcome == "INVALID":
        assert result.error is not None
        code, message = result.error
        assert code and message
        assert not pan_windows(message)
    else:
        assert result.error is None
    assert result.rows_input == result.rows_valid + result.rows_rejected
    assert len(run.rejects) == result.rows_rejected
    # A JSON escape such as \u0000 stands for one character that is not a digit or a card
    # number separator (as the decoded values below are checked): its own digits must not
    # join a digit run.
    text = re.sub(r"\\u[0-9a-fA-F]{4}", "x", run.rejects_raw.decode("utf-8"))
    assert not pan_windows(text)
    for reject in run.rejects:
        for value in strings(reject):
            assert not pan_windows(value), value
    for name in result.header + result.extra_columns:
        assert not pan_windows(name)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes(data: bytes) -> None:
    check_run(data)


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_after_a_good_header(data: bytes) -> None:
    check_run(HEAD + b"\n" + data)


CSV_ALPHABET = st.sampled_from(
    list("0123456789") * 4
    + list(',,,"\n\r -.:TZ+/_\t\u00a0\u2013')
    + ["\0", "é", "\ufeff", "\u0664", VISA, "USD", "DEBIT"]
)


@SETTINGS
@given(st.lists(CSV_ALPHABET, max_size=200).map("".join))
@example("50000030474\x000")  # a NUL among digits: its JSON escape is not a separator
def test_csv_like_text(text: str) -> None:
    check_run(HEAD + b"\n" + text.encode("utf-8"))


FIELD = st.one_of(
    st.sampled_from([*GOOD.values(), "", VISA, "4111 1111 1111 1111", "-1", "XAU", "ZZ"]),
    st.text(alphabet="0123456789 -./_\t\u00a0\u200b\u0664", min_size=10, max_size=40),
    st.text(max_size=20),
)


@SETTINGS
@given(st.lists(st.lists(FIELD, min_size=8, max_size=12), max_size=12))
def test_structured_rows(rows: list[list[str]]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    check_run(out.getvalue().encode("utf-8", "surrogatepass"))


def test_pan_windows_helper_finds_pans() -> None:
    assert pan_windows(f"x {VISA} y") == [VISA]
    assert pan_windows("4111 1111 1111 1111") == [VISA]
    assert pan_windows("4111  1111.1111\u00a0/1111") == [VISA]
    assert pan_windows("************1111") == []
    assert json.dumps(pan_windows("123")) == "[]"
