"""``etl-pipeline reprocess`` and ``etl-pipeline redrive``: the operator actions, offline.

    etl-pipeline reprocess JOB_ID [--out DIR] [--json]
    etl-pipeline redrive [--dry-run] [--out DIR] [--json]

Both act on the pipeline of the last ``run`` in DIR. moto keeps nothing between two
commands, so ``run`` leaves what they need beside its job records: ``sources.json`` (each
uploaded file's path and SHA-256) and ``dead-letters.json`` (what its dead-letter queues
held). A command stands the pipeline up again, puts the job records and dead letters back,
and uploads the sources again under the version ids the records name
(``moto_compat.restore_version_id``); a file changed since the run is refused, as the
object version its job read is gone.

``reprocess`` asks the API function (``POST /jobs/{jobId}/reprocess``), waits for the new
attempt to end and exports its outputs (its curated files: the keys its record names); only
once it SUCCEEDED are the job's earlier outputs in DIR removed (curated files: those the
earlier attempts' records name), as the pipeline removes them from its bucket. ``redrive`` runs
``etl_handlers.ops.redrive`` over every dead-letter queue, as against AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._contract import contract
from . import moto_compat
from .assembly import CloudAssembly
from .pipeline import EXPORTED_PREFIXES, LocalPipeline

SOURCES_FILE = "sources.json"
DEAD_LETTERS_FILE = "dead-letters.json"
JOB_TIMEOUT_SECONDS = 900.0

__all__ = ["RunFiles", "add_commands", "save_state"]


class OperationError(Exception):
    """A command line that cannot be carried out as given (exit status 2)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save_state(pipeline: LocalPipeline, out: Path, files: Sequence[Path]) -> None:
    """What ``reprocess`` and ``redrive`` need of a run, beside its job records. A file
    whose name holds a card number is left out: its job never runs, and the record names it
    masked."""
    sources = {
        key: {"path": str(path.resolve()), "sha256": _sha256(path)}
        for path in files
        if pipeline.shown_key(key := f"{contract.RAW_PREFIX}{path.name}") == key
    }
    (out / SOURCES_FILE).write_text(json.dumps(sources, indent=1, sort_keys=True))
    _save_dead_letters(pipeline, out)


def _save_dead_letters(pipeline: LocalPipeline, out: Path) -> None:
    letters: dict[str, list[dict[str, Any]]] = {}
    for function, queue_url in pipeline.dead_letter_queues():
        kept = letters.setdefault(function.name, [])
        while True:
            messages = pipeline.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                break
            kept += [
                {"body": m["Body"], "attributes": m.get("MessageAttributes") or {}}
                for m in messages
            ]
    (out / DEAD_LETTERS_FILE).write_text(json.dumps(letters, indent=1, sort_keys=True))


@dataclass(frozen=True)
class RunFiles:
    """Where a run keeps its job records, cloud assembly and log, inside ``--out``."""

    jobs: str
    assembly: str
    log: str


@contextlib.contextmanager
def _restored(out: Path, files: RunFiles) -> Iterator[LocalPipeline]:
    """The last run's pipeline, its job records, sources and dead letters back in place."""
    jobs_file = out / files.jobs
    if not jobs_file.is_file():
        raise OperationError(
            f"{jobs_file} does not exist: run `etl-pipeline run FILE... --out {out}` first"
        )
    records = json.loads(jobs_file.read_text())
    sources = _read(out / SOURCES_FILE, {})
    letters = _read(out / DEAD_LETTERS_FILE, {})
    assembly = CloudAssembly.load(out / files.assembly)
    with LocalPipeline(assembly, log_path=out / files.log) as pipeline:
        for key, source in sources.items():
            path = Path(source["path"])
            # The sender's manifest as it is now beside the file (run uploads it from there,
            # and a reprocess after a fix of the manifest must see the fix).
            manifest = path.with_name(path.name + contract.MANIFEST_SUFFIX)
            if manifest.is_file():
                pipeline.upload(manifest, key + contract.MANIFEST_SUFFIX)
            if not path.is_file() or _sha256(path) != source["sha256"]:
                continue  # its jobs cannot run again; reprocess says so
            _, version = pipeline.upload(path, key)
            wanted = [r["versionId"] for r in records if r.get("fileName") == key]
            if version and wanted:  # the version the jobs read, as it was
                moto_compat.restore_version_id(
                    bucket=pipeline.bucket, key=key, current=version, wanted=wanted[-1]
                )
        for rule in pipeline.rules:  # the bucket put back as it was: no new files
            if rule.tap is not None:
                rule.tap.drain(pipeline.sqs)
        pipeline.load_jobs(records)
        queues = {f.name: url for f, url in pipeline.dead_letter_queues()}
        for name, messages in letters.items():
            for message in messages if name in queues else []:
                pipeline.sqs.send_message(
                    QueueUrl=queues[name],
                    MessageBody=message["body"],
                    MessageAttributes=message["attributes"],
                )
        yield pipeline


