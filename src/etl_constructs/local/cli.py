"""``etl-pipeline``: run the synthesized pipeline offline, and ask it what it did.

    etl-pipeline run FILE... [--out DIR] [--json]
    etl-pipeline status JOB_ID [--out DIR]
    etl-pipeline jobs [--status S] [--since T] [--out DIR]
    etl-pipeline quality-check [--hours H] [--out DIR]

``run`` synthesizes the app of the current folder's cdk.json (or the library's default
pipeline), stands it up in moto, uploads each file to ``raw/``, lets the pipeline run and
exports ``enriched/``, ``processed/``, ``rejected/``, ``failed/`` and ``reports/`` into DIR.
It keeps the job records (``DIR/jobs.json``) and the cloud assembly (``DIR/.assembly``), so
the other commands answer from the same pipeline, through the same API and quality-check
functions a deployment runs. Exit status: 0 all jobs SUCCEEDED, 1 a job FAILED (or a command
failed), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .. import use_virtualenv_node
from .._contract import contract
from .assembly import AssemblyError, CloudAssembly, synthesize
from .pipeline import JobOutcome, LocalPipeline, LocalRuntimeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
JOBS_FILE = "jobs.json"
ASSEMBLY_DIR = ".assembly"
LOG_FILE = "pipeline.log"


class UsageError(Exception):
    """A command line that cannot be carried out as given."""


def main(argv: Sequence[str] | None = None) -> int:
    use_virtualenv_node()  # before jsii starts (in-process synthesis of the default app)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args))
    except UsageError as exc:
        print(f"etl-pipeline: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (AssemblyError, LocalRuntimeError) as exc:
        print(f"etl-pipeline: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl-pipeline", description="Run the ETL pipeline offline (moto, no AWS account)."
    )
    commands = parser.add_subparsers(dest="name", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--out", type=Path, default=Path("etl-out"), help="output folder (default: ./etl-out)"
        )

    run = commands.add_parser("run", help="process CSV files through the pipeline")
    run.add_argument("files", nargs="+", type=Path, metavar="FILE")
    common(run)
    run.add_argument("--json", action="store_true", help="one JSON object per file per line")
    run.add_argument(
        "--project",
        type=Path,
        default=None,
        help="folder with the cdk.json of the app to run (default: current folder)",
    )
    run.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="CDK context for the synth, as with `cdk synth -c` (e.g. compliance=strict)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds to wait for all jobs to end (default: 900)",
    )
    run.set_defaults(command=_run)

    status = commands.add_parser("status", help="one job, as GET /status/{jobId} returns it")
    status.add_argument("job_id")
    common(status)
    status.set_defaults(command=_status)

    jobs = commands.add_parser("jobs", help="jobs by status and time, as GET /jobs returns them")
    jobs.add_argument("--status", default=None)
    jobs.add_argument("--since", default=None, help="ISO 8601 date-time")
    jobs.add_argument("--limit", default=None)
    common(jobs)
    jobs.set_defaults(command=_jobs)

    quality = commands.add_parser("quality-check", help="run the daily quality check now")
    quality.add_argument("--hours", type=int, default=None, help="look back this many hours")
    common(quality)
    quality.set_defaults(command=_quality_check)
    return parser


# -- run -------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    files = _readable_files(args.files)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    assembly_dir = out / ASSEMBLY_DIR
    shutil.rmtree(assembly_dir, ignore_errors=True)
    _say(args, "synthesizing the app ...")
    assembly = synthesize(assembly_dir, project_dir=args.project, context=_context(args.context))
    synth_seconds = time.perf_counter() - started
    with LocalPipeline(assembly, log_path=out / LOG_FILE) as pipeline:
        for item in pipeline.unsupported:
            print(f"etl-pipeline: warning: not emulated: {item}", file=sys.stderr)
        outcomes = _process(pipeline, files, args)
        _clear_outputs(out)
        exported = pipeline.export(out)
        (out / JOBS_FILE).write_text(json.dumps(pipeline.jobs(), indent=1, sort_keys=True))
    for outcome in outcomes:
        outcome.outputs = _local_outputs(outcome, out, exported)
    total = time.perf_counter() - started
    if args.json:
        for outcome in outcomes:
            print(json.dumps(outcome.to_json(), sort_keys=True))
    else:
        _print_table(outcomes, sys.stdout)
        print(
            f"\n{len(outcomes)} file(s) in {total:.1f}s (synth {synth_seconds:.1f}s); "
            f"outputs in {out}/, job records in {out / JOBS_FILE}, logs in {out / LOG_FILE}"
        )
    return EXIT_OK if all(o.status == "SUCCEEDED" for o in outcomes) else EXIT_FAILED


def _context(pairs: Sequence[str]) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--context {pair!r}: use KEY=VALUE")
        context[key] = value
    return context


def _readable_files(paths: Sequence[Path]) -> list[Path]:
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file")
        if not path.is_file():
            raise UsageError(f"{path}: not a file")
        if not os.access(path, os.R_OK):
            raise UsageError(f"{path}: not readable")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise UsageError("two files share a name; they would land on the same raw/ key")
    return list(paths)


def _process(
    pipeline: LocalPipeline, files: list[Path], args: argparse.Namespace
) -> list[JobOutcome]:
    uploaded = {}
    progress = _Progress(len(files), enabled=not args.json)
    for path in files:
        uploaded[path] = pipeline.upload(path)
    deadline = time.monotonic() + args.timeout
    waiting = dict(uploaded)
    outcomes: dict[Path, JobOutcome] = {}
    begin = time.monotonic()
    while waiting and time.monotonic() < deadline:
        done = pipeline.finished(waiting.values(), timeout=deadline - time.monotonic())
        for path, obj in list(waiting.items()):
            job = done.get(obj)
            if job:
                outcomes[path] = _outcome(path, obj[0], job, time.monotonic() - begin)
                del waiting[path]
                progress.advance(path.name, job["status"])
    for path, obj in waiting.items():
        outcomes[path] = JobOutcome(
            file=str(path),
            key=obj[0],
            job_id=None,
            status="FAILED",
            error=f"no final status within {args.timeout:.0f}s",
            rows={},
            totals=None,
        )
        progress.advance(path.name, "TIMEOUT")
    progress.close()
    return [outcomes[path] for path in files]


def _outcome(path: Path, key: str, job: dict[str, Any], seconds: float) -> JobOutcome:
    """A final job as the CLI reports it: a FAILED job published nothing, so it reports
    the rows read (``rows.read``, or ``rows.input`` of a record from before that rule) and
    no valid rows or totals, as its job record does."""
    error = job.get("error")
    rows = job.get("rows", {})
    totals = job.get("totals", {})
    failed = job["status"] == "FAILED"
    if failed:
        figures = {"read": int(rows.get("read", rows.get("input", 0)))}
    else:
        figures = {k: int(rows.get(k, 0)) for k in ("input", "valid", "rejected")}
    return JobOutcome(
        file=str(path),
        key=key,
        job_id=job.get("jobId"),
        status=job["status"],
        error=None if not error else f"{error.get('code')}: {error.get('message')}",
        rows=figures,
        totals=None if failed else (totals.get("enrich") or totals.get("validate") or {}),
        duration_seconds=_duration(job, seconds),
    )


def _duration(job: dict[str, Any], fallback: float) -> float:
    try:
        created = datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00"))
        ended = datetime.fromisoformat(
            (job.get("failedAt") or job["updatedAt"]).replace("Z", "+00:00")
        )
        return max(0.0, (ended - created).total_seconds())
    except (KeyError, ValueError, AttributeError):
        return fallback


def _local_outputs(outcome: JobOutcome, out: Path, exported: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"enriched": [], "rejected": [], "failed": []}
    if not outcome.job_id:
        return found
    for path in exported:
        parts = path.relative_to(out).parts
        # a big file's parts are outputs; the per-part summaries are bookkeeping
        if (
            len(parts) >= 2
            and parts[0] in found
            and parts[1] == outcome.job_id
            and contract.SUMMARIES_FOLDER not in parts
        ):
            found[parts[0]].append(str(path))
    return {kind: sorted(paths) for kind, paths in found.items()}  # parts in file order


def _clear_outputs(out: Path) -> None:
    """Each run's export mirrors its own bucket: outputs of an earlier run go first."""
    for prefix in ("enriched", "processed", "rejected", "failed", "reports"):
        shutil.rmtree(out / prefix, ignore_errors=True)


