"""S3: the data bucket and its access-log bucket."""

from __future__ import annotations

from constructs import IConstruct

from .findings import acknowledge, strict_findings

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


ACCESS_LOG_BUCKET_REASON = (
    "This is the access-log target bucket itself: logging its own access would need one more "
    "log bucket, and that one another."
)


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
