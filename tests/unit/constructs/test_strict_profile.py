"""What the strict compliance profile adds to each construct, and what it refuses."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from etl_constructs import (
    Compliance,
    ControlApi,
    EtlWorkflow,
    FunctionSettings,
    IngestionBucket,
    MetadataStore,
    PipelineKey,
    PipelineNetwork,
    PropsError,
    compliance,
)
from etl_constructs._core.iam import ManagedPolicyRole
from etl_constructs.control_api import DEFAULT_WAF_RATE_LIMIT, MANAGED_RULE_GROUPS
from etl_constructs.etl_workflow import STRICT_RESERVED_CONCURRENCY, THROTTLING_ERROR
from etl_constructs.network import DEFAULT_INTERFACE_ENDPOINTS, LAMBDA_VPC_ACTIONS

from .builders import PREFIX_LISTS, build_pipeline, new_stack

FUNCTIONS = ("trigger", "validator", "transformer", "enricher", "quality-check")
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _stack(name: str = "Strict") -> cdk.Stack:
    return new_stack(name)


def _pipeline(stack: cdk.Stack, *, shared_network: bool = True, **workflow_props):
    """Strict constructs as an app would compose them: one pipeline key, one network."""
    p = build_pipeline(
        stack,
        compliance=Compliance.STRICT,
        pipeline_key=True,
        network="stores" if shared_network else None,
        workflow_props=workflow_props,
    )
    return p.network, p.ingestion, p.store, p.workflow, p.api


@pytest.fixture(scope="module")
def strict():
    stack = _stack()
    network, ingestion, store, workflow, api = _pipeline(stack)
    return stack, network, ingestion, store, workflow, api, Template.from_stack(stack)


def _functions(template: Template) -> dict[str, dict]:
    return {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "FunctionName" in f["Properties"]
    }


def _lid(stack: cdk.Stack, construct) -> str:
    element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    return stack.get_logical_id(element)


# -- the profile itself -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["strict", "STRICT", " Strict ", Compliance.STRICT])
def test_profile_names_parse(value):
    assert Compliance.of(value) is Compliance.STRICT
    assert Compliance.of(value).strict


def test_unknown_profile_names_the_allowed_ones():
    message = (
        r"compliance profile 'paranoid' is unknown: use 'standard' or 'strict' \(in any case\)$"
    )
    with pytest.raises(compliance.UnknownProfileError, match=message):
        Compliance.of("paranoid")
    with pytest.raises(compliance.UnknownProfileError, match=message):
        Compliance("paranoid")  # the enum's own call: the same parse and message
    with pytest.raises(compliance.UnknownProfileError, match=message):
        compliance.add_nag_packs(cdk.App(), "paranoid")


@pytest.mark.parametrize("value", ["STRICT", "Strict", " strict "])
def test_the_enum_itself_parses_any_case(value):
    assert Compliance(value) is Compliance.STRICT


def test_strict_adds_the_pci_and_nist_packs():
    app = cdk.App()
    assert [type(p).__name__ for p in compliance.nag_packs(app)] == [
        "AwsSolutionsChecks",
        "ServerlessChecks",
    ]
    assert [type(p).__name__ for p in compliance.nag_packs(app, "strict")] == [
        "AwsSolutionsChecks",
        "ServerlessChecks",
        "PCIDSS321Checks",
        "NIST80053R5Checks",
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda s: IngestionBucket(s, "B", environment_suffix="dev", compliance="lax"),
        lambda s: MetadataStore(s, "T", environment_suffix="dev", compliance="lax"),
    ],
    ids=["IngestionBucket", "MetadataStore"],
)
def test_a_bad_profile_is_a_props_error(build):
    with pytest.raises(
        PropsError, match=r"compliance profile 'lax' is unknown: use 'standard' or 'strict'"
    ):
        build(_stack())


def test_constructs_take_a_profile_name_in_any_case():
    ingestion = IngestionBucket(_stack(), "B", environment_suffix="dev", compliance="STRICT")
    assert ingestion.environment.compliance is Compliance.STRICT
    assert ingestion.encryption_key is not None  # strict: a customer-managed key


# -- keys -------------------------------------------------------------------------------------


def test_bucket_and_table_use_a_rotated_customer_key(strict):
    stack, _, ingestion, store, _, _, template = strict
    bucket_key = _lid(stack, ingestion.encryption_key)
    (data,) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": "etl-data-bucket-dev"}}
    ).values()
    sse = data["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [bucket_key, "Arn"]},
    }
    assert sse["BucketKeyEnabled"] is True
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    table_key = table["Properties"]["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0]
    assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"
    keys = template.find_resources("AWS::KMS::Key")
    for lid in (bucket_key, table_key):
        assert keys[lid]["Properties"]["EnableKeyRotation"] is True
    assert store.table.encryption_key is not None


def test_queues_and_log_groups_use_the_pipeline_key_and_keep_a_year(strict):
    stack, _, _, _, workflow, _, template = strict
    key = _lid(stack, workflow.encryption_key)
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 2  # the trigger's and the quality check's: invoked asynchronously
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
        assert "SqsManagedSseEnabled" not in queue["Properties"]
    groups = template.find_resources("AWS::Logs::LogGroup")
    for group in groups.values():
        assert "KmsKeyId" in group["Properties"]
        assert group["Properties"]["RetentionInDays"] == 365
    names = {json.dumps(g["Properties"]["LogGroupName"]) for g in groups.values()}
    assert '"aws-waf-logs-etl-dev"' in names
    assert any("API-Gateway-Execution-Logs_" in name for name in names)
    assert '"/etl/dev/vpc/pipeline/flow-logs"' in names


def test_function_roles_may_use_the_queue_key_to_dead_letter(strict):
    stack, _, _, _, workflow, _, template = strict
    key = {"Fn::GetAtt": [_lid(stack, workflow.encryption_key), "Arn"]}
    for base in FUNCTIONS:
        role = workflow.functions[base].role
        (policy,) = template.find_resources(
            "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": _lid(stack, role)}]}}
        ).values()
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        # only functions with a dead-letter queue get its key (one statement may name the
        # data key too)
        granted = any(
            s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
            and s["Effect"] == "Allow"
            and key in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            for s in statements
        )
        assert granted is (base in workflow.dead_letter_queues), base


def test_the_pipeline_key_lets_eventbridge_and_waf_logging_use_it(stack, template_of):
    PipelineKey(stack, "Key", environment_suffix="dev")
    (key,) = template_of(stack).find_resources("AWS::KMS::Key").values()
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    events = statements["AllowEventBridgeToUseEncryptedDeadLetterQueues"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert events["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    (queues,) = events["Condition"]["ArnLike"].values()
    assert queues == "arn:aws:sqs:eu-west-1:123456789012:*-dlq-dev"
    logs_statement = statements["AllowCloudWatchLogsForPipelineLogGroups"]
    (groups,) = logs_statement["Condition"]["ArnLike"].values()
    assert json.dumps(groups).count("log-group:") == 4
    assert "log-group:aws-waf-logs-etl-dev" in json.dumps(groups)
    # the API stage's execution logs, whose group name carries the REST API's id
    assert "log-group:API-Gateway-Execution-Logs_*/prod" in json.dumps(groups)


# -- network ----------------------------------------------------------------------------------


def test_network_is_isolated_with_endpoints_and_flow_logs(strict):
    stack, network, *_, template = strict
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert all(not s["Properties"]["MapPublicIpOnLaunch"] for s in subnets.values())
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    services = {
        json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].rstrip('"]}'): e["Properties"]
        for e in endpoints.values()
    }
    assert {s for s, p in services.items() if p["VpcEndpointType"] == "Gateway"} == {
        "s3",
        "dynamodb",
    }
    interface = {s for s, p in services.items() if p["VpcEndpointType"] == "Interface"}
    assert interface == set(DEFAULT_INTERFACE_ENDPOINTS) >= {"states", "xray", "logs", "kms"}
    sg = {"Fn::GetAtt": [_lid(stack, network.endpoint_security_group), "GroupId"]}
    for service in interface:
        assert services[service]["PrivateDnsEnabled"] is True
        assert services[service]["SecurityGroupIds"] == [sg]
    # endpoint group: HTTPS in from the VPC's own range, nothing out
    group = template.find_resources("AWS::EC2::SecurityGroup")[sg["Fn::GetAtt"][0]]["Properties"]
    (ingress,) = group["SecurityGroupIngress"]
    assert (ingress["CidrIp"], ingress["FromPort"], ingress["ToPort"]) == ("10.0.0.0/16", 443, 443)
    assert group["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"  # CDK's "no egress"
    (flow_log,) = template.find_resources("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceType"] == "VPC"
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["ResourceId"] == {"Ref": _lid(stack, network.vpc)}
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_network_props_are_checked_together():
    with pytest.raises(PropsError) as raised:
        PipelineNetwork(
            _stack(),
            "Network",
            environment_suffix="dev",
            cidr="10.0.0.0/8",
            name="Pipeline!",
            max_azs=0,
            interface_endpoints=("states", "Not A Service"),
        )
    message = str(raised.value)
    assert "cidr must be an IPv4 range from /16 to /22" in message
    assert "max_azs must be 1-6" in message
    assert "name must be lower-case letters" in message
    assert "'Not A Service'" in message


def test_interface_endpoints_and_range_can_be_chosen(stack, template_of):
    PipelineNetwork(
        stack,
        "Network",
        environment_suffix="dev",
        cidr="10.42.0.0/20",
        interface_endpoints=("states", "xray"),
    )
    template = template_of(stack)
    endpoints = template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    assert len(endpoints) == 2
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.42.0.0/20"})


# -- functions --------------------------------------------------------------------------------


def test_every_function_runs_in_the_vpc_with_reserved_concurrency(strict):
    stack, network, _, _, workflow, api, template = strict
    functions = _functions(template)
    assert api.vpc is network.vpc
    assert set(functions) == {f"{base}-dev" for base in FUNCTIONS} | {"api-dev"}
    expected = {f"{base}-dev": n for base, n in STRICT_RESERVED_CONCURRENCY.items()}
    expected["api-dev"] = 10
    subnets = [
        {"Ref": _lid(stack, s.node.find_child("Subnet"))} for s in network.vpc.isolated_subnets
    ]
    for name, props in functions.items():
        assert props["ReservedConcurrentExecutions"] == expected[name], name
        assert props["VpcConfig"]["SubnetIds"] == subnets, name
        (group,) = props["VpcConfig"]["SecurityGroupIds"]
        assert group["Fn::GetAtt"][1] == "GroupId"
    assert workflow.vpc is network.vpc


def _egress(template: Template, stack: cdk.Stack, group) -> list[dict]:
    """Every egress rule of ``group``: inline ones and SecurityGroupEgress resources."""
    lid = _lid(stack, group)
    rules = list(
        template.find_resources("AWS::EC2::SecurityGroup")[lid]["Properties"].get(
            "SecurityGroupEgress", []
        )
    )
    for rule in template.find_resources("AWS::EC2::SecurityGroupEgress").values():
        props = dict(rule["Properties"])
        if props.pop("GroupId") == {"Fn::GetAtt": [lid, "GroupId"]}:
            rules.append(props)
    return rules


def test_function_security_groups_send_https_to_the_endpoints_only(strict):
    """No route to anywhere else: the interface endpoints' group and the gateway endpoints'
    prefix lists, on 443, and nothing inbound."""
    stack, network, _, _, workflow, api, template = strict
    endpoint_group = {"Fn::GetAtt": [_lid(stack, network.endpoint_security_group), "GroupId"]}
    for construct in (workflow.security_group, api.function.connections.security_groups[0]):
        props = template.find_resources("AWS::EC2::SecurityGroup")[_lid(stack, construct)]
        assert "SecurityGroupIngress" not in props["Properties"]
        rules = _egress(template, stack, construct)
        assert all(
            (r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in rules
        )
        destinations = [
            r.get("DestinationPrefixListId") or r.get("DestinationSecurityGroupId") for r in rules
        ]
        assert sorted(destinations, key=json.dumps) == sorted(
            [PREFIX_LISTS["s3"], PREFIX_LISTS["dynamodb"], endpoint_group], key=json.dumps
        )
        assert not any("CidrIp" in r for r in rules)
    # all inline: a group whose egress rules are all separate resources has no inline rule,
    # and EC2 gives such a group its default allow-all egress
    template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)


def test_without_prefix_lists_functions_keep_https_to_any_address():
    """A network not given its prefix lists, and a VPC of your own: the route tables decide."""
    stack = _stack()
    _pipeline(stack, shared_network=False)
    other = _stack("OwnVpc")
    own = ec2.Vpc(other, "Vpc", nat_gateways=0, max_azs=2)
    ingestion = IngestionBucket(other, "Ingestion", environment_suffix="dev", compliance="strict")
    store = MetadataStore(other, "Metadata", environment_suffix="dev", compliance="strict")
    EtlWorkflow(
        other,
        "Workflow",
        environment_suffix="dev",
        bucket=ingestion.bucket,
        table=store.table,
        compliance="strict",
        vpc=own,
    )
    for template in (Template.from_stack(stack), Template.from_stack(other)):
        template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)
        for group in template.find_resources(
            "AWS::EC2::SecurityGroup",
            {
                "Properties": {
                    "GroupDescription": Match.string_like_regexp("etl-constructs functions")
                }
            },
        ).values():
            (rule,) = group["Properties"]["SecurityGroupEgress"]
            assert (rule["CidrIp"], rule["FromPort"], rule["ToPort"]) == ("0.0.0.0/0", 443, 443)


def _policies(template: Template) -> dict[str, dict]:
    """Each endpoint's policy by the service's short name (``s3``, ``states``...)."""
    return {
        json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].rstrip('"]}'): e["Properties"][
            "PolicyDocument"
        ]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
    }


ACCOUNT_ONLY = {"aws:PrincipalAccount": "123456789012", "aws:ResourceAccount": "123456789012"}


def test_gateway_endpoints_admit_this_account_to_the_pipelines_bucket_and_table(strict):
    """No way out through S3 or DynamoDB to another account's bucket or table."""
    stack, _, ingestion, store, _, _, template = strict
    policies = _policies(template)
    bucket = {"Fn::GetAtt": [_lid(stack, ingestion.bucket), "Arn"]}
    table = {"Fn::GetAtt": [_lid(stack, store.dynamodb_table), "Arn"]}
    (s3_statement,) = policies["s3"]["Statement"]
    assert s3_statement["Principal"] == {"AWS": "*"}
    assert s3_statement["Action"] == "s3:*"
    assert s3_statement["Resource"] == [
        bucket,
        {"Fn::Join": ["", [bucket, "/*"]]},
    ]
    assert s3_statement["Condition"] == {"StringEquals": ACCOUNT_ONLY}
    (ddb_statement,) = policies["dynamodb"]["Statement"]
    assert ddb_statement["Action"] == "dynamodb:*"
    assert ddb_statement["Resource"] == [table, {"Fn::Join": ["", [table, "/index/*"]]}]
    assert ddb_statement["Condition"] == {"StringEquals": ACCOUNT_ONLY}


