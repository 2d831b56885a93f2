"""ComputeStack passes ``large_files`` on with the library's one meaning of each value."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from etl_constructs import LargeFiles
from stacks import ComputeStack
from tests.conftest import cdk_json_context


def _compute(large_files: LargeFiles | None) -> ComputeStack:
    app = cdk.App(context=cdk_json_context())
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    shared = cdk.Stack(app, "Shared", env=env)
    return ComputeStack(
        app,
        "Compute",
        env=env,
        environment_suffix="dev",
        bucket=s3.Bucket.from_bucket_name(shared, "Bucket", "etl-data-bucket-dev"),
        table=dynamodb.Table.from_table_name(shared, "Table", "etl-metadata-dev"),
        encryption_key=kms.Key.from_key_arn(
            shared, "Key", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef"
        ),
        large_files=large_files,
    )


@pytest.mark.parametrize(
    ("large_files", "expected"),
    [
        (None, LargeFiles()),
        (LargeFiles(batch_rows=500), LargeFiles(batch_rows=500)),
        (LargeFiles.off(), LargeFiles.off()),
    ],
    ids=["default", "tuned", "off"],
)
def test_large_files_means_the_same_in_the_stack_as_in_the_construct(large_files, expected):
    stack = _compute(large_files)
    assert stack.workflow.large_files == expected
    maps = [
        c for c in stack.workflow.node.children if c.node.id in ("ValidateBatches", "ProcessParts")
    ]
    assert len(maps) == (2 if expected.enabled else 0)
