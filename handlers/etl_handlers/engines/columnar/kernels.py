"""Vectorized value kernels over pyarrow string arrays (numpy byte matrices, RE2 regexes).

Every ``*_ok`` mask is a certificate: True only where the reference function
(:func:`etl_handlers.core.values.timestamp_to_utc`, :func:`etl_handlers.core.values.split_amount`,
:func:`etl_handlers.core.masking.luhn_valid`...) certainly agrees that the value is valid, and the
derived values (UTC text, minor units, formatted amount, masked card) are then exactly what
the reference computes. False means "not certain": the caller asks the reference.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, NamedTuple

import numpy as np
import numpy.ma  # np.unique imports it on its first call: here, with numpy
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from etl_handlers.core.masking import MAX_GAP, SEPARATORS

__all__ = [
    "Amounts",
    "ByteSet",
    "Timestamps",
    "any_byte",
    "apply_python",
    "ascii_upper",
    "binary_of",
    "bool_array",
    "bools",
    "byte_ranges",
    "chars_within",
    "concat_ranges",
    "csv_quoted",
    "drop_first_byte",
    "first_byte_in",
    "from_matrix",
    "has_byte",
    "int_array",
    "ints",
    "json_escaped",
    "json_values",
    "luhn_ok",
    "mask_cards",
    "masked",
    "matrix",
    "member_ok",
    "pieces",
    "ranges_and_gaps",
    "replace_rows",
    "str_array",
]

TIMESTAMP_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
AMOUNT_RE = r"^[0-9]{1,30}(?:\.[0-9]{1,4}0*)?$"
# A superset of the digit runs scrub() looks at: a non-ASCII character may be a digit (or
# one of scrub()'s non-ASCII separators: counted as a digit, it splits a gap in two shorter
# ones), and up to MAX_GAP of scrub()'s ASCII separators may stand between two. Except the
# letters of these blocks (and emoji), which are neither a separator (SEPARATORS lists
# them) nor a decimal digit (Nd) in any Unicode version: digits come in blocks of ten of
# their own, and a letter does not become one. Names in these scripts are then not sent to
# scrub() for being long.
NOT_DIGIT_RANGES = (
    (0x00C0, 0x024F),  # Latin-1 letters (and x, /), Latin Extended-A and -B
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic
    (0x0620, 0x065F),  # Arabic letters and vowel marks (not its digits, 0660-0669)
    (0x3041, 0x309F),  # Hiragana
    (0x4E00, 0x9FFF),  # CJK ideographs
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0x2600, 0x27BF),  # Miscellaneous Symbols, Dingbats
    (0x1F300, 0x1FAFF),  # emoji
)
_ASCII_SEPARATORS = "".join(
    f"\\x{code:02x}" for code in range(128) if re.fullmatch(SEPARATORS, chr(code))
)
_NOT_DIGIT_CLASS = "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in NOT_DIGIT_RANGES)
_DIGIT_LIKE = rf"(?:[0-9]|[^\x00-\x7f{_NOT_DIGIT_CLASS}])"
SCRUB_RE = rf"{_DIGIT_LIKE}(?:[{_ASCII_SEPARATORS}]{{0,{MAX_GAP}}}{_DIGIT_LIKE}){{11,}}"
MAX_HEAD_DIGITS = 12
"""Significant integer digits summed in int64 (10**12 * 10**4 per row, 10**6 rows per chunk
stay far below 2**63); larger amounts are summed in Python."""


class _NoPandas:
    """A meta path finder that refuses to find pandas."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ImportError("pandas is not needed here")


def _skip_pandas() -> None:
    """Make pyarrow's one-time pandas probe fail instead of importing pandas (~0.2-1 s, and
    it runs on the first conversion of any Python value). pyarrow imports pandas again when
    a caller really asks for it (``to_pandas``)."""
    if "pandas" in sys.modules:
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)  # type: ignore[arg-type]
    try:
        pa.scalar(0)
    finally:
        sys.meta_path.remove(blocker)  # type: ignore[arg-type]


