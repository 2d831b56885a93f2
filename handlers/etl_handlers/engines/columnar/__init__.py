"""Columnar engine (validate, transform, enrich) on pyarrow + numpy: :class:`engine.ColumnarEngine`.

The per-row code in :mod:`engines.reference.validate`, :mod:`engines.reference.transform`
and :mod:`engines.reference.enrich` is the reference; this package produces byte-identical
outputs, counts, totals and errors, several times faster. :mod:`engines.selector` decides
when it runs (pyarrow and numpy importable, ``ETL_FAST_PATH`` not ``0``).

How it stays exact:

* Input is read in bounded chunks cut at record ends (a line end after an even number of
  quotes). A run of records goes to pyarrow's CSV parser only when nothing in it can be
  read differently by pyarrow and by the ``csv`` module: valid UTF-8, no bare CR, no line
  longer than a field may be, and every quote where a well-formed quoted field puts it (a
  quoted field may hold line breaks: such runs are parsed with pyarrow's
  ``newlines_in_values``); blank lines are cut out of the runs (the reference skips them
  without a row number). A record that is not (a bare CR, a stray quote) is
  read by the ``csv`` module for its own range only, with the reference's line numbers and
  errors, and the columnar path goes on after it. What no range can bound (bad UTF-8, an
  overlong line, a last line without a line end, a quoted field longer than the buffer may
  grow) hands the rest of the file to the reference reader (:class:`core.csvio.CsvSource`),
  resumed at that byte with the reference's own 64 KiB read windows, line count and byte
  offset, so file errors carry the same messages and counts.
* Vectorized checks only ever certify a value as valid; every row not certainly valid is
  checked by the reference rule functions (:mod:`core.rules`, the transform normalizers,
  the enrich record checks), row by row, in rule order.
* Duplicate ids use the exact batch API of :class:`core.idset.IdSet`; totals are summed in
  integers small enough to be exact (larger amounts are summed in Python).
* Output text that needs escaping (JSON) or a PAN scrub is produced by the reference functions
  for exactly the values that may need it.

Every run records in an :class:`~etl_handlers.core.report.EngineReport` the rows it did on
each path and why rows went to the reference.

Importing this package costs nothing: pyarrow and numpy are imported on first use.
"""
