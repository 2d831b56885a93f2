"""ApiStack: the control API over the job table and the state machine."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from etl_constructs import Compliance, ControlApi


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        compliance: Compliance | str = Compliance.STANDARD,
        vpc: ec2.IVpc | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.control_api = ControlApi(
            self,
            "ControlApi",
            environment_suffix=environment_suffix,
            bucket=bucket,
            table=table,
            state_machine=state_machine,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            compliance=compliance,
            vpc=vpc,
            # An app decides account-wide settings, the construct does not: the example app
            # sets API Gateway's CloudWatch role so that it deploys into a fresh account.
            create_cloud_watch_role=True,
        )
        cdk.CfnOutput(self, "ApiEndpoint", value=self.control_api.url)
        cdk.CfnOutput(self, "ApiFunctionName", value=self.control_api.function.function_name)
