"""EtlWorkflow's ``manifest`` and ``duplicate_files`` props: the validator's settings, the
wait for the manifest in the definition and in the execution budget, the DUPLICATE end,
the validator's narrow PutItem, and props problems named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from etl_constructs import LargeFiles, ManifestPolicy, PropsError, budget
from tests.conftest import build_example_app

from .test_etl_workflow import _definition, _workflow_stack


def _validator_env(template: Template) -> dict[str, str]:
    (validator,) = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == "validator-dev"
    ]
    return validator["Environment"]["Variables"]


def _validator_statements(template: Template) -> list[dict]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if any("ValidatorRole" in r["Ref"] for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_off_by_default_nothing_waits_and_no_duplicate_end(standard_workflow) -> None:
    _, template = standard_workflow
    env = _validator_env(template)
    assert env["ETL_MANIFEST_REQUIRED"] == "0" and env["ETL_DUPLICATE_FILES"] == "0"
    states = _definition(template)["States"]
    assert "ManifestStart" not in states and "JobDuplicate" not in states
    puts = [s for s in _validator_statements(template) if s["Action"] == "dynamodb:PutItem"]
    assert puts == []


def test_a_required_manifest_is_waited_for_before_anything_else() -> None:
    policy = ManifestPolicy(wait=cdk.Duration.minutes(10), poll=cdk.Duration.seconds(30))
    stack, workflow = _workflow_stack(manifest=policy, large_files=LargeFiles.off())
    template = Template.from_stack(stack)
    assert _validator_env(template)["ETL_MANIFEST_REQUIRED"] == "1"
    definition = _definition(template)
    states = definition["States"]
    assert definition["StartAt"] == "ManifestStart"
    assert states["ManifestStart"]["Result"] == {"checks": 0, "maxChecks": 21, "waitSeconds": 600}
    assert states["ManifestStart"]["Next"] == "CheckManifest"
    assert states["CheckManifest"]["Parameters"]["mode"] == "manifest"
    assert states["CheckManifest"]["TimeoutSeconds"] == 60
    assert states["WaitForManifest"] == {
        "Type": "Wait",
        "Comment": "the manifest has not arrived yet",
        "Seconds": 30,
        "Next": "CheckManifest",
    }
    choices = {c["Next"] for c in states["ManifestArrived"]["Choices"]}
    assert choices == {"Validate", "WaitForManifest", "ManifestMissing"}
    # the budget: the wait's worst case (21 checks, 20 waits) before the rest
    _, plain = _workflow_stack(large_files=LargeFiles.off())
    check = budget.state_seconds("CheckManifest", states["CheckManifest"])
    assert check == 3 * 60 + 1 + 2
    extra = workflow.execution_budget.to_seconds() - plain.execution_budget.to_seconds()
    assert abs(extra - (21 * check + 20 * 30)) < 60  # both rounded up to whole minutes


def test_the_manifest_wait_also_guards_the_big_file_path() -> None:
    stack, _ = _workflow_stack(manifest=ManifestPolicy())
    states = _definition(Template.from_stack(stack))["States"]
    assert {c["Next"] for c in states["ManifestArrived"]["Choices"]} >= {"FileSize"}


def test_duplicate_files_end_at_job_duplicate_and_may_put_content_items_only() -> None:
    stack, _ = _workflow_stack(duplicate_files=True)
    template = Template.from_stack(stack)
    assert _validator_env(template)["ETL_DUPLICATE_FILES"] == "1"
    states = _definition(template)["States"]
    assert states["JobDuplicate"]["Type"] == "Succeed"
    for choice in ("ValidateOutcome", "PreflightOutcome"):
        first = states[choice]["Choices"][0]
        assert first["Next"] == "JobDuplicate"
        assert {"Variable": "$.validation.outcome", "StringEquals": "DUPLICATE"} in first["And"]
    (put,) = [s for s in _validator_statements(template) if s["Action"] == "dynamodb:PutItem"]
    assert put["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["sha256:*"]}}


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (
            ManifestPolicy(poll=cdk.Duration.millis(500)),
            "manifest.poll must be a whole number of seconds, at least 1",
        ),
        (
            ManifestPolicy(poll=cdk.Duration.millis(1500)),
            "manifest.poll must be a whole number of seconds, at least 1",
        ),
        (ManifestPolicy(wait=cdk.Duration.days(2)), "manifest.wait must be between 0 and 1 day"),
        (
            ManifestPolicy(wait=cdk.Duration.minutes(1), poll=cdk.Duration.minutes(2)),
            "manifest.poll must not be longer than manifest.wait",
        ),
        (
            ManifestPolicy(wait=cdk.Duration.minutes(60)),
            "manifest.wait (1 hour) must be shorter than stuck_after (1 hour)",
        ),
    ],
)
def test_bad_manifest_settings_are_props_problems(policy, problem) -> None:
    with pytest.raises(PropsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        _workflow_stack(manifest=policy)


def test_a_longer_stuck_after_allows_a_longer_wait() -> None:
    policy = ManifestPolicy(wait=cdk.Duration.hours(2), poll=cdk.Duration.minutes(5))
    _workflow_stack(manifest=policy, stuck_after=cdk.Duration.hours(3))


@pytest.mark.parametrize("profile", ["standard", "strict"])
def test_the_example_app_with_both_on_is_nag_and_cfn_lint_clean(tmp_path, profile) -> None:
    app, _ = build_example_app(
        tmp_path,
        environmentSuffix="ci",
        compliance=profile,
        manifestWaitSeconds="600",
        duplicateFiles="true",
    )
    assembly = app.synth()  # the app adds the profile's nag packs: any finding fails here
    files = [
        str(Path(assembly.directory) / f"{s.stack_name}.template.json") for s in assembly.stacks
    ]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode % 2 == 0, result.stderr[-2000:]
    errors = [f for f in json.loads(result.stdout or "[]") if f["Level"] == "Error"]
    assert errors == []


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"manifestWaitSeconds": "soon"}, "manifestWaitSeconds 'soon' is invalid"),
        ({"duplicateFiles": "maybe"}, "duplicateFiles 'maybe' is invalid"),
    ],
)
def test_bad_example_app_context_is_a_clear_error(tmp_path, context, message) -> None:
    from stacks.config import SettingsError

    with pytest.raises(SettingsError, match=message):
        build_example_app(tmp_path, environmentSuffix="ci", **context)
