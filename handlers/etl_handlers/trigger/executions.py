"""Record the jobs whose execution ended without recording them.

The state machine records every failure it can catch (its failure branch). What it cannot
catch ends the execution with the job still in a running status: the execution timed out
(``TIMED_OUT``), was stopped (``ABORTED``), or failed outside the failure branch's reach
(``FAILED``: ``States.Runtime``, ``States.DataLimitExceeded``, or the failure branch's own
record could not be written). An EventBridge rule sends Step Functions' ``Execution Status
Change`` events for those three statuses to the trigger, which marks the job FAILED here
and emits the run's lineage FAIL event (also for a job the failure branch recorded: every
failed job's execution ends here, so this is the one place FAIL is emitted):

* the job is the execution's name (the job id, or ``{job}-a{N}`` for attempt N of a
  reprocess); an event for another state machine, for an
  execution the job does not name (an older one), or for a job that does not exist changes
  nothing;
* the write is the job store's conditional move to FAILED: a job that is SUCCEEDED or
  FAILED already (the failure branch recorded it, the usual case for ``FAILED``) is left as
  it is; ``error`` is ``{"step", "code", "message"}`` with the code of
  :data:`etl_handlers.core.codes.EXECUTION_CODES` and the step the job was in;
* the message names the execution and its error name, never the event's ``cause`` (it can
  hold the state's data), except the failure branch's own message when its record failed
  (``JobFailed``: the cause is that message, clean by construction, scrubbed again).

The trigger already has ``dynamodb:Query`` and ``dynamodb:UpdateItem`` on the table for its
jobs: this needs no permission more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from etl_handlers.app.ingest import EXECUTION_END_STATUSES, EXECUTION_STATUS_CHANGE, STATES_SOURCE
from etl_handlers.app.lineage import emit as emit_lineage
from etl_handlers.aws.jobs import FAILED, FINAL_STATUSES, STEP_STATUS, JobStore, TransitionRefused
from etl_handlers.aws.observability import transient_aws_errors
from etl_handlers.core import codes, keys
from etl_handlers.core.lineage import FAIL

#: The error of the state machine's Fail state (its failure branch's end).
JOB_FAILED = "JobFailed"
STATUS_CODES: Mapping[str, str] = {
    "TIMED_OUT": codes.EXECUTION_TIMED_OUT,
    "ABORTED": codes.EXECUTION_ABORTED,
    "FAILED": codes.EXECUTION_FAILED,
}
_STEP_OF_STATUS = {status: step for step, status in STEP_STATUS.items()}

__all__ = ["ExecutionEnd", "is_execution_event", "parse_execution_event", "record_execution_end"]


@dataclass(frozen=True)
class ExecutionEnd:
    """The fields of an execution status change event this module uses."""

    execution_arn: str
    state_machine_arn: str
    job_id: str
    status: str
    error: str | None
    cause: str | None


def is_execution_event(event: Any) -> bool:
    """Whether ``event`` is a Step Functions execution status change (of any execution)."""
    return (
        isinstance(event, Mapping)
        and event.get("source") == STATES_SOURCE
        and event.get("detail-type") == EXECUTION_STATUS_CHANGE
    )


def parse_execution_event(event: Mapping[str, Any]) -> ExecutionEnd | None:
    """The execution's end, or None when the event is not one this module records."""
    if not is_execution_event(event):
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    status, name = detail.get("status"), detail.get("name")
    arn, machine = detail.get("executionArn"), detail.get("stateMachineArn")
    job_id = keys.job_of_execution(name)  # the job id, or ``{job}-a{N}`` of a reprocess
    if status not in EXECUTION_END_STATUSES or job_id is None:
        return None
    if not (isinstance(arn, str) and isinstance(machine, str)):
        return None
    error, cause = detail.get("error"), detail.get("cause")
    return ExecutionEnd(
        execution_arn=arn,
        state_machine_arn=machine,
        job_id=job_id,
        status=str(status),
        error=str(error) if error else None,
        cause=str(cause) if cause else None,
    )


def _message(end: ExecutionEnd) -> str:
    # Not the ARN itself: the record's messages are scrubbed of card numbers, and the digits
    # of a job id (hex) pass Luhn now and then; the record keeps the ARN whole.
    where = "the execution history (the job's executionArn) holds the details"
    if end.status == "TIMED_OUT":
        return f"The execution ran past the state machine's timeout; {where}."
    if end.status == "ABORTED":
        return f"The execution was stopped before the job finished; {where}."
    if end.error == JOB_FAILED and end.cause:
        return f"The job failed and its record could not be written then: {end.cause}"
    return f"The execution failed with {end.error or 'an unnamed error'}; {where}."


def record_execution_end(
    event: Mapping[str, Any],
    *,
    store: JobStore,
    state_machine_arn: str | None,
    log: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Mark the job of an execution that ended FAILED, TIMED_OUT or ABORTED as FAILED.

    Returns ``{"status": "recorded" | "unchanged" | "ignored", ...}``: ``recorded`` with the
    job id and code, ``unchanged`` when the job was final already (its current status),
    ``ignored`` with the reason otherwise. Retryable AWS errors raise ``TransientError``
    (EventBridge retries the event, then sends it to the trigger's dead-letter queue).
    """
    say = log or (lambda message, **fields: None)
    end = parse_execution_event(event)
    if end is None:
        return _ignored(say, "not the end of a job's execution")
    if state_machine_arn and end.state_machine_arn != state_machine_arn:
        return _ignored(say, "an execution of another state machine", execution=end.execution_arn)
    with transient_aws_errors("read job"):
        job = store.get(end.job_id)
    if job is None:
        return _ignored(say, "no such job", job_id=end.job_id)
    if job.get("executionArn") not in (None, end.execution_arn):
        return _ignored(say, "not the job's execution", job_id=end.job_id)
    status = job.get("status")
    if status in FINAL_STATUSES:
        say("job already final", job_id=end.job_id, status=status, execution=end.status)
        if status == FAILED:  # the failure branch recorded it: the run's FAIL is due here
            emit_lineage(FAIL, job, log=say)
        return {"status": "unchanged", "jobId": end.job_id, "jobStatus": status}
    code = STATUS_CODES[end.status]
    try:
        with transient_aws_errors("fail job"):
            failed = store.fail(
                end.job_id,
                str(job["fileName"]),
                step=_STEP_OF_STATUS.get(str(status)),
                code=code,
                message=_message(end),
            )
    except TransitionRefused as refused:  # it became final meanwhile
        say("job became final meanwhile", job_id=end.job_id, status=refused.current)
        if refused.current == FAILED:
            with transient_aws_errors("read job"):
                now_failed = store.get(end.job_id)
            if now_failed is not None:
                emit_lineage(FAIL, now_failed, log=say)
        return {"status": "unchanged", "jobId": end.job_id, "jobStatus": refused.current}
    say("job recorded as failed", job_id=end.job_id, code=code, was=status)
    emit_lineage(FAIL, failed, log=say)
    return {"status": "recorded", "jobId": end.job_id, "code": code}


def _ignored(say: Callable[..., None], reason: str, **fields: Any) -> dict[str, Any]:
    say("execution event ignored", reason=reason, **fields)
    return {"status": "ignored", "reason": reason}
