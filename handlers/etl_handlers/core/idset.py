"""An exact set of strings in compact memory: 64-bit fingerprints in RAM, the strings on disk.

Duplicate-id detection is the one part of validation whose state grows with the file. A
Python ``set`` of ids costs ~100 bytes per id (510 MB for 5M rows); :class:`IdSet` costs
8 bytes per table slot (11-23 bytes per id at the table's load of 0.35-0.7, 64 MB at 5M ids)
and spills the ids themselves to an anonymous temporary file (``/tmp`` on Lambda, ~21 bytes
per id: the UTF-8 bytes and an 8-byte end offset), from where a fingerprint hit is confirmed
byte for byte. So the answer is exact: a fingerprint collision costs one extra read, never a
false "duplicate".

The table is open addressing with linear probing over one array of 64-bit slots (an
``array('Q')``; once numpy is loaded, tables grow as numpy's zeroed pages). An entry packs the
fingerprint's top 32 bits (the tag) and the id's sequence number (bits 0-31); the home slot
is the tag's top bits, so the table can double without reading the ids back. The same table
serves a scalar API (:meth:`IdSet.__contains__`, :meth:`IdSet.add`, pure Python) and a batch
API over numpy arrays (:meth:`IdSet.contains_many`, :meth:`IdSet.probe_many`,
:meth:`IdSet.add_many`) used by the columnar fast path; both compute the same fingerprint
(:func:`fingerprint`, :func:`fingerprints`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from array import array
from typing import Any

__all__ = ["IdSet", "fingerprint", "fingerprints", "words_at"]

_MASK = (1 << 64) - 1
_K1 = 0x9E3779B97F4A7C15
_K2 = 0xBF58476D1CE4E5B9
_K3 = 0x94D049BB133111EB
_MAX_LOAD = 0.7
_INITIAL_BITS = 10
_FLUSH_BYTES = 1 << 20
_GROW_SLICE = 1 << 19


def fingerprint(data: bytes) -> int:
    """64-bit fingerprint of ``data`` (8-byte little-endian words, then a splitmix finalizer)."""
    h = (len(data) * _K1) & _MASK
    for start in range(0, len(data), 8):
        word = int.from_bytes(data[start : start + 8], "little")
        h = ((h ^ word) * _K2) & _MASK
        h ^= h >> 31
    h ^= h >> 30
    h = (h * _K2) & _MASK
    h ^= h >> 27
    h = (h * _K3) & _MASK
    return h ^ (h >> 31)


def fingerprints(data: Any, offsets: Any) -> Any:
    """:func:`fingerprint` of each string of an Arrow-style layout, as a numpy ``uint64`` array.

    ``data`` is a ``uint8`` array of concatenated bytes, ``offsets`` an integer array of
    ``n + 1`` start offsets into it. Each round reads one 8-byte word per string that still
    has bytes left, straight from an unaligned ``uint64`` view of the data, so a few long
    strings cost only their own extra rounds.
    """
    import numpy as np

    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    h = lengths.astype(np.uint64) * np.uint64(_K1)
    padded = np.zeros(len(data) + 8, dtype=np.uint8)
    padded[: len(data)] = data
    words = words_at(padded, len(data) + 1)  # the last ones run into the zero padding
    keep = np.array([(1 << (8 * size)) - 1 for size in range(9)], dtype=np.uint64)
    rows = np.flatnonzero(lengths > 0)
    # While every string still has bytes left (the usual first rounds), a round works on
    # whole arrays; after that, on the rows left (a gather and a scatter per round).
    every = len(rows) == len(h)
    done = 0  # bytes of each string mixed in so far
    with np.errstate(over="ignore"):
        while len(rows):
            at, left = (starts, lengths) if every else (starts[rows], lengths[rows])
            word = words[at + done] & keep[np.minimum(left - done, 8)]
            mixed = ((h if every else h[rows]) ^ word) * np.uint64(_K2)
            mixed ^= mixed >> np.uint64(31)
            done += 8
            if every:
                h = mixed
                more = lengths > done
                every = bool(more.all())
                rows = rows if every else np.flatnonzero(more)
            else:
                h[rows] = mixed
                rows = rows[lengths[rows] > done]
        h ^= h >> np.uint64(30)
        h *= np.uint64(_K2)
        h ^= h >> np.uint64(27)
        h *= np.uint64(_K3)
        h ^= h >> np.uint64(31)
    return h


def words_at(buffer: Any, count: int) -> Any:
    """The little-endian 8-byte word starting at each of the first ``count`` bytes of
    ``buffer`` (a numpy ``uint8`` array of at least ``count + 7`` bytes): an unaligned
    ``uint64`` view, so reads and writes go to ``buffer`` itself."""
    import numpy as np

    return np.ndarray((max(count, 0),), dtype="<u8", buffer=buffer, strides=(1,))


def _encode(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _portable_hash(value: str) -> int:
    return fingerprint(_encode(value))


def _python_hash(value: str) -> int:
    h = (hash(value) * _K2) & _MASK  # spread the bits: the tag is the top half
    return h ^ (h >> 29)


def _place(table: Any, slots: Any, entries: Any, mask: int) -> None:
    """Insert distinct nonzero ``entries`` (numpy) into the linear-probing ``table``, each
    probing from its home slot in ``slots`` (updated in place). Per round every entry whose
    slot is free is written there; where several wanted the same slot, the one whose write
    stuck wins (numpy keeps the last) and the others probe on with the rest."""
    import numpy as np

    pending = np.arange(len(entries))
    while pending.size:
        wanted = slots[pending]
        free = table[wanted] == 0
        candidates = pending[free]
        table[slots[candidates]] = entries[candidates]
        placed = candidates[table[slots[candidates]] == entries[candidates]]
        done = np.zeros(len(entries), dtype=bool)
        done[placed] = True
        pending = pending[~done[pending]]
        slots[pending] = (slots[pending] + 1) & mask  # their slot is taken now


def _zeros(size: int, numpy_module: Any = None) -> Any:
    """A table of ``size`` zero slots: an ``array('Q')``, or with numpy a memoryview of a
    zeroed numpy array (allocated zero pages, where ``array`` copies a zero buffer: several
    times slower at millions of slots; items read and written alike)."""
    if numpy_module is None:
        return array("Q", bytes(8 * size))
    return memoryview(numpy_module.zeros(size, dtype=numpy_module.uint64))


class IdSet:
    """An exact, append-only set of strings; see the module docstring for the layout.

    ``directory`` is where the spill file goes (default: the system temporary directory).
    Call :meth:`close` (or use ``with``) to drop the spill file early.
    """

    def __init__(self, directory: str | None = None, *, portable: bool = False) -> None:
        # The scalar API hashes with Python's own (salted, per-process) string hash, cached
        # on the str object: several times cheaper than :func:`fingerprint` in Python. A set
        # that the batch API also serves must use the portable fingerprint everywhere.
        self._hash = _portable_hash if portable else _python_hash
        self._bits = _INITIAL_BITS
        self._table = _zeros(1 << self._bits)
        self._count = 0
        self._directory = directory
        self._ids: Any = None  # spill of the id bytes, opened on first add
        self._ends: Any = None  # spill of each id's end offset (uint64)
        self._written = 0  # bytes of ids in the spill file (flushed)
        self._buffer = bytearray()  # ids not yet flushed
        self._ends_buffer = array("Q")
        self._flushed_count = 0
        self._miss: tuple[str, int, int] | None = None

    # -- scalar API (pure Python) -------------------------------------------------------

    def __contains__(self, value: str) -> bool:
        tag = self._hash(value) >> 32
        bits = self._bits
        mask = (1 << bits) - 1
        slot = tag >> (32 - bits)
        table = self._table
        entry = table[slot]
        while entry:
            if entry >> 32 == tag and self._read(entry & 0xFFFFFFFF) == _encode(value):
                return True
            slot = (slot + 1) & mask
            entry = table[slot]
        self._miss = (value, slot, tag)  # where add() puts it, if it comes next
        return False

    def add(self, value: str) -> None:
        """Add ``value`` (a no-op when it is already there)."""
        miss = self._miss
        if miss is None or miss[0] is not value:
            if value in self:
                return
            miss = self._miss
        self._miss = None
        _, slot, tag = miss  # type: ignore[misc]
        table = self._table
        if self._count + 1 > _MAX_LOAD * len(table):
            self._grow(1)
            table = self._table
            mask = (1 << self._bits) - 1
            slot = tag >> (32 - self._bits)
            while table[slot]:
                slot = (slot + 1) & mask
        table[slot] = (tag << 32) | self._count
        self._count += 1
        self._buffer += _encode(value)
        self._ends_buffer.append(self._written + len(self._buffer))
        if len(self._buffer) >= _FLUSH_BYTES:
            self._flush()

    def __len__(self) -> int:
        return self._count

    # -- batch API (numpy) --------------------------------------------------------------

    def contains_many(self, hashes: Any, values: Any) -> Any:
        """Membership of each string (exact); ``hashes`` from :func:`fingerprints`,
        ``values(i)`` returns the i-th string as ``bytes`` (called for fingerprint hits only)."""
        return self.probe_many(hashes, values)[0]

    def probe_many(self, hashes: Any, values: Any) -> tuple[Any, Any]:
        """:meth:`contains_many`, and for each string the slot its probe ended at: for one
        not found, the first empty slot from its home on, where :meth:`add_many` may start
        (``starts``) while the table is the same (the set only ever adds: a slot seen taken
        stays taken)."""
        import numpy as np

        self._require_portable()
        n = len(hashes)
        found = np.zeros(n, dtype=bool)
        mask = (1 << self._bits) - 1
        tags = hashes >> np.uint64(32)
        slots = (tags >> np.uint64(32 - self._bits)).astype(np.int64)
        if not self._count or not n:
            return found, slots
        table = np.frombuffer(self._table, dtype=np.uint64)
        pending = np.arange(n)
        while pending.size:
            entries = table[slots[pending]]
            live = entries != 0
            hits = pending[live & ((entries >> np.uint64(32)) == tags[pending])]
            for row in hits.tolist():  # fingerprint hits: confirm byte for byte
                for_row = table[slots[row]]
                if self._read(int(for_row) & 0xFFFFFFFF) == values(row):
                    found[row] = True
            pending = pending[live & ~found[pending]]
            slots[pending] = (slots[pending] + 1) & mask
        return found, slots

    def add_many(self, hashes: Any, data: Any, offsets: Any, starts: Any = None) -> None:
        """Add strings known to be absent and distinct (the caller checked both).

        ``data``/``offsets``: their bytes in the layout of :func:`fingerprints`; ``starts``:
        the slots :meth:`probe_many` ended at for them (the inserts skip the slots it has
        already seen taken), probed since the table last changed size (the set was not
        closed in between); unused when this add grows the table.
        """
        import numpy as np

        self._require_portable()
        n = len(hashes)
        if not n:
            return
        self._miss = None
        probed = self._table
        self._grow(n)
        start, end = int(offsets[0]), int(offsets[-1])
        base = self._pending_base()
        self._buffer += memoryview(data[start:end]).cast("B")
        ends = offsets[1:].astype(np.uint64) - np.uint64(start) + np.uint64(base)
        self._ends_buffer.frombytes(ends.tobytes())
        table = np.frombuffer(self._table, dtype=np.uint64)
        mask = (1 << self._bits) - 1
        tags = hashes >> np.uint64(32)
        entries = (tags << np.uint64(32)) | (
            np.arange(self._count, self._count + n, dtype=np.uint64)
        )
        if starts is not None and self._table is probed:
            slots = starts.astype(np.int64)  # a copy: _place moves them on
        else:
            slots = (tags >> np.uint64(32 - self._bits)).astype(np.int64)
        _place(table, slots, entries, mask)
        self._count += n
        if len(self._buffer) >= _FLUSH_BYTES:
            self._flush()

    def _require_portable(self) -> None:
        if self._hash is not _portable_hash:
            raise ValueError("the batch API needs IdSet(portable=True)")

    # -- storage ------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        if self._count + extra <= _MAX_LOAD * (1 << self._bits):
            return
        bits = self._bits
        while self._count + extra > _MAX_LOAD * (1 << bits):
            bits += 1
        old = self._table
        np = sys.modules.get("numpy")  # used when loaded already (the batch API's users)
        self._table = _zeros(1 << bits, np)
        self._bits = bits
        if np is None:  # pure Python: reinsert one by one
            mask = (1 << bits) - 1
            table = self._table
            for entry in old:
                if entry:
                    slot = (entry >> 32) >> (32 - bits)
                    while table[slot]:
                        slot = (slot + 1) & mask
                    table[slot] = entry
            return
        table = np.frombuffer(self._table, dtype=np.uint64)
        mask = (1 << bits) - 1
        slice_ = _GROW_SLICE  # a slice of the old table at a time: bounded temporaries
        for start in range(0, len(old), slice_):
            entries = np.frombuffer(
                old, dtype=np.uint64, count=min(slice_, len(old) - start), offset=8 * start
            )
            entries = entries[entries != 0]
            slots = ((entries >> np.uint64(32)) >> np.uint64(32 - bits)).astype(np.int64)
            _place(table, slots, entries, mask)

    def _pending_base(self) -> int:
        return self._written + len(self._buffer)

    def _flush(self) -> None:
        if self._ids is None:
            self._ids = tempfile.TemporaryFile(prefix="seen-ids-", dir=self._directory)  # noqa: SIM115 - lives as long as the set
            self._ends = tempfile.TemporaryFile(prefix="seen-ends-", dir=self._directory)  # noqa: SIM115
        if self._buffer:
            self._ids.write(self._buffer)
            self._ids.flush()
            self._written += len(self._buffer)
            self._buffer = bytearray()
        if self._ends_buffer:
            self._ends.write(self._ends_buffer.tobytes())
            self._ends.flush()
            self._flushed_count += len(self._ends_buffer)
            self._ends_buffer = array("Q")

    def _read(self, index: int) -> bytes:
        """The bytes of the ``index``-th id."""
        if index >= self._flushed_count:
            self._flush()
        fd = self._ends.fileno()
        if index:
            begin, end = array("Q", os.pread(fd, 16, 8 * (index - 1)))
        else:
            begin, end = 0, array("Q", os.pread(fd, 8, 0))[0]
        return os.pread(self._ids.fileno(), end - begin, begin)

    def close(self) -> None:
        """Drop the spill files and the table (the set is empty afterwards)."""
        for handle in (self._ids, self._ends):
            if handle is not None:
                handle.close()
        self._ids = self._ends = None
        self._table = _zeros(1 << _INITIAL_BITS)
        self._bits = _INITIAL_BITS
        self._count = self._written = self._flushed_count = 0
        self._buffer = bytearray()
        self._ends_buffer = array("Q")
        self._miss = None

    def __enter__(self) -> IdSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
