"""StorageStack: the ingestion bucket, the job table and the pipeline's KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from etl_constructs import IngestionBucket, MetadataStore, PipelineKey


class StorageStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline_key = PipelineKey(
            self,
            "PipelineKey",
            environment_suffix=environment_suffix,
            removal_policy=removal_policy,
        )
        self.ingestion = IngestionBucket(
            self,
            "Ingestion",
            environment_suffix=environment_suffix,
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
        )
        self.metadata = MetadataStore(
            self, "Metadata", environment_suffix=environment_suffix, removal_policy=removal_policy
        )
        cdk.CfnOutput(self, "DataBucketName", value=self.ingestion.bucket.bucket_name)
        cdk.CfnOutput(self, "MetadataTableName", value=self.metadata.table.table_name)
