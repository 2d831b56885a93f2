from __future__ import annotations

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms

from etl_constructs import MetadataStore, PropsError


def _table(template):
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert len(tables) == 1
    return next(iter(tables.values()))


def test_job_table_keys_index_and_defaults(stack, template_of):
    store = MetadataStore(stack, "Metadata", environment_suffix="dev")
    table = _table(template_of(stack))
    props = table["Properties"]
    assert props["TableName"] == "etl-metadata-dev"
    assert props["KeySchema"] == [
        {"AttributeName": "jobId", "KeyType": "HASH"},
        {"AttributeName": "fileName", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "TimestampIndex" == store.index_name
    assert index["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "timestamp", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {"jobId": "S", "fileName": "S", "status": "S", "timestamp": "N"}
    assert table["DeletionPolicy"] == "Retain"


def test_pitr_can_be_switched_off(stack, template_of):
    MetadataStore(stack, "Metadata", environment_suffix="dev", point_in_time_recovery=False)
    props = _table(template_of(stack))["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}


def test_customer_managed_key(stack, template_of):
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    MetadataStore(stack, "Metadata", environment_suffix="dev", encryption_key=key)
    sse = _table(template_of(stack))["Properties"]["SSESpecification"]
    assert sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyId"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]
    }


def test_bring_your_own_table(stack, template_of):
    mine = dynamodb.Table.from_table_name(stack, "Mine", "jobs")
    store = MetadataStore(stack, "Metadata", environment_suffix="dev", existing_table_obj=mine)
    assert store.table is mine and store.dynamodb_table is None
    template_of(stack).resource_count_is("AWS::DynamoDB::Table", 0)


def test_conflicting_props_raise(stack):
    mine = dynamodb.Table.from_table_name(stack, "Mine", "jobs")
    with pytest.raises(PropsError, match="table_name cannot be combined with existing_table_obj"):
        MetadataStore(
            stack, "Metadata", environment_suffix="dev", existing_table_obj=mine, table_name="x"
        )
