"""The wheel carries the handler code (tests/consumer runs apps on the installed wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


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
        f"Etl{s}-cli.template.json"
        for s in ("Analytics", "Api", "Compute", "Monitoring", "Storage")
    ]
