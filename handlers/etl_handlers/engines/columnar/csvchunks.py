"""CSV input in chunks: pyarrow-parsed where that is certain to match the ``csv`` module, and
the reference reader (:class:`core.csvio.CsvSource`), resumed mid-file, everywhere else.

:class:`CsvChunks` reads the source in reads that end on the reference reader's 64 KiB
windows (its ``NOT_UTF8`` check and partial counts depend on them), finds the header, and
yields :class:`FastChunk` objects (whole lines, safe for pyarrow) until it meets something it
cannot certify; then it yields one :class:`SlowRows` with a reference reader resumed at that
byte, which reads the rest of the file exactly as the reference would have.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from etl_handlers.core import csvio
from etl_handlers.core.csvio import CheckedBytes, CsvSource
from etl_handlers.core.report import Reason
from etl_handlers.engines.columnar import kernels

__all__ = ["CHUNK_TARGET", "CsvChunks", "FastChunk", "Resume", "SlowRows", "parse_chunk"]

CHUNK_TARGET = 4 << 20
"""Bytes buffered per chunk (a multiple of the reference's 64 KiB read window)."""
_BOM = codecs.BOM_UTF8
_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
SAFE_LINE = rf"^{_FIELD}(?:,{_FIELD})*\r?$"
"""A line both parsers read the same way: every field unquoted without quotes, or quoted
whole with doubled inner quotes, on this line (RE2 syntax; the line without its LF)."""
_SAFE_LINE = re.compile(rf"{_FIELD}(?:,{_FIELD})*")


class Resume(io.RawIOBase):
    """``data`` (bytes starting at absolute offset ``offset``), then the rest of ``source``,
    in reads that never cross a multiple of :data:`csvio.CHUNK_BYTES`, so a reader resumed here
    sees the same read windows as one that started at byte 0."""

    def __init__(self, data: bytes, source: BinaryIO, offset: int) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._source = source
        self._position = offset
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        window = csvio.CHUNK_BYTES - self._position % csvio.CHUNK_BYTES
        want = window if size is None or size < 0 else min(size, window)
        parts = []
        if self._data:
            part = bytes(self._data[:want])
            self._data = self._data[len(part) :]
            parts.append(part)
            want -= len(part)
        while want > 0 and not self._eof:
            part = self._source.read(want)
            if not part:
                self._eof = True
                break
            parts.append(part)
            want -= len(part)
        data = b"".join(parts)
        self._position += len(data)
        return data


class ResumedSource(CsvSource):
    """The reference reader over the rest of a file, from a line start at ``offset`` after
    ``lines`` physical lines: same checks, same messages (byte offsets and line numbers
    count from the start of the file), header already known."""

    def __init__(self, stream: BinaryIO, offset: int, lines: int, header: list[str]) -> None:
        self._bytes = CheckedBytes(stream)
        self._bytes._offset = offset
        self._bytes._newlines = lines
        # Mid-file: a BOM here is data, not a signature.
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8", newline="")
        self._text._CHUNK_SIZE = csvio.CHUNK_BYTES  # type: ignore[attr-defined]
        self.rows: Iterator[list[str]] = csv.reader(self._text, strict=True)
        self.header = header
        self._lines_before = lines

    @property
    def line_num(self) -> int:
        return self._lines_before + self.rows.line_num  # type: ignore[attr-defined]


@dataclass
class FastChunk:
    """Whole lines (each ending in LF), none blank, all safe for pyarrow. ``ends``: the
    offset of each line's LF; ``quoted``: which lines hold a quote character (None: not
    known)."""

    data: bytes
    lines: int
    ends: np.ndarray
    quoted: np.ndarray | None = None

    @cached_property
    def nul_lines(self) -> np.ndarray:
        """The 1-based lines that hold a NUL byte (pyarrow reads them with a stand-in byte,
        validation rejects them), found once for the chunk."""
        data = self.data
        found: list[int] = []  # a few are found by memchr (bytes.find), many in one pass
        at = data.find(b"\0")
        while at >= 0 and len(found) < 1024:
            found.append(at)
            at = data.find(b"\0", at + 1)
        if at >= 0:
            where = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        else:
            where = np.array(found, dtype=np.int64)
        return np.unique(np.searchsorted(self.ends, where)) + 1


@dataclass
class SlowRows:
    """The rest of the file, read by the reference reader; ``reason``: what the columnar
    reader could not certify."""

    reader: ResumedSource
    reason: Reason


@dataclass
class Header:
    """The header the reference reader read, and where the data starts."""

    names: list[str]
    reader: CsvSource


class CsvChunks:
    """Chunks of a CSV stream; see the module docstring. Call :meth:`open` first."""

    def __init__(self, source: BinaryIO, target: int | None = None) -> None:
        self._source = source
        self._target = target or CHUNK_TARGET
        self._buffer = b""
        self._start = 0  # absolute offset of _buffer[0]
        self._lines = 0  # LFs before _buffer[0]
        self._eof = False
        self._initial = b""
        self.header: list[str] = []
        self.reason: Reason | None = None  # why open() handed the whole file back

    def _fill(self) -> None:
        """Read until the buffer holds ``target`` bytes and ends on a read window (or EOF),
        in reads of at most one window, as the reference reads."""
        window = csvio.CHUNK_BYTES
        target = max(window, self._target - self._target % window)
        parts = [self._buffer]
        size = len(self._buffer)
        end = self._start + size
        while not self._eof and (size < target or end % window):
            data = self._source.read(window - end % window)
            if not data:
                self._eof = True
                break
            parts.append(data)
            size += len(data)
            end += len(data)
        self._buffer = b"".join(parts)

    def _rest(self) -> Resume:
        return Resume(self._buffer, self._source, self._start)

    def open(self, required: Iterable[str]) -> BinaryIO | None:
        """Read and check the header (FileRejected as the reference raises it). Returns None
        when the fast path may go on; otherwise the whole file again as a stream, for the
        reference to read instead (the header is not a simple line)."""
        self._fill()
        data = self._initial = self._buffer
        skip = len(_BOM) if data.startswith(_BOM) else 0
        end = data.find(b"\n", skip)
        line = data[skip : end + 1]
        # The reference reads whole 64 KiB windows: bad UTF-8 in the one that completes the
        # header fails the file before the header is looked at.
        window = -(-(end + 1) // csvio.CHUNK_BYTES) * csvio.CHUNK_BYTES
        head_eof = self._eof and window >= len(data)
        if not _utf8_ok(data[:window], b"", head_eof):
            self.reason = Reason.BAD_UTF8
        elif end < 0:
            self.reason = Reason.NO_FINAL_LINE_END if self._eof else Reason.OVERLONG_LINE
        elif not _simple_header(line):
            self.reason = Reason.HEADER
        if self.reason is not None:
            return self._rest()  # type: ignore[return-value]
        reader = csvio.open_csv(io.BytesIO(data[: end + 1]), required=required)
        self.header = reader.header
        self._buffer = data[end + 1 :]
        self._start = end + 1
        self._lines = 1
        return None

    def restart(self) -> BinaryIO:
        """The whole file again as a stream (only right after :meth:`open`)."""
        return Resume(self._initial, self._source, 0)  # type: ignore[return-value]

    def __iter__(self) -> Iterator[FastChunk | SlowRows]:
        while True:
            self._fill()
            data = self._buffer
            if not data:
                return
            cut = data.rfind(b"\n") + 1
            chunk = data[:cut]
            if cut:
                layout = _safe_lines(chunk, data[cut:], self._eof)
            else:
                layout = Reason.NO_FINAL_LINE_END if self._eof else Reason.OVERLONG_LINE
            if isinstance(layout, Reason):
                reader = ResumedSource(self._rest(), self._start, self._lines, self.header)
                yield SlowRows(reader, layout)
                return
            self._buffer = data[cut:]
            lines, ends, quoted = layout
            yield FastChunk(chunk, lines, ends, quoted)
            self._start += cut
            self._lines += lines


def _simple_header(line: bytes) -> bool:
    """The header line (ending in LF) reads the same with pyarrow's rules as with ``csv``."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    body = text[:-1]
    if body.endswith("\r"):
        body = body[:-1]
    return bool(body) and _SAFE_LINE.fullmatch(body) is not None


def _utf8_ok(data: bytes, tail: bytes, eof: bool) -> bool:
    """``data`` is valid UTF-8, and so is the start of ``tail`` (the bytes read past the
    chunk, up to the read window), bar a sequence cut short at the end of the buffer."""
    if tail and data.endswith(b"\n"):
        # a line end is never inside a sequence: check each part, without copying them
        return _utf8_ok(data, b"", True) and _utf8_ok(tail, b"", eof)
    whole = data + tail if tail else data
    if not eof:
        # A multi-byte sequence may continue in the next read.
        cut = len(whole)
        for back in range(1, min(4, cut) + 1):
            byte = whole[cut - back]
            if byte < 0x80:
                break
            if byte >= 0xC0:
                need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
                if need > back:
                    whole = whole[: cut - back]
                break
    try:
        kernels.binary_of(whole).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _safe_lines(chunk: bytes, tail: bytes, eof: bool) -> tuple[int, Any, Any] | Reason:
    """``(lines, LF offsets, lines with a quote)`` of ``chunk`` when pyarrow may parse it,
    else the reason it may not."""
    if not _utf8_ok(chunk, tail, eof):
        return Reason.BAD_UTF8
    view = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    lines = len(ends)
    starts = _line_starts(ends)
    lengths = ends - starts
    if lengths.max() >= min(csvio.MAX_FIELD_CHARS, csvio.MAX_LINE_BYTES):
        return Reason.OVERLONG_LINE  # the reference may fail it (FIELD_TOO_LARGE, LINE_TOO_LONG)
    crs = np.count_nonzero(view == 13)
    if crs:
        before = ends[ends > 0] - 1
        if crs != np.count_nonzero(view[before] == 13):
            return Reason.BARE_CR  # a CR that does not end a line
        if (lengths == 0).any() or ((lengths == 1) & (view[np.maximum(ends - 1, 0)] == 13)).any():
            return Reason.BLANK_LINE
    elif (lengths == 0).any():
        return Reason.BLANK_LINE
    quotes = np.flatnonzero(view == 34)
    has_quote = np.zeros(lines, dtype=bool)
    if len(quotes):
        line_of = np.searchsorted(ends, quotes)  # ascending
        first = np.concatenate(([True], line_of[1:] != line_of[:-1]))
        has_quote[line_of[first]] = True
        unsafe = _quotes_safe(view, quotes, first, quotes == starts[line_of])
        if unsafe is not None:
            return unsafe
    return lines, ends, has_quote


def _quotes_safe(
    view: np.ndarray, quotes: np.ndarray, first: np.ndarray, start: np.ndarray
) -> Reason | None:
    """None when the quotes of a chunk of whole lines (no CR but before a LF) sit where
    :data:`SAFE_LINE` allows them, else the reason: a quoted line break (a line's last
    quote opens a field), or a stray quote. ``quotes``: their offsets, ascending;
    ``first``: which is the first of its line; ``start``: which is at its line's start.

    Counted within its line, an even quote opens a quoted field and must be at a field's
    start (the line's start, or after a comma) or follow a closing one (a doubled quote
    inside the field); an odd quote closes it and must come before a comma, the line end
    or another quote (the doubled one); and each line has an even number."""
    index = np.arange(len(quotes))
    opens = (index - np.maximum.accumulate(np.where(first, index, 0))) % 2 == 0
    before = view[quotes - 1]  # (at offset 0 the chunk's last byte: but that is a start)
    after = view[quotes + 1]  # a chunk ends in LF: never a quote
    opening = start | (before == 44) | (before == 34)
    closing = (after == 44) | (after == 13) | (after == 10) | (after == 34)
    placed = np.where(opens, opening, closing)
    last_opens = opens & np.append(first[1:], True)  # a line's last quote opens a field
    if last_opens.any():
        # the first unsafe quote decides: a field left open at its line's end is a
        # quoted line break (valid CSV), a quote elsewhere a stray one
        bad = np.flatnonzero(~placed | last_opens)[0]
        return Reason.QUOTED_LINE_BREAK if last_opens[bad] and placed[bad] else Reason.STRAY_QUOTE
    return None if placed.all() else Reason.STRAY_QUOTE


def parse_chunk(
    chunk: FastChunk, width: int
) -> tuple[list[pa.Array], np.ndarray, list[tuple[int, str]]]:
    """Parse a safe chunk: the ``width`` columns (strings) of the rows with ``width`` fields,
    the 1-based line of each such row in the chunk, and ``(line, text)`` of the others.

    pyarrow parses the whole chunk once and skips the lines of another width. It only
    reports how many it skipped: its own row numbers are wrong in some releases (24, the one
    the Lambda layer carries), and the numbers are what the rejects are reported by. So when
    it skipped any, the fields of every line are counted here to find which.
    """
    data, lines, ends = chunk.data, chunk.lines, chunk.ends
    view = np.frombuffer(data, dtype=np.uint8)
    # pyarrow 24 also splits a field at a NUL byte: it reads a stand-in byte instead
    stand_in = _stand_in(data) if b"\0" in data else None
    parsed = data.replace(b"\0", stand_in) if stand_in is not None else data
    table, skipped = _read(parsed, width)
    if skipped:
        starts = _line_starts(ends)
        # a few skipped lines are found from their texts; many are cheaper counted
        keep = _located(parsed, starts, ends, skipped, width) if len(skipped) <= 256 else None
        if keep is None:
            keep = _field_counts(view, ends, chunk.quoted) == width
        ragged = [
            (int(line) + 1, _line_text(data, starts[line], ends[line]))
            for line in np.flatnonzero(~keep)
        ]
        numbers = np.flatnonzero(keep).astype(np.int64) + 1
    else:
        ragged = []
        numbers = np.arange(1, lines + 1, dtype=np.int64)
    if len(numbers) != table.num_rows:  # pragma: no cover - pyarrow broke the contract
        raise AssertionError("pyarrow kept another number of rows than have the header's width")
    columns = [_single(table.column(index)) for index in range(width)]
    if stand_in is not None:
        columns = [_restore_nul(column, stand_in) for column in columns]
    return columns, numbers, ragged


def _restore_nul(column: pa.Array, stand_in: bytes) -> pa.Array:
    """``column`` with the stand-in byte read back as NUL. The stand-in occurs nowhere else
    in the chunk, so every one of its bytes is a NUL: a same-size patch of the data buffer
    (the offsets stay), where rewriting the values that hold one costs a copy of them all."""
    validity, offsets, data = column.buffers()
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    hit = raw == stand_in[0]
    if not hit.any():
        return column
    patched = raw.copy()
    patched[hit] = 0
    buffers = [validity, offsets, pa.py_buffer(patched)]
    return pa.Array.from_buffers(column.type, len(column), buffers, offset=column.offset)


def _read(data: bytes, width: int) -> tuple[pa.Table, list[str]]:
    """pyarrow's parse of whole safe lines as ``width`` string columns, and the text of each
    line it skipped for having another number of fields, in file order."""
    names = [f"c{index}" for index in range(width)]
    skipped: list[str] = []

    def invalid(row: Any) -> str:
        skipped.append(row.text)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=len(data) + 1
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )
    return table, skipped


def _located(
    data: bytes, starts: np.ndarray, ends: np.ndarray, texts: list[str], width: int
) -> np.ndarray | None:
    """Which lines have ``width`` fields, found from the texts of the lines pyarrow skipped:
    each is the first whole line after the previous one that reads as that text (lines of
    equal text have equal widths). None when that does not add up (then the caller counts
    every line's fields), so a pyarrow that reported other texts costs time, not truth."""
    keep = np.ones(len(ends), dtype=bool)
    position = 0
    for text in texts:
        needle = text.encode("utf-8")
        while True:
            at = data.find(needle, position)
            if at < 0:
                return None
            line = int(np.searchsorted(ends, at))
            start, stop = int(starts[line]), int(ends[line])
            if at == start and at + len(needle) == _body_end(data, start, stop):
                break
            position = at + 1
        if len(ragged_fields(text)) == width:  # the line found reads as ``text``
            return None
        keep[line] = False
        position = stop + 1
    return keep


def _single(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array (no copy when pyarrow made one chunk, as it does here)."""
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks()  # pragma: no cover - one block, one chunk


def _field_counts(view: np.ndarray, ends: np.ndarray, quoted: Any) -> np.ndarray:
    """Fields per line of a safe chunk: separating commas + 1.

    In a safe line every quote opens or closes a quoted field (or is one of a doubled pair
    inside one, which leaves the parity unchanged), and every line holds an even number of
    them; so across the chunk, quotes ``2i`` and ``2i + 1`` bound the inside of quoted text,
    and a comma separates fields unless it lies in such a span.
    """
    commas = np.flatnonzero(view == 44)
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    if quoted is None or quoted.any():
        quotes = np.flatnonzero(view == 34)
        opens, closes = quotes[0::2], quotes[1::2]
        inside = np.searchsorted(commas, closes) - np.searchsorted(commas, opens)
        per_line -= np.bincount(
            np.searchsorted(ends, opens), weights=inside, minlength=len(ends)
        ).astype(np.int64)
    return per_line + 1


#: Bytes that may stand in for NUL while pyarrow parses: controls no CSV syntax uses.
_STAND_INS = [bytes([b]) for b in (*range(1, 9), 11, 12, *range(14, 32))]


def _stand_in(data: bytes) -> bytes:
    for candidate in _STAND_INS:
        if candidate not in data:
            return candidate
    raise AssertionError("every control byte occurs in the chunk")  # pragma: no cover


def _line_starts(ends: np.ndarray) -> np.ndarray:
    """The offset of each line's first byte, given each line's LF (``ends``)."""
    starts = np.empty(len(ends), dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    return starts


def _body_end(data: bytes, start: int, end: int) -> int:
    """Where the line from ``start`` to its LF at ``end`` ends without its line end (a CR
    before the LF belongs to the line end)."""
    return end - 1 if end > start and data[end - 1] == 13 else end


def _line_text(data: bytes, start: int, end: int) -> str:
    """A line without its line end (LF or CRLF), as the reader reports it."""
    return data[start : _body_end(data, start, end)].decode("utf-8")


def ragged_fields(text: str) -> list[str]:
    """The fields of a safe line, as the ``csv`` module reads them."""
    return next(csv.reader([text], strict=True))
