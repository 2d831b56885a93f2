"""CSV input in chunks: pyarrow-parsed where that is certain to match the ``csv`` module, and
read by the ``csv`` module, as the reference reads it, everywhere else.

:class:`CsvChunks` reads the source in reads that end on the reference reader's 64 KiB
windows (its ``NOT_UTF8`` check and partial counts depend on them), finds the header, and
cuts each buffer into records: a line end is a record end when an even number of quotes
precedes it (a quoted field may hold line breaks). Runs of records safe for pyarrow come as
:class:`FastChunk` objects, blank lines left out (the reference skips them without a row
number); a record it cannot certify (a bare CR, a quote out of place, a record longer than
a field may be) starts a range that the ``csv`` module
reads record by record (:class:`RangeRows`, with the reference's line numbers and errors)
up to the next safe record, after which the chunks go on. Only what no range can bound
(bad UTF-8, an overlong line, a last line without a line end, a quoted field running past
what may be buffered) hands the rest of the file to the reference reader resumed at that
byte (:class:`ResumedSource`), which reads it exactly as the reference would have.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
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

__all__ = [
    "CHUNK_TARGET",
    "CsvChunks",
    "FastChunk",
    "RangeRows",
    "SlowRows",
    "parse_chunk",
]

CHUNK_TARGET = 4 << 20
"""Bytes buffered per chunk (a multiple of the reference's 64 KiB read window)."""
MIN_RUN = 512
"""Fewest safe records between two unsafe ones that get a pyarrow batch of their own: a
shorter run is read with the range around it (a batch costs about what the ``csv`` module
takes for a few hundred records)."""
MAX_BUFFER = 4 * CHUNK_TARGET
"""Most bytes buffered to find the end of a record (a quoted field with line breaks); past
it, the rest of the file goes to the reference reader."""
# What makes a record unsafe for pyarrow, by code (0: safe); the lower code wins.
_BLANK = 2  # a blank record's mark in a layout: not unsafe, left out of the records
_UNSAFE = (None, Reason.BARE_CR, None, Reason.STRAY_QUOTE, Reason.OVERLONG_LINE)
_BOM = codecs.BOM_UTF8
_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
SAFE_LINE = rf"^{_FIELD}(?:,{_FIELD})*\r?$"
"""A line both parsers read the same way: every field unquoted without quotes, or quoted
whole with doubled inner quotes, on this line (RE2 syntax; the line without its LF)."""
_SAFE_LINE = re.compile(rf"{_FIELD}(?:,{_FIELD})*")


class ResumedSource(CsvSource):
    """The reference reader over the rest of a file, from a line start at ``offset`` after
    ``lines`` LFs and ``text_lines`` lines of the text layer (more than ``lines`` when a bare
    CR ended some): same checks, same messages (byte offsets and line numbers count from the
    start of the file), header already known."""

    def __init__(
        self, stream: BinaryIO, offset: int, lines: int, text_lines: int, header: list[str]
    ) -> None:
        self._bytes = CheckedBytes(stream)
        self._bytes._offset = offset
        self._bytes._newlines = lines
        # Mid-file: a BOM here is data, not a signature.
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8", newline="")
        self._text._CHUNK_SIZE = csvio.CHUNK_BYTES  # type: ignore[attr-defined]
        self.rows: Iterator[list[str]] = csv.reader(self._text, strict=True)
        self.header = header
        self._lines_before = text_lines

    @property
    def line_num(self) -> int:
        return self._lines_before + self.rows.line_num  # type: ignore[attr-defined]


@dataclass
class _Range:
    """Records the ``csv`` module read from a range of a chunk: each with the number of text
    lines read up to its end, and the error it stopped at, if any."""

    rows: list[list[str]]
    numbers: list[int]
    error: csv.Error | None
    error_line: int
    size: int  # bytes read
    lines: int  # LFs read
    text_lines: int  # lines of the text layer read
    saw_nul: bool


class RangeRows(CsvSource):
    """Records of a range, as the reference reader gives them (its ``errors()`` and line
    numbers, counted from the start of the file), read ahead by :func:`_read_range`."""

    def __init__(self, parsed: _Range, lines_before: int, header: list[str]) -> None:
        self._parsed = parsed
        self._lines_before = lines_before
        self._line = 0
        self.header = header
        self.rows = self._replay()

    def _replay(self) -> Iterator[list[str]]:
        parsed = self._parsed
        for row, number in zip(parsed.rows, parsed.numbers, strict=True):
            self._line = number
            yield row
        if parsed.error is not None:
            self._line = parsed.error_line
            raise parsed.error

    @property
    def line_num(self) -> int:
        return self._lines_before + self._line

    @property
    def saw_nul(self) -> bool:
        return self._parsed.saw_nul


@dataclass
class FastChunk:
    """Whole records (each ending in LF), none blank, all safe for pyarrow. ``lines``: the
    number of records; ``ends``: the offset of each record's last LF; ``quoted``: which
    records hold a quote character (None: not known); ``multiline``: some record holds a
    line break in a quoted field."""

    data: bytes
    lines: int
    ends: np.ndarray
    quoted: np.ndarray | None = None
    multiline: bool = False

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
    """A range of records (:class:`RangeRows`) or the rest of the file
    (:class:`ResumedSource`) read as the reference reads it; ``reason``: what the columnar
    reader could not certify."""

    reader: CsvSource
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
        self._text_lines = 0  # lines of the reference's text layer before _buffer[0]
        self._grow = False  # the next fill reads a target more than the buffer holds
        self._eof = False
        self._initial = b""
        self.header: list[str] = []
        self.reason: Reason | None = None  # why open() handed the whole file back

    def _fill(self) -> None:
        """Read until the buffer holds ``target`` bytes and ends on a read window (or EOF),
        in reads of at most one window, as the reference reads."""
        window = csvio.CHUNK_BYTES
        target = max(window, self._target - self._target % window)
        if self._grow:
            target += len(self._buffer)
            self._grow = False
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

    def _rest(self) -> csvio.Joined:
        return csvio.Joined(self._buffer, self._source, offset=self._start)

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
        self._lines = self._text_lines = 1
        return None

    def restart(self) -> BinaryIO:
        """The whole file again as a stream (only right after :meth:`open`)."""
        return csvio.Joined(self._initial, self._source)  # type: ignore[return-value]

    def __iter__(self) -> Iterator[FastChunk | SlowRows]:
        while True:
            self._fill()
            data = self._buffer
            if not data:
                return
            layout = _layout(data, self._eof)
            if layout is None:  # no record ends in the buffer: a quoted field runs on
                if self._can_grow():
                    continue
                layout = Reason.QUOTED_LINE_BREAK
            if isinstance(layout, Reason):
                yield self._rest_of_file(layout)
                return
            done = yield from self._records(data, layout)
            if done:
                return

    def _can_grow(self) -> bool:
        """Read more before deciding, when the file and the buffer's bound allow."""
        self._grow = not self._eof and len(self._buffer) < MAX_BUFFER
        return self._grow

    def _rest_of_file(self, reason: Reason) -> SlowRows:
        reader = ResumedSource(
            self._rest(), self._start, self._lines, self._text_lines, self.header
        )
        return SlowRows(reader, reason)

    def _consume(self, data: bytes, size: int, lines: int, text_lines: int) -> bytes:
        """Move past ``size`` bytes of ``data`` (the buffer), which hold ``lines`` LFs."""
        self._start += size
        self._lines += lines
        self._text_lines += text_lines
        self._buffer = data = data[size:]
        return data

    def _records(self, data: bytes, layout: _Layout) -> Iterator[FastChunk | SlowRows]:
        """Yield the chunk's runs of safe records and ranges of the others; returns True
        when the rest of the file went to the reference reader."""
        ends, bad, lfs = layout.ends, layout.bad, layout.lfs
        starts = _line_starts(ends)
        # Blank lines are left out of the columnar runs (the reference skips them without a
        # row number), not read as ranges of their own.
        blank = bad == _BLANK
        bad = np.where(blank, 0, bad)
        unsafe = np.flatnonzero(bad)
        count = len(ends)
        base = 0  # offset in the chunk of the buffer's start
        at = 0  # the next record
        lookup: tuple[list[int], list[int], list[int]] | None = None
        while at < count:
            upto = (
                int(unsafe[np.searchsorted(unsafe, at)])
                if unsafe.size and unsafe[-1] >= at
                else count
            )
            if upto > at:
                low, high = int(starts[at]), int(ends[upto - 1]) + 1
                lines = int(np.searchsorted(lfs, high) - np.searchsorted(lfs, low))
                fast = _without_blanks(
                    data[: high - low],
                    starts[at:upto] - low,
                    ends[at:upto] - low,
                    layout.quoted[at:upto],
                    blank[at:upto],
                    lines,
                )
                if fast is not None:
                    yield fast
                data = self._consume(data, high - low, lines, lines)
                base, at = high, upto
                if at == count:
                    return False

            if lookup is None:  # asked once a record: Python lists (numpy calls cost more)
                lookup = starts.tolist(), bad.tolist(), unsafe.tolist()

            def stop(position: int, base: int = base, lookup: Any = lookup) -> bool:
                """A range ends before a run of safe records long enough to be worth a
                batch of its own (or the chunk's last), or where the layout no longer holds."""
                record_starts, record_bad, unsafe_records = lookup
                absolute = base + position
                index = bisect.bisect_left(record_starts, absolute)
                if index == count or record_starts[index] != absolute:
                    return True
                if record_bad[index]:
                    return False
                following = bisect.bisect_left(unsafe_records, index)
                upto = unsafe_records[following] if following < len(unsafe_records) else count
                return upto == count or upto - index >= MIN_RUN

            parsed = _read_range(data, layout.cut - base, stop)
            if parsed is None:  # its last record runs past the buffer's whole lines
                if self._can_grow():
                    return False
                yield self._rest_of_file(_UNSAFE[bad[at]])
                return True
            yield SlowRows(RangeRows(parsed, self._text_lines, self.header), _UNSAFE[bad[at]])
            data = self._consume(data, parsed.size, parsed.lines, parsed.text_lines)
            base += parsed.size
            at = int(np.searchsorted(starts, base))
            if (at < count and starts[at] != base) or base > layout.size:
                return False  # a range with an odd count of quotes: lay the rest out again
        return False


def _without_blanks(
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    quoted: np.ndarray,
    blank: np.ndarray,
    lines: int,
) -> FastChunk | None:
    """The chunk of the safe records of ``data`` (``starts``, ``ends``: each record's first
    byte and last LF in it; ``lines``: its LFs), its blank records left out (their bytes
    cut from a copy); None when every record is blank."""
    if blank.any():
        keep = ~blank
        if not keep.any():
            return None
        cut = np.zeros(len(data) + 1, dtype=np.int32)  # +1 on a blank record's bytes
        np.add.at(cut, starts[blank], 1)
        np.add.at(cut, ends[blank] + 1, -1)
        view = np.frombuffer(data, dtype=np.uint8)
        data = view[np.cumsum(cut[:-1]) == 0].tobytes()
        removed = np.cumsum(np.where(blank, ends - starts + 1, 0))  # blank bytes up to each
        ends, quoted = (ends - removed)[keep], quoted[keep]
        lines -= int(np.count_nonzero(blank))  # a blank record is one line end
    return FastChunk(data, len(ends), ends, quoted, lines != len(ends))


@dataclass
class _Layout:
    """A buffer's records up to its last record end (``size`` bytes): ``ends`` (their last
    LF), ``bad`` (what makes each unsafe, an index into ``_UNSAFE``), ``quoted``, ``lfs``
    (every LF of the buffer's whole lines); ``cut``: the end of its last whole line."""

    size: int
    cut: int
    ends: np.ndarray
    bad: np.ndarray
    quoted: np.ndarray
    lfs: np.ndarray


def _layout(data: bytes, eof: bool) -> _Layout | Reason | None:
    """The records of ``data`` (the buffer); a Reason when the rest of the file must go to
    the reference reader; None when no record ends in it."""
    view = np.frombuffer(data, dtype=np.uint8)
    lfs = np.flatnonzero(view == 10)
    if not len(lfs):
        return Reason.NO_FINAL_LINE_END if eof else Reason.OVERLONG_LINE
    cut = int(lfs[-1]) + 1
    if not _utf8_ok(data[:cut], data[cut:], eof):
        return Reason.BAD_UTF8
    if (lfs - _line_starts(lfs)).max() >= min(csvio.MAX_FIELD_CHARS, csvio.MAX_LINE_BYTES):
        return Reason.OVERLONG_LINE  # the reference may fail it (FIELD_TOO_LARGE, LINE_TOO_LONG)
    if b"\0" in data[:cut] and _stand_in(data[:cut]) is None:
        return Reason.NUL_WITHOUT_STAND_IN  # pyarrow could not be given the NULs to read
    view = view[:cut]
    quotes = np.flatnonzero(view == 34)
    ends = lfs
    misplaced = quotes[:0]
    if len(quotes):
        # In well-placed quoting, quotes 2i and 2i + 1 bound a quoted field: a line end
        # with an odd count of quotes before it is inside one.
        ends = lfs[np.searchsorted(quotes, lfs) % 2 == 0]
        misplaced = _misplaced(view, quotes)
        if len(misplaced) and (not len(ends) or misplaced[-1] > ends[-1]):
            # a stray quote may have left the count odd: its record, as far as known, is
            # the csv module's to read (the layout is made again after it)
            ends = np.append(ends, cut - 1)
        if not len(ends):
            return None
    size = int(ends[-1]) + 1
    view = view[:size]
    starts = _line_starts(ends)
    lengths = ends - starts
    bad = np.zeros(len(ends), dtype=np.int8)
    bad[lengths >= csvio.MAX_FIELD_CHARS] = 4  # a record may hold a field too long
    quoted = np.zeros(len(ends), dtype=bool)
    if len(quotes):
        quotes = quotes[quotes < size]
        bad[np.searchsorted(ends, misplaced[misplaced < size])] = 3
        quoted[np.searchsorted(ends, quotes)] = True
    if (lengths == 0).any():
        bad[lengths == 0] = 2
    crs = np.flatnonzero(view == 13)
    if len(crs):
        bad[(lengths == 1) & (view[np.maximum(ends - 1, 0)] == 13)] = 2  # a CRLF alone
        bare = crs[view[crs + 1] != 10]  # a chunk ends in LF: a CR is never its last byte
        bad[np.searchsorted(ends, bare)] = 1
    return _Layout(size, cut, ends, bad, quoted, lfs)


def _misplaced(view: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The quotes of a chunk of whole records (ending in LF) that sit where no well-quoted
    field puts them. Counted from the chunk's start, an even quote opens a quoted field and
    must be at a field's start (after a comma or a record's line end, or the chunk's start)
    or follow a closing one (a doubled quote inside the field); an odd quote closes it and
    must come before a comma, a line end or another quote (the doubled one)."""
    before = view[quotes - 1]  # (at offset 0 the chunk's last byte: a LF, a record start)
    after = view[quotes + 1]  # a chunk ends in LF: never a quote
    opening = (before == 44) | (before == 10) | (before == 34)
    closing = (after == 44) | (after == 13) | (after == 10) | (after == 34)
    opens = np.arange(len(quotes)) % 2 == 0
    return quotes[~np.where(opens, opening, closing)]


def _read_range(data: bytes, limit: int, stop: Callable[[int], bool]) -> _Range | None:
    """Read records from the start of ``data`` with the ``csv`` module, over the text
    layer's lines (LF, CRLF or a bare CR ends one), up to the first record end that is a
    line start where ``stop(offset)`` holds, or ``limit`` (a line start); a csv error ends
    the range. None when a record runs past ``limit``."""
    rows: list[list[str]] = []
    numbers: list[int] = []
    read = [0, 0, True, False]  # bytes, LFs, at a line's LF, out of lines

    def lines() -> Iterator[str]:
        position = 0
        while position < limit:
            end = data.index(b"\n", position) + 1
            text = data[position:end].decode("utf-8")
            pieces = list(io.StringIO(text, newline="")) if "\r" in text[:-2] else [text]
            for index, piece in enumerate(pieces):
                read[2] = last = index == len(pieces) - 1
                if last:
                    read[0], read[1] = end, read[1] + 1
                yield piece
            position = end
        read[3] = True

    reader = csv.reader(lines(), strict=True)
    error = None
    try:
        for row in reader:
            rows.append(row)
            numbers.append(reader.line_num)
            if read[2] and (read[0] == limit or stop(read[0])):
                break
    except csv.Error as raised:
        if read[3]:
            return None
        error = raised
    size = read[0] if error is None else limit
    return _Range(
        rows, numbers, error, reader.line_num, size, read[1], reader.line_num, b"\0" in data[:size]
    )


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
    if b"\0" in data and stand_in is None:  # pragma: no cover - _layout sends it elsewhere
        raise AssertionError("a chunk with NULs and no stand-in byte reached the parser")
    parsed = data.replace(b"\0", stand_in) if stand_in is not None else data
    table, skipped = _read(parsed, width, chunk.multiline)
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


def _read(data: bytes, width: int, multiline: bool = False) -> tuple[pa.Table, list[str]]:
    """pyarrow's parse of whole safe records as ``width`` string columns, and the text of
    each record it skipped for having another number of fields, in file order.
    ``multiline``: some quoted field holds a line break (pyarrow then parses slower)."""
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
            newlines_in_values=multiline,
            ignore_empty_lines=False,
            invalid_row_handler=invalid,
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


def _stand_in(data: bytes) -> bytes | None:
    """A control byte ``data`` does not hold, to read its NULs as (None: it holds them all;
    :func:`_layout` sends such a buffer to the reference reader)."""
    return next((candidate for candidate in _STAND_INS if candidate not in data), None)


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