_skip_pandas()
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.uint8)
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def bool_array(mask: np.ndarray) -> pa.Array:
    """A pyarrow boolean array from a numpy one (``pa.array`` would import pandas)."""
    bits = np.packbits(mask.astype(bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def int_array(values: np.ndarray) -> pa.Array:
    """A pyarrow int64 array from integers (for ``take``)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def str_array(values: list[Any]) -> pa.Array:
    """A pyarrow string array from Python strings (None for null)."""
    try:  # pyarrow's own conversion: several times faster than encoding each value here
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:  # a lone surrogate: encoded as the reference reader's text
        pass
    nulls = [value is None for value in values]
    encoded = [b"" if value is None else value.encode("utf-8", "surrogatepass") for value in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    validity = None
    if any(nulls):
        validity = pa.py_buffer(np.packbits(~np.array(nulls, dtype=bool), bitorder="little"))
    array = pa.LargeStringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)), validity
    )
    return array.cast(pa.string())


def binary_of(data: bytes) -> pa.Array:
    """A one-value binary array over ``data``."""
    offsets = np.array([0, len(data)], dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _bits(buffer: Any, offset: int, length: int) -> np.ndarray:
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset : offset + length].astype(bool)


@dataclass(frozen=True)
class ByteSet:
    """A set of byte values, kept as inclusive ranges: marking bytes with a few vector
    comparisons is several times faster than a 256-entry table lookup per byte."""

    ranges: tuple[tuple[int, int], ...]

    def mask(self, data: np.ndarray) -> np.ndarray:
        """Per byte of ``data`` (uint8): whether it is in the set."""
        marked = np.zeros(len(data), dtype=bool)
        for low, high in self.ranges:
            if low == high:
                marked |= data == low
            elif low == 0:
                marked |= data <= high
            elif high == 255:
                marked |= data >= low
            else:  # one comparison: bytes below ``low`` wrap around to large values
                marked |= (data - np.uint8(low)) <= np.uint8(high - low)
        return marked

    def complement(self) -> ByteSet:
        """Every byte value not in this set."""
        members = set()
        for low, high in self.ranges:
            members.update(range(low, high + 1))
        return byte_table(value for value in range(256) if value not in members)


def byte_table(chars: Iterable[int]) -> ByteSet:
    """The set of the given byte values."""
    ranges: list[list[int]] = []
    for value in sorted(set(chars)):
        if ranges and ranges[-1][1] == value - 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ByteSet(tuple((low, high) for low, high in ranges))


DIGIT_BYTES = byte_table(range(48, 58))
# scrub() looks at runs of 12+ digits; a non-ASCII byte may belong to a Unicode digit.
DIGIT_LIKE_BYTES = byte_table([*range(48, 58), *range(0x80, 0x100)])
CSV_QUOTE_BYTES = byte_table(b',"\r\n')
JSON_ESCAPE_BYTES = byte_table([*range(0x20), ord('"'), ord("\\")])


def _marks(array: pa.Array, table: ByteSet) -> tuple[np.ndarray, np.ndarray, int]:
    """Which bytes of ``array``'s values are in ``table`` (a flag per byte), the ``n + 1``
    value bounds into those flags, and the data offset the first flag stands for."""
    offsets, data = pieces(array)
    first, last = int(offsets[0]), int(offsets[-1])
    return table.mask(data[first:last]), offsets - first, first


def _marked(array: pa.Array, table: ByteSet) -> tuple[np.ndarray, np.ndarray]:
    """The data offsets of the bytes of ``array`` in ``table``, ascending, and how many of
    them each value holds."""
    marked, bounds, first = _marks(array, table)
    positions = np.flatnonzero(marked)
    return positions + first, _per_value(marked, bounds, positions)


def _per_value(marked: np.ndarray, bounds: np.ndarray, positions: Any = None) -> np.ndarray:
    """How many marked bytes each value holds: ``marked`` flags the bytes, ``bounds`` are
    the ``n + 1`` value bounds into them, ``positions`` the flagged offsets if known.

    Sparse marks: marked bytes before each value's end minus those before its start, one
    lookup per value. From one mark per eight values on, one sum per value over its bytes
    (``reduceat``; about twice as fast as a running count of every byte)."""
    if positions is None and np.count_nonzero(marked) * 8 < len(bounds):
        positions = np.flatnonzero(marked)
    if positions is not None and len(positions) * 8 < len(bounds):
        return np.diff(np.searchsorted(positions, bounds))
    return _segments(np.add, marked, bounds, np.int64)


def _segments(ufunc: Any, marked: np.ndarray, bounds: np.ndarray, kind: Any) -> np.ndarray:
    """``ufunc`` reduced over each value's flags (``bounds``: the n + 1 value bounds, the
    last one ``len(marked)``); 0 (False) for an empty value. Only the non-empty values are
    reduced: each one's bytes then end where the next non-empty one's start."""
    starts = bounds[:-1]
    nonempty = bounds[1:] > starts
    result = np.zeros(len(starts), dtype=kind)
    if nonempty.any():
        result[nonempty] = ufunc.reduceat(marked, starts[nonempty], dtype=kind)
    return result


def byte_counts(array: pa.Array, table: ByteSet) -> np.ndarray:
    """Per value, how many of its bytes are in ``table``."""
    marked, bounds, _ = _marks(array, table)
    return _per_value(marked, bounds)


def any_byte(array: pa.Array, table: ByteSet) -> np.ndarray:
    """Per value: whether any of its bytes is in ``table``."""
    marked, bounds, _ = _marks(array, table)
    return _segments(np.logical_or, marked, bounds, bool)


UTF8_CONTINUATION_BYTES = byte_table(range(0x80, 0xC0))


def chars_within(array: pa.Array, lengths: np.ndarray, limit: int) -> np.ndarray:
    """Per value (UTF-8, ``lengths`` its bytes): at most ``limit`` characters, as ``len``
    counts them. A value of more bytes than that may still be short enough when it has
    multi-byte characters: its characters are its bytes minus its continuation bytes."""
    ok = lengths <= limit
    longer = np.flatnonzero(~ok)
    if len(longer):
        taken = array.take(int_array(longer))
        chars = lengths[longer] - byte_counts(taken, UTF8_CONTINUATION_BYTES)
        ok[longer] = chars <= limit
    return ok


def has_byte(array: pa.Array, table: ByteSet) -> bool:
    """Whether any value has a byte in ``table``."""
    return bool(_marks(array, table)[0].any())


def bytes_all(array: pa.Array, table: ByteSet) -> np.ndarray:
    """Per value: every byte is in ``table`` (True for empty values)."""
    return ~any_byte(array, table.complement())


def bools(array: Any) -> np.ndarray:
    """A boolean pyarrow array (nulls as False) as a numpy array (``to_numpy`` would import
    pandas)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    validity, values = array.buffers()[:2]
    result = _bits(values, array.offset, len(array))
    if array.null_count:
        result &= _bits(validity, array.offset, len(array))
    return result


def ints(array: Any, null: int = -1) -> np.ndarray:
    """An integer pyarrow array as int64 numpy (nulls as ``null``)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    # the numpy dtype of a fixed-width integer type, without pyarrow's pandas bridge
    # (to_pandas_dtype imports pandas in pyarrow 24, which the Lambda layer carries)
    width = array.type.bit_width
    kind = np.dtype(f"{'i' if pa.types.is_signed_integer(array.type) else 'u'}{width // 8}")
    data = np.frombuffer(array.buffers()[1], dtype=kind)[array.offset : array.offset + len(array)]
    data = data.astype(np.int64)
    if array.null_count:
        data[~_bits(array.buffers()[0], array.offset, len(array))] = null
    return data


def pieces(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets as int64, data bytes as uint8) of a string array (offset-aware)."""
    buffers = array.buffers()
    large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    kind = np.int64 if large else np.int32
    offsets = np.frombuffer(buffers[1], dtype=kind)[array.offset : array.offset + len(array) + 1]
    data = buffers[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), raw


def matrix(array: pa.Array, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``width`` bytes of the ``rows`` of ``array`` in a ``(len(rows), width)``
    matrix, and their byte lengths. Past a value's length a row holds the bytes that follow
    it (the next values; zeros past the data's end): read only within the lengths."""
    offsets, data = pieces(array)
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    end = int(offsets[-1]) if len(offsets) else 0
    padded = np.zeros(end + width, dtype=np.uint8)
    padded[:end] = data[:end]
    return sliding_window_view(padded, width)[starts], lengths


def from_matrix(rows: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A string array whose i-th value is the first ``lengths[i]`` bytes of ``rows[i]``."""
    keep = np.arange(rows.shape[1]) < lengths[:, None]
    data = rows[keep]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(data.tobytes())
    ).cast(pa.string())


def ranges_and_gaps(
    data: pa.Buffer, begin: np.ndarray, end: np.ndarray, kind: pa.DataType | None = None
) -> pa.Array:
    """An array over ``data`` (no copy) whose even values are its byte ranges
    ``[begin, end)`` (in order, apart) and whose odd values are what follows each range, up
    to the next one (the last: to the end of ``data``): a ``take`` of some of its values
    copies those ranges in C. ``kind``: the array's type, a large string array by default
    (``pa.string()`` or ``pa.binary()``: 32-bit offsets, for ``data`` under 2 GiB)."""
    n = len(begin)
    if (end < begin).any() or (begin[1:] < end[:-1]).any():
        raise ValueError("byte ranges must be in order and must not overlap")
    kind = pa.large_string() if kind is None else kind
    small = kind in (pa.string(), pa.binary())
    offsets = np.empty(2 * n + 1, dtype=np.int32 if small else np.int64)
    offsets[0 : 2 * n : 2] = begin
    offsets[1 : 2 * n : 2] = end
    offsets[2 * n] = data.size
    return pa.Array.from_buffers(kind, 2 * n, [None, pa.py_buffer(offsets), data])


def byte_ranges(data: pa.Buffer, begin: np.ndarray, end: np.ndarray) -> pa.Array:
    """A string array of the byte ranges ``[begin, end)`` of ``data`` (in order, apart),
    copied by one ``take`` (the even values of :func:`ranges_and_gaps`)."""
    ranges = ranges_and_gaps(data, begin, end)
    return ranges.take(int_array(np.arange(0, len(ranges), 2))).cast(pa.string())


def concat_ranges(data: np.ndarray, begin: np.ndarray, end: np.ndarray) -> memoryview:
    """The byte ranges ``[begin, end)`` of ``data`` (uint8) one after another, in the order
    given; the ranges must not overlap. One ``take`` of :func:`ranges_and_gaps` (the ranges
    in buffer order) copies them all in C."""
    n = len(begin)
    if not n:
        return memoryview(b"")
    order = np.lexsort((end, begin))  # an empty range sorts before one from its start
    # (the bytes before the first range are in no value: the offsets start at it)
    segments = ranges_and_gaps(pa.py_buffer(data), begin[order], end[order], pa.large_binary())
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    joined = segments.take(int_array(2 * rank))
    offsets, _ = pieces(joined)
    return memoryview(joined.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def drop_first_byte(array: pa.Array, mask: np.ndarray) -> pa.Array:
    """``array`` (strings, no nulls) with the first byte of each value under ``mask`` (a
    non-empty value starting with an ASCII character) left out: one copy of each value's
    kept bytes (:func:`byte_ranges`), where ``utf8_slice_codeunits`` walks every value's
    characters and an ``if_else`` copies the column again."""
    offsets, data = pieces(array)
    return byte_ranges(pa.py_buffer(data), offsets[:-1] + mask, offsets[1:])


def python_strings(array: pa.Array) -> list[str]:
    """``array.to_pylist()`` of a string array: without nulls, each value decoded from its
    bytes (several times faster)."""
    if array.null_count or not len(array):
        return array.to_pylist()  # type: ignore[no-any-return]
    offsets, data = pieces(array)
    first = int(offsets[0])
    text = data[first : int(offsets[-1])].tobytes()
    bounds = (offsets - first).tolist()
    # surrogatepass: as str_array encodes the values of the reference reader
    return [text[a:b].decode("utf-8", "surrogatepass") for a, b in itertools.pairwise(bounds)]


def python_rows(columns: list[pa.Array], rows: np.ndarray) -> list[list[str]]:
    """The ``rows`` of ``columns`` as lists of Python strings (for the reference functions)."""
    taken = int_array(rows)
    values = [python_strings(column.take(taken)) for column in columns]
    return [list(row) for row in zip(*values, strict=True)]


def replace_rows(array: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``array`` with its ``rows`` (ascending, distinct) replaced by ``values``, in order:
    what ``pc.replace_with_mask`` gives, as one take from both arrays (2-3 times faster)."""
    if not len(rows):
        return array
    index = np.arange(len(array), dtype=np.int64)
    index[rows] = np.arange(len(array), len(array) + len(rows), dtype=np.int64)
    return pa.concat_arrays([array, values.cast(array.type)]).take(int_array(index))


def apply_python(array: pa.Array, mask: np.ndarray, function: Callable[[Any], Any]) -> pa.Array:
    """``array`` with the values under ``mask`` replaced by ``function(value)``."""
    if not mask.any():
        return array
    chosen = array.filter(bool_array(mask)).to_pylist()
    replaced = str_array([function(value) for value in chosen])
    return replace_rows(array.cast(pa.string()), np.flatnonzero(mask), replaced)


def scrub_candidates(array: pa.Array) -> np.ndarray:
    """Values that may hold a digit run :func:`core.masking.scrub` masks (a superset)."""
    offsets, _ = pieces(array)
    if len(array) and int(offsets[-1] - offsets[0]) > 32 * len(array):
        # long values: most pass the byte count, so RE2 reads them all without it
        return bools(pc.match_substring_regex(array, SCRUB_RE))
    maybe = byte_counts(array, DIGIT_LIKE_BYTES) >= 12
    rows = np.flatnonzero(maybe)
    if len(rows) * 4 > len(maybe):  # most pass (non-ASCII text): no copy of them
        return bools(pc.match_substring_regex(array, SCRUB_RE))
    if len(rows):
        maybe[rows] = bools(pc.match_substring_regex(array.take(int_array(rows)), SCRUB_RE))
    return maybe


def first_byte_in(array: pa.Array, chars: Iterable[str]) -> np.ndarray:
    """True where the value starts with one of ``chars`` (ASCII characters)."""
    offsets, data = pieces(array)
    codes = np.zeros(256, dtype=bool)
    for char in chars:
        codes[ord(char)] = True
    nonempty = offsets[1:] > offsets[:-1]
    first = np.zeros(len(array), dtype=np.uint8)
    first[nonempty] = data[offsets[:-1][nonempty]]
    return nonempty & codes[first]


def member_ok(array: pa.Array, members: Iterable[str]) -> np.ndarray:
    """ASCII values whose upper case is one of ``members`` (upper-case codes). When every
    member is ASCII, so is any value whose ASCII upper case is one (``ascii_upper`` leaves
    other bytes as they are): then no separate ASCII test is needed."""
    members = sorted(members)
    ok = bools(pc.is_in(ascii_upper(array), value_set=str_array(members)))
    if all(member.isascii() for member in members):
        return ok
    return ok & bools(pc.string_is_ascii(array))


def luhn_ok(array: pa.Array) -> np.ndarray:
    """12-19 ASCII digits passing the Luhn check."""
    offsets, data = pieces(array)
    lengths = offsets[1:] - offsets[:-1]
    ok = (lengths >= 12) & (lengths <= 19) & bytes_all(array, DIGIT_BYTES)
    padded = np.zeros(len(data) + 19, dtype=np.uint8)
    padded[: len(data)] = data
    windows = sliding_window_view(padded, 19)
    for size in np.unique(lengths[ok]).tolist():  # one digit matrix per length
        rows = np.flatnonzero(ok & (lengths == size))
        digits = windows[offsets[rows], :size] - 48
        doubled = (size - 1 - np.arange(size)) % 2 == 1  # every second digit from the right
        digits[:, doubled] = _DOUBLED[digits[:, doubled]]
        ok[rows] = digits.sum(axis=1, dtype=np.int64) % 10 == 0
    return ok


def mask_cards(array: pa.Array, rows: np.ndarray) -> pa.Array:
    """:func:`core.masking.mask_pan` of the ``rows`` of ``array`` (ASCII values longer than
    four characters)."""
    chosen = array.take(int_array(rows))
    offsets, _ = pieces(chosen)
    hidden = int_array(offsets[1:] - offsets[:-1] - 4)
    return pc.binary_join_element_wise(
        pc.binary_repeat("*", hidden), pc.utf8_slice_codeunits(chosen, -4), ""
    )


LOWER_BYTES = byte_table(range(ord("a"), ord("z") + 1))


def masked(array: pa.Array) -> np.ndarray:
    """ASCII values longer than four characters that already read as
    :func:`etl_handlers.core.masking.mask_pan` writes them: all but the last four are the mask
    character (other values: unspecified, the caller checks ASCII)."""
    offsets, _ = pieces(array)
    lengths = offsets[1:] - offsets[:-1]
    result = np.zeros(len(array), dtype=bool)
    for size in np.unique(lengths[lengths > 4]).tolist():  # one byte matrix per length
        rows = np.flatnonzero(lengths == size)
        result[rows] = (matrix(array, rows, size - 4)[0] == ord("*")).all(axis=1)
    return result


def ascii_upper(array: pa.Array) -> pa.Array:
    """``pc.ascii_upper``, without a copy when no value has a lower-case ASCII letter."""
    if not has_byte(array, LOWER_BYTES):
        return array
    return pc.ascii_upper(array)


def csv_quoted(array: pa.Array) -> pa.Array:
    """Values as ``csv.writer`` writes them (QUOTE_MINIMAL, the default dialect)."""
    need = any_byte(array, CSV_QUOTE_BYTES)
    if not need.any():
        return array
    quote = bool_array(need)
    doubled = pc.binary_join_element_wise('"', pc.replace_substring(array, '"', '""'), '"', "")
    return pc.if_else(quote, doubled, array)


def json_values(array: pa.Array) -> pa.Array:
    """JSON text of each value: ``null`` or the string as ``json.encoder.encode_basestring``
    writes it (non-ASCII as is, quotes, backslashes and control characters escaped)."""
    quoted = pc.binary_join_element_wise('"', json_escaped(array), '"', "")
    return pc.fill_null(quoted, "null") if quoted.null_count else quoted


# Each byte encode_basestring escapes (the JSON_ESCAPE_BYTES) and what it writes for it:
# a two-character escape, or \u00XX (lower-case hex) for the other control characters.
_ESCAPED_BYTES = [*range(0x20), ord('"'), ord("\\")]
_ESCAPES = [encode_basestring(chr(code))[1:-1].encode() for code in _ESCAPED_BYTES]
_ESCAPE_TABLE = np.frombuffer(b"".join(_ESCAPES), dtype=np.uint8)
_ESCAPE_BOUNDS = np.cumsum([0] + [len(text) for text in _ESCAPES]).astype(np.int64)
_ESCAPE_INDEX = np.zeros(256, dtype=np.int64)  # byte value -> its escape's index
_ESCAPE_INDEX[_ESCAPED_BYTES] = np.arange(len(_ESCAPED_BYTES))


def json_escaped(array: pa.Array) -> pa.Array:
    """``array`` with each value as it reads inside a JSON string (``encode_basestring``
    without its quotes); nulls stay null. No escaped byte is part of a multi-byte character,
    so each is replaced by its escape's bytes: one ``take`` copies the text between the
    escaped bytes and the escapes, in order (where a vectorized replace per escaped character
    present would copy the whole column once per character)."""
    offsets, data = pieces(array)
    first, last = int(offsets[0]), int(offsets[-1])
    text = data[first:last]
    bounds = offsets - first
    at = np.flatnonzero(JSON_ESCAPE_BYTES.mask(text))
    valid = None
    if array.null_count:
        valid = bools(pc.is_valid(array))
        at = at[valid[np.searchsorted(bounds, at, "right") - 1]]  # a null's bytes stay out
    if not len(at):
        return array
    which = _ESCAPE_INDEX[text[at]]
    # The pieces, in buffer order: the text before each escaped byte, the byte itself (not
    # taken), ..., the text after the last one; then the escapes, after the text.
    count = len(at)
    limits = np.empty(2 * count + 2 + len(_ESCAPES), dtype=np.int64)
    limits[0] = 0
    limits[1 : 2 * count : 2] = at
    limits[2 : 2 * count + 1 : 2] = at + 1
    limits[2 * count + 1 :] = len(text) + _ESCAPE_BOUNDS
    segments = pa.Array.from_buffers(
        pa.large_binary(),
        len(limits) - 1,
        [None, pa.py_buffer(limits), pa.py_buffer(np.concatenate((text, _ESCAPE_TABLE)))],
    )
    order = np.empty(2 * count + 1, dtype=np.int64)
    order[0::2] = np.arange(0, 2 * count + 1, 2)
    order[1::2] = 2 * count + 1 + which
    joined = segments.take(int_array(order))
    # each value grows by what the escapes before its end add
    grown = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.diff(_ESCAPE_BOUNDS)[which] - 1, out=grown[1:])
    new_bounds = bounds + grown[np.searchsorted(at, bounds)] + pieces(joined)[0][0]
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.LargeStringArray.from_buffers(
        len(array), pa.py_buffer(new_bounds), joined.buffers()[2], validity
    ).cast(pa.string())


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + np.where(mp < 10, 3, -9)
    return year + (month <= 2), month, day


_DIGIT_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]


def _timestamp_matrix(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(where the value matches :data:`TIMESTAMP_RE`, the first 25 bytes of every value as a
    matrix, the digits at :data:`_DIGIT_AT` minus ``'0'``). The two forms without a fraction
    (``...SSZ``, 20 bytes, and ``...SS+HH:MM``, 25) are certified byte by byte on the
    matrix, several times faster than the regex, which decides every other value."""
    offsets, _ = pieces(array)
    lengths = offsets[1:] - offsets[:-1]
    short = lengths == 20
    m, _ = matrix(array, np.arange(len(array)), 25)
    digits = m[:, _DIGIT_AT] - np.uint8(48)  # wraps below '0' to large values
    ok = (short | (lengths == 25)) & (digits <= 9).all(axis=1)
    ok &= (m[:, 4] == ord("-")) & (m[:, 7] == ord("-")) & (m[:, 13] == ord(":"))
    ok &= (m[:, 16] == ord(":")) & ((m[:, 10] == ord("T")) | (m[:, 10] == ord("t")))
    zone = m[:, 19]
    zulu = short & ((zone == ord("Z")) | (zone == ord("z")))
    offset = ~short & ((zone == ord("+")) | (zone == ord("-"))) & (m[:, 22] == ord(":"))
    offset &= (m[:, [20, 21, 23, 24]] - np.uint8(48) <= 9).all(axis=1)
    ok &= zulu | offset
    rest = np.flatnonzero(~ok)  # other forms (a fraction), and values to reject
    if len(rest):
        ok[rest] = bools(pc.match_substring_regex(array.take(int_array(rest)), TIMESTAMP_RE))
    return ok, m, digits


_PAIRS = np.array([[48 + value // 10, 48 + value % 10] for value in range(100)], dtype=np.uint8)
"""The two ASCII digits of 0-99."""
_PAIR_WORDS = _PAIRS.view("<u2").ravel()
"""The same, each as one little-endian 2-byte word."""


def _pairs_at(out: np.ndarray, column: int) -> np.ndarray:
    """Bytes ``column`` and ``column + 1`` of each row of the ``uint8`` matrix ``out`` as one
    2-byte word per row (a view: writes go to ``out``)."""
    return np.ndarray(
        (out.shape[0],), dtype="<u2", buffer=out, offset=column, strides=(out.strides[0],)
    )


class _StampParts(NamedTuple):
    """What :class:`Timestamps` read of every row (meaningful where ``ok``), for writing the
    UTC text."""

    head: np.ndarray  # the first 25 bytes: YYYY-MM-DDTHH:MM:SS, then what follows
    lengths: np.ndarray
    zulu: np.ndarray  # ends in Z or z (else +HH:MM or -HH:MM)
    shift: np.ndarray  # days the date moves in UTC: -1, 0 or 1
    year: np.ndarray  # the UTC date and minutes of the day
    month: np.ndarray
    day: np.ndarray
    minutes: np.ndarray


class Timestamps:
    """Timestamps certified valid by :func:`core.values.timestamp_to_utc`, and their UTC
    text (``utc``: a string array over all rows, meaningful where ``ok``).

    Every certified value starts ``YYYY-MM-DDTHH:MM:SS`` (the shape check saw to it): the
    shape check's matrix of the first bytes of every row is read as numbers column by
    column, over all rows (a row not certified only computes a value nobody reads), and
    is the start of the UTC text, of which only the fields an offset changes are written
    again."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array
        self.ok, head, digits8 = _timestamp_matrix(array)
        if not self.ok.any():
            return
        offsets, data = pieces(array)
        lengths = offsets[1:] - offsets[:-1]
        digits = digits8.astype(np.int32)

        def number(first: int, size: int) -> np.ndarray:
            value = digits[:, first]
            for column in range(first + 1, first + size):
                value = value * 10 + digits[:, column]
            return value

        year, month, day = number(0, 4), number(4, 2), number(6, 2)
        hour, minute, second = number(8, 2), number(10, 2), number(12, 2)
        last = data[np.maximum(offsets[1:] - 1, 0)]
        zulu = (last == ord("Z")) | (last == ord("z"))
        offset = np.zeros(len(array), dtype=np.int32)
        offset_ok = np.ones(len(array), dtype=bool)
        zoned = np.flatnonzero(self.ok & ~zulu)
        if len(zoned):  # ...+HH:MM: the last six bytes
            back = offsets[zoned + 1] - 6  # where the sign is

            def two_digits(at: int) -> np.ndarray:
                return (data[back + at].astype(np.int32) - 48) * 10 + data[back + at + 1] - 48

            zone_minutes = two_digits(4)
            minutes = two_digits(1) * 60 + zone_minutes
            minutes = np.where(data[back] == ord("-"), -minutes, minutes)
            offset[zoned] = minutes
            offset_ok[zoned] = (zone_minutes <= 59) & (minutes <= 14 * 60) & (minutes >= -12 * 60)
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        month_days = _DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
        valid = (
            (year >= 1)
            & (month >= 1)
            & (month <= 12)
            & (day >= 1)
            & (day <= month_days)
            & (hour <= 23)
            & (minute <= 59)
            & (second <= 59)
            & offset_ok
        )
        minutes = hour * 60 + minute - offset
        shift = (minutes >= 24 * 60).astype(np.int32) - (minutes < 0)
        minutes -= shift * 24 * 60
        moved = np.flatnonzero(shift & self.ok & valid)
        if len(moved):
            y, m, d = _civil_from_days(
                _days_from_civil(year[moved], month[moved], day[moved]) + shift[moved]
            )
            year[moved], month[moved], day[moved] = y, m, d
            valid[moved] &= (y >= 1) & (y <= 9999)
        self.ok &= valid
        # Already in the output form: upper-case T and Z, no offset.
        self._same = zulu & (head[:, 10] == ord("T")) & (last == ord("Z"))
        self._parts = _StampParts(head, lengths, zulu, shift, year, month, day, minutes)

    def utc(self) -> pa.Array:
        """UTC text over all rows (meaningless where not ``ok``)."""
        ok = self.ok
        if not ok.any() or not (ok & ~self._same).any():
            return self.array
        parts = self._parts
        head, lengths, zulu, shift = parts.head, parts.lengths, parts.zulu, parts.shift
        year, month, day, minutes = parts.year, parts.month, parts.day, parts.minutes
        n = len(ok)
        # Every row as 20 bytes YYYY-MM-DDTHH:MM:SSZ; a row not certified reads 0s.
        out = np.empty((n, 20), dtype=np.uint8)
        out[:, :19] = head[:, :19]
        out[:, 10] = ord("T")
        out[:, 19] = ord("Z")
        if not zulu[ok].all():  # times moved by an offset (the others are written as read)
            clock = np.where(ok, minutes, 0)
            _pairs_at(out, 11)[:] = _PAIR_WORDS[clock // 60]
            _pairs_at(out, 14)[:] = _PAIR_WORDS[clock % 60]
        moved = np.flatnonzero(ok & (shift != 0))
        if len(moved):  # the date moved a day
            _pairs_at(out, 0)[moved] = _PAIR_WORDS[year[moved] // 100]
            _pairs_at(out, 2)[moved] = _PAIR_WORDS[year[moved] % 100]
            _pairs_at(out, 5)[moved] = _PAIR_WORDS[month[moved]]
            _pairs_at(out, 8)[moved] = _PAIR_WORDS[day[moved]]
        out[~ok] = ord("0")
        offsets = np.arange(0, 20 * n + 1, 20, dtype=np.int32)
        fixed = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))
        fraction = lengths - 19 - np.where(zulu, 1, 6)
        fractional = np.flatnonzero(ok & (fraction > 0))
        if not len(fractional):
            return fixed
        # the fraction as written, between the seconds and the Z
        size = fraction[fractional]
        values, _ = matrix(self.array, fractional, 29)
        longer = np.zeros((len(fractional), 30), dtype=np.uint8)
        longer[:, :19] = out[fractional, :19]
        longer[:, 19:29] = values[:, 19:29]
        longer[np.arange(len(fractional)), 19 + size] = ord("Z")
        return replace_rows(fixed, fractional, from_matrix(longer, 20 + size))


_NOT_DIGIT = DIGIT_BYTES.complement()


def _amount_shape(array: pa.Array) -> np.ndarray:
    """Where the value matches :data:`AMOUNT_RE`. Up to 30 digits, with or without a point
    and one to four decimals, is certified from the positions of its non-digit bytes; the
    regex decides every other value (trailing zeros past four decimals, bad values)."""
    offsets, data = pieces(array)
    lengths = offsets[1:] - offsets[:-1]
    others, count = _marked(array, _NOT_DIGIT)
    ok = (count == 0) & (lengths >= 1) & (lengths <= 30)
    single = np.flatnonzero(count == 1)
    if len(single):
        before = np.cumsum(count) - count  # non-digits of the values before each
        at = others[before[single]]  # the one non-digit
        point = at - offsets[single]  # digits before it
        decimals = lengths[single] - point - 1
        ok[single] = (
            (data[at] == ord("."))
            & (point >= 1)
            & (point <= 30)
            & (decimals >= 1)
            & (decimals <= 4)
        )
    rest = np.flatnonzero(~ok)
    if len(rest):
        ok[rest] = bools(pc.match_substring_regex(array.take(int_array(rest)), AMOUNT_RE))
    return ok


class Amounts:
    """Amounts certified valid by :func:`etl_handlers.core.values.split_amount` (positive, at most
    :data:`MAX_HEAD_DIGITS` significant integer digits, fitting ``minor`` decimals), with
    their integer part (``head``), their fraction in minor units (``fraction``) and their
    text with exactly ``minor`` decimals (``text()``)."""

    def __init__(self, array: pa.Array, minor: np.ndarray) -> None:
        self.array = array
        n = len(array)
        self.ok = _amount_shape(array) & (minor >= 0)
        safe = pc.if_else(bool_array(self.ok), array, "0") if not self.ok.all() else array
        # value * 10**4 (an integer: at most four decimals but for trailing zeros). From a
        # float64 parse below 10**11: the parse is correctly rounded, so value * 10**4 is
        # within 0.2 of that integer there (10**15 < 2**53); above, from a decimal(38, 4)
        # parse, whose low word holds it.
        parsed = pc.cast(safe, pa.float64())
        floats = np.frombuffer(parsed.buffers()[1], dtype=np.float64)[: len(parsed)]
        low = np.rint(np.minimum(floats, 1e11) * 1e4).astype(np.int64)  # large: below
        high = np.zeros(n, dtype=np.int64)
        large = np.flatnonzero(floats >= 1e11)
        if len(large):
            # decimal(38, 4) reads up to 34 integer digits and 38 in all: a longer value
            # (leading or trailing zeros) is left to the reference
            offsets, _ = pieces(safe)
            long = (offsets[large + 1] - offsets[large]) > 30
            self.ok[large[long]] = False
            large = large[~long]
        if len(large):
            exact = pc.cast(safe.take(int_array(large)), pa.decimal128(38, 4))
            words = np.frombuffer(exact.buffers()[1], dtype=np.int64)
            low[large], high[large] = words[0 : 2 * len(large) : 2], words[1 : 2 * len(large) : 2]
        scale = np.clip(minor, 0, 4)
        unit = _POW10[4 - scale]
        head, rest = np.divmod(low, 10_000)
        self.ok &= (
            (high == 0) & (low > 0) & (low < _POW10[MAX_HEAD_DIGITS + 4]) & (rest % unit == 0)
        )
        self.head = head
        self.fraction = rest // unit
        self.minor = scale

    def text(self) -> pa.Array:
        """The amount with exactly ``minor`` decimals (meaningful where ``ok``)."""
        # A certified value already reads that way when its integer part has as many digits
        # as the head (so no leading zero) and its fraction exactly ``minor`` digits: then
        # both parts are the canonical digits of the same numbers.
        offsets, data = pieces(self.array)
        digits = np.maximum(np.searchsorted(_POW10, self.head, side="right"), 1)
        decimals = self.minor > 0
        size = digits + np.where(decimals, self.minor + 1, 0)
        canonical = self.ok & (offsets[1:] - offsets[:-1] == size)
        point = np.flatnonzero(canonical & decimals)
        canonical[point] = data[offsets[point] + digits[point]] == ord(".")
        redo = np.flatnonzero(self.ok & ~canonical)
        if not len(redo):
            return self.array
        if len(redo) < len(self.head) // 2:
            return replace_rows(self.array, redo, self._formatted(redo))
        return self._formatted(None)

    def _formatted(self, rows: np.ndarray | None) -> pa.Array:
        """The formatted text of ``rows`` (all rows when None)."""
        head_values = self.head if rows is None else self.head[rows]
        fraction_values = self.fraction if rows is None else self.fraction[rows]
        minor = self.minor if rows is None else self.minor[rows]
        ok = self.ok if rows is None else self.ok[rows]
        head = pc.cast(int_array(head_values), pa.string())
        choices = []
        index = np.zeros(len(head_values), dtype=np.int8)
        for position, scale in enumerate(np.unique(minor[ok]).tolist() or [0]):
            index[minor == scale] = position
            if scale == 0:
                choices.append(head)
                continue
            digits = pc.cast(int_array(fraction_values + 10**scale), pa.string())
            choices.append(
                pc.binary_join_element_wise(head, ".", pc.utf8_slice_codeunits(digits, 1), "")
            )
        if len(choices) == 1:
            return choices[0]
        kind = pa.Array.from_buffers(pa.int8(), len(index), [None, pa.py_buffer(index)])
        return pc.choose(kind, *choices)