def test_interface_endpoints_admit_this_accounts_principals_only(strict):
    *_, template = strict
    policies = _policies(template)
    for service in DEFAULT_INTERFACE_ENDPOINTS:
        (statement,) = policies[service]["Statement"]
        assert (statement["Action"], statement["Resource"]) == ("*", "*")
        conditions = statement["Condition"]["StringEquals"]
        assert conditions["aws:PrincipalAccount"] == "123456789012", service
        # resources too where every call names one (StartExecution, a key); X-Ray and
        # metrics calls name none, and a resource condition would refuse them
        assert ("aws:ResourceAccount" in conditions) is (service in ("states", "kms")), service


def test_a_network_without_named_data_admits_any_of_this_accounts_buckets_and_tables(
    stack, template_of
):
    PipelineNetwork(stack, "Network", environment_suffix="dev")
    policies = _policies(template_of(stack))
    for service in ("s3", "dynamodb"):
        (statement,) = policies[service]["Statement"]
        assert statement["Resource"] == "*"
        assert statement["Condition"] == {"StringEquals": ACCOUNT_ONLY}


def test_a_constructs_own_network_admits_its_bucket_and_table():
    stack = _stack()
    _, ingestion, _, _, _ = _pipeline(stack, shared_network=False)
    template = Template.from_stack(stack)
    bucket = _lid(stack, ingestion.bucket)
    for endpoint in template.find_resources("AWS::EC2::VPCEndpoint").values():
        if "s3" in json.dumps(endpoint["Properties"]["ServiceName"]):
            (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
            assert statement["Resource"][0] == {"Fn::GetAtt": [bucket, "Arn"]}


def test_gateway_prefix_lists_are_checked():
    with pytest.raises(PropsError) as raised:
        PipelineNetwork(
            _stack(),
            "Network",
            environment_suffix="dev",
            gateway_prefix_lists={"s3": "sg-12345678", "sqs": "pl-12345678"},
        )
    message = str(raised.value)
    assert "gateway_prefix_lists must name the prefix lists of dynamodb and s3" in message
    assert "gateway_prefix_lists['s3'] is not a prefix-list id: 'sg-12345678'" in message


def test_no_inline_policies_and_one_managed_policy_per_role(strict):
    stack, _, _, _, workflow, api, template = strict
    template.resource_count_is("AWS::IAM::Policy", 0)
    roles = [fn.role for fn in workflow.functions.values()] + [
        api.function.role,
        workflow.state_machine.role,
    ]
    for role in roles:
        assert isinstance(role, ManagedPolicyRole)
        owned = template.find_resources(
            "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": _lid(stack, role)}]}}
        )
        assert role.managed_policy is not None
        own = _lid(stack, role.managed_policy)
        if role is workflow.state_machine.role:
            # plus the Distributed Map's rights on its child executions, kept apart: inside
            # the role's own policy they would make the state machine depend on itself
            dmap = workflow.state_machine.node.find_child("DistributedMapPolicy")
            assert set(owned) == {own, _lid(stack, dmap)}
        else:
            assert set(owned) == {own}, role.node.path


