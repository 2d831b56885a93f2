"""A bad environment suffix is one more bad prop: every construct names it in the same
PropsError as the others, instead of stopping at it first."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from etl_constructs import (
    AlarmThresholds,
    ControlApi,
    DataKey,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PipelineKey,
    PipelineNetwork,
    PropsError,
)
from etl_constructs.naming import InvalidSuffixError, Naming, validate_suffix

BAD_SUFFIX = "Dev_1"


def _resources(stack: cdk.Stack) -> dict:
    return {
        "bucket": s3.Bucket.from_bucket_name(stack, "B", "some-bucket"),
        "table": dynamodb.Table.from_table_name(stack, "T", "some-table"),
    }


# (construct, its other bad prop as keyword arguments, the text naming that prop)
CASES = {
    "IngestionBucket": (
        IngestionBucket,
        lambda stack: {"auto_delete_objects": True},
        "auto_delete_objects=True needs removal_policy",
    ),
    "MetadataStore": (
        MetadataStore,
        lambda stack: {"compliance": "lax"},
        "compliance profile 'lax' is unknown",
    ),
    "EtlWorkflow": (
        EtlWorkflow,
        lambda stack: {**_resources(stack), "output_format": "xml"},
        "output_format",
    ),
    "ControlApi": (
        ControlApi,
        lambda stack: {
            **_resources(stack),
            "state_machine": sfn.StateMachine.from_state_machine_name(stack, "S", "sm"),
            "throttling_rate_limit": 0,
        },
        "throttling_rate_limit must be at least 1",
    ),
    "ObservabilityPack": (
        ObservabilityPack,
        lambda stack: {"thresholds": AlarmThresholds(function_errors=0)},
        "thresholds.function_errors must be at least 1",
    ),
    "PipelineNetwork": (
        PipelineNetwork,
        lambda stack: {"max_azs": 0},
        "max_azs must be 1-6",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_a_bad_suffix_and_another_bad_prop_make_one_props_error(stack, name):
    construct, props_of, other = CASES[name]
    with pytest.raises(PropsError) as raised:
        construct(stack, name, environment_suffix=BAD_SUFFIX, **props_of(stack))
    message = str(raised.value)
    assert message.startswith(f"{name}: invalid props")
    assert f"environment_suffix {BAD_SUFFIX!r} is invalid" in message
    assert other in message
    assert not stack.node.find_child(name).node.children  # raised before building anything


@pytest.mark.parametrize("construct", [PipelineKey, DataKey], ids=lambda c: c.__name__)
def test_the_keys_report_a_bad_suffix_as_a_props_error(stack, construct):
    with pytest.raises(PropsError, match=rf"{construct.__name__}: invalid props\n.*'{BAD_SUFFIX}'"):
        construct(stack, "Key", environment_suffix=BAD_SUFFIX)


def test_invalid_suffix_error_stays_importable_and_is_a_props_error():
    for check in (validate_suffix, Naming):
        with pytest.raises(InvalidSuffixError) as raised:
            check(BAD_SUFFIX)
        assert isinstance(raised.value, PropsError) and isinstance(raised.value, ValueError)
