"""Settings of the example app, read from CDK context and the environment.

The environment suffix comes from context ``environmentSuffix``, else the environment
variable ``ENVIRONMENT_SUFFIX``, else ``dev``. Environments other than ``prod`` are
ephemeral by default: their bucket, table and logs are destroyed with the stacks (context
``removalPolicy`` = ``retain`` or ``destroy`` overrides that). Context ``compliance`` picks the
compliance profile: ``standard`` (default) or ``strict`` (PCI DSS 3.2.1 + NIST 800-53 rev 5).
Context ``largeFileThresholdBytes`` (default 1 GiB) and ``largeFileBatchRows`` (rows per part,
100,000) tune the Distributed Map path of big files. Context ``manifestWaitSeconds`` requires a
sender's manifest per data file, waited for that long (polled every minute, or every second
below a minute); ``duplicateFiles=true`` ends a file with an earlier job's bytes DUPLICATE.
Under strict, context ``s3PrefixListId`` and
``dynamodbPrefixListId`` (the region's AWS-managed prefix lists, both or neither) narrow the
functions' HTTPS egress to the VPC endpoints (see ``PipelineNetwork``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from etl_constructs.compliance import Compliance, UnknownProfileError
from etl_constructs.large_files import LargeFiles
from etl_constructs.manifests import ManifestPolicy
from etl_constructs.naming import validate_suffix

_REMOVAL = {"retain": cdk.RemovalPolicy.RETAIN, "destroy": cdk.RemovalPolicy.DESTROY}


class SettingsError(ValueError):
    """A context value of the example app is not usable."""


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    environment_suffix: str
    removal_policy: cdk.RemovalPolicy
    alarm_email: str | None = None
    compliance: Compliance = Compliance.STANDARD
    large_files: LargeFiles = field(default_factory=LargeFiles)
    gateway_prefix_lists: dict[str, str] | None = None
    manifest: ManifestPolicy | None = None
    duplicate_files: bool = False

    @classmethod
    def from_context(cls, scope: Construct) -> AppSettings:
        node = scope.node
        suffix = node.try_get_context("environmentSuffix") or os.environ.get(
            "ENVIRONMENT_SUFFIX", "dev"
        )
        try:
            validate_suffix(suffix)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        removal = node.try_get_context("removalPolicy") or (
            "retain" if suffix == "prod" else "destroy"
        )
        if removal not in _REMOVAL:
            raise SettingsError(
                f"context removalPolicy {removal!r} is invalid: use 'retain' or 'destroy'"
            )
        profile = node.try_get_context("compliance") or Compliance.STANDARD.value
        try:
            compliance = Compliance.of(profile)
        except UnknownProfileError as exc:  # the library's one parse and message
            raise SettingsError(f"context {exc}") from None
        return cls(
            environment_suffix=suffix,
            removal_policy=_REMOVAL[removal],
            alarm_email=node.try_get_context("alarmEmail") or None,
            compliance=compliance,
            large_files=_large_files(node),
            gateway_prefix_lists=_gateway_prefix_lists(node),
            manifest=_manifest(node),
            duplicate_files=_flag(node, "duplicateFiles"),
        )


def _gateway_prefix_lists(node: Any) -> dict[str, str] | None:
    """Context ``s3PrefixListId`` and ``dynamodbPrefixListId``: both, or neither."""
    ids = {
        service: node.try_get_context(f"{service}PrefixListId") for service in ("s3", "dynamodb")
    }
    given = {service: str(value) for service, value in ids.items() if value}
    if not given:
        return None
    if len(given) != len(ids):
        raise SettingsError(
            "context s3PrefixListId and dynamodbPrefixListId go together: pass both "
            "(aws ec2 describe-managed-prefix-lists) or neither"
        )
    return given


def _manifest(node: Any) -> ManifestPolicy | None:
    """Context ``manifestWaitSeconds``: require manifests, waited for that long."""
    raw = node.try_get_context("manifestWaitSeconds")
    if raw is None:
        return None
    try:
        seconds = int(raw)
    except (TypeError, ValueError):
        raise SettingsError(
            f"context manifestWaitSeconds {raw!r} is invalid: use a whole number"
        ) from None
    poll = 60 if seconds >= 60 else 1
    return ManifestPolicy(wait=cdk.Duration.seconds(seconds), poll=cdk.Duration.seconds(poll))


def _flag(node: Any, name: str) -> bool:
    raw = node.try_get_context(name)
    if raw is None or str(raw).lower() in ("false", "0", "no"):
        return False
    if str(raw).lower() in ("true", "1", "yes"):
        return True
    raise SettingsError(f"context {name} {raw!r} is invalid: use true or false")


def _large_files(node: Any) -> LargeFiles:
    """Context ``largeFileThresholdBytes`` / ``largeFileBatchRows`` tune the big-file path."""
    values = {}
    for context, prop in (
        ("largeFileThresholdBytes", "threshold_bytes"),
        ("largeFileBatchRows", "batch_rows"),
    ):
        raw = node.try_get_context(context)
        if raw is None:
            continue
        try:
            values[prop] = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(
                f"context {context} {raw!r} is invalid: use a whole number"
            ) from None
    settings = LargeFiles(**values)
    problems = settings.problems()
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
