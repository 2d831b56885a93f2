"""``etl-pipeline``: run the synthesized pipeline offline, and ask it what it did.

    etl-pipeline run FILE... [--out DIR] [--json]
    etl-pipeline status JOB_ID [--out DIR]
    etl-pipeline jobs [--status S] [--since T] [--out DIR]
    etl-pipeline quality-check [--hours H] [--out DIR]
    etl-pipeline reprocess JOB_ID [--out DIR] [--json]
    etl-pipeline redrive [--dry-run] [--out DIR] [--json]

``run`` synthesizes the app of the current folder's cdk.json (or the library's default
pipeline), stands it up in moto, uploads each file to ``raw/``, lets the pipeline run and
exports its outputs (``enriched/``, ``processed/``, ``rejected/``, ``failed/``, ``reports/``)
into DIR. A synth is cached (:mod:`.cache`) and reused while its inputs stay the same. It
keeps the job records (``DIR/jobs.json``) and the cloud assembly (``DIR/.assembly``), so the
other commands answer from the same pipeline, through the same API and quality-check
functions a deployment runs; ``quality-check`` exports its report and the report's HTML page
into DIR/reports/ and prints where (``reportFile``, ``pageFile``). Exit status: see
:data:`EXIT_HELP`.
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
from . import moto_compat, operations
from .assembly import (
    ASSEMBLY_DIR,
    AssemblyError,
    CloudAssembly,
    ProfileError,
    SynthError,
    synth_context,
    synthesize,
)
from .cache import AssemblyCache
from .pipeline import EXPORTED_PREFIXES, JobOutcome, LocalPipeline, LocalRuntimeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SYNTH = 0, 1, 2, 3
EXIT_HELP = """exit status:
  0  every job SUCCEEDED or was a DUPLICATE of an earlier one (status, jobs, quality-check:
     answered)
  1  a job FAILED or did not end in time (status: no such job; or the run failed)
  2  usage error: the command line cannot be carried out as given
  3  the app did not synthesize (its error, or cdk-nag findings, printed in full)"""
JOBS_FILE = "jobs.json"
LOG_FILE = "pipeline.log"


class UsageError(Exception):
    """A command line that cannot be carried out as given."""


def main(argv: Sequence[str] | None = None) -> int:
    use_virtualenv_node()  # before jsii starts (in-process synthesis of the default app)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args))
    except (UsageError, ProfileError) as exc:
        print(f"etl-pipeline: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SynthError as exc:
        print(f"etl-pipeline: {exc}", file=sys.stderr)
        return EXIT_SYNTH
    except (AssemblyError, LocalRuntimeError) as exc:
        print(f"etl-pipeline: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl-pipeline",
        description="Run the ETL pipeline offline (moto, no AWS account).",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="name", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--out", type=Path, default=Path("etl-out"), help="output folder (default: ./etl-out)"
        )

    run = commands.add_parser(
        "run",
        help="process CSV and bank statement files (camt.053, MT940, BAI2) through the pipeline",
        epilog=EXIT_HELP + "\n\nThe synth is cached in PROJECT/.etl-pipeline/cache/ (PROJECT: "
        "the folder of cdk.json, or the current folder for the default pipeline) and reused "
        "while the app's files, the -c values and the library stay the same.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a CSV or statement file; FILE.manifest.json beside it is uploaded too "
        "(the sender's manifest)",
    )
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
    run.add_argument(
        "--no-cache", action="store_true", help="synthesize afresh, not from the synth cache"
    )
    run.set_defaults(command=_run)

    status = commands.add_parser("status", help="one job, as GET /status/{jobId} returns it")
    status.add_argument("job_id")
    common(status)
    status.set_defaults(command=_status)

    jobs = commands.add_parser("jobs", help="jobs by status and time, as GET /jobs returns them")
    jobs.add_argument(
        "--status",
        default=None,
        help=f"one of {', '.join(contract.STATUSES)} (default: every status)",
    )
    jobs.add_argument("--since", default=None, help="ISO 8601 date-time")
    jobs.add_argument("--limit", default=None, help="at most this many jobs")
    common(jobs)
    jobs.set_defaults(command=_jobs)

    quality = commands.add_parser("quality-check", help="run the daily quality check now")
    quality.add_argument(
        "--hours",
        type=int,
        default=None,
        help="look back this many hours (default: the function's window)",
    )
    common(quality)
    quality.set_defaults(command=_quality_check)

    query = commands.add_parser(
        "query",
        help="SQL over the curated dataset of the last run (tables transactions, rejects)",
        description="Run SQL over OUT/curated/ with DuckDB: the tables and types of the "
        "analytics catalog, so queries written for Athena run unchanged. Timestamps read in "
        "UTC, as in Athena. The query reads the curated files only: other files (read_csv, "
        "ATTACH, extensions) are out of reach, and COPY/EXPORT are refused.",
    )
    query.add_argument("sql", nargs="?", default=None, help="the SQL; ? marks a --param")
    query.add_argument(
        "--saved",
        default=None,
        metavar="NAME",
        help="run one of the catalog's saved queries instead (e.g. daily-control-totals)",
    )
    query.add_argument(
        "--param", action="append", default=[], help="a value for each ? in the SQL, in order"
    )
    query.add_argument("--json", action="store_true", help="one JSON object per row per line")
    common(query)
    query.set_defaults(command=_query)
    operations.add_commands(
        commands,
        common,
        files=operations.RunFiles(jobs=JOBS_FILE, assembly=ASSEMBLY_DIR, log=LOG_FILE),
        usage_error=UsageError,
    )
    return parser


# -- run -------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    files = _readable_files(args.files)
    context = _context(args.context)
    project = _project(args.project)
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a number of seconds above 0")
    out = _out_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    assembly = _assembly(args, project=project, context=context, out=out)
    synth_seconds = time.perf_counter() - started
    # moto's bodies beside the outputs: the export links them instead of copying
    with LocalPipeline(assembly, log_path=out / LOG_FILE, spool_dir=out) as pipeline:
        for item in pipeline.unsupported:
            print(f"etl-pipeline: warning: not emulated: {item}", file=sys.stderr)
        for item in pipeline.stood_up:
            print(f"etl-pipeline: note: {item}", file=sys.stderr)
        refused = [r for p in files if (r := pipeline.refusal(f"{contract.RAW_PREFIX}{p.name}"))]
        if refused:
            raise UsageError("; ".join(refused))
        if not _fast_path_available():
            _say(args, FAST_PATH_NOTE)
        outcomes = _process(pipeline, files, args)
        _clear_outputs(out)
        exported = pipeline.export(out)
        _check_lineage(out)
        (out / JOBS_FILE).write_text(json.dumps(pipeline.jobs(), indent=1, sort_keys=True))
        operations.save_state(pipeline, out, files)  # for reprocess and redrive
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
    done = (contract.SUCCEEDED, contract.DUPLICATE)
    return EXIT_OK if all(o.status in done for o in outcomes) else EXIT_FAILED


FAST_PATH_NOTE = (
    "etl-pipeline: note: pyarrow is not installed, so the functions run their pure-Python "
    "engine (slower than on Lambda, where the layer brings pyarrow): "
    "pip install 'etl-constructs[local]'"
)


def _fast_path_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def _assembly(
    args: argparse.Namespace, *, project: Path, context: dict[str, str], out: Path
) -> CloudAssembly:
    """The app's cloud assembly in ``out/.assembly``: from the cache when an earlier synth
    had the same inputs (and ``--no-cache`` is not given), else synthesized and cached."""
    assembly_dir = out / ASSEMBLY_DIR
    cache = AssemblyCache(project)
    has_cdk_json = (project / "cdk.json").is_file()
    key = cache.key(context=synth_context(context), has_cdk_json=has_cdk_json, skip=[out])
    # moto's parse of the state machines is kept with the synth (--no-cache: not kept)
    moto_compat.ParsedDefinitions.directory = None if args.no_cache else cache.directory / key
    if not args.no_cache and cache.get(key, assembly_dir):
        _say(args, f"reusing the synth in {cache.directory / key} (--no-cache to synthesize)")
        return CloudAssembly.load(assembly_dir)
    shutil.rmtree(assembly_dir, ignore_errors=True)
    _say(args, "synthesizing the app ...")
    assembly = synthesize(
        assembly_dir, project_dir=project if has_cdk_json else None, context=context
    )
    cache.put(key, assembly_dir)
    return assembly


def _project(given: Path | None) -> Path:
    """The folder of the app to run: ``--project`` (which must hold a cdk.json) or the
    current folder (the default pipeline when it has no cdk.json)."""
    if given is None:
        return Path.cwd()
    if not given.is_dir():
        raise UsageError(f"--project {given}: no such folder")
    if not (given / "cdk.json").is_file():
        raise UsageError(
            f"--project {given}: no cdk.json there (leave --project out to run "
            "the default pipeline)"
        )
    return given.absolute()


def _out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    # absolute: the app is synthesized in its project's folder, not the current one
    return out.absolute()


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
    # each file as the pipeline's records name it (a card number in a name masked)
    shown = {
        path: path.with_name(
            pipeline.shown_key(contract.RAW_PREFIX + path.name).removeprefix(contract.RAW_PREFIX)
        )
        for path in files
    }
    for path in files:
        # The sender's manifest first, when it sits beside the file (either order works).
        manifest = path.with_name(path.name + contract.MANIFEST_SUFFIX)
        if manifest.is_file():
            pipeline.upload(manifest, f"{contract.RAW_PREFIX}{manifest.name}")
        uploaded[path] = pipeline.upload(path)
    deadline = time.monotonic() + args.timeout
    waiting = dict(uploaded)
    outcomes: dict[Path, JobOutcome] = {}
    begin = time.monotonic()
    while waiting and time.monotonic() < deadline:
        left = deadline - time.monotonic()
        # on a terminal, look up often enough to show what the pipeline is doing
        step = min(left, PROGRESS_SECONDS) if progress.live else left
        done = pipeline.finished(waiting.values(), timeout=step)
        for path, obj in list(waiting.items()):
            job = done.get(obj)
            if job:
                outcomes[path] = _outcome(shown[path], obj[0], job, time.monotonic() - begin)
                del waiting[path]
                progress.advance(shown[path].name, job["status"])
        if progress.live and waiting:
            path, obj = next(iter(waiting.items()))
            progress.show(f"{shown[path].name}: {pipeline.activity(obj)}")
    for path, obj in waiting.items():
        outcomes[path] = JobOutcome(
            file=str(shown[path]),
            key=obj[0],
            job_id=None,
            status=contract.FAILED,
            error=f"no final status within {args.timeout:.0f}s",
            rows={},
            totals=None,
        )
        progress.advance(shown[path].name, "TIMEOUT")
    progress.close()
    return [outcomes[path] for path in files]


#: the row counts a SUCCEEDED job reports: input, valid, rejected
REPORTED_ROWS = contract.STEP_ROW_COUNTS[:3]


def _outcome(path: Path, key: str, job: dict[str, Any], seconds: float) -> JobOutcome:
    """A final job as the CLI reports it: a FAILED job published nothing, so it reports
    the rows read (``rows.read``, or ``rows.input`` of a record from before that rule) and
    no valid rows or totals, as its job record does."""
    error = job.get("error")
    rows = job.get("rows", {})
    totals = job.get("totals", {})
    # a DUPLICATE published nothing either: the rows read, and the job it repeats
    failed = job["status"] in (contract.FAILED, contract.DUPLICATE)
    if job.get("duplicateOf"):
        error = {"code": contract.DUPLICATE, "message": f"same bytes as job {job['duplicateOf']}"}
    read, given = contract.ROWS_READ, contract.STEP_ROW_COUNTS[0]
    if failed:
        figures = {read: int(rows.get(read, rows.get(given, 0)))}
    else:
        figures = {k: int(rows.get(k, 0)) for k in REPORTED_ROWS}
    return JobOutcome(
        file=str(path),
        key=key,
        job_id=job.get("jobId"),
        status=job["status"],
        error=None if not error else f"{error.get('code')}: {error.get('message')}",
        rows=figures,
        totals=None
        if failed
        else (totals.get(contract.STEPS[-1]) or totals.get(contract.STEPS[0]) or {}),
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
    found: dict[str, list[str]] = {
        p.rstrip("/"): []
        for p in (
            contract.ENRICHED_PREFIX,
            contract.REJECTED_PREFIX,
            contract.FAILED_PREFIX,
            contract.CURATED_PREFIX,
        )
    }
    if not outcome.job_id:
        return found
    curated = contract.CURATED_PREFIX.rstrip("/")
    for path in exported:
        parts = path.relative_to(out).parts
        # curated/{table}/{partition}/{job}.parquet: one file per table and partition
        if parts[0] == curated and path.stem == outcome.job_id:
            found[curated].append(str(path))
            continue
        # a big file's parts are outputs; the per-part summaries are bookkeeping
        if (
            len(parts) >= 2
            and parts[0] in found
            and parts[1] == outcome.job_id
            and contract.SUMMARIES_FOLDER not in parts
        ):
            found[parts[0]].append(str(path))
    return {kind: sorted(paths) for kind, paths in found.items()}  # parts in file order


def _check_lineage(out: Path) -> None:
    """Every exported run event must read back through the OpenLineage client unchanged."""
    from . import lineage  # the client: only when a run has events to check

    try:
        lineage.check_exported(out)
    except lineage.InvalidLineageEvent as exc:
        raise LocalRuntimeError(f"a lineage event is not valid OpenLineage: {exc}") from None


def _clear_outputs(out: Path) -> None:
    """Each run's export mirrors its own bucket: outputs of an earlier run go first."""
    for prefix in EXPORTED_PREFIXES:
        shutil.rmtree(out / prefix, ignore_errors=True)


