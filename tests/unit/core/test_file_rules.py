"""File rules: encoding, CSV syntax, header, sizes, reject rate; and the output files."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from etl_handlers.core import codes, csvio
from etl_handlers.core.csvio import CsvSource, open_csv
from etl_handlers.core.errors import FileRejected

from .conftest import GOOD, HEADER, VISA, as_validated, csv_bytes, row, validate

LINE = ",".join(GOOD[name] for name in HEADER)
HEAD = ",".join(HEADER)


def error_of(data: bytes) -> tuple[str, str]:
    run = validate(data)
    assert run.result.outcome == "INVALID"
    assert run.result.error is not None
    return run.result.error


def test_empty_file() -> None:
    assert error_of(b"")[0] == codes.EMPTY_FILE


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\n\n\r\n", b"\xef\xbb\xbf\n"])
def test_no_header_is_empty(data: bytes) -> None:
    assert error_of(data)[0] == codes.EMPTY_FILE


def test_header_only_is_valid_with_zero_rows() -> None:
    run = validate((HEAD + "\n").encode())
    result = run.result
    assert (result.outcome, result.rows_input, result.rows_valid, result.error) == (
        "VALID",
        0,
        0,
        None,
    )
    assert run.valid_rows == [list(HEADER)]
    assert run.rejects_raw == b""


def test_bom_is_accepted() -> None:
    run = validate(b"\xef\xbb\xbf" + csv_bytes([GOOD]))
    assert (run.result.outcome, run.result.rows_valid) == ("VALID", 1)
    assert run.result.header[0] == "transaction_id"


def test_invalid_utf8_gives_offset_and_line() -> None:
    data = csv_bytes([GOOD]) + b"tx-2,ACC1,2024-02-29T10:00:00Z,1.00,USD,DEBIT,Caf\xe9,,,\n"
    code, message = error_of(data)
    assert code == codes.NOT_UTF8
    offset = data.index(b"\xe9")
    assert f"offset {offset}" in message
    assert "line 3" in message


def test_invalid_utf8_far_into_the_file() -> None:
    rows = [row(transaction_id=f"tx-{i}") for i in range(3000)]
    data = csv_bytes(rows) + b"\xff\n"
    code, message = error_of(data)
    assert code == codes.NOT_UTF8
    assert f"offset {len(data) - 2}" in message
    assert "line 3002" in message


def test_truncated_utf8_at_the_end() -> None:
    data = csv_bytes([GOOD]) + b"x\xc3"
    code, message = error_of(data)
    assert code == codes.NOT_UTF8
    assert f"offset {len(data) - 1}" in message


def test_utf8_split_across_chunks_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 7)
    data = csv_bytes([row(merchant="Café €uro 😀" * 3)])
    run = validate(data)
    assert run.result.outcome == "VALID"
    assert run.valid_rows[1][6] == "Café €uro 😀" * 3


def test_a_header_and_a_range_read_as_one_file_in_the_reference_windows() -> None:
    """A big file's part: its header's bytes, then its range (two streams), read as one file
    whose reads cross the seam but never a 64 KiB window; the streams stay their owner's."""
    head, rest = io.BytesIO(b"h" * 10), io.BytesIO(b"r" * 70000)
    joined = csvio.Joined(head, rest)
    assert joined.read() == b"h" * 10 + b"r" * (csvio.CHUNK_BYTES - 10)
    assert joined.read(5) == b"rrrrr"
    with io.BufferedReader(joined, buffer_size=1 << 20) as buffered:
        assert buffered.read() == b"r" * (70000 - (csvio.CHUNK_BYTES - 10) - 5)
    assert not head.closed and not rest.closed
    header, body = csv_bytes([GOOD]).split(b"\n", 1)
    part = open_csv(io.BufferedReader(csvio.Joined(io.BytesIO(header + b"\n"), io.BytesIO(body))))
    whole = open_csv(io.BytesIO(header + b"\n" + body))
    assert part.header == whole.header
    assert list(part.rows) == list(whole.rows)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings(newline: bytes) -> None:
    data = newline.join([HEAD.encode(), LINE.encode(), LINE.replace("tx-1", "tx-2").encode()])
    run = validate(data + newline)
    assert (run.result.outcome, run.result.rows_valid) == ("VALID", 2)


