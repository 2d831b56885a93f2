"""Physical names two resources of one app may not share, checked when the app synthesizes.

CloudFormation finds a clash only at deploy time, stack by stack: two pipelines of one app
with the same suffix (and no prefix) would each deploy half. Every construct of the library
has its app check, once, at synth, that no two resources of the app take the same physical
name where AWS wants it unique: S3 bucket names everywhere, the others in one account and
region (stacks whose account or region is not known are taken as the same).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct, IValidation

#: Resource types whose physical name must be unique, the L1 attribute holding it, and
#: whether the name is global (S3) rather than per account and region.
UNIQUE_NAMES: tuple[tuple[type, str, str, bool], ...] = (
    (s3.CfnBucket, "bucket_name", "S3 bucket", True),
    (dynamodb.CfnTable, "table_name", "DynamoDB table", False),
    (lambda_.CfnFunction, "function_name", "Lambda function", False),
    (sqs.CfnQueue, "queue_name", "SQS queue", False),
    (sfn.CfnStateMachine, "state_machine_name", "state machine", False),
    (events.CfnRule, "name", "EventBridge rule", False),
    (sns.CfnTopic, "topic_name", "SNS topic", False),
    (cw.CfnDashboard, "dashboard_name", "dashboard", False),
    (cw.CfnAlarm, "alarm_name", "alarm", False),
    (logs.CfnLogGroup, "log_group_name", "log group", False),
    (wafv2.CfnWebACL, "name", "web ACL", False),
)
_CHECK_ID = "EtlConstructsUniqueNames"


def check_unique_names(scope: IConstruct) -> None:
    """Have the app of ``scope`` refuse to synthesize while two resources share a physical
    name (added once per app, whichever construct asks first)."""
    root = scope.node.root
    if root.node.try_find_child(_CHECK_ID) is None:
        holder = Construct(root, _CHECK_ID)
        holder.node.add_validation(_UniqueNames(root))


def name_clashes(root: IConstruct) -> list[str]:
    """Every physical name that two or more resources under ``root`` take, as a message."""
    taken: dict[tuple[str, str], list[tuple[str, tuple[str, str] | None]]] = defaultdict(list)
    for node in root.node.find_all():
        for cls, attribute, kind, is_global in UNIQUE_NAMES:
            if isinstance(node, cls):
                name = getattr(node, attribute)
                if isinstance(name, str) and not cdk.Token.is_unresolved(name):
                    where = None if is_global else _account_and_region(node)
                    taken[(kind, name)].append((_path(node), where))
                break
    clashes = []
    for (kind, name), owners in taken.items():
        paths = sorted(
            {a for a, wa in owners for b, wb in owners if a != b and _same_place(wa, wb)}
        )
        if paths:
            clashes.append(
                f"physical name {name!r} ({kind}) is taken by {len(paths)} resources: "
                + ", ".join(paths)
                + ". Give each pipeline its own name_prefix or environment_suffix "
                "(PipelineEnvironment(name_prefix=..., environment_suffix=...))"
            )
    return clashes


@jsii.implements(IValidation)
class _UniqueNames:
    def __init__(self, root: IConstruct) -> None:
        self._root = root

    def validate(self) -> list[str]:
        return name_clashes(self._root)


def _path(node: IConstruct) -> str:
    """The construct path a user wrote: an L2's, not its ``/Resource`` child's."""
    scope = node.node.scope
    return scope.node.path if node.node.id == "Resource" and scope is not None else node.node.path


def _account_and_region(node: Any) -> tuple[str, str]:
    stack = cdk.Stack.of(node)
    return (_known(stack.account), _known(stack.region))


def _known(value: str) -> str:
    return "*" if cdk.Token.is_unresolved(value) else value


def _same_place(a: tuple[str, str] | None, b: tuple[str, str] | None) -> bool:
    if a is None or b is None:
        return True
    return all(x == y or "*" in (x, y) for x, y in zip(a, b, strict=True))
