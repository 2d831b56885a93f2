"""checkov over the example app's synthesized templates, standard and strict: every finding
is acknowledged in ``etl_constructs.compliance.CHECKOV_ACKNOWLEDGEMENTS`` with its reason,
and every acknowledgement there still matches a finding (the list cannot go stale).

checkov lives in a virtualenv of its own (``make install`` creates ``.venv/checkov`` and
links ``.venv/bin/checkov``): it pins boto3 and packaging far below what this project uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest

from etl_constructs.compliance import CHECKOV_ACKNOWLEDGEMENTS, Compliance, checkov_acknowledgement
from tests.conftest import build_example_app

pytestmark = pytest.mark.xdist_group("checkov")


def _checkov() -> str:
    found = shutil.which("checkov")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: `make install` puts it in .venv/checkov")
        pytest.skip("checkov is not installed (make install puts it in .venv/checkov)")
    return found


def _paths(app: cdk.App) -> dict[tuple[str, str], str]:
    """(stack name, logical id) -> construct path inside the stack."""
    paths = {}
    for stack in (c for c in app.node.children if isinstance(c, cdk.Stack)):
        for node in stack.node.find_all():
            if isinstance(node, cdk.CfnResource):
                logical_id = stack.resolve(node.logical_id)
                paths[(stack.stack_name, logical_id)] = node.node.path.split("/", 1)[1]
    return paths


@pytest.fixture(scope="module")
def findings(example_app, tmp_path_factory) -> list[tuple[str, str, str]]:
    """(profile, check id, construct path) of every failed check, both profiles."""
    checkov = _checkov()
    scan = tmp_path_factory.mktemp("checkov")
    standard_app, _, assembly, _ = example_app
    strict_out = tmp_path_factory.mktemp("cdk.out.strict.checkov")
    strict_app, _ = build_example_app(strict_out, environmentSuffix="ci", compliance="strict")
    strict_app.synth()
    paths = {}
    for profile, app, directory in (
        ("standard", standard_app, Path(assembly.directory)),
        ("strict", strict_app, strict_out),
    ):
        (scan / profile).mkdir()
        for template in directory.glob("*.template.json"):
            shutil.copy(template, scan / profile / template.name)
        paths[profile] = _paths(app)
    result = subprocess.run(
        [
            checkov,
            "-d",
            str(scan),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    found = []
    for report in reports if isinstance(reports, list) else [reports]:
        assert report["summary"]["parsing_errors"] == 0
        assert report["summary"]["resource_count"] > 100  # it did read the templates
        for failure in report["results"]["failed_checks"]:
            profile, file_name = failure["file_path"].strip("/").split("/")
            stack = file_name.removesuffix(".template.json")
            logical_id = failure["resource"].split(".", 1)[1]
            found.append((profile, failure["check_id"], paths[profile][(stack, logical_id)]))
    return found


def test_every_checkov_finding_is_acknowledged_with_a_reason(findings):
    open_findings = [f for f in findings if checkov_acknowledgement(f[1], f[2], f[0]) is None]
    assert not open_findings, (
        "checkov findings without an acknowledgement in etl_constructs.compliance: "
        f"{open_findings} (fix the construct, or acknowledge with a real reason)"
    )


def test_every_acknowledgement_still_matches_a_finding(findings):
    for acknowledgement in CHECKOV_ACKNOWLEDGEMENTS:
        assert len(acknowledgement.reason) > 60
        for profile in acknowledgement.profiles:
            assert any(
                acknowledgement.covers(check, path, profile)
                for found_profile, check, path in findings
                if found_profile == profile.value
            ), f"{acknowledgement} matches nothing under {profile.value}: remove it"


def test_an_unacknowledged_finding_is_caught():
    assert checkov_acknowledgement("CKV_AWS_117", "Workflow/Validator/Resource", "standard")
    assert not checkov_acknowledgement("CKV_AWS_117", "Workflow/Validator/Resource", "strict")
    assert not checkov_acknowledgement(
        "CKV_AWS_21", "Ingestion/Bucket/Resource", Compliance.STANDARD
    )


def test_the_readme_lists_every_acknowledged_check():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    for acknowledgement in CHECKOV_ACKNOWLEDGEMENTS:
        assert acknowledgement.check in section, acknowledgement.check
