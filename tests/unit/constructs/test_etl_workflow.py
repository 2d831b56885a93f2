from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from etl_handlers import contract as handler_env

from etl_constructs import (
    EtlWorkflow,
    FunctionSettings,
    IngestionBucket,
    MetadataStore,
    PropsError,
    StepRetry,
    TransactionSchema,
    naming,
    runtime,
)
from tests.asl_rows import row_data_exposures
from tests.conftest import cdk_json_context

from .builders import build_pipeline, new_stack

FUNCTIONS = ("trigger", "validator", "transformer", "enricher", "quality-check")
#: Invoked asynchronously (EventBridge rules): only these can ever dead-letter an event.
ASYNC_FUNCTIONS = ("trigger", "quality-check")


def _workflow_stack(**workflow_props):
    p = build_pipeline(api=False, workflow_props=workflow_props)
    return p.stack, p.workflow


@pytest.fixture(scope="module")
def built(standard_workflow):
    pipeline, template = standard_workflow
    return pipeline.stack, pipeline.workflow, template


def _functions(template):
    return {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    }


def _definition(template) -> dict:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    # The definition is a Fn::Join of literal JSON and ARNs; ARNs become placeholders.
    parts = body["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "ARN" for p in parts)
    return json.loads(text)


def test_five_functions_with_suffix_runtime_layer_tracing(built):
    stack, workflow, template = built
    functions = _functions(template)
    assert set(functions) == {f"{base}-dev" for base in FUNCTIONS}
    assert set(workflow.functions) == set(FUNCTIONS)
    powertools_parameter = _powertools_parameter(template)
    for base in FUNCTIONS:
        props = functions[f"{base}-dev"]
        assert props["Runtime"] == "python3.14"
        assert props["Handler"] == f"etl_handlers.{base.replace('-', '_')}.handler.lambda_handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["MemorySize"] >= 256 and props["Timeout"] <= 900
        powertools, *data = props["Layers"]
        assert powertools == {"Ref": powertools_parameter}
        if base in ("validator", "transformer", "enricher"):
            (layer,) = data  # pyarrow + numpy for the fast path, this region's public layer
            assert "eu-west-1:336392948345:layer:AWSSDKPandas-Python314-Arm64:9" in json.dumps(
                stack.resolve(layer)
            )
            assert props["Environment"]["Variables"]["ETL_FAST_PATH"] == "1"
        else:
            assert data == []
        if base in ASYNC_FUNCTIONS:
            assert props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][1] == "Arn"
        else:
            assert "DeadLetterConfig" not in props, base


def test_every_handler_module_exists_in_the_asset(built):
    _, _, template = built
    for props in _functions(template).values():
        module = props["Handler"].rsplit(".", 1)[0].replace(".", "/")
        assert (runtime.handlers_path() / f"{module}.py").is_file(), module


def test_asynchronously_invoked_functions_have_an_encrypted_tls_only_dlq(built):
    """Lambda dead-letters asynchronous invocations only: the state machine invokes the step
    functions synchronously (its Catch takes their failures), so a DLQ of theirs could never
    receive a message; the EventBridge-invoked trigger and quality check keep theirs."""
    _, workflow, template = built
    queues = template.find_resources("AWS::SQS::Queue")
    names = {q["Properties"]["QueueName"] for q in queues.values()}
    assert names == {f"{base}-dlq-dev" for base in ASYNC_FUNCTIONS}
    assert set(workflow.dead_letter_queues) == set(ASYNC_FUNCTIONS)
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())
    policies = template.find_resources("AWS::SQS::QueuePolicy")
    denies = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == len(ASYNC_FUNCTIONS)


def test_synchronous_functions_acknowledge_the_dlq_rule_with_the_reason(built):
    _, workflow, _ = built
    for base, fn in workflow.functions.items():
        acknowledged = _acknowledged(fn)
        if base in ASYNC_FUNCTIONS:
            assert "Serverless-LambdaDLQ" not in acknowledged, base
        else:
            assert "synchronously" in acknowledged["Serverless-LambdaDLQ"], base


