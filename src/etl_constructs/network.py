"""PipelineNetwork: the VPC the strict profile puts the pipeline's functions in.

Isolated subnets only (no internet gateway, no NAT gateway): the functions reach AWS through
VPC endpoints and nothing else. S3 and DynamoDB through gateway endpoints (free); every other
service the functions call through interface endpoints (billed per AZ-hour, see the README's
cost table). VPC flow logs go to an encrypted log group; the default security group is
stripped of its rules.

Every endpoint has a policy, so the endpoints are no way out to another account's data: the
gateway endpoints admit principals of this account to the pipeline's buckets and tables (or,
when none are named, to any of this account's), the interface endpoints admit principals of
this account only (to resources of this account only, for Step Functions and KMS). The
functions' security group sends HTTPS to the interface endpoints' security group and, given
their prefix-list ids, to the gateway endpoints' AWS-managed prefix lists, nothing else.

The prefix-list ids differ by region and CloudFormation cannot name them (a gateway endpoint
returns none; ``AWS::EC2::PrefixList`` is for lists of your own), so they are a prop: found
once per region with ``aws ec2 describe-managed-prefix-lists --filters
Name=prefix-list-name,Values=com.amazonaws.<region>.s3,com.amazonaws.<region>.dynamodb``
(or, in a stack with a concrete environment, ``ec2.PrefixList.from_lookup``). Looking them
up at synth would need AWS credentials and an account context, and a custom resource would
add a function and role to the template; a table of ids in this library could go stale
unseen. Without them the functions' group keeps HTTPS to any address: in isolated subnets
that reaches only the VPC and the two gateway endpoints, whose policies still apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import compliance
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.iam import ManagedPolicyRole, source_conditions
from ._core.keys import pipeline_key
from ._core.names import check_unique_names
from ._core.props import raise_if_any

#: Interface endpoints created by default, by the service name in ``com.amazonaws.<region>.<x>``.
#: The handlers call Step Functions (trigger, api) and send traces through X-Ray; Logs,
#: CloudWatch (monitoring) and KMS keep SDK calls to those services inside the VPC too
#: (Powertools metrics and logs go out through the Lambda service today, as EMF on stdout).
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = ("states", "monitoring", "logs", "xray", "kms")
_GATEWAY_ENDPOINTS = {
    "S3": ec2.GatewayVpcEndpointAwsService.S3,
    "DynamoDb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}
#: The gateway endpoints' services, as ``gateway_prefix_lists`` names them.
GATEWAY_SERVICES = ("s3", "dynamodb")
#: Interface endpoints whose policy also requires the resource to be in this account: the
#: calls the functions make there name resources of this account (StartExecution, a key).
#: The others admit this account's principals only: X-Ray and CloudWatch metrics calls name no
#: resource, and a resource condition would refuse them.
RESOURCE_SCOPED_INTERFACE_ENDPOINTS = ("states", "kms")
_PREFIX_LIST_ID = re.compile(r"^pl-[0-9a-f]{8,17}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
_CIDR = re.compile(r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-2])$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
#: EC2 actions Lambda needs to attach a function to a VPC (the EC2 part of the AWS-managed
#: AWSLambdaVPCAccessExecutionRole).
LAMBDA_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class PipelineNetwork(Construct):
    """VPC ``etl-vpc-{suffix}``: isolated subnets in two AZs, endpoints, flow logs.

    Args:
        environment_suffix: appended to physical names; required unless ``environment``
            gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix,
            pipeline key (``encryption_key``), removal policy. A prop given here too must agree
            with it.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        name: tells several networks of one environment apart (``pipeline``); it names the
            VPC and the flow-log group ``/etl/{suffix}/vpc/{name}/flow-logs`` (``etl``: or
            the name prefix).
        encryption_key: KMS key of the flow-log group; the stack's one PipelineKey of this
            environment when omitted (shared with the other constructs given none).
        cidr: the VPC's IPv4 range; one /24 isolated subnet per AZ is carved from it.
        max_azs: Availability Zones (2). Interface endpoints are billed per AZ.
        interface_endpoints: services reached through interface endpoints, by their short
            name in ``com.amazonaws.<region>.<name>``.
        flow_log_retention: how long VPC flow logs are kept (one year, PCI DSS 10.7).
        removal_policy: of the flow-log group and the created key.
        buckets / tables: the S3 buckets and DynamoDB tables the gateway endpoints admit this
            account's principals to (objects and indexes included); none named: any bucket or
            table of this account.
        gateway_prefix_lists: the region's AWS-managed prefix-list ids of the gateway
            endpoints, ``{"s3": "pl-...", "dynamodb": "pl-..."}`` (``aws ec2
            describe-managed-prefix-lists``); given, the functions' security groups send
            HTTPS only to them and to the interface endpoints, else to any address.

    Attributes:
        vpc: the VPC. endpoint_security_group: of the interface endpoints (443 from the VPC).
        endpoints: every endpoint by service name. flow_log_group. gateway_prefix_lists:
        as given (``None`` when not).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        name: str = "pipeline",
        encryption_key: kms.IKey | None = None,
        cidr: str = "10.0.0.0/16",
        max_azs: int = 2,
        interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: cdk.RemovalPolicy | None = None,
        buckets: Sequence[s3.IBucket] = (),
        tables: Sequence[dynamodb.ITable] = (),
        gateway_prefix_lists: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "PipelineNetwork",
            environment,
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        if not _NAME.match(name):
            problems.append(f"name must be lower-case letters, digits or hyphens, got {name!r}")
        if not _CIDR.match(cidr):
            problems.append(f"cidr must be an IPv4 range from /16 to /22, got {cidr!r}")
        if not 1 <= max_azs <= 6:
            problems.append(f"max_azs must be 1-6, got {max_azs}")
        unknown = [s for s in interface_endpoints if not _SERVICE.match(s)]
        if unknown:
            problems.append(f"interface_endpoints has invalid service names: {unknown}")
        if gateway_prefix_lists is not None:
            problems += _prefix_list_problems(gateway_prefix_lists)
        raise_if_any("PipelineNetwork", problems)
        check_unique_names(self)
        self.environment = env
        names = env.naming
        environment_suffix, removal_policy = env.environment_suffix, env.removal_policy
        encryption_key = env.encryption_key
        self.gateway_prefix_lists = (
            dict(gateway_prefix_lists) if gateway_prefix_lists is not None else None
        )
        encryption_key = pipeline_key(self, env)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=names.vpc(name),
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            restrict_default_security_group=True,
            gateway_endpoints={
                name: ec2.GatewayVpcEndpointOptions(service=service)
                for name, service in _GATEWAY_ENDPOINTS.items()
            },
        )
        # restrict_default_security_group: CDK's provider function, run at deployment only
        compliance.acknowledge_checkov_cdk_provider(
            self, "Custom::VpcRestrictDefaultSGCustomResourceProvider"
        )
        self.endpoints: dict[str, ec2.IVpcEndpoint] = {
            name: self.vpc.node.find_child(name) for name in _GATEWAY_ENDPOINTS
        }
        account = cdk.Stack.of(self).account
        # Gateway endpoints: this account's principals, to the named (or this account's) data.
        self.endpoints["S3"].add_to_policy(
            _endpoint_statement(
                "s3:*",
                [r for b in buckets for r in (b.bucket_arn, b.arn_for_objects("*"))] or ["*"],
                account,
                resource_account=True,
            )
        )
        self.endpoints["DynamoDb"].add_to_policy(
            _endpoint_statement(
                "dynamodb:*",
                [r for t in tables for r in (t.table_arn, f"{t.table_arn}/index/*")] or ["*"],
                account,
                resource_account=True,
            )
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description=f"{names.vpc(name)}: HTTPS from inside the VPC to the interface endpoints",
            allow_all_outbound=False,
        )
        # The literal range, not the VPC's CidrBlock attribute: rules and reviewers can read it.
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        for service in interface_endpoints:
            endpoint = self.vpc.add_interface_endpoint(
                f"{_construct_id(service)}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                open=False,
            )
            endpoint.add_to_policy(
                _endpoint_statement(
                    "*",
                    ["*"],
                    account,
                    resource_account=service in RESOURCE_SCOPED_INTERFACE_ENDPOINTS,
                )
            )
            self.endpoints[service] = endpoint

        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            log_group_name=names.log_group(f"vpc/{name}/flow-logs"),
            retention=flow_log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        flow_log_role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            # only for this account's flow logs (the flow log's id is known only once it exists)
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions=source_conditions(
                    self,
                    cdk.Stack.of(self).format_arn(
                        service="ec2", resource="vpc-flow-log", resource_name="*"
                    ),
                ),
            ),
            description=f"{names.vpc(name)}: deliver VPC flow logs to their log group",
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )


def function_security_group(
    scope: Construct, construct_id: str, vpc: ec2.IVpc
) -> ec2.SecurityGroup:
    """Security group of the pipeline's functions: no inbound, HTTPS outbound only.

    In a :class:`PipelineNetwork` given its gateway prefix lists, outbound 443 goes to the
    interface endpoints' security group and to the S3 and DynamoDB prefix lists only.
    Otherwise (no prefix lists, or a VPC of your own) it goes to any address: in isolated
    subnets the route tables reach only the VPC and the gateway endpoints.
    """
    group = ec2.SecurityGroup(
        scope,
        construct_id,
        vpc=vpc,
        description="etl-constructs functions: HTTPS to AWS endpoints only, no inbound",
        allow_all_outbound=False,
    )
    network = vpc.node.scope
    if isinstance(network, PipelineNetwork) and network.gateway_prefix_lists is not None:
        # Inline rules, set on the L1 group: CDK makes each prefix-list or group destination
        # an AWS::EC2::SecurityGroupEgress resource of its own and drops the group's inline
        # "no traffic" rule, leaving a group with no inline egress, the case in which EC2 gives
        # a new group its default allow-all egress rule. Inline, no such doubt.
        cfn = group.node.default_child
        assert isinstance(cfn, ec2.CfnSecurityGroup)
        cfn.security_group_egress = [
            _https_egress(
                "HTTPS to the interface endpoints",
                destination_security_group_id=network.endpoint_security_group.security_group_id,
            ),
            *(
                _https_egress(
                    f"HTTPS to the {service} gateway endpoint", destination_prefix_list_id=pl
                )
                for service, pl in sorted(network.gateway_prefix_lists.items())
            ),
        ]
    else:
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints")
    return group