def test_functions_get_ec2_interface_actions_from_a_managed_policy(strict):
    stack, _, _, _, workflow, api, template = strict
    access = template.find_resources(
        "AWS::IAM::ManagedPolicy",
        {"Properties": {"PolicyDocument": {"Statement": [Match.object_like({"Resource": "*"})]}}},
    )
    assert len(access) == 2  # one per construct: the workflow's and the API's
    for policy in access.values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert sorted(statement["Action"]) == sorted(LAMBDA_VPC_ACTIONS)
        assert not any(a.startswith("logs:") for a in statement["Action"])
    roles = template.find_resources("AWS::IAM::Role")
    for fn in [*workflow.functions.values(), api.function]:
        arns = roles[_lid(stack, fn.role)]["Properties"]["ManagedPolicyArns"]
        assert len(arns) == 1 and arns[0]["Ref"] in access


def test_each_function_depends_on_its_managed_policy(strict):
    stack, _, _, _, workflow, _, template = strict
    functions = template.find_resources("AWS::Lambda::Function")
    for fn in workflow.functions.values():
        depends = functions[_lid(stack, fn)]["DependsOn"]
        assert _lid(stack, fn.role.managed_policy) in depends


def test_throttled_steps_wait_for_their_reserved_executions(strict):
    _, _, _, _, _, _, template = strict
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    states = json.loads("".join(p if isinstance(p, str) else "ARN" for p in parts))["States"]
    for name in ("Validate", "Transform", "Enrich"):
        throttled, transient = states[name]["Retry"]
        assert throttled["ErrorEquals"] == [THROTTLING_ERROR]
        assert throttled["MaxAttempts"] == 8 and throttled["JitterStrategy"] == "FULL"
        assert "TransientError" in transient["ErrorEquals"]


