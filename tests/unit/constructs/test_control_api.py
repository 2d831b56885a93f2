from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from etl_constructs import ControlApi, IngestionBucket, MetadataStore, PropsError
from tests.conftest import cdk_json_context

from .builders import build_pipeline, new_stack


def _api_stack(**props):
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Api", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    machine = sfn.StateMachine.from_state_machine_name(stack, "Machine", "etl-state-machine-dev")
    api = ControlApi(
        stack,
        "ControlApi",
        environment_suffix="dev",
        bucket=ingestion.bucket,
        table=store.table,
        state_machine=machine,
        **props,
    )
    return stack, api


@pytest.fixture(scope="module")
def template():
    stack, _ = _api_stack()
    return Template.from_stack(stack)


def test_rest_api_name_stage_and_stage_settings(template):
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"Name": "etl-api-dev"})
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "prod"
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["LoggingLevel"] == "INFO"
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] == 50
    assert settings["ThrottlingBurstLimit"] == 100
    fmt = props["AccessLogSetting"]["Format"]
    for field in ('"requestId"', '"status"', '"httpMethod"', '"user"', '"caller"'):
        assert field in fmt
    assert fmt.startswith("{")


def test_every_method_uses_iam_and_the_validator(template):
    methods = [
        m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    assert len(methods) == 4
    assert {m["AuthorizationType"] for m in methods} == {"AWS_IAM"}
    assert all("RequestValidatorId" in m for m in methods)
    (validator,) = template.find_resources("AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    by_verb = {
        m["HttpMethod"]: m for m in methods if "RequestModels" in m or m["HttpMethod"] != "POST"
    }
    assert by_verb["POST"]["RequestModels"] == {
        "application/json": {"Ref": next(iter(template.find_resources("AWS::ApiGateway::Model")))}
    }
    # the reprocess route: POST without a body, the job id a required path parameter
    [reprocess] = [m for m in methods if m["HttpMethod"] == "POST" and "RequestModels" not in m]
    assert reprocess["RequestParameters"] == {"method.request.path.jobId": True}
    assert set(by_verb["GET"]["RequestParameters"]) <= {
        "method.request.path.jobId",
        "method.request.querystring.status",
        "method.request.querystring.since",
        "method.request.querystring.limit",
        "method.request.querystring.cursor",
    }


def test_routes(template):
    paths = {
        r["Properties"]["PathPart"]
        for r in template.find_resources("AWS::ApiGateway::Resource").values()
    }
    assert paths == {"status", "{jobId}", "trigger", "jobs", "reprocess"}


def test_trigger_model_requires_a_raw_key(template):
    (model,) = template.find_resources("AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    assert schema["required"] == ["key"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["key"]["pattern"] == "^raw/"
    assert schema["properties"]["key"]["maxLength"] == 1024


def test_api_function_may_read_raw_only_and_start_the_machine(template):
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for lid, p in template.find_resources("AWS::IAM::Policy").items()
        if lid.startswith("ControlApiRole")
    ]
    actions = {
        a for s in policy for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "s3:PutObject" not in actions
    assert "states:StartExecution" in actions
    s3_statement = next(s for s in policy if "s3:GetObject" in s["Action"])
    assert s3_statement["Resource"]["Fn::Join"][1][-1] == "/raw/*"


def test_bad_throttling_is_refused():
    with pytest.raises(PropsError) as raised:
        _api_stack(throttling_rate_limit=0, throttling_burst_limit=0)
    assert "throttling_rate_limit" in str(raised.value)
    assert "throttling_burst_limit" in str(raised.value)


def test_the_account_wide_cloud_watch_role_is_left_alone_by_default(template):
    """API Gateway's CloudWatch role is one setting for the whole account and region: a
    library must not replace it unless asked to."""
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    assert not [
        role
        for role in template.find_resources("AWS::IAM::Role").values()
        if "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role)
    ]


def test_the_account_wide_cloud_watch_role_on_request():
    stack, _ = _api_stack(create_cloud_watch_role=True)
    template = Template.from_stack(stack)
    (account,) = template.find_resources("AWS::ApiGateway::Account").values()
    role = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert template.find_resources("AWS::IAM::Role")[role]["DeletionPolicy"] == "Retain"


def test_the_execution_log_group_is_created_with_retention_and_key():
    stack, api = _api_stack()
    template = Template.from_stack(stack)
    rest_api = stack.get_logical_id(api.api.node.default_child)
    stage = stack.get_logical_id(api.api.deployment_stage.node.default_child)
    (lid,) = [
        lid
        for lid, group in template.find_resources("AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(group["Properties"]["LogGroupName"])
    ]
    props = template.find_resources("AWS::Logs::LogGroup")[lid]["Properties"]
    assert props["LogGroupName"] == {
        "Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": rest_api}, "/prod"]]
    }
    assert props["RetentionInDays"] == 7
    key = stack.get_logical_id(api.execution_log_group.node.default_child)
    assert key == lid
    assert props["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"
    # the group exists before the stage can write to it (API Gateway would create its own)
    assert lid in template.find_resources("AWS::ApiGateway::Stage")[stage]["DependsOn"]


def test_the_synchronously_invoked_function_has_no_dead_letter_queue(template):
    """API Gateway invokes the function synchronously and answers the caller with its
    failure; Lambda would never send anything to a dead-letter queue of it."""
    template.resource_count_is("AWS::SQS::Queue", 0)
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert "DeadLetterConfig" not in function["Properties"]


def _pipeline_with_api(*, workflow_props=None, api_props=None, separate_stacks=False):
    stack = new_stack()
    api_stack = new_stack("Api", app=stack.node.root) if separate_stacks else stack
    p = build_pipeline(
        stack, workflow_props=workflow_props, api_props=api_props, api_stack=api_stack
    )
    return stack, api_stack, p.workflow, p.api


def _environment(stack, function_name):
    for resource in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values():
        if resource["Properties"]["FunctionName"] == function_name:
            return resource["Properties"]["Environment"]["Variables"]
    raise AssertionError(function_name)


@pytest.mark.parametrize("separate_stacks", [False, True])
def test_the_workflows_stuck_after_reaches_the_api_function(separate_stacks, monkeypatch):
    """One answer to 'is this job stuck': the API takes the workflow's ``stuck_after`` from
    the state machine it is given, and its handler answers with it."""
    from datetime import UTC, datetime

    from etl_handlers.api import logic

    stack, api_stack, workflow, api = _pipeline_with_api(
        workflow_props={"stuck_after": cdk.Duration.minutes(15)}, separate_stacks=separate_stacks
    )
    quality = _environment(stack, "quality-check-dev")
    api_env = _environment(api_stack, "api-dev")
    assert quality["ETL_STUCK_AFTER_MINUTES"] == api_env["ETL_STUCK_AFTER_MINUTES"] == "15"
    assert api.stuck_after.to_minutes() == workflow.stuck_after.to_minutes() == 15

    monkeypatch.setenv("ETL_STUCK_AFTER_MINUTES", api_env["ETL_STUCK_AFTER_MINUTES"])
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    job = {"jobId": "j", "status": "VALIDATING", "timestamp": int(now.timestamp()) - 20 * 60}
    assert logic.job_view(job, now=now, stuck_after=logic.stuck_after_from_env())["stuck"]


def test_the_api_function_gets_the_default_stuck_after_without_a_workflow(template):
    functions = template.find_resources("AWS::Lambda::Function").values()
    (api,) = [f for f in functions if f["Properties"]["FunctionName"] == "api-dev"]
    assert api["Properties"]["Environment"]["Variables"]["ETL_STUCK_AFTER_MINUTES"] == "60"
    stack, _ = _api_stack(stuck_after=cdk.Duration.minutes(5))
    assert _environment(stack, "api-dev")["ETL_STUCK_AFTER_MINUTES"] == "5"


def test_a_stuck_after_that_disagrees_with_the_workflows_is_a_props_error():
    with pytest.raises(PropsError, match="stuck_after"):
        _pipeline_with_api(
            workflow_props={"stuck_after": cdk.Duration.minutes(15)},
            api_props={"stuck_after": cdk.Duration.minutes(30)},
        )
    # the same value is fine
    _pipeline_with_api(
        workflow_props={"stuck_after": cdk.Duration.minutes(15)},
        api_props={"stuck_after": cdk.Duration.minutes(15)},
    )
