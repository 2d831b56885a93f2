"""ControlApi: the REST API that reports on jobs and starts them.

``GET /status/{jobId}``, ``POST /trigger``, ``GET /jobs?status=..&since=..`` and
``POST /jobs/{jobId}/reprocess`` behind IAM
authorization, with body and parameter validation, stage throttling, JSON access logs,
X-Ray and INFO execution logging. Data trace stays OFF: it would copy whole request and
response bodies, job details of financial files included, into CloudWatch Logs.

The strict compliance profile adds a WAF web ACL on the stage (a per-IP rate limit, AWS
managed rule groups, logs to an encrypted log group), puts the function in a VPC with reserved
concurrency and keeps logs a year. The function has no dead-letter queue: API Gateway invokes
it synchronously and hands its failures to the caller, so none could ever reach a queue.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from . import compliance as nag
from . import naming, network, runtime
from ._core.environment import PipelineEnvironment, resolve_environment
from ._core.grants import grant_table
from ._core.iam import grant_start_execution, service_role
from ._core.keys import pipeline_key
from ._core.logs import log_group as new_log_group
from ._core.logs import log_retention_of
from ._core.names import check_unique_names
from ._core.props import raise_if_any
from .compliance import Compliance
from .etl_workflow import DEFAULT_STUCK_AFTER, EtlWorkflow

#: Longest object key S3 accepts, in bytes; the API refuses longer ones before any call.
MAX_KEY_LENGTH = 1024
#: Reserved concurrency of the API function under the strict profile.
STRICT_RESERVED_CONCURRENCY = 10
#: AWS managed rule groups of the strict profile's web ACL, in evaluation order. None of them
#: carries a subscription fee; each is billed as one rule.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)

#: Requests one client IP may send in 5 minutes before the strict profile's web ACL blocks it
#: (until its rate falls below the limit again). The stage throttles all callers together
#: (50 rps); this stops one source from taking that capacity from the others. WAF's own
#: console default.
DEFAULT_WAF_RATE_LIMIT = 2000
#: What WAF accepts for a rate-based rule's limit.
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)


class ControlApi(Construct):
    """REST API ``etl-api-{suffix}`` (stage ``prod``) and its function ``api-{suffix}``.

    Args:
        environment_suffix: appended to physical names; required unless ``environment``
            gives it.
        environment: what the pipeline's constructs share (PipelineEnvironment): suffix,
            compliance, pipeline key (``encryption_key``), network (``vpc``), removal policy,
            metrics namespace. A prop given here too must agree with it.
        name_prefix: begins every physical name instead of ``etl`` (see PipelineEnvironment).
        bucket, table, state_machine: what the API reads and starts.
        encryption_key: KMS key for the log groups; its policy must let CloudWatch Logs use
            it for them, the stage's
            ``API-Gateway-Execution-Logs_*/prod`` included, as :class:`PipelineKey`'s does;
            the stack's one PipelineKey of this environment when omitted (shared with the other
            constructs given none).
        throttling_rate_limit / throttling_burst_limit: stage-wide (50 rps, burst 100).
        log_retention: access, execution, function and WAF logs (one week; one year when
            strict).
        create_cloud_watch_role: False (default) leaves API Gateway's CloudWatch role alone:
            it is one setting for the whole account and region, which API Gateway needs
            before any stage can write access or execution logs (set it once per account and
            region). True creates a role with AmazonAPIGatewayPushToCloudWatchLogs and makes
            it that setting, for every API of the account and region; the role is kept when
            the stack is deleted.
        metrics_namespace: CloudWatch namespace of the custom metrics.
        removal_policy: of log groups and the created key.
        compliance: ``standard`` or ``strict`` (WAF, VPC, reserved concurrency, managed
            policy).
        vpc: strict only: the VPC for the function, with endpoints for S3, DynamoDB, Step
            Functions and X-Ray (see PipelineNetwork); one is created when omitted, its
            endpoints limited to ``bucket`` and ``table``. A PipelineNetwork given
            ``gateway_prefix_lists`` also narrows the functions' HTTPS egress to its endpoints.
        reserved_concurrency: reserved executions of the function; none (standard) or 10
            (strict) when omitted.
        waf_rate_limit: strict only: requests one client IP may send in 5 minutes before the
            web ACL's rate-based rule blocks it (2000 when omitted; 10 to 2,000,000,000).
        stuck_after: a job in a running status for longer is shown as stuck. Taken from the
            workflow when ``state_machine`` is an :class:`EtlWorkflow`'s (its quality check
            uses the same), else 60 minutes; giving one that differs from the workflow's is
            a props problem, so the API and the quality check never answer "is this job
            stuck" differently.

    Attributes:
        stuck_after: the value the function uses.
        api: the RestApi. function: the API's Lambda. access_log_group,
        execution_log_group (``API-Gateway-Execution-Logs_{restApiId}/prod``, created here
        with retention and the key rather than left to API Gateway), url: the stage URL.
        vpc, web_acl, waf_log_group: strict only, else ``None``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        environment: PipelineEnvironment | None = None,
        name_prefix: str | None = None,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        encryption_key: kms.IKey | None = None,
        throttling_rate_limit: int = 50,
        throttling_burst_limit: int = 100,
        log_retention: logs.RetentionDays | None = None,
        create_cloud_watch_role: bool = False,
        metrics_namespace: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
        compliance: Compliance | str | None = None,
        vpc: ec2.IVpc | None = None,
        reserved_concurrency: int | None = None,
        waf_rate_limit: int | None = None,
        stuck_after: cdk.Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env, problems = resolve_environment(
            "ControlApi",
            environment,
            environment_suffix=environment_suffix,
            name_prefix=name_prefix,
            encryption_key=encryption_key,
            metrics_namespace=metrics_namespace,
            removal_policy=removal_policy,
            compliance=compliance,
            vpc=vpc,
        )
        profile, vpc, removal_policy = env.profile, env.vpc, env.removal_policy
        stuck_after, stuck_problems = _stuck_after_of(state_machine, stuck_after)
        problems += stuck_problems
        if throttling_rate_limit < 1:
            problems.append("throttling_rate_limit must be at least 1")
        if throttling_burst_limit < 1:
            problems.append("throttling_burst_limit must be at least 1")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            problems.append("reserved_concurrency must be at least 1 (0 would stop the API)")
        low, high = WAF_RATE_LIMIT_RANGE
        if waf_rate_limit is not None and not low <= waf_rate_limit <= high:
            problems.append(f"waf_rate_limit must be {low}-{high}, got {waf_rate_limit}")
        if waf_rate_limit is not None and not profile.strict:
            problems.append(
                "waf_rate_limit is used by compliance='strict' only (the standard profile "
                "has no web ACL); pass compliance='strict'"
            )
        raise_if_any("ControlApi", problems)
        check_unique_names(self)
        self.environment = env
        self.naming = names = env.naming
        environment_suffix = env.environment_suffix
        encryption_key = env.encryption_key
        self.compliance = profile
        #: When the API calls a job stuck: the same as the quality check's.
        self.stuck_after: cdk.Duration = stuck_after
        strict = profile.strict
        if reserved_concurrency is None and strict:
            reserved_concurrency = STRICT_RESERVED_CONCURRENCY
        log_retention = log_retention_of(profile, log_retention)
        encryption_key = pipeline_key(self, env)

        def log_group(construct_id: str, name: str) -> logs.LogGroup:
            return new_log_group(
                self,
                construct_id,
                name,
                retention=log_retention,
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )

        function_logs = log_group("FunctionLogs", names.log_group("lambda/api"))
        role = service_role(
            self,
            "Role",
            service="lambda.amazonaws.com",
            description=f"{names.function('api')}: read jobs, start jobs for raw/ objects",
            profile=profile,
        )
        function_logs.grant_write(role)
        security_groups = None
        self.vpc: ec2.IVpc | None = None
        if strict:
            if vpc is None:
                vpc = network.PipelineNetwork(
                    self,
                    "Network",
                    environment_suffix=environment_suffix,
                    name="api",
                    encryption_key=encryption_key,
                    removal_policy=removal_policy,
                    buckets=[bucket],
                    tables=[table],
                ).vpc
            self.vpc = vpc
            security_groups = [network.function_security_group(self, "SecurityGroup", vpc)]
            role.add_managed_policy(network.lambda_vpc_access_policy(self, "LambdaVpcAccess"))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                # HeadObject on a version needs GetObjectVersion; no object body is read.
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects(f"{naming.RAW_PREFIX}*")],
            )
        )
        grant_table(
            table,
            role,
            ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
        )
        grant_start_execution(state_machine, role)
        nag.acknowledge_function_role(
            role,
            bucket_arn=bucket.bucket_arn,
            prefixes=(naming.RAW_PREFIX,),
        )

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.function(naming.API_FUNCTION),
            runtime=runtime.PYTHON_RUNTIME,
            architecture=runtime.ARCHITECTURE,
            code=runtime.handler_code(),
            handler="etl_handlers.api.handler.lambda_handler",
            memory_size=256,
            timeout=cdk.Duration.seconds(29),
            role=role,
            layers=[runtime.powertools_layer(self)],
            environment={
                naming.ENV_DATA_BUCKET: bucket.bucket_name,
                naming.ENV_JOB_TABLE: table.table_name,
                naming.ENV_JOB_INDEX: naming.JOB_INDEX_NAME,
                naming.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                naming.ENV_STUCK_AFTER_MINUTES: str(int(stuck_after.to_minutes())),
                "POWERTOOLS_SERVICE_NAME": names.service,
                "POWERTOOLS_METRICS_NAMESPACE": env.metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            tracing=lambda_.Tracing.ACTIVE,
            log_group=function_logs,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=reserved_concurrency,
            vpc=vpc,
            security_groups=security_groups,
        )
        # API Gateway invokes it synchronously: a dead-letter queue could never receive a message.
        nag.acknowledge_synchronous_function(self.function, nag.SYNCHRONOUS_API_REASON, profile)
        nag.acknowledge_checkov(self.function, "CKV_AWS_173", nag.LAMBDA_ENV_KEY_REASON)
        if reserved_concurrency is None:
            nag.acknowledge_checkov(self.function, "CKV_AWS_115", nag.STANDARD_CONCURRENCY_REASON)
        if not strict:
            nag.acknowledge_checkov(self.function, "CKV_AWS_117", nag.STANDARD_VPC_REASON)

        self.access_log_group = log_group("AccessLogs", names.log_group("api/access"))
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=names.api,
            description="etl-constructs control API: job status, trigger, job listing",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=create_cloud_watch_role,
            # The account-level role serves every API of the account: keep it on destroy.
            cloud_watch_role_removal_policy=(
                cdk.RemovalPolicy.RETAIN if create_cloud_watch_role else None
            ),
            deploy_options=apigw.StageOptions(
                stage_name=naming.API_STAGE_NAME,
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM
            ),
        )
        # API Gateway writes execution logs to a group it names after the API and stage, and
        # creates it, without retention or key, unless it exists: create it first.
        self.execution_log_group = log_group(
            "ExecutionLogs", names.api_execution_log_group(self.api.rest_api_id)
        )
        self.api.deployment_stage.node.add_dependency(self.execution_log_group)
        # No stage cache on purpose (live statuses, POST /trigger), so nothing cached to encrypt.
        nag.acknowledge_checkov(self.api.deployment_stage, "CKV_AWS_120", nag.API_CACHE_REASON)
        validator = self.api.add_request_validator(
            "RequestValidator",
            request_validator_name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        integration = apigw.LambdaIntegration(self.function, proxy=True)

        status = self.api.root.add_resource("status").add_resource("{jobId}")
        status.add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={"method.request.path.jobId": True},
        )
        trigger_model = self.api.add_model(
            "TriggerRequest",
            content_type="application/json",
            model_name="TriggerRequest",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="TriggerRequest",
                type=apigw.JsonSchemaType.OBJECT,
                required=["key"],
                additional_properties=False,
                properties={
                    "key": apigw.JsonSchema(
                        type=apigw.JsonSchemaType.STRING,
                        min_length=len(naming.RAW_PREFIX) + 5,
                        max_length=MAX_KEY_LENGTH,
                        pattern=f"^{naming.RAW_PREFIX}",
                    )
                },
            ),
        )
        self.api.root.add_resource("trigger").add_method(
            "POST",
            integration,
            request_validator=validator,
            request_models={"application/json": trigger_model},
        )
        jobs = self.api.root.add_resource("jobs")
        jobs.add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={
                f"method.request.querystring.{name}": False
                for name in ("status", "since", "limit", "cursor")
            },
        )
        # A new attempt of a final job (no body; 409 while the job runs).
        jobs.add_resource("{jobId}").add_resource("reprocess").add_method(
            "POST",
            integration,
            request_validator=validator,
            request_parameters={"method.request.path.jobId": True},
        )
        self.url = self.api.url
        nag.acknowledge_rest_api(
            self.api,
            cloud_watch_role=self.api.node.try_find_child("CloudWatchRole"),
            profile=profile,
        )
        self.web_acl: wafv2.CfnWebACL | None = None
        self.waf_log_group: logs.LogGroup | None = None
        if strict:
            self.waf_log_group = log_group("WafLogs", names.waf_log_group)
            self.web_acl = self._web_acl(
                self.waf_log_group,
                DEFAULT_WAF_RATE_LIMIT if waf_rate_limit is None else waf_rate_limit,
            )
            nag.acknowledge_api_stage(self.api.deployment_stage)

    def _web_acl(self, log_group: logs.LogGroup, rate_limit: int) -> wafv2.CfnWebACL:
        """A regional web ACL on the stage: a per-IP rate limit, then AWS managed rule groups;
        it logs to ``log_group`` with the SigV4 ``Authorization`` header redacted."""

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=metric,
                sampled_requests_enabled=True,
            )

        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=self.naming.web_acl,
            description="etl-constructs control API: per-IP rate limit, AWS managed rule groups",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(self.naming.web_acl),
            rules=[
                # First, so a flood is cut off before the managed groups inspect each request.
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerIp",
                    priority=0,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=rate_limit,
                            evaluation_window_sec=300,
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    visibility_config=visibility("RateLimitPerIp"),
                ),
            ]
            + [
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group
                        )
                    ),
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    visibility_config=visibility(group),
                )
                for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1)
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
        # WAF wants the log group's ARN without the ":*" that its Arn attribute carries.
        log_group_arn = cdk.Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group.log_group_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WebAclLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}
                )
            ],
        )
        return acl


def _stuck_after_of(
    state_machine: sfn.IStateMachine, given: cdk.Duration | None
) -> tuple[cdk.Duration, list[str]]:
    """The API's ``stuck_after``: the workflow's when ``state_machine`` belongs to an
    :class:`EtlWorkflow`, else ``given`` or the default; a ``given`` that disagrees with the
    workflow's is a problem."""
    owner = state_machine.node.scope
    workflow = owner if isinstance(owner, EtlWorkflow) else None
    if workflow is None:
        return given or DEFAULT_STUCK_AFTER, []
    if given is not None and given.to_minutes() != workflow.stuck_after.to_minutes():
        return workflow.stuck_after, [
            f"stuck_after is {given.to_human_string()} but the workflow of state_machine "
            f"uses {workflow.stuck_after.to_human_string()}: leave stuck_after out (the "
            "API takes the workflow's) or pass the same value to both"
        ]
    return workflow.stuck_after, []