def _print_table(outcomes: list[JobOutcome], stream: TextIO) -> None:
    headers = ("file", "status", contract.ROWS_READ, *REPORTED_ROWS[1:], "duration", "error")
    rows = [
        (
            Path(o.file).name,
            o.status,
            str(o.rows.get(contract.ROWS_READ, o.rows.get(REPORTED_ROWS[0], ""))),
            str(o.rows.get(REPORTED_ROWS[1], "")),
            str(o.rows.get(REPORTED_ROWS[2], "")),
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


#: How often a terminal's progress line is redrawn while a job runs.
PROGRESS_SECONDS = 0.5


class _Progress:
    """Progress over files on stderr: a redrawn bar on a terminal, a line per file elsewhere.

    On a terminal the line also shows what the file's job is doing (its step, and the bytes
    of the step's input read so far); elsewhere, and with ``--json``, nothing but the files.
    """

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = sys.stderr.isatty()
        self._draw("")

    @property
    def live(self) -> bool:
        """Whether the line is redrawn as the work goes on (a terminal, not --json)."""
        return self.enabled and self.tty

    def advance(self, name: str, status: str) -> None:
        self.done += 1
        self._draw(f"{name}: {status}")

    def show(self, activity: str) -> None:
        """What the file under way is doing now (drawn on a terminal only)."""
        if self.live:
            self._draw(activity)

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
            # back to the line's start, the line, then clear what a longer one left behind
            print(f"\r{line[:120]}\x1b[K", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr)


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "json", False):
        print(text, file=sys.stderr)


# -- questions about an earlier run -----------------------------------------------------------


@contextlib.contextmanager
def _restored(out: Path) -> Iterator[LocalPipeline]:
    """The pipeline of the last ``run`` in ``out``, with its job records back in the table."""
    jobs_file = _out_dir(out) / JOBS_FILE
    if not jobs_file.is_file():
        raise UsageError(
            f"{jobs_file} does not exist: run `etl-pipeline run FILE... --out {out}` first"
        )
    assembly = CloudAssembly.load(out / ASSEMBLY_DIR)
    # the answers come from the job records: no state machine to stand up
    with LocalPipeline(assembly, log_path=out / LOG_FILE, executions=False) as pipeline:
        pipeline.load_jobs(json.loads(jobs_file.read_text()))
        yield pipeline


def _query(args: argparse.Namespace) -> int:
    from .query import QueryError, run_query, saved_query, schema_document

    if (args.sql is None) == (args.saved is None):
        raise UsageError("give either SQL or --saved NAME")
    try:
        sql = args.sql
        if args.saved is not None:
            sql = saved_query(args.saved, schema_document(_out_dir(args.out)))
        result = run_query(_out_dir(args.out), sql, params=args.param)
    except QueryError as exc:
        print(f"etl-pipeline: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        for line in result.json_lines():
            print(line)
    else:
        print(result.table())
    return EXIT_OK


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
    """``GET /jobs`` as asked; without ``--status``, every status's jobs, newest first (the
    API lists one status at a time), up to ``--limit``. A query the API refuses (400) is a
    usage error with its message."""
    query = {k: v for k, v in (("since", args.since), ("limit", args.limit)) if v is not None}
    with _restored(args.out) as pipeline:
        if args.status is not None:
            status, body = pipeline.api("GET", "/jobs", query={**query, "status": args.status})
            _refused(status, body)
            return _answer(status, body)
        items: list[Any] = []
        for job_status in contract.STATUSES:
            cursor = None
            while True:
                page = {**query, "status": job_status, **({"cursor": cursor} if cursor else {})}
                status, body = pipeline.api("GET", "/jobs", query=page)
                _refused(status, body)
                if status >= 400:
                    return _answer(status, body)
                items += body["items"]
                cursor = body.get("cursor")
                if not cursor or (args.limit is not None and len(items) >= int(args.limit)):
                    break
    items.sort(key=lambda job: job.get("timestamp", 0), reverse=True)
    limit = int(args.limit) if args.limit is not None else len(items)
    return _answer(200, {"items": items[:limit], "cursor": None})


def _refused(status: int, body: Any) -> None:
    if status == 400:
        raise UsageError(str((body or {}).get("message", "the API refused the query")))


def _put_back(pipeline: LocalPipeline, out: Path, prefix: str) -> None:
    """Upload what the run exported under ``out/prefix`` into the restored bucket, under
    the keys it came from (the export mirrors them)."""
    for path in sorted((out / prefix).rglob("*")):
        if path.is_file():
            key = path.relative_to(out).as_posix()
            pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=path.read_bytes())


#: The longest look-back of ``quality-check --hours`` (ten years: older jobs have expired).
MAX_WINDOW_HOURS = 10 * 366 * 24


def _quality_check(args: argparse.Namespace) -> int:
    if args.hours is not None and not 1 <= args.hours <= MAX_WINDOW_HOURS:
        raise UsageError(
            f"--hours {args.hours}: give a number of hours from 1 to {MAX_WINDOW_HOURS} (ten years)"
        )
    with _restored(args.out) as pipeline:
        event = {"windowHours": args.hours} if args.hours is not None else None
        _put_back(pipeline, args.out, contract.REJECTED_PREFIX)  # the report counts their codes
        result = pipeline.run_schedule("quality_check", event)
        pipeline.export(args.out, prefixes=(contract.REPORTS_PREFIX,))
    # where the export put the report and its page; stdout stays one JSON document
    files = {"reportFile": result.get("reportKey"), "pageFile": result.get("pageKey")}
    result.update({name: str(args.out / key) for name, key in files.items() if key})
    if "pageFile" in result:
        print(f"etl-pipeline: report page: {result['pageFile']}", file=sys.stderr)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
