"""The job record in DynamoDB: creation, forward-only status transitions, step results,
and listing by status and time through the ``TimestampIndex`` GSI.

Every status change is a conditional write, so a late or repeated Lambda invocation can
never move a job backwards or out of a final status: the write is refused and reported as
:class:`TransitionRefused`, never applied. The allowed moves are::

    PENDING -> VALIDATING -> TRANSFORMING -> ENRICHING -> SUCCEEDED
    VALIDATING/TRANSFORMING/ENRICHING -> the same status (a retry of that step)
    PENDING/VALIDATING/TRANSFORMING/ENRICHING -> FAILED
    VALIDATING -> DUPLICATE (the file's bytes are an earlier job's)
    SUCCEEDED, FAILED, DUPLICATE: final

Records come back as plain JSON-able dicts (DynamoDB numbers become ``int``; amounts are
stored as exact decimal strings in the first place), with the attribute names of the
contract (``docs/pipeline-contract.md``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from etl_handlers import contract as env
from etl_handlers.aws import ddbtypes
from etl_handlers.aws.clients import RETRYING, shared_client
from etl_handlers.contract import (
    ACTIVE_STATUSES,
    DUPLICATE,
    ENRICHING,
    FAILED,
    FINAL_STATUSES,
    JOB_INDEX_NAME,
    PENDING,
    ROWS_READ,
    STATUSES,
    STEP_ROW_COUNTS,
    STEP_STATUS,
    STEP_STATUSES,
    STEPS,
    SUCCEEDED,
    TRANSFORMING,
    VALIDATING,
)
from etl_handlers.core.errors import EtlError
from etl_handlers.core.masking import scrub

ALLOWED_FROM: Mapping[str, frozenset[str]] = {
    PENDING: frozenset(),
    VALIDATING: frozenset({PENDING, VALIDATING}),
    TRANSFORMING: frozenset({VALIDATING, TRANSFORMING}),
    ENRICHING: frozenset({TRANSFORMING, ENRICHING}),
    SUCCEEDED: frozenset({ENRICHING}),
    FAILED: frozenset(ACTIVE_STATUSES),
    DUPLICATE: frozenset({VALIDATING}),  # validation found an earlier job's bytes
}
"""For each target status, the statuses a job may be in to move there."""

DEFAULT_INDEX = JOB_INDEX_NAME
MAX_PAGE_SIZE = 100
MAX_ERROR_MESSAGE = 1000
MAX_EXTRA_COLUMNS = 100
MAX_COLUMN_NAME = 64

CLIENT_CONFIG = RETRYING


__all__ = [
    "ACTIVE_STATUSES",
    "ALLOWED_FROM",
    "DUPLICATE",
    "ENRICHING",
    "FAILED",
    "FINAL_STATUSES",
    "PENDING",
    "ROWS_READ",
    "STATUSES",
    "STEPS",
    "STEP_ROW_COUNTS",
    "STEP_STATUS",
    "STEP_STATUSES",
    "SUCCEEDED",
    "TRANSFORMING",
    "VALIDATING",
    "InvalidCursor",
    "JobError",
    "JobNotFound",
    "JobPage",
    "JobStore",
    "TransitionRefused",
    "as_reported",
    "bounded_columns",
    "failed_figures",
    "iso",
]


class JobError(EtlError):
    """Root of the job store's errors."""


class JobNotFound(JobError, LookupError):
    """No job record has this id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} does not exist")
        self.job_id = job_id


class TransitionRefused(JobError):
    """The job is not in a status from which the requested move is allowed.

    ``current`` is the status the record had when the write was refused; nothing was
    written.
    """

    def __init__(self, job_id: str, current: str | None, target: str) -> None:
        super().__init__(f"job {job_id} cannot move from {current} to {target}")
        self.job_id = job_id
        self.current = current
        self.target = target


class InvalidCursor(JobError, ValueError):
    """A pagination cursor was not produced by this store for this query."""


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def default_client() -> Any:
    """The module's DynamoDB client, created on first use and reused across invocations."""
    return shared_client("dynamodb", CLIENT_CONFIG)


