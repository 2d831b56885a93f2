"""cdk-nag wiring and every acknowledgement of the project, each with its reason.

The constructs call the ``acknowledge_*`` functions below for findings their design makes
unavoidable, attached to the narrowest construct, so an app that uses the constructs directly
synthesizes clean too. :func:`add_nag_packs` adds the packs of a compliance profile.

Two profiles (:class:`Compliance`), one decision each construct takes from its ``compliance``
prop: ``standard`` (AwsSolutions + Serverless packs, nothing that costs money at idle) and
``strict`` (also PCI DSS 3.2.1 and NIST 800-53 rev 5: customer-managed keys everywhere,
functions in a VPC behind endpoints, reserved concurrency, WAF, backups, managed policies).

cdk-nag matches acknowledgements per exact finding id, and a wildcard finding's id embeds the
resource as CloudFormation renders it: ``<Logical.Arn>/raw/*`` inside one stack,
``Producer:ExportsOutput...`` across stacks. :func:`finding_resource` renders a value the same
way, so the acknowledgements follow the resources wherever an app puts them.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks
from constructs import IConstruct


class Compliance(enum.Enum):
    """The compliance profile: what the constructs build and which cdk-nag packs check it."""

    STANDARD = "standard"
    """AwsSolutions + Serverless clean; nothing that costs money while the pipeline is idle."""
    STRICT = "strict"
    """Also PCI DSS 3.2.1 + NIST 800-53 rev 5 clean, for card-holder data environments."""

    @classmethod
    def of(cls, value: Compliance | str) -> Compliance:
        """``value`` as a profile; a string is its name (``"strict"``), case-insensitive."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for profile in cls:
                if profile.value == value.strip().lower():
                    return profile
        raise ValueError(f"compliance profile {value!r} is unknown; use one of {PROFILES}")

    @property
    def strict(self) -> bool:
        return self is Compliance.STRICT


PROFILES = tuple(profile.value for profile in Compliance)

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
COGNITO_REASON = (
    "The API uses IAM (SigV4) authorization: its callers are AWS principals of the data "
    "platform, not end users, so a Cognito user pool has no one to authenticate."
)
WAF_REASON = (
    "Standard profile: the API is IAM-authorized, regional and throttled per stage; the "
    "strict compliance profile attaches a WAF web ACL."
)
# -- strict profile (PCI DSS 3.2.1, NIST 800-53 rev 5) --------------------------------------
ACCESS_LOG_ENCRYPTION_REASON = (
    "S3 server access logging delivers only to target buckets whose default encryption is "
    "SSE-S3 (AES-256, AWS-managed keys); SSE-KMS targets are not supported by the service. The "
    "log bucket holds request metadata, never object content, blocks all public access, "
    "denies non-TLS requests and is versioned."
)
DATA_REPLICATION_REASON = (
    "Not replicated on purpose: every copy of card-holder data widens the cardholder data "
    "environment (PCI DSS scope). The bucket is a processing area, not the system of record: "
    "versioning keeps prior object versions (30 days by default), raw/ inputs are "
    "re-deliverable by their senders and every output is derived from them; S3 stores objects "
    "across at least three Availability Zones. Cross-region disaster recovery, where "
    "required, is an organisation decision taken with its own key and scope."
)
LOG_REPLICATION_REASON = (
    "Central, tamper-resistant log archiving (PCI DSS 10.5.3) is an organisation-level "
    "control: a log-archive account (e.g. AWS Control Tower) collects it with its own "
    "replication. A replica inside this account, under the same administrators, would add "
    "no separation of duties."
)
API_CACHE_REASON = (
    "No stage cache, so no API data at rest to encrypt: the API serves live job status and "
    "starts jobs; cached answers would show stale statuses (a FAILED job as still running), "
    "POST /trigger must never be cached, and IAM-authorized responses are per caller."
)
API_CLIENT_CERT_REASON = (
    "Every integration is an AWS_PROXY call to Lambda, made by API Gateway with IAM "
    "credentials over TLS and allowed only by the function's resource policy for this API; "
    "API Gateway presents client certificates only to HTTP backends, so one would "
    "authenticate nothing here."
)
LAMBDA_VPC_ACCESS_REASON = (
    "Lambda needs these EC2 actions to attach its functions to the VPC; "
    "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level "
    "permissions, so '*' is the only valid resource. The policy is the EC2 part of the "
    "AWS-managed AWSLambdaVPCAccessExecutionRole, without its logs:* on '*'."
)
BACKUP_ROLE_REASON = (
    "AWS Backup's selection role uses AWSBackupServiceRolePolicyForBackup, the policy AWS "
    "maintains for backup jobs of every supported service (DynamoDB's API set changes with "
    "AWS Backup features); the role can be assumed by backup.amazonaws.com only."
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


def nag_packs(scope: IConstruct, profile: Compliance | str = Compliance.STANDARD) -> list:
    """The cdk-nag packs of ``profile``: AwsSolutions and Serverless, plus PCI DSS 3.2.1 and
    NIST 800-53 rev 5 when strict."""
    packs = [AwsSolutionsChecks(scope), ServerlessChecks(scope)]
    if Compliance.of(profile).strict:
        packs += [PCIDSS321Checks(scope), NIST80053R5Checks(scope)]
    return packs


def add_nag_packs(scope: IConstruct, profile: Compliance | str = Compliance.STANDARD) -> None:
    """Add the profile's packs to ``scope``: ``app.synth()`` then fails on any finding."""
    cdk.Validations.of(scope).add_plugins(*nag_packs(scope, profile))


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
) -> None:
    """A function role: X-Ray ``*`` and prefix-scoped object access. Its key grants name
    exact actions (no wildcard to acknowledge)."""
    findings = [("AwsSolutions-IAM5[Resource::*]", XRAY_REASON)]
    if bucket_arn is not None:
        for prefix in prefixes:
            resource = finding_resource(role, f"{bucket_arn}/{prefix}*")
            findings.append(
                (f"AwsSolutions-IAM5[Resource::{resource}]", PREFIX_REASON.format(prefix=prefix))
            )
    acknowledge(role, findings)


