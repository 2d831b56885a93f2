"""Big files: the work of the Distributed Map path, part by part.

A file above the construct's size threshold never passes through one function, and no
row of it ever passes through the state machine: an execution's state, kept in its history
and logs, holds locations only (keys, byte offsets, row numbers), never a value.

The preflight reads the file once with the same parser as a whole-file validation
(:class:`etl_handlers.core.csvio.CsvSource`), so the file rules (encoding, quoting, sizes, header)
fail a big file exactly where they fail a small one, and cuts it at record boundaries
into parts of ``rows_per_part`` records. Each part's plan goes to
``validated/{job}/plan/{part}.json``: its first row number, its record count and its byte
range, with the header's. The state machine lists the plans and hands each key to the
validator, which reads the header's bytes and its part's byte range of the pinned object
version and validates them as one small file with the very core that validates a whole
one (a quoted line break, a wrong field count, a NUL: each decided by the same code).
Each part writes under the job's prefixes:

* ``validated/{job}/parts/{part}.csv``: its valid rows (canonical header);
* ``validated/{job}/ids/{part}.jsonl``: its accepted rows' unique ids with their row number,
  position in the part and amount, sorted by id: what the reduce merges;
* ``validated/{job}/batches/{part}.json``: its row counts, header and any file problem;
* ``rejected/{job}/parts/{part}.rejected.jsonl``: its rejects, numbered as rows of the file.

The reduce merges the id indexes of every part (a streaming k-way merge, constant memory):
an id already accepted in an earlier row of the file, in whatever part, makes the later row
a DUPLICATE_ID; it records the file's rows and totals and applies the reject rate. Each
part is then transformed (dropping its duplicated rows into
``rejected/{job}/parts/{part}.duplicates.jsonl``) and enriched, leaving a summary of its
figures under ``enriched/{job}/summaries/``; the last reduce adds them up and reconciles
them with the validation's before the job may succeed.

``{part}`` is ``part-`` plus the part's first row number, zero-padded: parts sort in file
order. Every key is a function of the job and the part, so a retried part overwrites.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from etl_handlers.app.seen_ids import AcrossFilesRejects, held_by
from etl_handlers.aws import s3io
from etl_handlers.contract import (
    BATCHES_FOLDER,
    DUPLICATES_FILE,
    ENRICHED_PREFIX,
    IDS_FOLDER,
    PARTS_FOLDER,
    PLAN_FOLDER,
    PROCESSED_PREFIX,
    REJECTED_PREFIX,
    SUMMARIES_FOLDER,
    VALIDATED_PREFIX,
)
from etl_handlers.core.csvio import CsvSource, FileEnd, RepeatedHeader
from etl_handlers.core.errors import ConfigurationError, FileRejected
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.report import EngineReport
from etl_handlers.core.rules import duplicate_failure
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import Totals
from etl_handlers.core.values import amount_to_minor, format_minor
from etl_handlers.engines.reference.enrich import EnrichMetadata
from etl_handlers.engines.reference.validate import (
    RejectWriter,
    formula_columns,
    restore_formula,
)
from etl_handlers.engines.selector import enrich_stream, transform_stream, validate_stream

if TYPE_CHECKING:
    from etl_handlers.engines.columnar.curate import CuratedBuilder

#: Files the reduce merges at once; more are pre-merged in rounds (Lambda allows 1024 fds).
MERGE_FAN_IN = 256


@dataclass(frozen=True)
class JobPrefixes:
    """Where one big file's parts live: the contract's folders under the job's prefixes.

    ``job_folder`` is the attempt's folder (``keys.job_folder``: the job id for a first
    attempt), so the parts of two attempts never share a folder."""

    job_folder: str

    def _folder(self, prefix: str, folder: str) -> str:
        return f"{prefix}{self.job_folder}/{folder}/"

    @property
    def plan(self) -> str:
        return self._folder(VALIDATED_PREFIX, PLAN_FOLDER)

    @property
    def parts(self) -> str:
        return self._folder(VALIDATED_PREFIX, PARTS_FOLDER)

    @property
    def ids(self) -> str:
        return self._folder(VALIDATED_PREFIX, IDS_FOLDER)

    @property
    def batches(self) -> str:
        return self._folder(VALIDATED_PREFIX, BATCHES_FOLDER)

    @property
    def duplicates(self) -> str:
        return f"{VALIDATED_PREFIX}{self.job_folder}/{DUPLICATES_FILE}"

    @property
    def rejected(self) -> str:
        return self._folder(REJECTED_PREFIX, PARTS_FOLDER)

    def processed(self, part: str | None = None, output_format: str = "jsonl") -> str:
        base = self._folder(PROCESSED_PREFIX, PARTS_FOLDER)
        return base if part is None else f"{base}{part}.{output_format}"

    def enriched(self, part: str | None = None, output_format: str = "jsonl") -> str:
        base = self._folder(ENRICHED_PREFIX, PARTS_FOLDER)
        return base if part is None else f"{base}{part}.{output_format}"

    @property
    def summaries(self) -> str:
        return self._folder(ENRICHED_PREFIX, SUMMARIES_FOLDER)


def part_name(first_row: int) -> str:
    return f"part-{first_row:012d}"


def part_of(key: str) -> str:
    """``validated/{job}/parts/part-000000000001.csv`` -> ``part-000000000001``."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def unique_column(schema: Schema) -> str | None:
    """The one column duplicates are found on (the big-file path supports one)."""
    names = [c.name for c in schema.columns if getattr(c, "unique", False)]
    if len(names) > 1:
        raise ConfigurationError(
            f"the big-file path detects duplicates on one column; the schema marks "
            f"{', '.join(names)} unique"
        )
    return names[0] if names else None


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartPlan:
    """Where one part of a file lies: rows ``first_row`` .. ``first_row + rows - 1`` (1-based
    data rows, blank lines not counted) in bytes ``start`` .. ``end - 1``; the header in
    bytes 0 .. ``header_end - 1``."""

    first_row: int
    rows: int
    start: int
    end: int
    header_end: int

    @property
    def part(self) -> str:
        return part_name(self.first_row)

    def to_json(self) -> dict[str, int]:
        return {
            "firstRow": self.first_row,
            "rows": self.rows,
            "start": self.start,
            "end": self.end,
            "headerEnd": self.header_end,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PartPlan:
        return cls(
            first_row=int(document["firstRow"]),
            rows=int(document["rows"]),
            start=int(document["start"]),
            end=int(document["end"]),
            header_end=int(document["headerEnd"]),
        )


@dataclass
class FilePlan:
    """What the preflight found: the header (normalized) and the parts, in file order."""

    header: list[str]
    parts: list[PartPlan]

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.parts)


