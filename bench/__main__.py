"""``python -m bench`` (``make bench``): throughput and peak memory of the chain and baselines.

Every run is a fresh process pinned to one core (``--cpu``, default the last one), engines
held to one thread; runs go in rounds (each round runs every engine once), and the figure
per engine and size is the median of ``--runs`` runs, all measured in the same invocation:
wall-clock rows/s, and rows per CPU-second of the process (less sensitive to other load on
a shared machine). ``reference`` is the chain on its pure-Python path (timed
``--reference-runs`` times, once by default: it is slow); every engine's rejects (row numbers
and codes) and totals are checked against it, and ``ours`` (the same chain on its columnar
fast path) must also write byte-identical outputs. Sizes: ``100k``, ``1M``, ``5M``
(``--sizes``; the default ``100k,1M`` takes a few minutes; CI runs none of this).

Outputs go to a RAM-backed directory (``/dev/shm`` when there is one; ``--scratch`` to
choose): the handlers stream their outputs to S3, not to a local disk, and a slow disk's
write-back would time the machine instead of the engines (the chain writes every
intermediate object, ~7x its input, where a one-pass engine writes only the result).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.generate import ensure

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"100k": 100_000, "1M": 1_000_000, "5M": 5_000_000}
ENGINES = ("reference", "ours", "duckdb", "polars", "pandas")
STEPS = ("validate", "transform", "enrich")


def _run(args: list[str], cpu: int) -> tuple[dict[str, Any], float, float]:
    """(result, wall seconds, peak RSS MiB) of one worker process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"},
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"worker {args} failed with status {status}")
    return json.loads(output.splitlines()[-1]), wall, usage.ru_maxrss / 1024


def _exact(row: dict[str, Any]) -> str:
    if row.get("reference"):
        return "yes (reference)"
    if row["engine"] == "ours":
        return "yes, byte-identical outputs" if row.get("exact") else "NO"
    return "yes" if row.get("exact") else "NO"


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def _default_scratch() -> Path | None:
    """``/dev/shm`` when it is a writable directory (RAM-backed on Linux), else the default
    temporary directory."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M", help="comma list of 100k, 1M, 5M")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--runs", type=int, default=3, help="runs per engine and size (median)")
    parser.add_argument(
        "--reference-runs", type=int, default=1, help="runs of the pure-Python reference"
    )
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    parser.add_argument("--steps", action="store_true", help="also peak RSS per handler step")
    parser.add_argument("--json", type=Path, help="write all figures here")
    parser.add_argument(
        "--scratch", type=Path, default=_default_scratch(), help="where outputs are written"
    )
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    print(
        f"machine: {_machine()}; pinned to CPU {args.cpu}; median of {args.runs}; "
        f"outputs in {args.scratch}",
        flush=True,
    )
    report: dict[str, Any] = {"machine": _machine(), "results": []}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="etl-bench-", dir=args.scratch) as scratch:
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            rows = SIZES[size]
            path = ensure(rows)
            megabytes = path.stat().st_size / 1e6
            reference: dict[str, Any] | None = None
            reference_engine = ""
            # Rounds outside, engines inside: a burst of load on the machine hits every
            # engine of a round alike instead of all runs of one engine.
            measured: dict[str, dict[str, Any]] = {
                engine: {"times": [], "cpu": [], "rss": [], "steps": [], "result": {}}
                for engine in engines
            }
            for run in range(args.runs):
                for engine in engines:
                    if engine == "reference" and run >= args.reference_runs:
                        continue
                    out = Path(scratch) / f"{size}-{engine}-{run}"
                    result, _, peak = _run([engine, str(path), str(out)], args.cpu)
                    shutil.rmtree(out, ignore_errors=True)  # GBs at 5M rows
                    entry = measured[engine]
                    entry["times"].append(result["seconds"])
                    entry["cpu"].append(result.get("cpu_seconds", result["seconds"]))
                    entry["rss"].append(peak)
                    if result.get("steps"):
                        entry["steps"].append(result["steps"])
                    entry["result"] = result
            table = []
            for engine in engines:
                entry = measured[engine]
                result = entry["result"]
                if engine == "reference" or (engine == "ours" and reference is None):
                    reference = result
                    reference_engine = engine
                seconds = statistics.median(entry["times"])
                cpu = statistics.median(entry["cpu"])
                row = {
                    "size": size,
                    "engine": engine,
                    "rows": result["rows_in"],
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "rows_per_s": result["rows_in"] / seconds,
                    "rows_per_cpu_s": result["rows_in"] / cpu,
                    "mb_per_s": megabytes / seconds,
                    "peak_rss_mb": max(entry["rss"]),
                    # each step's median over the runs, like the whole chain's
                    "steps": {
                        step: statistics.median(run[step] for run in entry["steps"])
                        for step in entry["steps"][0]
                    }
                    if entry["steps"]
                    else None,
                }
                if reference is not None:
                    keys = ["rows_in", "by_code", "rejects_digest", "totals"]
                    if engine == "ours" and "outputs" in reference:
                        keys.append("outputs")  # byte-identical validated/rejected/... files
                    same = all(result.get(k) == reference.get(k) for k in keys)
                    row["exact"] = same
                    row["reference"] = engine == reference_engine
                    if not same and engine in ("ours", "reference"):
                        failures += 1
                table.append(row)
                print(
                    json.dumps({k: row[k] for k in row if k != "steps"}),
                    file=sys.stderr,
                    flush=True,
                )
            ours = next((r for r in table if r["engine"] == "ours"), None)
            if ours is None:
                ours = next((r for r in table if r["engine"] == "reference"), None)
            print(f"\n{size} rows ({megabytes:.0f} MB CSV)")
            print(
                "| engine | rows/s | MB/s | rows per CPU-s | peak RSS MB | same rejects + totals "
                "| ours vs it (wall, CPU) |"
            )
            print("|---|---:|---:|---:|---:|---|---:|")
            for row in table:
                ratio = (
                    ""
                    if ours is None or row is ours
                    else f"{ours['rows_per_s'] / row['rows_per_s']:.2f}x, "
                    f"{ours['rows_per_cpu_s'] / row['rows_per_cpu_s']:.2f}x"
                )
                print(
                    f"| {row['engine']} | {row['rows_per_s']:,.0f} | {row['mb_per_s']:.1f} | "
                    f"{row['rows_per_cpu_s']:,.0f} | {row['peak_rss_mb']:.0f} | {_exact(row)} "
                    f"| {ratio} |"
                )
            if ours and ours.get("steps"):
                steps = ", ".join(
                    f"{k} {ours['rows'] / v:,.0f} rows/s" for k, v in ours["steps"].items()
                )
                print(f"ours per step: {steps}")
            if args.steps and "ours" in engines:
                out = Path(scratch) / f"{size}-steps"
                peaks = {}
                for step in STEPS:
                    _, _, peaks[step] = _run(["ours", str(path), str(out), step], args.cpu)
                print(
                    "peak RSS per handler step (MB): "
                    + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                )
                table.append({"size": size, "engine": "steps", "peak_rss_mb": peaks})
            report["results"].extend(table)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
