"""The pipeline's OpenLineage run events, read with the ``openlineage-python`` client.

The functions build their events with the standard library (the client cannot ship to
Lambda without a layer of its own: docs/lineage.md says why). Here each event is rebuilt
from the client's generated classes (``RunEvent``, ``Run``, ``Job``, the datasets and the
standard facets, whose validators check the run id, the event time and the URLs) plus the
project's three custom facets as client facet classes, and serialized back with the
client's ``Serde``: an event is valid when that gives back exactly the event written. A run
(``etl-pipeline run``) checks every event it exports so, and tests check each event so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated.base import RunFacet
from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.input_statistics_input_dataset import (
    InputStatisticsInputDatasetFacet,
)
from openlineage.client.generated.job_type_job import JobTypeJobFacet
from openlineage.client.generated.output_statistics_output_dataset import (
    OutputStatisticsOutputDatasetFacet,
)
from openlineage.client.serde import Serde

from .._contract import contract

__all__ = [
    "EtlControlTotalsRunFacet",
    "EtlJobRunFacet",
    "EtlMaskingRunFacet",
    "InvalidLineageEvent",
    "check_event",
    "check_exported",
    "to_client_event",
]

JOB_FACET, MASKING_FACET, CONTROL_TOTALS_FACET = contract.LINEAGE_RUN_FACETS


class InvalidLineageEvent(ValueError):
    """An event the OpenLineage client does not read back as written."""


@attr.define
class EtlJobRunFacet(RunFacet):
    """The pipeline's job behind the run: id, attempt, status, and what ended it."""

    jobId: str = attr.field()
    attempt: int = attr.field()
    status: str | None = attr.field(default=None)
    duplicateOf: str | None = attr.field(default=None)
    errorCode: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return str(contract.lineage_facet_schema_url(JOB_FACET))


@attr.define
class EtlMaskingRunFacet(RunFacet):
    """Card numbers in every output were masked, and how."""

    cardNumbersMasked: bool = attr.field()
    mode: str = attr.field()
    maskCharacter: str = attr.field()
    columns: list[str] = attr.field()
    freeTextScrubbed: bool = attr.field()

    @staticmethod
    def _get_schema() -> str:
        return str(contract.lineage_facet_schema_url(MASKING_FACET))


@attr.define
class EtlControlTotalsRunFacet(RunFacet):
    """The job's row counts and control totals per stage, as its record holds them."""

    rows: dict[str, int] = attr.field()
    totals: dict[str, Any] = attr.field()

    @staticmethod
    def _get_schema() -> str:
        return str(contract.lineage_facet_schema_url(CONTROL_TOTALS_FACET))


_RUN_FACETS: Mapping[str, type[RunFacet]] = {
    JOB_FACET: EtlJobRunFacet,
    MASKING_FACET: EtlMaskingRunFacet,
    CONTROL_TOTALS_FACET: EtlControlTotalsRunFacet,
    "errorMessage": ErrorMessageRunFacet,
}
_JOB_FACETS = {"jobType": JobTypeJobFacet}
_DATASET_FACETS = {"version": DatasetVersionDatasetFacet}
_INPUT_FACETS = {"inputStatistics": InputStatisticsInputDatasetFacet}
_OUTPUT_FACETS = {"outputStatistics": OutputStatisticsOutputDatasetFacet}


def to_client_event(event: Mapping[str, Any]) -> RunEvent:
    """``event`` as the client's ``RunEvent``; raises :class:`InvalidLineageEvent`."""
    try:
        return RunEvent(
            eventType=RunState(event["eventType"]),
            eventTime=event["eventTime"],
            producer=event["producer"],
            run=Run(runId=event["run"]["runId"], facets=_typed(event["run"], _RUN_FACETS)),
            job=Job(
                namespace=event["job"]["namespace"],
                name=event["job"]["name"],
                facets=_typed(event["job"], _JOB_FACETS),
            ),
            inputs=[
                InputDataset(
                    namespace=item["namespace"],
                    name=item["name"],
                    facets=_typed(item, _DATASET_FACETS),
                    inputFacets=_typed(item, _INPUT_FACETS, "inputFacets"),
                )
                for item in event["inputs"]
            ],
            outputs=[
                OutputDataset(
                    namespace=item["namespace"],
                    name=item["name"],
                    facets=_typed(item, _DATASET_FACETS),
                    outputFacets=_typed(item, _OUTPUT_FACETS, "outputFacets"),
                )
                for item in event["outputs"]
            ],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidLineageEvent(f"not an OpenLineage RunEvent: {exc!r}") from None


def check_event(event: Mapping[str, Any]) -> RunEvent:
    """The client's ``RunEvent`` of ``event``, which must serialize back to ``event``."""
    client_event = to_client_event(event)
    again = Serde.to_dict(client_event)
    if again != event:
        differing = sorted(k for k in set(again) | set(event) if again.get(k) != event.get(k))
        raise InvalidLineageEvent(
            "the OpenLineage client reads the event otherwise (fields: "
            + ", ".join(differing)
            + ")"
        )
    return client_event


def check_exported(out_dir: Path) -> list[Path]:
    """Check every event under ``out_dir/lineage/``; the files checked."""
    files = sorted((out_dir / contract.LINEAGE_PREFIX).rglob("*.json"))
    for path in files:
        try:
            check_event(json.loads(path.read_text()))
        except (InvalidLineageEvent, json.JSONDecodeError) as exc:
            raise InvalidLineageEvent(f"{path}: {exc}") from None
    return files


def _typed(
    owner: Mapping[str, Any], classes: Mapping[str, type[Any]], field: str = "facets"
) -> dict[str, Any]:
    facets = owner.get(field)
    if not isinstance(facets, Mapping):
        raise TypeError(f"{field} must be an object")
    return {name: _facet(name, classes, value) for name, value in facets.items()}


def _facet(name: str, classes: Mapping[str, type[Any]], value: Any) -> Any:
    cls = classes.get(name)
    if cls is None:
        raise ValueError(f"facet {name!r} is not one the pipeline emits there")
    fields = {k: v for k, v in value.items() if k not in ("_producer", "_schemaURL")}
    return cls(producer=value["_producer"], **fields)
