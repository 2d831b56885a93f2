"""Columnar :func:`engines.reference.enrich.enrich_stream` for JSON Lines in and out: same
bytes, rows, totals and errors.

Lines are never parsed one by one: one RE2 pattern certifies that a line is exactly a JSON
object with the schema's keys in schema order (what transform writes: string or null
values, JSON escapes allowed); the four values enrich reads are located by their quotes
(or captured by the pattern) and checked with the vectorized kernels. When every value up
to the last of those four is a string without a backslash (the usual line), the pattern's
head is checked word by word against the fixed text between the values, and RE2 reads
only the rest of each line. Such a line is copied with the new fields inserted before its
closing brace. A chunk with any other line (a line the pattern does not certify, or a value
that fails a check) is enriched line by line with the reference's own record functions,
which raise the reference's ``INVALID_INPUT``.
"""

from __future__ import annotations

import codecs
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected
from etl_handlers.core.idset import words_at
from etl_handlers.core.report import EngineReport, Reason
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import StepResult, Totals
from etl_handlers.engines.columnar import kernels as k
from etl_handlers.engines.columnar.memory import keep_freed_memory
from etl_handlers.engines.columnar.validate import (
    CURRENCIES,
    CURRENCY_ARRAY,
    MINOR_TABLE,
    add_totals,
    supported,
)
from etl_handlers.engines.reference.enrich import (
    ENRICH_FIELDS,
    EnrichMetadata,
    count_record,
    transaction_date_of,
)

if TYPE_CHECKING:
    from etl_handlers.engines.columnar.curate import CuratedBuilder

__all__ = ["CHUNK_BYTES", "TEXT_WINDOW", "enrich_jsonl"]

CHUNK_BYTES = 4 << 20
"""Bytes read per chunk."""
TEXT_WINDOW = 8192
"""Read size of the reference's text layer: a bad UTF-8 byte stops it at this window."""
_STRING = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"'
_PLAIN = r'"[^"\\\x00-\x1f]*"'


def _escape(text: str) -> str:
    """``text`` as a literal in an RE2 pattern."""
    return "".join("\\" + char if char in "\\.+*?()|[]{}^$" else char for char in text)


