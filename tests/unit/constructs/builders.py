"""One builder of the construct tests' stacks: the pipeline as an app composes it.

Every construct test module builds its stack of constructs here, so the way the constructs
are wired together (keys, network, stores, workflow, API, monitoring) is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from etl_constructs import (
    Compliance,
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PipelineKey,
    PipelineNetwork,
)
from tests.conftest import cdk_json_context

ACCOUNT, REGION = "123456789012", "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
#: eu-west-1's AWS-managed prefix lists (``aws ec2 describe-prefix-lists``, as AWS documents).
PREFIX_LISTS = {"s3": "pl-6da54004", "dynamodb": "pl-6fa54006"}


def new_stack(
    name: str = "Pipeline", *, env: cdk.Environment | None = ENV, app: cdk.App | None = None
) -> cdk.Stack:
    """A stack in a fresh app with the project's feature flags (or in ``app``)."""
    return cdk.Stack(app or cdk.App(context=cdk_json_context()), name, env=env)


@dataclass
class Pipeline:
    stack: cdk.Stack
    ingestion: IngestionBucket
    store: MetadataStore
    workflow: EtlWorkflow
    api: ControlApi | None = None
    network: PipelineNetwork | None = None
    pipeline_key: kms.IKey | None = None
    observability: ObservabilityPack | None = None

    def template(self) -> Template:
        return Template.from_stack(self.stack)


def build_pipeline(
    stack: cdk.Stack | None = None,
    *,
    compliance: Compliance | str = Compliance.STANDARD,
    pipeline_key: bool = False,
    network: str | None = None,
    bucket_key: kms.IKey | None = None,
    table_key: kms.IKey | None = None,
    removal_policy: cdk.RemovalPolicy | None = None,
    workflow_props: Mapping[str, Any] | None = None,
    api: bool = True,
    api_stack: cdk.Stack | None = None,
    api_props: Mapping[str, Any] | None = None,
    observability: Mapping[str, Any] | None = None,
) -> Pipeline:
    """Bucket, table, workflow and (``api``) the control API, suffix ``dev``.

    ``pipeline_key``: one PipelineKey shared by workflow, API and network. ``network``:
    ``None`` (none shared), ``"plain"`` (a PipelineNetwork for any bucket and table) or
    ``"stores"`` (its endpoints limited to this bucket and table, with the prefix lists).
    ``observability``: the props of an ObservabilityPack monitoring it all, if given.
    """
    stack = stack or new_stack()
    shared = {"environment_suffix": "dev", "compliance": compliance}
    if removal_policy is not None:
        shared["removal_policy"] = removal_policy
    key = PipelineKey(stack, "PipelineKey", environment_suffix="dev").key if pipeline_key else None
    plain_network = (
        PipelineNetwork(stack, "Network", environment_suffix="dev", encryption_key=key)
        if network == "plain"
        else None
    )
    ingestion = IngestionBucket(stack, "Ingestion", encryption_key=bucket_key, **shared)
    store = MetadataStore(stack, "Metadata", encryption_key=table_key, **shared)
    shared_network = plain_network or (
        PipelineNetwork(
            stack,
            "Network",
            environment_suffix="dev",
            encryption_key=key,
            buckets=[ingestion.bucket],
            tables=[store.table],
            gateway_prefix_lists=PREFIX_LISTS,
        )
        if network == "stores"
        else None
    )
    vpc = shared_network.vpc if shared_network else None
    workflow = EtlWorkflow(
        stack,
        "Workflow",
        bucket=ingestion.bucket,
        table=store.table,
        encryption_key=key,
        vpc=vpc,
        **{**shared, **(workflow_props or {})},
    )
    control_api = (
        ControlApi(
            api_stack or stack,
            "ControlApi",
            bucket=ingestion.bucket,
            table=store.table,
            state_machine=workflow.state_machine,
            encryption_key=key,
            vpc=vpc,
            **{**shared, **(api_props or {})},
        )
        if api
        else None
    )
    pack = None
    if observability is not None:
        pack = ObservabilityPack(
            stack, "Obs", environment_suffix="dev", **observability
        ).monitor_workflow(workflow)
        if control_api is not None:
            pack.monitor_api(control_api)
        pack.monitor_pipeline_metrics()
    return Pipeline(stack, ingestion, store, workflow, control_api, shared_network, key, pack)