def acknowledge_state_machine_role(
    role: iam.IRole,
    *,
    bucket_arn: str,
    prefixes: Sequence[str],
    function_arns: Sequence[str],
) -> None:
    """The state machine role: function versions, log delivery and X-Ray, and the failure
    copy's prefixes. Its key grants name exact actions (no wildcard to acknowledge)."""
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


def acknowledge_dead_letter_queue(queue: IConstruct) -> None:
    acknowledge(queue, [("Serverless-SQSRedrivePolicy", DLQ_REASON)])


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


def acknowledge_rest_api(
    api: IConstruct,
    *,
    cloud_watch_role: IConstruct | None,
    profile: Compliance = Compliance.STANDARD,
) -> None:
    findings = [("AwsSolutions-COG4", COGNITO_REASON)]
    if not profile.strict:  # strict attaches a web ACL: APIG3 is met, not acknowledged
        findings.append(("AwsSolutions-APIG3", WAF_REASON))
    acknowledge(api, findings)
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


# -- strict profile ------------------------------------------------------------------------

STRICT_PACKS = ("PCI.DSS.321", "NIST.800.53.R5")


def strict_findings(rule: str, reason: str) -> list[tuple[str, str]]:
    """``rule`` as both strict packs name it (``PCI.DSS.321-<rule>``, ``NIST.800.53.R5-<rule>``)."""
    return [(f"{pack}-{rule}", reason) for pack in STRICT_PACKS]


def acknowledge_access_log_bucket(bucket: IConstruct) -> None:
    """The server access log bucket: SSE-S3 by necessity, archived by the organisation."""
    acknowledge(
        bucket,
        strict_findings("S3DefaultEncryptionKMS", ACCESS_LOG_ENCRYPTION_REASON)
        + strict_findings("S3BucketReplicationEnabled", LOG_REPLICATION_REASON),
    )


def acknowledge_data_bucket(bucket: IConstruct) -> None:
    """The data bucket is not replicated: a second copy of card-holder data widens scope."""
    acknowledge(bucket, strict_findings("S3BucketReplicationEnabled", DATA_REPLICATION_REASON))


