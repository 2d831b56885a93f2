"""checkov over synthesized templates, standard and strict: the example app, and an app of a
user's own (other stack and construct ids, one stack).

checkov reads its suppressions from the templates themselves: each resource's
``Metadata.checkov.skip``, which the constructs write next to the resources that need them
(``etl_constructs.compliance.acknowledge_checkov``). Nothing here filters findings: a finding
checkov still reports fails, and so does a suppression that no longer suppresses anything
(checked on copies of the templates without the metadata).

checkov lives in a virtualenv of its own (``make install`` creates ``.venv/checkov`` and
links ``.venv/bin/checkov``): it pins boto3 and packaging far below what this project uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from etl_constructs import (
    Compliance,
    ControlApi,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
)
from etl_constructs.compliance import acknowledge_checkov
from tests.conftest import build_example_app, cdk_json_context

pytestmark = pytest.mark.xdist_group("checkov")

APPS = ("example-standard", "example-strict", "user-standard", "user-strict")
#: (app, template file, logical id, check id)
Finding = tuple[str, str, str, str]


def _checkov() -> str:
    found = shutil.which("checkov")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: `make install` puts it in .venv/checkov")
        pytest.skip("checkov is not installed (make install puts it in .venv/checkov)")
    return found


def build_user_app(outdir: Path, profile: Compliance) -> None:
    """A user's app: its own stack and construct ids, every construct in one stack, each
    strict construct with a network of its own."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = cdk.Stack(app, "PaymentsPipeline")
    suffix = "payments"
    landing = IngestionBucket(
        stack,
        "Landing",
        environment_suffix=suffix,
        compliance=profile,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    jobs = MetadataStore(
        stack,
        "Jobs",
        environment_suffix=suffix,
        compliance=profile,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    flow = EtlWorkflow(
        stack,
        "Flow",
        environment_suffix=suffix,
        bucket=landing.bucket,
        table=jobs.table,
        compliance=profile,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    api = ControlApi(
        stack,
        "Api",
        environment_suffix=suffix,
        bucket=landing.bucket,
        table=jobs.table,
        state_machine=flow.state_machine,
        compliance=profile,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    ObservabilityPack(stack, "Watch", environment_suffix=suffix).monitor_workflow(flow).monitor_api(
        api
    ).monitor_pipeline_metrics()
    app.synth()


def _templates(directory: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(directory.glob("*.template.json")):
        yield path.name, json.loads(path.read_text())


def _skips(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """(logical id, skip entry) of every checkov suppression in ``template``."""
    for logical_id, resource in template.get("Resources", {}).items():
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            yield logical_id, entry


def _bare(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` without any checkov suppression."""
    for resource in template.get("Resources", {}).values():
        resource.get("Metadata", {}).pop("checkov", None)
    return template


@pytest.fixture(scope="module")
def scan(example_app, tmp_path_factory) -> dict[str, Any]:
    """One checkov run over every app's templates, as synthesized and without suppressions:
    ``failed[variant]`` (``as-built`` or ``bare``) holds the findings, ``skips`` the
    suppressions the templates carry, with their comments."""
    checkov = _checkov()
    _, _, assembly, _ = example_app
    outdirs = {"example-standard": Path(assembly.directory)}
    strict_out = tmp_path_factory.mktemp("cdk.out.strict.checkov")
    strict_app, _ = build_example_app(strict_out, environmentSuffix="ci", compliance="strict")
    strict_app.synth()
    outdirs["example-strict"] = strict_out
    for profile in Compliance:
        outdirs[f"user-{profile.value}"] = out = tmp_path_factory.mktemp(f"user-{profile.value}")
        build_user_app(out, profile)

    root = tmp_path_factory.mktemp("checkov")
    skips: dict[Finding, str] = {}
    for app, outdir in outdirs.items():
        for variant in ("as-built", "bare"):
            (root / variant / app).mkdir(parents=True)
        for name, template in _templates(outdir):
            for logical_id, entry in _skips(template):
                skips[(app, name, logical_id, entry["id"])] = entry.get("comment", "")
            (root / "as-built" / app / name).write_text(json.dumps(template))
            (root / "bare" / app / name).write_text(json.dumps(_bare(template)))
    result = subprocess.run(
        [
            checkov,
            "-d",
            str(root),
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
    failed: dict[str, set[Finding]] = {"as-built": set(), "bare": set()}
    for report in reports if isinstance(reports, list) else [reports]:
        assert report["summary"]["parsing_errors"] == 0
        assert report["summary"]["resource_count"] > 400  # it did read every template
        for check in report["results"]["failed_checks"]:
            variant, app, name = check["file_path"].strip("/").split("/")
            logical_id = check["resource"].split(".", 1)[1]
            failed[variant].add((app, name, logical_id, check["check_id"]))
    return {"failed": failed, "skips": skips}


@pytest.mark.parametrize("app", APPS)
def test_no_checkov_finding_is_left_unacknowledged(scan, app):
    left = sorted(f for f in scan["failed"]["as-built"] if f[0] == app)
    assert not left, (
        f"checkov findings in {app} that no construct acknowledges: {left} (fix the construct, "
        "or acknowledge_checkov() next to the resource with a real reason)"
    )
    assert any(f[0] == app for f in scan["failed"]["bare"])  # there was something to suppress


def test_every_acknowledgement_still_suppresses_a_finding_and_says_why(scan):
    assert scan["skips"]
    for skip, comment in scan["skips"].items():
        assert skip in scan["failed"]["bare"], f"{skip} suppresses nothing: remove it"
        assert skip not in scan["failed"]["as-built"], f"checkov did not read {skip}"
        assert len(comment) > 60, skip


def test_a_user_app_gets_the_acknowledgements_of_the_example_app(scan):
    """The acknowledgements come with the constructs, whatever the ids around them."""
    for profile in Compliance:

        def checks(app: str) -> set[str]:
            return {check for (owner, _, _, check) in scan["skips"] if owner == app}

        assert checks(f"user-{profile.value}") == checks(f"example-{profile.value}")


def test_the_reliability_doc_lists_every_acknowledged_check(scan):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    section = doc.split("## checkov", 1)[1].split("\n## ", 1)[0]
    for check in sorted({check for (_, _, _, check) in scan["skips"]}):
        assert check in section, check


def test_acknowledge_checkov_merges_with_the_metadata_already_there():
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    resource = cdk.CfnResource(stack, "Queue", type="AWS::SQS::Queue")
    resource.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_1", "comment": "theirs"}]})
    resource.add_metadata("other", {"kept": True})
    acknowledge_checkov(resource, "CKV_AWS_27", "first")
    acknowledge_checkov(resource, "CKV_AWS_27", "second")  # one entry per check, the last
    metadata = app.synth().get_stack_by_name("Stack").template["Resources"]["Queue"]["Metadata"]
    assert metadata["checkov"] == {
        "skip": [
            {"id": "CKV_AWS_1", "comment": "theirs"},
            {"id": "CKV_AWS_27", "comment": "second"},
        ]
    }
    assert metadata["other"] == {"kept": True}
    with pytest.raises(TypeError, match="not a CloudFormation resource"):
        acknowledge_checkov(stack, "CKV_AWS_27", "a stack is no resource")
