#!/usr/bin/env python3
"""The example app: the five stacks of the pipeline, checked by cdk-nag on synth.

cdk synth -c environmentSuffix=dev
cdk synth -c environmentSuffix=dev -c compliance=strict     # + PCI DSS 3.2.1, NIST 800-53 r5
cdk deploy --all -c environmentSuffix=dev
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `cdk synth` runs this file directly from the repo root
    sys.path.insert(0, str(ROOT))

from etl_constructs import use_virtualenv_node  # noqa: E402

use_virtualenv_node()  # before aws_cdk starts jsii: the Node.js of this virtualenv, if any

import aws_cdk as cdk  # noqa: E402

from etl_constructs import compliance  # noqa: E402
from stacks import (  # noqa: E402
    AnalyticsStack,
    ApiStack,
    ComputeStack,
    MonitoringStack,
    StorageStack,
)
from stacks.config import AppSettings  # noqa: E402


@dataclass(frozen=True)
class PipelineStacks:
    storage: StorageStack
    compute: ComputeStack
    api: ApiStack
    monitoring: MonitoringStack
    analytics: AnalyticsStack


def build(app: cdk.App) -> PipelineStacks:
    settings = AppSettings.from_context(app)
    suffix = settings.environment_suffix
    removal = settings.removal_policy
    profile = settings.compliance
    storage = StorageStack(
        app,
        f"EtlStorage-{suffix}",
        environment_suffix=suffix,
        removal_policy=removal,
        compliance=profile,
        gateway_prefix_lists=settings.gateway_prefix_lists,
    )
    key = storage.pipeline_key.key
    vpc = storage.network.vpc if storage.network else None
    compute = ComputeStack(
        app,
        f"EtlCompute-{suffix}",
        environment_suffix=suffix,
        bucket=storage.ingestion.bucket,
        table=storage.metadata.table,
        encryption_key=key,
        removal_policy=removal,
        compliance=profile,
        vpc=vpc,
        large_files=settings.large_files,
        manifest=settings.manifest,
        duplicate_files=settings.duplicate_files,
    )
    api = ApiStack(
        app,
        f"EtlApi-{suffix}",
        environment_suffix=suffix,
        bucket=storage.ingestion.bucket,
        table=storage.metadata.table,
        state_machine=compute.workflow.state_machine,
        encryption_key=key,
        removal_policy=removal,
        compliance=profile,
        vpc=vpc,
    )
    monitoring = MonitoringStack(
        app,
        f"EtlMonitoring-{suffix}",
        environment_suffix=suffix,
        workflow=compute.workflow,
        control_api=api.control_api,
        encryption_key=key,
        alarm_email=settings.alarm_email,
    )
    analytics = AnalyticsStack(
        app,
        f"EtlAnalytics-{suffix}",
        environment_suffix=suffix,
        bucket=storage.ingestion.bucket,
        schema=compute.workflow.schema,
        compliance=profile,
    )
    compliance.add_nag_packs(app, profile)
    return PipelineStacks(storage, compute, api, monitoring, analytics)


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
