"""Streaming CSV reading over a binary stream, in constant memory apart from the current row.

Decisions (each a file rule with a stable code from :mod:`etl_handlers.core.codes`):

* Encoding: UTF-8, an optional BOM is skipped. Bytes are checked as they stream past, so
  invalid UTF-8 is ``NOT_UTF8`` with its exact byte offset and line, wherever it sits.
* Line ends: LF, CRLF and CR alone (``io.TextIOWrapper(newline="")`` semantics), also inside
  quoted fields, which keep them verbatim.
* Dialect: RFC 4180, comma, double quote, ``""`` escapes; ``csv`` in strict mode, so an
  unterminated quote or text after a closing quote is ``MALFORMED_CSV`` (the parser cannot
  be trusted to find the next row after that, so the file fails, not the row).
* Blank lines are not records: skipped, not counted, not numbered. Neither are the lines at
  the end of a file that hold only spaces, tabs or DOS end-of-file marks (0x1A: a
  spreadsheet's last "empty" row, an old tool's Ctrl-Z): :class:`FileEnd` drops them before
  any parser reads the file (the last :data:`MAX_HELD_BYTES` of them; a line of spaces
  between two records is still a record, rejected ``FIELD_COUNT``).
* Header: the first record; names trimmed and lower-cased. Equal names are
  ``DUPLICATE_COLUMN``; missing required names ``MISSING_COLUMN``. No header at all is
  ``EMPTY_FILE`` (0 bytes, only a BOM, only blank lines).
* NUL characters: in the header they make the file ``MALFORMED_CSV`` (a NUL-laden header
  almost always means UTF-16 or a binary file); in a data row they reject that row only
  (``NUL_CHARACTER``, decided by the caller). :attr:`CsvSource.saw_nul` turns true as soon as
  a NUL byte streams past, so callers skip the per-field check on the usual clean file.
* Sizes: a field longer than :data:`MAX_FIELD_CHARS` is ``FIELD_TOO_LARGE`` and a physical
  line longer than :data:`MAX_LINE_BYTES` is ``LINE_TOO_LONG``, both for the whole file: such
  input is almost always an unterminated quote or not a transaction file, and bounding both
  keeps memory bounded.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.masking import scrub

__all__ = [
    "CHUNK_BYTES",
    "MAX_FIELD_CHARS",
    "MAX_HELD_BYTES",
    "MAX_LINE_BYTES",
    "CsvSource",
    "FileEnd",
    "Joined",
    "normalize_name",
    "open_csv",
]

MAX_FIELD_CHARS = 1 << 20
"""Longest field accepted, in characters (1 MiB)."""
MAX_LINE_BYTES = 8 << 20
"""Longest physical line accepted, in bytes (8 MiB)."""
CHUNK_BYTES = 1 << 16
"""Read size on the source stream."""

# The limit is process-wide in the csv module; every reader in the handlers wants the same.
csv.field_size_limit(MAX_FIELD_CHARS)


class CheckedBytes(io.BufferedIOBase):
    """A read-only byte stream over ``source`` that checks UTF-8 and line length on the fly.

    Sits under the ``TextIOWrapper``, so decoding errors are reported with an exact byte
    offset (the wrapper's own errors only know its internal chunk) and a runaway line fails
    before the text layer buffers it all.
    """

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0  # bytes handed out so far
        self._newlines = 0  # LF count in those bytes (for line numbers in messages)
        self._line_run = 0  # bytes since the last line end
        self._finished = False
        self.saw_nul = False
        self.head = b""  # the first bytes, to tell whether the text layer skipped a BOM

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if self._finished:
            return b""
        data = self._source.read(size if size and size > 0 else CHUNK_BYTES)
        if data is None:  # a non-blocking raw stream with nothing ready
            data = b""
        self._check(data)
        if len(self.head) < len(codecs.BOM_UTF8):
            self.head = (self.head + data)[: len(codecs.BOM_UTF8)]
        self._offset += len(data)
        self._newlines += data.count(b"\n")
        return data

    read = read1

    def _check(self, data: bytes) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, not data)
        except UnicodeDecodeError as error:
            position = self._offset - pending + error.start
            before = max(error.start - pending, 0)
            line = self._newlines + data[:before].count(b"\n") + 1
            raise FileRejected(
                codes.NOT_UTF8,
                f"the file is not valid UTF-8: bad byte at offset {position} (line {line}); "
                "save it as UTF-8",
            ) from None
        if not data:
            self._finished = True
            return
        if b"\0" in data:
            self.saw_nul = True
        first = _first_line_end(data)
        if first < 0:
            self._line_run += len(data)
        else:
            self._line_run += first
            if self._line_run <= MAX_LINE_BYTES:
                self._line_run = len(data) - 1 - max(data.rfind(b"\n"), data.rfind(b"\r"))
        if self._line_run > MAX_LINE_BYTES:
            raise FileRejected(
                codes.LINE_TOO_LONG,
                f"line {self._newlines + 1} is longer than {MAX_LINE_BYTES} bytes",
            )


class ReadsInto:
    """``readinto`` for a reader whose ``read(size)`` does the work (what ``io.BufferedReader``
    and ``io.TextIOWrapper`` call on a raw stream)."""

    def read(self, size: int = -1) -> bytes:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


_TAIL_BYTES = b" \t\r\n\x1a"
_TAIL = frozenset(_TAIL_BYTES)
"""The bytes of a line :class:`FileEnd` drops, with its line end."""
_EOF_MARK = b"\x1a"
MAX_HELD_BYTES = 1 << 20
"""Most bytes of a file's blank-looking end :class:`FileEnd` holds back to tell."""


class FileEnd(ReadsInto, io.RawIOBase):
    """``source``'s bytes without the lines at its end that hold only spaces, tabs and 0x1A
    (DOS end-of-file marks): the file ends at the first line end after its last other byte.
    0x1A right at the end, after the last record without a line end (``COPY /A`` adds one),
    is dropped too; a file of nothing but such bytes is empty.

    A read of ``size`` bytes returns ``size`` bytes until the end (whatever the source's
    reads return), so the readers above see the same read windows as over the whole file
    (``NOT_UTF8``'s place and partial counts depend on them). Bytes that may belong to that
    end are held back until a later byte or the source's end tells, at most
    :data:`MAX_HELD_BYTES` of them. The source is read to its end (a hash of it stays whole).
    """

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._buffer = bytearray()
        self._ready = 0  # bytes at the buffer's start known to be the file's
        self._ended = False
        self._content = False  # a byte other than those of a blank-looking line came

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_BYTES), b""))
        if not self._buffer and not self._ended and size:
            data = self._source.read(size)
            if len(data) == size and data[-1] not in _TAIL:
                return data  # the usual read, ending inside a line: handed on as it is
            self._pull(data)
        while self._ready < size and not self._ended:
            lacking = size - len(self._buffer)  # so that the buffer is empty after this read
            self._pull(self._source.read(lacking if lacking > 0 else CHUNK_BYTES))
        taken = min(size, self._ready)
        data = bytes(self._buffer[:taken])
        del self._buffer[:taken]
        self._ready -= taken
        return data

    def _pull(self, data: bytes) -> None:
        if not data:
            self._ended = True
            held = bytes(self._buffer[self._ready :])
            first = _first_line_end(held)
            if not self._content:  # only blank-looking lines: no header, an empty file
                end = 0
            elif first >= 0:  # the file ends at that line end, CRLF as one
                end = first + 2 if held[first : first + 2] == b"\r\n" else first + 1
            else:  # after the last record: its own spaces stay, end-of-file marks go
                end = len(held.rstrip(_EOF_MARK))
            del self._buffer[self._ready + end :]
            self._ready = len(self._buffer)
            return
        start = len(self._buffer)
        self._buffer += data
        # in C, over the new bytes only: a long blank run is scanned once
        kept = len(data.rstrip(_TAIL_BYTES))
        if kept:
            self._content = True
            self._ready = start + kept
        self._ready = max(self._ready, len(self._buffer) - MAX_HELD_BYTES)