def enrich_jsonl(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    metadata: EnrichMetadata,
    schema: Schema,
    report: EngineReport,
    curated: CuratedBuilder | None = None,
) -> StepResult:
    """Drop-in for the reference's ``enrich_rows`` with JSON Lines in and out (schema already
    checked); records in ``report`` the records of each path. ``curated`` receives every
    enriched record's values as they are written (then the caller finishes it)."""
    keep_freed_memory()
    state = _Enricher(schema, metadata, sink, report, curated)
    buffer = b""
    offset = 0  # absolute offset of buffer[0]
    eof = False
    while True:
        while not eof and len(buffer) < CHUNK_BYTES:
            data = source.read(CHUNK_BYTES - len(buffer))
            if not data:
                eof = True
                break
            buffer += data
        if not buffer:
            break
        cut = buffer.rfind(b"\n") + 1
        if eof and cut < len(buffer):
            cut = len(buffer)  # the last line has no line end
        if not cut:  # a line longer than a chunk: keep reading
            data = source.read(CHUNK_BYTES)
            if data:
                buffer += data
                continue
            eof = True
            continue
        # the rest of the reference's read window the chunk ends in: a bad byte there stops
        # the reference before it gives any line of that window
        reach = -(-(offset + cut) // TEXT_WINDOW) * TEXT_WINDOW - offset - cut
        while not eof and len(buffer) - cut < reach:
            data = source.read(reach - (len(buffer) - cut))
            if not data:
                eof = True
                break
            buffer += data
        chunk, buffer = buffer[:cut], buffer[cut:]
        state.chunk(chunk, offset, buffer[:reach])
        offset += cut
    if curated is not None:
        curated.complete = True
    return StepResult(rows=state.written, totals=state.totals)


class _Enricher:
    def __init__(
        self,
        schema: Schema,
        metadata: EnrichMetadata,
        sink: BinaryIO,
        report: EngineReport,
        curated: CuratedBuilder | None = None,
    ) -> None:
        self.schema = schema
        self.sink = sink
        self.report = report
        self.curated = curated
        self.spec = spec = schema.totals
        names = schema.column_names
        timestamps = [column.name for column in schema.columns if column.type == "timestamp"]
        self.timestamp = timestamps[0] if timestamps else None
        constant = [
            metadata.job_id,
            metadata.source_key,
            metadata.processed_at,
            metadata.pipeline_version,
        ]
        self.suffix = "".join(
            f",{encode_basestring(name)}:{encode_basestring(value)}"
            for name, value in zip(ENRICH_FIELDS, constant, strict=False)
        )
        self.date_key = "," + encode_basestring("transaction_date") + ":"
        if curated is not None:
            curated.constants(dict(zip(ENRICH_FIELDS, constant, strict=False)))
        self.head = (self.suffix + self.date_key).encode("utf-8")  # what each record gains
        wanted = {spec.amount: "a", spec.currency: "c", spec.direction: "d"}
        if self.timestamp is not None:
            wanted[self.timestamp] = "t"
        parts = []
        for index, name in enumerate(names):
            key = ("\\{" if index == 0 else ",") + _escape(encode_basestring(name)) + ":"
            group = wanted.get(name)
            value = f"(?P<{group}>{_PLAIN}|null)" if group else f"(?:{_STRING}|null)"
            parts.append(key + value)
        self.pattern = "^" + "".join(parts) + "\\}\\n$"
        self.check = re.sub(r"\(\?P<\w>", "(?:", self.pattern)  # the same, without captures
        order = [spec.amount, spec.currency, spec.direction]
        if self.timestamp is not None:
            order.append(self.timestamp)
        self.wanted_columns = [names.index(name) for name in order]
        self.last_wanted = last = max(self.wanted_columns)
        # The check split after the last wanted value: the head is fixed text between
        # values found by their quotes (checked word by word), the tail goes to RE2.
        tail = re.sub(r"\(\?P<\w>", "(?:", "".join(parts[last + 1 :]))
        self.tail_check = "^" + tail + "\\}\\n$"
        self.segments = _Segments(names[: last + 1])
        self.unsupported = supported(schema)
        if self.unsupported is None and any(len(name) >= 200 for name in names):
            self.unsupported = Reason.LONG_COLUMN_NAME
        self.width = len(names)
        self.quotes: np.ndarray | None = None  # the last chunk's quote positions
        self.slashes: np.ndarray | None = None  # and its backslashes, if it looked for them
        self.lines = 0
        self.written = 0
        self.totals = Totals()

    def chunk(self, data: bytes, offset: int, after: bytes = b"") -> None:
        """Enrich the whole lines of ``data`` (at ``offset`` in the input); ``after``: the
        input's next bytes up to the end of the read window ``data`` ends in."""
        reason = self.unsupported
        if reason is None and not data.endswith(b"\n"):
            reason = Reason.NO_FINAL_LINE_END
        if reason is None:
            reason = self._fast(data)
            if reason is None:
                return
        before = self.written
        try:
            self._slow(data, offset, after)
        finally:
            self.report.reference(reason, self.written - before)

    def _fast(self, data: bytes) -> Reason | None:
        """Enrich a chunk of whole lines if every line is certain; else (nothing written) the
        reason it is not."""
        view = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(view == 10)
        n = len(ends)
        try:
            k.binary_of(data).cast(pa.string())
        except pa.ArrowInvalid:
            return Reason.BAD_UTF8
        offsets = np.zeros(n + 1, dtype=np.int64)
        offsets[1:] = ends + 1
        lines = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        starts = offsets[:-1]
        self.quotes = self.slashes = None
        at = self._quote_table(data, view, starts, ends)
        if at is not None and self.segments.heads_ok(view, starts, at, n):
            # each line's tail, after its last wanted value: the odd values of an array of
            # heads and tails (a head fails the anchored pattern at its first byte)
            halves = k.ranges_and_gaps(pa.py_buffer(data), starts, at[:, -1] + 1)
            if not k.bools(pc.match_substring_regex(halves, self.tail_check))[1::2].all():
                return Reason.NOT_CERTIFIED
        elif not k.bools(pc.match_substring_regex(lines, self.check)).all():
            return Reason.NOT_CERTIFIED
        fields = self._values(data, at) if at is not None else self._by_regex(lines)
        if fields is None:
            return Reason.NOT_CERTIFIED
        amount, currency, direction, stamp, null = fields
        spec = self.spec
        index = k.ints(pc.index_in(currency, value_set=CURRENCY_ARRAY()), len(CURRENCIES))
        minor = MINOR_TABLE[index]
        amounts = k.Amounts(amount, minor)
        debit = k.bools(pc.equal(direction, spec.debit))
        credit = k.bools(pc.equal(direction, spec.credit))
        if not (amounts.ok.all() and (debit | credit).all()):
            return Reason.NOT_CERTIFIED
        binary = pa.large_binary()
        head = self.head
        dates: list[Any] = [pa.scalar(head + b"null", binary)]  # what follows each record
        days = None
        if self.timestamp is not None and not null.all():
            stamps = k.Timestamps(stamp)
            if not (stamps.ok | null).all():
                return Reason.NOT_CERTIFIED
            utc = stamps.utc()
            if self.curated is not None:
                days = pc.utf8_slice_codeunits(utc, 0, 10).cast(pa.string())
                if null.any():
                    days = pc.if_else(k.bool_array(null), pa.scalar(None, pa.string()), days)
            if null.any():
                day = pc.binary_join_element_wise('"', pc.utf8_slice_codeunits(utc, 0, 10), '"', "")
                day = pc.if_else(k.bool_array(null), "null", day)
                dates = [pa.scalar(head, binary), day.cast(binary)]
            else:  # the first ten bytes of each UTC text, between quotes
                starts = k.pieces(utc)[0][:-1]
                day = k.byte_ranges(utc.buffers()[2], starts, starts + 10)
                dates = [pa.scalar(head + b'"', binary), day.cast(binary), pa.scalar(b'"', binary)]
        add_totals(self.totals, index, debit, amounts.head, amounts.fraction)
        # Each piece: the previous line's "}\n", then this line up to its closing brace.
        cuts = np.zeros(n + 1, dtype=np.int64)
        cuts[1:] = ends - 1
        pieces = pa.Array.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(cuts), pa.py_buffer(data)]
        )
        joined = pc.binary_join_element_wise(pieces, *dates, pa.scalar(b"", binary))
        start, stop = k.pieces(joined)[0][[0, -1]]
        buffer = joined.buffers()[2]
        curated = self.curated
        if curated is not None and not _hand_over(
            curated, data, view, ends, self.quotes, days, self.written, self.width, self.slashes
        ):
            # not a shape the quote walk reads: the records as written, read back
            curated.add_enriched(bytes(memoryview(buffer)[start:stop]) + b"}\n", self.written)
        self.sink.write(memoryview(buffer)[start:stop])
        self.sink.write(b"}\n")
        self.lines += n
        self.written += n
        self.report.columnar(n)
        return None

    def _quote_table(
        self, data: bytes, view: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> Any:
        """Each line's first quotes, up to the closing quote of its last wanted value, one row
        per line (``starts``, ``ends``: where each line starts, where its line end is): when
        every value up to it is a string and no backslash comes before it (then quotes 4j+2
        and 4j+3 of a line delimit the value of column j); else None."""
        quotes = self.quotes = np.flatnonzero(view == ord('"'))
        first = np.searchsorted(quotes, starts)
        width = 4 * self.last_wanted + 4
        if not len(starts) or first[-1] + width > len(quotes):
            return None
        at = quotes[first[:, None] + np.arange(width)]  # one gather
        if (at[:, -1] > ends).any():
            return None  # a line with fewer quotes: its row runs into the next line's
        # a null value shifts the count: every value's opening quote is 2 after its key's
        if (at[:, 2::4] != at[:, 1::4] + 2).any():
            return None
        if data.find(b"\\") >= 0:
            slashes = self.slashes = _byte_positions(data, view, b"\\")
            after = np.searchsorted(slashes, starts)
            found = slashes[np.minimum(after, len(slashes) - 1)]
            if ((after < len(slashes)) & (found < at[:, -1])).any():
                return None
        return at

    def _values(self, data: bytes, at: np.ndarray) -> tuple[Any, ...]:
        """The wanted values of certified lines, from their quote table."""
        values = []
        buffer = pa.py_buffer(data)
        for column in self.wanted_columns:
            values.append(k.byte_ranges(buffer, at[:, 4 * column + 2] + 1, at[:, 4 * column + 3]))
        while len(values) < 4:
            values.append(None)
        return (*values, np.zeros(len(at), dtype=bool))

    def _by_regex(self, lines: pa.Array) -> tuple[Any, ...] | None:
        """The wanted values of certified lines, captured by the pattern."""
        found = pc.extract_regex(lines, self.pattern)
        amount = _unquote(found.field("a"))
        currency = _unquote(found.field("c"))
        direction = _unquote(found.field("d"))
        if amount is None or currency is None or direction is None:
            return None
        if self.timestamp is None:
            return amount, currency, direction, None, None
        raw = found.field("t")
        return amount, currency, direction, _strip(raw), k.bools(pc.equal(raw, "null"))

    def _slow(self, data: bytes, offset: int, after: bytes = b"") -> None:
        """The reference, line by line (including its error for bad UTF-8, raised where its
        text layer would meet the bad byte: in ``data``, or in ``after``, the rest of the
        read window ``data`` ends in)."""
        try:
            text = data.decode("utf-8")
            # whole characters up to its line end: ``after`` starts on a character
            found = _first_bad_utf8(after) if after else None
            bad = None if found is None else len(data) + found
        except UnicodeDecodeError as error:
            bad = error.start
        bad_window = None
        if bad is not None:
            position = offset + bad
            window = position - position % TEXT_WINDOW
            text = data[: max(window - offset, 0)].decode("utf-8", "replace")
            bad_window = window
        lines = text.split("\n")
        if bad_window is not None:
            complete = lines[:-1]  # lines whose end was read before the bad window
            lines = [line + "\n" for line in complete]
        else:
            last = lines.pop()
            lines = [line + "\n" for line in lines] + ([last] if last else [])
        spec = self.spec
        out = []
        for line in lines:
            self.lines += 1
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                self._flush(out)
                raise FileRejected(
                    codes.INVALID_INPUT, f"line {self.lines} of the input is not a JSON object"
                )
            number = self.written + 1
            try:
                date = transaction_date_of(record, self.timestamp, number)
                count_record(
                    self.totals, record, spec.amount, spec.currency, spec.direction, spec, number
                )
            except FileRejected:
                self._flush(out)
                raise
            end = line.rindex("}")  # a record that passed count_record is not empty
            out.append(
                line[:end]
                + self.suffix
                + self.date_key
                + ("null" if date is None else encode_basestring(date))
                + "}\n"
            )
            self.written += 1
        self._flush(out)
        if bad_window is not None:
            raise FileRejected(codes.INVALID_INPUT, "the input is not UTF-8")

    def _flush(self, out: list[str]) -> None:
        if out:
            data = "".join(out).encode("utf-8", "surrogatepass")
            self.sink.write(data)
            if self.curated is not None:
                self.curated.add_enriched(data, self.written - len(out))
            out.clear()


#: Up to this many, a byte's positions are found by ``bytes.find`` (a few backslashes in a
#: chunk of megabytes: a pass of numpy over every byte costs more).
FEW_POSITIONS = 256


def _byte_positions(data: bytes, view: np.ndarray, byte: bytes) -> np.ndarray:
    """The positions of ``byte`` in ``data`` (``view``: its bytes as a numpy array)."""
    found: list[int] = []
    at = data.find(byte)
    while at >= 0:
        if len(found) == FEW_POSITIONS:
            return np.flatnonzero(view == byte[0])
        found.append(at)
        at = data.find(byte, at + 1)
    return np.array(found, dtype=np.int64)


def _first_bad_utf8(data: bytes) -> int | None:
    """Where the first byte of ``data`` that cannot be UTF-8 is; None if there is none (an
    incomplete character at the end is not one: the next bytes may complete it)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError as error:
        return int(error.start)
    return None


class _Segments:
    """The fixed text of a line's head, between its values: ``{"name0":"`` before the first
    value, ``","name":"`` between two, as 8-byte words (and masks for the last, partial one).

    :meth:`heads_ok` holds each line's head to exactly what the check pattern's head
    accepts when every value in it is a string without a backslash (as the quote table
    found it): the segments at their places, and no control character in the values (no
    byte below 0x20 in the chunk but the line ends)."""

    def __init__(self, names: list[str]) -> None:
        keys = [encode_basestring(name) for name in names]
        # a key with an escape would put a backslash (or a quote) in the fixed text
        self.usable = all("\\" not in key[1:-1] for key in keys)
        texts = ["{" + keys[0] + ':"'] + ['",' + key + ':"' for key in keys[1:]]
        self.words: list[list[tuple[int, np.uint64, np.uint64]]] = []
        for text in texts:
            raw = text.encode("utf-8")
            words = []
            for at in range(0, len(raw), 8):
                part = raw[at : at + 8]
                mask = (1 << (8 * len(part))) - 1
                words.append((at, np.uint64(int.from_bytes(part, "little")), np.uint64(mask)))
            self.words.append(words)
        self.longest = max(len(text.encode("utf-8")) for text in texts)

    def heads_ok(self, view: np.ndarray, starts: np.ndarray, at: np.ndarray, lines: int) -> bool:
        if not self.usable or np.count_nonzero(view < 32) != lines:
            return False
        padded = np.zeros(len(view) + self.longest + 8, dtype=np.uint8)
        padded[: len(view)] = view
        words = words_at(padded, len(view) + self.longest)
        for column, segment in enumerate(self.words):
            # from the line start, or the closing quote of the value before, to the value's
            # opening quote; the quotes in the text are the line's next ones (no quote
            # between them), so the quote table places the value right after it
            begin = starts if column == 0 else at[:, 4 * column - 1]
            for offset, word, mask in segment:
                if ((words[begin + offset] & mask) != word).any():
                    return False
        return True


def _strip(array: pa.Array) -> pa.Array:
    """``"text"`` -> ``text`` (``null`` stays as it is: the caller masks it)."""
    return pc.utf8_slice_codeunits(array, 1, -1).cast(pa.string())


def _unquote(array: pa.Array) -> pa.Array | None:
    """The strings of a captured ``"..."|null`` group; None when one is null."""
    if k.bools(pc.equal(array, "null")).any():
        return None
    return _strip(array)


#: What each short JSON escape (the byte after the backslash) stands for; 0: not one.
_SHORT_ESCAPES = np.zeros(256, dtype=np.uint8)
for _code, _byte in zip(b'"\\/bfnrt', b'"\\/\b\f\n\r\t', strict=True):
    _SHORT_ESCAPES[_code] = _byte


def _escape_starts(slashes: np.ndarray) -> np.ndarray:
    """Of a text's backslash positions (in order), those that start an escape: the first
    of each pair in a run of backslashes."""
    fresh = np.ones(len(slashes), dtype=bool)
    fresh[1:] = slashes[1:] != slashes[:-1] + 1
    place = slashes - np.maximum.accumulate(np.where(fresh, slashes, 0))
    return slashes[place % 2 == 0]


def _unescaped(texts: pa.Array) -> pa.Array | None:
    """JSON string bodies (a certified line's values, without their quotes) decoded, as
    ``json.loads`` decodes them; None when one holds a ``\\u`` escape (the caller decodes
    those with json's own decoder). Each escape is two bytes, the backslash dropped and the
    next byte mapped: one pass of numpy over the bytes, no Python per value."""
    n = len(texts)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset : texts.offset + n + 1]
    first = int(offsets[0])
    body = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[first : int(offsets[-1])]
    # every value is a whole JSON string: a run never carries over into the next value
    starts = _escape_starts(np.flatnonzero(body == ord("\\")))
    mapped = _SHORT_ESCAPES[body[starts + 1]]
    if not mapped.all():
        return None  # a \\u escape
    out = body.copy()
    out[starts + 1] = mapped
    keep = np.ones(len(body), dtype=bool)
    keep[starts] = False
    shifted = (offsets - first - np.searchsorted(starts, offsets - first)).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(shifted), pa.py_buffer(out[keep].tobytes())]
    )


def _hand_over(
    curated: CuratedBuilder,
    data: bytes,
    view: np.ndarray,
    ends: np.ndarray,
    quotes: np.ndarray | None,
    days: pa.Array | None,
    first: int,
    width: int,
    slashes: np.ndarray | None = None,
) -> bool:
    """Give ``curated`` the values of a certified chunk's records (``first``: the number of
    the chunk's first record, ``width``: the schema's columns; ``quotes``, ``slashes``: the
    chunk's quote and backslash positions when the caller found them); False (nothing
    given) when the quotes do not pair up as expected.

    Certified lines are ``{"key":value,...}`` with every key in schema order and every value
    a string or ``null``. Once the escaped quotes are left out (a quote after an odd run of
    backslashes), a line's quotes pair up; a pair followed by ``:`` is a key, and its value
    is the next pair when a quote follows the colon, else ``null``. The few values with a
    backslash are decoded as JSON strings."""
    n = len(ends)
    if quotes is None:
        quotes = np.flatnonzero(view == ord('"'))
    if slashes is None and data.find(b"\\") >= 0:
        slashes = _byte_positions(data, view, b"\\")
    if slashes is not None:
        after = _escape_starts(slashes) + 1  # a line never ends in a backslash: in the chunk
        escaped = after[view[after] == ord('"')]
        quotes = np.delete(quotes, np.searchsorted(quotes, escaped))
    close = quotes[1::2]
    if len(quotes) % 2 or (n and len(close) == 0):
        return False
    keys = np.flatnonzero(view[close + 1] == ord(":"))
    if len(keys) != n * width:
        return False
    key_end = close[keys]  # each key's closing quote
    string = view[key_end + 2] == ord('"')
    value_end = close[np.minimum(keys + 1, len(close) - 1)]
    begin = np.where(string, key_end + 3, key_end + 1)
    end = np.where(string, value_end, key_end + 1)
    # one take for all columns: the values column after column (their ranges in file order)
    # 32-bit offsets where they fit (a chunk is megabytes): the take gives strings, no cast
    small = len(data) < 1 << 31
    ranges = k.ranges_and_gaps(pa.py_buffer(data), begin, end, pa.string() if small else None)
    picks = (2 * np.arange(n * width, dtype=np.int32)).reshape(n, width).T.ravel()
    valid = np.packbits(string.reshape(n, width).T.ravel(), bitorder="little")
    index = pa.Array.from_buffers(pa.int32(), n * width, [pa.py_buffer(valid), pa.py_buffer(picks)])
    values = ranges.take(index) if small else ranges.take(index).cast(pa.string())
    columns = [values.slice(j * n, n) for j in range(width)]
    if slashes is not None:
        # the values holding a backslash (row-major numbers), decoded in their columns
        holders = np.unique(np.searchsorted(begin, slashes, side="right") - 1)
        held = ranges.take(k.int_array(2 * holders)).cast(pa.string())
        unescaped = _unescaped(held)
        texts = held.to_pylist() if unescaped is None else None
        for column in np.unique(holders % width).tolist():
            mine = np.flatnonzero(holders % width == column)
            mask = np.zeros(n, dtype=bool)
            mask[holders[mine] // width] = True
            if texts is None:
                decoded = unescaped.take(k.int_array(mine))
            else:  # json's own string decoder (what json.loads runs), after the quote
                strings = [scanstring(texts[i] + '"', 0)[0] for i in mine.tolist()]
                decoded = pa.array(strings, pa.string())
            columns[column] = pc.replace_with_mask(columns[column], k.bool_array(mask), decoded)
    curated.add(columns, days, np.arange(first, first + n))
    return True