def _acknowledged(construct) -> dict[str, str]:
    """cdk-nag findings acknowledged on ``construct`` itself: finding id -> reason."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    return {
        finding.split("::", 1)[-1]: reason
        for entry in construct.node.metadata
        if entry.type == key
        for finding, reason in entry.data.items()
    }


def test_log_groups_keep_seven_days_and_are_kms_encrypted(built):
    _, _, template = built
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS) + 1  # + the state machine's
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 7
        assert "KmsKeyId" in group["Properties"]
        assert group["Properties"]["LogGroupName"].startswith(
            ("/etl/dev/", "/aws/vendedlogs/etl/dev/")
        )


def test_environment_variables_match_the_handlers(built):
    _, _, template = built
    functions = _functions(template)
    used = {name for props in functions.values() for name in props["Environment"]["Variables"]}
    etl_vars = {name for name in used if name.startswith("ETL_")}
    assert etl_vars <= set(handler_env.ALL)
    validator = functions["validator-dev"]["Environment"]["Variables"]
    assert json.loads(validator["ETL_SCHEMA"]) == TransactionSchema.default().to_document()
    assert validator["ETL_MAX_REJECT_RATE"] == "0.05"
    trigger = functions["trigger-dev"]["Environment"]["Variables"]
    assert "ETL_STATE_MACHINE_ARN" in trigger


def _policy_statements(template, role_logical_prefix):
    policies = template.find_resources("AWS::IAM::Policy")
    return [
        s
        for lid, p in policies.items()
        if lid.startswith(role_logical_prefix)
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _s3_resources(statement):
    resources = (
        statement["Resource"]
        if isinstance(statement["Resource"], list)
        else [statement["Resource"]]
    )
    found = []
    for r in resources:
        if isinstance(r, dict) and "Fn::Join" in r:
            found.append(r["Fn::Join"][1][-1])
    return found


@pytest.mark.parametrize(
    ("role", "reads", "writes"),
    [
        # raw/ in; validated/ parts and id indexes of big files are read back by the reduce;
        # the failure branch's copy of a source above 5 GiB goes to failed/
        (
            "WorkflowValidatorRole",
            ["/raw/*", "/validated/*"],
            ["/validated/*", "/rejected/*", "/failed/*"],
        ),
        # a big file's parts reject the rows found duplicated across batches
        ("WorkflowTransformerRole", ["/validated/*"], ["/processed/*", "/rejected/*"]),
        ("WorkflowEnricherRole", ["/processed/*", "/enriched/*"], ["/enriched/*"]),
        # rejects by code: the reject lines of the day's jobs
        ("WorkflowQualityCheckRole", ["/rejected/*"], ["/reports/*"]),
        ("WorkflowTriggerRole", ["/raw/*"], []),
    ],
)
def test_roles_reach_only_their_prefixes(built, role, reads, writes):
    _, _, template = built
    statements = _policy_statements(template, role)
    assert statements, role
    actions = [
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert not any(a in ("s3:*", "dynamodb:*", "*") for a in actions)
    got_reads = [r for s in statements if "s3:GetObject" in s["Action"] for r in _s3_resources(s)]
    got_writes = [r for s in statements if "s3:PutObject" in s["Action"] for r in _s3_resources(s)]
    assert sorted(got_reads) == sorted(reads)
    assert sorted(got_writes) == sorted(writes)
    for statement in statements:
        if statement["Resource"] == "*":
            assert all(a.startswith("xray:") for a in statement["Action"]), statement


def test_the_curated_dataset_is_off_by_default_and_on_reaches_rejected_and_curated():
    stack, _ = _workflow_stack()
    template = Template.from_stack(stack)
    enricher = _functions(template)["enricher-dev"]
    assert enricher["Environment"]["Variables"]["ETL_CURATED"] == "0"
    stack, _ = _workflow_stack(curated_dataset=True)
    template = Template.from_stack(stack)
    assert _functions(template)["enricher-dev"]["Environment"]["Variables"]["ETL_CURATED"] == "1"
    statements = _policy_statements(template, "WorkflowEnricherRole")
    reads = [r for s in statements if "s3:GetObject" in s["Action"] for r in _s3_resources(s)]
    writes = [r for s in statements if "s3:PutObject" in s["Action"] for r in _s3_resources(s)]
    assert sorted(reads) == ["/enriched/*", "/processed/*", "/rejected/*"]
    assert sorted(writes) == ["/curated/*", "/enriched/*"]


def test_the_quality_check_lists_rejected_parts_only(built):
    _, _, template = built
    statements = _policy_statements(template, "WorkflowQualityCheckRole")
    [listing] = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["rejected/*"]}}


def test_state_machine_settings(built):
    _, _, template = built
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineName"] == "etl-state-machine-dev"
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    # the longest path's worst case (tests/unit/constructs/test_budget.py has the arithmetic)
    assert _definition(template)["TimeoutSeconds"] == 18360


def test_definition_runs_validate_transform_enrich_with_retries_and_catches(built):
    _, _, template = built
    definition = _definition(template)
    states = definition["States"]
    assert definition["StartAt"] == "FileSize"
    assert states["FileSize"]["Default"] == "Validate"
    order = []
    state = "Validate"
    while states[state]["Type"] != "Succeed":
        if states[state]["Type"] == "Task":
            order.append(state)
            state = states[state]["Next"]
        else:  # the outcome Choice: INVALID -> failure, else onwards
            choice = states[state]
            explained, unexplained = choice["Choices"]
            assert explained["Next"].endswith("Rejected")
            assert unexplained["Next"].endswith("Unexplained")
            state = choice["Default"]
    assert order == ["Validate", "Transform", "Enrich"]
    for name in order:
        task = states[name]
        (retry,) = task["Retry"]
        assert "TransientError" in retry["ErrorEquals"]
        assert "Lambda.ServiceException" in retry["ErrorEquals"]
        assert (
            retry["BackoffRate"] == 2
            and retry["MaxAttempts"] == 3
            and retry["IntervalSeconds"] == 2
        )
        (catch,) = task["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert catch["Next"] == f"{name}Errored"
        assert states[f"{name}Errored"]["Next"] == "FailedCopySize"
        assert states[f"{name}Rejected"]["Next"] == "FailedCopySize"
        assert "TimeoutSeconds" in task


def test_failure_branch_copies_records_and_fails(built):
    _, _, template = built
    states = _definition(template)["States"]
    # Up to 5 GiB (what one CopyObject copies) the state machine copies; above, or with no
    # readable size, the validator copies in parts.
    route = states["FailedCopySize"]
    (small,) = route["Choices"]
    assert small["Next"] == "CopyToFailed" and route["Default"] == "CopyToFailedInParts"
    assert small["And"] == [
        {"Variable": "$.sizeBytes", "IsPresent": True},
        {"Variable": "$.sizeBytes", "IsNumeric": True},
        {"Variable": "$.sizeBytes", "NumericLessThanEquals": 5 * 1024**3},
    ]
    copy = states["CopyToFailed"]
    assert copy["Resource"].endswith("aws-sdk:s3:copyObject")
    assert copy["Parameters"]["Key.$"] == "$.failedKey"
    assert copy["Next"] == "RecordFailure" and copy["TimeoutSeconds"] == 120
    # a CopyObject that fails (or runs out of time) hands over to the parts copy
    (catch,) = copy["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "CopyToFailedInParts"
    assert copy["Retry"][0] == {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}
    parts = states["CopyToFailedInParts"]
    assert parts["Resource"] == "ARN" and parts["TimeoutSeconds"] == 630
    assert parts["Parameters"] == {
        "mode": "copy-failed",
        "jobId.$": "$.jobId",
        "bucket.$": "$.bucket",
        "key.$": "$.key",
        "versionId.$": "$.versionId",
    }
    assert "TransientError" in parts["Retry"][-1]["ErrorEquals"]
    assert parts["Next"] == "RecordFailure"
    (catch,) = parts["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "RecordFailureWithoutCopy"
    # outputs.failed names a copy that exists: only the record after a copy sets it
    record = states["RecordFailure"]
    uncopied = states["RecordFailureWithoutCopy"]
    assert "outputs.#failed = :failedKey" in record["Parameters"]["UpdateExpression"]
    assert "failed" not in json.dumps(uncopied["Parameters"]["ExpressionAttributeNames"])
    assert "outputs" not in uncopied["Parameters"]["UpdateExpression"]
    assert "failedCopyError = :copyError" in uncopied["Parameters"]["UpdateExpression"]
    assert uncopied["Parameters"]["ExpressionAttributeValues"][":copyError"] == {
        "S.$": "$.copyError.Error"
    }
    for update in (record, uncopied):
        assert update["Resource"].endswith("dynamodb:updateItem")
        assert "#status IN (" in update["Parameters"]["ConditionExpression"]
        statuses = {
            v["S"]
            for k, v in update["Parameters"]["ExpressionAttributeValues"].items()
            if k.startswith(":s")
        }
        assert statuses == {"PENDING", "VALIDATING", "TRANSFORMING", "ENRICHING"}
        assert update["Next"] == "JobFailed"
        (retry,) = update["Retry"]
        assert "DynamoDB.ThrottlingException" in retry["ErrorEquals"]
        assert "DynamoDB.InternalServerError" in retry["ErrorEquals"]
        assert retry["MaxAttempts"] == 5
        # a final job keeps its record; any other error still ends in JobFailed (the
        # execution status rule then records the job)
        conditional, anything = update["Catch"]
        assert conditional["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
        assert anything["ErrorEquals"] == ["States.ALL"]
        assert conditional["Next"] == anything["Next"] == "JobFailed"
        assert "TimeoutSeconds" in update
    assert states["JobFailed"]["Type"] == "Fail"
    # A fault's message names the error and the execution, never the raw cause.
    errored = states["ValidateErrored"]["Parameters"]
    assert "$.error.Cause" not in json.dumps(errored)


def test_the_parts_copy_mode_is_the_handlers(built):
    from etl_handlers.app import modes

    from etl_constructs import etl_workflow

    assert etl_workflow.COPY_FAILED_MODE == modes.COPY_FAILED
    assert etl_workflow.FAILED_COPY_FUNCTION == "validator"


def test_ingestion_rule_matches_raw_inputs_and_targets_trigger_with_dlq(built):
    stack, workflow, template = built
    rules = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": "etl-ingestion-rule-dev"}}
    )
    (rule,) = rules.values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    # every input format's suffixes by default (input_formats: test_input_formats.py)
    assert pattern["detail"]["object"]["key"][:2] == [
        {"wildcard": "raw/*.csv"},
        {"wildcard": "raw/*.CSV"},
    ]
    (target,) = rule["Properties"]["Targets"]
    trigger_lid = stack.get_logical_id(workflow.functions["trigger"].node.default_child)
    assert target["Arn"] == {"Fn::GetAtt": [trigger_lid, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    dlq_lid = stack.get_logical_id(workflow.dead_letter_queues["trigger"].node.default_child)
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq_lid, "Arn"]}


def test_executions_that_end_without_success_go_to_the_trigger_with_retries_and_dlq(built):
    """An execution timeout or stop cannot be caught inside the execution: the rule hands
    those ends (and FAILED ones, whose job the failure branch may not have recorded) to
    the trigger, whose role already updates jobs."""
    from etl_handlers.app import ingest

    stack, workflow, template = built
    (rule,) = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": "etl-execution-status-rule-dev"}}
    ).values()
    pattern = rule["Properties"]["EventPattern"]
    machine_lid = stack.get_logical_id(workflow.state_machine.node.default_child)
    assert pattern == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": machine_lid}],
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
        },
    }
    assert pattern["source"] == [ingest.STATES_SOURCE]
    assert pattern["detail-type"] == [ingest.EXECUTION_STATUS_CHANGE]
    assert tuple(pattern["detail"]["status"]) == ingest.EXECUTION_END_STATUSES
    (target,) = rule["Properties"]["Targets"]
    trigger_lid = stack.get_logical_id(workflow.functions["trigger"].node.default_child)
    assert target["Arn"] == {"Fn::GetAtt": [trigger_lid, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 2}
    dlq_lid = stack.get_logical_id(workflow.dead_letter_queues["trigger"].node.default_child)
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq_lid, "Arn"]}
    rule_lid = stack.get_logical_id(workflow.execution_status_rule.node.default_child)
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_lid, "Arn"]},
        },
    )
    # no permission added to the trigger for it: it reads and updates jobs already
    statements = _policy_statements(template, "WorkflowTriggerRole")
    table_actions = {
        a for s in statements for a in s["Action"] if isinstance(s["Action"], list)
    } | {s["Action"] for s in statements if isinstance(s["Action"], str)}
    assert {"dynamodb:UpdateItem", "dynamodb:Query"} <= table_actions
    assert not any(a.startswith("states:") and a != "states:StartExecution" for a in table_actions)


def test_quality_check_runs_daily_at_two_utc(built):
    _, _, template = built
    (rule,) = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": "quality-check-rule-dev"}}
    ).values()
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert "DeadLetterConfig" in target


def test_overrides_reach_the_template():
    stack, _ = _workflow_stack(
        function_settings={
            "validator": FunctionSettings(memory_size=3008, timeout=cdk.Duration.minutes(15))
        },
        step_retry=StepRetry(max_attempts=5, backoff_rate=3.0),
        max_reject_rate=0.1,
        state_machine_timeout=cdk.Duration.hours(12),
    )
    template = Template.from_stack(stack)
    validator = _functions(template)["validator-dev"]
    assert validator["MemorySize"] == 3008 and validator["Timeout"] == 900
    assert validator["Environment"]["Variables"]["ETL_MAX_REJECT_RATE"] == "0.1"
    definition = _definition(template)
    assert definition["TimeoutSeconds"] == 12 * 3600
    assert definition["States"]["Validate"]["Retry"][0]["MaxAttempts"] == 5
    assert definition["States"]["Validate"]["Retry"][0]["BackoffRate"] == 3


def test_bad_props_are_reported_together():
    with pytest.raises(PropsError) as raised:
        _workflow_stack(
            max_reject_rate=1.5,
            output_format="xml",
            function_settings={
                "validatr": FunctionSettings(memory_size=512, timeout=cdk.Duration.seconds(30)),
                "enricher": FunctionSettings(memory_size=64, timeout=cdk.Duration.minutes(20)),
            },
            step_retry=StepRetry(max_attempts=-1, backoff_rate=0.5),
        )
    message = str(raised.value)
    assert "max_reject_rate must be between 0 and 1" in message
    assert "output_format must be one of jsonl, parquet" in message
    assert "unknown function 'validatr'" in message
    assert "memory_size must be 128-10240" in message
    assert "timeout must be 1-900 seconds" in message
    assert "step_retry.max_attempts must be 0 or more" in message
    assert "step_retry.backoff_rate must be at least 1" in message


def test_without_the_fast_path_the_data_functions_carry_no_layer():
    stack, _ = _workflow_stack(fast_path=False, curated_dataset=False)
    functions = _functions(Template.from_stack(stack))
    for base in ("validator", "transformer", "enricher"):
        assert len(functions[f"{base}-dev"]["Layers"]) == 1
        assert functions[f"{base}-dev"]["Environment"]["Variables"]["ETL_FAST_PATH"] == "0"
    # the curated dataset's Parquet needs pyarrow in the enricher only
    stack, _ = _workflow_stack(fast_path=False, curated_dataset=True)
    functions = _functions(Template.from_stack(stack))
    assert [len(functions[f"{b}-dev"]["Layers"]) for b in ("validator", "transformer")] == [1, 1]
    assert len(functions["enricher-dev"]["Layers"]) == 2
    assert functions["enricher-dev"]["Environment"]["Variables"]["ETL_CURATED"] == "1"
    # Parquet output needs pyarrow even then
    stack, _ = _workflow_stack(fast_path=False, output_format="parquet")
    assert len(_functions(Template.from_stack(stack))["transformer-dev"]["Layers"]) == 2


def test_a_region_agnostic_stack_finds_the_layer_in_a_mapping_and_unknown_regions_fail():
    from etl_constructs.runtime import SDK_FOR_PANDAS_REGIONS, LayerNotPublishedError

    template = build_pipeline(new_stack("Anywhere", env=None), api=False).template().to_json()
    mapping = template["Mappings"]["SdkForPandasLayers"]
    assert set(mapping) == set(SDK_FOR_PANDAS_REGIONS) and "us-east-1" in mapping
    assert mapping["ap-east-1"] == {"account": "839552336658", "version": "6"}
    validator = next(
        r
        for r in template["Resources"].values()
        if r["Properties"].get("FunctionName") == "validator-dev"
    )
    assert "Fn::FindInMap" in json.dumps(validator["Properties"]["Layers"][1])

    nowhere = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Nowhere",
        env=cdk.Environment(account="123456789012", region="xx-nowhere-1"),
    )
    bucket = IngestionBucket(nowhere, "Ingestion", environment_suffix="dev")
    table = MetadataStore(nowhere, "Metadata", environment_suffix="dev")
    with pytest.raises(
        LayerNotPublishedError, match="no AWSSDKPandas-Python314-Arm64 layer in xx-nowhere-1"
    ):
        EtlWorkflow(
            nowhere, "Workflow", environment_suffix="dev", bucket=bucket.bucket, table=table.table
        )


def test_the_dev_pyarrow_is_the_layers():
    from importlib.metadata import version

    from etl_constructs.runtime import SDK_FOR_PANDAS_PYARROW

    assert version("pyarrow") == SDK_FOR_PANDAS_PYARROW


def test_a_layer_of_your_own_replaces_the_public_one():
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(
        app, "Pipeline", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Arrow", "arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python314-Arm64:1"
    )
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    EtlWorkflow(
        stack,
        "Workflow",
        environment_suffix="dev",
        bucket=ingestion.bucket,
        table=store.table,
        output_format="parquet",
        pyarrow_layer=layer,
    )
    functions = _functions(Template.from_stack(stack))
    assert len(functions["transformer-dev"]["Layers"]) == 2
    assert (
        functions["transformer-dev"]["Environment"]["Variables"]["ETL_OUTPUT_FORMAT"] == "parquet"
    )


def test_names_follow_the_suffix_rule():
    names = naming.Naming("pr-42")
    assert names.function("quality-check") == "quality-check-pr-42"
    assert names.function_errors_alarm("validator") == "validator-errors-pr-42"
    assert re.fullmatch(r"[a-z0-9-]{3,63}", names.access_log_bucket)


def test_big_files_take_the_distributed_map_path(built):
    _, _, template = built
    states = _definition(template)["States"]
    (route,) = states["FileSize"]["Choices"]
    conditions = route["And"]
    assert {"Variable": "$.sizeBytes", "NumericGreaterThan": 1 << 30} in conditions
    assert {"Variable": "$.versionId", "IsNull": False} in conditions
    assert route["Next"] == "Preflight"
    assert states["Preflight"]["Parameters"]["mode"] == "preflight"
    assert states["PreflightOutcome"]["Default"] == "ValidateBatches"

    batches = states["ValidateBatches"]
    assert states["Preflight"]["Parameters"]["rowsPerPart"] == 100_000
    # the plans the preflight wrote, listed: each child gets a key, never a row
    reader = batches["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:listObjectsV2")
    assert "validated/{}/plan/" in reader["Parameters"]["Prefix.$"]
    assert batches["ItemSelector"]["planKey.$"] == "$$.Map.Item.Value.Key"
    assert batches["ItemSelector"]["mode"] == "batch"
    assert batches["ItemSelector"]["versionId.$"] == "$.versionId"  # the version that triggered
    assert "ItemBatcher" not in batches
    assert batches["MaxConcurrency"] == 40
    # CDK leaves a zero tolerance out of the ASL; absent means 0: any failed batch fails
    assert batches.get("ToleratedFailurePercentage", 0) == 0
    assert "ToleratedFailureCount" not in batches
    assert batches["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert batches["Catch"][0]["Next"] == "ValidateBatchesErrored"
    assert states["ValidateBatchesErrored"]["Parameters"]["step"] == "validate"
    assert batches["Next"] == "ReduceValidation"
    assert states["ReduceValidationOutcome"]["Default"] == "ProcessParts"

    parts = states["ProcessParts"]
    assert parts["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert "validated/{}/parts/" in parts["ItemReader"]["Parameters"]["Prefix.$"]
    inner = parts["ItemProcessor"]["States"]
    assert parts["ItemProcessor"]["StartAt"] == "TransformPart"
    assert inner["TransformPart"]["Next"] == "EnrichPart"
    # children end with the handlers' empty results: the maps collect one output per child
    assert inner["EnrichPart"]["ResultPath"] == "$"
    assert batches["ItemProcessor"]["States"]["ValidateBatch"]["ResultPath"] == "$"
    assert "TransientError" in inner["TransformPart"]["Retry"][0]["ErrorEquals"]
    assert parts["Next"] == "ReduceEnrich"
    assert states["ReduceEnrichOutcome"]["Default"] == "JobSucceeded"


def test_the_state_machine_reads_no_object_for_the_maps(built):
    _, _, template = built
    statements = _policy_statements(template, "WorkflowStateMachineRole")
    # raw/ only for the failure branch's copy to failed/; the maps list keys, read nothing
    reads = [r for s in statements if "s3:GetObject" in s["Action"] for r in _s3_resources(s)]
    assert set(reads) == {"/raw/*"}
    listing = next(s for s in statements if s["Action"] == "s3:ListBucket")
    assert listing["Resource"]["Fn::GetAtt"][1] == "Arn"


def test_large_files_can_be_tuned_or_switched_off():
    from etl_constructs import LargeFiles

    stack, workflow = _workflow_stack(large_files=LargeFiles.off())
    definition = _definition(Template.from_stack(stack))
    assert definition["StartAt"] == "Validate"
    assert "ValidateBatches" not in definition["States"]
    assert workflow.large_files == LargeFiles.off()
    stack, _ = _workflow_stack(
        large_files=LargeFiles(
            threshold_bytes=5_000_000, batch_rows=250, tolerated_failure_percentage=1.5
        )
    )
    states = _definition(Template.from_stack(stack))["States"]
    assert states["Preflight"]["Parameters"]["rowsPerPart"] == 250
    assert states["ValidateBatches"]["ToleratedFailurePercentage"] == 1.5
    assert states["FileSize"]["Choices"][0]["And"][2]["NumericGreaterThan"] == 5_000_000
    with pytest.raises(PropsError) as raised:
        _workflow_stack(
            large_files=LargeFiles(
                threshold_bytes=0, batch_rows=0, max_concurrency=0, tolerated_failure_percentage=101
            )
        )
    for prop in (
        "threshold_bytes",
        "batch_rows",
        "max_concurrency",
        "tolerated_failure_percentage",
    ):
        assert f"large_files.{prop}" in str(raised.value)
    with pytest.raises(PropsError, match=r"large_files is off .* large_files.batch_rows would"):
        _workflow_stack(large_files=LargeFiles(enabled=False, batch_rows=10))


def test_large_files_none_means_the_default_as_in_the_example_stacks():
    """One meaning of ``None``: the default ``LargeFiles()``, in EtlWorkflow as in the
    example app's ComputeStack (which passes ``None`` on when not given settings)."""
    from etl_constructs import LargeFiles

    for large_files in (None, LargeFiles()):
        stack, workflow = _workflow_stack(large_files=large_files)
        states = _definition(Template.from_stack(stack))["States"]
        assert "ValidateBatches" in states and "ProcessParts" in states
        assert workflow.large_files == LargeFiles()
        threshold = states["FileSize"]["Choices"][0]["And"][2]["NumericGreaterThan"]
        assert threshold == LargeFiles().threshold_bytes


