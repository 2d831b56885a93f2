"""Physical names: a prefix of one's own, and no two resources of one app with the same name."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from etl_constructs import (
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    Naming,
    ObservabilityPack,
    PipelineEnvironment,
    PropsError,
    compliance,
)
from tests.conftest import cdk_json_context


def _pipeline(app: cdk.App, stack_id: str, *, prefix: str | None, suffix: str = "prod"):
    stack = cdk.Stack(app, stack_id)
    env = PipelineEnvironment(environment_suffix=suffix, name_prefix=prefix)
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
    ObservabilityPack(
        stack, "Ops", environment=env, alarm_email="ops@example.com"
    ).monitor_workflow(flow).monitor_api(api).monitor_pipeline_metrics()
    return stack


_NAME_KEYS = (
    "BucketName",
    "TableName",
    "FunctionName",
    "QueueName",
    "StateMachineName",
    "Name",
    "TopicName",
    "DashboardName",
    "AlarmName",
    "LogGroupName",
)


def _names(template: dict) -> set[str]:
    """Physical names, not the names of an API's own models and validators."""
    return {
        value
        for resource in template["Resources"].values()
        if not resource["Type"].startswith("AWS::ApiGateway::")
        for key, value in resource.get("Properties", {}).items()
        if key in _NAME_KEYS and isinstance(value, str)
    }


def test_two_pipelines_with_their_own_prefixes_synthesize_clean_in_one_app(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(app, "Payments", prefix="pay")
    _pipeline(app, "Cards", prefix="cards")
    compliance.add_nag_packs(app)  # the acknowledgements do not depend on the names
    assembly = app.synth()
    pay = _names(assembly.get_stack_by_name("Payments").template)
    cards = _names(assembly.get_stack_by_name("Cards").template)
    assert not pay & cards, pay & cards
    assert {"pay-data-bucket-prod", "pay-access-logs-prod", "pay-validator-prod"} <= pay
    assert {"pay-trigger-dlq-prod", "pay-quality-check-rule-prod", "/pay/prod/lambda/api"} <= pay
    assert all(name.startswith(("pay-", "/pay/", "/aws/vendedlogs/pay/")) for name in pay)
    # the shared key serves the prefixed log groups and queues
    key_policy = json.dumps(assembly.get_stack_by_name("Cards").template)
    assert "log-group:/cards/prod/*" in key_policy and "cards-*-dlq-prod" in key_policy


def test_the_same_prefix_and_suffix_twice_fails_synth_naming_the_clash(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(app, "Payments", prefix=None)
    _pipeline(app, "Refunds", prefix=None)
    with pytest.raises(Exception) as raised:
        app.synth()
    message = str(raised.value)
    assert (
        "physical name 'etl-data-bucket-prod' (S3 bucket) is taken by 2 resources: "
        "Payments/Landing/Bucket, Refunds/Landing/Bucket" in message
    )
    assert "physical name 'validator-prod' (Lambda function)" in message
    assert "name_prefix" in message


def test_other_suffixes_or_regions_do_not_clash_but_bucket_names_do(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(app, "Dev", prefix=None, suffix="dev")
    _pipeline(app, "Qa", prefix=None, suffix="qa")
    app.synth()

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "regions"))
    for stack_id, region in (("Ireland", "eu-west-1"), ("Virginia", "us-east-1")):
        stack = cdk.Stack(app, stack_id, env=cdk.Environment(account="123456789012", region=region))
        MetadataStore(stack, "Jobs", environment_suffix="prod")  # a table per region: fine
        IngestionBucket(stack, "Landing", environment_suffix="prod")  # S3 names are global
    with pytest.raises(Exception, match="'etl-data-bucket-prod' \\(S3 bucket\\)") as raised:
        app.synth()
    assert "etl-metadata-prod" not in str(raised.value)


def test_without_a_prefix_the_names_are_the_librarys_own():
    seed, own = Naming("prod"), Naming("prod", "pay")
    assert (seed.data_bucket, seed.function("validator"), seed.alarm("api-5xx")) == (
        "etl-data-bucket-prod",
        "validator-prod",
        "etl-api-5xx-prod",
    )
    assert (own.data_bucket, own.function("validator"), own.alarm("api-5xx")) == (
        "pay-data-bucket-prod",
        "pay-validator-prod",
        "pay-api-5xx-prod",
    )
    assert own.log_group_prefixes == ("/pay/prod/", "/aws/vendedlogs/pay/prod/")
    assert own.waf_log_group == "aws-waf-logs-pay-prod"


@pytest.mark.parametrize("prefix", ["Pay", "pay-", "-pay", "xn--pay", "a" * 21, ""])
def test_a_bad_prefix_is_a_props_error(prefix):
    with pytest.raises(PropsError, match=r"name_prefix .* is invalid"):
        PipelineEnvironment(environment_suffix="prod", name_prefix=prefix)
