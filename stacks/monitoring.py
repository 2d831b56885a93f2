"""MonitoringStack: dashboard, alarms and the alarm topic."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from etl_constructs import ControlApi, EtlWorkflow, ObservabilityPack


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        workflow: EtlWorkflow,
        control_api: ControlApi,
        encryption_key: kms.IKey,
        alarm_email: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.observability = (
            ObservabilityPack(
                self,
                "Observability",
                environment_suffix=environment_suffix,
                encryption_key=encryption_key,
                alarm_email=alarm_email,
            )
            .monitor_workflow(workflow)
            .monitor_api(control_api)
            .monitor_pipeline_metrics()
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.observability.alarm_topic.topic_arn)
        cdk.CfnOutput(self, "DashboardName", value=self.observability.dashboard.dashboard_name)
