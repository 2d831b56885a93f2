"""DynamoDB: the job table's key (standard) and its backups (strict)."""

from __future__ import annotations

from constructs import IConstruct

from .findings import acknowledge, strict_findings
from .kms import KMS_WILDCARD_REASON

STANDARD_TABLE_KEY_REASON = (
    "Standard profile: the job table is encrypted at rest with the AWS-managed key and holds "
    "job metadata (keys, counts, totals, errors), never card data. The strict profile "
    "encrypts it with the customer-managed DataKey."
)

STANDARD_SEEN_IDS_KEY_REASON = (
    "Standard profile: the seen-ids table is encrypted at rest with the AWS-managed key, like "
    "the job table; it holds keyed digests of transaction ids and job ids, never an id or "
    "card data. The strict profile encrypts it with the job table's customer-managed key."
)

SEEN_IDS_BACKUP_REASON = (
    "The seen-ids table is an index of the ids the pipeline accepted in the window, not a "
    "record of its own: every id in it is in the enriched outputs of its job, from which the "
    "table can be rebuilt, and point-in-time recovery (35 days) restores it after a bad "
    "write."
)


def acknowledge_seen_ids_table(table: IConstruct) -> None:
    """The strict packs' backup-plan rule on the seen-ids table."""
    acknowledge(table, strict_findings("DynamoDBInBackupPlan", SEEN_IDS_BACKUP_REASON))


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
