"""StorageStack: the ingestion bucket, the job table and the pipeline's KMS key.

Under the strict compliance profile it also holds the card-holder data key (bucket, table,
backups), the table's backup plan and the VPC the functions of the later stacks run in.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from etl_constructs import (
    Compliance,
    DataKey,
    IngestionBucket,
    MetadataStore,
    PipelineKey,
    PipelineNetwork,
)


class StorageStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        compliance: Compliance | str = Compliance.STANDARD,
        gateway_prefix_lists: dict[str, str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        profile = Compliance.of(compliance)
        self.pipeline_key = PipelineKey(
            self,
            "PipelineKey",
            environment_suffix=environment_suffix,
            removal_policy=removal_policy,
        )
        self.data_key: DataKey | None = None
        self.network: PipelineNetwork | None = None
        if profile.strict:
            self.data_key = DataKey(
                self,
                "DataKey",
                environment_suffix=environment_suffix,
                removal_policy=removal_policy,
            )
        data_key = self.data_key.key if self.data_key else None
        self.ingestion = IngestionBucket(
            self,
            "Ingestion",
            environment_suffix=environment_suffix,
            encryption_key=data_key,
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
            compliance=profile,
        )
        self.metadata = MetadataStore(
            self,
            "Metadata",
            environment_suffix=environment_suffix,
            encryption_key=data_key,
            removal_policy=removal_policy,
            compliance=profile,
        )
        if profile.strict:
            # After the bucket and table: its endpoints admit only them.
            self.network = PipelineNetwork(
                self,
                "Network",
                environment_suffix=environment_suffix,
                encryption_key=self.pipeline_key.key,
                removal_policy=removal_policy,
                buckets=[self.ingestion.bucket],
                tables=[self.metadata.table],
                gateway_prefix_lists=gateway_prefix_lists,
            )
        cdk.CfnOutput(self, "DataBucketName", value=self.ingestion.bucket.bucket_name)
        cdk.CfnOutput(self, "MetadataTableName", value=self.metadata.table.table_name)
