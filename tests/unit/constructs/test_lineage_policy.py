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
    handler_env.LINEAGE_DATAZONE_DOMAIN,
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


def test_a_datazone_domain_reaches_the_emitters_which_may_post_to_it_only():
    template = build_pipeline(
        api=False, workflow_props={"lineage": LineagePolicy(datazone_domain="dzd_a1b2c3")}
    ).template()
    functions = _functions(template)
    for name in EMITTERS:
        variables = functions[name][1]["Environment"]["Variables"]
        assert variables[handler_env.LINEAGE_DATAZONE_DOMAIN] == "dzd_a1b2c3"
    posting = {}
    for roles, statement in _statements(template):
        if statement["Action"] == "datazone:PostLineageEvent":
            for role in roles:
                posting[role] = statement["Resource"]
    assert set(posting) == {_role_of(functions[name][1]) for name in EMITTERS}
    for resource in posting.values():  # the stack's account and region, this domain only
        assert resource == "arn:aws:datazone:eu-west-1:123456789012:domain/dzd_a1b2c3"


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
        (LineagePolicy(datazone_domain="marketing"), "must be a DataZone domain id"),
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


def test_the_example_app_writes_its_events_to_its_bucket(example_app):
    *_, templates = example_app
    found = {}
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if handler_env.LINEAGE_NAMESPACE in variables:
                found[resource["Properties"]["FunctionName"]] = variables
    assert set(found) == {"trigger-ci", "validator-ci", "enricher-ci"}
    for variables in found.values():
        assert variables[handler_env.LINEAGE_NAMESPACE] == "etl-state-machine-ci"
        assert not set(variables) & (LINEAGE_ENV - {handler_env.LINEAGE_NAMESPACE})
