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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from etl_handlers.aws import s3io
from etl_handlers.core import codes
from etl_handlers.core.csvio import CsvSource
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import Totals
from etl_handlers.core.values import amount_to_minor, format_minor
from etl_handlers.engines.reference.enrich import EnrichMetadata, enrich_stream
from etl_handlers.engines.reference.transform import transform_stream
from etl_handlers.engines.reference.validate import (
    formula_columns,
    restore_formula,
    validate_stream,
)

#: Files the reduce merges at once; more are pre-merged in rounds (Lambda allows 1024 fds).
MERGE_FAN_IN = 256


@dataclass(frozen=True)
class JobPrefixes:
    """Where one big file's parts live."""

    job_id: str

    @property
    def plan(self) -> str:
        return f"validated/{self.job_id}/plan/"

    @property
    def parts(self) -> str:
        return f"validated/{self.job_id}/parts/"

    @property
    def ids(self) -> str:
        return f"validated/{self.job_id}/ids/"

    @property
    def batches(self) -> str:
        return f"validated/{self.job_id}/batches/"

    @property
    def duplicates(self) -> str:
        return f"validated/{self.job_id}/duplicates.json"

    @property
    def rejected(self) -> str:
        return f"rejected/{self.job_id}/parts/"

    def processed(self, part: str | None = None, output_format: str = "jsonl") -> str:
        base = f"processed/{self.job_id}/parts/"
        return base if part is None else f"{base}{part}.{output_format}"

    def enriched(self, part: str | None = None, output_format: str = "jsonl") -> str:
        base = f"enriched/{self.job_id}/parts/"
        return base if part is None else f"{base}{part}.{output_format}"

    @property
    def summaries(self) -> str:
        return f"enriched/{self.job_id}/summaries/"


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


def plan_parts(source: BinaryIO, *, rows_per_part: int, schema: Schema) -> FilePlan:
    """Read the whole file with the whole-file parser and cut it into parts.

    Raises :class:`FileRejected` on the first file rule the file breaks, where a whole-file
    validation would. A part ends right after its last record, so the blank lines and the
    line end between two parts belong to the next one (blank lines are no records).
    """
    if rows_per_part < 1:
        raise ConfigurationError("rows per part must be at least 1")
    reader = CsvSource(source, track_offsets=True)
    parts: list[PartPlan] = []
    with reader.errors():
        header = reader.read_header(schema.required_names)
        header_end = start = reader.offset
        first_row, rows = 1, 0
        for record in reader.rows:
            if not record:
                continue
            rows += 1
            if rows == rows_per_part:
                parts.append(PartPlan(first_row, rows, start, reader.offset, header_end))
                first_row, rows, start = first_row + rows, 0, reader.offset
        if rows:
            parts.append(PartPlan(first_row, rows, start, reader.offset, header_end))
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


def validate_part(source: BinaryIO, *, plan: PartPlan, schema: Schema) -> BatchResult:
    """Validate one part: ``source`` is the header's bytes, then the part's.

    It goes through :func:`validate_stream` as a small file of its own, so a part applies
    exactly the rules of a whole file; the reject rate is the reduce's to apply. A part whose
    record count differs from its plan's is a fault (the object or the parser changed).
    """
    valid, rejects = io.BytesIO(), io.BytesIO()
    result = validate_stream(source, valid, rejects, schema=schema, max_reject_rate=Decimal(1))
    if result.outcome == "VALID" and result.rows_input != plan.rows:
        raise ValueError(
            f"part {plan.part} holds {result.rows_input} rows where its plan counted {plan.rows}"
        )
    rows = range(plan.first_row, plan.first_row + result.rows_input)
    renumbered, rejected_local = _renumber(rejects.getvalue(), rows)
    accepted_rows = [row for local, row in enumerate(rows, 1) if local not in rejected_local]
    ids = _id_index(valid.getvalue(), accepted_rows, schema) if result.outcome == "VALID" else b""
    return BatchResult(
        part=plan.part,
        rows_input=result.rows_input,
        rows_valid=result.rows_valid,
        rows_rejected=result.rows_rejected,
        error=result.error if result.outcome != "VALID" else None,
        valid_csv=valid.getvalue(),
        rejects=renumbered,
        ids=ids,
        header=list(result.header),
        extra_columns=list(result.extra_columns),
    )


