"""The example app under `-c compliance=strict`: all four cdk-nag packs clean, and what the
standard profile keeps out (no NAT, no interface endpoints, no WAF)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks

from etl_constructs import Compliance
from etl_constructs.control_api import MANAGED_RULE_GROUPS
from etl_constructs.control_api import STRICT_RESERVED_CONCURRENCY as API_RESERVED_CONCURRENCY
from etl_constructs.etl_workflow import STRICT_RESERVED_CONCURRENCY
from etl_constructs.network import DEFAULT_INTERFACE_ENDPOINTS
from stacks.config import AppSettings, SettingsError
from tests.conftest import build_example_app, cdk_json_context

pytestmark = pytest.mark.xdist_group("example-app")

STACKS = ("EtlStorage-ci", "EtlCompute-ci", "EtlApi-ci", "EtlMonitoring-ci", "EtlAnalytics-ci")
#: Every finding the strict profile acknowledges beyond the standard profile's, by rule. A new
#: acknowledgement must be added here on purpose, with its reason in etl_constructs.compliance.
STRICT_ONLY_ACKNOWLEDGEMENTS = {
    "PCI.DSS.321-S3DefaultEncryptionKMS",
    "NIST.800.53.R5-S3DefaultEncryptionKMS",
    "PCI.DSS.321-S3BucketReplicationEnabled",
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
    "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
    "PCI.DSS.321-APIGWSSLEnabled",
    "NIST.800.53.R5-APIGWSSLEnabled",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSBackupServiceRolePolicyForBackup]",
    # the EC2 network-interface actions Lambda needs for the VPC (a new reason for this id)
    "AwsSolutions-IAM5[Resource::*]",
    # the backup role's grant on the data key (CDK's encrypt/decrypt grant for AWS Backup);
    # the function and state machine roles name exact KMS actions and need no acknowledgement
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
    # the functions invoked synchronously only have no dead-letter queue (NIST's rule; the
    # Serverless pack's twin is acknowledged under both profiles)
    "NIST.800.53.R5-LambdaDLQ",
}


@pytest.fixture(scope="module")
def strict_app(tmp_path_factory):
    """The example app for suffix ``ci`` with ``compliance=strict``, synthesized once."""
    started = time.perf_counter()
    app, stacks = build_example_app(
        tmp_path_factory.mktemp("cdk.out.strict"), environmentSuffix="ci", compliance="strict"
    )
    assembly = app.synth()  # the app added all four packs: any finding fails here
    seconds = time.perf_counter() - started
    templates = {s.stack_name: s.template for s in assembly.stacks}
    return app, stacks, assembly, templates, seconds


def _resources(templates, kind: str) -> dict[str, dict]:
    return {
        f"{name}/{lid}": r
        for name, t in templates.items()
        for lid, r in t["Resources"].items()
        if r["Type"] == kind
    }


def _acknowledged(app) -> set[tuple[str, str]]:
    """Every cdk-nag acknowledgement in the app as (finding id, reason)."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    prefix = "Annotation::"  # cdk-nag findings; CDK acknowledges some CloudFormation checks too
    return {
        (finding.removeprefix(prefix), reason)
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == key
        for finding, reason in entry.data.items()
        if finding.startswith(prefix)
    }