def _task_states(states: dict) -> list[tuple[str, dict]]:
    """Every state of an ASL ``States`` map, inside Map processors and Parallel branches too."""
    found = []
    for name, state in states.items():
        found.append((name, state))
        for inner in (state.get("ItemProcessor"), state.get("Iterator")):
            if inner:
                found += _task_states(inner["States"])
        for branch in state.get("Branches", []):
            found += _task_states(branch["States"])
    return found


def test_no_error_name_is_retried_by_two_retriers_of_one_task(strict):
    """Step Functions uses the first retrier that names an error: a second one naming it
    again is dead configuration that reads as if it applied."""
    _, _, _, _, _, _, template = strict
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    states = json.loads("".join(p if isinstance(p, str) else "ARN" for p in parts))["States"]
    retried = [(name, state["Retry"]) for name, state in _task_states(states) if "Retry" in state]
    assert {"Validate", "Transform", "Enrich"} <= {name for name, _ in retried}
    for name, retriers in retried:
        errors = [error for retrier in retriers for error in retrier["ErrorEquals"]]
        assert len(errors) == len(set(errors)), (name, errors)


def test_state_machine_role_may_use_the_data_key_for_the_failure_copy(strict):
    stack, _, ingestion, _, workflow, _, template = strict
    role = workflow.state_machine.role
    policy = template.find_resources("AWS::IAM::ManagedPolicy")[_lid(stack, role.managed_policy)]
    key = {"Fn::GetAtt": [_lid(stack, ingestion.encryption_key), "Arn"]}
    kms_actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == key
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= kms_actions


