"""Review of issue 19: a reprocess that fails after an earlier attempt SUCCEEDED. The
contract keeps that attempt's outputs in place ("a reprocess that fails leaves the
previous successful outputs where they were"; readers follow the last SUCCEEDED entry of
``attempts``), so its transactions stay posted; yet the job is FAILED now, and the checks
that keep the same transactions from being posted twice treat it as having posted
nothing."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from etl_constructs import LargeFiles, SeenIdsPolicy
from etl_constructs.manifests import ManifestPolicy
from tests.adversarial.kit import csv, manifest, pipeline, put, row, run

pytestmark = pytest.mark.xdist_group("adversarial-ops")

MONDAY = csv(row("m1"), row("m2"), row("m3"))
TUESDAY = csv(row("m1"), row("m2"), row("n1"))


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Monday SUCCEEDS; its manifest is replaced by a wrong one and Monday reprocessed
    (attempt 2 FAILED, attempt 1's outputs still in the bucket); then Tuesday repeats two
    of Monday's ids, and Monday's bytes arrive again under a new name."""
    with pipeline(
        tmp_path_factory.mktemp("cdk.out.r19.reprocess"),
        "rvreproc",
        seen_ids=SeenIdsPolicy(),
        duplicate_files=True,
        max_reject_rate=0.9,
        large_files=LargeFiles.off(),
        manifest=ManifestPolicy(wait=cdk.Duration.seconds(2), poll=cdk.Duration.seconds(1)),
    ) as local:
        monday = run(local, "monday.csv", MONDAY, manifest(MONDAY, rows=3, count=3, debit="30.00"))
        assert monday["status"] == "SUCCEEDED", monday.get("error")
        put(local, "raw/monday.csv.manifest.json", manifest(MONDAY, rows=3, count=3, debit="9.99"))
        assert local.reprocess(monday["jobId"])[0] == 202
        monday = local.wait_job(monday["jobId"], timeout=300)
        assert monday["status"] == "FAILED", monday
        (first,) = monday["attempts"]
        assert first["status"] == "SUCCEEDED"  # its outputs are still delivered:
        assert list(local._keys(first["outputs"]["enriched"])) == [first["outputs"]["enriched"]]
        tuesday = run(
            local, "tuesday.csv", TUESDAY, manifest(TUESDAY, rows=3, count=3, debit="30.00")
        )
        again = run(
            local, "monday-again.csv", MONDAY, manifest(MONDAY, rows=3, count=3, debit="30.00")
        )
        return monday, tuesday, again


def test_ids_posted_by_an_attempt_that_succeeded_stay_claimed_after_a_failed_reprocess(story):
    """Tuesday's m1 and m2 were posted by Monday's attempt 1 (its enriched object is in
    the bucket and named by its attempts entry). Expected: rejected
    DUPLICATE_ACROSS_FILES. Observed: Tuesday SUCCEEDS with 3 valid rows: m1 and m2 are
    posted twice."""
    _, tuesday, _ = story
    assert tuesday["status"] == "SUCCEEDED", tuesday.get("error")
    assert (tuesday["rows"]["valid"], tuesday["rows"]["rejected"]) == (1, 2)


def test_a_file_whose_bytes_an_earlier_attempt_posted_is_still_a_duplicate(story):
    """Monday's bytes again under a new key, after Monday's failed reprocess. Expected:
    DUPLICATE of Monday (its attempt 1 delivered these bytes). Observed: SUCCEEDED and
    processed again (here only m3 gets through, because Tuesday took m1 and m2 meanwhile;
    without the seen-ids check all three rows would be posted a second time)."""
    monday, _, again = story
    assert (again["status"], again.get("duplicateOf")) == ("DUPLICATE", monday["jobId"])
