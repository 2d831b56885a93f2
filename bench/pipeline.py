"""``python -m bench.pipeline``: the marginal cost of a file through the offline pipeline.

One process synthesizes the example app once and stands it up in moto (the fixed costs a
``etl-pipeline run`` pays once), then times a tiny file and a big one through the whole
pipeline (S3 upload, EventBridge delivery, trigger, state machine, the three steps, the job
record). The big file's extra seconds over the tiny one, per extra row, is the pipeline's
marginal speed; it is printed beside the chain alone (the same core functions over local
files, same process, same file), so the ratio says what the runtime around the chain adds.

Part of that is moto answering the AWS calls in-process: storing, checksumming and serving
the objects the steps stream (work AWS's servers do in a deployment). The CPU seconds moto
spends answering calls are counted per file, and the marginal speed is also printed without
them: what the runtime itself adds per row. (The count includes botocore reading each request
body as moto consumes it, so it is slightly high.)

    python -m bench.pipeline --rows 100k      # or 1M; pinned to one core with --cpu
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from bench.generate import ensure

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
TINY_ROWS = 100


def _chain_seconds(path: Path) -> float:
    """The chain alone, as the handlers run it, over a local file (the modules the pipeline
    imported from its asset)."""
    from shared.enrich import EnrichMetadata, enrich_stream
    from shared.schema import load_schema
    from shared.transform import transform_stream
    from shared.validation import validate_stream

    schema = load_schema(None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        valid, processed = Path(scratch, "valid.csv"), Path(scratch, "processed.jsonl")
        with path.open("rb") as source, valid.open("wb") as sink:
            validate_stream(source, sink, io.BytesIO(), schema=schema, max_reject_rate=Decimal(1))
        with valid.open("rb") as source, processed.open("wb") as sink:
            transform_stream(source, sink, schema=schema)
        metadata = EnrichMetadata(
            job_id="bench",
            source_key="raw/bench.csv",
            processed_at="2026-01-01T00:00:00Z",
            pipeline_version="bench",
        )
        with processed.open("rb") as source, open(os.devnull, "wb") as sink:
            enrich_stream(source, sink, metadata=metadata, schema=schema)
    return time.perf_counter() - started


class _EmulatedAws:
    """CPU seconds moto spends answering intercepted AWS calls, on any thread (while
    installed: it wraps moto's request handler)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> _EmulatedAws:
        from moto.core.botocore_stubber import BotocoreStubber

        self._answer = answer = BotocoreStubber.__call__

        def counted(stubber: object, *args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return answer(stubber, *args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds += spent

        BotocoreStubber.__call__ = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        BotocoreStubber.__call__ = self._answer  # type: ignore[method-assign]


def _through_pipeline(
    pipeline, path: Path, key: str, aws: _EmulatedAws
) -> tuple[float, float, dict]:
    """(wall seconds, seconds of them moto spent answering AWS calls, the job record)."""
    started, answering = time.perf_counter(), aws.seconds
    obj = pipeline.upload(path, key)
    job = pipeline.wait([obj], timeout=3600)[obj]
    elapsed = time.perf_counter() - started
    if not job or job.get("status") != "SUCCEEDED":
        raise SystemExit(f"{path.name}: the job did not succeed: {job and job.get('error')}")
    return elapsed, aws.seconds - answering, job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100k", choices=sorted(SIZES))
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.cpu})
    rows = SIZES[args.rows]
    big = ensure(rows)
    tiny = ensure(TINY_ROWS)

    from etl_constructs.local import LocalPipeline
    from etl_constructs.local.assembly import synthesize

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        assembly = synthesize(Path(outdir), project_dir=ROOT)
        synth = time.perf_counter() - started
        with (
            LocalPipeline(assembly, log_path=Path(outdir) / "pipeline.log") as pipeline,
            _EmulatedAws() as aws,
        ):
            setup = time.perf_counter() - started - synth
            _through_pipeline(pipeline, tiny, "raw/bench/warm-up.csv", aws)  # first calls
            tiny_seconds, tiny_aws, _ = _through_pipeline(pipeline, tiny, "raw/bench/tiny.csv", aws)
            big_seconds, big_aws, job = _through_pipeline(pipeline, big, "raw/bench/big.csv", aws)
        chain = _chain_seconds(big)  # the same modules, while their asset still exists
    marginal_rows = job["rows"]["input"] - TINY_ROWS
    marginal = marginal_rows / max(big_seconds - tiny_seconds, 1e-9)
    # Wall seconds less CPU seconds: meaningful on one core (the default), where the wall
    # time is the CPU time of every thread plus waits; approximate all the same.
    without_aws = big_seconds - big_aws - (tiny_seconds - tiny_aws)
    runtime = marginal_rows / without_aws if without_aws > 0 else None  # None: not measurable
    chain_rate = job["rows"]["input"] / chain
    report = {
        "rows": job["rows"]["input"],
        "synth_seconds": round(synth, 2),
        "moto_setup_seconds": round(setup, 2),
        "tiny_file_seconds": round(tiny_seconds, 2),
        "big_file_seconds": round(big_seconds, 2),
        "pipeline_marginal_rows_per_s": round(marginal),
        "chain_alone_rows_per_s": round(chain_rate),
        "pipeline_vs_chain": round(marginal / chain_rate, 2),
        "emulated_aws_seconds_tiny_big": [round(tiny_aws, 2), round(big_aws, 2)],
        "marginal_without_emulated_aws_rows_per_s": runtime and round(runtime),
        "without_emulated_aws_vs_chain": runtime and round(runtime / chain_rate, 2),
    }
    width = max(map(len, report))
    for name, value in report.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
