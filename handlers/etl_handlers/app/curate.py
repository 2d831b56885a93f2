"""Publish a job's curated dataset: its enriched records and its rejects as Parquet under
``curated/`` (layout and types: :mod:`etl_handlers.core.curated`).

A small file: the enrich step calls :func:`publish_curated` once the enriched object is
written and the job reconciles, before the job becomes SUCCEEDED, so a SUCCEEDED job's
partitions exist. A big file: each part writes its files under ``enriched/{job}/curated/``
(not queryable), and the last reduce, once the job reconciles, copies them into
``curated/`` as ``{job}-{part}.parquet`` (:func:`promote_parts`): a failed big file leaves
nothing under ``curated/``. Each file is built in a local temporary file (Parquet writes its
footer last) and uploaded whole; a failure deletes what the call uploaded or copied.
``ETL_CURATED=0`` switches it off.

A small file's ``transactions`` files are built while the columnar engine enriches
(:class:`StagedCurated`: the values it already holds, no second read of the enriched
object); when the engine did not build them (the reference engine, Parquet outputs),
:func:`publish_curated` reads the enriched object back.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from etl_handlers import contract
from etl_handlers.aws import s3io
from etl_handlers.core import curated
from etl_handlers.core.schema import Schema

if TYPE_CHECKING:
    from etl_handlers.engines.columnar.curate import CuratedBuilder

__all__ = [
    "PARQUET_CONTENT_TYPE",
    "StagedCurated",
    "curated_enabled",
    "curated_keys",
    "curated_stem",
    "promote_parts",
    "publish_curated",
    "schema_document",
    "staging_root",
    "stale_curated_keys",
]

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
#: A job's curated files stay in memory while they hold this much together; past it, the
#: file being written spills to /tmp (a 5M-row file spread over a year: ~100 MB of files).
_SPOOL_BYTES = 32 << 20

Opener = Callable[[], BinaryIO]


def curated_enabled() -> bool:
    """``ETL_CURATED``: on when ``1``/``true``/``on``/``yes`` (the construct sets it)."""
    value = (os.environ.get(contract.CURATED) or "0").strip().lower()
    return value in ("1", "true", "on", "yes")


def staging_root(folder: str) -> str:
    """``enriched/{folder}/curated/``: where a big file's parts leave their curated files
    (``folder``: the job id, or ``{job}/a{N}`` for a reprocess's attempt N)."""
    return f"{contract.ENRICHED_PREFIX}{folder}/{contract.CURATED_FOLDER}/"


def curated_stem(job_id: str, attempt: int) -> str:
    """The file name (without ``.parquet``) of a job's curated files: the job id for its
    first attempt, ``{job}-a{N}`` for attempt N >= 2, so that a reprocess never overwrites
    the files of the attempt readers see until it SUCCEEDED (then the enricher removes the
    other attempts' files, :func:`stale_curated_keys`)."""
    return job_id if attempt < 2 else f"{job_id}{contract.ATTEMPT_EXECUTION_SEPARATOR}{attempt}"


def curated_keys(outputs: Any) -> set[str]:
    """The curated object keys an ``outputs`` map names (``outputs.curated``)."""
    found = (outputs or {}).get("curated") if isinstance(outputs, dict) else None
    if not isinstance(found, dict):
        return set()
    return {k for keys in found.values() if isinstance(keys, list) for k in keys if k}


def stale_curated_keys(job: Any) -> list[str]:
    """The curated keys the job's earlier attempts wrote that its current outputs do not
    name: what a reprocess that SUCCEEDED removes."""
    current = curated_keys(job.get("outputs"))
    earlier: set[str] = set()
    for attempt in job.get("attempts") or []:
        if isinstance(attempt, dict):
            earlier |= curated_keys(attempt.get("outputs"))
    return sorted(earlier - current)


def schema_document(schema: Schema) -> dict[str, Any]:
    """The parts of the schema document the curated tables are built from."""
    return {
        "columns": [
            {"name": c.name, "type": c.type, "required": c.required} for c in schema.columns
        ],
        "totals": {
            "amount": schema.totals.amount,
            "currency": schema.totals.currency,
            "direction": schema.totals.direction,
            "debit": schema.totals.debit,
            "credit": schema.totals.credit,
        },
    }


class StagedCurated:
    """A job's ``transactions`` files built during its enrich step: ``builder`` goes to
    :func:`~etl_handlers.engines.selector.enrich_stream`, the files stay local (spooled)
    until :func:`publish_curated` uploads them; leaving the ``with`` block discards them."""

    def __init__(self, *, schema: Schema, received_date: str) -> None:
        # Local import: pyarrow is loaded only by the functions that write Parquet.
        from etl_handlers.engines.columnar import curate

        self._stack = ExitStack()
        spools = _PartitionFiles(self._stack)
        self.files = spools.files
        #: a new spooled file for the partition value's file
        self.open_sink: Callable[[str], IO[bytes]] = spools.open
        self.builder: CuratedBuilder = curate.CuratedBuilder(
            document=schema_document(schema),
            open_sink=self.open_sink,
            default_partition=received_date,
        )

    def __enter__(self) -> StagedCurated:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self.builder.close()
        finally:
            self._stack.close()


def publish_curated(
    *,
    s3: Any,
    bucket: str,
    job_id: str,
    source_key: str,
    schema: Schema,
    enriched: Opener,
    enriched_format: str,
    rejected: Sequence[Opener],
    received_date: str,
    stem: str | None = None,
    root: str = contract.CURATED_PREFIX,
    staged: StagedCurated | None = None,
) -> dict[str, list[str]]:
    """Write the job's ``transactions`` partitions and its ``rejects`` file (when it has
    rejects) as ``{root}{table}/{partition}={value}/{stem}.parquet`` (``stem``: the job id);
    returns ``{"transactions": [keys in date order], "rejects": [key] or []}``, what the job
    record keeps under ``outputs.curated``. ``enriched`` and ``rejected`` open the step's
    outputs (a missing reject file is skipped). ``staged``: the ``transactions`` files built
    while the job was enriched, used when the engine built them (``enriched`` is not read)."""
    # Local import: pyarrow is loaded only by the functions that write Parquet.
    from etl_handlers.engines.columnar import curate

    stem = stem or job_id
    uploaded: list[str] = []
    written: dict[str, list[str]] = {contract.TRANSACTIONS_TABLE: [], contract.REJECTS_TABLE: []}
    try:
        with ExitStack() as stack:
            spools = _PartitionFiles(stack)
            files = spools.files
            if staged is not None and staged.builder.complete:
                staged.builder.finish()
                files = staged.files
            else:
                with enriched() as source:
                    curate.write_transactions(
                        source,
                        document=schema_document(schema),
                        input_format=enriched_format,
                        open_sink=spools.open,
                        default_partition=received_date,
                    )

            def put(table: str, partition: str, value: str, data: IO[bytes]) -> None:
                key = curated.curated_key(table, partition, value, stem, root=root)
                _upload(s3, bucket, key, data)
                uploaded.append(key)
                written[table].append(key)

            for value, data in sorted(files.items()):
                put(contract.TRANSACTIONS_TABLE, contract.TRANSACTIONS_PARTITION, value, data)
            data = stack.enter_context(_spooled())
            count = curate.write_rejects(
                _lines(rejected, stack), job_id=job_id, source_key=source_key, sink=data
            )
            if count:
                put(contract.REJECTS_TABLE, contract.REJECTS_PARTITION, received_date, data)
    except BaseException:
        _delete(s3, bucket, uploaded)
        raise
    return written


def promote_parts(
    *, s3: Any, bucket: str, job_id: str, attempt: int = 1, folder: str | None = None
) -> dict[str, list[str]]:
    """Copy a big file's staged part files into ``curated/`` as ``{stem}-{part}.parquet``
    (``stem``: :func:`curated_stem`); returns the keys as :func:`publish_curated` does. A
    failure deletes the copies made."""
    root = staging_root(folder or job_id)
    stem = curated_stem(job_id, attempt)
    copied: list[str] = []
    written: dict[str, list[str]] = {contract.TRANSACTIONS_TABLE: [], contract.REJECTS_TABLE: []}
    try:
        for staged in s3io.list_keys(bucket, root, client=s3):
            table, partition, value, part = curated.parse_key(staged, root=root)
            key = curated.curated_key(table, partition, value, f"{stem}-{part}")
            s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": staged},
                ContentType=PARQUET_CONTENT_TYPE,
                MetadataDirective="REPLACE",
            )
            copied.append(key)
            written[table].append(key)
    except BaseException:
        _delete(s3, bucket, copied)
        raise
    return {table: sorted(keys) for table, keys in written.items()}