def test_reserved_concurrency_can_be_overridden_and_zero_is_refused():
    stack = _stack()
    _pipeline(
        stack,
        function_settings={
            "validator": FunctionSettings(
                memory_size=2048, timeout=cdk.Duration.minutes(10), reserved_concurrency=25
            )
        },
    )
    functions = _functions(Template.from_stack(stack))
    assert functions["validator-dev"]["ReservedConcurrentExecutions"] == 25
    assert functions["transformer-dev"]["ReservedConcurrentExecutions"] == 10
    with pytest.raises(PropsError, match=r"\['enricher'\].reserved_concurrency must be at least 1"):
        _pipeline(
            _stack(),
            function_settings={
                "enricher": FunctionSettings(
                    memory_size=1024, timeout=cdk.Duration.minutes(1), reserved_concurrency=0
                )
            },
        )


def test_without_a_vpc_each_construct_builds_its_own_network():
    stack = _stack()
    _, _, _, workflow, api = _pipeline(stack, shared_network=False)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPC", 2)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    assert workflow.vpc.node.path.startswith(workflow.node.path)
    assert api.vpc.node.path.startswith(api.node.path)
    flow_logs = {
        g["Properties"]["LogGroupName"]
        for g in template.find_resources("AWS::Logs::LogGroup").values()
        if "flow-logs" in g["Properties"]["LogGroupName"]
    }
    assert flow_logs == {"/etl/dev/vpc/workflow/flow-logs", "/etl/dev/vpc/api/flow-logs"}
    vpcs = template.find_resources("AWS::EC2::VPC").values()
    names = {t["Value"] for v in vpcs for t in v["Properties"]["Tags"] if t["Key"] == "Name"}
    assert names == {"etl-workflow-vpc-dev", "etl-api-vpc-dev"}


