"""ObservabilityPack: one dashboard, the alarms that matter, and a topic that notifies.

A facade in the style of cdk-monitoring-constructs: create the pack, then chain
``monitor_workflow(...)``, ``monitor_api(...)`` and ``monitor_pipeline_metrics()``. Every
alarm acts on one KMS-encrypted, TLS-only SNS topic (with an optional e-mail subscription),
and alarms treat missing data as "not breaching" so quiet nights stay green.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from . import naming
from ._props import raise_if_any
from .control_api import ControlApi
from .encryption import PipelineKey
from .etl_workflow import EtlWorkflow
from .naming import Naming, suffix_problems


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """When alarms fire. Counts are per ``period``."""

    function_errors: int = 5
    state_machine_failures: int = 1
    dead_letter_messages: int = 1
    api_5xx_errors: int = 1
    quality_findings: int = 1
    period: cdk.Duration = field(default_factory=lambda: cdk.Duration.minutes(5))


class ObservabilityPack(Construct):
    """Dashboard ``etl-dashboard-{suffix}`` and alarms on topic ``etl-alarms-{suffix}``.

    Args:
        environment_suffix: appended to physical names.
        encryption_key: KMS key of the alarm topic (its policy must let CloudWatch use it, as
            :class:`PipelineKey` does); one is created when omitted.
        alarm_email: subscribe this address to the alarm topic.
        thresholds: alarm thresholds.
        metrics_namespace: namespace of the handlers' custom metrics.

    Attributes:
        dashboard, alarm_topic, alarms (every alarm created, in order).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        encryption_key: kms.IKey | None = None,
        alarm_email: str | None = None,
        thresholds: AlarmThresholds | None = None,
        metrics_namespace: str = naming.METRICS_NAMESPACE,
    ) -> None:
        super().__init__(scope, construct_id)
        self.thresholds = thresholds = thresholds or AlarmThresholds()
        problems = suffix_problems(environment_suffix)
        if alarm_email is not None and "@" not in alarm_email:
            problems.append(f"alarm_email {alarm_email!r} is not an e-mail address")
        for name in (
            "function_errors",
            "state_machine_failures",
            "dead_letter_messages",
            "api_5xx_errors",
            "quality_findings",
        ):
            if getattr(thresholds, name) < 1:
                problems.append(f"thresholds.{name} must be at least 1")
        raise_if_any("ObservabilityPack", problems)
        self.naming = names = Naming(environment_suffix)
        self._namespace = metrics_namespace
        if encryption_key is None:
            encryption_key = PipelineKey(self, "Key", environment_suffix=environment_suffix).key
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=names.alarm_topic,
            display_name=f"ETL pipeline alarms ({environment_suffix})",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=names.dashboard, default_interval=cdk.Duration.days(1)
        )
        self.alarms: list[cw.Alarm] = []

    # -- facade --------------------------------------------------------------------------

    def monitor_workflow(self, workflow: EtlWorkflow) -> ObservabilityPack:
        """State machine outcomes, every function, every dead-letter queue (the trigger's and
        the quality check's: the only functions invoked asynchronously)."""
        sm = workflow.state_machine
        period = self.thresholds.period
        self.dashboard.add_widgets(
            cw.TextWidget(markdown=f"# ETL pipeline `{self.naming.suffix}`", width=24, height=1),
            cw.GraphWidget(
                title="State machine executions",
                left=[
                    sm.metric_succeeded(period=period, label="succeeded"),
                    sm.metric_failed(period=period, label="failed"),
                    sm.metric_timed_out(period=period, label="timed out"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="State machine duration",
                left=[
                    sm.metric_time(period=period, statistic="p50", label="p50"),
                    sm.metric_time(period=period, statistic="Maximum", label="max"),
                ],
                width=12,
            ),
        )
        failed = cw.MathExpression(
            expression="failed + timedOut + aborted",
            using_metrics={
                "failed": sm.metric_failed(period=period),
                "timedOut": sm.metric_timed_out(period=period),
                "aborted": sm.metric_aborted(period=period),
            },
            period=period,
            label="executions failed, timed out or aborted",
        )
        self._alarm(
            "StateMachineFailed",
            self.naming.alarm("state-machine-failed"),
            failed,
            self.thresholds.state_machine_failures,
            "An ETL execution failed, timed out or was aborted: see the job's error.",
        )
        for base, fn in workflow.functions.items():
            self._monitor_function(base, fn)
        for base, queue in workflow.dead_letter_queues.items():
            self._monitor_queue(base, queue)
        return self

    def monitor_api(self, api: ControlApi) -> ObservabilityPack:
        """API 4xx / 5xx / latency and its function (invoked synchronously: no dead-letter
        queue; its failures are the 5xx answers)."""
        period = self.thresholds.period
        rest = api.api
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="API errors",
                left=[
                    rest.metric_client_error(period=period, label="4xx"),
                    rest.metric_server_error(period=period, label="5xx"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API latency",
                left=[
                    rest.metric_latency(period=period, statistic="p50", label="p50"),
                    rest.metric_latency(period=period, statistic="p99", label="p99"),
                ],
                width=12,
            ),
        )
        self._alarm(
            "Api5xx",
            self.naming.alarm("api-5xx"),
            rest.metric_server_error(period=period, statistic="Sum"),
            self.thresholds.api_5xx_errors,
            "The control API answered with 5xx errors.",
        )
        self._monitor_function(naming.API_FUNCTION, api.function)
        return self

    def monitor_pipeline_metrics(self) -> ObservabilityPack:
        """The handlers' own metrics: files, rows, and the quality check's findings."""
        period = self.thresholds.period
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Files",
                left=[
                    self._custom(naming.METRIC_FILES_RECEIVED, period),
                    self._custom(naming.METRIC_FILES_SUCCEEDED, period),
                    self._custom(naming.METRIC_FILES_FAILED, period),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Rows",
                left=[self._custom(naming.METRIC_ROWS_PROCESSED, period)],
                right=[self._custom(naming.METRIC_ROWS_REJECTED, period)],
                width=12,
            ),
            cw.GraphWidget(
                # rows the columnar engine could not take (or the fast path is off): a
                # rise means slower steps, and the step logs say why
                title="Rows on the per-row reference engine",
                left=[self._custom(naming.METRIC_ROWS_ON_REFERENCE_PATH, period)],
                width=12,
            ),
            cw.GraphWidget(
                title="Daily quality check",
                left=[
                    self._custom(m, cdk.Duration.days(1))
                    for m in (
                        naming.METRIC_FAILED_JOBS,
                        naming.METRIC_STUCK_JOBS,
                        naming.METRIC_UNRECONCILED_JOBS,
                    )
                ],
                width=24,
            ),
        )
        findings = cw.MathExpression(
            expression="FILL(stuck, 0) + FILL(unreconciled, 0)",
            using_metrics={
                "stuck": self._custom(naming.METRIC_STUCK_JOBS, cdk.Duration.days(1)),
                "unreconciled": self._custom(naming.METRIC_UNRECONCILED_JOBS, cdk.Duration.days(1)),
            },
            period=cdk.Duration.days(1),
            label="stuck or unreconciled jobs",
        )
        self._alarm(
            "QualityFindings",
            self.naming.alarm("quality-findings"),
            findings,
            self.thresholds.quality_findings,
            "The daily quality check found stuck or unreconciled jobs: see reports/.",
        )
        return self

    # -- building blocks -----------------------------------------------------------------

    def _custom(self, metric_name: str, period: cdk.Duration) -> cw.Metric:
        return cw.Metric(
            namespace=self._namespace,
            metric_name=metric_name,
            dimensions_map={"service": self.naming.service},
            statistic="Sum",
            period=period,
            label=metric_name,
        )

    def _monitor_function(self, base: str, fn) -> None:
        period = self.thresholds.period
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title=f"{base}: invocations, errors, throttles",
                left=[
                    fn.metric_invocations(period=period, label="invocations"),
                    fn.metric_errors(period=period, label="errors"),
                    fn.metric_throttles(period=period, label="throttles"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title=f"{base}: duration",
                left=[
                    fn.metric_duration(period=period, statistic="p50", label="p50"),
                    fn.metric_duration(period=period, statistic="Maximum", label="max"),
                ],
                width=12,
            ),
        )
        self._alarm(
            f"{naming.construct_id(base)}Errors",
            self.naming.function_errors_alarm(base),
            fn.metric_errors(period=period, statistic="Sum"),
            self.thresholds.function_errors,
            f"The {base} function raised errors.",
        )

    def _monitor_queue(self, base: str, queue) -> None:
        period = self.thresholds.period
        depth = queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum", label=f"{base} DLQ depth"
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title=f"{base}: dead-letter queue depth", left=[depth], width=12)
        )
        self._alarm(
            f"{naming.construct_id(base)}DlqMessages",
            self.naming.alarm(f"{base}-dlq-messages"),
            depth,
            self.thresholds.dead_letter_messages,
            f"Events that {base} could not process are waiting in its dead-letter queue.",
        )

    def _alarm(
        self, construct_id: str, name: str, metric: cw.IMetric, threshold: int, description: str
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)
        return alarm
