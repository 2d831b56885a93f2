"""The Distributed Map path for files too big for one function.

Above ``LargeFiles.threshold_bytes`` a file takes this path instead of the three single
tasks, so no function has to stream the whole file within its 15 minutes:

1. ``Preflight`` (validator): the header's file rules (empty, encoding, duplicate or missing
   columns) on the first bytes; the job becomes VALIDATING.
2. ``ValidateBatches``: a Distributed Map reads the CSV with the S3 item reader (the exact
   version that triggered the job), numbers every row (``$$.Map.Item.Index``), and hands
   batches of ``batch_rows`` rows to the validator. Each batch writes its valid rows, its
   rejects and a sorted index of its accepted ids under the job's prefixes.
3. ``ReduceValidation`` (validator): merges the id indexes of all batches (a streaming k-way
   merge, constant memory) so an id already accepted in an earlier row of the file, in any
   batch, is a DUPLICATE_ID; sums rows and totals; applies the reject rate.
4. ``ProcessParts``: a second Distributed Map lists the validated parts and runs transform
   then enrich on each (the transformer drops the rows the reduce found duplicated and
   writes their rejects).
5. ``ReduceEnrich`` (enricher): sums every part's rows and totals, reconciles them with the
   validation's, and only then marks the job SUCCEEDED.

Both maps tolerate ``tolerated_failure_percentage`` failed batches (default 0: any failed
batch fails the job through the same failure branch as the single-function path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from . import naming

if TYPE_CHECKING:  # pragma: no cover
    from .etl_workflow import EtlWorkflow

#: Step Functions' own ceiling for the input of one batch.
MAX_BATCH_INPUT_BYTES = 262_144


@dataclass(frozen=True, kw_only=True)
class LargeFiles:
    """When and how big files take the Distributed Map path.

    ``threshold_bytes``: files larger than this take it (1 GiB). ``batch_rows``: rows per
    batch (1000; a batch's JSON must stay under 256 KiB). ``max_concurrency``: batches in
    flight at once (40). ``tolerated_failure_percentage``: failed batches allowed before the
    job fails (0).
    """

    threshold_bytes: int = 1 << 30
    batch_rows: int = 1000
    max_concurrency: int = 40
    tolerated_failure_percentage: float = 0.0

    def problems(self) -> list[str]:
        found = []
        if self.threshold_bytes < 1:
            found.append("large_files.threshold_bytes must be at least 1")
        if not 1 <= self.batch_rows <= 10_000:
            found.append("large_files.batch_rows must be 1-10000")
        if not 1 <= self.max_concurrency <= 10_000:
            found.append("large_files.max_concurrency must be 1-10000")
        if not 0 <= self.tolerated_failure_percentage <= 100:
            found.append("large_files.tolerated_failure_percentage must be 0-100")
        return found


@jsii.implements(sfn.IItemReader)
class RawCsvItemReader:
    """Reads one version of a ``raw/`` CSV object, header from its first row.

    CDK's S3CsvItemReader reads the latest version and grants ``s3:GetObject`` on every
    object of the bucket; this reader pins the version that triggered the job and grants
    reads on ``raw/`` only.
    """

    def __init__(self, bucket: s3.IBucket) -> None:
        self._bucket = bucket

    @property
    def bucket(self) -> s3.IBucket:
        return self._bucket

    @property
    def resource(self) -> str:
        return f"arn:{cdk.Aws.PARTITION}:states:::s3:getObject"

    @property
    def max_items(self) -> None:
        return None

    @property
    def bucket_name_path(self) -> None:
        return None

    def render(self, query_language: Any = None) -> dict[str, Any]:
        return {
            "Resource": self.resource,
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {
                "Bucket": self._bucket.bucket_name,
                "Key.$": "$.key",
                "VersionId.$": "$.versionId",
            },
        }

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self._bucket.arn_for_objects(f"{naming.RAW_PREFIX}*")],
            )
        ]
        return statements

    def validate_item_reader(self) -> list[str]:
        return []


class ListedObjectsItemReader(sfn.S3ObjectsItemReader):
    """CDK's S3ObjectsItemReader, but its ``s3:ListBucket`` holds only under the prefixes the
    state machine lists (:data:`naming.STATE_MACHINE_LIST_PREFIXES`), not the whole bucket."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={
                    "StringLike": {
                        "s3:prefix": [f"{p}*" for p in naming.STATE_MACHINE_LIST_PREFIXES]
                    }
                },
            )
        ]