def lambda_vpc_access_policy(scope: Construct, construct_id: str) -> iam.ManagedPolicy:
    """A customer-managed policy with the EC2 actions Lambda needs to put functions in a VPC."""
    policy = iam.ManagedPolicy(
        scope,
        construct_id,
        description="Lambda: create and remove the network interfaces of functions in the VPC",
        statements=[iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"])],
    )
    compliance.acknowledge_lambda_vpc_access(policy)
    return policy


def _https_egress(description: str, **destination: str) -> ec2.CfnSecurityGroup.EgressProperty:
    return ec2.CfnSecurityGroup.EgressProperty(
        ip_protocol="tcp", from_port=443, to_port=443, description=description, **destination
    )


def _endpoint_statement(
    action: str, resources: list[str], account: str, *, resource_account: bool
) -> iam.PolicyStatement:
    """Allow ``action`` on ``resources`` through an endpoint to principals of ``account`` (and,
    with ``resource_account``, to resources of ``account`` only)."""
    condition = {"aws:PrincipalAccount": account}
    if resource_account:
        condition["aws:ResourceAccount"] = account
    return iam.PolicyStatement(
        principals=[iam.AnyPrincipal()],
        actions=[action],
        resources=resources,
        conditions={"StringEquals": condition},
    )


def _prefix_list_problems(prefix_lists: Mapping[str, str]) -> list[str]:
    problems = []
    if set(prefix_lists) != set(GATEWAY_SERVICES):
        problems.append(
            "gateway_prefix_lists must name the prefix lists of "
            f"{' and '.join(sorted(GATEWAY_SERVICES))}, got {sorted(prefix_lists)}"
        )
    for service, value in prefix_lists.items():
        if not cdk.Token.is_unresolved(value) and not _PREFIX_LIST_ID.match(str(value)):
            problems.append(f"gateway_prefix_lists[{service!r}] is not a prefix-list id: {value!r}")
    return problems


def _construct_id(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace(".", "-").split("-"))


__all__ = [
    "DEFAULT_INTERFACE_ENDPOINTS",
    "GATEWAY_SERVICES",
    "LAMBDA_VPC_ACTIONS",
    "RESOURCE_SCOPED_INTERFACE_ENDPOINTS",
    "PipelineNetwork",
    "function_security_group",
    "lambda_vpc_access_policy",
]
