"""Object keys of the ingestion bucket and the job id: one home for both.

Every output key is a pure function of the job id and the source key, so a retried step
overwrites its own output instead of appending a second copy. The prefixes live in
``etl_handlers.contract``, which the constructs read too (the bucket's lifecycle rules and
the event rule use them).
"""

from __future__ import annotations

import hashlib
import posixpath
from datetime import date, datetime
from urllib.parse import quote

from etl_handlers.contract import (
    ATTEMPT_EXECUTION_SEPARATOR,
    ATTEMPT_FOLDER,
    ENRICHED_PREFIX,
    FAILED_PREFIX,
    INPUT_SUFFIXES,
    PREFIXES,
    PROCESSED_PREFIX,
    RAW_PREFIX,
    REJECTED_PREFIX,
    REPORTS_PREFIX,
    VALIDATED_PREFIX,
)
from etl_handlers.core.masking import card_numbers_in_name, mask_card_numbers_in_name

CSV_SUFFIX = ".csv"
MAX_KEY_BYTES = 1024
"""S3's limit on the length of an object key, in UTF-8 bytes."""

JOB_ID_LENGTH = 32
OUTPUT_FORMATS = ("jsonl", "parquet")

__all__ = [
    "CSV_SUFFIX",
    "ENRICHED_PREFIX",
    "FAILED_PREFIX",
    "JOB_ID_LENGTH",
    "MAX_KEY_BYTES",
    "OUTPUT_FORMATS",
    "PREFIXES",
    "PROCESSED_PREFIX",
    "RAW_PREFIX",
    "REJECTED_PREFIX",
    "REPORTS_PREFIX",
    "VALIDATED_PREFIX",
    "attempt_of",
    "copy_source",
    "enriched_key",
    "execution_name",
    "failed_key",
    "file_name",
    "input_problem",
    "is_job_id",
    "is_pipeline_input",
    "job_folder",
    "job_id",
    "job_of_execution",
    "processed_key",
    "refused_name",
    "rejected_key",
    "report_key",
    "report_page_key",
    "shown_key",
    "stem",
    "validated_key",
]


def job_id(bucket: str, key: str, version: str) -> str:
    """Return the deterministic id of the job for one version of one object.

    ``version`` is the S3 version id, or the ETag (without quotes) when the bucket is not
    versioned. The id doubles as the Step Functions execution name, which is what makes a
    repeated event start nothing new.
    """
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).hexdigest()
    return digest[:JOB_ID_LENGTH]


def is_job_id(value: object) -> bool:
    """Whether ``value`` has the shape of a job id (32 lower-case hex characters)."""
    return (
        isinstance(value, str)
        and len(value) == JOB_ID_LENGTH
        and all(c in "0123456789abcdef" for c in value)
    )


def input_problem(key: object) -> str | None:
    """Say why ``key`` is not a pipeline input, or return None when it is one.

    A pipeline input is a key under ``raw/`` ending in one of ``INPUT_SUFFIXES`` (``.csv``, or
    a bank statement's: ``.xml``, ``.sta``, ``.mt940``, ``.940``, ``.bai``, ``.bai2``; any
    case; the contents, not the name, then say the format) with a non-empty
    file name, no ``..`` segment (which would let derived keys escape their prefix when a
    tool normalizes paths), not absolute, and within S3's 1024-byte key limit. The API uses
    the message as its 400 response; the trigger logs it.
    """
    if not isinstance(key, str) or not key:
        return "key must be a non-empty string"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "key must be valid UTF-8"
    if size > MAX_KEY_BYTES:
        return f"key is longer than {MAX_KEY_BYTES} bytes"
    if key.startswith("/"):
        return f"key must be relative to the bucket and start with {RAW_PREFIX!r}"
    if not key.startswith(RAW_PREFIX):
        return f"key must start with {RAW_PREFIX!r}"
    if ".." in key.split("/"):
        return "key must not contain '..' segments"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return "key must not contain control characters"
    if not key.lower().endswith(INPUT_SUFFIXES):
        return f"key must end with {' or '.join(repr(s) for s in INPUT_SUFFIXES)}"
    if not stem(key):
        return "the file name must not be empty"
    return None


CARD_NUMBER_IN_NAME_PROBLEM = (
    "the file name holds a card number: rename the file without it and upload it again "
    "(an object key is not encrypted: S3 listings, events and logs show it); the file was "
    "not read and stays where it is"
)


def refused_name(key: str) -> str | None:
    """Say why the pipeline will not process the input ``key`` by its name, or None.

    A key holding a card number (``masking.card_numbers_in_name``) is refused: processing it
    would copy the number into every output row's ``source_key``, the job record, the logs,
    the lineage events and the output keys. The trigger records such a file as a FAILED job
    under :func:`shown_key` with this message (which ``etl-pipeline run`` reports); the API's
    ``POST /trigger`` and a reprocess refuse it with it.
    """
    return CARD_NUMBER_IN_NAME_PROBLEM if card_numbers_in_name(key) else None


