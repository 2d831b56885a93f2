"""The example app: five stacks, one-way references, outputs, nag and cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks.config import AppSettings, SettingsError
from tests.conftest import build_example_app, cdk_json_context

pytestmark = pytest.mark.xdist_group("example-app")

STACKS = ("EtlStorage-ci", "EtlCompute-ci", "EtlApi-ci", "EtlMonitoring-ci", "EtlAnalytics-ci")


def _imports(template) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                found.add(node["Fn::ImportValue"].split(":")[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    return found


def test_five_stacks_with_their_outputs(example_app):
    _, _, _, templates = example_app
    assert set(templates) == set(STACKS)
    outputs = {name: set(t.get("Outputs", {})) for name, t in templates.items()}
    assert {"DataBucketName", "MetadataTableName"} <= outputs["EtlStorage-ci"]
    assert "StateMachineArn" in outputs["EtlCompute-ci"]
    assert "ApiEndpoint" in outputs["EtlApi-ci"]
    assert "AlarmTopicArn" in outputs["EtlMonitoring-ci"]
    assert {"AnalyticsDatabase", "AthenaWorkgroup", "AnalyticsReaderPolicyArn"} <= outputs[
        "EtlAnalytics-ci"
    ]


def test_references_go_one_way(example_app):
    _, _, _, templates = example_app
    assert _imports(templates["EtlStorage-ci"]) == set()
    assert _imports(templates["EtlCompute-ci"]) == {"EtlStorage-ci"}
    assert _imports(templates["EtlApi-ci"]) <= {"EtlStorage-ci", "EtlCompute-ci"}
    assert "EtlCompute-ci" in _imports(templates["EtlApi-ci"])
    assert _imports(templates["EtlMonitoring-ci"]) <= {
        "EtlStorage-ci",
        "EtlCompute-ci",
        "EtlApi-ci",
    }
    # the catalog reads the bucket's name and key only: no reference into the compute stack
    assert _imports(templates["EtlAnalytics-ci"]) == {"EtlStorage-ci"}


def test_the_bucket_points_at_no_consumer(example_app):
    _, _, _, templates = example_app
    storage = templates["EtlStorage-ci"]
    types = {r["Type"] for r in storage["Resources"].values()}
    assert "Custom::S3BucketNotifications" not in types
    assert not any(t.startswith(("AWS::Lambda::Permission", "AWS::SQS")) for t in types)


def test_nag_packs_find_nothing_unacknowledged(example_app):
    app, _, _, _ = example_app
    for pack in (AwsSolutionsChecks(app), ServerlessChecks(app)):
        violations = pack.validate_scope(app).violations
        assert [
            (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in violations
        ] == []


def test_every_acknowledgement_carries_a_reason(example_app):
    app, _, _, _ = example_app
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledged = [
        entry.data
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == key
    ]
    # metadata entries map "Annotation::<finding id>" to the reason given
    reasons = {finding: reason for data in acknowledged for finding, reason in data.items()}
    assert len(reasons) >= 10
    for finding, reason in reasons.items():
        assert len(reason) > 40, finding


def test_cfn_lint_reports_no_errors(example_app):
    _, _, assembly, _ = example_app
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
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == []


def test_ephemeral_and_prod_removal_policies(tmp_path):
    _, dev = build_example_app(tmp_path / "dev", environmentSuffix="dev2")
    _, prod = build_example_app(tmp_path / "prod", environmentSuffix="prod")
    bucket = dev.storage.ingestion.s3_bucket.node.default_child
    assert bucket.cfn_options.deletion_policy == cdk.CfnDeletionPolicy.DELETE
    prod_bucket = prod.storage.ingestion.s3_bucket.node.default_child
    assert prod_bucket.cfn_options.deletion_policy == cdk.CfnDeletionPolicy.RETAIN


@pytest.mark.parametrize(
    ("context", "env", "expected"),
    [
        ({"environmentSuffix": "qa"}, {"ENVIRONMENT_SUFFIX": "ignored"}, "qa"),
        ({}, {"ENVIRONMENT_SUFFIX": "from-env"}, "from-env"),
        ({}, {}, "dev"),
    ],
)
def test_suffix_comes_from_context_then_env_then_dev(monkeypatch, context, env, expected):
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = cdk.App(context={**cdk_json_context(), **context})
    assert AppSettings.from_context(app).environment_suffix == expected


def test_bad_context_is_a_clear_error():
    app = cdk.App(context={"environmentSuffix": "Bad Suffix!"})
    with pytest.raises(SettingsError, match="environment_suffix 'Bad Suffix!' is invalid"):
        AppSettings.from_context(app)
    app = cdk.App(context={"removalPolicy": "snapshot"})
    with pytest.raises(SettingsError, match="removalPolicy 'snapshot' is invalid"):
        AppSettings.from_context(app)


def test_cdk_json_runs_the_example_app():
    config = json.loads((Path(__file__).resolve().parents[3] / "cdk.json").read_text())
    assert config["app"] == "python3 examples/app.py"
    assert config["context"] == cdk_json_context()
