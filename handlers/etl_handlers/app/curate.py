"""Publish a job's curated dataset: its enriched records and its rejects as Parquet under
``curated/`` (layout and types: :mod:`etl_handlers.core.curated`).

The enrich step calls :func:`publish_curated` once the enriched object is written and the
job reconciles, before the job becomes SUCCEEDED, so a SUCCEEDED job's partitions exist.
Each file is built in a local temporary file (Parquet writes its footer last) and uploaded
whole; a failure deletes what this call uploaded, so a failed job leaves no curated rows.
``ETL_CURATED=0`` switches it off.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any, BinaryIO

from etl_handlers import contract
from etl_handlers.aws import s3io
from etl_handlers.core import curated
from etl_handlers.core.schema import Schema

__all__ = ["PARQUET_CONTENT_TYPE", "curated_enabled", "publish_curated", "schema_document"]

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
#: A temporary file stays in memory up to this size, then spills to /tmp.
_SPOOL_BYTES = 32 << 20


def curated_enabled() -> bool:
    """``ETL_CURATED``: on unless ``0``/``false``/``off``."""
    value = (os.environ.get(contract.CURATED) or "1").strip().lower()
    return value not in ("0", "false", "off", "no")


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


def publish_curated(
    *,
    s3: Any,
    bucket: str,
    job_id: str,
    source_key: str,
    schema: Schema,
    enriched: Callable[[], BinaryIO],
    enriched_format: str,
    rejected: Callable[[], BinaryIO] | None,
    received_date: str,
) -> dict[str, Any]:
    """Write the job's ``transactions`` partitions and its ``rejects`` file; returns what the
    job record keeps under ``outputs.curated``: ``{"transactions": [keys, one per
    partition, in date order], "rejects": key or None}``. ``enriched`` and ``rejected`` open
    the step's outputs."""
    # Local imports: pyarrow is loaded only by the functions that write Parquet.
    from etl_handlers.engines.columnar import curate

    document = schema_document(schema)
    uploaded: list[str] = []
    try:
        with ExitStack() as stack:
            files: dict[str, IO[bytes]] = {}

            def open_sink(value: str) -> IO[bytes]:
                files[value] = stack.enter_context(_spooled())
                return files[value]

            with enriched() as source:
                curate.write_transactions(
                    source,
                    document=document,
                    input_format=enriched_format,
                    open_sink=open_sink,
                    default_partition=received_date,
                )
            for value, data in sorted(files.items()):
                key = curated.curated_key(
                    contract.TRANSACTIONS_TABLE, contract.TRANSACTIONS_PARTITION, value, job_id
                )
                _upload(s3, bucket, key, data)
                uploaded.append(key)
            rejects_key = None
            if rejected is not None:
                data = stack.enter_context(_spooled())
                with rejected() as source:
                    count = curate.write_rejects(
                        source, job_id=job_id, source_key=source_key, sink=data
                    )
                if count:
                    rejects_key = curated.curated_key(
                        contract.REJECTS_TABLE, contract.REJECTS_PARTITION, received_date, job_id
                    )
                    _upload(s3, bucket, rejects_key, data)
                    uploaded.append(rejects_key)
    except BaseException:
        for key in uploaded:
            s3.delete_object(Bucket=bucket, Key=key)
        raise
    return {"transactions": [k for k in uploaded if k != rejects_key], "rejects": rejects_key}


@contextmanager
def _spooled() -> Iterator[IO[bytes]]:
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as data:
        yield data  # type: ignore[misc]


def _upload(s3: Any, bucket: str, key: str, data: IO[bytes]) -> None:
    data.seek(0)
    with s3io.MultipartWriter(bucket, key, client=s3, content_type=PARQUET_CONTENT_TYPE) as sink:
        while chunk := data.read(s3io.PART_SIZE):
            sink.write(chunk)
