"""Redrive what sits in a dead-letter queue: list it first, then send each event back once.

The pipeline's dead-letter queues belong to its asynchronously invoked functions: the
trigger (S3 ``Object Created`` events and execution status changes, from their EventBridge
rules) and the quality check (its schedule). Each message body is the event the function
did not process; its attributes carry the error (Lambda's ``ErrorCode``/``ErrorMessage``,
or EventBridge's ``ERROR_CODE``/``ERROR_MESSAGE``).

:func:`redrive_queue` lists every message (the event, the job it concerns, the error) and,
unless ``dry_run``, invokes the function with the event once, synchronously, and deletes the
message only after the function succeeded; a message whose job already SUCCEEDED is deleted
without a call, with a line saying so. A message that fails again stays in the queue.

Against AWS, with the deployment's names (``{name_prefix}-trigger-dlq-{suffix}`` and the
function ``{name_prefix}-trigger-{suffix}``)::

    python -m etl_handlers.ops.redrive --queue-url URL --function NAME --table TABLE \
        [--dry-run] [--json]

Offline, ``etl-pipeline redrive`` runs the same function over the local runtime's queues.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from etl_handlers.aws import s3io
from etl_handlers.contract import EXECUTION_STATUS_CHANGE, STATES_SOURCE, SUCCEEDED
from etl_handlers.core import keys
from etl_handlers.core.masking import scrub

MAX_MESSAGES = 1000
"""Messages one run looks at, at most."""
HOLD_SECONDS = 900
"""How long a received message stays hidden while it is redriven (Lambda's longest run)."""
LIST_HOLD_SECONDS = 60
"""How long a dry run hides the messages it lists before it releases them."""
MAX_ERROR = 300

LISTED, REDRIVEN, DROPPED, FAILED_AGAIN = "listed", "redriven", "dropped", "failed again"

__all__ = [
    "DROPPED",
    "FAILED_AGAIN",
    "LISTED",
    "REDRIVEN",
    "DeadLetter",
    "RedriveLine",
    "job_of_event",
    "main",
    "redrive_queue",
]


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue."""

    message_id: str
    receipt_handle: str
    event: Any
    job_id: str | None
    error: str | None


@dataclass(frozen=True)
class RedriveLine:
    """What happened to one message: ``action`` is listed, redriven, dropped or failed again."""

    function: str
    message_id: str
    job_id: str | None
    event: str
    error: str | None
    action: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "messageId": self.message_id,
            "jobId": self.job_id,
            "event": self.event,
            "error": self.error,
            "action": self.action,
            "detail": self.detail,
        }

    def text(self) -> str:
        job = self.job_id or "no job"
        error = f" [{self.error}]" if self.error else ""
        return f"{self.function}: {self.action}: {self.event} ({job}){error}: {self.detail}"


def job_of_event(event: Any) -> str | None:
    """The job an event concerns: an S3 object's (the trigger's job id rule: bucket, the key
    as decoded, version id or else ETag) or an execution's (its name), else None (a
    schedule's event)."""
    if not isinstance(event, Mapping):
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    if event.get("source") == "aws.s3":
        bucket = detail.get("bucket") if isinstance(detail.get("bucket"), Mapping) else {}
        obj = detail.get("object") if isinstance(detail.get("object"), Mapping) else {}
        key = obj.get("key")
        version_id, etag = (
            value if isinstance(value, str) else None
            for value in (obj.get("version-id"), obj.get("etag"))
        )
        version = s3io.normalize_version_id(version_id) or s3io.normalize_etag(etag)
        if not (bucket.get("name") and isinstance(key, str) and key and version):
            return None
        return keys.job_id(str(bucket["name"]), unquote_plus(key), version)
    if event.get("source") == STATES_SOURCE and event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return keys.job_of_execution(detail.get("name"))
    return None


def describe_event(event: Any) -> str:
    """A short, card-free name for an event: its type and object key or execution."""
    if not isinstance(event, Mapping):
        return "a message that is not a JSON event"
    kind = str(event.get("detail-type") or event.get("source") or "event")
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    obj = detail.get("object") if isinstance(detail.get("object"), Mapping) else {}
    about = obj.get("key") or detail.get("name") or ""
    return scrub(f"{kind} {about}".strip())[:MAX_ERROR]


def _error(attributes: Mapping[str, Any]) -> str | None:
    def value(name: str) -> str | None:
        found = attributes.get(name)
        return str(found.get("StringValue")) if isinstance(found, Mapping) else None

    code = value("ErrorCode") or value("ERROR_CODE")
    message = value("ErrorMessage") or value("ERROR_MESSAGE")
    text = " ".join(part for part in (code, message) if part)
    return scrub(text)[:MAX_ERROR] if text else None


