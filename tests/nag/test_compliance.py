"""The compliance module: pack wiring and finding ids rendered like cdk-nag renders them."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from etl_constructs import compliance
from tests.conftest import cdk_json_context


def test_finding_resource_inside_one_stack_and_across_stacks():
    app = cdk.App(context=cdk_json_context())
    producer = cdk.Stack(app, "Producer")
    consumer = cdk.Stack(app, "Consumer")
    bucket = s3.Bucket(producer, "Bucket")
    lid = producer.get_logical_id(bucket.node.default_child)
    value = bucket.arn_for_objects("raw/*")
    assert compliance.finding_resource(producer, value) == f"<{lid}.Arn>/raw/*"
    rendered = compliance.finding_resource(consumer, value)
    assert rendered.startswith(f"Producer:ExportsOutputFnGetAtt{lid}Arn")
    assert rendered.endswith("/raw/*")
    imported = s3.Bucket.from_bucket_name(consumer, "Imported", "landing")
    assert (
        compliance.finding_resource(consumer, imported.arn_for_objects("raw/*"))
        == "arn:<AWS::Partition>:s3:::landing/raw/*"
    )


def test_an_unacknowledged_finding_fails_synth_and_an_acknowledged_one_does_not(tmp_path):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "a"))
    stack = cdk.Stack(app, "Queues")
    sqs.Queue(stack, "Plain")  # no DLQ, no TLS policy
    compliance.add_nag_packs(app)
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path / "b"))
    stack = cdk.Stack(app, "Queues")
    queue = sqs.Queue(stack, "Dlq", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    compliance.acknowledge_dead_letter_queue(queue)
    compliance.acknowledge(
        queue, [("AwsSolutions-SQS3", "a queue kept as a test dead-letter queue only")]
    )
    compliance.add_nag_packs(app)
    app.synth()


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="compliance profile 'lax' is unknown"):
        compliance.add_nag_packs(cdk.App(), "lax")


def _pipeline(
    app,
    *,
    kms_everywhere: bool,
    split: bool,
    profile: str = "standard",
    env: cdk.Environment | None = None,
    **flow_props,
):
    from aws_cdk import aws_kms as kms

    from etl_constructs import (
        ControlApi,
        EtlWorkflow,
        IngestionBucket,
        MetadataStore,
        ObservabilityPack,
        PipelineKey,
    )

    storage = cdk.Stack(app, "Storage", env=env)
    compute = cdk.Stack(app, "Compute", env=env) if split else storage
    key = PipelineKey(storage, "Key", environment_suffix="t").key
    data_key = kms.Key(storage, "DataKey", enable_key_rotation=True) if kms_everywhere else None
    bucket = IngestionBucket(
        storage, "Bucket", environment_suffix="t", encryption_key=data_key, compliance=profile
    ).bucket
    table = MetadataStore(
        storage, "Table", environment_suffix="t", encryption_key=data_key, compliance=profile
    ).table
    flow = EtlWorkflow(
        compute,
        "Flow",
        environment_suffix="t",
        bucket=bucket,
        table=table,
        encryption_key=key,
        compliance=profile,
        **flow_props,
    )
    api = ControlApi(
        compute,
        "Api",
        environment_suffix="t",
        bucket=bucket,
        table=table,
        state_machine=flow.state_machine,
        encryption_key=key,
        compliance=profile,
    )
    ObservabilityPack(compute, "Ops", environment_suffix="t", encryption_key=key).monitor_workflow(
        flow
    ).monitor_api(api).monitor_pipeline_metrics()


@pytest.mark.parametrize(("kms_everywhere", "split"), [(True, True), (True, False), (False, False)])
def test_constructs_used_directly_are_nag_clean(tmp_path, kms_everywhere, split):
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(app, kms_everywhere=kms_everywhere, split=split)
    compliance.add_nag_packs(app)
    app.synth()  # raises on any unacknowledged finding, as `cdk synth` does


def test_rendering_refuses_what_it_cannot_express():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    # other intrinsics appear as their compact JSON, as cdk-nag shows them
    assert (
        compliance.finding_resource(stack, cdk.Fn.base64(cdk.Aws.REGION))
        == '{"Fn::Base64":{"Ref":"AWS::Region"}}'
    )
    assert compliance.finding_resource(stack, cdk.Aws.ACCOUNT_ID) == "<AWS::AccountId>"
    assert compliance.finding_resource(stack, cdk.Fn.import_value("Other:Export")) == "Other:Export"


@pytest.mark.parametrize(("kms_everywhere", "split"), [(True, True), (False, False)])
def test_strict_constructs_used_directly_pass_all_four_packs(tmp_path, kms_everywhere, split):
    """Without the example app's stacks: the constructs create their own data keys (when none is
    given) and their own networks (no vpc given), in one stack or across two."""
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(app, kms_everywhere=kms_everywhere, split=split, profile="strict")
    compliance.add_nag_packs(app, "strict")
    app.synth()


@pytest.mark.parametrize("profile", ["standard", "strict"])
def test_constructs_in_a_stack_with_its_own_account_and_region_are_nag_clean(tmp_path, profile):
    """A concrete env makes CDK write the region and account into ARNs (the Distributed Map's
    execution wildcards among them) where an env-agnostic stack has pseudo parameters: the
    acknowledgements must quote what CDK wrote."""
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    env = cdk.Environment(account="210987654321", region="eu-central-1")
    _pipeline(app, kms_everywhere=True, split=True, profile=profile, env=env)
    compliance.add_nag_packs(app, profile)
    app.synth()


def test_strict_packs_refuse_what_standard_accepts(tmp_path):
    from aws_cdk import aws_lambda as lambda_

    def app_with_a_plain_function(outdir, profile):
        app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
        stack = cdk.Stack(app, "Fn")
        fn = lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): pass"),
        )
        # what the standard packs ask of any function, met or acknowledged
        compliance.acknowledge(
            fn,
            [
                (
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "a test function with the basic execution role",
                ),
                ("Serverless-LambdaDLQ", "a test function that is never invoked asynchronously"),
                ("Serverless-LambdaDefaultMemorySize", "a test function that is never invoked"),
                ("Serverless-LambdaDefaultTimeout", "a test function that is never invoked"),
                ("Serverless-LambdaTracing", "a test function that is never invoked at all"),
            ],
        )
        compliance.add_nag_packs(app, profile)
        return app

    app_with_a_plain_function(tmp_path / "standard", "standard").synth()
    with pytest.raises(Exception, match=re.escape("NIST.800.53.R5-LambdaConcurrency")):
        app_with_a_plain_function(tmp_path / "strict", "strict").synth()


@pytest.mark.parametrize(("profile", "kms_everywhere"), [("standard", False), ("strict", True)])
def test_the_seen_ids_table_is_nag_clean_in_both_profiles(tmp_path, profile, kms_everywhere):
    from etl_constructs import SeenIdsPolicy

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    _pipeline(  # with the big-file path (the default): its parts claim too
        app,
        kms_everywhere=kms_everywhere,
        split=True,
        profile=profile,
        seen_ids=SeenIdsPolicy(),
    )
    compliance.add_nag_packs(app, profile)
    app.synth()


@pytest.mark.parametrize(("profile", "kms_everywhere"), [("standard", False), ("strict", True)])
def test_lineage_to_the_bucket_an_endpoint_and_datazone_is_nag_clean_in_both_profiles(
    tmp_path, profile, kms_everywhere
):
    from aws_cdk import aws_secretsmanager as secretsmanager

    from etl_constructs import LineagePolicy

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    # the endpoint's key is the user's secret: what the packs say of it is theirs to answer
    secret = secretsmanager.Secret(cdk.Stack(app, "Secrets"), "LineageKey")
    theirs = "the user's secret: its rotation and key are the user's to choose"
    compliance.acknowledge(
        secret,
        [
            ("AwsSolutions-SMG4", theirs),
            *compliance.strict_findings("SecretsManagerRotationEnabled", theirs),
            *compliance.strict_findings("SecretsManagerUsingKMSKey", theirs),
        ],
    )
    _pipeline(
        app,
        kms_everywhere=kms_everywhere,
        split=True,
        profile=profile,
        lineage=LineagePolicy(
            endpoint="https://lineage.example.com/api/v1/lineage",
            api_key_secret=secret,
            datazone_domain="dzd_a1b2c3",
        ),
    )
    compliance.add_nag_packs(app, profile)
    app.synth()
