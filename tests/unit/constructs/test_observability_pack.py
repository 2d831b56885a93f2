from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from etl_constructs import (
    AlarmThresholds,
    ObservabilityPack,
    PropsError,
)
from tests.conftest import cdk_json_context

from .builders import build_pipeline


@pytest.fixture(scope="module")
def template():
    pipeline = build_pipeline(observability={"alarm_email": "ops@example.com"})
    assert isinstance(pipeline.observability, ObservabilityPack)
    return pipeline.template()


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
    # functions' and the alarm e-mail's; the synchronous ones (steps, API) have no queue, so
    # no alarm suggests one
    dlq_alarms = {name for name in alarms if name.endswith("-dlq-messages-dev")}
    assert dlq_alarms == {
        f"etl-{base}-dlq-messages-dev" for base in ("trigger", "quality-check", "alarm-email")
    }
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


def test_undeliverable_alarm_emails_go_to_a_dead_letter_queue(template):
    """A bounced alarm e-mail is kept 14 days, TLS-only, encrypted, and alarmed on."""
    ((queue_lid, queue),) = [
        (lid, q)
        for lid, q in template.find_resources("AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"] == "alarm-email-dlq-dev"
    ]
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["Properties"]["SqsManagedSseEnabled"] is True  # standard profile
    (subscription,) = template.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [queue_lid, "Arn"]}
    }
    # SNS may send to it, for this topic only
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_lid}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "sns.amazonaws.com"}})]
                )
            },
        },
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
