"""jsii must start the virtualenv's Node, whatever PATH the user had."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from etl_constructs._node import prefer_virtualenv_node


def test_virtualenv_bin_goes_first(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    prefer_virtualenv_node()
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    before = os.environ["PATH"]
    prefer_virtualenv_node()  # idempotent
    assert os.environ["PATH"] == before


def test_no_node_in_the_venv_leaves_path_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", "/usr/bin")
    prefer_virtualenv_node()
    assert os.environ["PATH"] == "/usr/bin"