def _plain(value: Any) -> Any:
    """DynamoDB's Decimal/set/Binary values as JSON-able Python values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def _to_item(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ddbtypes.serialize(_storable(v)) for k, v in record.items()}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(ddbtypes.deserialize(v)) for k, v in item.items()}


def _storable(value: Any) -> Any:
    """Python values as DynamoDB accepts them: floats are refused, never rounded."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError("floats are not stored: pass an int or an exact decimal string")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Mapping):
        return {str(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


@dataclass(frozen=True)
class JobPage:
    """One page of a listing; ``cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    cursor: str | None


class _Update:
    """Builds one UpdateExpression with safely named attribute paths."""

    def __init__(self) -> None:
        self._sets: list[str] = []
        self._removes: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, part: str) -> str:
        for placeholder, existing in self.names.items():
            if existing == part:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = part
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = ddbtypes.serialize(_storable(value))
        return placeholder

    def path(self, *parts: str) -> str:
        return ".".join(self.name(p) for p in parts)

    def set(self, *parts: str, value: Any) -> None:
        self._sets.append(f"{self.path(*parts)} = {self.value(value)}")

    def set_to(self, target: str, operand: str) -> None:
        """``SET target = operand`` with both already written with placeholders."""
        self._sets.append(f"{target} = {operand}")

    def remove(self, *parts: str) -> None:
        self._removes.append(self.path(*parts))

    @property
    def expression(self) -> str:
        expression = "SET " + ", ".join(self._sets)
        if self._removes:
            expression += " REMOVE " + ", ".join(self._removes)
        return expression


class JobStore:
    """Reads and writes job records; every write that changes the status is conditional.

    ``table_name`` and ``index_name`` default to ``ETL_JOB_TABLE`` and ``ETL_JOB_INDEX``
    (``TimestampIndex``). ``client`` is a low-level DynamoDB client (default: one shared,
    lazily created client). ``clock`` returns the current aware datetime (tests pin it).
    The GSI must project all attributes (the listing returns whole records).
    """

    def __init__(
        self,
        table_name: str | None = None,
        *,
        index_name: str | None = None,
        client: Any = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        table = table_name or os.environ.get(env.JOB_TABLE)
        if not table:
            raise ValueError(f"no job table: pass table_name or set {env.JOB_TABLE}")
        self.table_name = table
        self.index_name = index_name or os.environ.get(env.JOB_INDEX) or DEFAULT_INDEX
        self._client = client
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = default_client()
        return self._client

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return self._clock().astimezone(UTC)

    # -- create and read ------------------------------------------------------------------

    def create(
        self,
        *,
        job_id: str,
        file_name: str,
        bucket: str,
        version_id: str | None,
        etag: str,
        size_bytes: int,
    ) -> tuple[dict[str, Any], bool]:
        """Create the PENDING record unless a record with this id exists.

        Returns ``(record, created)``: a repeated call returns the existing record (in
        whatever status it reached) with ``created`` False and writes nothing.
        """
        now = self.now()
        record: dict[str, Any] = {
            "jobId": job_id,
            "fileName": file_name,
            "status": PENDING,
            "timestamp": int(now.timestamp()),
            "createdAt": iso(now),
            "updatedAt": iso(now),
            "bucket": bucket,
            "etag": etag,
            "sizeBytes": int(size_bytes),
            "steps": {},
            "rows": {},
            "totals": {},
            "outputs": {},
        }
        if version_id:
            record["versionId"] = version_id
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(jobId)",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            existing = self.get(job_id)
            if existing is None:  # pragma: no cover - deleted between the two calls
                raise
            return existing, False
        return record, True

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The record with this id, or None. Strongly consistent."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="jobId = :id",
            ExpressionAttributeValues={":id": {"S": job_id}},
            ConsistentRead=True,
            Limit=1,
        )
        items = response.get("Items") or []
        return _from_item(items[0]) if items else None

    def require(self, job_id: str) -> dict[str, Any]:
        """The record with this id; raises :class:`JobNotFound` when there is none."""
        record = self.get(job_id)
        if record is None:
            raise JobNotFound(job_id)
        return record

    # -- writes -----------------------------------------------------------------------------

    def set_execution(self, job_id: str, file_name: str, execution_arn: str) -> None:
        """Record the ARN of the execution that processes the job."""
        update = _Update()
        update.set("executionArn", value=execution_arn)
        self._update(job_id, file_name, update, condition="attribute_exists(jobId)")

    def transition(self, job_id: str, file_name: str, target: str) -> dict[str, Any]:
        """Move the job to ``target`` if allowed; returns the updated record.

        Raises :class:`TransitionRefused` (nothing written) when the job's status does not
        allow the move, :class:`JobNotFound` when there is no such job.
        """
        return self._transition(job_id, file_name, target, _Update())

    def start_step(self, job_id: str, file_name: str, step: str) -> dict[str, Any]:
        """Enter the running status of ``step`` (a retry re-enters it) and record when.

        The step's timings restart, so they describe the latest attempt.
        """
        target = _step_status(step)
        update = _Update()
        update.set("steps", step, value={"startedAt": iso(self.now())})
        return self._transition(job_id, file_name, target, update)

    def finish_step(
        self,
        job_id: str,
        file_name: str,
        step: str,
        *,
        started_at: datetime,
        rows: Mapping[str, int] | None = None,
        totals: Mapping[str, Any] | None = None,
        outputs: Mapping[str, str | None] | None = None,
        extra_columns: list[str] | None = None,
        error: Mapping[str, str] | None = None,
        succeed: bool = False,
        final_status: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record a finished step's timings and results, in one conditional write.

        ``final_status`` (e.g. DUPLICATE) ends the job there in the same write, like
        ``succeed``; ``attributes`` are set as top-level attributes (``contentSha256``,
        ``duplicateOf``, ``manifest``).

        The job must still be in the step's running status: after FAILED (or any other
        move) nothing is recorded and :class:`TransitionRefused` is raised. With
        ``succeed`` the job moves on to SUCCEEDED in the same write (the enricher).
        ``error`` is ``{"code", "message"}`` of a data problem; the step is added and the
        message scrubbed of card numbers.
        """
        status = _step_status(step)
        now = self.now()
        update = _Update()
        duration = max(0, int((now - started_at).total_seconds() * 1000))
        timing = {"startedAt": iso(started_at), "finishedAt": iso(now), "durationMs": duration}
        update.set("steps", step, value=timing)
        for name, count in (rows or {}).items():
            update.set("rows", name, value=int(count))
        if totals is not None:
            update.set("totals", step, value=dict(totals))
        for name, key in (outputs or {}).items():
            if key:
                update.set("outputs", name, value=key)
        if extra_columns is not None:
            update.set("extraColumns", value=bounded_columns(extra_columns))
        if error is not None:
            update.set("error", value=_clean_error(step, error))
        for name, value in (attributes or {}).items():
            update.set(name, value=value)
        if final_status == DUPLICATE and totals is None:
            update.remove("totals")  # nothing published: no figures to add up (as FAILED)
        if succeed or final_status:
            target = final_status or SUCCEEDED
            return self._transition(job_id, file_name, target, update, now=now)
        update.set("updatedAt", value=iso(now))
        condition = f"attribute_exists(jobId) AND {update.name('status')} = {update.value(status)}"
        return self._update(job_id, file_name, update, condition=condition, refused_target=status)

    def fail(
        self, job_id: str, file_name: str, *, step: str | None, code: str, message: str
    ) -> dict[str, Any]:
        """Move the job to FAILED with an error; refused once the job is final.

        The figures become what a FAILED job reports (:func:`failed_figures`): the rows
        read, no valid counts and no totals.
        """
        now = self.now()
        update = _Update()
        update.set("error", value=_clean_error(step, {"code": code, "message": message}))
        update.set("failedAt", value=iso(now))
        failed_figures(update)
        return self._transition(job_id, file_name, FAILED, update, now=now)

    def _transition(
        self,
        job_id: str,
        file_name: str,
        target: str,
        update: _Update,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        if target not in ALLOWED_FROM:
            raise ValueError(f"unknown status {target!r}: use one of {STATUSES}")
        allowed = sorted(ALLOWED_FROM[target])
        if not allowed:
            raise ValueError(f"no transition leads to {target}; create() writes it")
        now = now or self.now()
        update.set("status", value=target)
        update.set("timestamp", value=int(now.timestamp()))
        update.set("updatedAt", value=iso(now))
        placeholders = ", ".join(update.value(s) for s in allowed)
        return self._update(
            job_id,
            file_name,
            update,
            condition=f"attribute_exists(jobId) AND {update.name('status')} IN ({placeholders})",
            refused_target=target,
        )

    def _update(
        self,
        job_id: str,
        file_name: str,
        update: _Update,
        *,
        condition: str,
        refused_target: str | None = None,
    ) -> dict[str, Any]:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"jobId": {"S": job_id}, "fileName": {"S": file_name}},
                UpdateExpression=update.expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            old = exc.response.get("Item")
            if not old:
                raise JobNotFound(job_id) from None
            current = _from_item(old).get("status")
            raise TransitionRefused(job_id, current, refused_target or "?") from None
        return _from_item(response.get("Attributes") or {})

    # -- listing ----------------------------------------------------------------------------

    def list_by_status(
        self,
        status: str,
        *,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        limit: int = 50,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> JobPage:
        """One page of jobs in ``status`` whose last status change lies in [since, until].

        ``cursor`` is the value a previous page returned; it is opaque and bound to the
        status. ``limit`` is capped at 100.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}: use one of {STATUSES}")
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        names = {"#s": "status"}
        values: dict[str, Any] = {":s": {"S": status}}
        condition = "#s = :s"
        low, high = _epoch(since), _epoch(until)
        if low is not None or high is not None:
            names["#t"] = "timestamp"
        if low is not None and high is not None:
            condition += " AND #t BETWEEN :lo AND :hi"
            values[":lo"] = {"N": str(low)}
            values[":hi"] = {"N": str(high)}
        elif low is not None:
            condition += " AND #t >= :lo"
            values[":lo"] = {"N": str(low)}
        elif high is not None:
            condition += " AND #t <= :hi"
            values[":hi"] = {"N": str(high)}
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": self.index_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if cursor:
            params["ExclusiveStartKey"] = _decode_cursor(cursor, status)
        response = self.client.query(**params)
        items = [_from_item(item) for item in response.get("Items") or []]
        last = response.get("LastEvaluatedKey")
        return JobPage(items=items, cursor=_encode_cursor(last) if last else None)

    def iter_by_status(
        self,
        status: str,
        *,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every job in ``status`` changed within [since, until], newest first."""
        cursor: str | None = None
        while True:
            page = self.list_by_status(
                status, since=since, until=until, limit=MAX_PAGE_SIZE, cursor=cursor
            )
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    # -- reprocess: a new attempt of a final job --------------------------------------------

    def reopen(
        self, job_id: str, file_name: str, *, attempt: int, history: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Start attempt ``attempt + 1`` of a final job, in one conditional write.

        ``history`` (the finished attempt as ``app.reprocess`` summarizes it) is appended to
        ``attempts``; the job becomes PENDING again with the figures, outputs, error and
        execution of the finished attempt cleared. The write is refused
        (:class:`TransitionRefused`) unless the job is still final and still at ``attempt``:
        of two concurrent reprocesses of one job, exactly one gets through.
        """
        now = self.now()
        update = _Update()
        update.set("attempt", value=attempt + 1)
        update.set("attemptStartedAt", value=iso(now))
        history_list = update.name("attempts")
        update.set_to(
            history_list,
            f"list_append(if_not_exists({history_list}, {update.value([])}), "
            f"{update.value([dict(history)])})",
        )
        for name in ("steps", "rows", "totals", "outputs"):
            update.set(name, value={})
        # what the finished attempt found about its file: a new attempt finds it again
        # (a DUPLICATE job's earlier job may have failed since; a manifest may be new)
        for name in (
            "executionArn",
            "error",
            "failedAt",
            "failedCopyError",
            "extraColumns",
            "duplicateOf",
            "contentSha256",
            "manifest",
        ):
            update.remove(name)
        update.set("status", value=PENDING)
        update.set("timestamp", value=int(now.timestamp()))
        update.set("updatedAt", value=iso(now))
        finals = ", ".join(update.value(s) for s in FINAL_STATUSES)
        number = update.name("attempt")
        same_attempt = f"{number} = {update.value(attempt)}"
        if attempt == 1:  # a record from before attempts were counted has none
            same_attempt = f"(attribute_not_exists({number}) OR {same_attempt})"
        return self._update(
            job_id,
            file_name,
            update,
            condition=(
                f"attribute_exists(jobId) AND {update.name('status')} IN ({finals}) "
                f"AND {same_attempt}"
            ),
            refused_target=PENDING,
        )


def failed_figures(update: _Update) -> None:
    """Add to ``update`` (a move to FAILED) what a FAILED job's figures become.

    Nothing of a FAILED job is published, so it reports no valid rows and no totals: a
    reader would take partial figures for delivered ones. ``rows`` becomes ``{"read": N}``,
    N the rows its validation read (``rows.input``; 0 when validation recorded none);
    ``totals`` goes. The state machine's RecordFailure writes the same (a test compares).
    """
    rows, read, data_rows = update.name("rows"), update.name(ROWS_READ), update.name("input")
    update.set_to(f"{rows}.{read}", f"if_not_exists({rows}.{data_rows}, {update.value(0)})")
    for count in STEP_ROW_COUNTS:
        update.remove("rows", count)
    update.remove("totals")


def posted_nothing(job: Mapping[str, Any] | None) -> bool:
    """Whether nothing of ``job`` stands published, so its claims (on ids, on a file's
    bytes) no longer count: its record is gone, or it FAILED and none of its earlier attempts
    SUCCEEDED. A reprocess that fails leaves the last successful attempt's outputs in place,
    so that attempt's rows stay posted."""
    if job is None:
        return True
    if job.get("status") != FAILED:
        return False
    attempts = job.get("attempts") or []
    return not any(isinstance(a, Mapping) and a.get("status") == SUCCEEDED for a in attempts)


def as_reported(job: Mapping[str, Any]) -> dict[str, Any]:
    """The record as readers get it (API, local CLI): a FAILED job with ``rows`` of the
    rows read only and no ``totals``, also when it was recorded before FAILED jobs were
    written so."""
    view = dict(job)
    if view.get("status") != FAILED:
        return view
    rows = view.get("rows") if isinstance(view.get("rows"), Mapping) else {}
    read = rows.get(ROWS_READ, rows.get("input", 0))
    view["rows"] = {ROWS_READ: read if isinstance(read, int) else 0}
    view.pop("totals", None)
    return view


def _step_status(step: str) -> str:
    try:
        return STEP_STATUS[step]
    except KeyError:
        raise ValueError(f"unknown step {step!r}: use one of {STEPS}") from None


def bounded_columns(names: list[str]) -> list[str]:
    """Header names as recorded on the job: at most :data:`MAX_EXTRA_COLUMNS` names of at
    most :data:`MAX_COLUMN_NAME` characters, then ``"... N more"``. A header of 10,000
    columns or of 1 MB names must not push the record past DynamoDB's 400 KB item limit."""
    kept = [
        name if len(name) <= MAX_COLUMN_NAME else name[: MAX_COLUMN_NAME - 3] + "..."
        for name in names[:MAX_EXTRA_COLUMNS]
    ]
    if len(names) > MAX_EXTRA_COLUMNS:
        kept.append(f"... {len(names) - MAX_EXTRA_COLUMNS} more")
    return kept


def _clean_error(step: str | None, error: Mapping[str, str]) -> dict[str, str]:
    message = scrub(str(error.get("message") or ""))
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 3] + "..."
    clean = {"code": str(error.get("code") or "ERROR"), "message": message}
    if step:
        clean["step"] = step
    return clean


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _epoch(moment: datetime | float | None) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    return int(moment)


def _encode_cursor(last_key: Mapping[str, Any]) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, status: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor("cursor is not valid: pass the cursor of the previous page") from exc
    expected = {"jobId", "fileName", "status", "timestamp"}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(v, dict) and len(v) == 1 for v in key.values())
        or key["status"] != {"S": status}
        or set(key["timestamp"]) != {"N"}
        or set(key["jobId"]) != {"S"}
        or set(key["fileName"]) != {"S"}
    ):
        raise InvalidCursor("cursor does not belong to this query: start without a cursor")
    return key