def shown_key(key: str) -> str:
    """``key`` as records and logs may show it: card numbers in it masked."""
    return mask_card_numbers_in_name(key)


def is_pipeline_input(key: object) -> bool:
    """Whether ``key`` names a file the pipeline processes (see :func:`input_problem`)."""
    return input_problem(key) is None


def file_name(key: str) -> str:
    """The last segment of ``key`` (``raw/2024/a.csv`` -> ``a.csv``)."""
    return posixpath.basename(key)


def stem(key: str) -> str:
    """The file name of ``key`` without its input suffix (``.csv``, ``.xml``...; matched
    case-insensitively)."""
    name = file_name(key)
    for suffix in INPUT_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _format_extension(output_format: str) -> str:
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(
            f"output format {output_format!r} is not supported: use one of {OUTPUT_FORMATS}"
        )
    return output_format


def validated_key(job: str, key: str) -> str:
    """``validated/{job}/{stem}.csv``: the valid rows, canonical header."""
    return f"{VALIDATED_PREFIX}{job}/{stem(key)}.csv"


def rejected_key(job: str, key: str) -> str:
    """``rejected/{job}/{stem}.rejected.jsonl``: one JSON line per rejected row."""
    return f"{REJECTED_PREFIX}{job}/{stem(key)}.rejected.jsonl"


def processed_key(job: str, key: str, output_format: str = "jsonl") -> str:
    """``processed/{job}/{stem}.{jsonl|parquet}``: the transformer's output."""
    return f"{PROCESSED_PREFIX}{job}/{stem(key)}.{_format_extension(output_format)}"


def enriched_key(job: str, key: str, output_format: str = "jsonl") -> str:
    """``enriched/{job}/{stem}.{jsonl|parquet}``: the enricher's output."""
    return f"{ENRICHED_PREFIX}{job}/{stem(key)}.{_format_extension(output_format)}"


def failed_key(job: str, key: str) -> str:
    """``failed/{job}/{file name}``: where the failure branch copies the source."""
    return f"{FAILED_PREFIX}{job}/{file_name(key)}"


def report_key(day: date | datetime) -> str:
    """``reports/YYYY-MM-DD.json``: the quality check's report for ``day``."""
    if isinstance(day, datetime):
        day = day.date()
    return f"{REPORTS_PREFIX}{day.isoformat()}.json"


def report_page_key(day: date | datetime) -> str:
    """``reports/YYYY-MM-DD.html``: the same report as a page, beside the JSON."""
    return report_key(day).removesuffix(".json") + ".html"


def copy_source(bucket: str, key: str, version_id: str | None = None) -> str:
    """The URL-encoded ``bucket/key[?versionId=...]`` that S3 CopyObject expects.

    The failure branch passes it to CopyObject as is (Step Functions cannot URL-encode), so
    the trigger computes it into the execution input.
    """
    source = quote(f"{bucket}/{key}", safe="/")
    if version_id:
        source += f"?versionId={quote(version_id, safe='')}"
    return source


# -- attempts (reprocess) ----------------------------------------------------------------------


def job_folder(job: str, attempt: int = 1) -> str:
    """The folder of one attempt's outputs under each prefix: ``{job}`` for the first
    attempt (its keys as they always were), ``{job}/a{N}`` for attempt N >= 2. The key
    functions above take it in place of the job id."""
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise ValueError(f"attempt must be a whole number of at least 1, not {attempt!r}")
    return job if attempt == 1 else f"{job}/{ATTEMPT_FOLDER.format(attempt=attempt)}"


def attempt_of(value: object) -> int:
    """An attempt number as an event or a record carries it: absent (a job never
    reprocessed) is 1; anything but a whole number >= 1 is refused."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"attempt must be a whole number of at least 1, not {value!r}")
    return value


def execution_name(job: str, attempt: int = 1) -> str:
    """The Step Functions execution name of an attempt: the job id for the first (so a
    repeated event starts nothing new), ``{job}-a{N}`` for attempt N >= 2."""
    job_folder(job, attempt)  # checks attempt
    return job if attempt == 1 else f"{job}{ATTEMPT_EXECUTION_SEPARATOR}{attempt}"


def job_of_execution(name: object) -> str | None:
    """The job id an execution name belongs to (see :func:`execution_name`), else None."""
    if not isinstance(name, str):
        return None
    job, sep, number = name.partition(ATTEMPT_EXECUTION_SEPARATOR)
    if sep and not (
        number.isascii() and number.isdigit() and number[0] != "0" and int(number) >= 2
    ):
        return None
    return job if is_job_id(job) else None
