"""OpenLineage run events of a job, built from its record (standard library only).

A job attempt is one OpenLineage *run*: ``START`` when validation starts, then ``COMPLETE``
(SUCCEEDED, or DUPLICATE: nothing published) or ``FAIL``. The event is a plain dict in the
OpenLineage 2-0-2 ``RunEvent`` shape, built only from the job record's ids, keys, counts and
control totals, its error code and (already scrubbed) message: never a value of the file.
What a field means is in ``docs/lineage.md``; the transport lives in ``app/lineage.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from etl_handlers import contract
from etl_handlers.core import keys
from etl_handlers.core.masking import KEEP_LAST, MASK_CHAR, scrub

START = "START"
COMPLETE = "COMPLETE"
FAIL = "FAIL"
EVENT_TYPES = tuple(contract.LINEAGE_SEQUENCE)

PRODUCER = "https://pypi.org/project/etl-constructs/"
"""The ``producer`` of every event and facet: the package that wrote it."""
SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA = f"{SPEC_URL}#/$defs/RunEvent"
_FACETS = "https://openlineage.io/spec/facets/"
JOB_TYPE_SCHEMA = f"{_FACETS}2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
VERSION_SCHEMA = f"{_FACETS}1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
INPUT_STATISTICS_SCHEMA = (
    f"{_FACETS}1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
)
OUTPUT_STATISTICS_SCHEMA = (
    f"{_FACETS}1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet"
)
ERROR_MESSAGE_SCHEMA = f"{_FACETS}1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"

#: The project's own facets (JSON schemas in docs/lineage/), named with its prefix.
JOB_FACET, MASKING_FACET, CONTROL_TOTALS_FACET = contract.LINEAGE_RUN_FACETS
facet_schema_url = contract.lineage_facet_schema_url
MASKING_MODE = f"keep-last-{KEEP_LAST}"
"""How card numbers are masked: every character but the last four replaced, length kept."""

#: The name every run id is derived under (uuid5): the same job attempt, the same run.
RUN_ID_NAMESPACE = uuid.UUID("7d0c9a52-3f57-5b8e-9a51-3b0e0c1f6a15")

#: Outputs of a SUCCEEDED job: (dataset label, ``outputs`` key, the row count that is its size).
_OUTPUTS = (
    ("processed", "processed", "transformed"),
    ("enriched", "enriched", "enriched"),
    ("rejected", "rejected", "rejected"),
)
_CURATED_ROWS = {contract.TRANSACTIONS_TABLE: "enriched", contract.REJECTS_TABLE: "rejected"}

__all__ = [
    "COMPLETE",
    "CONTROL_TOTALS_FACET",
    "EVENT_TYPES",
    "FAIL",
    "JOB_FACET",
    "MASKING_FACET",
    "MASKING_MODE",
    "PRODUCER",
    "START",
    "event_key",
    "event_type_of",
    "facet_schema_url",
    "run_event",
    "run_id",
]


def run_id(job_id: str, attempt: int) -> str:
    """The run of one attempt of one job: a UUID derived from both, the same on every retry."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{job_id}/{attempt}"))


def attempt_of(job: Mapping[str, Any]) -> int:
    """The attempt a job record is at (1 when it has never been reprocessed)."""
    return keys.attempt_of(job.get("attempt"))


def event_key(job_id: str, attempt: int, event_type: str) -> str:
    """Where the bucket keeps one event (``contract.LINEAGE_KEY``)."""
    return contract.LINEAGE_KEY.format(
        job=job_id,
        attempt=attempt,
        sequence=contract.LINEAGE_SEQUENCE[event_type],
        event_type=event_type,
    )


def event_type_of(status: object) -> str | None:
    """The event a job status ends its run with: COMPLETE, FAIL, or None (still running)."""
    if status in (contract.SUCCEEDED, contract.DUPLICATE):
        return COMPLETE
    if status == contract.FAILED:
        return FAIL
    return None


