"""Duplicates across files: a pass over a validated file that rejects ids other jobs hold.

With the workflow's ``seen_ids`` on, the validator validates the file as always (either
engine), but into staging objects under ``validated/{job}/seen-ids/``. When the file is
VALID, this pass reads the staged valid rows in batches, claims their unique ids for the job
(:class:`etl_handlers.aws.seen_ids.SeenIdStore`), and writes the step's usual outputs:

* ``validated/{job}/{stem}.csv``: the staged valid rows less those whose id another job
  holds, byte for byte as validation wrote them;
* ``rejected/{job}/{stem}.rejected.jsonl``: validation's reject lines, with a
  ``DUPLICATE_ACROSS_FILES`` line for each such row merged in, all in row order.

The job's rows and totals are those of the outputs: ``valid`` falls and ``rejected`` rises by
the rows recoded, ``input`` stays, and the validate totals are summed again over the rows
kept, so the enricher's reconciliation (input = valid + rejected, totals carried through)
holds as for any file. These rows do not count against the reject rate: they are well-formed
and the rate was applied to the file as it came. The pass sits after the engine, on what both
engines write identically, so its outputs do not depend on the engine either.

A file that is not VALID claims nothing: its staged reject file (after a reject rate above
the maximum) is copied to the usual key, and nothing else is kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from etl_handlers.app.steps import content_type
from etl_handlers.aws import s3io
from etl_handlers.aws.seen_ids import Claim, SeenIdStore
from etl_handlers.contract import VALID, VALIDATED_PREFIX
from etl_handlers.core import codes, keys
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.masking import scrub
from etl_handlers.core.refdata import CURRENCY_MINOR_UNITS
from etl_handlers.core.schema import Schema
from etl_handlers.core.totals import Totals
from etl_handlers.core.values import amount_to_minor
from etl_handlers.engines.reference.validate import (
    ValidationResult,
    formula_columns,
    restore_formula,
)

__all__ = [
    "BATCH_ROWS",
    "SEEN_IDS_FOLDER",
    "AcrossFiles",
    "AcrossFilesRejects",
    "claim_part_ids",
    "held_by",
    "recode_seen_ids",
    "staged_keys",
    "unique_id_column",
    "validate_across_files",
]

SEEN_IDS_FOLDER = "seen-ids"
BATCH_ROWS = 10_000
"""Rows whose ids are claimed at once (bounded memory; the writes of a batch run in
parallel)."""

Outputs = dict[str, str | None]
Validation = Callable[[str, str], tuple[ValidationResult, Outputs]]
"""Validates the job's file into (valid key, reject key); returns the result and the keys it
committed (``validated``, ``rejected``; None for one not kept)."""


@dataclass
class AcrossFiles:
    """What the pass found: rows kept and recoded, and the totals of the rows kept."""

    rows_valid: int
    rows_recoded: int
    totals: Totals


def unique_id_column(schema: Schema) -> str:
    """The one unique column ids are claimed on; a schema with none or several cannot have
    the check (the construct refuses it at synth too)."""
    names = [column.name for column in schema.columns if column.unique]
    if len(names) != 1:
        raise ConfigurationError(
            "seen_ids needs exactly one unique column in the schema (the transaction id); "
            f"it has {len(names)}" + (f": {', '.join(names)}" if names else "")
        )
    return names[0]


def staged_keys(job_id: str, key: str) -> tuple[str, str]:
    """Where validation writes before the pass: (valid rows, reject lines)."""
    folder = f"{VALIDATED_PREFIX}{job_id}/{SEEN_IDS_FOLDER}/{keys.stem(key)}"
    return f"{folder}.csv", f"{folder}.rejected.jsonl"


def validate_across_files(
    *,
    job_id: str,
    folder: str | None = None,
    bucket: str,
    key: str,
    s3: Any,
    schema: Schema,
    store: SeenIdStore,
    validate_to: Validation,
    writer: Callable[[str, str], s3io.MultipartWriter],
    batch_rows: int = BATCH_ROWS,
) -> tuple[ValidationResult, Outputs]:
    """Validate through the staging keys, then run the pass into the usual keys.

    ``result`` comes back with the rows and totals of the outputs. ``writer(key,
    content_type)`` opens an all-or-nothing output (the step's). ``folder``: where the
    outputs go under each prefix (a reprocess's attempt folder; the job id by default); the
    ids are claimed for ``job_id`` whatever the attempt.
    """
    unique_id_column(schema)  # a configuration problem before any work
    folder = folder or job_id
    valid_key, reject_key = keys.validated_key(folder, key), keys.rejected_key(folder, key)
    staged_valid, staged_rejects = staged_keys(folder, key)
    result, staged = validate_to(staged_valid, staged_rejects)
    try:
        if result.outcome != VALID:
            if staged["rejected"] is None:
                return result, {"validated": None, "rejected": None}
            s3io.copy_object(bucket, staged_rejects, bucket, reject_key, client=s3)
            return result, {"validated": None, "rejected": reject_key}
        with contextlib.ExitStack() as stack:
            valid_in = stack.enter_context(s3io.open_object(bucket, staged_valid, client=s3))
            rejects_in = (
                stack.enter_context(s3io.open_object(bucket, staged_rejects, client=s3))
                if staged["rejected"]
                else io.BytesIO()
            )
            valid_out = stack.enter_context(writer(valid_key, content_type("csv")))
            rejects_out = stack.enter_context(writer(reject_key, content_type("jsonl")))
            found = recode_seen_ids(
                valid_in=valid_in,
                rejects_in=rejects_in,
                valid_out=valid_out,
                rejects_out=rejects_out,
                schema=schema,
                claim=lambda ids: store.claim(job_id, ids),
                batch_rows=batch_rows,
            )
            if not (result.rows_rejected + found.rows_recoded):
                rejects_out.abort()
        result.rows_valid = found.rows_valid
        result.rows_rejected += found.rows_recoded
        result.totals = found.totals
        return result, {
            "validated": valid_key,
            "rejected": reject_key if rejects_out.committed else None,
        }
    finally:
        for staged_key in (staged_valid, staged_rejects):  # best effort: only a leftover
            with contextlib.suppress(ClientError, BotoCoreError):
                s3.delete_object(Bucket=bucket, Key=staged_key)


def recode_seen_ids(
    *,
    valid_in: BinaryIO,
    rejects_in: BinaryIO,
    valid_out: BinaryIO,
    rejects_out: BinaryIO,
    schema: Schema,
    claim: Callable[[list[str]], Mapping[int, Claim]],
    batch_rows: int = BATCH_ROWS,
) -> AcrossFiles:
    """The pass over streams (no AWS): valid rows in (validation's CSV, canonical header),
    reject lines in (row order); ``claim(ids)`` claims a batch of distinct ids and returns,
    by position, the claims of other jobs. Writes the rows kept and the merged reject lines.
    """
    column = unique_id_column(schema)
    names = list(schema.column_names)
    formulas = set(formula_columns(schema))
    id_at = names.index(column)
    spec = schema.totals
    amount_at, currency_at = names.index(spec.amount), names.index(spec.currency)
    direction_at = names.index(spec.direction)
    rejects = AcrossFilesRejects(schema)

    def original(position: int, value: str) -> str:
        return restore_formula(value) if names[position] in formulas else value

    text_in = io.TextIOWrapper(valid_in, encoding="utf-8", newline="")
    text_out = io.TextIOWrapper(valid_out, encoding="utf-8", newline="", write_through=False)
    reader, writer = csv.reader(text_in), csv.writer(text_out)
    header = next(reader, None)
    if header != names:
        raise ValueError("the staged valid rows do not start with the schema's header")
    writer.writerow(names)
    merged = _RejectMerge(rejects_in, rejects_out)
    totals = Totals()
    kept = recoded = 0
    try:
        while True:
            batch = [row for _, row in zip(range(batch_rows), reader, strict=False)]
            if not batch:
                break
            numbers = [merged.number() for _ in batch]
            with_ids = [i for i, row in enumerate(batch) if row[id_at]]
            held = claim([original(id_at, batch[i][id_at]) for i in with_ids])
            taken = {with_ids[position]: owner for position, owner in held.items()}
            for index, row in enumerate(batch):
                owner = taken.get(index)
                if owner is not None:
                    recoded += 1
                    merged.write(numbers[index], rejects.line(numbers[index], row, owner))
                    continue
                kept += 1
                currency = original(currency_at, row[currency_at]).upper()
                totals.add(
                    currency,
                    original(direction_at, row[direction_at]).upper() == spec.debit,
                    amount_to_minor(row[amount_at], CURRENCY_MINOR_UNITS[currency]),
                )
                writer.writerow(row)
        merged.finish()
    finally:
        text_out.flush()
        text_out.detach()
        text_in.detach()
    return AcrossFiles(rows_valid=kept, rows_recoded=recoded, totals=totals)


def claim_part_ids(
    index: bytes,
    *,
    claim: Callable[[list[str]], Mapping[int, Claim]],
    batch_rows: int = BATCH_ROWS,
) -> bytes:
    """The big-file path's claims: one part's id index (``app.large``: a JSON line
    ``[id, row, position, currency, debit, minor]`` per row, sorted by id) with the ids of its
    accepted rows claimed for the job, and the owner ``[job, claimedAt]`` appended to the entry
    of each row another job holds. Rows rejected by the part (position -1) and empty ids claim
    nothing; the part's accepted ids are distinct (a repeated id in one part is its own
    DUPLICATE_ID). The reduce decides what a held id means for the file
    (:func:`etl_handlers.app.large.reduce_validation`).
    """
    entries = [json.loads(line) for line in index.splitlines() if line.strip()]
    wanted = [i for i, entry in enumerate(entries) if entry[2] >= 0 and entry[0] != ""]
    for start in range(0, len(wanted), batch_rows):
        batch = wanted[start : start + batch_rows]
        for position, owner in claim([entries[i][0] for i in batch]).items():
            entries[batch[position]].append([owner.job_id, owner.claimed_at.isoformat()])
    return b"".join(
        json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n" for entry in entries
    )


def held_by(owner: Sequence[str]) -> Claim:
    """The claim ``[job, claimedAt]`` that :func:`claim_part_ids` appends, read back."""
    job_id, claimed_at = owner
    return Claim(job_id=job_id, claimed_at=datetime.fromisoformat(claimed_at))


class AcrossFilesRejects:
    """The reject line of a row whose id another job holds, as both paths write it.

    Rows come as validation wrote them to ``validated/`` (the schema's columns): card columns
    are kept as they are (masked already), every other value is given as sent (formulas
    restored) and scrubbed of card-number-like digits, as a reject line of validation.
    """

    def __init__(self, schema: Schema) -> None:
        self.column = unique_id_column(schema)
        self._names = list(schema.column_names)
        self._formulas = set(formula_columns(schema))
        self._cards = {c.name for c in schema.columns if c.type == "card_number"}

    def line(self, number: int, row: list[str], owner: Claim) -> bytes:
        """Row ``number`` of the file, held by ``owner``, as one JSON line."""
        fields = {
            name: value
            if name in self._cards
            else scrub(restore_formula(value) if name in self._formulas else value)
            for name, value in zip(self._names, row, strict=True)
        }
        record = {
            "row": number,
            "code": codes.DUPLICATE_ACROSS_FILES,
            "column": self.column,
            "message": f"{self.column} already accepted by job {owner.job_id} on "
            f"{owner.claimed_at:%Y-%m-%d}",
            "fields": fields,
        }
        return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


class _RejectMerge:
    """Validation's reject lines (in row order) copied through, new lines merged in by row
    number; it also numbers the valid rows (the data row numbers no reject line holds)."""

    def __init__(self, source: BinaryIO, sink: BinaryIO) -> None:
        self._lines: Iterator[bytes] = iter(source)
        self._sink = sink
        self._ahead: deque[tuple[int, bytes]] = deque()  # read, not written yet
        self._passed = 0  # of those, how many the numbering has gone past
        self._row = 0  # the last valid row number handed out

    def _read(self) -> bool:
        for line in self._lines:
            if line.strip():
                line = line if line.endswith(b"\n") else line + b"\n"
                self._ahead.append((int(json.loads(line)["row"]), line))
                return True
        return False

    def number(self) -> int:
        """The number of the next valid row."""
        self._row += 1
        while self._passed < len(self._ahead) or self._read():
            if self._ahead[self._passed][0] > self._row:
                break
            if self._ahead[self._passed][0] == self._row:
                self._row += 1
            self._passed += 1
        return self._row

    def write(self, number: int, line: bytes) -> None:
        """A new line for row ``number``, after every line of an earlier row."""
        while self._ahead and self._ahead[0][0] < number:
            self._sink.write(self._ahead.popleft()[1])
            self._passed -= 1
        self._sink.write(line)

    def finish(self) -> None:
        """The lines left, to the end of the source."""
        while self._ahead or self._read():
            self._sink.write(self._ahead.popleft()[1])
