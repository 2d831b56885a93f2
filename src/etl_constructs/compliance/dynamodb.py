"""DynamoDB: the job table's key (standard) and its backups (strict)."""

from __future__ import annotations

from constructs import IConstruct

from .findings import acknowledge
from .kms import KMS_WILDCARD_REASON

STANDARD_TABLE_KEY_REASON = (
    "Standard profile: the job table is encrypted at rest with the AWS-managed key and holds "
    "job metadata (keys, counts, totals, errors), never card data. The strict profile "
    "encrypts it with the customer-managed DataKey."
)


BACKUP_ROLE_REASON = (
    "AWS Backup's selection role uses AWSBackupServiceRolePolicyForBackup, the policy AWS "
    "maintains for backup jobs of every supported service (DynamoDB's API set changes with "
    "AWS Backup features); the role can be assumed by backup.amazonaws.com only."
)


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
