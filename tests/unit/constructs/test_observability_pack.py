from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from etl_constructs import (
    AlarmThresholds,
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PropsError,
)
from tests.conftest import cdk_json_context


@pytest.fixture(scope="module")
def template():
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Mon", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    workflow = EtlWorkflow(
        stack, "Workflow", environment_suffix="dev", bucket=ingestion.bucket, table=store.table
    )
    api = ControlApi(
        stack,
        "Api",
        environment_suffix="dev",
        bucket=ingestion.bucket,
        table=store.table,
        state_machine=workflow.state_machine,
    )
    pack = (
        ObservabilityPack(stack, "Obs", environment_suffix="dev", alarm_email="ops@example.com")
        .monitor_workflow(workflow)
        .monitor_api(api)
        .monitor_pipeline_metrics()
    )
    assert isinstance(pack, ObservabilityPack)
    return Template.from_stack(stack)


def _metric_name(alarm):
    if "MetricName" in alarm:
        return alarm["MetricName"]
    (metric,) = [m for m in alarm["Metrics"] if "MetricStat" in m]
    return metric["MetricStat"]["Metric"]["MetricName"]


def _alarms(template):
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_function_error_alarms_fire_at_five(template):
    alarms = _alarms(template)
    for base in ("trigger", "validator", "transformer", "enricher", "quality-check", "api"):
        alarm = alarms[f"{base}-errors-dev"]
        assert alarm["Threshold"] == 5
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert _metric_name(alarm) == "Errors"


def test_pipeline_alarms(template):
    alarms = _alarms(template)
    assert alarms["etl-state-machine-failed-dev"]["Threshold"] == 1
    assert _metric_name(alarms["etl-api-5xx-dev"]) == "5XXError"
    # a DLQ alarm for each queue that can receive a message: the asynchronously invoked
    # functions'; the synchronous ones (steps, API) have no queue, so no alarm suggests one
    dlq_alarms = {name for name in alarms if name.endswith("-dlq-messages-dev")}
    assert dlq_alarms == {f"etl-{base}-dlq-messages-dev" for base in ("trigger", "quality-check")}
    for name in dlq_alarms:
        assert _metric_name(alarms[name]) == "ApproximateNumberOfMessagesVisible"
        assert alarms[name]["Threshold"] == 1
    assert "etl-quality-findings-dev" in alarms


def test_every_alarm_notifies_the_encrypted_topic(template):
    ((topic_lid, topic),) = template.find_resources("AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == "etl-alarms-dev"
    assert "KmsMasterKeyId" in topic["Properties"]
    for alarm in _alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_lid}]
        assert alarm["TreatMissingData"] == "notBreaching"
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_dashboard_covers_the_pipeline(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "etl-dashboard-dev"
    body = str(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionTime",
        "Invocations",
        "Throttles",
        "Duration",
        "ApproximateNumberOfMessagesVisible",
        "4XXError",
        "5XXError",
        "Latency",
        "FilesReceived",
        "RowsProcessed",
        "RowsRejected",
    ):
        assert metric in body, metric


def test_bad_props_raise():
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Mon")
    with pytest.raises(PropsError) as raised:
        ObservabilityPack(
            stack,
            "Obs",
            environment_suffix="dev",
            alarm_email="not-an-address",
            thresholds=AlarmThresholds(function_errors=0),
        )
    assert "alarm_email" in str(raised.value)
    assert "thresholds.function_errors" in str(raised.value)


def test_dashboard_graphs_the_rows_on_the_reference_path(template):
    """The metric the steps publish when rows leave the columnar engine, by its contract name."""
    from etl_constructs import naming

    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert naming.METRIC_ROWS_ON_REFERENCE_PATH == "RowsOnReferencePath"
    assert naming.METRIC_ROWS_ON_REFERENCE_PATH in body