class PlanRejected(FileRejected):
    """A file rule the preflight found, with the data rows read before it (as a whole-file
    validation counts them) and the header, when it was read."""

    def __init__(self, rejected: FileRejected, *, rows_read: int, header: list[str]) -> None:
        super().__init__(rejected.code, rejected.message)
        self.rows_read = rows_read
        self.header = header


def plan_parts(source: BinaryIO, *, rows_per_part: int, schema: Schema) -> FilePlan:
    """Read the whole file with the whole-file parser and cut it into parts.

    Raises :class:`PlanRejected` on the first file rule the file breaks, where a whole-file
    validation would, with the rows read before it. A part ends right after its last
    record, so the blank lines and the line end between two parts belong to the next one
    (blank lines are no records); the last part ends before the lines at the file's end that
    hold only spaces, tabs or 0x1A (:class:`csvio.FileEnd`), which are no rows either.
    """
    if rows_per_part < 1:
        raise ConfigurationError("rows per part must be at least 1")
    reader = CsvSource(cast(BinaryIO, FileEnd(source)), track_offsets=True)
    parts: list[PartPlan] = []
    header: list[str] = []
    first_row, rows = 1, 0
    try:
        with reader.errors():
            header = reader.read_header(schema.required_names)
            header_end = start = reader.offset
            for record in reader.rows:
                if not record:
                    continue
                rows += 1
                if rows == rows_per_part:
                    parts.append(PartPlan(first_row, rows, start, reader.offset, header_end))
                    first_row, rows, start = first_row + rows, 0, reader.offset
            if rows:
                parts.append(PartPlan(first_row, rows, start, reader.offset, header_end))
    except FileRejected as rejected:
        raise PlanRejected(rejected, rows_read=first_row - 1 + rows, header=header) from None
    return FilePlan(header=header, parts=parts)


