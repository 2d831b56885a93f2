"""Columnar fast path of the processing core (validate, transform, enrich), on pyarrow + numpy.

The per-row code in :mod:`engines.reference.validate`, :mod:`engines.reference.transform`
and :mod:`engines.reference.enrich` is the reference; this package produces byte-identical
outputs, counts, totals and errors, several times faster, and is used when pyarrow and numpy
can be imported (on Lambda: the AWS SDK for pandas layer) unless ``ETL_FAST_PATH=0``.

How it stays exact:

* Input is read in bounded chunks cut at line ends. A chunk goes to pyarrow's CSV parser only
  when nothing in it can be read differently by pyarrow and by the ``csv`` module: valid UTF-8,
  no bare CR, no blank line, no line longer than a field may be, and every quote inside a
  well-formed quoted field on one line. Anything else (a quoted line break, a stray quote, bad
  UTF-8, a last line without a line end) hands the rest of the file to the reference reader
  (:class:`core.csvio.CsvSource`), resumed at that byte with the reference's own 64 KiB read
  windows, line count and byte offset, so file errors carry the same messages and counts.
* Vectorized checks only ever certify a value as valid; every row not certainly valid is
  checked by the reference rule functions (:mod:`core.rules`, the transform normalizers,
  the enrich record checks), row by row, in rule order.
* Duplicate ids use the exact batch API of :class:`core.idset.IdSet`; totals are summed in
  integers small enough to be exact (larger amounts are summed in Python).
* Output text that needs escaping (JSON) or a PAN scrub is produced by the reference functions
  for exactly the values that may need it.

Importing this package costs nothing: pyarrow and numpy are imported on first use.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.util import find_spec

from etl_handlers import contract as env

__all__ = ["ENV_SWITCH", "enabled"]

ENV_SWITCH = env.FAST_PATH
"""Environment variable: ``0`` turns the fast path off (the pure-Python reference runs)."""


@lru_cache(maxsize=1)
def _importable() -> bool:
    try:
        return find_spec("pyarrow") is not None and find_spec("numpy") is not None
    except (ImportError, ValueError):  # a broken install, or a module blocked in sys.modules
        return False


def enabled() -> bool:
    """True when the fast path should run: pyarrow and numpy are importable and
    ``ETL_FAST_PATH`` is not ``0``."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return False
    return _importable()
