"""PipelineEnvironment: what every construct of one pipeline shares, given once."""

from __future__ import annotations

import subprocess
import sys

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from etl_constructs import (
    Compliance,
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PipelineEnvironment,
    PipelineKey,
    PropsError,
    compliance,
)

from .builders import build_pipeline, new_stack


def _custom_metric_namespaces(template: Template) -> set[str]:
    found = set()
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        for metric in alarm["Properties"].get("Metrics", []):
            stat = metric.get("MetricStat", {}).get("Metric", {})
            if stat.get("Namespace") and not stat["Namespace"].startswith("AWS/"):
                found.add(stat["Namespace"])
    return found


def _function_namespaces(template: Template) -> set[str]:
    return {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    }


def test_one_environment_drives_every_construct():
    stack = new_stack()
    key = PipelineKey(stack, "Key", environment_suffix="qa").key
    env = PipelineEnvironment(
        environment_suffix="qa",
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        metrics_namespace="Payments",
    )
    landing = IngestionBucket(stack, "Landing", environment=env)
    jobs = MetadataStore(stack, "Jobs", environment=env)
    flow = EtlWorkflow(stack, "Flow", environment=env, bucket=landing.bucket, table=jobs.table)
    api = ControlApi(
        stack,
        "Api",
        environment=env,
        bucket=landing.bucket,
        table=jobs.table,
        state_machine=flow.state_machine,
    )
    ObservabilityPack(stack, "Ops", environment=env).monitor_workflow(flow).monitor_api(
        api
    ).monitor_pipeline_metrics()
    template = Template.from_stack(stack)
    assert _function_namespaces(template) == {"Payments"}
    assert _custom_metric_namespaces(template) == {"Payments"}
    template.resource_count_is("AWS::KMS::Key", 1)  # the environment's, nothing of their own
    template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": "etl-metadata-qa"})
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == "Delete"
    assert flow.environment is not env and flow.environment.metrics_namespace == "Payments"


def test_the_pack_reads_the_namespace_of_the_workflow_it_monitors():
    """Given no namespace, the alarms look where the monitored workflow's handlers publish."""
    pipeline = build_pipeline(
        workflow_props={"metrics_namespace": "Payments"},
        api_props={"metrics_namespace": "Payments"},
        observability={},
    )
    template = pipeline.template()
    assert _function_namespaces(template) == {"Payments"}
    assert _custom_metric_namespaces(template) == {"Payments"}


def test_a_pack_namespace_that_disagrees_with_the_workflow_is_a_props_error():
    message = r"(?s)ObservabilityPack.*'Payments' of workflow .*'EtlPipeline' of its metrics_"
    with pytest.raises(PropsError, match=message):
        build_pipeline(
            api=False,
            workflow_props={"metrics_namespace": "Payments"},
            observability={"metrics_namespace": "EtlPipeline"},
        )


def test_a_prop_that_disagrees_with_the_environment_is_a_props_error_naming_both():
    stack = new_stack()
    env = PipelineEnvironment(environment_suffix="dev")
    with pytest.raises(PropsError) as raised:
        IngestionBucket(
            stack, "Landing", environment=env, compliance="strict", environment_suffix="prod"
        )
    message = str(raised.value)
    assert "compliance 'strict' disagrees with environment.compliance 'standard'" in message
    assert "environment_suffix 'prod' disagrees with environment.environment_suffix 'dev'" in (
        message
    )
    # The same value given both ways is no conflict.
    IngestionBucket(stack, "Same", environment=env, compliance="STANDARD", environment_suffix="dev")


def test_a_key_that_disagrees_with_the_environment_names_both_keys():
    stack = new_stack()
    env = PipelineEnvironment(
        environment_suffix="dev",
        encryption_key=PipelineKey(stack, "Shared", environment_suffix="dev").key,
    )
    other = PipelineKey(stack, "Other", environment=env).key
    with pytest.raises(PropsError) as raised:
        ObservabilityPack(stack, "Ops", environment=env, encryption_key=other)
    assert (
        "encryption_key Pipeline/Other/Key disagrees with environment.encryption_key "
        "Pipeline/Shared/Key" in str(raised.value)
    )


def test_a_bad_profile_with_an_environment_is_reported_once_as_unknown():
    with pytest.raises(PropsError) as raised:
        MetadataStore(
            new_stack(),
            "Jobs",
            environment=PipelineEnvironment(environment_suffix="dev"),
            compliance="lax",
        )
    message = str(raised.value)
    assert "compliance profile 'lax' is unknown" in message and "disagrees" not in message


def test_a_construct_without_any_suffix_is_a_props_error():
    with pytest.raises(PropsError, match="environment_suffix is required"):
        MetadataStore(new_stack(), "Jobs")


def test_a_bad_environment_names_every_problem_at_once():
    with pytest.raises(PropsError) as raised:
        PipelineEnvironment(environment_suffix="Bad Suffix", compliance="lax", metrics_namespace="")
    lines = str(raised.value).splitlines()
    assert lines[0] == "PipelineEnvironment: invalid props"
    assert len(lines) == 4 and "'Bad Suffix'" in lines[1] and "'lax'" in lines[2]


def test_the_environment_parses_the_profile_once():
    env = PipelineEnvironment(environment_suffix="dev", compliance=" Strict ")
    assert env.compliance is Compliance.STRICT


def test_importing_the_profile_costs_no_cdk():
    code = (
        "import sys; from etl_constructs.compliance import Compliance; "
        "print(sorted(m for m in ('aws_cdk', 'cdk_nag', 'jsii') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_public_compliance_name_stays_importable_and_sits_with_its_service():
    for name in compliance.__all__:
        assert getattr(compliance, name) is not None, name
    by_service = {
        "acknowledge_data_bucket": "s3",
        "acknowledge_function_role": "iam",
        "acknowledge_synchronous_function": "lambda_",
        "acknowledge_distributed_map": "sfn",
        "acknowledge_rest_api": "api",
        "acknowledge_dead_letter_queue": "messaging",
        "acknowledge_backup_role": "dynamodb",
        "add_nag_packs": "packs",
    }
    for name, module in by_service.items():
        assert getattr(compliance, name).__module__ == f"etl_constructs.compliance.{module}"
    with pytest.raises(AttributeError):
        compliance.no_such_name  # noqa: B018


def _keys(template: Template) -> list[dict]:
    return list(template.find_resources("AWS::KMS::Key").values())


def test_constructs_given_no_key_share_one_per_stack_and_environment():
    stack = new_stack()
    landing = IngestionBucket(
        stack,
        "Landing",
        environment_suffix="dev",
        compliance="strict",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    jobs = MetadataStore(stack, "Jobs", environment_suffix="dev", compliance="strict")
    assert landing.encryption_key is jobs.dynamodb_table.encryption_key
    other = MetadataStore(stack, "Other", environment_suffix="qa", compliance="strict")
    assert other.dynamodb_table.encryption_key is not jobs.dynamodb_table.encryption_key
    keys = _keys(Template.from_stack(stack))
    # one per environment; the table keeps its data, so its key is kept, though the bucket's
    # policy alone would not keep it
    assert [key["DeletionPolicy"] for key in keys] == ["Retain", "Retain"]


def test_a_retained_first_user_keeps_the_shared_key_retained():
    stack = new_stack()
    first = MetadataStore(stack, "Jobs", environment_suffix="dev", compliance="strict")
    IngestionBucket(
        stack,
        "Landing",
        environment_suffix="dev",
        compliance="strict",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    (data_key,) = _keys(Template.from_stack(stack))
    assert data_key["DeletionPolicy"] == "Retain" and first.dynamodb_table is not None
