"""The pipeline the local runtime synthesizes when there is no cdk.json: one stack with
the library's constructs at their defaults, the analytics catalog included (what
``pip install etl-constructs[local]`` users get with ``etl-pipeline run`` in any folder).

Context ``compliance`` picks the profile as the example app does (``-c compliance=strict``):
strict builds the pipeline a strict deployment has (customer-managed keys, the functions in
a VPC) and adds that profile's cdk-nag packs, so a local run synthesizes what it claims to.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from .. import compliance as nag
from ..analytics_catalog import AnalyticsCatalog
from ..compliance import Compliance, UnknownProfileError
from ..control_api import ControlApi
from ..encryption import PipelineKey
from ..etl_workflow import EtlWorkflow
from ..ingestion_bucket import IngestionBucket
from ..lineage import LineagePolicy
from ..metadata_store import MetadataStore
from ..network import PipelineNetwork
from .assembly import ProfileError

#: The context key that names the compliance profile (as in ``cdk synth -c compliance=...``).
COMPLIANCE_CONTEXT = "compliance"


def profile_from_context(context: Mapping[str, Any]) -> Compliance:
    """The profile context ``compliance`` names; the standard one when it names none."""
    value = context.get(COMPLIANCE_CONTEXT)
    if value is None:
        return Compliance.STANDARD
    try:
        return Compliance.of(value)
    except UnknownProfileError as exc:  # the library's one message for a profile name
        raise ProfileError(f"-c {COMPLIANCE_CONTEXT}={value}: {exc}") from None


def synthesize_default(outdir: Path, *, context: Mapping[str, Any]) -> None:
    profile = profile_from_context(context)
    app = cdk.App(outdir=str(outdir), context=dict(context))
    suffix = str(context.get("environmentSuffix", "local"))
    stack = cdk.Stack(app, f"EtlPipeline-{suffix}")
    landing = IngestionBucket(stack, "Ingestion", environment_suffix=suffix, compliance=profile)
    jobs = MetadataStore(stack, "Metadata", environment_suffix=suffix, compliance=profile)
    key = vpc = None
    if profile.strict:
        key = PipelineKey(stack, "PipelineKey", environment_suffix=suffix).key
        vpc = PipelineNetwork(
            stack,
            "Network",
            environment_suffix=suffix,
            encryption_key=key,
            buckets=[landing.bucket],
            tables=[jobs.table],
        ).vpc
    flow = EtlWorkflow(
        stack,
        "Workflow",
        environment_suffix=suffix,
        bucket=landing.bucket,
        table=jobs.table,
        encryption_key=key,
        compliance=profile,
        vpc=vpc,
        curated_dataset=True,  # the catalog below reads it
        lineage=LineagePolicy(),  # run events under lineage/, exported to OUT/lineage/
    )
    ControlApi(
        stack,
        "ControlApi",
        environment_suffix=suffix,
        bucket=landing.bucket,
        table=jobs.table,
        state_machine=flow.state_machine,
        encryption_key=key,
        compliance=profile,
        vpc=vpc,
    )
    AnalyticsCatalog(
        stack,
        "Analytics",
        environment_suffix=suffix,
        bucket=landing.bucket,
        schema=flow.schema,
        compliance=profile,
    )
    nag.add_nag_packs(app, profile)
    app.synth()