def _read(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.is_file() else default


def _save(pipeline: LocalPipeline, out: Path, files: RunFiles) -> None:
    (out / files.jobs).write_text(json.dumps(pipeline.jobs(), indent=1, sort_keys=True))
    _save_dead_letters(pipeline, out)


# -- the commands ------------------------------------------------------------------------------


def reprocess(args: argparse.Namespace, *, files: RunFiles) -> int:
    out: Path = args.out
    with _restored(out, files) as pipeline:
        job = pipeline.job(args.job_id)
        name = str((job or {}).get("fileName"))
        # a job that never ran (refused at intake), or whose name holds a card number, is
        # the API's to refuse, with its reason: run keeps no source of it
        if job is not None and job.get("executionArn") and pipeline.shown_key(name) == name:
            source = _read(out / SOURCES_FILE, {}).get(name)
            if source is None or not Path(source["path"]).is_file():
                raise OperationError(
                    f"the source of job {args.job_id} ({name}) is gone: run the file again"
                )
            if _sha256(Path(source["path"])) != source["sha256"]:
                raise OperationError(
                    f"{source['path']} changed since the run: the object version job "
                    f"{args.job_id} read is gone; run the file again (a new job)"
                )
        status, body = pipeline.reprocess(args.job_id)
        if status != 202:
            print(json.dumps(body, indent=2, sort_keys=True))
            return 1
        job = pipeline.wait_job(args.job_id, timeout=JOB_TIMEOUT_SECONDS) or {}
        # curated/ is by table and day, not by job: the record names the job's files there
        folders = [
            f"{prefix}{args.job_id}/"
            for prefix in EXPORTED_PREFIXES
            if prefix != contract.CURATED_PREFIX
        ]
        curated, stale = pipeline.curated_keys(job)
        if job.get("status") == contract.SUCCEEDED:
            for folder in folders:  # as in the bucket: the earlier attempts' objects go
                if not folder.startswith(contract.ATTEMPT_PRUNED_PREFIXES):
                    continue  # failed/ keeps its copy, lineage/ every attempt's run
                shutil.rmtree(out / folder, ignore_errors=True)
            for key in stale:
                (out / key).unlink(missing_ok=True)
        pipeline.export(out, prefixes=folders, keys=curated)
        _save(pipeline, out, files)
    summary = {
        "jobId": args.job_id,
        "attempt": job.get("attempt"),
        "status": job.get("status"),
        "error": job.get("error"),
        "outputs": job.get("outputs", {}),
        **({"duplicateOf": job["duplicateOf"]} if job.get("duplicateOf") else {}),
    }
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        error = job.get("error") or {}
        reason = f" ({error.get('code')}: {error.get('message')})" if error else ""
        if job.get("duplicateOf"):  # as `run` says it
            reason = f": same bytes as job {job['duplicateOf']}"
        print(f"job {args.job_id} attempt {summary['attempt']}: {summary['status']}{reason}")
    return 0 if job.get("status") in (contract.SUCCEEDED, contract.DUPLICATE) else 1


def redrive(args: argparse.Namespace, *, files: RunFiles) -> int:
    out: Path = args.out
    with _restored(out, files) as pipeline:
        lines = pipeline.redrive(dry_run=args.dry_run)
        if not args.dry_run:
            for line in lines:  # a redriven S3 event starts its job: let it end
                if line.action == "redriven" and line.job_id:
                    pipeline.wait_job(line.job_id, timeout=JOB_TIMEOUT_SECONDS)
            pipeline.export(out, prefixes=EXPORTED_PREFIXES)
        _save(pipeline, out, files)
    for line in lines:
        print(json.dumps(line.to_json(), sort_keys=True) if args.json else line.text())
    if not lines and not args.json:
        print("nothing in the dead-letter queues", file=sys.stderr)
    return 1 if any(line.action == "failed again" for line in lines) else 0


def add_commands(commands: Any, common: Any, *, files: RunFiles, usage_error: type) -> None:
    """Register ``reprocess`` and ``redrive`` on the CLI's subparsers."""

    def guarded(command: Any) -> Any:
        def run(args: argparse.Namespace) -> int:
            try:
                return int(command(args, files=files))
            except OperationError as exc:
                raise usage_error(str(exc)) from None

        return run

    again = commands.add_parser(
        "reprocess",
        help="run a SUCCEEDED or FAILED job again from the same source (a new attempt)",
    )
    again.add_argument("job_id")
    common(again)
    again.add_argument("--json", action="store_true", help="the outcome as one JSON object")
    again.set_defaults(command=guarded(reprocess))

    dead = commands.add_parser(
        "redrive", help="list (--dry-run) or send back what sits in the dead-letter queues"
    )
    dead.add_argument("--dry-run", action="store_true", help="list only; change nothing")
    common(dead)
    dead.add_argument("--json", action="store_true", help="one JSON object per message")
    dead.set_defaults(command=guarded(redrive))
