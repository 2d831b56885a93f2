"""EtlWorkflow(lineage=...): which functions emit run events, where to, with what access."""

from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from etl_handlers import contract as handler_env

from etl_constructs import LineagePolicy, PropsError

from .builders import build_pipeline, new_stack

EMITTERS = {"trigger-dev", "validator-dev", "enricher-dev"}
LINEAGE_ENV = {
    handler_env.LINEAGE_NAMESPACE,
    handler_env.LINEAGE_ENDPOINT,
    handler_env.LINEAGE_API_KEY_SECRET,
}


def _functions(template):
    return {
        f["Properties"]["FunctionName"]: (lid, f["Properties"])
        for lid, f in template.find_resources("AWS::Lambda::Function").items()
        if "FunctionName" in f["Properties"]
    }


def _statements(template):
    """(policy's roles, statement) for every statement of every policy."""
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"].get("Roles", [])]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield roles, statement


def _names_lineage(resource) -> bool:
    return f"/{handler_env.LINEAGE_PREFIX}" in str(resource)


def _role_of(props) -> str:
    return props["Role"]["Fn::GetAtt"][0]


def test_off_by_default_no_function_emits_or_may_write_lineage():
    template = build_pipeline(api=False).template()
    for _, props in _functions(template).values():
        assert not set(props["Environment"]["Variables"]) & LINEAGE_ENV
    assert not [s for _, s in _statements(template) if _names_lineage(s["Resource"])]


def test_on_the_three_emitters_get_the_namespace_and_put_only_on_the_lineage_prefix():
    template = build_pipeline(api=False, workflow_props={"lineage": LineagePolicy()}).template()
    functions = _functions(template)
    emitting = {
        name
        for name, (_, props) in functions.items()
        if handler_env.LINEAGE_NAMESPACE in props["Environment"]["Variables"]
    }
    assert emitting == EMITTERS
    for name in EMITTERS:
        variables = functions[name][1]["Environment"]["Variables"]
        assert variables[handler_env.LINEAGE_NAMESPACE] == "etl-state-machine-dev"
        assert handler_env.LINEAGE_ENDPOINT not in variables
    writers = {}
    for roles, statement in _statements(template):
        if _names_lineage(statement["Resource"]):
            for role in roles:
                writers.setdefault(role, []).append(statement)
    assert set(writers) == {_role_of(functions[name][1]) for name in EMITTERS}
    for statements in writers.values():
        assert [s["Action"] for s in statements] == ["s3:PutObject"]  # nothing more
        (resource,) = [s["Resource"] for s in statements]
        assert resource["Fn::Join"][1][-1] == f"/{handler_env.LINEAGE_PREFIX}*"


def test_an_endpoint_and_its_key_reach_the_emitters_and_only_they_read_the_secret():
    stack = new_stack()
    secret = secretsmanager.Secret(stack, "LineageKey")
    policy = LineagePolicy(
        endpoint="https://marquez.example.com/api/v1/lineage",
        api_key_secret=secret,
        namespace="payments",
    )
    template = build_pipeline(stack, api=False, workflow_props={"lineage": policy}).template()
    functions = _functions(template)
    secret_id = stack.get_logical_id(secret.node.default_child)
    for name in EMITTERS:
        variables = functions[name][1]["Environment"]["Variables"]
        assert variables[handler_env.LINEAGE_NAMESPACE] == "payments"
        assert variables[handler_env.LINEAGE_ENDPOINT] == policy.endpoint
        assert variables[handler_env.LINEAGE_API_KEY_SECRET] == {"Ref": secret_id}
    readers = {
        role
        for roles, statement in _statements(template)
        if statement["Resource"] == {"Ref": secret_id}
        for role in roles
    }
    assert readers == {_role_of(functions[name][1]) for name in EMITTERS}


def test_a_customer_key_on_the_bucket_lets_the_trigger_encrypt_its_events():
    stack = new_stack()
    key = kms.Key(stack, "BucketKey", enable_key_rotation=True)
    template = build_pipeline(
        stack, api=False, bucket_key=key, workflow_props={"lineage": LineagePolicy()}
    ).template()
    trigger_role = _role_of(_functions(template)["trigger-dev"][1])
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}
    actions = [
        s["Action"]
        for roles, s in _statements(template)
        if trigger_role in roles and s["Resource"] == key_arn
    ]
    assert actions == ["kms:GenerateDataKey"]


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (LineagePolicy(endpoint="marquez:5000"), r"lineage.endpoint must be an http\(s\) URL"),
        (LineagePolicy(namespace=" "), "lineage.namespace must not be empty"),
    ],
)
def test_unusable_props_are_refused_naming_the_prop(policy, problem):
    with pytest.raises(PropsError, match=problem):
        build_pipeline(api=False, workflow_props={"lineage": policy})


def test_a_key_secret_without_an_endpoint_is_refused():
    stack = new_stack()
    secret = secretsmanager.Secret(stack, "LineageKey")
    with pytest.raises(PropsError, match=r"api_key_secret needs lineage\.endpoint"):
        build_pipeline(
            stack, api=False, workflow_props={"lineage": LineagePolicy(api_key_secret=secret)}
        )
