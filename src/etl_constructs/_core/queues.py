"""Dead-letter queues: how every construct builds one and lets its sender use it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import compliance as nag


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    queue_name: str | None,
    *,
    encryption_key: kms.IKey | None = None,
) -> sqs.Queue:
    """An SQS queue for failed events or messages: TLS-only, 14 days of retention, SSE with
    SQS-managed keys or, given ``encryption_key``, with that customer-managed key (its policy
    must let the sender's service use it, as :class:`PipelineKey`'s does for EventBridge and
    SNS). Acknowledged as a dead-letter queue (cdk-nag, and checkov's SSE check when
    SQS-managed)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=encryption_key,
        data_key_reuse=cdk.Duration.hours(1) if encryption_key else None,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    nag.acknowledge_dead_letter_queue(queue)
    if encryption_key is None:  # SQS-managed SSE, which checkov does not recognise
        nag.acknowledge_checkov(queue, "CKV_AWS_27", nag.SQS_MANAGED_SSE_REASON)
    return queue


def grant_dead_letter_key(queue: sqs.IQueue, role: iam.IRole) -> None:
    """Lambda sends a function's failed events to its DLQ with the function's role: with a
    KMS-encrypted queue the role needs the key too (CDK grants only ``sqs:SendMessage``)."""
    if queue.encryption_master_key is not None:
        queue.encryption_master_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
