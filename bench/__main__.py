"""``python -m bench`` (``make bench``): throughput and peak memory of the chain and baselines.

Every run is a fresh process pinned to one core (``--cpu``, default the last one), engines
held to one thread; runs go in rounds (each round runs every engine once), and the figure
per engine and size is the median of ``--runs`` runs, all measured in the same invocation:
wall-clock rows/s, and rows per CPU-second of the process (less sensitive to other load on
a shared machine). ``reference`` is the chain on its pure-Python path (timed
``--reference-runs`` times, once by default: it is slow); every engine's rejects (row numbers
and codes) and totals are checked against it, and ``ours`` (the same chain on its columnar
fast path) must also write byte-identical outputs; under each table, the share of rows
ours did on the columnar path (the engine report). Files: ``bench.generate``'s input
profiles (``--profiles``, default all) at sizes ``100k``, ``1M``, ``5M`` (``--sizes``; the
default ``100k,1M`` takes tens of minutes), or a user's own files (``--input FILE``). CI
runs none of this.

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

from bench.engines import DESCRIPTIONS
from bench.generate import PROFILES, ensure

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"100k": 100_000, "1M": 1_000_000, "5M": 5_000_000}
ENGINES = ("reference", "ours", "ours-curated", "duckdb", "polars", "pandas")
STEPS = ("validate", "transform", "enrich")


def _run(args: list[str], cpu: int) -> tuple[dict[str, Any] | None, float, float]:
    """(result, wall seconds, peak RSS MiB) of one worker process; the result is None when
    the worker failed (its last lines of stderr are printed: a baseline may not read a
    user's file at all)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"},
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        )
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # the child's own peak RSS
        wall = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024
        if status != 0 or not output.strip():
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-2:]
            print(f"{args[0]} failed on {args[1]}: {' / '.join(tail)}", file=sys.stderr)
            return None, wall, peak
    return json.loads(output.splitlines()[-1]), wall, peak


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


def _cases(args: argparse.Namespace) -> list[tuple[str, str, Path]]:
    """(profile, size label, file) of every table to print: the user's files, or the
    generated file of each profile and size (made and cached on first use)."""
    if args.input:
        missing = [str(path) for path in args.input if not path.is_file()]
        if missing:
            raise ValueError(f"no such file: {', '.join(missing)}")
        return [("input", path.name, path.resolve()) for path in args.input]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    bad = [s for s in sizes if s not in SIZES] + [p for p in profiles if p not in PROFILES]
    if bad:
        raise ValueError(
            f"unknown size or profile: {', '.join(bad)} (sizes: {', '.join(SIZES)}; "
            f"profiles: {', '.join(PROFILES)})"
        )
    return [
        (profile, size, ensure(SIZES[size], profile=profile))
        for size in sizes
        for profile in profiles
    ]


def _row(
    profile: str,
    size: str,
    engine: str,
    entry: dict[str, Any],
    result: dict[str, Any],
    megabytes: float,
    reference: dict[str, Any] | None,
    is_reference: bool,
) -> dict[str, Any]:
    """One engine's figures on one file: medians over the runs, checked against the
    reference's rejects (row numbers and codes) and totals."""
    seconds = statistics.median(entry["times"])
    cpu = statistics.median(entry["cpu"])
    row = {
        "profile": profile,
        "size": size,
        "engine": engine,
        "rows": result["rows_in"],
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows_per_s": result["rows_in"] / seconds,
        "rows_per_cpu_s": result["rows_in"] / cpu,
        "mb_per_s": megabytes / seconds,
        "peak_rss_mb": max(entry["rss"]),
        "columnar_share": result.get("columnar_share"),
        # each step's median over the runs, like the whole chain's
        "steps": {
            step: statistics.median(run[step] for run in entry["steps"])
            for step in entry["steps"][0]
        }
        if entry["steps"]
        else None,
        "exact": False,
        "reference": is_reference,
    }
    if reference is not None:
        keys = ["rows_in", "by_code", "rejects_digest", "totals"]
        if engine == "ours" and "outputs" in reference:
            keys.append("outputs")  # byte-identical validated/rejected/... files
        row["exact"] = all(result.get(k) == reference.get(k) for k in keys)
    return row


