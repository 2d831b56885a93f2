"""Compliance profiles, cdk-nag wiring and every acknowledgement of the project, each with
its reason.

* :mod:`.profile`: the :class:`Compliance` profiles and the one parse of their names; it
  imports neither aws_cdk nor cdk-nag, so ``from etl_constructs.compliance import Compliance``
  costs nothing.
* :mod:`.packs`: the cdk-nag packs of each profile (:func:`add_nag_packs`).
* :mod:`.findings`: how acknowledgements are attached (cdk-nag ids, checkov skips).
* one module per service (:mod:`.s3`, :mod:`.iam`, :mod:`.lambda_`, :mod:`.sfn`, :mod:`.api`,
  :mod:`.messaging` for SNS and SQS, :mod:`.dynamodb`, :mod:`.kms`): each acknowledgement
  beside its reason. The constructs call them for findings their design makes unavoidable,
  attached to the narrowest construct, so an app that uses the constructs directly
  synthesizes clean too.

Two profiles, one decision each construct takes from its ``compliance`` prop: ``standard``
(AwsSolutions + Serverless packs, nothing that costs money at idle) and ``strict`` (also PCI
DSS 3.2.1 and NIST 800-53 rev 5: customer-managed keys everywhere, functions in a VPC behind
endpoints, reserved concurrency, WAF, backups, managed policies).

Every public name stays importable from ``etl_constructs.compliance``; the ones outside
:mod:`.profile` are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .profile import PROFILES, Compliance, UnknownProfileError

_LAZY = {
    "nag_packs": "packs",
    "add_nag_packs": "packs",
    "STRICT_PACKS": "findings",
    "strict_findings": "findings",
    "acknowledge": "findings",
    "acknowledge_checkov": "findings",
    "finding_resource": "findings",
    "XRAY_REASON": "iam",
    "PREFIX_REASON": "iam",
    "FUNCTION_VERSION_REASON": "iam",
    "LAMBDA_VPC_ACCESS_REASON": "iam",
    "acknowledge_function_role": "iam",
    "acknowledge_state_machine_role": "iam",
    "acknowledge_lambda_vpc_access": "iam",
    "GLUE_TABLES_REASON": "iam",
    "acknowledge_analytics_reader": "iam",
    "KMS_WILDCARD_REASON": "kms",
    "ACCESS_LOG_ENCRYPTION_REASON": "s3",
    "DATA_REPLICATION_REASON": "s3",
    "LOG_REPLICATION_REASON": "s3",
    "ACCESS_LOG_BUCKET_REASON": "s3",
    "acknowledge_access_log_bucket": "s3",
    "acknowledge_data_bucket": "s3",
    "STANDARD_TABLE_KEY_REASON": "dynamodb",
    "BACKUP_ROLE_REASON": "dynamodb",
    "acknowledge_backup_role": "dynamodb",
    "SYNCHRONOUS_STEP_REASON": "lambda_",
    "SYNCHRONOUS_API_REASON": "lambda_",
    "CDK_PROVIDER_REASON": "lambda_",
    "STANDARD_CONCURRENCY_REASON": "lambda_",
    "STANDARD_VPC_REASON": "lambda_",
    "LAMBDA_ENV_KEY_REASON": "lambda_",
    "acknowledge_synchronous_function": "lambda_",
    "acknowledge_checkov_cdk_provider": "lambda_",
    "DISTRIBUTED_MAP_REASON": "sfn",
    "acknowledge_distributed_map": "sfn",
    "COGNITO_REASON": "api",
    "WAF_REASON": "api",
    "API_CACHE_REASON": "api",
    "API_CLIENT_CERT_REASON": "api",
    "APIGW_LOGS_ROLE_REASON": "api",
    "acknowledge_rest_api": "api",
    "acknowledge_api_stage": "api",
    "DLQ_REASON": "messaging",
    "SQS_MANAGED_SSE_REASON": "messaging",
    "acknowledge_dead_letter_queue": "messaging",
    "SUBSCRIPTION_DLQ_REASON": "messaging",
    "acknowledge_subscription_dead_letter_queue": "messaging",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ACCESS_LOG_BUCKET_REASON",
    "ACCESS_LOG_ENCRYPTION_REASON",
    "APIGW_LOGS_ROLE_REASON",
    "API_CACHE_REASON",
    "API_CLIENT_CERT_REASON",
    "BACKUP_ROLE_REASON",
    "CDK_PROVIDER_REASON",
    "COGNITO_REASON",
    "DATA_REPLICATION_REASON",
    "DISTRIBUTED_MAP_REASON",
    "DLQ_REASON",
    "FUNCTION_VERSION_REASON",
    "GLUE_TABLES_REASON",
    "KMS_WILDCARD_REASON",
    "LAMBDA_ENV_KEY_REASON",
    "LAMBDA_VPC_ACCESS_REASON",
    "LOG_REPLICATION_REASON",
    "PREFIX_REASON",
    "PROFILES",
    "SQS_MANAGED_SSE_REASON",
    "STANDARD_CONCURRENCY_REASON",
    "STANDARD_TABLE_KEY_REASON",
    "STANDARD_VPC_REASON",
    "STRICT_PACKS",
    "SUBSCRIPTION_DLQ_REASON",
    "SYNCHRONOUS_API_REASON",
    "SYNCHRONOUS_STEP_REASON",
    "WAF_REASON",
    "XRAY_REASON",
    "Compliance",
    "UnknownProfileError",
    "acknowledge",
    "acknowledge_access_log_bucket",
    "acknowledge_analytics_reader",
    "acknowledge_api_stage",
    "acknowledge_backup_role",
    "acknowledge_checkov",
    "acknowledge_checkov_cdk_provider",
    "acknowledge_data_bucket",
    "acknowledge_dead_letter_queue",
    "acknowledge_distributed_map",
    "acknowledge_function_role",
    "acknowledge_lambda_vpc_access",
    "acknowledge_rest_api",
    "acknowledge_state_machine_role",
    "acknowledge_subscription_dead_letter_queue",
    "acknowledge_synchronous_function",
    "add_nag_packs",
    "finding_resource",
    "nag_packs",
    "strict_findings",
]
