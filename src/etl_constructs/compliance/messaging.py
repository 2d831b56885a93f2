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