def test_strict_app_passes_all_four_packs(strict_app):
    app, _, _, _, seconds = strict_app
    for pack in (
        AwsSolutionsChecks(app),
        ServerlessChecks(app),
        PCIDSS321Checks(app),
        NIST80053R5Checks(app),
    ):
        violations = pack.validate_scope(app).violations
        assert [
            (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in violations
        ] == [], type(pack).__name__
    assert seconds < 60  # keeps the suite fast; it takes about 6 s on a laptop


def test_strict_app_fails_synth_on_a_strict_finding(tmp_path):
    """The app really adds the PCI and NIST packs: a function outside the VPC fails synth."""
    app, stacks = build_example_app(tmp_path, environmentSuffix="ci", compliance="strict")
    lambda_.Function(
        stacks.compute,
        "Stray",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    with pytest.raises(Exception, match=re.escape("PCI.DSS.321-LambdaInsideVPC")):
        app.synth()


def test_standard_app_would_fail_the_strict_packs(example_app):
    """The strict packs have teeth: the standard profile does not pass them."""
    app, _, _, _ = example_app
    rules = {v.rule_name for v in PCIDSS321Checks(app).validate_scope(app).violations}
    assert {"PCI.DSS.321-LambdaInsideVPC", "PCI.DSS.321-APIGWAssociatedWithWAF"} <= rules


def test_strict_acknowledgements_are_the_reviewed_ones_with_reasons(strict_app, example_app):
    strict = _acknowledged(strict_app[0])
    standard = _acknowledged(example_app[0])
    for finding, reason in strict:
        assert len(reason) > 80, finding
    added = {finding for finding, _ in strict - standard}
    assert added == STRICT_ONLY_ACKNOWLEDGEMENTS
    # WAF is met under strict, not acknowledged
    assert "AwsSolutions-APIG3" in {f for f, _ in standard}
    assert "AwsSolutions-APIG3" not in {f for f, _ in strict}


def test_strict_references_still_go_one_way(strict_app):
    _, _, _, templates, _ = strict_app

    def imports(template) -> set[str]:
        text = json.dumps(template)
        return {part.split(":")[0] for part in text.split('"Fn::ImportValue": "')[1:]}

    assert imports(templates["EtlStorage-ci"]) == set()
    assert imports(templates["EtlCompute-ci"]) == {"EtlStorage-ci"}
    assert imports(templates["EtlApi-ci"]) <= {"EtlStorage-ci", "EtlCompute-ci"}


def test_strict_app_has_one_vpc_shared_by_every_function(strict_app):
    _, stacks, _, templates, _ = strict_app
    assert set(templates) == set(STACKS)
    vpcs = _resources(templates, "AWS::EC2::VPC")
    assert list(vpcs) == [
        f"EtlStorage-ci/{stacks.storage.get_logical_id(stacks.storage.network.vpc.node.default_child)}"
    ]
    assert _resources(templates, "AWS::EC2::NatGateway") == {}
    assert _resources(templates, "AWS::EC2::InternetGateway") == {}
    interface = [
        r
        for r in _resources(templates, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert len(interface) == len(DEFAULT_INTERFACE_ENDPOINTS)
    functions = {
        path: r["Properties"]
        for path, r in _resources(templates, "AWS::Lambda::Function").items()
        if "FunctionName" in r["Properties"]  # CDK's deployment-time providers have none
    }
    assert len(functions) == 6
    for path, props in functions.items():
        assert props["ReservedConcurrentExecutions"] >= 1, path
        assert len(props["VpcConfig"]["SubnetIds"]) == 2, path
    assert len(_resources(templates, "AWS::WAFv2::WebACLAssociation")) == 1
    assert len(_resources(templates, "AWS::Backup::BackupSelection")) == 1
    assert _resources(templates, "AWS::IAM::Policy") == {}


def test_strict_endpoints_admit_only_the_pipelines_bucket_and_table(strict_app):
    _, stacks, _, templates, _ = strict_app
    storage = stacks.storage
    bucket = storage.get_logical_id(storage.ingestion.bucket.node.default_child)
    table = storage.get_logical_id(storage.metadata.dynamodb_table.node.default_child)
    for endpoint in _resources(templates, "AWS::EC2::VPCEndpoint").values():
        (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert "aws:PrincipalAccount" in statement["Condition"]["StringEquals"]
        if endpoint["Properties"]["VpcEndpointType"] == "Gateway":
            resources = json.dumps(statement["Resource"])
            assert bucket in resources or table in resources


def test_prefix_list_context_narrows_the_functions_egress_to_the_endpoints(tmp_path):
    app, stacks = build_example_app(
        tmp_path,
        environmentSuffix="ci",
        compliance="strict",
        s3PrefixListId="pl-6da54004",
        dynamodbPrefixListId="pl-6fa54006",
    )
    templates = {s.stack_name: s.template for s in app.synth().stacks}  # all four packs pass
    groups = [
        g["Properties"]
        for g in _resources(templates, "AWS::EC2::SecurityGroup").values()
        if g["Properties"]["GroupDescription"].startswith("etl-constructs functions")
    ]
    assert len(groups) == 2  # the workflow's and the API's
    endpoint_group = stacks.storage.get_logical_id(
        stacks.storage.network.endpoint_security_group.node.default_child
    )
    for group in groups:
        rules = group["SecurityGroupEgress"]
        assert {r["DestinationPrefixListId"] for r in rules if "DestinationPrefixListId" in r} == {
            "pl-6da54004",
            "pl-6fa54006",
        }
        (to_group,) = [
            r["DestinationSecurityGroupId"] for r in rules if "DestinationSecurityGroupId" in r
        ]
        assert endpoint_group in json.dumps(to_group)  # imported from the storage stack
        assert len(rules) == 3 and {r["FromPort"] for r in rules} == {443}
    assert _resources(templates, "AWS::EC2::SecurityGroupEgress") == {}
    with pytest.raises(SettingsError, match="s3PrefixListId and dynamodbPrefixListId go together"):
        AppSettings.from_context(cdk.App(context={"s3PrefixListId": "pl-6da54004"}))


def test_strict_keys_are_customer_managed_and_rotated(strict_app):
    _, stacks, _, templates, _ = strict_app
    keys = _resources(templates, "AWS::KMS::Key")
    assert len(keys) == 2  # pipeline key (logs, topic, queues) + data key (bucket, table, backups)
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys.values())
    storage = stacks.storage
    data_key = storage.data_key.key
    assert storage.ingestion.bucket.encryption_key is data_key
    assert storage.metadata.table.encryption_key is data_key
    (topic,) = _resources(templates, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    for queue in _resources(templates, "AWS::SQS::Queue").values():
        assert "KmsMasterKeyId" in queue["Properties"]


def test_strict_cfn_lint_reports_no_errors(strict_app):
    _, _, assembly, _, _ = strict_app
    files = [str(Path(assembly.directory) / f"{name}.template.json") for name in STACKS]
    result = subprocess.run(
        # the venv's cfn-lint script: the cfnlint package has no __main__ for "-m"
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    # exit codes OR together 2 (errors), 4 (warnings), 8 (informational); odd: it did not run
    assert result.returncode % 2 == 0, result.stderr[-2000:]
    findings = json.loads(result.stdout or "[]")
    assert [f for f in findings if f["Level"] == "Error"] == []


def test_standard_app_stays_cheap(example_app):
    """Nothing that bills while idle: no NAT, no VPC endpoints, no WAF, no backups, one key."""
    _, _, _, templates = example_app
    for kind in (
        "AWS::EC2::NatGateway",
        "AWS::EC2::VPC",
        "AWS::EC2::VPCEndpoint",
        "AWS::WAFv2::WebACL",
        "AWS::Backup::BackupPlan",
    ):
        assert _resources(templates, kind) == {}, kind
    assert len(_resources(templates, "AWS::KMS::Key")) == 1
    for path, fn in _resources(templates, "AWS::Lambda::Function").items():
        assert "ReservedConcurrentExecutions" not in fn["Properties"], path


@pytest.mark.parametrize(
    ("context", "expected"),
    [({}, Compliance.STANDARD), ({"compliance": "strict"}, Compliance.STRICT)],
)
def test_compliance_comes_from_context(context, expected):
    app = cdk.App(context={**cdk_json_context(), **context})
    assert AppSettings.from_context(app).compliance is expected


def test_bad_compliance_context_names_the_allowed_values():
    app = cdk.App(context={"compliance": "pci"})
    with pytest.raises(
        SettingsError,
        match=r"^context compliance profile 'pci' is unknown: use 'standard' or 'strict' "
        r"\(in any case\)$",
    ):
        AppSettings.from_context(app)


def test_compliance_context_is_read_in_any_case():
    app = cdk.App(context={"compliance": "STRICT"})
    assert AppSettings.from_context(app).compliance is Compliance.STRICT


# -- the README's cost table follows the code -------------------------------------------------

README = Path(__file__).resolve().parents[3] / "README.md"


def _cost_rows() -> dict[str, list[str]]:
    text = README.read_text()
    table = text[text.index("| item | standard | strict | arithmetic |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("*")] = cells[1:]
    return rows


def _dollars(cell: str) -> float:
    cell = cell.strip("*")
    return 0.0 if cell == "-" else float(cell.lstrip("$"))


def test_readme_cost_table_follows_the_code(strict_app, example_app):
    rows = _cost_rows()
    endpoints = len(DEFAULT_INTERFACE_ENDPOINTS)
    _, strict_cost, arithmetic = rows["Interface VPC endpoints"]
    assert arithmetic.startswith(
        f"{endpoints} endpoints ({', '.join(DEFAULT_INTERFACE_ENDPOINTS)}) x 2 AZs x 730 h x $0.01"
    )
    assert _dollars(strict_cost) == round(endpoints * 2 * 730 * 0.01, 2)
    _, waf, arithmetic = rows["WAF"]
    (acl,) = _resources(strict_app[3], "AWS::WAFv2::WebACL").values()
    rules = acl["Properties"]["Rules"]
    rate_rules = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    assert f"{len(MANAGED_RULE_GROUPS)} managed rule groups x $1.00" in arithmetic
    assert f"{len(rate_rules)} rate-based rule x $1.00" in arithmetic
    assert _dollars(waf) == 5 + len(rules)  # $1.00 per rule, whatever its kind
    standard_keys = len(_resources(example_app[3], "AWS::KMS::Key"))
    strict_keys = len(_resources(strict_app[3], "AWS::KMS::Key"))
    assert [_dollars(c) for c in rows["KMS keys"][:2]] == [standard_keys, strict_keys]
    alarms = _resources(example_app[3], "AWS::CloudWatch::Alarm").values()
    metrics = sum(
        len([m for m in a["Properties"]["Metrics"] if "MetricStat" in m])
        if "Metrics" in a["Properties"]
        else 1
        for a in alarms
    )
    assert rows["CloudWatch alarms"][2].startswith(f"{len(alarms)} alarms watching {metrics} ")
    assert _dollars(rows["CloudWatch alarms"][0]) == round(metrics * 0.10, 2)
    (plan,) = _resources(strict_app[3], "AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rows["Backup storage"][2].startswith(f"{rule['Lifecycle']['DeleteAfterDays']} daily")
    for column in (0, 1):
        items = [_dollars(cells[column]) for name, cells in rows.items() if name != "Total"]
        assert round(sum(items), 2) == _dollars(rows["Total"][column])


def test_readme_states_the_reserved_concurrency_the_code_reserves():
    reserved = sum(STRICT_RESERVED_CONCURRENCY.values()) + API_RESERVED_CONCURRENCY
    assert f"reserves {reserved} concurrent executions" in README.read_text()