def test_quoted_commas_quotes_and_newlines_in_a_crlf_file() -> None:
    line = LINE.replace("Coffee Shop", '"Shop, ""The Best""\r\nof\rtown\n"')
    run = validate(f"{HEAD}\r\n{line}\r\n".encode())
    assert run.result.rows_valid == 1
    assert run.valid_rows[1][6] == 'Shop, "The Best"\r\nof\rtown\n'


def test_quoted_newlines_survive_verbatim() -> None:
    merchant = 'a,"b"\nc\r\nd'
    run = validate(csv_bytes([row(merchant=merchant)]))
    assert run.valid_rows[1][6] == merchant


def test_unterminated_quote() -> None:
    data = csv_bytes([GOOD]) + b'tx-2,"ACC1,2024\n'
    code, message = error_of(data)
    assert code == codes.MALFORMED_CSV
    assert "line" in message


def test_text_after_closing_quote() -> None:
    data = csv_bytes([GOOD]) + b'tx-2,"ACC1"x,2024\n'
    assert error_of(data)[0] == codes.MALFORMED_CSV


def test_nul_in_header_fails_the_file() -> None:
    utf16ish = "transaction_id,amount\n".encode("utf-16-le")
    assert error_of(utf16ish)[0] == codes.MALFORMED_CSV


def test_utf16_with_bom_is_not_utf8() -> None:
    assert error_of("a,b\n".encode("utf-16"))[0] == codes.NOT_UTF8


def test_field_too_large() -> None:
    data = csv_bytes([GOOD]) + b'tx-2,"' + b"x" * (csvio.MAX_FIELD_CHARS + 1) + b'",\n'
    code, message = error_of(data)
    assert code == codes.FIELD_TOO_LARGE
    assert str(csvio.MAX_FIELD_CHARS) in message


def test_field_at_the_limit_is_a_row_matter() -> None:
    data = csv_bytes([row(merchant="x" * csvio.MAX_FIELD_CHARS)])
    run = validate(data)
    assert run.codes == [codes.TOO_LONG]


def test_line_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 256)
    ok = csv_bytes([row(merchant="m" * 900)])
    assert validate(ok).result.outcome == "VALID"
    long = csv_bytes([row(merchant=",".join(["m"] * 600))])
    code, _ = error_of(long)
    assert code == codes.LINE_TOO_LONG


def test_line_too_long_ending_in_a_later_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 256)
    # 1100 bytes without a line end, then a line end: caught when the end arrives.
    data = HEAD.encode() + b"\n" + b"x" * 1100 + b"\nshort\n"
    assert error_of(data)[0] == codes.LINE_TOO_LONG


def test_many_short_lines_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "MAX_LINE_BYTES", 300)
    monkeypatch.setattr(csvio, "CHUNK_BYTES", 64)
    rows = [row(transaction_id=f"tx-{i}") for i in range(50)]
    assert validate(csv_bytes(rows)).result.rows_valid == 50


def test_duplicate_header_after_normalization() -> None:
    header = [*HEADER, " Amount "]
    code, message = error_of(csv_bytes([GOOD], header=header))
    assert code == codes.DUPLICATE_COLUMN
    assert "amount" in message


def test_missing_required_columns_are_listed() -> None:
    header = [name for name in HEADER if name not in ("amount", "currency", "merchant")]
    code, message = error_of(csv_bytes([GOOD], header=header))
    assert code == codes.MISSING_COLUMN
    assert "amount" in message
    assert "currency" in message
    assert "merchant" not in message


def test_header_is_normalized_any_order_and_extras_listed() -> None:
    names = list(reversed(HEADER))
    header = ["  COUNTRY", *[name.upper() for name in names[1:]], "Note ", " EXTRA"]
    values = [GOOD[name] for name in names] + ["hello", "x"]
    data = (",".join(header) + "\n" + ",".join(values) + "\n").encode()
    run = validate(data)
    result = run.result
    assert result.outcome == "VALID"
    assert result.extra_columns == ["note", "extra"]
    assert result.header == [*names, "note", "extra"]
    assert run.valid_rows == [list(HEADER), [as_validated(GOOD)[name] for name in HEADER]]