# -- a part -------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    part: str
    rows_input: int
    rows_valid: int
    rows_rejected: int
    error: tuple[str, str] | None
    valid_csv: bytes
    rejects: bytes
    ids: bytes
    header: list[str]
    extra_columns: list[str]
    report: EngineReport | None = None  # logged and published by the batch, not summarized

    def summary(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "rows": {
                "input": self.rows_input,
                "valid": self.rows_valid,
                "rejected": self.rows_rejected,
            },
            "error": list(self.error) if self.error else None,
            "header": self.header,
            "extraColumns": self.extra_columns,
        }


def validate_part(
    open_part: Callable[[], BinaryIO], *, plan: PartPlan, schema: Schema
) -> BatchResult:
    """Validate one part: ``open_part()`` opens the header's bytes, then the part's.

    It goes through :func:`validate_stream` as a small file of its own, so a part applies
    exactly the rules of a whole file; the reject rate is the reduce's to apply. A part whose
    record count differs from its plan's is a fault (the object or the parser changed).

    A whole file checks a row's unique id against the ids accepted in every earlier row
    before the columns after it: a row rejected here by such a later column may still be a
    duplicate of an earlier part's row. Those rows join the id index (position -1, read in a
    second pass over the part, which only parts with such rows pay) for the reduce to tell.
    """
    valid, rejects = io.BytesIO(), io.BytesIO()
    with open_part() as source:
        result = validate_stream(
            source, valid, rejects, schema=schema, max_reject_rate=Decimal(1), file_end=False
        )
    if result.outcome == "VALID" and result.rows_input != plan.rows:
        raise ValueError(
            f"part {plan.part} holds {result.rows_input} rows where its plan counted {plan.rows}"
        )
    rows = range(plan.first_row, plan.first_row + result.rows_input)
    error = result.error if result.outcome != "VALID" else None
    if result.repeated_header_row is not None:  # said as a row of the file
        repeated = RepeatedHeader(rows[result.repeated_header_row - 1])
        error = (repeated.code, repeated.message)
    renumbered, rejected_local, late_local = _renumber(rejects.getvalue(), rows, schema)
    accepted_rows = [row for local, row in enumerate(rows, 1) if local not in rejected_local]
    ids = b""
    if result.outcome == "VALID":
        late = _late_ids(open_part, late_local, schema) if late_local else {}
        ids = _id_index(
            valid.getvalue(),
            accepted_rows,
            schema,
            late=[(key, rows[local - 1]) for local, key in late.items()],
        )
    return BatchResult(
        part=plan.part,
        rows_input=result.rows_input,
        rows_valid=result.rows_valid,
        rows_rejected=result.rows_rejected,
        error=error,
        valid_csv=valid.getvalue(),
        rejects=renumbered,
        ids=ids,
        header=list(result.header),
        extra_columns=list(result.extra_columns),
        report=result.report,
    )


def _late_columns(schema: Schema) -> frozenset[str]:
    """The columns checked after the unique one (a row's first failing rule wins)."""
    unique = unique_column(schema)
    names = list(schema.column_names)
    return frozenset(names[names.index(unique) + 1 :]) if unique else frozenset()


def _late_ids(
    open_part: Callable[[], BinaryIO], locals_: set[int], schema: Schema
) -> dict[int, str]:
    """The unique column's value of the part's data rows ``locals_`` (1-based)."""
    unique = unique_column(schema)
    found: dict[int, str] = {}
    with open_part() as source:
        reader = CsvSource(source)
        with reader.errors():
            header = reader.read_header()
            at = header.index(unique) if unique in header else None
            number = 0
            for record in reader.rows:
                if not record:
                    continue
                number += 1
                if number in locals_ and at is not None and at < len(record):
                    found[number] = record[at]
        reader.detach()
    return found


