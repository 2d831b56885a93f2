"""Findings of the outside audit of the synthesized templates, each pinned by a test.

3: service roles trust their service only for this account's own resources (confused deputy).
9: the state machine lists the bucket under ``validated/`` only.
10: every role gets exactly the KMS actions it uses, once.
11: the retained job table has deletion protection; the backup vault is protected where it
    outlives the stack and is destroyed with its key where it does not.
14: the data bucket refuses uploads that ask for any encryption other than the data key.
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from etl_constructs import (
    Compliance,
    DataKey,
    IngestionBucket,
    MetadataStore,
    PipelineNetwork,
)

from .builders import build_pipeline, new_stack

ACCOUNT, REGION = "123456789012", "eu-west-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)


def _pipeline(
    stack: cdk.Stack,
    *,
    profile: Compliance = Compliance.STRICT,
    bucket_key: kms.IKey | None = None,
    table_key: kms.IKey | None = None,
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
):
    p = build_pipeline(
        stack,
        compliance=profile,
        pipeline_key=True,
        network="plain" if profile.strict else None,
        bucket_key=bucket_key,
        table_key=table_key,
        removal_policy=removal_policy,
    )
    return p.network, p.ingestion, p.store, p.workflow, p.api


def _stack(env: cdk.Environment | None = ENV) -> cdk.Stack:
    return new_stack("Audit", env=env)


def _strict(env: cdk.Environment | None):
    """Strict constructs as the example app composes them: one data key for both stores."""
    stack = _stack(env)
    data_key = DataKey(stack, "DataKey", environment_suffix="dev").key
    parts = _pipeline(stack, bucket_key=data_key, table_key=data_key)
    return stack, *parts, Template.from_stack(stack)


@pytest.fixture(scope="module")
def strict():
    return _strict(ENV)


@pytest.fixture(scope="module")
def strict_agnostic():
    """The same, in a stack without a concrete account and region (tokens in the ARNs)."""
    return _strict(None)


def _lid(stack: cdk.Stack, construct) -> str:
    element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    return stack.get_logical_id(element)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _role_statements(stack: cdk.Stack, template: Template, role) -> list[dict]:
    """Every statement of every inline or managed policy attached to ``role``."""
    ref = {"Ref": _lid(stack, role)}
    statements = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in template.find_resources(kind).values():
            if ref in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _key_actions(stack: cdk.Stack, template: Template, role, key: kms.IKey) -> list[str]:
    """The KMS actions ``role`` may use on ``key``, in policy order (duplicates kept)."""
    arn = {"Fn::GetAtt": [_lid(stack, key), "Arn"]}
    return [
        action
        for s in _role_statements(stack, template, role)
        if s["Effect"] == "Allow" and arn in _as_list(s["Resource"])
        for action in _as_list(s["Action"])
        if action.startswith("kms:")
    ]


def _trust(template: Template, stack: cdk.Stack, role) -> dict:
    resource = template.find_resources("AWS::IAM::Role")[_lid(stack, role)]
    (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement


# -- 3: trust conditions ----------------------------------------------------------------------


def _flow_log_role(network: PipelineNetwork):
    return network.node.find_child("FlowLogRole")


def _backup_role(store: MetadataStore):
    return store.node.find_child("BackupRole")


def test_strict_service_roles_trust_their_service_for_this_account_only(strict):
    stack, network, _, store, workflow, _, template = strict
    expected = {
        workflow.state_machine.role: (
            "states.amazonaws.com",
            [
                f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:etl-state-machine-dev",
                # a Distributed Map's child workflows, and versions or aliases
                f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:etl-state-machine-dev/*",
                f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:etl-state-machine-dev:*",
            ],
        ),
        _flow_log_role(network): (
            "vpc-flow-logs.amazonaws.com",
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*",
        ),
    }
    for role, (service, source_arn) in expected.items():
        statement = _trust(template, stack, role)
        assert statement["Principal"] == {"Service": service}
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": source_arn},
        }, role.node.path
    # AWS Backup documents no source keys for the roles it assumes: checked when it sends them
    statement = _trust(template, stack, _backup_role(store))
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT},
        "ArnLikeIfExists": {"aws:SourceArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:*"},
    }


def test_trust_conditions_name_the_deploying_account_in_env_agnostic_stacks(strict_agnostic):
    stack, network, _, store, workflow, _, template = strict_agnostic
    for role, suffix in (
        (workflow.state_machine.role, ""),
        (_flow_log_role(network), ""),
        (_backup_role(store), "IfExists"),
    ):
        condition = _trust(template, stack, role)["Condition"]
        assert condition[f"StringEquals{suffix}"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }
        rendered = str(condition[f"ArnLike{suffix}"]["aws:SourceArn"])
        assert "AWS::AccountId" in rendered and "AWS::Region" in rendered


def test_the_standard_state_machine_role_keeps_cdks_conditions():
    stack = _stack()
    _, _, _, workflow, _ = _pipeline(stack, profile=Compliance.STANDARD)
    statement = _trust(Template.from_stack(stack), stack, workflow.state_machine.role)
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


# -- 9: the state machine lists validated/ only ------------------------------------------------


@pytest.mark.parametrize("profile", list(Compliance))
def test_state_machine_lists_the_bucket_under_its_prefixes_only(profile):
    stack = _stack()
    _, _, _, workflow, _ = _pipeline(stack, profile=profile)
    template = Template.from_stack(stack)
    listings = [
        s
        for s in _role_statements(stack, template, workflow.state_machine.role)
        if "s3:ListBucket" in _as_list(s["Action"])
    ]
    assert listings, "the Distributed Map lists the validated parts"
    for statement in listings:
        assert statement["Condition"] == {"StringLike": {"s3:prefix": ["validated/*"]}}


def test_the_listed_prefixes_live_in_naming():
    from etl_constructs import naming

    assert naming.STATE_MACHINE_LIST_PREFIXES == (naming.VALIDATED_PREFIX,)


# -- 10: exactly the KMS actions each role uses --------------------------------------------------

DECRYPT = ["kms:Decrypt"]
READ_WRITE = ["kms:Decrypt", "kms:GenerateDataKey"]


def test_strict_roles_get_exactly_the_data_key_actions_they_use(strict):
    stack, _, ingestion, store, workflow, api, template = strict
    key = ingestion.encryption_key
    assert key is store.table.encryption_key
    expected = {
        # HeadObject needs no key; the job record: DynamoDB decrypts the table key as the caller
        "trigger": DECRYPT,
        "validator": READ_WRITE,
        "transformer": READ_WRITE,
        "enricher": READ_WRITE,
        # reads job records; writes its report (a multipart upload also needs kms:Decrypt)
        "quality-check": READ_WRITE,
    }
    for base, actions in expected.items():
        role = workflow.functions[base].role
        # one key for bucket and table: granted once, each action once
        assert sorted(_key_actions(stack, template, role, key)) == actions, base
    assert _key_actions(stack, template, api.function.role, key) == DECRYPT


def test_strict_state_machine_role_gets_each_key_action_once(strict):
    stack, _, ingestion, _, workflow, _, template = strict
    actions = _key_actions(stack, template, workflow.state_machine.role, ingestion.encryption_key)
    assert sorted(actions) == READ_WRITE  # no GenerateDataKey*, no Encrypt, no ReEncrypt*


def test_separate_bucket_and_table_keys_are_granted_by_use():
    stack = _stack()
    bucket_key = kms.Key(stack, "BucketKey", enable_key_rotation=True)
    table_key = kms.Key(stack, "TableKey", enable_key_rotation=True)
    _, _, _, workflow, api = _pipeline(
        stack, profile=Compliance.STANDARD, bucket_key=bucket_key, table_key=table_key
    )
    template = Template.from_stack(stack)
    bucket_actions = {
        "trigger": [],  # HeadObject only
        "validator": READ_WRITE,
        "transformer": READ_WRITE,
        "enricher": READ_WRITE,
        "quality-check": READ_WRITE,
    }
    for base, actions in bucket_actions.items():
        role = workflow.functions[base].role
        assert sorted(_key_actions(stack, template, role, bucket_key)) == actions, base
        assert _key_actions(stack, template, role, table_key) == DECRYPT, base
    assert _key_actions(stack, template, api.function.role, bucket_key) == []
    assert _key_actions(stack, template, api.function.role, table_key) == DECRYPT
    machine = workflow.state_machine.role
    # the item reader and the failure copy read raw/, the copy writes failed/
    assert sorted(_key_actions(stack, template, machine, bucket_key)) == READ_WRITE
    assert _key_actions(stack, template, machine, table_key) == DECRYPT
    for statement in (
        s
        for role in [*(f.role for f in workflow.functions.values()), api.function.role, machine]
        for s in _role_statements(stack, template, role)
    ):
        assert not any(a.endswith("*") for a in _as_list(statement["Action"]) if "kms:" in a)


# -- 11: table deletion protection, backup vault ----------------------------------------------


def _table(template: Template) -> dict:
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    return table


@pytest.mark.parametrize("profile", list(Compliance))
def test_a_retained_table_is_protected_from_deletion(stack, template_of, profile):
    MetadataStore(stack, "Metadata", environment_suffix="prod", compliance=profile)
    table = _table(template_of(stack))
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_a_destroyable_table_is_not(stack, template_of):
    MetadataStore(
        stack, "Metadata", environment_suffix="pr-1", removal_policy=cdk.RemovalPolicy.DESTROY
    )
    table = _table(template_of(stack))
    assert table["DeletionPolicy"] == "Delete"
    assert not table["Properties"].get("DeletionProtectionEnabled", False)


def _vault(template: Template) -> dict:
    (vault,) = template.find_resources("AWS::Backup::BackupVault").values()
    return vault


def test_a_retained_vault_is_locked_and_denies_deleting_recovery_points(stack, template_of):
    MetadataStore(stack, "Metadata", environment_suffix="prod", compliance="strict")
    vault = _vault(template_of(stack))
    assert vault["DeletionPolicy"] == "Retain"
    props = vault["Properties"]
    assert props["LockConfiguration"] == {"MinRetentionDays": 35}
    (deny,) = [s for s in props["AccessPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == {"AWS": "*"}
    assert sorted(_as_list(deny["Action"])) == [
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRecoveryPointLifecycle",
    ]
    assert deny["Resource"] == "*"


def test_a_destroyable_vault_goes_with_its_key(stack, template_of):
    """Outside prod the data key is deleted with the stack (after 7 days): a vault kept
    beyond it would hold recovery points no one can decrypt."""
    MetadataStore(
        stack,
        "Metadata",
        environment_suffix="pr-1",
        compliance="strict",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = template_of(stack)
    vault = _vault(template)
    (key,) = template.find_resources("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == vault["DeletionPolicy"] == "Delete"
    # nothing stops the stack (or its operator) from emptying the vault it deletes
    assert "LockConfiguration" not in vault["Properties"]
    assert "AccessPolicy" not in vault["Properties"]


# -- 14: uploads may not pick another encryption ----------------------------------------------

SSE = "s3:x-amz-server-side-encryption"
SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_C = "s3:x-amz-server-side-encryption-customer-algorithm"


def _matches(condition: dict, context: dict) -> bool:
    """Whether a policy Condition block holds for a request ``context`` (the operators the
    bucket policy uses: Null, StringEquals, StringNotEquals)."""
    for operator, tests in condition.items():
        for key, expected in tests.items():
            values = _as_list(expected)
            present = key in context
            if operator == "Null":
                holds = (not present) == (str(expected).lower() == "true")
            elif operator == "StringEquals":
                holds = present and context[key] in values
            elif operator == "StringNotEquals":
                holds = not present or context[key] not in values
            else:
                raise AssertionError(f"operator {operator} not modelled")
            if not holds:
                return False
    return True


def _put_denied(statements: list[dict], context: dict) -> bool:
    return any(
        s["Effect"] == "Deny"
        and "s3:PutObject" in _as_list(s["Action"])
        and _matches(s.get("Condition", {}), context)
        for s in statements
        if "aws:SecureTransport" not in str(s.get("Condition"))
        and "s3:TlsVersion" not in str(s.get("Condition"))
    )


def _bucket_statements(stack: cdk.Stack, template: Template, ingestion: IngestionBucket):
    ref = {"Ref": _lid(stack, ingestion.s3_bucket)}
    (policy,) = [
        p
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == ref
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_strict_bucket_refuses_uploads_under_any_other_encryption(strict):
    stack, _, ingestion, _, _, _, template = strict
    statements = _bucket_statements(stack, template, ingestion)
    data_key = {"Fn::GetAtt": [_lid(stack, ingestion.encryption_key), "Arn"]}
    other_key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
    # the pipeline's handlers, the managed copy and the state machine's CopyObject send no
    # encryption header: the bucket's default (the data key) applies
    assert not _put_denied(statements, {})
    assert not _put_denied(statements, {SSE: "aws:kms"})
    assert not _put_denied(statements, {SSE: "aws:kms", SSE_KEY: data_key})
    assert _put_denied(statements, {SSE: "AES256"})
    assert _put_denied(statements, {SSE: "aws:kms:dsse"})
    assert _put_denied(statements, {SSE: "aws:kms", SSE_KEY: other_key})
    assert _put_denied(statements, {SSE_KEY: other_key})
    assert _put_denied(statements, {SSE_C: "AES256"})


def test_a_bucket_without_a_customer_key_adds_no_encryption_statements(stack, template_of):
    ingestion = IngestionBucket(stack, "Ingestion", environment_suffix="dev")
    statements = _bucket_statements(stack, template_of(stack), ingestion)
    assert not _put_denied(statements, {SSE: "AES256"})


# -- the example app in prod ------------------------------------------------------------------


def test_strict_prod_example_app_passes_all_four_packs_with_the_retained_protections(tmp_path):
    """Item 11 applies where resources are retained: ``prod``. The app adds all four packs, so
    synth raises on any unacknowledged finding."""
    from tests.conftest import build_example_app

    app, _ = build_example_app(tmp_path, environmentSuffix="prod", compliance="strict")
    templates = {s.stack_name: s.template for s in app.synth().stacks}
    resources = templates["EtlStorage-prod"]["Resources"]
    (table,) = [r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    (vault,) = [r for r in resources.values() if r["Type"] == "AWS::Backup::BackupVault"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert vault["DeletionPolicy"] == "Retain"
    assert vault["Properties"]["LockConfiguration"] == {"MinRetentionDays": 35}
    assert "AccessPolicy" in vault["Properties"]