class Joined(ReadsInto, io.RawIOBase):
    """``head`` (bytes, or a stream read to its end), then ``rest``, as one raw stream; the
    streams are not closed with it.

    Reads end on the reference reader's windows: never across a multiple of
    :data:`CHUNK_BYTES` counted from ``offset``, the position of ``head``'s first byte in the
    file (where ``NOT_UTF8`` is found, and partial counts, depend on those windows). So a file
    resumed mid-way, or a part of a big file presented as its header's bytes then its range,
    is read as the whole file is. ``read()`` without a size gives the rest of the window.
    """

    def __init__(self, head: bytes | BinaryIO, rest: BinaryIO, *, offset: int = 0) -> None:
        super().__init__()
        first = io.BytesIO(head) if isinstance(head, bytes) else head  # shares, not copies
        self._streams: list[BinaryIO] = [first, rest]
        self._position = offset

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        window = CHUNK_BYTES - self._position % CHUNK_BYTES
        want = window if size is None or size < 0 else min(size, window)
        parts = []
        while want > 0 and self._streams:
            data = self._streams[0].read(want)
            if not data:
                self._streams.pop(0)
                continue
            parts.append(data)
            want -= len(data)
        data = b"".join(parts)
        self._position += len(data)
        return data


def _first_line_end(data: bytes) -> int:
    lf = data.find(b"\n")
    cr = data.find(b"\r")
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)


def normalize_name(name: str) -> str:
    """Header name as matched against the schema: trimmed and lower-cased."""
    return name.strip().lower()


def repeats_header(row: list[str], names: list[str]) -> bool:
    """Whether ``row`` is a header line again: it names every one of ``names`` (the schema
    columns the file's header named), matched as the header's names are. Two exports joined
    into one file hold one; read as a data row, the rows after it would be read by the first
    export's column order. Only rows a check rejected are asked (a header fails the amount's)."""
    if not names or names[0] not in ",".join(row).lower():
        return False  # the usual rejected row: a seventh of the cost of the whole test
    values = {normalize_name(value) for value in row}
    return all(name in values for name in names)