def _renumber(
    rejects: bytes, rows: Sequence[int], schema: Schema
) -> tuple[bytes, set[int], set[int]]:
    """Reject lines numbered as rows of the part, renumbered as rows of the file; with the
    local numbers of every rejected row and of those rejected by a column after the unique
    one."""
    late_columns = _late_columns(schema)
    lines, local, late = [], set(), set()
    for line in rejects.splitlines():
        record = json.loads(line)
        local.add(record["row"])
        if record["column"] in late_columns:
            late.add(record["row"])
        record["row"] = rows[record["row"] - 1]
        lines.append(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return b"".join(line + b"\n" for line in lines), local, late


def _id_index(
    valid_csv: bytes,
    accepted_rows: Sequence[int],
    schema: Schema,
    *,
    late: Sequence[tuple[str, int]] = (),
) -> bytes:
    """One JSON line per accepted row, ``[id, row, position, currency, debit, minor]``, and
    per row rejected after its id was checked, ``[id, row, -1, "", false, 0]``; sorted by id
    then row (what the reduce's merge expects)."""
    reader = csv.reader(io.StringIO(valid_csv.decode("utf-8"), newline=""))
    names = next(reader, [])
    at = {name: index for index, name in enumerate(names)}
    spec = schema.totals
    unique = unique_column(schema)
    entries: list[tuple[str, int, int, str, bool, int]] = []
    for position, (values, row) in enumerate(zip(reader, accepted_rows, strict=True)):
        currency = values[at[spec.currency]].upper()
        debit = values[at[spec.direction]].upper() == spec.debit.upper()
        minor = amount_to_minor(values[at[spec.amount]], CURRENCY_MINOR_UNITS[currency])
        key = restore_formula(values[at[unique]]) if unique else ""
        entries.append((key, row, position, currency, debit, minor))
    entries.extend((key, row, LATE_REJECT, "", False, 0) for key, row in late)
    entries.sort()
    return b"".join(
        json.dumps(list(entry), ensure_ascii=False).encode("utf-8") + b"\n" for entry in entries
    )


#: The position of an id index entry for a row rejected after its id was checked.
LATE_REJECT = -1


# -- the validation's reduce ---------------------------------------------------------------


@dataclass
class ReducedValidation:
    rows_input: int
    rows_valid: int
    rows_rejected: int
    duplicates: dict[str, list[list[Any]]]  # part -> [[position, row(, job, claimedAt)], ...]
    totals: Totals
    error: tuple[str, str] | None
    extra_columns: list[str]
    #: The totals before rows held by other jobs were taken out: what the sender's manifest
    #: is checked against (as a single-function validation checks it before the seen-ids pass).
    totals_as_sent: Totals | None = None
    rows_across_files: int = 0


Entry = tuple[list[Any], str]  # ([id, row, position, currency, debit, minor(, owner)], part)


def index_entries(part: str, lines: Iterable[bytes]) -> Iterator[Entry]:
    """The entries of one batch's id index (its lines are sorted by id, then row)."""
    return ((json.loads(line), part) for line in lines if line.strip())


def reduce_validation(
    summaries: Iterable[Mapping[str, Any]],
    streams: Iterable[Iterator[Entry]],
    *,
    unique: str | None,
) -> ReducedValidation:
    """Add up the batches and find the ids accepted twice across them.

    Each stream is sorted by id, then row; the merge keeps the first accepted row of each id
    and reports every later one as a duplicate: an accepted row (then rejected by its part's
    transform), or one its part rejected for a later column (``[-1, row]``: its reject line
    is recoded DUPLICATE_ID, as a whole file would have found it; the counts stay).

    With ids across files checked (``app.seen_ids.claim_part_ids``), a first accepted row
    whose id another job holds is reported with that job (``[position, row, job,
    claimedAt]``): its part's transform rejects it DUPLICATE_ACROSS_FILES, and later rows of
    the id stay DUPLICATE_ID, as the single-function path finds them.
    """
    ordered = sorted(summaries, key=lambda s: s["part"])
    rows_input = sum(int(s["rows"]["input"]) for s in ordered)
    rows_valid = sum(int(s["rows"]["valid"]) for s in ordered)
    rows_rejected = sum(int(s["rows"]["rejected"]) for s in ordered)
    error = next((tuple(s["error"]) for s in ordered if s.get("error")), None)
    extra = list(ordered[0].get("extraColumns", [])) if ordered else []
    merged = heapq.merge(*streams, key=_order)
    totals_sum: dict[str, list[int]] = {}
    held_sum: dict[str, list[int]] = {}  # of the rows other jobs hold
    duplicates: dict[str, list[list[Any]]] = {}
    current: Any = object()
    accepted = False  # an earlier row of the file was accepted with the current id
    across = 0
    for entry, part in merged:
        key, row, position, currency, debit, minor = entry[:6]
        if key != current:
            current, accepted = key, False
        # empty values are no ids: a whole file never finds them duplicated
        repeated = unique is not None and key != "" and accepted
        if position == LATE_REJECT:
            if repeated:  # a duplicate before it was anything else: recoded by its part
                duplicates.setdefault(part, []).append([position, row])
            continue
        if repeated:
            duplicates.setdefault(part, []).append([position, row])
            continue
        accepted = True
        held = len(entry) > 6  # another job holds the id (claim_part_ids)
        if held:
            across += 1
            duplicates.setdefault(part, []).append([position, row, *entry[6]])
        for sums in (totals_sum, held_sum) if held else (totals_sum,):
            figures = sums.setdefault(currency, [0, 0, 0])
            figures[0] += 1
            figures[1 if debit else 2] += minor
    found = sum(1 for rows in duplicates.values() for position, *_ in rows if position >= 0)
    as_sent = totals_from(totals_sum)
    for currency, (count, debit_sum, credit_sum) in held_sum.items():
        figures = totals_sum[currency]
        figures[0] -= count
        figures[1] -= debit_sum
        figures[2] -= credit_sum
    return ReducedValidation(
        rows_input=rows_input,
        rows_valid=rows_valid - found,
        rows_rejected=rows_rejected + found,
        duplicates=duplicates,
        totals=totals_from({c: f for c, f in totals_sum.items() if f[0]}),
        error=error,  # type: ignore[arg-type]
        extra_columns=extra,
        totals_as_sent=as_sent,
        rows_across_files=across,
    )


def totals_from(figures: Mapping[str, Sequence[int]]) -> Totals:
    """Totals from ``{currency: [count, debit minor, credit minor]}``."""
    return Totals.from_json(
        {
            currency: {
                "count": count,
                "debit": format_minor(debit, CURRENCY_MINOR_UNITS[currency]),
                "credit": format_minor(credit, CURRENCY_MINOR_UNITS[currency]),
            }
            for currency, (count, debit, credit) in figures.items()
        }
    )


def add_totals(documents: Iterable[Mapping[str, Any]]) -> Totals:
    """The sum of several totals in their JSON form."""
    figures: dict[str, list[int]] = {}
    for document in documents:
        totals = Totals.from_json(document)
        for currency in totals.currencies():
            entry = figures.setdefault(currency, [0, 0, 0])
            for index, value in enumerate(totals.figures(currency)):
                entry[index] += value
    return totals_from(figures)


def _order(entry: Entry) -> tuple[Any, Any]:
    return entry[0][0], entry[0][1]


def reduce_id_indexes(
    s3: Any,
    bucket: str,
    summaries: list[dict[str, Any]],
    keys: Sequence[str],
    *,
    unique: str | None,
    fan_in: int = MERGE_FAN_IN,
) -> ReducedValidation:
    """:func:`reduce_validation` over the id indexes stored under ``keys``.

    Each index is copied to a temporary file first (one S3 connection at a time); with more
    than ``fan_in`` of them, groups are merged into temporary files in rounds, so open files
    stay within Lambda's limit and memory stays constant.
    """
    with ExitStack() as stack:
        streams: list[Iterator[Entry]] = []
        for key in keys:
            handle = stack.enter_context(tempfile.TemporaryFile())
            with s3io.open_object(bucket, key, client=s3) as body:
                shutil.copyfileobj(body, handle, 1 << 20)
            handle.seek(0)
            streams.append(index_entries(part_of(key), handle))
        while len(streams) > fan_in:
            streams = [
                _premerge(streams[i : i + fan_in], stack) for i in range(0, len(streams), fan_in)
            ]
        return reduce_validation(summaries, streams, unique=unique)


def _premerge(group: Sequence[Iterator[Entry]], stack: ExitStack) -> Iterator[Entry]:
    """Merge a group of streams into one temporary file; read it back as one stream."""
    handle = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - the stack closes it
    for entry, part in heapq.merge(*group, key=_order):
        handle.write(json.dumps([entry, part], ensure_ascii=False).encode("utf-8") + b"\n")
    handle.seek(0)
    return ((entry, part) for entry, part in (json.loads(line) for line in handle))


# -- a part ----------------------------------------------------------------------------------


def transform_part(
    validated_csv: bytes,
    duplicates: Sequence[Sequence[Any]],
    *,
    schema: Schema,
    file_columns: Sequence[str],
    output_format: str,
    sink: Any,
) -> tuple[Any, bytes, bytes]:
    """Transform one part without its duplicated rows; returns (StepResult, reject lines,
    the part's validated CSV without those rows).

    A row duplicated within the file gets its reject line from the whole-file reject
    writer, with the schema columns the file has (``file_columns``): card columns masked,
    every other value scrubbed, as a whole file's duplicate would read. A row whose id
    another job holds (``[position, row, job, claimedAt]``) gets the line the seen-ids pass
    writes (:class:`etl_handlers.app.seen_ids.AcrossFilesRejects`).
    """
    dropped = {int(entry[0]): entry for entry in duplicates if int(entry[0]) >= 0}
    reader = csv.reader(io.StringIO(validated_csv.decode("utf-8"), newline=""))
    names = next(reader, [])
    kept = io.StringIO(newline="")
    writer = csv.writer(kept)
    writer.writerow(names)
    unique = unique_column(schema)
    formulas = set(formula_columns(schema))
    present = set(file_columns)
    rejects = io.BytesIO()
    reject_writer = RejectWriter(
        rejects, schema, {name: i for i, name in enumerate(names) if name in present}
    )
    across: AcrossFilesRejects | None = None
    for position, values in enumerate(reader):
        entry = dropped.get(position)
        if entry is None:
            writer.writerow(values)
            continue
        row = int(entry[1])
        if len(entry) > 2:  # [position, row, job, claimedAt]: held by another job
            across = across or AcrossFilesRejects(schema)
            rejects.write(across.line(row, values, held_by(entry[2:])))
            continue
        original = [
            restore_formula(value) if name in formulas else value
            for name, value in zip(names, values, strict=True)
        ]
        reject_writer.write(row, duplicate_failure(str(unique)), original)
    kept_csv = kept.getvalue().encode("utf-8")
    result = transform_stream(
        io.BytesIO(kept_csv), sink, schema=schema, output_format=output_format
    )
    return result, rejects.getvalue(), kept_csv


def recode_duplicates(rejects: bytes, rows: Iterable[int], *, schema: Schema) -> bytes:
    """A part's reject lines with the lines of ``rows`` recoded DUPLICATE_ID (their fields
    stay): rows the reduce found repeating an id an earlier part accepted."""
    wanted = set(rows)
    code, column, message = duplicate_failure(str(unique_column(schema)))
    lines = []
    for line in rejects.splitlines():
        record = json.loads(line)
        if record["row"] in wanted:
            record.update(code=code, column=column, message=message)
        lines.append(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return b"".join(lines)


def enrich_part(
    processed: Any,
    sink: Any,
    *,
    metadata: EnrichMetadata,
    input_format: str,
    output_format: str,
    schema: Schema,
    curated: CuratedBuilder | None = None,
) -> Any:
    """A transformed part enriched, as a small file's enrich step does it; ``curated``
    receives the part's values for its curated files (no second read of the output)."""
    return enrich_stream(
        processed,
        sink,
        metadata=metadata,
        input_format=input_format,
        output_format=output_format,
        schema=schema,
        curated=curated,
    )
