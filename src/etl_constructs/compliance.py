"""cdk-nag wiring and every acknowledgement of the project, each with its reason.

The constructs call the ``acknowledge_*`` functions below for findings their design makes
unavoidable, attached to the narrowest construct, so an app that uses the constructs directly
synthesizes clean too. :func:`add_nag_packs` adds the packs of a compliance profile.

cdk-nag matches acknowledgements per exact finding id, and a wildcard finding's id embeds the
resource as CloudFormation renders it: ``<Logical.Arn>/raw/*`` inside one stack,
``Producer:ExportsOutput...`` across stacks. :func:`finding_resource` renders a value the same
way, so the acknowledgements follow the resources wherever an app puts them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

PROFILES = ("standard",)

# Reasons, written once. Each says why the finding cannot be met, or why it is acceptable.
XRAY_REASON = (
    "X-Ray PutTraceSegments/PutTelemetryRecords and CloudWatch Logs log-delivery actions do "
    "not support resource-level permissions; '*' is the only valid resource."
)
PREFIX_REASON = (
    "Object access is scoped to one key prefix of the pipeline bucket ({prefix}); the "
    "wildcard covers the object keys under that prefix only, never the whole bucket."
)
FUNCTION_VERSION_REASON = (
    "The state machine invokes this function; the ':*' form lets it invoke published "
    "versions and aliases of the same function only."
)
DLQ_REASON = (
    "This queue is itself a dead-letter queue (for a function and its EventBridge target): "
    "messages end here, an alarm fires on the first one, and a DLQ of a DLQ adds nothing."
)
COGNITO_REASON = (
    "The API uses IAM (SigV4) authorization: its callers are AWS principals of the data "
    "platform, not end users, so a Cognito user pool has no one to authenticate."
)
WAF_REASON = (
    "Standard profile: the API is IAM-authorized, regional and throttled per stage; the "
    "strict compliance profile attaches a WAF web ACL."
)
APIGW_LOGS_ROLE_REASON = (
    "API Gateway's account-level CloudWatch role must write execution and access logs of every "
    "API in the account and region; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS "
    "documents for exactly that role."
)
KMS_WILDCARD_REASON = (
    "KMS grants from CDK use kms:GenerateDataKey* and kms:ReEncrypt* on the one key named in "
    "the statement; the action wildcard covers variants of those two operations only."
)


def add_nag_packs(scope: IConstruct, profile: str = "standard") -> None:
    """Add the profile's packs to ``scope``: ``app.synth()`` then fails on any finding."""
    if profile not in PROFILES:
        raise ValueError(f"compliance profile {profile!r} is unknown; use one of {PROFILES}")
    cdk.Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), ServerlessChecks(scope))


def acknowledge(scope: IConstruct, findings: Iterable[tuple[str, str]]) -> None:
    """Acknowledge each ``(finding id, reason)`` on ``scope`` and its children."""
    validations = cdk.Validations.of(scope)
    for finding_id, reason in findings:
        validations.acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


# -- per construct ---------------------------------------------------------------------------


def acknowledge_function_role(
    role: iam.IRole,
    *,
    bucket_arn: str | None,
    prefixes: Sequence[str],
    kms: bool = False,
) -> None:
    """A function role: X-Ray ``*``, prefix-scoped object access, KMS action wildcards."""
    findings = [("AwsSolutions-IAM5[Resource::*]", XRAY_REASON)]
    if bucket_arn is not None:
        for prefix in prefixes:
            resource = finding_resource(role, f"{bucket_arn}/{prefix}*")
            findings.append(
                (f"AwsSolutions-IAM5[Resource::{resource}]", PREFIX_REASON.format(prefix=prefix))
            )
    if kms:
        findings += [
            ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", KMS_WILDCARD_REASON),
            ("AwsSolutions-IAM5[Action::kms:ReEncrypt*]", KMS_WILDCARD_REASON),
        ]
    acknowledge(role, findings)


