"""A big file goes up in parts, never whole in memory, and comes back byte for byte; what a
job is doing reads as its step and the bytes of its input read."""

from __future__ import annotations

import threading

import pytest

from etl_constructs.local import moto_compat
from etl_constructs.local import pipeline as pipeline_module
from etl_constructs.local.assembly import synthesize
from etl_constructs.local.pipeline import LocalPipeline

pytestmark = pytest.mark.xdist_group("moto-runtime")
MiB = 1024 * 1024


def test_a_file_over_one_part_is_uploaded_in_parts_and_reads_back_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no cdk.json: the default pipeline
    monkeypatch.setattr(pipeline_module, "UPLOAD_PART_SIZE", 5 * MiB)
    assembly = synthesize(tmp_path / "assembly")
    body = b"transaction_id,amount\n" + b"".join(
        b"t%09d,%d.00\n" % (n, n % 997) for n in range(700_000)
    )
    assert len(body) > 2 * 5 * MiB
    source = tmp_path / "big.csv"
    source.write_bytes(body)
    # no executions: a job reading the file in the background would move the progress read
    with LocalPipeline(assembly, log_path=tmp_path / "log", executions=False) as pipeline:
        key, version = pipeline.upload(source)
        assert key == "raw/big.csv" and version
        head = pipeline.s3.head_object(Bucket=pipeline.bucket, Key=key, VersionId=version)
        assert head["ContentLength"] == len(body)
        assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + the rest MiB
        stream = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"]
        assert pipeline.activity((key, version)) == "waiting for its trigger"
        first = stream.read(MiB)
        assert pipeline.activity((key, version)) == (
            f"waiting for its trigger, {MiB / 1e6:.1f} of {len(body) / 1e6:.1f} MB read"
        )
        assert first + stream.read() == body
        assert moto_compat.LAST_READ.done == len(body)
        assert pipeline.activity((key, version)) == "waiting for its trigger"  # read through
        # while a function runs (it holds the functions' lock), a poll still answers
        with pipeline.functions._lock:
            answered = []
            poll = threading.Thread(
                target=lambda: answered.append(pipeline.activity((key, version)))
            )
            poll.start()
            poll.join(timeout=10)
            assert answered == ["waiting for its trigger"]


def test_the_pipeline_keeps_its_standing_heap_from_the_collector_while_open(tmp_path, monkeypatch):
    """moto's and botocore's objects, alive for the whole run, are frozen while the
    pipeline is open (full collections skip them) and handed back when it closes; a
    process that froze objects itself keeps them frozen, and what it froze is not touched."""
    import gc

    monkeypatch.chdir(tmp_path)
    assembly = synthesize(tmp_path / "assembly")
    gc.unfreeze()
    with LocalPipeline(assembly, log_path=tmp_path / "log", executions=False):
        assert gc.get_freeze_count() > 100_000
        pending = [object()]  # made after the start: the collector still sees it
        assert gc.is_tracked(pending) and gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    theirs = gc.get_freeze_count()
    try:
        # frozen objects still go when nothing refers to them: the count only falls
        with LocalPipeline(assembly, log_path=tmp_path / "log2", executions=False):
            assert theirs / 2 < gc.get_freeze_count() <= theirs  # nothing of its own
        assert theirs / 2 < gc.get_freeze_count() <= theirs  # not unfrozen
    finally:
        gc.unfreeze()
