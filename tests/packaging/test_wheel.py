"""The wheel carries the handler code: a consumer app in a fresh venv synthesizes real functions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

CONSUMER_APP = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import etl_constructs
    import aws_cdk as cdk
    from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore, ControlApi

    app = cdk.App(outdir="out")
    stack = cdk.Stack(app, "Consumer")
    bucket = IngestionBucket(stack, "Landing", environment_suffix="team1")
    jobs = MetadataStore(stack, "Jobs", environment_suffix="team1")
    flow = EtlWorkflow(
        stack, "Flow", environment_suffix="team1", bucket=bucket.bucket, table=jobs.table
    )
    ControlApi(stack, "Api", environment_suffix="team1", bucket=bucket.bucket, table=jobs.table,
               state_machine=flow.state_machine)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Consumer").template
    handlers = {}
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function" and "Handler" in res["Properties"]:
            asset_hash = res["Properties"]["Code"]["S3Key"].split(".")[0]
            asset = Path("out") / f"asset.{asset_hash}"
            module = res["Properties"]["Handler"].rsplit(".", 1)[0].replace(".", "/") + ".py"
            handlers[res["Properties"]["FunctionName"]] = (asset / module).is_file()
    print(json.dumps({"package": etl_constructs.__file__, "handlers": handlers}))
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(outdir),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = outdir.glob("etl_constructs-*.whl")
    return built


def test_wheel_contains_constructs_and_every_handler(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "etl_constructs/__init__.py",
        "etl_constructs/py.typed",
        "etl_constructs/sdk_for_pandas_layers.json",
        "etl_constructs/_handlers/etl_handlers/core/default_schema.json",
        "etl_constructs/_handlers/etl_handlers/core/refdata.json",
        "etl_constructs/_handlers/etl_handlers/trigger/handler.py",
        "etl_constructs/_handlers/etl_handlers/validator/handler.py",
        "etl_constructs/_handlers/etl_handlers/transformer/handler.py",
        "etl_constructs/_handlers/etl_handlers/enricher/handler.py",
        "etl_constructs/_handlers/etl_handlers/quality_check/handler.py",
        "etl_constructs/_handlers/etl_handlers/api/handler.py",
    ):
        assert required in names, required
    assert not any(
        "__pycache__" in n or n.startswith(("tests/", "stacks/", "examples/")) for n in names
    )


def test_consumer_app_in_a_fresh_venv_synthesizes_working_functions(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Dependencies (aws-cdk-lib, cdk-nag, ...) come from the dev venv; the package itself does not:
    # a .pth line adds that site-packages without processing the editable install hook in it.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = tmp_path / "consumer"
    workdir.mkdir()
    (workdir / "app.py").write_text(CONSUMER_APP)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "app.py"], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(str(venv))
    assert report["handlers"] == {
        f"{name}-team1": True
        for name in ("trigger", "validator", "transformer", "enricher", "quality-check", "api")
    }


def test_cdk_cli_synthesizes_the_example_app(tmp_path):
    cdk_cli = Path(sys.executable).parent / "cdk"
    if not cdk_cli.exists():
        pytest.fail("the CDK CLI is missing from .venv/bin: run `make install`")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    result = subprocess.run(
        [
            str(cdk_cli),
            "synth",
            "--quiet",
            "-c",
            "environmentSuffix=cli",
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    produced = sorted(p.name for p in (tmp_path / "out").glob("*.template.json"))
    assert produced == [
        f"Etl{s}-cli.template.json" for s in ("Api", "Compute", "Monitoring", "Storage")
    ]