def run_event(
    event_type: str,
    job: Mapping[str, Any],
    *,
    namespace: str,
    producer: str,
    event_time: str,
    card_columns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``RunEvent`` of ``event_type`` for the job record ``job``.

    ``card_columns``: the schema's card-number columns, named in the masking facet.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown lineage event {event_type!r}: use one of {EVENT_TYPES}")
    job_id, attempt = str(job["jobId"]), attempt_of(job)
    rows = job.get("rows") if isinstance(job.get("rows"), Mapping) else {}
    facets: dict[str, Any] = {JOB_FACET: _job_facet(job, attempt, producer)}
    outputs: list[dict[str, Any]] = []
    if event_type == COMPLETE and job.get("status") == contract.SUCCEEDED:
        outputs = _outputs(job, rows, producer)
    if event_type == COMPLETE:
        facets[MASKING_FACET] = _custom(
            MASKING_FACET,
            producer,
            cardNumbersMasked=True,
            mode=MASKING_MODE,
            maskCharacter=MASK_CHAR,
            columns=list(card_columns),
            freeTextScrubbed=True,
        )
        facets[CONTROL_TOTALS_FACET] = _custom(
            CONTROL_TOTALS_FACET,
            producer,
            rows={k: int(v) for k, v in rows.items() if _is_count(v)},
            totals=_plain(job.get("totals") or {}),
        )
    error = job.get("error")
    if event_type == FAIL and isinstance(error, Mapping):
        code = str(error.get("code") or "")
        message = scrub(str(error.get("message") or ""))
        facets["errorMessage"] = {
            "_producer": producer,
            "_schemaURL": ERROR_MESSAGE_SCHEMA,
            "message": f"{code}: {message}" if code else message,
            "programmingLanguage": "python",
        }
    return {
        "eventTime": event_time,
        "producer": producer,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id(job_id, attempt), "facets": facets},
        "job": {
            "namespace": namespace,
            "name": str(job["fileName"]),
            "facets": {
                "jobType": {
                    "_producer": producer,
                    "_schemaURL": JOB_TYPE_SCHEMA,
                    "processingType": "BATCH",
                    "integration": "ETL_CONSTRUCTS",
                    "jobType": "JOB",
                }
            },
        },
        "eventType": event_type,
        "inputs": [_input(job, rows, producer)],
        "outputs": outputs,
    }


def _job_facet(job: Mapping[str, Any], attempt: int, producer: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"jobId": str(job["jobId"]), "attempt": attempt}
    if isinstance(job.get("status"), str):
        fields["status"] = job["status"]
    if isinstance(job.get("duplicateOf"), str):
        fields["duplicateOf"] = job["duplicateOf"]
    error = job.get("error")
    if isinstance(error, Mapping) and error.get("code"):
        fields["errorCode"] = str(error["code"])
    return _custom(JOB_FACET, producer, **fields)


def _input(job: Mapping[str, Any], rows: Mapping[str, Any], producer: str) -> dict[str, Any]:
    version = job.get("versionId") or job.get("etag")
    facets: dict[str, Any] = {}
    if version:
        facets["version"] = {
            "_producer": producer,
            "_schemaURL": VERSION_SCHEMA,
            "datasetVersion": str(version),
        }
    statistics: dict[str, Any] = {
        "_producer": producer,
        "_schemaURL": INPUT_STATISTICS_SCHEMA,
        "fileCount": 1,
    }
    read = rows.get("input", rows.get(contract.ROWS_READ))
    if _is_count(read):
        statistics["rowCount"] = int(read)
    if _is_count(job.get("sizeBytes")):
        statistics["size"] = int(job["sizeBytes"])
    return {
        "namespace": f"s3://{job['bucket']}",
        "name": str(job["fileName"]),
        "facets": facets,
        "inputFacets": {"inputStatistics": statistics},
    }


def _outputs(
    job: Mapping[str, Any], rows: Mapping[str, Any], producer: str
) -> list[dict[str, Any]]:
    recorded = job.get("outputs") if isinstance(job.get("outputs"), Mapping) else {}
    found = []
    for _, output, count in _OUTPUTS:
        key = recorded.get(output)
        if isinstance(key, str) and key:
            found.append(_output(job, key, rows.get(count), None, producer))
    curated = recorded.get("curated")
    if isinstance(curated, Mapping):
        for table, files in curated.items():
            if table not in _CURATED_ROWS or not isinstance(files, list):
                continue
            # the table, not this job's files: every job adds to the same dataset
            name = f"{contract.CURATED_PREFIX}{table}"
            found.append(_output(job, name, rows.get(_CURATED_ROWS[table]), len(files), producer))
    return found


def _output(
    job: Mapping[str, Any], name: str, count: Any, files: int | None, producer: str
) -> dict[str, Any]:
    statistics: dict[str, Any] = {"_producer": producer, "_schemaURL": OUTPUT_STATISTICS_SCHEMA}
    if _is_count(count):
        statistics["rowCount"] = int(count)
    if files is not None:
        statistics["fileCount"] = files
    return {
        "namespace": f"s3://{job['bucket']}",
        "name": name.rstrip("/"),
        "facets": {},
        "outputFacets": {"outputStatistics": statistics},
    }


def _custom(facet: str, producer: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": producer, "_schemaURL": facet_schema_url(facet), **fields}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _plain(value: Any) -> Any:
    """Totals as plain JSON: counts stay whole numbers, amounts exact decimal strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if _is_count(value) else str(value)
