"""ComputeStack: the functions, the state machine and the EventBridge rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from etl_constructs import Compliance, EtlWorkflow, LargeFiles, LineagePolicy, ManifestPolicy


class ComputeStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        compliance: Compliance | str = Compliance.STANDARD,
        vpc: ec2.IVpc | None = None,
        large_files: LargeFiles | None = None,
        manifest: ManifestPolicy | None = None,
        duplicate_files: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.workflow = EtlWorkflow(
            self,
            "Workflow",
            environment_suffix=environment_suffix,
            bucket=bucket,
            table=table,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            compliance=compliance,
            vpc=vpc,
            large_files=large_files,
            manifest=manifest,
            duplicate_files=duplicate_files,
            curated_dataset=True,  # the AnalyticsStack's catalog reads it
            lineage=LineagePolicy(),  # OpenLineage run events under lineage/ in the bucket
        )
        cdk.CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        cdk.CfnOutput(
            self, "TriggerFunctionName", value=self.workflow.functions["trigger"].function_name
        )
        cdk.CfnOutput(
            self,
            "QualityCheckFunctionName",
            value=self.workflow.functions["quality-check"].function_name,
        )