def _print_table(
    profile: str, size: str, path: Path, megabytes: float, table: list[dict[str, Any]]
) -> None:
    measured = [row for row in table if "rows_per_s" in row]
    ours = next((r for r in measured if r["engine"] == "ours"), None)
    if ours is None:
        ours = next((r for r in measured if r["engine"] == "reference"), None)
    rows = f"{measured[0]['rows']:,} rows" if measured else "? rows"
    title = f"{path} ({rows}" if profile == "input" else f"{profile}, {size} rows ({rows}"
    print(f"\n{title}, {megabytes:.0f} MB CSV)")
    print(
        "| engine | rows/s | rows per CPU-s | MB/s | peak RSS MB | same rejects + totals "
        "| ours vs it (wall, CPU) |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for row in table:
        if "rows_per_s" not in row:
            print(f"| {row['engine']} | failed | | | | | |")
            continue
        ratio = (
            ""
            if ours is None or row is ours
            else f"{ours['rows_per_s'] / row['rows_per_s']:.2f}x, "
            f"{ours['rows_per_cpu_s'] / row['rows_per_cpu_s']:.2f}x"
        )
        print(
            f"| {row['engine']} | {row['rows_per_s']:,.0f} | {row['rows_per_cpu_s']:,.0f} | "
            f"{row['mb_per_s']:.1f} | {row['peak_rss_mb']:.0f} | {_exact(row)} | {ratio} |"
        )
    if ours and ours.get("steps"):
        steps = ", ".join(f"{k} {ours['rows'] / v:,.0f} rows/s" for k, v in ours["steps"].items())
        print(f"ours per step: {steps}")
    if ours and ours.get("columnar_share") is not None:
        print(f"ours on the columnar path: {ours['columnar_share']}")


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
    parser.add_argument(
        "--profiles",
        default=",".join(PROFILES),
        help=f"comma list of input profiles ({', '.join(PROFILES)}; see bench.generate)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        action="append",
        help="time the engines on this CSV file instead (repeatable; --sizes and --profiles "
        "are then ignored)",
    )
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines: {', '.join(unknown)} (choose from {', '.join(ENGINES)})")
    try:
        cases = _cases(args)
    except ValueError as error:
        parser.error(str(error))
    print(
        f"machine: {_machine()}; pinned to CPU {args.cpu}; median of {args.runs}; "
        f"outputs in {args.scratch}",
        flush=True,
    )
    for engine in engines:
        print(f"  {engine}: {DESCRIPTIONS[engine]}")
    report: dict[str, Any] = {"machine": _machine(), "results": []}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="etl-bench-", dir=args.scratch) as scratch:
        for profile, size, path in cases:
            megabytes = path.stat().st_size / 1e6
            reference: dict[str, Any] | None = None
            reference_engine = ""
            # Rounds outside, engines inside: a burst of load on the machine hits every
            # engine of a round alike instead of all runs of one engine.
            measured: dict[str, dict[str, Any]] = {
                engine: {"times": [], "cpu": [], "rss": [], "steps": [], "result": None}
                for engine in engines
            }
            for run in range(args.runs):
                for engine in engines:
                    if engine == "reference" and run >= args.reference_runs:
                        continue
                    entry = measured[engine]
                    if run and entry["result"] is None:
                        continue  # it failed on this file: once is enough
                    out = Path(scratch) / f"{profile}-{size}-{engine}-{run}"
                    result, _, peak = _run([engine, str(path), str(out)], args.cpu)
                    shutil.rmtree(out, ignore_errors=True)  # GBs at 5M rows
                    entry["result"] = result
                    if result is None:
                        continue
                    entry["times"].append(result["seconds"])
                    entry["cpu"].append(result.get("cpu_seconds", result["seconds"]))
                    entry["rss"].append(peak)
                    if result.get("steps"):
                        entry["steps"].append(result["steps"])
            table = []
            for engine in engines:
                entry = measured[engine]
                result = entry["result"]
                if result is None:
                    table.append({"profile": profile, "size": size, "engine": engine})
                    if engine in ("ours", "reference"):
                        failures += 1
                    continue
                if engine == "reference" or (engine == "ours" and reference is None):
                    reference = result
                    reference_engine = engine
                table.append(
                    _row(
                        profile,
                        size,
                        engine,
                        entry,
                        result,
                        megabytes,
                        reference,
                        engine == reference_engine,
                    )
                )
                row = table[-1]
                if not row["exact"] and engine in ("ours", "reference"):
                    failures += 1
                print(
                    json.dumps({k: row[k] for k in row if k != "steps"}),
                    file=sys.stderr,
                    flush=True,
                )
            _print_table(profile, size, path, megabytes, table)
            if args.steps and "ours" in engines:
                out = Path(scratch) / f"{profile}-{size}-steps"
                peaks = {}
                for step in STEPS:
                    _, _, peaks[step] = _run(["ours", str(path), str(out), step], args.cpu)
                if "ours-curated" in engines:  # the enrich step as deployed by default
                    _, _, peaks["enrich+curated"] = _run(
                        ["ours-curated", str(path), str(out), "enrich"], args.cpu
                    )
                print(
                    "peak RSS per handler step (MB): "
                    + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                )
                table.append(
                    {"profile": profile, "size": size, "engine": "steps", "peak_rss_mb": peaks}
                )
            report["results"].extend(table)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
