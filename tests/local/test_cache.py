"""The synth cache: a second run with the same inputs reuses the assembly; a change to the
app, a -c value, a file the app reads (a schema) or the library gives a fresh synth, and
--no-cache always does."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from etl_constructs.local import cache as cache_module
from etl_constructs.local import cli
from etl_constructs.local.assembly import CloudAssembly
from etl_constructs.local.cache import AssemblyCache


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "cdk.json").write_text(json.dumps({"app": "python app.py"}))
    (folder / "app.py").write_text("print('the app')\n")
    (folder / "schema.json").write_text('{"columns": []}\n')
    return folder


class _Synth:
    """Stands in for the synth (no jsii): writes a one-stack assembly, counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, outdir: Path, *, project_dir, context) -> CloudAssembly:
        self.calls += 1
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "Stack.template.json").write_text(
            json.dumps({"Resources": {}, "Metadata": {"synth": self.calls}})
        )
        manifest = {
            "artifacts": {
                "Stack": {
                    "type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "Stack.template.json"},
                }
            }
        }
        (outdir / "manifest.json").write_text(json.dumps(manifest))
        return CloudAssembly.load(outdir)


def _assembly(project: Path, out: Path, *, context=None, no_cache=False) -> CloudAssembly:
    args = argparse.Namespace(json=True, no_cache=no_cache)
    return cli._assembly(args, project=project, context=context or {}, out=out)


def test_a_second_run_reuses_the_synth_until_an_input_changes(project, tmp_path, monkeypatch):
    synth = _Synth()
    monkeypatch.setattr(cli, "synthesize", synth)
    out = tmp_path / "out"

    def synth_number(**kwargs) -> int:
        return _assembly(project, out, **kwargs).templates["Stack"]["Metadata"]["synth"]

    assert synth_number() == 1
    assert synth_number() == 1 and synth.calls == 1  # reused, from the cache
    assert (out / cli.ASSEMBLY_DIR / "manifest.json").is_file()
    assert (project / ".etl-pipeline" / "cache").is_dir()
    assert synth_number(no_cache=True) == 2  # --no-cache: synthesized afresh
    assert synth_number(context={"compliance": "strict"}) == 3  # another -c value
    assert synth_number(context={"compliance": "strict"}) == 3
    (project / "app.py").write_text("print('the app, edited')\n")
    assert synth_number(context={"compliance": "strict"}) == 4  # the app changed
    (project / "schema.json").write_text('{"columns": ["id"]}\n')
    assert synth_number(context={"compliance": "strict"}) == 5  # a file the app reads
    assert synth_number(context={"compliance": "strict"}) == 5


def test_the_key_covers_the_library_and_leaves_out_outputs_and_hidden_folders(project, monkeypatch):
    cache = AssemblyCache(project)
    key = cache.key(context={"a": "1"}, has_cdk_json=True, skip=[project / "etl-out"])
    (project / "etl-out").mkdir()
    (project / "etl-out" / "jobs.json").write_text("[]")  # the run's own output
    (project / "cdk.out").mkdir()
    (project / "cdk.out" / "x.json").write_text("{}")
    (project / ".venv").mkdir()
    (project / ".venv" / "y.py").write_text("")
    assert cache.key(context={"a": "1"}, has_cdk_json=True, skip=[project / "etl-out"]) == key
    monkeypatch.setattr(cache_module, "_version", lambda name: "9.9.9")  # another release
    assert cache.key(context={"a": "1"}, has_cdk_json=True, skip=[project / "etl-out"]) != key


def test_a_large_file_counts_by_size_and_time_not_contents(project, monkeypatch):
    monkeypatch.setattr(cache_module, "CONTENT_LIMIT", 10)
    big = project / "data.bin"
    big.write_bytes(b"x" * 100)
    cache = AssemblyCache(project)
    key = cache.key(context={}, has_cdk_json=True)
    big.write_bytes(b"y" * 101)
    assert cache.key(context={}, has_cdk_json=True) != key


def test_an_unwritable_cache_folder_means_no_cache_not_a_failure(project, tmp_path):
    (project / ".etl-pipeline").write_text("a file where the cache folder would go")
    assembly_dir = tmp_path / "assembly"
    _Synth()(assembly_dir, project_dir=project, context={})
    assert AssemblyCache(project).put("k", assembly_dir) is None
    assert not AssemblyCache(project).get("k", tmp_path / "elsewhere")


def test_only_the_newest_entries_are_kept(project, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "KEEP", 2)
    assembly_dir = tmp_path / "assembly"
    _Synth()(assembly_dir, project_dir=project, context={})
    cache = AssemblyCache(project)
    for index, key in enumerate(("a", "b", "c")):
        entry = cache.put(key, assembly_dir)
        assert entry is not None
        os.utime(entry, (index, index))
    cache.put("d", assembly_dir)
    kept = sorted(p.name for p in cache.directory.iterdir() if not p.name.startswith("."))
    assert kept == ["c", "d"]
