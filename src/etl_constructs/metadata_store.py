"""MetadataStore: the DynamoDB job table and its status/time index.

Partition key ``jobId``, sort key ``fileName``; GSI ``TimestampIndex`` on ``status`` +
``timestamp`` (epoch seconds) with every attribute projected, so "failed jobs since T" is
one query. On-demand billing, encryption at rest (AWS-managed KMS key unless one is given)
and point-in-time recovery ON: the job table is the pipeline's audit trail of control
totals, and 35 days of restorable history costs little next to losing it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._props import raise_if_any
from .naming import JOB_INDEX_NAME, Naming


class MetadataStore(Construct):
    """The job table ``etl-metadata-{suffix}``.

    Args:
        environment_suffix: appended to the table name.
        existing_table_obj: bring your own table; it must have the same keys and a GSI
            named ``TimestampIndex`` on ``status`` (S) + ``timestamp`` (N).
        encryption_key: customer-managed KMS key; AWS-managed when omitted.
        point_in_time_recovery: ON by default.
        removal_policy: RETAIN by default.
        table_name: override the physical name.

    Attributes:
        table: the job table (yours or the one created).
        dynamodb_table: the concrete table when the construct created it, else ``None``.
        index_name: the GSI name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        existing_table_obj: dynamodb.ITable | None = None,
        encryption_key: kms.IKey | None = None,
        point_in_time_recovery: bool = True,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        table_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        naming = Naming(environment_suffix)
        if existing_table_obj is not None:
            raise_if_any(
                "MetadataStore",
                [
                    f"{prop} cannot be combined with existing_table_obj"
                    for prop, value in (
                        ("encryption_key", encryption_key),
                        ("table_name", table_name),
                    )
                    if value is not None
                ],
            )
        self.index_name = JOB_INDEX_NAME
        self.dynamodb_table: dynamodb.Table | None = None
        if existing_table_obj is not None:
            self.table: dynamodb.ITable = existing_table_obj
            return

        self.dynamodb_table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name or naming.metadata_table,
            partition_key=dynamodb.Attribute(name="jobId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="fileName", type=dynamodb.AttributeType.STRING),
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
        )
        self.dynamodb_table.add_global_secondary_index(
            index_name=JOB_INDEX_NAME,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="timestamp", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table = self.dynamodb_table
