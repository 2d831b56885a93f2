"""EtlWorkflow(seen_ids=...): the seen-ids table, its access, the validator's settings."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from etl_handlers import contract as handler_env

from etl_constructs import PropsError, SeenIdsPolicy, TransactionSchema

from .builders import build_pipeline, new_stack

ON = {"seen_ids": SeenIdsPolicy()}  # with the big-file path (the default)


def _functions(template):
    return {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "FunctionName" in f["Properties"]
    }


def _seen_table(template):
    tables = [
        (lid, t["Properties"])
        for lid, t in template.find_resources("AWS::DynamoDB::Table").items()
        if t["Properties"].get("TableName") == "etl-seen-ids-dev"
    ]
    return tables[0] if tables else (None, None)


def test_off_by_default():
    pipeline = build_pipeline(api=False)
    template = pipeline.template()
    assert _seen_table(template) == (None, None)
    assert pipeline.workflow.seen_ids_table is None
    validator = _functions(template)["validator-dev"]["Environment"]["Variables"]
    assert not set(validator) & set(handler_env.SEEN_IDS_ENV)


def test_the_table_keeps_digests_for_the_window_encrypted_like_the_job_table():
    stack = new_stack()
    key = kms.Key(stack, "TableKey", enable_key_rotation=True)
    pipeline = build_pipeline(
        stack,
        api=False,
        table_key=key,
        workflow_props={**ON, "seen_ids": SeenIdsPolicy(window=cdk.Duration.days(30), workers=8)},
    )
    template = pipeline.template()
    logical_id, props = _seen_table(template)

    ((name, kind),) = handler_env.SEEN_IDS_KEYS
    assert props["AttributeDefinitions"] == [{"AttributeName": name, "AttributeType": kind}]
    assert props["KeySchema"] == [{"AttributeName": name, "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    key_id = stack.get_logical_id(key.node.default_child)
    assert props["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    validator = _functions(template)["validator-dev"]["Environment"]["Variables"]
    assert validator["ETL_SEEN_IDS_TABLE"] == {"Ref": logical_id}
    assert validator["ETL_SEEN_IDS_WINDOW_DAYS"] == "30"
    assert validator["ETL_SEEN_IDS_WORKERS"] == "8"


def test_only_the_validator_may_claim_ids():
    template = build_pipeline(api=False, workflow_props=ON).template()
    logical_id, _ = _seen_table(template)
    arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    reaching = {}
    for lid, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if arn in resources:
                reaching[lid] = statement["Action"]
    assert len(reaching) == 1
    ((lid, actions),) = reaching.items()
    assert lid.startswith("WorkflowValidatorRole")
    assert sorted(actions) == ["dynamodb:GetItem", "dynamodb:PutItem"]


def test_bad_settings_and_what_the_check_cannot_work_with_are_reported_together():
    schema = TransactionSchema.default()
    no_unique = TransactionSchema(
        name=schema.name,
        version=schema.version,
        columns=tuple(
            type(c).from_document({**c.to_document(), "unique": False}) for c in schema.columns
        ),
        totals=schema.totals,
    )
    with pytest.raises(PropsError) as raised:
        build_pipeline(
            api=False,
            workflow_props={
                "schema": no_unique,
                "seen_ids": SeenIdsPolicy(window=cdk.Duration.hours(36), workers=0),
            },
        )
    message = str(raised.value)
    assert "seen_ids.window must be whole days" in message
    assert "seen_ids.workers must be a whole number from 1 to 256" in message
    assert "exactly one unique column" in message
    assert "large_files" not in message  # big files are covered
