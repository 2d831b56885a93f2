"""AnalyticsStack: the curated dataset's catalog and the Athena workgroup over it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from etl_constructs import AnalyticsCatalog, Compliance, TransactionSchema


class AnalyticsStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        bucket: s3.IBucket,
        schema: TransactionSchema,
        compliance: Compliance | str = Compliance.STANDARD,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.catalog = AnalyticsCatalog(
            self,
            "Catalog",
            environment_suffix=environment_suffix,
            bucket=bucket,
            schema=schema,
            compliance=compliance,
        )
        cdk.CfnOutput(self, "AnalyticsDatabase", value=self.catalog.database_name)
        cdk.CfnOutput(self, "AthenaWorkgroup", value=self.catalog.workgroup_name)
        cdk.CfnOutput(
            self, "AnalyticsReaderPolicyArn", value=self.catalog.reader_policy.managed_policy_arn
        )
