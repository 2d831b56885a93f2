"""What the check of ids across files adds to a file's validation, measured offline.

Two figures, each without DynamoDB's network time (no AWS account here; see
``docs/pipeline-contract.md`` for the model that adds it):

* ``pass``: the pass over the validated rows (CSV read and write, id digest, totals, reject
  merge), claims answered in memory: seconds per million rows;
* ``client``: botocore's own CPU per conditional ``PutItem`` (build, sign, serialize, parse),
  the service answered by a canned response: what caps the claims one validator can send
  per second of CPU, whatever the number of threads;
* ``transact``: the same for the alternative not taken, 100 conditional puts per
  ``TransactWriteItems`` (twice the write units).

Run: ``python -m bench.seen_ids [--rows 1000000] [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.config import Config
from etl_handlers.app.seen_ids import recode_seen_ids
from etl_handlers.aws.clients import create_client
from etl_handlers.aws.seen_ids import SeenIdStore, id_digest
from etl_handlers.core.schema import load_schema


def validated_rows(rows: int) -> bytes:
    """A validated file as the validator writes it (canonical header, CRLF)."""
    schema = load_schema()
    lines = [",".join(schema.column_names)]
    lines += [
        f"tx-{n:012d},ACC{n % 9973},2026-11-19T10:00:00Z,{n % 5000}.{n % 100:02d},EUR,"
        f"{'DEBIT' if n % 2 else 'CREDIT'},Shop {n % 97},food,************1111,DE"
        for n in range(1, rows + 1)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def time_pass(rows: int) -> float:
    body = validated_rows(rows)
    salt = "etl-seen-ids-bench"

    def claim(ids: list[str]) -> dict[int, Any]:
        for value in ids:  # the digest is the pass's own work
            id_digest(value, salt=salt)
        return {}

    started = time.process_time()
    recode_seen_ids(
        valid_in=io.BytesIO(body),
        rejects_in=io.BytesIO(),
        valid_out=io.BytesIO(),
        rejects_out=io.BytesIO(),
        schema=load_schema(),
        claim=claim,
    )
    return time.process_time() - started


def time_client(calls: int) -> float:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    client = create_client("dynamodb", Config(retries={"mode": "standard", "max_attempts": 5}))

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench"}, _Raw(b"{}"))

    client.meta.events.register("before-send.dynamodb.PutItem", answer)
    store = SeenIdStore("etl-seen-ids-bench", jobs=None, client=client, workers=1)  # type: ignore[arg-type]
    ids = [f"tx-{n:012d}" for n in range(calls)]
    started = time.process_time()
    assert store.claim("j" * 32, ids) == {}
    return time.process_time() - started


def time_transact(calls: int) -> float:
    client = create_client("dynamodb", Config(retries={"mode": "standard", "max_attempts": 5}))

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench"}, _Raw(b"{}"))

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", answer)
    salt, job = "etl-seen-ids-bench", "j" * 32
    started = time.process_time()
    for call in range(calls // 100):
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": salt,
                        "Item": {
                            "idHash": {"B": id_digest(f"tx-{call}-{n}", salt=salt)},
                            "jobId": {"S": job},
                            "claimedAt": {"N": "1765100000"},
                            "expiresAt": {"N": "1772876000"},
                            "token": {"S": "0123456789abcdef"},
                        },
                        "ConditionExpression": "attribute_not_exists(idHash) OR jobId = :me",
                        "ExpressionAttributeValues": {":me": {"S": job}},
                    }
                }
                for n in range(100)
            ]
        )
    return time.process_time() - started


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_: Any) -> Any:
        yield self._body.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    seconds = time_pass(args.rows)
    print(
        f"pass: {args.rows} rows in {seconds:.2f} s CPU = {seconds / args.rows * 1e6:.2f} s per 1M"
    )
    seconds = time_client(args.calls)
    print(
        f"client: {args.calls} PutItem in {seconds:.2f} s CPU = {seconds / args.calls * 1e3:.3f} "
        f"ms each, {args.calls / seconds:.0f} per CPU second"
    )
    seconds = time_transact(args.calls)
    print(
        f"transact: {args.calls} ids in {seconds:.2f} s CPU = {seconds / args.calls * 1e3:.3f} "
        f"ms each, {args.calls / seconds:.0f} per CPU second"
    )


if __name__ == "__main__":
    main()
