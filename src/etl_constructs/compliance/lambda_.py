"""Lambda: functions invoked synchronously, the standard profile's choices, CDK's own
deployment-time functions."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

from .findings import acknowledge, acknowledge_checkov
from .profile import Compliance

SYNCHRONOUS_STEP_REASON = (
    "The state machine invokes this function synchronously (RequestResponse); Lambda sends "
    "only asynchronous invocations to a dead-letter queue, so a queue here could never "
    "receive a message. The task's retriers and its Catch take every failure: the job is "
    "recorded FAILED with the error and the file is copied to failed/."
)


SYNCHRONOUS_API_REASON = (
    "API Gateway invokes this function synchronously (Lambda proxy integration); Lambda sends "
    "only asynchronous invocations to a dead-letter queue, so a queue here could never "
    "receive a message. A failure goes back to the caller as a 5xx answer, counted by the "
    "API's 5XXError metric."
)


CDK_PROVIDER_REASON = (
    "A deployment-time function that CDK itself adds (bucket auto-delete in ephemeral "
    "environments, the VPC default-security-group restrictor under strict): CloudFormation "
    "invokes it synchronously during deployments only and reports its failures in the stack "
    "events, so concurrency limits, a dead-letter queue and a VPC protect nothing; it never "
    "touches object content."
)


STANDARD_CONCURRENCY_REASON = (
    "Standard profile: no reserved concurrency on purpose. Reserving executions removes them "
    "from the account's pool at idle and caps bursts; throttled steps are retried by the "
    "state machine. The strict profile reserves 51 executions for the six functions."
)


STANDARD_VPC_REASON = (
    "Standard profile: the functions call only AWS APIs (S3, DynamoDB, Step Functions, "
    "X-Ray) over TLS with IAM, and a VPC adds interface endpoints at $73 a month. The strict "
    "profile puts every function in isolated subnets behind VPC endpoints."
)


LAMBDA_ENV_KEY_REASON = (
    "The environment variables hold resource names, ARNs, the schema and numeric settings, "
    "never a secret; Lambda encrypts them at rest with its AWS-managed key. A customer key "
    "would protect nothing more and add a KMS call to every cold start."
)


def acknowledge_synchronous_function(
    function: IConstruct, reason: str, profile: Compliance = Compliance.STANDARD
) -> None:
    """A function invoked synchronously only: a dead-letter queue of it could never receive a
    message (Lambda dead-letters asynchronous invocations only), so it has none (cdk-nag and
    checkov)."""
    findings = [("Serverless-LambdaDLQ", reason)]
    if profile.strict:
        findings.append(("NIST.800.53.R5-LambdaDLQ", reason))
    acknowledge(function, findings)
    acknowledge_checkov(function, "CKV_AWS_116", reason)


def acknowledge_checkov_cdk_provider(scope: IConstruct, provider_id: str) -> None:
    """The function of a custom-resource provider CDK adds once per stack (``provider_id``,
    e.g. ``Custom::S3AutoDeleteObjectsCustomResourceProvider``) for a feature ``scope``
    uses: it runs at deployment time only."""
    provider = cdk.Stack.of(scope).node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if handler is None:
        raise LookupError(f"{provider_id}/Handler is not in the stack of {scope.node.path}")
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):  # concurrency, DLQ, VPC
        acknowledge_checkov(handler, check, CDK_PROVIDER_REASON)
