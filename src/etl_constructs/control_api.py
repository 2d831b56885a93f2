"""ControlApi: the REST API that reports on jobs and starts them.

``GET /status/{jobId}``, ``POST /trigger`` and ``GET /jobs?status=..&since=..`` behind IAM
authorization, with body and parameter validation, stage throttling, JSON access logs,
X-Ray and INFO execution logging. Data trace stays OFF: it would copy whole request and
response bodies, job details of financial files included, into CloudWatch Logs.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from . import compliance, naming, runtime
from ._props import raise_if_any
from .encryption import PipelineKey
from .etl_workflow import dead_letter_queue, grant_table
from .naming import Naming

#: Longest object key S3 accepts, in bytes; the API refuses longer ones before any call.
MAX_KEY_LENGTH = 1024


class ControlApi(Construct):
    """REST API ``etl-api-{suffix}`` (stage ``prod``) and its function ``api-{suffix}``.

    Args:
        environment_suffix: appended to physical names.
        bucket, table, state_machine: what the API reads and starts.
        encryption_key: KMS key for the log groups; a :class:`PipelineKey` when omitted.
        throttling_rate_limit / throttling_burst_limit: stage-wide (50 rps, burst 100).
        log_retention: access and function logs (one week).
        create_cloud_watch_role: create the account-level role API Gateway needs to write
            execution logs (True). Set False when the account already has one.
        metrics_namespace: CloudWatch namespace of the custom metrics.
        removal_policy: of log groups, queue and the created key.

    Attributes:
        api: the RestApi. function: the API's Lambda. dead_letter_queue, access_log_group,
        url: the stage URL.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        encryption_key: kms.IKey | None = None,
        throttling_rate_limit: int = 50,
        throttling_burst_limit: int = 100,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_WEEK,
        create_cloud_watch_role: bool = True,
        metrics_namespace: str = naming.METRICS_NAMESPACE,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        names = Naming(environment_suffix)
        problems = []
        if throttling_rate_limit < 1:
            problems.append("throttling_rate_limit must be at least 1")
        if throttling_burst_limit < 1:
            problems.append("throttling_burst_limit must be at least 1")
        raise_if_any("ControlApi", problems)
        if encryption_key is None:
            encryption_key = PipelineKey(
                self, "Key", environment_suffix=environment_suffix, removal_policy=removal_policy
            ).key

        def log_group(construct_id: str, what: str) -> logs.LogGroup:
            return logs.LogGroup(
                self,
                construct_id,
                log_group_name=names.log_group(what),
                retention=log_retention,
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )

        function_logs = log_group("FunctionLogs", "lambda/api")
        self.dead_letter_queue: sqs.Queue = dead_letter_queue(
            self, "Dlq", names.dead_letter_queue(naming.API_FUNCTION)
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{names.function('api')}: read jobs, start jobs for raw/ objects",
        )
        function_logs.grant_write(role)
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
        state_machine.grant_start_execution(role)
        compliance.acknowledge_function_role(
            role,
            bucket_arn=bucket.bucket_arn,
            prefixes=(naming.RAW_PREFIX,),
            kms=bucket.encryption_key is not None or table.encryption_key is not None,
        )
        compliance.acknowledge_dead_letter_queue(self.dead_letter_queue)

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.function(naming.API_FUNCTION),
            runtime=runtime.PYTHON_RUNTIME,
            architecture=runtime.ARCHITECTURE,
            code=runtime.handler_code(),
            handler="api.handler.lambda_handler",
            memory_size=256,
            timeout=cdk.Duration.seconds(29),
            role=role,
            layers=[runtime.powertools_layer(self)],
            environment={
                naming.ENV_DATA_BUCKET: bucket.bucket_name,
                naming.ENV_JOB_TABLE: table.table_name,
                naming.ENV_JOB_INDEX: naming.JOB_INDEX_NAME,
                naming.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                "POWERTOOLS_SERVICE_NAME": names.service,
                "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            tracing=lambda_.Tracing.ACTIVE,
            log_group=function_logs,
            dead_letter_queue=self.dead_letter_queue,
            logging_format=lambda_.LoggingFormat.JSON,
        )

        self.access_log_group = log_group("AccessLogs", "api/access")
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
        self.api.root.add_resource("jobs").add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={
                f"method.request.querystring.{name}": False
                for name in ("status", "since", "limit", "cursor")
            },
        )
        self.url = self.api.url
        compliance.acknowledge_rest_api(
            self.api, cloud_watch_role=self.api.node.try_find_child("CloudWatchRole")
        )