def _event_of(body: Any) -> dict[str, Any] | None:
    """The event a message carries: a JSON object, else None (anyone allowed to send to the
    queue may have put anything there: a list, a string, nesting deeper than the parser
    goes)."""
    try:
        event = json.loads(body or "")
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def receive_all(sqs: Any, queue_url: str, *, hold_seconds: int, limit: int) -> list[DeadLetter]:
    """Receive up to ``limit`` messages, each hidden for ``hold_seconds`` meanwhile."""
    letters: list[DeadLetter] = []
    while len(letters) < limit:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(letters)),
            VisibilityTimeout=hold_seconds,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages") or []
        if not messages:
            break
        for message in messages:
            event = _event_of(message.get("Body"))
            letters.append(
                DeadLetter(
                    message_id=message["MessageId"],
                    receipt_handle=message["ReceiptHandle"],
                    event=event,
                    job_id=job_of_event(event),
                    error=_error(message.get("MessageAttributes") or {}),
                )
            )
    return letters


def redrive_queue(
    *,
    sqs: Any,
    lambda_client: Any,
    queue_url: str,
    function: str,
    job_status: Callable[[str], str | None],
    dry_run: bool,
    limit: int = MAX_MESSAGES,
) -> list[RedriveLine]:
    """List (``dry_run``) or redrive the messages of one dead-letter queue.

    ``function`` is the name or ARN of the function the queue belongs to; ``job_status``
    returns a job's status (None: no such job). Returns one line per message.
    """
    hold = LIST_HOLD_SECONDS if dry_run else HOLD_SECONDS
    letters = receive_all(sqs, queue_url, hold_seconds=hold, limit=limit)
    lines: list[RedriveLine] = []
    for letter in letters:

        def line(action: str, detail: str, letter: DeadLetter = letter) -> RedriveLine:
            return RedriveLine(
                function=function,
                message_id=letter.message_id,
                job_id=letter.job_id,
                event=describe_event(letter.event),
                error=letter.error,
                action=action,
                detail=detail,
            )

        status = job_status(letter.job_id) if letter.job_id else None
        if dry_run:
            if letter.event is None:
                would = "the body is not a JSON event; it would be left in the queue"
            else:
                would = f"job {status}" if status else "would be sent back once"
            lines.append(line(LISTED, would))
            _release(sqs, queue_url, letter)
            continue
        if status == SUCCEEDED:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle)
            lines.append(line(DROPPED, f"job {letter.job_id} already SUCCEEDED; message deleted"))
            continue
        if letter.event is None:
            _release(sqs, queue_url, letter)
            lines.append(line(FAILED_AGAIN, "the body is not a JSON event; left in the queue"))
            continue
        response = lambda_client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(letter.event).encode(),
        )
        if response.get("FunctionError"):
            _release(sqs, queue_url, letter)
            lines.append(line(FAILED_AGAIN, _failure(response) + "; left in the queue"))
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle)
        lines.append(line(REDRIVEN, "processed; message deleted"))
    return lines


def _release(sqs: Any, queue_url: str, letter: DeadLetter) -> None:
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
    )


def _failure(response: Mapping[str, Any]) -> str:
    try:
        payload = json.loads(response["Payload"].read() or b"{}")
    except (KeyError, ValueError):
        payload = {}
    kind = payload.get("errorType") if isinstance(payload, Mapping) else None
    return scrub(f"the function failed again ({kind or response.get('FunctionError')})")


# -- against AWS -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, session: Any = None) -> int:
    """``python -m etl_handlers.ops.redrive``: one queue of a deployed pipeline."""
    parser = argparse.ArgumentParser(
        prog="python -m etl_handlers.ops.redrive",
        description="List (--dry-run) or redrive the messages of one dead-letter queue.",
    )
    parser.add_argument("--queue-url", required=True, help="the dead-letter queue's URL")
    parser.add_argument("--function", required=True, help="the function it belongs to")
    parser.add_argument("--table", required=True, help="the job table (for job statuses)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--dry-run", action="store_true", help="list only; change nothing")
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.add_argument("--limit", type=int, default=MAX_MESSAGES)
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    if session is None:  # pragma: no cover - a real AWS session
        import boto3

        session = boto3.session.Session(region_name=args.region)
    from etl_handlers.aws.jobs import JobStore

    store = JobStore(args.table, client=session.client("dynamodb"))
    lines = redrive_queue(
        sqs=session.client("sqs"),
        lambda_client=session.client("lambda"),
        queue_url=args.queue_url,
        function=args.function,
        job_status=lambda job_id: (store.get(job_id) or {}).get("status"),
        dry_run=args.dry_run,
        limit=args.limit,
    )
    print_lines(lines, as_json=args.json)
    return 1 if any(line.action == FAILED_AGAIN for line in lines) else 0


def print_lines(lines: Sequence[RedriveLine], *, as_json: bool, stream: Any = None) -> None:
    out = stream or sys.stdout
    for line in lines:
        print(json.dumps(line.to_json(), sort_keys=True) if as_json else line.text(), file=out)
    if not as_json and not lines:
        print("nothing in the dead-letter queue", file=out)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
