"""Shared pieces of the adversarial review of issue 19 (operations): an offline pipeline
built the way a user builds one, files written as a sender writes them."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore
from etl_constructs.control_api import ControlApi
from etl_constructs.local import CloudAssembly, LocalPipeline
from etl_constructs.schema import TransactionSchema
from tests.conftest import cdk_json_context

HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,"
    "category,card_number,country"
)
PAN = "4111111111111111"


def row(
    ident: str,
    amount: str = "10.00",
    *,
    currency: str = "EUR",
    kind: str = "DEBIT",
    merchant: str = "Shop",
    category: str = "food",
) -> str:
    """One transaction (an EUR debit unless told); the id quoted when it holds a comma, a
    quote or a line break."""
    if any(c in ident for c in ',"\r\n'):
        ident = '"' + ident.replace('"', '""') + '"'
    return (
        f"{ident},ACC1,2026-11-19T10:00:00Z,{amount},{currency},{kind},{merchant},{category},"
        f"{PAN},DE"
    )


def csv(*rows: str, eol: str = "\n") -> bytes:
    return (eol.join([HEADER, *rows]) + eol).encode()


def manifest(data: bytes, *, rows: int, count: int, debit: str) -> bytes:
    totals = {"EUR": {"count": count, "debit": debit, "credit": "0.00"}} if count else {}
    document = {"rows": rows, "totals": totals, "sha256": hashlib.sha256(data).hexdigest()}
    return json.dumps(document).encode()


def any_id_schema() -> TransactionSchema:
    """The default schema without the id's pattern: ids as senders really write them
    (formula-like, non-ASCII, with line breaks)."""
    document = copy.deepcopy(TransactionSchema.default().to_document())
    del document["columns"][0]["pattern"]
    return TransactionSchema.from_document(document)


def pipeline(outdir: Path, suffix: str, **workflow: object) -> LocalPipeline:
    """Bucket, job table, workflow (``workflow`` props) and the control API, offline."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = cdk.Stack(app, "Review")
    bucket = IngestionBucket(stack, "Ingestion", environment_suffix=suffix)
    table = MetadataStore(stack, "Metadata", environment_suffix=suffix)
    flow = EtlWorkflow(
        stack,
        "Workflow",
        environment_suffix=suffix,
        bucket=bucket.bucket,
        table=table.table,
        **workflow,
    )
    ControlApi(
        stack,
        "Api",
        environment_suffix=suffix,
        bucket=bucket.bucket,
        table=table.table,
        state_machine=flow.state_machine,
    )
    assembly = app.synth()
    return LocalPipeline(CloudAssembly.load(Path(assembly.directory)), time_scale=0.05)


def put(local: LocalPipeline, key: str, body: bytes) -> tuple[str, str | None]:
    response = local.s3.put_object(Bucket=local.bucket, Key=key, Body=body)
    return key, response.get("VersionId")


def run(local: LocalPipeline, name: str, body: bytes, sent_manifest: bytes | None = None) -> dict:
    """Upload ``raw/{name}`` (its manifest first, when given) and wait for its job to end."""
    key = f"raw/{name}"
    if sent_manifest is not None:
        put(local, key + ".manifest.json", sent_manifest)
    obj = put(local, key, body)
    job = local.wait([obj], timeout=300)[obj]
    assert job is not None, f"no job for {key}"
    return job


def read(local: LocalPipeline, key: str) -> bytes:
    return local.s3.get_object(Bucket=local.bucket, Key=key)["Body"].read()


def objects(local: LocalPipeline, output: str) -> list[str]:
    """The keys of one job output: one object, or a big file's parts under a prefix."""
    return list(local._keys(output)) if output.endswith("/") else [output]


def reject_lines(local: LocalPipeline, job: dict) -> list[dict]:
    if not job["rows"].get("rejected"):
        return []
    lines = [
        json.loads(line)
        for key in objects(local, job["outputs"]["rejected"])
        for line in read(local, key).splitlines()
    ]
    return sorted(lines, key=lambda line: line["row"])


@dataclass
class CliRun:
    """What one ``etl-pipeline run`` process did."""

    code: int
    results: list[dict]
    seconds: float
    stderr: str
    stdout: str


def cli_run(project: Path, files: list[Path], out: Path, *, timeout: float) -> CliRun:
    """`etl-pipeline run FILE... --out OUT --json --project PROJECT --timeout T` in a process
    of its own (one LocalPipeline per process), this checkout's library and handlers first."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root), str(root / "handlers"), env.get("PYTHONPATH", "")]
    )
    code = "import sys; from etl_constructs.local import cli; sys.exit(cli.main(sys.argv[1:]))"
    argv = ["run", *map(str, files), "--out", str(out), "--json", "--project", str(project)]
    argv += ["--timeout", str(timeout)]
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout + 600,
        check=False,
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    took = time.monotonic() - began
    return CliRun(done.returncode, results, took, done.stderr, done.stdout)
