"""`etl-pipeline run` with apps a user brings: its own bucket and table, a cdk-nag finding,
and the default pipeline under another compliance profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_constructs._contract import contract
from etl_constructs.local import cli
from etl_constructs.local.assembly import CloudAssembly, synthesize

pytestmark = pytest.mark.xdist_group("moto-runtime")
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DATA = ROOT / "examples" / "data" / "transactions-clean.csv"

PREAMBLE = f"""\
import sys

sys.path.insert(0, {str(SRC)!r})
from etl_constructs import use_virtualenv_node

use_virtualenv_node()
import aws_cdk as cdk
"""

IMPORTED = (
    PREAMBLE
    + """
from aws_cdk import aws_dynamodb as dynamodb, aws_s3 as s3

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore

app = cdk.App()
stack = cdk.Stack(app, "BringsItsOwn")
landing = IngestionBucket(
    stack,
    "Ingestion",
    environment_suffix="local",
    existing_bucket_obj=s3.Bucket.from_bucket_name(stack, "Team", "team-landing-bucket"),
)
jobs = MetadataStore(
    stack,
    "Metadata",
    environment_suffix="local",
    existing_table_obj=dynamodb.Table.from_table_name(stack, "Jobs", "team-jobs"),
)
EtlWorkflow(stack, "Workflow", environment_suffix="local", bucket=landing.bucket, table=jobs.table)
app.synth()
"""
)

FINDING = (
    PREAMBLE
    + """
from aws_cdk import aws_s3 as s3

from etl_constructs import compliance

app = cdk.App()
s3.Bucket(cdk.Stack(app, "Plain"), "Bucket")
compliance.add_nag_packs(app, "standard")
app.synth()
"""
)


def _project(folder: Path, app: str) -> Path:
    folder.mkdir()
    (folder / "app.py").write_text(app)
    (folder / "cdk.json").write_text(json.dumps({"app": "python app.py"}))
    return folder


def test_an_app_that_brings_its_own_bucket_and_table_runs(tmp_path, capsys, monkeypatch):
    project = _project(tmp_path / "app", IMPORTED)
    monkeypatch.setattr(cli, "_fast_path_available", lambda: False)
    out = tmp_path / "out"
    code = cli.main(["run", str(DATA), "--out", str(out), "--project", str(project)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    assert "note: bucket team-landing-bucket: the app imports it; stood up empty" in err
    assert "note: table team-jobs: the app imports it; stood up empty" in err
    assert "Traceback" not in err
    # a pip user without pyarrow is told why the run is slower than Lambda
    assert "pyarrow is not installed" in err
    (job,) = json.loads((out / "jobs.json").read_text())
    assert job["status"] == "SUCCEEDED"


def test_the_job_table_an_import_gets_is_the_metadata_stores(tmp_path):
    assembly = synthesize(tmp_path / "assembly", project_dir=None)
    (table,) = (r for r in assembly.resources() if r.type == "AWS::DynamoDB::Table")
    props = table.properties
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert [(k["AttributeName"], types[k["AttributeName"]]) for k in props["KeySchema"]] == list(
        contract.JOB_TABLE_KEYS
    )
    (index,) = props["GlobalSecondaryIndexes"]
    assert [(k["AttributeName"], types[k["AttributeName"]]) for k in index["KeySchema"]] == list(
        contract.JOB_INDEX_KEYS
    )
    assert isinstance(CloudAssembly.load(tmp_path / "assembly"), CloudAssembly)


def test_a_synth_that_fails_on_findings_exits_3_and_shows_each_finding(tmp_path, capsys):
    project = _project(tmp_path / "app", FINDING)
    code = cli.main(["run", str(DATA), "--out", str(tmp_path / "out"), "--project", str(project)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_SYNTH
    for rule in ("AwsSolutions-S1", "AwsSolutions-S10"):
        assert f"Acknowledge with 'AwsSolutions::{rule}'" in err
    assert "Plain/Bucket/Resource" in err and "ERROR " in err
    assert "Traceback" not in err and "jsii/_kernel" not in err
    assert "ValidationFailed" in err


def test_the_default_pipeline_takes_the_compliance_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no cdk.json: the default pipeline
    strict = synthesize(tmp_path / "strict", context={"compliance": "STRICT"})  # any case
    types = {r.type for r in strict.resources()}
    assert "AWS::EC2::VPC" in types  # the functions in a VPC, as strict requires
    keys = [r for r in strict.resources() if r.type == "AWS::KMS::Key"]
    assert len(keys) >= 2  # the data key and the pipeline key


def test_the_default_pipeline_refuses_an_unknown_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", str(DATA), "-c", "compliance=gold", "--out", str(tmp_path / "o")])
    assert code == cli.EXIT_USAGE
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == (
        "etl-pipeline: error: -c compliance=gold: compliance profile 'gold' is unknown: "
        "use 'standard' or 'strict' (in any case)"
    )
