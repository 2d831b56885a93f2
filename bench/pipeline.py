"""``python -m bench.pipeline``: the marginal cost of a file through the offline pipeline.

One process synthesizes the example app once and stands it up in moto (the fixed costs a
``etl-pipeline run`` pays once), then times a tiny file and a big one through the whole
pipeline (S3 upload, EventBridge delivery, trigger, state machine, the three steps, the job
record). The big file's extra seconds over the tiny one, per extra row, is the pipeline's
marginal speed; it is printed beside the chain alone (the same core functions over local
files, same process, same file), so the ratio says what the runtime around the chain adds.

What the runtime adds is mostly S3 I/O, which the chain alone does not do: the steps stream
their input from S3 and write every output there. Two CPU counts split it per file, and the
marginal speed is printed without each:

* ``emulated_aws``: moto answering the AWS calls in-process (storing, checksumming and
  serving the objects: work AWS's servers do in a deployment);
* ``s3_io``: all S3 I/O, moto's part included: the SDK's S3 calls, reading response bodies
  (with the SDK's CRC32 check of each) and the CRC32 the handlers compute of each part they
  send (work the functions do on Lambda too). Without it, what is left is the chain plus
  the runtime (events, trigger, state machine, job records).

    python -m bench.pipeline --rows 100k      # or 1M; pinned to one core with --cpu

``--cli`` times the command a user runs instead, ``etl-pipeline run`` in a fresh process
per run, with the fixed costs each run pays (imports, moto, the cached synth, the export):

    python -m bench.pipeline --cli --rows 1M --profile realistic --runs 5

It prints the first run in a fresh project (cold: it synthesizes), the median of ``--runs``
runs of a 100-row file (warm: the synth comes from the project's cache) and of
``--big-runs`` of the big file, each in wall seconds, CPU seconds (user + system) and peak
RSS; the big file's marginal rows/s (its run less the small file's) beside the chain
alone's, in wall and in CPU seconds (the fair measure when other work shares the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.generate import ensure

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "5M": 5_000_000}
TINY_ROWS = 100


def _chain_seconds(path: Path, *, curated: bool) -> float:
    """The chain alone, as the handlers run it, over local files (the modules the pipeline
    imported from its asset; the steps as ``python -m bench`` times them): validate,
    transform, enrich, and with ``curated`` the curated Parquet the enrich step writes when
    the pipeline has it on, so both sides of the ratio do the same work."""
    from bench.engines import ours_step

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for step in ("validate", "transform"):
            ours_step(step, path, Path(scratch))
        # ours_step has no "curate" step (it ran the enrich step a second time): the enrich
        # step builds the curated files itself, as the enricher does
        ours_step("enrich", path, Path(scratch), curated=curated)
    return time.perf_counter() - started


def _writes_curated(job: dict[str, Any]) -> bool:
    """Whether the job wrote the curated dataset (the default local pipeline does)."""
    return bool((job.get("outputs") or {}).get("curated"))


class _CpuSeconds:
    """CPU seconds spent inside the wrapped functions, on any thread, while installed: the
    outermost call counts (one wrapped function called from another is not counted twice).
    Each target is (owner, attribute name, which calls count: None for all)."""

    def __init__(self, *targets: tuple[Any, str, Callable[..., bool] | None]) -> None:
        self.seconds = 0.0
        self._targets = targets
        self._originals: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()
        self._depth = threading.local()

    def __enter__(self) -> _CpuSeconds:
        for owner, name, wanted in self._targets:
            original = getattr(owner, name)
            self._originals.append((owner, name, original))
            setattr(owner, name, self._counted(original, wanted))
        return self

    def _counted(self, original: Any, wanted: Callable[..., bool] | None) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._depth, "value", 0)
            if depth or (wanted is not None and not wanted(*args)):
                return original(*args, **kwargs)
            self._depth.value = 1
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                self._depth.value = 0
                with self._lock:
                    self.seconds += spent

        return counted

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)


def _emulated_aws() -> _CpuSeconds:
    """moto answering the AWS calls (it stands in for AWS's servers)."""
    from moto.core.botocore_stubber import BotocoreStubber

    return _CpuSeconds((BotocoreStubber, "__call__", None))


def _s3_io() -> _CpuSeconds:
    """Everything S3 I/O costs: the S3 calls (the SDK's work and moto's answers), reading
    response bodies (with the SDK's CRC32 check of each), the CRC32 the handlers compute of
    each part they send (``etl_handlers.aws.s3io`` as the pipeline loaded it from the asset)."""
    from botocore.client import BaseClient
    from botocore.httpchecksum import StreamingChecksumBody
    from botocore.response import StreamingBody

    def s3(client: Any, *_: Any) -> bool:
        return bool(client.meta.service_model.service_name == "s3")

    return _CpuSeconds(
        (BaseClient, "_make_api_call", s3),
        (StreamingBody, "read", None),
        (StreamingChecksumBody, "read", None),  # its own read: the CRC32 check, then the base's
        (sys.modules["etl_handlers.aws.s3io"], "crc32_header", None),
    )


def _through_pipeline(
    pipeline: Any, path: Path, key: str, *counters: _CpuSeconds
) -> tuple[float, list[float], dict]:
    """(wall seconds, the CPU seconds of each counter spent on it, the job record)."""
    started, before = time.perf_counter(), [counter.seconds for counter in counters]
    obj = pipeline.upload(path, key)
    job = pipeline.wait([obj], timeout=3600)[obj]
    elapsed = time.perf_counter() - started
    if not job or job.get("status") != "SUCCEEDED":
        raise SystemExit(f"{path.name}: the job did not succeed: {job and job.get('error')}")
    spent = [counter.seconds - was for counter, was in zip(counters, before, strict=True)]
    return elapsed, spent, job


def _timed_run(command: list[str], *, cwd: Path) -> dict[str, float]:
    """One process of ``command``: wall and CPU seconds, peak RSS in MB."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: a file failed, which the bench files do not
        raise SystemExit(f"{' '.join(command)}: exit status {process.returncode}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
    }


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: round(statistics.median(run[name] for run in runs), 3) for name in runs[0]}


def _cli(args: argparse.Namespace) -> int:
    """``etl-pipeline run`` as a user runs it (see the module's docstring)."""
    big = ensure(SIZES[args.rows], profile=args.profile)
    small = ensure(TINY_ROWS, profile=args.profile)
    command = [sys.executable, "-m", "etl_constructs.local.cli", "run"]
    report: dict[str, Any] = {"rows": SIZES[args.rows], "profile": args.profile}
    with tempfile.TemporaryDirectory() as project:  # no cdk.json: the default pipeline
        out = Path(project, "out")
        run = [*command, "--out", str(out)]
        report["cold_small"] = _timed_run([*run, str(small)], cwd=Path(project))
        smalls = [_timed_run([*run, str(small)], cwd=Path(project)) for _ in range(args.runs)]
        bigs = [_timed_run([*run, str(big)], cwd=Path(project)) for _ in range(args.big_runs)]
        job = json.loads((out / "jobs.json").read_text())[0]
    report["warm_small"] = _median_run(smalls)
    report["big"] = _median_run(bigs)
    report["big_runs"] = bigs
    if job.get("status") != "SUCCEEDED":
        raise SystemExit(f"{big.name}: the job did not succeed: {job.get('error')}")
    extra_rows = int(job["rows"]["input"]) - TINY_ROWS
    curated = _writes_curated(job)
    report["chain_includes_curated"] = curated
    _chain_seconds(small, curated=curated)  # its imports, paid once by a run too
    chains = []
    for _ in range(args.big_runs):
        cpu = time.process_time()
        wall = _chain_seconds(big, curated=curated)
        chains.append({"wall_s": wall, "cpu_s": time.process_time() - cpu})
    chain = _median_run(chains)
    for measure in ("wall_s", "cpu_s"):  # on a busy machine, CPU seconds are the fair ones
        name = measure[:-2]
        chain_rate = int(job["rows"]["input"]) / chain[measure]
        rate = extra_rows / (report["big"][measure] - report["warm_small"][measure])
        report[f"chain_alone_rows_per_s_{name}"] = round(chain_rate)
        report[f"marginal_rows_per_s_{name}"] = round(rate)
        report[f"marginal_vs_chain_{name}"] = round(rate / chain_rate, 2)
    for name, value in report.items():
        print(f"{name:<28}  {value}")
    print(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100k", choices=list(SIZES))
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    parser.add_argument("--cli", action="store_true", help="time `etl-pipeline run` runs")
    parser.add_argument("--profile", default="clean", help="the input profile (--cli)")
    parser.add_argument("--runs", type=int, default=5, help="small-file runs (--cli)")
    parser.add_argument("--big-runs", type=int, default=1, help="big-file runs (--cli)")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.cpu})
    if args.cli:
        return _cli(args)
    rows = SIZES[args.rows]
    big = ensure(rows)
    tiny = ensure(TINY_ROWS)

    from etl_constructs.local import LocalPipeline
    from etl_constructs.local.assembly import synthesize

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        assembly = synthesize(Path(outdir), project_dir=ROOT)
        synth = time.perf_counter() - started
        with LocalPipeline(assembly, log_path=Path(outdir) / "pipeline.log") as pipeline:
            setup = time.perf_counter() - started - synth
            _through_pipeline(pipeline, tiny, "raw/bench/warm-up.csv")  # first calls, imports
            with _emulated_aws() as aws, _s3_io() as s3:
                tiny_seconds, tiny_spent, _ = _through_pipeline(
                    pipeline, tiny, "raw/bench/tiny.csv", aws, s3
                )
                big_seconds, big_spent, job = _through_pipeline(
                    pipeline, big, "raw/bench/big.csv", aws, s3
                )
        # the same modules, while their asset still exists
        chain = _chain_seconds(big, curated=_writes_curated(job))
    marginal_rows = job["rows"]["input"] - TINY_ROWS
    marginal = marginal_rows / max(big_seconds - tiny_seconds, 1e-9)
    chain_rate = job["rows"]["input"] / chain
    report: dict[str, Any] = {
        "rows": job["rows"]["input"],
        "synth_seconds": round(synth, 2),
        "moto_setup_seconds": round(setup, 2),
        "tiny_file_seconds": round(tiny_seconds, 2),
        "big_file_seconds": round(big_seconds, 2),
        "pipeline_marginal_rows_per_s": round(marginal),
        "chain_alone_rows_per_s": round(chain_rate),
        "pipeline_vs_chain": round(marginal / chain_rate, 2),
    }
    # Wall seconds less CPU seconds: meaningful on one core (the default), where the wall
    # time is the CPU time of every thread plus waits; approximate all the same.
    counted = zip(("emulated_aws", "s3_io"), tiny_spent, big_spent, strict=True)
    for name, tiny_part, big_part in counted:
        extra = big_seconds - big_part - (tiny_seconds - tiny_part)
        rate = marginal_rows / extra if extra > 0 else None  # None: not measurable
        report[f"{name}_seconds_tiny_big"] = [round(tiny_part, 2), round(big_part, 2)]
        report[f"marginal_without_{name}_rows_per_s"] = rate and round(rate)
        report[f"without_{name}_vs_chain"] = rate and round(rate / chain_rate, 2)
    width = max(map(len, report))
    for name, value in report.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
