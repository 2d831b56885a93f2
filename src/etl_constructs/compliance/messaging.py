"""SQS and SNS: the dead-letter queues."""

from __future__ import annotations

from constructs import IConstruct

from .findings import acknowledge

DLQ_REASON = (
    "This queue is itself a dead-letter queue (for a function and its EventBridge target): "
    "messages end here, an alarm fires on the first one, and a DLQ of a DLQ adds nothing."
)


SQS_MANAGED_SSE_REASON = (
    "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled: true); the check only "
    "recognizes KmsMasterKeyId. The strict profile encrypts the queues with PipelineKey."
)


def acknowledge_dead_letter_queue(queue: IConstruct) -> None:
    acknowledge(queue, [("Serverless-SQSRedrivePolicy", DLQ_REASON)])


SUBSCRIPTION_DLQ_REASON = (
    "This queue is the dead-letter queue of an SNS subscription: the subscription's "
    "RedrivePolicy names it, which cdk-nag does not count as dead-letter use (only SQS redrive "
    "policies and Lambda dead-letter configs). Its messages end here, and an alarm fires on the "
    "first one."
)


def acknowledge_subscription_dead_letter_queue(queue: IConstruct) -> None:
    """An SNS subscription's dead-letter queue: a DLQ cdk-nag does not recognise as one."""
    acknowledge(queue, [("AwsSolutions-SQS3", SUBSCRIPTION_DLQ_REASON)])
