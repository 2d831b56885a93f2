"""Manifests offline: `etl-pipeline run` uploads FILE.manifest.json beside FILE, reports a
DUPLICATE (exit 0: nothing failed), and the runtime's Wait states are capped."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import pytest

from etl_constructs.local import cli
from etl_constructs.local.moto_compat import ShortWaits
from tests.unit.handlers.handlers_testkit import csv_bytes, row

pytestmark = pytest.mark.xdist_group("moto-runtime")
ROOT = Path(__file__).resolve().parents[2]


def test_wait_states_are_capped_locally_inside_maps_too() -> None:
    definition = {
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Wait", "Seconds": 60, "Next": "Map"},
            "Short": {"Type": "Wait", "Seconds": 0, "Next": "Map"},
            "Until": {"Type": "Wait", "TimestampPath": "$.t", "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Wait", "Seconds": 3600, "End": True}},
                },
                "End": True,
            },
        },
    }
    rewritten = ShortWaits(cap=2).rewrite(definition)
    assert rewritten["States"]["Poll"]["Seconds"] == 2
    assert rewritten["States"]["Short"]["Seconds"] == 0
    assert rewritten["States"]["Until"] == definition["States"]["Until"]
    assert rewritten["States"]["Map"]["ItemProcessor"]["States"]["Inner"]["Seconds"] == 2
    assert definition["States"]["Poll"]["Seconds"] == 60  # the synthesized one is untouched


def test_run_uploads_the_manifest_beside_each_file(tmp_path) -> None:
    data = csv_bytes(row(1, amount="10.00"), row(2, amount="2.50", kind="CREDIT"))
    declared = {
        "rows": 2,
        "totals": {"EUR": {"count": 2, "debit": "10.00", "credit": "2.50"}},
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    for name in ("first.csv", "resent.csv", "alone.csv"):
        (tmp_path / name).write_bytes(data if name != "alone.csv" else data.replace(b"t-1", b"t-9"))
    for name in ("first.csv", "resent.csv"):
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(declared))
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(
            [
                "run",
                *(str(tmp_path / n) for n in ("first.csv", "resent.csv", "alone.csv")),
                "--out",
                str(tmp_path / "out"),
                "--json",
                "--project",
                str(ROOT),
                "-c",
                "manifestWaitSeconds=2",
                "-c",
                "duplicateFiles=true",
            ]
        )
    results = {Path(r["file"]).name: r for r in map(json.loads, stdout.getvalue().splitlines())}
    # the two run at once: whichever claimed the bytes first succeeds, the other repeats it
    pair = sorted((results[n] for n in ("first.csv", "resent.csv")), key=lambda r: r["status"])
    duplicate, original = pair
    assert (duplicate["status"], original["status"]) == ("DUPLICATE", "SUCCEEDED"), pair
    assert duplicate["error"] == f"DUPLICATE: same bytes as job {original['job_id']}"
    assert duplicate["rows"] == {"read": 2} and "totals" not in duplicate
    alone = results["alone.csv"]
    assert alone["status"] == "FAILED" and alone["error"].startswith("MANIFEST_MISSING:")
    assert code == cli.EXIT_FAILED  # alone.csv failed