def test_missing_optional_columns_are_empty_in_the_output() -> None:
    header = [name for name in HEADER if name not in ("merchant", "country")]
    run = validate(csv_bytes([GOOD], header=header))
    assert run.result.rows_valid == 1
    expected = [as_validated(GOOD)[name] if name in header else "" for name in HEADER]
    assert run.valid_rows[1] == expected


def test_blank_lines_are_not_rows() -> None:
    data = csv_bytes([GOOD, row(transaction_id="tx-2", amount="-1")])
    data = data.replace(b"\n", b"\n\n")
    run = validate(b"\n" + data)
    assert run.result.rows_input == 2
    assert run.rejects[0]["row"] == 2


def test_header_with_pan_is_scrubbed() -> None:
    data = (HEAD + f",{VISA}\n" + LINE + ",x\n").encode()
    result = validate(data).result
    assert VISA not in json.dumps(result.header)
    assert VISA not in json.dumps(result.extra_columns)
    assert result.extra_columns == ["************1111"]


def test_reject_rate_exceeded() -> None:
    rows = [row(transaction_id=f"tx-{i}") for i in range(95)]
    rows += [row(transaction_id=f"bad-{i}", amount="-1") for i in range(6)]
    run = validate(csv_bytes(rows), max_reject_rate=Decimal("0.05"))
    result = run.result
    assert result.outcome == "INVALID"
    assert result.error is not None
    code, message = result.error
    assert code == codes.REJECT_RATE_EXCEEDED
    assert "6 of 101" in message
    assert "5%" in message
    assert (result.rows_input, result.rows_valid, result.rows_rejected) == (101, 95, 6)


def test_reject_rate_at_the_limit_is_valid() -> None:
    rows = [row(transaction_id=f"tx-{i}") for i in range(95)]
    rows += [row(transaction_id=f"bad-{i}", amount="-1") for i in range(5)]
    assert validate(csv_bytes(rows), max_reject_rate=Decimal("0.05")).result.outcome == "VALID"


def test_counts_hold_when_a_file_rule_fails_midway() -> None:
    data = csv_bytes([GOOD, row(transaction_id="t2", amount="-1")]) + b'x,"open\n'
    result = validate(data).result
    assert result.outcome == "INVALID"
    assert result.rows_input == result.rows_valid + result.rows_rejected == 2


def test_reject_lines_mask_cards_and_scrub_text() -> None:
    rows = [
        row(transaction_id="t1", amount="-1", merchant=f"paid with {VISA}"),
        row(transaction_id="t2", card_number="4111111111111112"),
    ]
    run = validate(csv_bytes(rows))
    assert VISA not in run.rejects_raw.decode()
    assert "4111111111111112" not in run.rejects_raw.decode()
    first, second = run.rejects
    assert first == {
        "row": 1,
        "code": codes.INVALID_AMOUNT,
        "column": "amount",
        "message": first["message"],
        "fields": {
            **{name: GOOD[name] for name in HEADER},
            "transaction_id": "t1",
            "amount": "-1",
            "merchant": "paid with ************1111",
            "card_number": "************1111",
        },
    }
    assert "amount" in first["message"]
    assert second["fields"]["card_number"] == "************1112"


def test_reject_fields_of_a_short_row() -> None:
    run = validate(csv_bytes([GOOD]) + b"tx-2,ACC1\n")
    assert run.rejects[0]["fields"] == {"transaction_id": "tx-2", "account_id": "ACC1"}


def test_csv_source_api() -> None:
    reader = open_csv(io.BytesIO(b"A, B \n1,2\n"), required=["a"])
    assert reader.header == ["a", "b"]
    with reader.errors():
        assert list(reader.rows) == [["1", "2"]]
    assert reader.line_num == 2
    assert reader.saw_nul is False
    reader.detach()


def test_csv_source_reports_missing_required() -> None:
    with pytest.raises(FileRejected) as caught:
        CsvSource(io.BytesIO(b"a,b\n")).read_header(["a", "c"])
    assert caught.value.code == codes.MISSING_COLUMN
    assert caught.value.message == "required columns missing from the header: c"
    assert str(caught.value) == f"{codes.MISSING_COLUMN}: {caught.value.message}"