def _lines(openers: Sequence[Opener], stack: ExitStack) -> Iterator[bytes]:
    for opener in openers:
        try:
            source = stack.enter_context(opener())
        except s3io.ObjectNotFound:
            continue
        yield from source


def _delete(s3: Any, bucket: str, keys: list[str]) -> None:
    """Best effort: the error that got here matters more than a failed delete."""
    with suppress(ClientError, BotoCoreError):
        s3io.delete_keys(bucket, keys, client=s3)


class _Budget:
    """Bytes a job's spooled files hold in memory together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


class _BudgetedSpool(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """A temporary file in memory until the files sharing ``budget`` hold more than its
    limit together, then on disk (a per-file limit would let hundreds of day files, each
    under it, fill the function's memory)."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__(max_size=0)  # never rolls over by itself
        self._budget = budget
        self._in_memory = True

    def write(self, data: Any) -> int:
        written = super().write(data)
        if self._in_memory:
            self._budget.used += written
            if self._budget.used > self._budget.limit:
                self._budget.used -= self.tell()
                self._in_memory = False
                self.rollover()
        return written


class _PartitionFiles:
    """A job's ``transactions`` files, one spooled file per partition value, sharing one
    in-memory budget; closed with ``stack``."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._budget = _Budget(_SPOOL_BYTES)
        self.files: dict[str, IO[bytes]] = {}

    def open(self, value: str) -> IO[bytes]:
        """A new spooled file for the partition ``value``'s file (a ``SinkFactory``)."""
        self.files[value] = self._stack.enter_context(_spooled(self._budget))
        return self.files[value]


@contextmanager
def _spooled(budget: _Budget | None = None) -> Iterator[IO[bytes]]:
    with _BudgetedSpool(budget or _Budget(_SPOOL_BYTES)) as data:
        yield data  # type: ignore[misc]


def _upload(s3: Any, bucket: str, key: str, data: IO[bytes]) -> None:
    data.seek(0)
    with s3io.MultipartWriter(bucket, key, client=s3, content_type=PARQUET_CONTENT_TYPE) as sink:
        while chunk := data.read(s3io.PART_SIZE):
            sink.write(chunk)