class RepeatedHeader(FileRejected):
    """The file's failure when its row ``row`` (the first of them) repeats the header; a
    big file's part, which numbers its rows from 1, says it again as a row of the file."""

    def __init__(self, row: int) -> None:
        super().__init__(
            codes.MALFORMED_CSV,
            f"row {row} repeats the header (two files joined into one?): send each file on its own",
        )
        self.row = row


def header_hint(raw: list[str]) -> str | None:
    """Why a first row that lacks the schema's columns may not be the header a sender
    meant (the shapes spreadsheets and exporters write), or None: said with the
    ``MISSING_COLUMN`` message, which alone would name columns the file does hold."""
    first = raw[0].strip().lower() if raw else ""
    if first.startswith("sep="):
        return "the first line is a spreadsheet's 'sep=' line, not the header: remove it"
    if not any(name.strip() for name in raw):
        return "the first line holds only whitespace: the header must be the first line"
    if any(name.lstrip().startswith("\ufeff") for name in raw):
        return "the header starts with a second byte order mark (U+FEFF): remove it"
    if len(raw) == 1:
        for delimiter, called in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|' characters")):
            if delimiter in raw[0]:
                return f"the header is one field holding {called}: the file must be comma-separated"
    if any(name.strip().startswith('"') for name in raw):
        return "a column name starts with a quote: a quoted name must follow the comma directly"
    return None


class CsvSource:
    """Records of a CSV byte stream, after its header.

    Iterate :attr:`rows` (lists of strings, blank lines included as empty lists, for the
    caller to skip) inside :meth:`errors`, which turns parser errors into FileRejected.

    With ``track_offsets``, :attr:`offset` is the number of source bytes the records read so
    far came from (a BOM included): right after a record, the byte where the next one
    starts. The big-file path cuts a file into parts there, so that every part is read by
    this very parser, quoted line breaks and all.
    """

    def __init__(self, source: BinaryIO, *, track_offsets: bool = False) -> None:
        self._bytes = CheckedBytes(source)
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8-sig", newline="")
        self._text._CHUNK_SIZE = CHUNK_BYTES  # type: ignore[attr-defined]
        self.offset = 0
        lines = self._counted_lines() if track_offsets else self._text
        self.rows: Iterator[list[str]] = csv.reader(lines, strict=True)
        self.header: list[str] = []

    def _counted_lines(self) -> Iterator[str]:
        """The text layer's lines, adding each line's length in source bytes to ``offset``
        (the parser pulls one physical line at a time and stops at a record's last)."""
        started = False
        for line in self._text:
            if not started:  # the text layer has read the first bytes by now
                started = True
                self.offset = len(codecs.BOM_UTF8) if self._bytes.head == codecs.BOM_UTF8 else 0
            self.offset += len(line) if line.isascii() else len(line.encode("utf-8"))
            yield line

    @property
    def saw_nul(self) -> bool:
        """True once a NUL byte was read (rows then need a per-field check)."""
        return self._bytes.saw_nul

    @property
    def line_num(self) -> int:
        """Physical lines read so far by the parser."""
        return self.rows.line_num  # type: ignore[attr-defined,no-any-return]

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate csv parser errors raised inside the block into FileRejected."""
        try:
            yield
        except csv.Error as error:
            text = str(error)
            if "field larger than field limit" in text:
                raise FileRejected(
                    codes.FIELD_TOO_LARGE,
                    f"a field near line {self.line_num} is longer than {MAX_FIELD_CHARS} "
                    "characters (an unterminated quote?)",
                ) from None
            raise FileRejected(
                codes.MALFORMED_CSV,
                f"the CSV cannot be parsed near line {self.line_num}: {scrub(text)} "
                "(check the quoting)",
            ) from None

    def read_header(self, required: Iterable[str] = ()) -> list[str]:
        """Read and check the header (normalized names), and return it."""
        with self.errors():
            raw = next((row for row in self.rows if row), None)
        if raw is None:
            raise FileRejected(codes.EMPTY_FILE, "the file is empty: no header row")
        if any("\0" in name for name in raw):
            raise FileRejected(
                codes.MALFORMED_CSV,
                "the header row contains NUL characters (is the file UTF-16 or binary?)",
            )
        header = [normalize_name(name) for name in raw]
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise FileRejected(
                    codes.DUPLICATE_COLUMN,
                    f"the header names column {scrub(name)!r} more than once",
                )
            seen.add(name)
        missing = [name for name in required if name not in seen]
        if missing:
            hint = header_hint(raw)
            raise FileRejected(
                codes.MISSING_COLUMN,
                f"required columns missing from the header: {', '.join(missing)}"
                + (f" ({hint})" if hint else ""),
            )
        self.header = header
        return header

    def detach(self) -> None:
        """Let go of the text layer without closing the caller's stream."""
        self._text.detach()


def open_csv(source: BinaryIO, *, required: Iterable[str] = ()) -> CsvSource:
    """Open a CSV byte stream and read its header (raises FileRejected on a file rule).

    An empty stream (0 bytes) is ``EMPTY_FILE``.
    """
    reader = CsvSource(source)
    reader.read_header(required)
    return reader