def test_a_source_with_nothing_ready_reads_as_the_end() -> None:
    class NonBlocking(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes | None:  # type: ignore[override]
            return None

    reader = CsvSource(NonBlocking(b"a,b\n"))  # type: ignore[arg-type]
    with pytest.raises(FileRejected) as caught:
        reader.read_header()
    assert caught.value.code == codes.EMPTY_FILE


def test_reading_never_takes_the_whole_stream() -> None:
    class Source(io.BytesIO):
        reads: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            assert size is not None and 0 < size <= csvio.CHUNK_BYTES
            self.reads.append(size)
            return super().read(size)

    rows = [row(transaction_id=f"tx-{i}") for i in range(2000)]
    source = Source(csv_bytes(rows))
    valid, rejects = io.BytesIO(), io.BytesIO()
    from etl_handlers.engines.selector import validate_stream

    from .conftest import SCHEMA

    result = validate_stream(source, valid, rejects, schema=SCHEMA)
    assert result.rows_valid == 2000
    assert len(Source.reads) > 1


def test_a_row_repeats_the_header_when_it_names_every_column_the_header_named():
    repeats_header = csvio.repeats_header
    named = ["transaction_id", "amount", "currency"]
    assert repeats_header([" Currency", "AMOUNT ", "transaction_id"], named)  # any order, case
    assert repeats_header(["transaction_id", "amount", "currency", "memo"], named)  # more
    assert not repeats_header(["transaction_id", "amount"], named)  # one missing
    assert not repeats_header(["x-transaction_id", "amount", "currency"], named)
    assert not repeats_header(["t1", "10.00", "EUR"], named)
    assert not repeats_header(["transaction_id"], [])


# -- the file's end: lines of spaces, tabs and 0x1A are no rows --------------------------------


class _Trickle(io.RawIOBase):
    """A source whose reads return at most ``step`` bytes (a network stream's short reads)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self.read_to_end = data, step, False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece, self._data = self._data[: self._step], self._data[self._step :]
        self.read_to_end = self.read_to_end or not piece
        return piece


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        (b"a,b\r\n1,2\r\n  \r\n\t\r\n\x1a", b"a,b\r\n1,2\r\n"),
        (b"a,b\n1,2  \n", b"a,b\n1,2  \n"),  # the last record's own spaces stay
        (b"a,b\n1,2  \x1a\x1a", b"a,b\n1,2  "),  # no line end: the marks go, the spaces stay
        (b"\x1a", b""),  # nothing but blank-looking bytes: an empty file
        (b"\r\n   \r\n\t", b""),
        (b"a,b\r1,2\r \r", b"a,b\r1,2\r"),
        (b"a,b\n \n1,2\n", b"a,b\n \n1,2\n"),  # a line of spaces before a record stays one
        (b"", b""),
    ],
)
def test_file_end_drops_the_blank_looking_lines_after_the_last_record(
    data: bytes, kept: bytes
) -> None:
    for step in (1, 3, len(data) or 1):
        source = _Trickle(data, step)
        assert csvio.FileEnd(source).read() == kept
        assert source.read_to_end  # a hash over the source sees every byte


def test_file_end_returns_whole_reads_as_the_readers_windows_need() -> None:
    """Each read of n bytes gives n bytes until the end, whatever the source's reads give:
    the readers above cut the file in the same windows as without it."""
    data = (HEAD + "\n" + (LINE + "\n") * 5000).encode() + b"   \n\x1a"
    reader = csvio.FileEnd(_Trickle(data, 1000))
    sizes = []
    while piece := reader.read(csvio.CHUNK_BYTES):
        sizes.append(len(piece))
    kept = len(data) - len(b"   \n\x1a")
    assert sizes[:-1] == [csvio.CHUNK_BYTES] * (kept // csvio.CHUNK_BYTES)
    assert sum(sizes) == kept


def test_file_end_holds_back_at_most_its_bound() -> None:
    """Past MAX_HELD_BYTES of blank-looking bytes the earlier ones are handed on (memory
    stays bounded): the lines among them are rows again, the last ones still dropped."""
    spaces = b" \n" * csvio.MAX_HELD_BYTES
    reader = csvio.FileEnd(io.BytesIO(b"a,b\n" + spaces))
    out = reader.read()
    assert out.startswith(b"a,b\n") and len(out) < len(b"a,b\n" + spaces)
    assert len(b"a,b\n" + spaces) - len(out) <= csvio.MAX_HELD_BYTES
