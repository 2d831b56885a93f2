"""Log groups: one retention rule, one way to create them (name, key, removal policy)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..compliance.profile import Compliance


def log_retention_of(
    profile: Compliance, log_retention: logs.RetentionDays | None
) -> logs.RetentionDays:
    """One week (standard) or one year, the PCI DSS 10.7 audit-trail minimum (strict)."""
    if log_retention is not None:
        return log_retention
    return logs.RetentionDays.ONE_YEAR if profile.strict else logs.RetentionDays.ONE_WEEK


def log_group(
    scope: Construct,
    construct_id: str,
    name: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    removal_policy: cdk.RemovalPolicy,
) -> logs.LogGroup:
    """A named log group with its retention, encrypted with ``encryption_key`` (whose policy
    must let CloudWatch Logs use it for ``name``, as :class:`PipelineKey`'s does)."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