def _print_table(outcomes: list[JobOutcome], stream: TextIO) -> None:
    headers = ("file", "status", "read", "valid", "rejected", "duration", "error")
    rows = [
        (
            Path(o.file).name,
            o.status,
            str(o.rows.get("read", o.rows.get("input", ""))),
            str(o.rows.get("valid", "")),
            str(o.rows.get("rejected", "")),
            f"{o.duration_seconds:.2f}s",
            (o.error or "")[:90],
        )
        for o in outcomes
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    numeric = {2, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    print(line(headers), file=stream)
    print(line(["-" * w for w in widths]), file=stream)
    for row in rows:
        print(line(row), file=stream)


class _Progress:
    """Progress over files on stderr: a redrawn bar on a terminal, a line per file elsewhere."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = sys.stderr.isatty()
        self._draw("")

    def advance(self, name: str, status: str) -> None:
        self.done += 1
        self._draw(f"{name}: {status}")

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)

    def _draw(self, last: str) -> None:
        if not self.enabled or not (self.tty or last):
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} files  {last}"
        if self.tty:
            print(f"\r{line[:120]:<80}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr)


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "json", False):
        print(text, file=sys.stderr)


# -- questions about an earlier run -----------------------------------------------------------


@contextlib.contextmanager
def _restored(out: Path) -> Iterator[LocalPipeline]:
    """The pipeline of the last ``run`` in ``out``, with its job records back in the table."""
    jobs_file = out / JOBS_FILE
    if not jobs_file.is_file():
        raise UsageError(
            f"{jobs_file} does not exist: run `etl-pipeline run FILE... --out {out}` first"
        )
    assembly = CloudAssembly.load(out / ASSEMBLY_DIR)
    with LocalPipeline(assembly, log_path=out / LOG_FILE) as pipeline:
        pipeline.load_jobs(json.loads(jobs_file.read_text()))
        yield pipeline


def _answer(status: int, body: Any) -> int:
    print(json.dumps(body, indent=2, sort_keys=True))
    return EXIT_OK if status < 400 else EXIT_FAILED


def _status(args: argparse.Namespace) -> int:
    with _restored(args.out) as pipeline:
        status, body = pipeline.api(
            "GET", f"/status/{args.job_id}", path_parameters={"jobId": args.job_id}
        )
    return _answer(status, body)


def _jobs(args: argparse.Namespace) -> int:
    query = {
        k: v
        for k, v in (("status", args.status), ("since", args.since), ("limit", args.limit))
        if v is not None
    }
    with _restored(args.out) as pipeline:
        status, body = pipeline.api("GET", "/jobs", query=query)
    return _answer(status, body)


def _quality_check(args: argparse.Namespace) -> int:
    with _restored(args.out) as pipeline:
        event = {"windowHours": args.hours} if args.hours else None
        result = pipeline.run_schedule("quality_check", event)
        pipeline.export(args.out, prefixes=("reports/",))
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
