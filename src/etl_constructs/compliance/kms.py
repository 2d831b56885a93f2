"""KMS: the action wildcards of CDK's key grants."""

from __future__ import annotations

KMS_WILDCARD_REASON = (
    "KMS grants from CDK use kms:GenerateDataKey* and kms:ReEncrypt* on the one key named in "
    "the statement; the action wildcard covers variants of those two operations only."
)