def acknowledge_state_machine_role(
    role: iam.IRole, *, bucket_arn: str, prefixes: Sequence[str], function_arns: Sequence[str]
) -> None:
    """The state machine role: function versions, log delivery and X-Ray, failure copy."""
    findings = [("AwsSolutions-IAM5[Resource::*]", XRAY_REASON)]
    findings += [
        (f"AwsSolutions-IAM5[Resource::{finding_resource(role, arn)}:*]", FUNCTION_VERSION_REASON)
        for arn in function_arns
    ]
    findings += [
        (
            f"AwsSolutions-IAM5[Resource::{finding_resource(role, f'{bucket_arn}/{prefix}*')}]",
            PREFIX_REASON.format(prefix=prefix),
        )
        for prefix in prefixes
    ]
    acknowledge(role, findings)


def acknowledge_dead_letter_queue(queue: IConstruct) -> None:
    acknowledge(queue, [("Serverless-SQSRedrivePolicy", DLQ_REASON)])


def acknowledge_rest_api(api: IConstruct, *, cloud_watch_role: IConstruct | None) -> None:
    acknowledge(api, [("AwsSolutions-COG4", COGNITO_REASON), ("AwsSolutions-APIG3", WAF_REASON)])
    if cloud_watch_role is not None:
        acknowledge(
            cloud_watch_role,
            [
                (
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                    APIGW_LOGS_ROLE_REASON,
                )
            ],
        )


# -- rendering values the way finding ids show them -----------------------------------------


def finding_resource(scope: IConstruct, value: str) -> str:
    """Render ``value`` (a string that may hold tokens) as it appears in a finding id of a
    resource in ``scope``'s stack: ``Ref`` -> ``<Name>``, ``GetAtt`` -> ``<Logical.Attr>``,
    a reference into another stack -> that stack's export name."""
    consumer = cdk.Stack.of(scope)
    return _render(consumer.resolve(value), consumer)


def _render(node: Any, consumer: cdk.Stack) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, (int, float)):
        return str(node)
    if isinstance(node, dict) and len(node) == 1:
        ((function, args),) = node.items()
        if function == "Fn::Join":
            separator, parts = args
            return separator.join(_render(part, consumer) for part in parts)
        if function == "Ref":
            producer = _owner(consumer, args)
            if producer is None or producer is consumer:
                return f"<{args}>"
            return _export_name(producer, {"Ref": args})
        if function == "Fn::GetAtt":
            logical_id, attribute = args
            producer = _owner(consumer, logical_id)
            if producer is None or producer is consumer:
                return f"<{logical_id}.{attribute}>"
            return _export_name(producer, {"Fn::GetAtt": [logical_id, attribute]})
        if function == "Fn::ImportValue":
            return _render(args, consumer)
    raise ValueError(f"cannot render {json.dumps(node)} for a cdk-nag finding id")


def _owner(consumer: cdk.Stack, logical_id: str) -> cdk.Stack | None:
    """The stack that declares ``logical_id``, preferring the consumer itself."""
    if logical_id.startswith("AWS::"):
        return None
    stacks = [consumer] + [
        s
        for s in cdk.Stage.of(consumer).node.find_all()
        if isinstance(s, cdk.Stack) and s is not consumer
    ]
    for stack in stacks:
        for element in stack.node.find_all():
            if (
                isinstance(element, cdk.CfnElement)
                and cdk.Stack.of(element) is stack
                and stack.resolve(element.logical_id) == logical_id
            ):
                return stack
    return None


def _export_name(producer: cdk.Stack, reference: dict[str, Any]) -> str:
    """The name CDK gives the export of ``reference`` (``Stack:ExportsOutput<human><hash>``).

    CDK derives it from the path ``Exports/Output<reference as JSON>``: alphanumerics of the
    path, then the first 8 hex digits of its MD5. Export names are part of deployed stacks,
    so CDK keeps this scheme stable; the example app's nag test fails if it ever changes.
    """
    output_id = "Output" + json.dumps(reference, separators=(",", ":"))
    components = ["Exports", output_id]
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human = "".join(re.sub(r"[^A-Za-z0-9]", "", c) for c in components)[:240]
    return f"{producer.stack_name}:{human}{digest[:8].upper()}"