def _powertools_parameter(template: Template) -> str:
    """The template parameter CloudFormation fills with the Powertools layer's ARN."""
    (name,) = [
        name
        for name, parameter in template.to_json()["Parameters"].items()
        if parameter.get("Default", "").startswith("/aws/service/powertools/")
    ]
    return name


def test_the_powertools_layer_is_resolved_per_region_at_deploy_time(built):
    """Layer version numbers differ between regions: the template names the release, and
    CloudFormation reads that release's ARN for the stack's region from Powertools' public
    SSM parameter."""
    _, _, template = built
    parameters = template.to_json()["Parameters"]
    parameter = parameters[_powertools_parameter(template)]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/aws/service/powertools/python/arm64/python3.14/{runtime.POWERTOOLS_VERSION}",
    }
    assert "017000801446" not in json.dumps(template.to_json())  # no ARN of one region


def test_the_dev_powertools_is_the_layers():
    from importlib.metadata import version

    assert version("aws-lambda-powertools") == runtime.POWERTOOLS_VERSION


def test_no_state_of_either_path_can_hold_a_row(built):
    """Card numbers in execution history: children get the key of a part's plan, never rows."""
    definition = _definition(built[2])
    assert "ValidateBatches" in definition["States"]
    assert row_data_exposures(definition) == []


