"""The Distributed Map path for files too big for one function.

Above ``LargeFiles.threshold_bytes`` a file takes this path instead of the three single
tasks, so no function has to validate, transform and enrich the whole file within its 15
minutes. No row ever passes through the state machine: every state's input and output
holds locations (keys, byte offsets, row numbers), so execution history and the state
machine's logs never hold a card number or any other value of the file.

1. ``Preflight`` (validator): reads the file once with the whole-file parser, so every file
   rule (encoding, quoting, sizes, header) fails a big file where it fails a small one, and
   cuts it at record boundaries into parts of ``batch_rows`` rows, writing one plan per part
   (its byte range and first row number) under ``validated/{job}/plan/``; the job becomes
   VALIDATING.
2. ``ValidateBatches``: a Distributed Map lists the plans and hands each plan's key to the
   validator, which reads the header and its part's byte range of the version that
   triggered the job, validates them with the whole-file core, and writes its valid rows,
   its rejects and a sorted index of its accepted ids under the job's prefixes.
3. ``ReduceValidation`` (validator): merges the id indexes of all parts (a streaming k-way
   merge, constant memory) so an id already accepted in an earlier row of the file, in any
   batch, is a DUPLICATE_ID; sums rows and totals; applies the reject rate.
4. ``ProcessParts``: a second Distributed Map lists the validated parts and runs transform
   then enrich on each (the transformer drops the rows the reduce found duplicated and
   writes their rejects).
5. ``ReduceEnrich`` (enricher): sums every part's rows and totals, reconciles them with the
   validation's, and only then marks the job SUCCEEDED.

Both maps tolerate ``tolerated_failure_percentage`` failed parts (default 0: any failed
part fails the job through the same failure branch as the single-function path).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from . import naming
from ._contract import contract

if TYPE_CHECKING:  # pragma: no cover
    from .etl_workflow import EtlWorkflow


@dataclass(frozen=True, kw_only=True)
class LargeFiles:
    """When and how big files take the Distributed Map path.

    ``LargeFiles()`` is the default of :class:`EtlWorkflow` (``large_files=None`` means the
    same); ``LargeFiles.off()`` switches the path off, so every file takes the
    single-function path.

    ``threshold_bytes``: files larger than this take it (1 GiB). ``batch_rows``: rows per
    part, each validated, transformed and enriched by one invocation (100,000, about 10 MB
    of transactions). ``max_concurrency``: parts in flight at once (40, or the step
    functions' reserved concurrency when lower, see :meth:`concurrency`).
    ``tolerated_failure_percentage``: failed parts allowed before the job fails (0).
    ``enabled``: False (``LargeFiles.off()``) builds no Distributed Map at all.
    """

    threshold_bytes: int = 1 << 30
    batch_rows: int = 100_000
    max_concurrency: int | None = None
    tolerated_failure_percentage: float = 0.0
    enabled: bool = True

    #: Parts in flight when neither the props nor reserved concurrency say otherwise.
    DEFAULT_MAX_CONCURRENCY = 40

    @classmethod
    def off(cls) -> LargeFiles:
        """No Distributed Map path: every file, however big, takes the single-function path
        (validate, transform, enrich, each within one function's 15 minutes)."""
        return cls(enabled=False)

    def problems(self, *, reserved_concurrency: int | None = None) -> list[str]:
        """Every bad setting; ``reserved_concurrency`` is the lowest of the step functions'
        (a map running more parts than that at once only throttles them)."""
        if not self.enabled:
            tuned = [
                f"large_files.{f.name}"
                for f in fields(self)
                if f.name != "enabled" and getattr(self, f.name) != f.default
            ]
            if tuned:
                return [
                    f"large_files is off (enabled=False), so {', '.join(tuned)} would be "
                    "ignored: pass LargeFiles.off() alone, or leave the path on"
                ]
            return []
        found = []
        if self.threshold_bytes < 1:
            found.append("large_files.threshold_bytes must be at least 1")
        if not 1 <= self.batch_rows <= 1_000_000:
            found.append("large_files.batch_rows must be 1-1000000")
        if self.max_concurrency is not None and not 1 <= self.max_concurrency <= 10_000:
            found.append("large_files.max_concurrency must be 1-10000")
        elif (
            self.max_concurrency is not None
            and reserved_concurrency is not None
            and self.max_concurrency > reserved_concurrency
        ):
            found.append(
                f"large_files.max_concurrency ({self.max_concurrency}) must not exceed the "
                f"reserved concurrency of the step functions ({reserved_concurrency}): the "
                "parts above it would only be throttled"
            )
        if not 0 <= self.tolerated_failure_percentage <= 100:
            found.append("large_files.tolerated_failure_percentage must be 0-100")
        return found

    def concurrency(self, *, reserved_concurrency: int | None = None) -> int:
        """Parts in flight at once: the prop, else 40 capped at the reserved concurrency."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        if reserved_concurrency is None:
            return self.DEFAULT_MAX_CONCURRENCY
        return min(self.DEFAULT_MAX_CONCURRENCY, reserved_concurrency)


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


JOB_FIELDS = ("jobId", "bucket", "key", "versionId", "fileName", "attempt", "jobFolder")


def job_fields(**extra: Any) -> dict[str, Any]:
    """The job's identity, as every task of the path passes it on."""
    return {name: sfn.JsonPath.string_at(f"$.{name}") for name in JOB_FIELDS} | extra


#: The job folders the two maps list, as (prefix, folder) of the handlers' contract: the
#: plans, then the validated parts (``validated/{job}/plan/``, ``validated/{job}/parts/``).
#: Both prefixes are among :data:`naming.STATE_MACHINE_LIST_PREFIXES`.
LISTED_PLANS = (naming.VALIDATED_PREFIX, contract.PLAN_FOLDER)
LISTED_PARTS = (naming.VALIDATED_PREFIX, contract.PARTS_FOLDER)


def _job_objects(workflow: EtlWorkflow, listed: tuple[str, str]) -> ListedObjectsItemReader:
    """Lists ``{prefix}{jobFolder}/{folder}/`` (the attempt's folder, ``keys.job_folder``):
    the items are object keys and sizes, never data."""
    prefix, folder = listed
    return ListedObjectsItemReader(
        bucket=workflow.bucket,
        prefix=sfn.JsonPath.format(
            f"{prefix}{{}}/{folder}/", sfn.JsonPath.string_at("$.jobFolder")
        ),
    )


def build(
    workflow: EtlWorkflow,
    *,
    settings: LargeFiles,
    concurrency: int,
    failure: sfn.IChainable,
    succeeded: sfn.State,
) -> sfn.IChainable:
    """The whole path, from Preflight to ``succeeded`` (or ``failure``); ``concurrency``
    parts in flight at once in each map."""
    preflight, preflight_outcome = workflow.step_task(
        "Preflight",
        naming.STEP_VALIDATE,
        "validator",
        "$.validation",
        payload=job_fields(mode="preflight", rowsPerPart=settings.batch_rows),
        duplicate=True,
    )
    # Every child's last task replaces its state with the handler's empty result: the map
    # collects one output per child. A child's input is the job and the key of its part's
    # plan: the validator reads the rows from S3 itself, so none enters execution history.
    batch = workflow.inner_task("ValidateBatch", "validator", result_path="$")
    validate_batches = sfn.DistributedMap(
        workflow,
        "ValidateBatches",
        comment="validate the planned parts, each reading its own byte range",
        item_reader=_job_objects(workflow, LISTED_PLANS),
        item_selector=job_fields(
            mode="batch", planKey=sfn.JsonPath.string_at("$$.Map.Item.Value.Key")
        ),
        max_concurrency=concurrency,
        tolerated_failure_percentage=settings.tolerated_failure_percentage,
        result_path=sfn.JsonPath.DISCARD,
        map_execution_type=sfn.StateMachineType.STANDARD,
    )
    validate_batches.item_processor(batch)
    workflow.catch_into_failure(validate_batches, naming.STEP_VALIDATE, failure)

    reduce_validation, reduce_validation_outcome = workflow.step_task(
        "ReduceValidation",
        naming.STEP_VALIDATE,
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
        item_reader=_job_objects(workflow, LISTED_PARTS),
        item_selector=job_fields(
            mode="part", partKey=sfn.JsonPath.string_at("$$.Map.Item.Value.Key")
        ),
        max_concurrency=concurrency,
        tolerated_failure_percentage=settings.tolerated_failure_percentage,
        result_path=sfn.JsonPath.DISCARD,
        map_execution_type=sfn.StateMachineType.STANDARD,
    )
    process_parts.item_processor(transform_part.next(enrich_part))
    workflow.catch_into_failure(process_parts, naming.STEP_TRANSFORM, failure)

    reduce_enrich, reduce_enrich_outcome = workflow.step_task(
        "ReduceEnrich",
        naming.STEP_ENRICH,
        "enricher",
        "$.enrich",
        payload=job_fields(mode="reduce"),
    )
    preflight_outcome.otherwise(validate_batches)
    validate_batches.next(reduce_validation)
    reduce_validation_outcome.otherwise(process_parts)
    process_parts.next(reduce_enrich)
    reduce_enrich_outcome.otherwise(succeeded)
    return preflight
