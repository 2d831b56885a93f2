"""Step Functions: the Distributed Map's rights on its child executions."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

from .findings import acknowledge, finding_resource

DISTRIBUTED_MAP_REASON = (
    "A Distributed Map runs child executions of this state machine; describing, stopping and "
    "redriving them needs their execution ARNs, which exist only at run time: the wildcard "
    "covers executions of this one state machine only."
)


def acknowledge_distributed_map(state_machine: IConstruct, state_machine_arn: str) -> None:
    """The execution wildcards CDK grants a state machine that runs a Distributed Map.

    CDK builds them from the stack's partition, region and account: literal values in a stack
    with a concrete ``env``, pseudo parameters otherwise; the finding id quotes what it wrote.
    """
    stack = cdk.Stack.of(state_machine)
    name = cdk.Fn.select(6, cdk.Fn.split(":", state_machine_arn))
    executions = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{name}"
    findings = []
    for suffix in (":*", "/*:*"):
        resource = finding_resource(state_machine, f"{executions}{suffix}")
        findings.append((f"AwsSolutions-IAM5[Resource::{resource}]", DISTRIBUTED_MAP_REASON))
    acknowledge(state_machine, findings)