def test_the_row_check_finds_what_a_csv_item_reader_and_batcher_would_expose():
    csv_map = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        },
        "ItemSelector": {"row.$": "$$.Map.Item.Index", "values.$": "$$.Map.Item.Value"},
        "ItemBatcher": {"MaxItemsPerBatch": 1000},
        "ItemProcessor": {
            "StartAt": "Get",
            "States": {
                "Get": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                    "Parameters": {"Key.$": "$$.Map.Item.Value.merchant"},
                    "End": True,
                }
            },
        },
        "End": True,
    }
    found = row_data_exposures({"StartAt": "M", "States": {"M": csv_map}})
    assert len(found) == 5, found
    listing = {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2"},
        "ItemSelector": {"planKey.$": "$$.Map.Item.Value.Key", "jobId.$": "$.jobId"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    assert row_data_exposures({"StartAt": "M", "States": {"M": listing}}) == []


def _reads(condition) -> list[tuple[str, str]]:
    """The (operator, variable) of every comparison of a Choice rule, in evaluation order."""
    for combinator in ("And", "Or"):
        if combinator in condition:
            return [read for inner in condition[combinator] for read in _reads(inner)]
    if "Not" in condition:
        return _reads(condition["Not"])
    (operator,) = [k for k in condition if k not in ("Variable", "Next")]
    return [(operator, condition["Variable"])]


@pytest.mark.parametrize(
    "task", ["Validate", "Transform", "Enrich", "Preflight", "ReduceValidation", "ReduceEnrich"]
)
def test_an_outcome_choice_never_reads_a_path_it_has_not_seen(built, task):
    """The Rejected Pass reads error.code and error.message: only a result that has both
    (as strings) goes there. A result without them (INVALID without an error, no outcome
    at all) goes to an Unexplained Pass that reads nothing from the result; a VALID one
    goes on. Every comparison is preceded by IsPresent on its path (And and Or stop at the
    first deciding condition), so no result can raise an uncatchable States.Runtime."""
    _, _, template = built
    states = _definition(template)["States"]
    result = states[task]["ResultPath"]
    explained, unexplained = states[f"{task}Outcome"]["Choices"]
    rejected = states[explained["Next"]]
    assert rejected["Parameters"]["code.$"] == f"{result}.error.code"
    read = _reads(explained)
    for path in (f"{result}.outcome", f"{result}.error.code", f"{result}.error.message"):
        assert ("IsPresent", path) in read
        assert read.index(("IsPresent", path)) < read.index(("IsString", path))
    assert read.index(("IsPresent", f"{result}.outcome")) < read.index(
        ("StringEquals", f"{result}.outcome")
    )
    assert explained["And"][2] == {"Variable": f"{result}.outcome", "StringEquals": "INVALID"}
    assert _reads(unexplained) == [
        ("IsPresent", f"{result}.outcome"),
        ("IsString", f"{result}.outcome"),
        ("StringEquals", f"{result}.outcome"),
    ]
    assert [c.get("Not") for c in unexplained["Or"]][2] == {
        "Variable": f"{result}.outcome",
        "StringEquals": "VALID",
    }
    fallback = states[unexplained["Next"]]
    assert fallback["Type"] == "Pass"
    assert fallback["Parameters"]["code"] == naming.CODE_INVALID_WITHOUT_REASON
    assert result not in json.dumps(fallback["Parameters"])
    assert fallback["Next"] == rejected["Next"] == "FailedCopySize"


@pytest.mark.parametrize("state", ["RecordFailure", "RecordFailureWithoutCopy"])
def test_the_failure_record_leaves_the_figures_the_job_store_leaves(built, state):
    """The state machine's RecordFailure and the handlers' JobStore.fail write a FAILED job
    alike: rows read, no valid counts, no totals (run both on the same record, in moto)."""
    import boto3
    from etl_handlers.aws import jobs
    from moto import mock_aws

    from etl_constructs import etl_workflow

    _, _, template = built
    parameters = _definition(template)["States"][state]["Parameters"]
    assert etl_workflow.STEP_ROW_COUNTS == jobs.STEP_ROW_COUNTS
    literal = {
        "$.failure.step": "validate",
        "$.failure.code": "MISSING_COLUMN",
        "$.failure.message": "no id",
        "$$.State.EnteredTime": "2026-11-20T12:00:00.000Z",
        "$.failedKey": "failed/x/a.csv",
        "$.copyError.Error": "S3.NoSuchKey",
    }

    def resolved(value):
        if isinstance(value, dict):
            return {
                k.removesuffix(".$"): literal[v] if k.endswith(".$") else resolved(v)
                for k, v in value.items()
            }
        return value

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="jobs",
            KeySchema=[
                {"AttributeName": "jobId", "KeyType": "HASH"},
                {"AttributeName": "fileName", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "jobId", "AttributeType": "S"},
                {"AttributeName": "fileName", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        store = jobs.JobStore("jobs", client=client)
        for job_id, validated in (("a" * 32, True), ("b" * 32, True), ("c" * 32, False)):
            store.create(
                job_id=job_id,
                file_name="raw/a.csv",
                bucket="b",
                version_id="v",
                etag="e",
                size_bytes=1,
            )
            store.start_step(job_id, "raw/a.csv", "validate")
            if validated:
                store.finish_step(
                    job_id,
                    "raw/a.csv",
                    "validate",
                    started_at=store.now(),
                    rows={"input": 3, "valid": 2, "rejected": 1},
                    totals={"EUR": {"count": 2, "debit": "1.00", "credit": "0.00"}},
                )
        by_handler = store.fail("a" * 32, "raw/a.csv", step="validate", code="X", message="y")
        client.update_item(
            TableName="jobs",
            Key={"jobId": {"S": "b" * 32}, "fileName": {"S": "raw/a.csv"}},
            UpdateExpression=parameters["UpdateExpression"],
            ConditionExpression=parameters["ConditionExpression"],
            ExpressionAttributeNames=parameters["ExpressionAttributeNames"],
            ExpressionAttributeValues=resolved(parameters["ExpressionAttributeValues"]),
        )
        client.update_item(
            TableName="jobs",
            Key={"jobId": {"S": "c" * 32}, "fileName": {"S": "raw/a.csv"}},
            UpdateExpression=parameters["UpdateExpression"],
            ConditionExpression=parameters["ConditionExpression"],
            ExpressionAttributeNames=parameters["ExpressionAttributeNames"],
            ExpressionAttributeValues=resolved(parameters["ExpressionAttributeValues"]),
        )
        by_state_machine = store.require("b" * 32)
        unvalidated = store.require("c" * 32)
    assert by_state_machine["status"] == by_handler["status"] == "FAILED"
    assert by_state_machine["rows"] == by_handler["rows"] == {"read": 3}
    assert "totals" not in by_state_machine and "totals" not in by_handler
    assert unvalidated["rows"] == {"read": 0} and "totals" not in unvalidated
    assert jobs.as_reported(by_state_machine) == by_state_machine