def _renumber(rejects: bytes, rows: Sequence[int]) -> tuple[bytes, set[int]]:
    """Reject lines numbered as rows of the batch, renumbered as rows of the file."""
    lines, local = [], set()
    for line in rejects.splitlines():
        record = json.loads(line)
        local.add(record["row"])
        record["row"] = rows[record["row"] - 1]
        lines.append(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return b"".join(line + b"\n" for line in lines), local


def _id_index(valid_csv: bytes, accepted_rows: Sequence[int], schema: Schema) -> bytes:
    """One JSON line per accepted row: ``[id, row, position, currency, debit, minor]``,
    sorted by id then row (what the reduce's merge expects)."""
    reader = csv.reader(io.StringIO(valid_csv.decode("utf-8"), newline=""))
    names = next(reader, [])
    at = {name: index for index, name in enumerate(names)}
    spec = schema.totals
    unique = unique_column(schema)
    entries = []
    for position, (values, row) in enumerate(zip(reader, accepted_rows, strict=True)):
        currency = values[at[spec.currency]].upper()
        debit = values[at[spec.direction]].upper() == spec.debit.upper()
        minor = amount_to_minor(values[at[spec.amount]], CURRENCY_MINOR_UNITS[currency])
        key = restore_formula(values[at[unique]]) if unique else ""
        entries.append((key, row, position, currency, debit, minor))
    entries.sort()
    return b"".join(
        json.dumps(list(entry), ensure_ascii=False).encode("utf-8") + b"\n" for entry in entries
    )


# -- the validation's reduce ---------------------------------------------------------------


@dataclass
class ReducedValidation:
    rows_input: int
    rows_valid: int
    rows_rejected: int
    duplicates: dict[str, list[list[int]]]  # part -> [[position, row], ...]
    totals: Totals
    error: tuple[str, str] | None
    extra_columns: list[str]


Entry = tuple[list[Any], str]  # ([id, row, position, currency, debit, minor], part)


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

    Each stream is sorted by id, then row; the merge keeps the first row of each id and
    reports every later one as a duplicate.
    """
    ordered = sorted(summaries, key=lambda s: s["part"])
    rows_input = sum(int(s["rows"]["input"]) for s in ordered)
    rows_valid = sum(int(s["rows"]["valid"]) for s in ordered)
    rows_rejected = sum(int(s["rows"]["rejected"]) for s in ordered)
    error = next((tuple(s["error"]) for s in ordered if s.get("error")), None)
    extra = list(ordered[0].get("extraColumns", [])) if ordered else []
    merged = heapq.merge(*streams, key=_order)
    totals_sum: dict[str, list[int]] = {}
    duplicates: dict[str, list[list[int]]] = {}
    previous: Any = object()
    for (key, row, position, currency, debit, minor), part in merged:
        if unique is not None and key == previous:
            duplicates.setdefault(part, []).append([position, row])
            continue
        previous = key
        figures = totals_sum.setdefault(currency, [0, 0, 0])
        figures[0] += 1
        figures[1 if debit else 2] += minor
    found = sum(len(rows) for rows in duplicates.values())
    return ReducedValidation(
        rows_input=rows_input,
        rows_valid=rows_valid - found,
        rows_rejected=rows_rejected + found,
        duplicates=duplicates,
        totals=totals_from(totals_sum),
        error=error,  # type: ignore[arg-type]
        extra_columns=extra,
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
    duplicates: Sequence[Sequence[int]],
    *,
    schema: Schema,
    output_format: str,
    sink: Any,
) -> tuple[Any, bytes]:
    """Transform one part without its duplicated rows; returns (StepResult, reject lines)."""
    dropped = {int(position): int(row) for position, row in duplicates}
    reader = csv.reader(io.StringIO(validated_csv.decode("utf-8"), newline=""))
    names = next(reader, [])
    kept = io.StringIO(newline="")
    writer = csv.writer(kept)
    writer.writerow(names)
    unique = unique_column(schema)
    formulas = set(formula_columns(schema))
    rejects = []
    for position, values in enumerate(reader):
        if position not in dropped:
            writer.writerow(values)
            continue
        fields = {
            name: restore_formula(value) if name in formulas else value
            for name, value in zip(names, values, strict=True)
        }
        record = {
            "row": dropped[position],
            "code": codes.DUPLICATE_ID,
            "column": unique,
            "message": f"{unique} was already used by an earlier row",
            "fields": fields,
        }
        rejects.append(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    result = transform_stream(
        io.BytesIO(kept.getvalue().encode("utf-8")),
        sink,
        schema=schema,
        output_format=output_format,
    )
    return result, b"".join(rejects)


def enrich_part(
    processed: Any,
    sink: Any,
    *,
    metadata: EnrichMetadata,
    input_format: str,
    output_format: str,
    schema: Schema,
) -> Any:
    return enrich_stream(
        processed,
        sink,
        metadata=metadata,
        input_format=input_format,
        output_format=output_format,
        schema=schema,
    )
