"""Review of issue 19: sender manifests and duplicate files as senders really write them,
through the offline pipeline (manifests required, a two-second wait)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from etl_constructs import LargeFiles
from etl_constructs.manifests import ManifestPolicy
from tests.adversarial.kit import PAN, csv, manifest, pipeline, row, run

pytestmark = pytest.mark.xdist_group("adversarial-ops")

#: the most the state machine carries in one state (256 KiB); an error message must fit
STATE_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with pipeline(
        tmp_path_factory.mktemp("cdk.out.r19.manifests"),
        "rvmanifest",
        manifest=ManifestPolicy(wait=cdk.Duration.seconds(2), poll=cdk.Duration.seconds(1)),
        duplicate_files=True,
        large_files=LargeFiles.off(),
    ) as started:
        yield started


def test_a_deeply_nested_manifest_fails_manifest_invalid(local):
    """200 KB of nested brackets (well under the 1 MiB manifest limit): the job should end
    FAILED with MANIFEST_INVALID naming the problem; it ends FAILED with error.code
    'RecursionError' and a message pointing to the execution history."""
    body = csv(row("deep-1"))
    job = run(local, "deep.csv", body, b"[" * 100_000 + b"]" * 100_000)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "MANIFEST_INVALID", job["error"]


def test_a_manifest_with_a_huge_currency_key_fails_manifest_invalid_with_a_short_message(local):
    """A 600,000-character currency key (the manifest is under 1 MiB, so it is parsed):
    expected MANIFEST_INVALID with a message that fits a record; observed FAILED with
    error.code States.DataLimitExceeded."""
    body = csv(row("huge-1"))
    job = run(
        local, "huge-key.csv", body, json.dumps({"rows": 1, "totals": {"X" * 600_000: {}}}).encode()
    )
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "MANIFEST_INVALID", job["error"]
    assert len(job["error"]["message"]) < STATE_LIMIT


def test_manifest_missing_never_writes_a_card_number_into_the_error(local):
    """Contract (Job record): error.message is never a card number. A file named after a
    PAN (senders do name files after accounts) without its manifest: the message holds the
    16 digits in clear (the MANIFEST_INVALID message masks the same digits in a key).
    A name that is a card number is refused before any manifest is looked for
    (CARD_NUMBER_IN_NAME); one glued to another digit is processed, and scrubbed."""
    job = run(local, f"{PAN}.csv", csv(row("pan-1")))
    assert job["error"]["code"] == "CARD_NUMBER_IN_NAME"
    assert PAN not in json.dumps(job)
    job = run(local, f"9{PAN}.csv", csv(row("pan-2")))
    assert job["error"]["code"] == "MANIFEST_MISSING"
    assert PAN not in job["error"]["message"]


def test_a_manifest_with_a_byte_order_mark_is_read_or_refused_saying_so(local):
    """Expected: the manifest is read (RFC 8259 lets parsers ignore a BOM), or refused
    with a message a sender can act on (it names the byte order mark). Observed: 'it is
    not JSON (JSONDecodeError at line 1 column 1)' for a document that is valid JSON,
    while a data file that starts with the same mark is read (both paths)."""
    body = csv(row("bom-1"))
    job = run(
        local, "bom.csv", body, b"\xef\xbb\xbf" + manifest(body, rows=1, count=1, debit="10.00")
    )
    message = (job.get("error") or {}).get("message", "")
    assert job["status"] == "SUCCEEDED" or "byte order mark" in message.lower(), message


def test_a_duplicate_job_record_carries_no_totals(local):
    """docs/pipeline-contract.md, Duplicate files: a DUPLICATE job has `rows: {"read": N}`,
    no `totals`, no outputs. Its record has `totals: {}`, which a reader summing totals
    per job takes for a delivered file with no rows."""
    body = csv(row("dup-1"), row("dup-2"))
    sent = manifest(body, rows=2, count=2, debit="20.00")
    first = run(local, "first.csv", body, sent)
    assert first["status"] == "SUCCEEDED", first.get("error")
    again = run(local, "again.csv", body, sent)
    assert (again["status"], again["duplicateOf"]) == ("DUPLICATE", first["jobId"])
    assert again["rows"] == {"read": 2}
    assert "totals" not in again