def test_vpc_is_refused_outside_the_strict_profile():
    stack = _stack()
    network = PipelineNetwork(stack, "Network", environment_suffix="dev")
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    with pytest.raises(PropsError, match="vpc is used by compliance='strict' only"):
        EtlWorkflow(
            stack,
            "Workflow",
            environment_suffix="dev",
            bucket=ingestion.bucket,
            table=store.table,
            vpc=network.vpc,
        )


# -- storage ----------------------------------------------------------------------------------


def test_table_has_a_daily_backup_plan_in_a_retained_encrypted_vault(strict):
    stack, _, _, store, _, _, template = strict
    (plan,) = template.find_resources("AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert plan["Properties"]["BackupPlan"]["BackupPlanName"] == "etl-metadata-backup-dev"
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    (selection,) = template.find_resources("AWS::Backup::BackupSelection").values()
    assert selection["Properties"]["BackupSelection"]["Resources"] == [
        {"Fn::GetAtt": [_lid(stack, store.dynamodb_table), "Arn"]}
    ]
    (vault,) = template.find_resources("AWS::Backup::BackupVault").values()
    assert vault["DeletionPolicy"] == "Retain"
    assert vault["Properties"]["EncryptionKeyArn"] == {
        "Fn::GetAtt": [_lid(stack, store.table.encryption_key), "Arn"]
    }
    # a re-created environment never collides with the vault its predecessor kept
    assert "AWS::StackId" in json.dumps(vault["Properties"]["BackupVaultName"])
    assert store.backup_plan is not None and store.backup_vault is not None


def test_standard_table_has_no_backup_plan_and_no_customer_key(stack, template_of):
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    template = template_of(stack)
    template.resource_count_is("AWS::Backup::BackupPlan", 0)
    template.resource_count_is("AWS::KMS::Key", 0)
    assert store.backup_plan is None


def test_strict_needs_a_customer_key_on_what_you_bring(stack):
    plain_bucket = s3.Bucket.from_bucket_name(stack, "Plain", "landing")
    with pytest.raises(PropsError, match="needs existing_bucket_obj with its encryption_key"):
        IngestionBucket(
            stack,
            "Ingestion",
            environment_suffix="dev",
            existing_bucket_obj=plain_bucket,
            compliance="strict",
        )
    plain_table = dynamodb.Table.from_table_name(stack, "PlainTable", "jobs")
    with pytest.raises(PropsError, match="needs existing_table_obj with its encryption_key"):
        MetadataStore(
            stack,
            "Metadata",
            environment_suffix="dev",
            existing_table_obj=plain_table,
            compliance="strict",
        )


# -- API --------------------------------------------------------------------------------------


def test_waf_web_acl_with_managed_rule_groups_on_the_stage(strict):
    stack, _, _, _, _, api, template = strict
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    props = acl["Properties"]
    assert props["Name"] == "etl-api-acl-dev"
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    managed = [r for r in props["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]]
    groups = [r["Statement"]["ManagedRuleGroupStatement"] for r in managed]
    assert [g["Name"] for g in groups] == list(MANAGED_RULE_GROUPS)
    assert {g["VendorName"] for g in groups} == {"AWS"}
    assert all(r["OverrideAction"] == {"None": {}} for r in managed)
    priorities = [r["Priority"] for r in props["Rules"]]
    assert len(set(priorities)) == len(priorities)
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    arn = json.dumps(association["Properties"]["ResourceArn"])
    assert _lid(stack, api.api) in arn
    assert _lid(stack, api.api.deployment_stage) in arn
    assert association["Properties"]["WebACLArn"] == {
        "Fn::GetAtt": [_lid(stack, api.web_acl), "Arn"]
    }


def _rate_rules(template: Template) -> list[dict]:
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    return [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]


def test_waf_blocks_an_ip_above_its_rate_limit(strict):
    *_, template = strict
    (rule,) = _rate_rules(template)
    assert rule["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": DEFAULT_WAF_RATE_LIMIT,
        "EvaluationWindowSec": 300,
    }
    assert rule["Action"] == {"Block": {}}
    assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True
    assert rule["VisibilityConfig"]["MetricName"]
    assert 100 <= DEFAULT_WAF_RATE_LIMIT <= 10_000


def test_waf_rate_limit_can_be_tuned_within_what_waf_accepts():
    stack = _stack()
    _, ingestion, store, workflow, _ = _pipeline(stack)

    def api(scope, construct_id, **props):
        return ControlApi(
            scope,
            construct_id,
            environment_suffix="dev",
            bucket=ingestion.bucket,
            table=store.table,
            state_machine=workflow.state_machine,
            compliance="strict",
            vpc=workflow.vpc,
            encryption_key=workflow.encryption_key,
            **props,
        )

    api(stack, "Tuned", waf_rate_limit=500, name_prefix="tuned")  # a second API: its own names
    limits = [
        r["Statement"]["RateBasedStatement"]["Limit"]
        for acl in Template.from_stack(stack).find_resources("AWS::WAFv2::WebACL").values()
        for r in acl["Properties"]["Rules"]
        if "RateBasedStatement" in r["Statement"]
    ]
    assert sorted(limits) == [500, DEFAULT_WAF_RATE_LIMIT]  # _pipeline's API has the default
    with pytest.raises(PropsError, match="waf_rate_limit must be 10-2000000000"):
        api(stack, "TooLow", waf_rate_limit=9)
    standard = build_pipeline(_stack("Standard"), api=False)
    with pytest.raises(PropsError, match="waf_rate_limit is used by compliance='strict' only"):
        ControlApi(
            standard.stack,
            "Api",
            environment_suffix="dev",
            bucket=standard.ingestion.bucket,
            table=standard.store.table,
            state_machine=standard.workflow.state_machine,
            waf_rate_limit=500,
        )


def test_waf_logs_go_to_their_log_group_without_the_signature(strict):
    stack, _, _, _, _, api, template = strict
    (logging,) = template.find_resources("AWS::WAFv2::LoggingConfiguration").values()
    props = logging["Properties"]
    (destination,) = props["LogDestinationConfigs"]
    rendered = json.dumps(destination)
    assert ":log-group:" in rendered and _lid(stack, api.waf_log_group) in rendered
    assert not rendered.endswith(':*"]]}')  # WAF refuses the ":*" form of the ARN
    assert props["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}]


def test_standard_api_has_no_waf_and_keeps_the_apig3_acknowledgement(template_of):
    pipeline = build_pipeline(_stack("Standard"))
    workflow, api = pipeline.workflow, pipeline.api
    template = template_of(pipeline.stack)
    for kind in ("AWS::WAFv2::WebACL", "AWS::EC2::VPC", "AWS::EC2::VPCEndpoint"):
        template.resource_count_is(kind, 0)
    assert api.web_acl is None and workflow.vpc is None
    assert "AwsSolutions-APIG3" in _acknowledged(api.api)


def test_strict_api_does_not_acknowledge_waf(strict):
    *_, api, _ = strict
    acknowledged = _acknowledged(api.api)
    assert "AwsSolutions-APIG3" not in acknowledged
    assert "AwsSolutions-COG4" in acknowledged


def _acknowledged(construct) -> set[str]:
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    return {
        finding.split("::", 1)[-1]
        for entry in construct.node.metadata
        if entry.type == key
        for finding in entry.data
    }


# -- ManagedPolicyRole ------------------------------------------------------------------------


def test_managed_policy_role_collects_cdk_grants_in_its_own_policy(stack, template_of):
    role = ManagedPolicyRole(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    group = logs.LogGroup(stack, "Logs")
    group.grant_write(role)
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:x"]))
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
        role=role,
        tracing=lambda_.Tracing.ACTIVE,
    )
    template = template_of(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {"logs:PutLogEvents", "s3:GetObject", "xray:PutTraceSegments"} <= actions
    assert policy["Properties"]["Roles"] == [{"Ref": stack.get_logical_id(role.node.default_child)}]


def _states(template: Template) -> dict:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "ARN" for p in parts))["States"]


def test_state_machine_history_uses_the_customer_key_and_logs_carry_no_execution_data(strict):
    stack, _, _, _, workflow, _, template = strict
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    encryption = machine["Properties"]["EncryptionConfiguration"]
    assert encryption["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert encryption["KmsKeyId"] == {"Fn::GetAtt": [_lid(stack, workflow.encryption_key), "Arn"]}
    assert machine["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_standard_state_machine_keeps_execution_data_in_its_logs(built_standard):
    (machine,) = built_standard.find_resources("AWS::StepFunctions::StateMachine").values()
    assert "EncryptionConfiguration" not in machine["Properties"]
    assert machine["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is True


@pytest.fixture(scope="module")
def built_standard(standard_workflow):
    return standard_workflow[1]


def test_maps_run_no_more_parts_than_the_steps_reserved_concurrency(strict):
    *_, template = strict
    states = _states(template)
    reserved = min(STRICT_RESERVED_CONCURRENCY[f] for f in ("validator", "transformer", "enricher"))
    assert states["ValidateBatches"]["MaxConcurrency"] == reserved
    assert states["ProcessParts"]["MaxConcurrency"] == reserved


def test_a_map_concurrency_above_the_reserved_one_is_a_props_error():
    from etl_constructs import LargeFiles

    with pytest.raises(PropsError, match=r"max_concurrency \(40\) must not exceed .* \(10\)"):
        _pipeline(_stack(), large_files=LargeFiles(max_concurrency=40))
    stack = _stack()
    _pipeline(
        stack,
        large_files=LargeFiles(max_concurrency=20),
        function_settings={
            base: FunctionSettings(
                memory_size=1024, timeout=cdk.Duration.minutes(10), reserved_concurrency=20
            )
            for base in ("validator", "transformer", "enricher")
        },
    )
    assert _states(Template.from_stack(stack))["ProcessParts"]["MaxConcurrency"] == 20


def test_who_starts_executions_may_use_the_state_machines_key_for_it_only(strict):
    stack, _, _, _, workflow, api, template = strict
    key = {"Fn::GetAtt": [_lid(stack, workflow.encryption_key), "Arn"]}
    machine = {"Ref": _lid(stack, workflow.state_machine)}
    for role in (workflow.functions["trigger"].role, api.function.role):
        (policy,) = template.find_resources(
            "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": _lid(stack, role)}]}}
        ).values()
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": machine}
            },
            "Effect": "Allow",
            "Resource": key,
        } in statements
