"""MetadataStore: the DynamoDB job table and its status/time index.

Partition key ``jobId``, sort key ``fileName``; GSI ``TimestampIndex`` on ``status`` +
``timestamp`` (epoch seconds) with every attribute projected, so "failed jobs since T" is
one query. On-demand billing, encryption at rest (AWS-managed KMS key unless one is given)
and point-in-time recovery ON: the job table is the pipeline's audit trail of control
totals, and 35 days of restorable history costs little next to losing it. A retained table
also has deletion protection on.

The strict compliance profile adds a customer-managed KMS key (a :class:`DataKey` when none is
given) and an AWS Backup plan: daily backups kept 35 days in a vault under the same key,
independent of the table's own point-in-time recovery; a retained vault is locked and denies
deleting its recovery points.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import compliance as nag
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.iam import ManagedPolicyRole, source_conditions
from ._core.keys import data_key
from ._core.names import check_unique_names
from ._core.props import raise_if_any
from .compliance import Compliance
from .naming import JOB_INDEX_KEYS, JOB_INDEX_NAME, JOB_TABLE_KEYS, Naming

#: How long the strict profile's daily backups are kept.
BACKUP_RETENTION = cdk.Duration.days(35)


class MetadataStore(Construct):
    """The job table ``etl-metadata-{suffix}``.

    Args:
        environment_suffix: appended to the table name; required unless ``environment``
            gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix,
            compliance, removal policy, and its ``data_key`` as this table's
            ``encryption_key``. A prop given here too must agree with it.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        existing_table_obj: bring your own table; it must have the same keys and a GSI
            named ``TimestampIndex`` on ``status`` (S) + ``timestamp`` (N).
        encryption_key: customer-managed KMS key; AWS-managed when omitted (standard) or
            the stack's one DataKey of this environment, shared with the bucket (strict).
        point_in_time_recovery: ON by default.
        removal_policy: RETAIN by default.
        table_name: override the physical name.
        compliance: ``standard`` or ``strict`` (customer-managed key, daily AWS Backup).

    Attributes:
        table: the job table (yours or the one created).
        dynamodb_table: the concrete table when the construct created it, else ``None``.
        index_name: the GSI name.
        backup_plan, backup_vault: the strict profile's backups, else ``None``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        existing_table_obj: dynamodb.ITable | None = None,
        encryption_key: kms.IKey | None = None,
        point_in_time_recovery: bool = True,
        removal_policy: cdk.RemovalPolicy | None = None,
        table_name: str | None = None,
        compliance: Compliance | str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "MetadataStore",
            environment,
            key_field="data_key",
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            compliance=compliance,
        )
        profile, removal_policy = env.profile, env.removal_policy
        if existing_table_obj is not None:
            problems += [
                f"{prop} cannot be combined with existing_table_obj"
                for prop, value in (
                    ("encryption_key", encryption_key),
                    ("table_name", table_name),
                )
                if value is not None
            ]
            if profile.strict and existing_table_obj.encryption_key is None:
                problems.append(
                    "compliance='strict' needs existing_table_obj with its encryption_key (a "
                    "customer-managed KMS key); its backups stay with its owner"
                )
        raise_if_any("MetadataStore", problems)
        check_unique_names(self)
        self.environment = env
        encryption_key = env.data_key
        naming = env.naming
        self.index_name = JOB_INDEX_NAME
        self.dynamodb_table: dynamodb.Table | None = None
        self.backup_plan: backup.BackupPlan | None = None
        self.backup_vault: backup.BackupVault | None = None
        if existing_table_obj is not None:
            self.table: dynamodb.ITable = existing_table_obj
            return
        if profile.strict and encryption_key is None:
            encryption_key = data_key(self, env)

        self.dynamodb_table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name or naming.metadata_table,
            partition_key=_attribute(JOB_TABLE_KEYS[0]),
            sort_key=_attribute(JOB_TABLE_KEYS[1]),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            removal_policy=removal_policy,
            # A table meant to outlive its stack cannot be deleted by an API call either.
            deletion_protection=_retained(removal_policy),
        )
        self.dynamodb_table.add_global_secondary_index(
            index_name=JOB_INDEX_NAME,
            partition_key=_attribute(JOB_INDEX_KEYS[0]),
            sort_key=_attribute(JOB_INDEX_KEYS[1]),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table = self.dynamodb_table
        if encryption_key is None:  # the AWS-managed key (standard profile)
            nag.acknowledge_checkov(
                self.dynamodb_table, "CKV_AWS_119", nag.STANDARD_TABLE_KEY_REASON
            )
        if profile.strict:
            assert encryption_key is not None
            self._backup(naming, encryption_key, removal_policy)

    def _backup(self, naming: Naming, key: kms.IKey, removal_policy: cdk.RemovalPolicy) -> None:
        """Daily backups kept 35 days, in a vault with the table's removal policy.

        Retained (prod): recovery points of the audit trail survive a deleted stack (they
        expire by the plan's lifecycle), and the vault protects them: its access policy denies
        everyone deleting them or shortening their lifecycle, and a vault lock (governance
        mode) holds them for the 35 days. Its name ends in part of the stack's id, so a
        re-created environment never collides with the vault its predecessor left.

        Destroyed (ephemeral environments): the vault goes with the stack, as the key that
        encrypts its recovery points does when the stack created it with the same policy; a
        vault kept beyond its key would hold backups no one can decrypt. It has no lock and no
        deny policy, so its recovery points can be deleted first (AWS Backup deletes no vault
        that still holds any).
        """
        retained = _retained(removal_policy)
        stack_guid = cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))
        self.backup_vault = backup.BackupVault(
            self,
            "BackupVault",
            backup_vault_name=naming.backup_vault_prefix
            + cdk.Fn.select(4, cdk.Fn.split("-", stack_guid)),
            encryption_key=key,
            removal_policy=removal_policy,
            block_recovery_point_deletion=retained,
            lock_configuration=(
                backup.LockConfiguration(min_retention=BACKUP_RETENTION) if retained else None
            ),
        )
        self.backup_plan = backup.BackupPlan(
            self,
            "BackupPlan",
            backup_plan_name=naming.backup_plan,
            backup_vault=self.backup_vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="daily",
                    schedule_expression=events.Schedule.cron(minute="0", hour="3"),
                    delete_after=BACKUP_RETENTION,
                )
            ],
        )
        # The selection's role: AWS Backup's managed policy, plus the data key, which encrypts
        # both the table it reads and the vault it writes.
        # Only for AWS Backup's resources (plans, vaults, jobs) of this account and region.
        # AWS Backup documents neither key for the roles it assumes (Step Functions and VPC
        # flow logs do): each is checked when sent, so a key AWS Backup leaves out cannot stop
        # the daily backups, which nothing would report.
        role = ManagedPolicyRole(
            self,
            "BackupRole",
            assumed_by=iam.ServicePrincipal(
                "backup.amazonaws.com",
                conditions=source_conditions(
                    self,
                    cdk.Stack.of(self).format_arn(service="backup", resource="*"),
                    if_exists=True,
                ),
            ),
            description=f"{naming.backup_plan}: back up the job table into its vault",
        )
        key.grant_encrypt_decrypt(role)
        self.backup_plan.add_selection(
            "JobTable",
            resources=[backup.BackupResource.from_dynamo_db_table(self.table)],
            role=role,
        )
        nag.acknowledge_backup_role(role)


def _retained(removal_policy: cdk.RemovalPolicy) -> bool:
    """Whether ``removal_policy`` keeps the resource when its stack is deleted."""
    return removal_policy in (
        cdk.RemovalPolicy.RETAIN,
        cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )


#: DynamoDB's attribute type codes, as the contract writes them.
_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _attribute(key: tuple[str, str]) -> dynamodb.Attribute:
    """A key attribute of the contract's job table layout."""
    name, type_code = key
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[type_code])