JOB_FIELDS = ("jobId", "bucket", "key", "versionId", "fileName")


def job_fields(**extra: Any) -> dict[str, Any]:
    """The job's identity, as every task of the path passes it on."""
    return {name: sfn.JsonPath.string_at(f"$.{name}") for name in JOB_FIELDS} | extra


def build(
    workflow: EtlWorkflow,
    *,
    settings: LargeFiles,
    failure: sfn.IChainable,
    succeeded: sfn.State,
) -> sfn.IChainable:
    """The whole path, from Preflight to ``succeeded`` (or ``failure``)."""
    preflight, preflight_outcome = workflow.step_task(
        "Preflight",
        "validate",
        "validator",
        "$.validation",
        payload=job_fields(mode="preflight"),
    )
    # Every child's last task replaces its state with the handler's empty result: the map
    # collects one output per child, and a batch's input is its rows.
    batch = workflow.inner_task("ValidateBatch", "validator", result_path="$")
    validate_batches = sfn.DistributedMap(
        workflow,
        "ValidateBatches",
        comment="validate the rows in batches, each writing its parts",
        item_reader=RawCsvItemReader(workflow.bucket),
        item_selector={
            "row": sfn.JsonPath.number_at("$$.Map.Item.Index"),
            "values": sfn.JsonPath.object_at("$$.Map.Item.Value"),
        },
        item_batcher=sfn.ItemBatcher(
            max_items_per_batch=settings.batch_rows,
            max_input_bytes_per_batch=MAX_BATCH_INPUT_BYTES,
            # CDK renders BatchInput verbatim: the ".$" of each path is ours to write
            batch_input={
                "mode": "batch",
                **{f"{name}.$": f"$.{name}" for name in JOB_FIELDS},
            },
        ),
        max_concurrency=settings.max_concurrency,
        tolerated_failure_percentage=settings.tolerated_failure_percentage,
        result_path=sfn.JsonPath.DISCARD,
        map_execution_type=sfn.StateMachineType.STANDARD,
    )
    validate_batches.item_processor(batch)
    workflow.catch_into_failure(validate_batches, "validate", failure)

    reduce_validation, reduce_validation_outcome = workflow.step_task(
        "ReduceValidation",
        "validate",
        "validator",
        "$.validation",
        payload=job_fields(mode="reduce"),
    )
    transform_part = workflow.inner_task("TransformPart", "transformer", result_path="$.part")
    enrich_part = workflow.inner_task("EnrichPart", "enricher", result_path="$")
    process_parts = sfn.DistributedMap(
        workflow,
        "ProcessParts",
        comment="transform and enrich every validated part",
        item_reader=ListedObjectsItemReader(
            bucket=workflow.bucket,
            prefix=sfn.JsonPath.format(
                f"{naming.VALIDATED_PREFIX}{{}}/parts/", sfn.JsonPath.string_at("$.jobId")
            ),
        ),
        item_selector=job_fields(
            mode="part", partKey=sfn.JsonPath.string_at("$$.Map.Item.Value.Key")
        ),
        max_concurrency=settings.max_concurrency,
        tolerated_failure_percentage=settings.tolerated_failure_percentage,
        result_path=sfn.JsonPath.DISCARD,
        map_execution_type=sfn.StateMachineType.STANDARD,
    )
    process_parts.item_processor(transform_part.next(enrich_part))
    workflow.catch_into_failure(process_parts, "transform", failure)

    reduce_enrich, reduce_enrich_outcome = workflow.step_task(
        "ReduceEnrich", "enrich", "enricher", "$.enrich", payload=job_fields(mode="reduce")
    )
    preflight_outcome.otherwise(validate_batches)
    validate_batches.next(reduce_validation)
    reduce_validation_outcome.otherwise(process_parts)
    process_parts.next(reduce_enrich)
    reduce_enrich_outcome.otherwise(succeeded)
    return preflight
