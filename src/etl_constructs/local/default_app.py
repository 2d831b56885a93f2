"""The pipeline the local runtime synthesizes when there is no cdk.json: one stack with
the library's constructs at their defaults (what ``pip install etl-constructs[local]``
users get with ``etl-pipeline run`` in any folder)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from ..control_api import ControlApi
from ..etl_workflow import EtlWorkflow
from ..ingestion_bucket import IngestionBucket
from ..metadata_store import MetadataStore


def synthesize_default(outdir: Path, *, context: Mapping[str, Any]) -> None:
    app = cdk.App(outdir=str(outdir), context=dict(context))
    suffix = str(context.get("environmentSuffix", "local"))
    stack = cdk.Stack(app, f"EtlPipeline-{suffix}")
    landing = IngestionBucket(stack, "Ingestion", environment_suffix=suffix)
    jobs = MetadataStore(stack, "Metadata", environment_suffix=suffix)
    flow = EtlWorkflow(
        stack, "Workflow", environment_suffix=suffix, bucket=landing.bucket, table=jobs.table
    )
    ControlApi(
        stack,
        "ControlApi",
        environment_suffix=suffix,
        bucket=landing.bucket,
        table=jobs.table,
        state_machine=flow.state_machine,
    )
    app.synth()
