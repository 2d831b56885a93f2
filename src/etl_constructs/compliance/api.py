"""API Gateway: IAM authorization, the standard profile without WAF, the stage."""

from __future__ import annotations

from constructs import IConstruct

from .findings import acknowledge, strict_findings
from .profile import Compliance

COGNITO_REASON = (
    "The API uses IAM (SigV4) authorization: its callers are AWS principals of the data "
    "platform, not end users, so a Cognito user pool has no one to authenticate."
)


WAF_REASON = (
    "Standard profile: the API is IAM-authorized, regional and throttled per stage; the "
    "strict compliance profile attaches a WAF web ACL."
)


API_CACHE_REASON = (
    "No stage cache, so no API data at rest to encrypt: the API serves live job status and "
    "starts jobs; cached answers would show stale statuses (a FAILED job as still running), "
    "POST /trigger must never be cached, and IAM-authorized responses are per caller."
)


API_CLIENT_CERT_REASON = (
    "Every integration is an AWS_PROXY call to Lambda, made by API Gateway with IAM "
    "credentials over TLS and allowed only by the function's resource policy for this API; "
    "API Gateway presents client certificates only to HTTP backends, so one would "
    "authenticate nothing here."
)


APIGW_LOGS_ROLE_REASON = (
    "API Gateway's account-level CloudWatch role must write execution and access logs of every "
    "API in the account and region; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS "
    "documents for exactly that role."
)


def acknowledge_rest_api(
    api: IConstruct,
    *,
    cloud_watch_role: IConstruct | None,
    profile: Compliance = Compliance.STANDARD,
) -> None:
    findings = [("AwsSolutions-COG4", COGNITO_REASON)]
    if not profile.strict:  # strict attaches a web ACL: APIG3 is met, not acknowledged
        findings.append(("AwsSolutions-APIG3", WAF_REASON))
    acknowledge(api, findings)
    if cloud_watch_role is not None:
        acknowledge(
            cloud_watch_role,
            [
                (
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                    APIGW_LOGS_ROLE_REASON,
                )
            ],
        )


def acknowledge_api_stage(stage: IConstruct) -> None:
    """The API stage: no cache (nothing at rest), no client certificate (Lambda proxy only)."""
    acknowledge(
        stage,
        strict_findings("APIGWCacheEnabledAndEncrypted", API_CACHE_REASON)
        + strict_findings("APIGWSSLEnabled", API_CLIENT_CERT_REASON),
    )