def acknowledge_api_stage(stage: IConstruct) -> None:
    """The API stage: no cache (nothing at rest), no client certificate (Lambda proxy only)."""
    acknowledge(
        stage,
        strict_findings("APIGWCacheEnabledAndEncrypted", API_CACHE_REASON)
        + strict_findings("APIGWSSLEnabled", API_CLIENT_CERT_REASON),
    )


def acknowledge_lambda_vpc_access(policy: IConstruct) -> None:
    """The managed policy that lets Lambda attach functions to the VPC: ``*`` resources
    (cdk-nag), write actions without resource constraints (checkov)."""
    acknowledge(policy, [("AwsSolutions-IAM5[Resource::*]", LAMBDA_VPC_ACCESS_REASON)])
    acknowledge_checkov(policy, "CKV_AWS_111", LAMBDA_VPC_ACCESS_REASON)


def acknowledge_backup_role(role: IConstruct) -> None:
    """The backup selection's role: AWS Backup's managed policy and the data key's grant."""
    acknowledge(
        role,
        [
            (
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSBackupServiceRolePolicyForBackup]",
                BACKUP_ROLE_REASON,
            ),
            ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", KMS_WILDCARD_REASON),
            ("AwsSolutions-IAM5[Action::kms:ReEncrypt*]", KMS_WILDCARD_REASON),
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
    # Any other intrinsic (Fn::Select, Fn::Split, ...) appears as its compact JSON.
    return json.dumps(node, separators=(",", ":"))


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


# -- checkov ------------------------------------------------------------------------------
# checkov (PyPI ``checkov``) scans the synthesized templates too; it reads its suppressions
# from each resource's own ``Metadata.checkov.skip``. The constructs call
# :func:`acknowledge_checkov` next to the resources whose findings their design makes
# unavoidable, so every template they are synthesized into, whatever the app and its
# construct ids, carries its own acknowledgements. ``tests/reliability/test_checkov.py`` runs
# checkov on the example app and on an app with other construct ids, both profiles, and fails
# on a finding without an acknowledgement and on an acknowledgement without a finding.

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
STANDARD_TABLE_KEY_REASON = (
    "Standard profile: the job table is encrypted at rest with the AWS-managed key and holds "
    "job metadata (keys, counts, totals, errors), never card data. The strict profile "
    "encrypts it with the customer-managed DataKey."
)
LAMBDA_ENV_KEY_REASON = (
    "The environment variables hold resource names, ARNs, the schema and numeric settings, "
    "never a secret; Lambda encrypts them at rest with its AWS-managed key. A customer key "
    "would protect nothing more and add a KMS call to every cold start."
)
ACCESS_LOG_BUCKET_REASON = (
    "This is the access-log target bucket itself: logging its own access would need one more "
    "log bucket, and that one another."
)
SQS_MANAGED_SSE_REASON = (
    "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled: true); the check only "
    "recognizes KmsMasterKeyId. The strict profile encrypts the queues with PipelineKey."
)


def acknowledge_checkov(resource: IConstruct, check_id: str, reason: str) -> None:
    """Suppress checkov's ``check_id`` on ``resource`` (a ``CfnResource``, or an L2 whose
    default child is one), with ``reason``, in the template itself: an entry
    ``{"id": check_id, "comment": reason}`` in the resource's ``Metadata.checkov.skip``.
    Entries already there are kept; one for the same check is replaced."""
    cfn = resource if isinstance(resource, cdk.CfnResource) else resource.node.default_child
    if not isinstance(cfn, cdk.CfnResource):
        raise TypeError(f"{resource.node.path} is not a CloudFormation resource")
    existing = cfn.get_metadata("checkov") or {}
    skips = [entry for entry in existing.get("skip", []) if entry.get("id") != check_id]
    skips.append({"id": check_id, "comment": reason})
    cfn.add_metadata("checkov", {**existing, "skip": skips})


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


def profile_of(compliance: Compliance | str, *, vpc: object | None) -> tuple[Compliance, list[str]]:
    """The profile named by the ``compliance`` prop and the problems of the props it governs."""
    try:
        profile = Compliance.of(compliance)
    except ValueError as exc:
        return Compliance.STANDARD, [str(exc)]
    if vpc is not None and not profile.strict:
        return profile, ["vpc is used by compliance='strict' only; pass compliance='strict'"]
    return profile, []
