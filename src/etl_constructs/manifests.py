"""Sender manifests: the state machine's wait for ``raw/<name>.manifest.json``.

With :class:`ManifestPolicy` on :class:`EtlWorkflow` (``manifest=ManifestPolicy()``), every
data file needs its manifest. The execution starts with the data file as before (no second
trigger path: the ingestion rule only sends ``.csv`` keys, so a manifest starts nothing),
and its first states wait for the manifest::

    ManifestStart (Pass: checks 0)
      -> CheckManifest (validator, mode "manifest": does the manifest exist?)
      -> ManifestArrived (Choice)
           VALID   -> the rest of the pipeline (FileSize / Validate)
           WAITING -> WaitForManifest (Wait ``poll``) -> CheckManifest
           INVALID -> the failure branch (MANIFEST_MISSING after the last check)

A manifest that arrived first is found by the first check. The wait is counted in checks
(``ceil(wait / poll)``, carried in the execution state), so the offline runtime, which
shortens Wait states, keeps the same number of checks. The job stays PENDING while it
waits, so ``wait`` must stay below ``stuck_after``. A Standard workflow bills state
transitions: three per check (about 90 for the default 30 minutes, polled each minute).
The validator then reads the manifest before the data file and checks what it counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from ._contract import contract

if TYPE_CHECKING:  # pragma: no cover
    from .etl_workflow import EtlWorkflow

#: One check is a HeadObject: a short task timeout keeps the execution budget of a long
#: wait close to the wait itself.
CHECK_TIMEOUT = cdk.Duration.seconds(60)
#: Where the check's state lives in the execution state (handlers' app/intake.py).
CHECK_FIELD = "manifestCheck"
MAX_WAIT = cdk.Duration.days(1)
#: Checks one wait may make: each adds about 9 events to the execution's history (the task,
#: the choice, the wait), which holds at most 25,000 in a Standard state machine; 1,000
#: checks leave room for the rest of the run.
MAX_CHECKS = 1_000


@dataclass(frozen=True, kw_only=True)
class ManifestPolicy:
    """Every data file needs its manifest ``raw/<name>.manifest.json`` (control totals the
    sender declares; format in ``docs/pipeline-contract.md``).

    ``wait``: how long after the data file's execution started the manifest may still
    arrive (30 minutes); then the job ends FAILED with ``MANIFEST_MISSING``. ``poll``: how
    often the state machine looks for it (1 minute).
    """

    wait: cdk.Duration = field(default_factory=lambda: cdk.Duration.minutes(30))
    poll: cdk.Duration = field(default_factory=lambda: cdk.Duration.minutes(1))

    @property
    def checks(self) -> int:
        """How many times the state machine looks for the manifest (the first at once)."""
        wait, poll = self.wait.to_seconds(integral=False), self.poll.to_seconds(integral=False)
        return 1 + math.ceil(wait / poll)

    def problems(self, *, stuck_after: cdk.Duration) -> list[str]:
        """Every bad setting: a wait the job spends PENDING must end before it counts as
        stuck."""
        found: list[str] = []
        poll = self.poll.to_seconds(integral=False)
        wait = self.wait.to_seconds(integral=False)
        if poll < 1 or poll != int(poll):  # a Wait state waits whole seconds
            found.append("manifest.poll must be a whole number of seconds, at least 1")
        if not 0 <= wait <= MAX_WAIT.to_seconds():
            found.append("manifest.wait must be between 0 and 1 day")
        elif poll >= 1 and wait and poll > wait:
            found.append("manifest.poll must not be longer than manifest.wait")
        elif poll >= 1 and self.checks > MAX_CHECKS:
            found.append(
                f"manifest.wait / manifest.poll makes {self.checks} checks, more than "
                f"{MAX_CHECKS}: each adds about 9 events to the execution's history, which "
                "Step Functions limits to 25,000; poll less often"
            )
        if wait >= stuck_after.to_seconds():
            found.append(
                f"manifest.wait ({self.wait.to_human_string()}) must be shorter than "
                f"stuck_after ({stuck_after.to_human_string()}): a job waiting for its "
                "manifest is PENDING, and would be reported stuck"
            )
        return found

    def loop_seconds(self, check_seconds: float) -> float:
        """The longest the wait can take when one check takes at most ``check_seconds``
        (its attempts and retry waits): every check, plus the waits between them. The
        execution budget adds it to the rest of the state machine's."""
        return self.checks * check_seconds + (self.checks - 1) * self.poll.to_seconds()


def build(
    workflow: EtlWorkflow,
    *,
    policy: ManifestPolicy,
    then: sfn.IChainable,
    failure: sfn.IChainable,
) -> tuple[sfn.IChainable, tasks.LambdaInvoke]:
    """The wait for the manifest in front of ``then`` (a missing one goes to ``failure``),
    and its check task (whose worst case the execution budget counts once per check)."""
    from .etl_workflow import TRANSIENT_ERRORS  # the workflow imports this module first

    start = sfn.Pass(
        workflow,
        "ManifestStart",
        comment="the data file needs its manifest: count the checks from here",
        result=sfn.Result.from_object(
            {
                "checks": 0,
                "maxChecks": policy.checks,
                "waitSeconds": int(policy.wait.to_seconds()),
            }
        ),
        result_path=f"$.{CHECK_FIELD}",
    )
    check = tasks.LambdaInvoke(
        workflow,
        "CheckManifest",
        comment="does raw/<name>.manifest.json exist?",
        lambda_function=workflow.functions["validator"],
        payload=sfn.TaskInput.from_object(
            {
                "mode": contract.MANIFEST_MODE,
                "jobId": sfn.JsonPath.string_at("$.jobId"),
                "bucket": sfn.JsonPath.string_at("$.bucket"),
                "key": sfn.JsonPath.string_at("$.key"),
                CHECK_FIELD: sfn.JsonPath.object_at(f"$.{CHECK_FIELD}"),
            }
        ),
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=f"$.{CHECK_FIELD}",
        task_timeout=sfn.Timeout.duration(CHECK_TIMEOUT),
    )
    check.add_retry(
        errors=list(TRANSIENT_ERRORS),
        interval=cdk.Duration.seconds(1),
        max_attempts=2,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    result = f"$.{CHECK_FIELD}"
    check.add_catch(_errored(workflow).next(failure), errors=["States.ALL"], result_path="$.error")
    missing = sfn.Pass(
        workflow,
        "ManifestMissing",
        comment="no manifest arrived in time: keep the check's message",
        parameters={
            "step": contract.STEPS[0],
            "code": sfn.JsonPath.string_at(f"{result}.error.code"),
            "message": sfn.JsonPath.string_at(f"{result}.error.message"),
        },
        result_path="$.failure",
    )
    wait = sfn.Wait(
        workflow,
        "WaitForManifest",
        comment="the manifest has not arrived yet",
        time=sfn.WaitTime.duration(policy.poll),
    )
    outcome = f"{result}.outcome"
    arrived = (
        sfn.Choice(workflow, "ManifestArrived")
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present(outcome),
                sfn.Condition.string_equals(outcome, contract.VALID),
            ),
            then,
        )
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present(outcome),
                sfn.Condition.string_equals(outcome, contract.WAITING),
            ),
            wait.next(check),
        )
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"{result}.error.code"),
                sfn.Condition.is_string(f"{result}.error.code"),
                sfn.Condition.is_present(f"{result}.error.message"),
                sfn.Condition.is_string(f"{result}.error.message"),
            ),
            missing.next(failure),
        )
        .otherwise(_errored(workflow, "ManifestUnexplained").next(failure))
    )
    return start.next(check).next(arrived), check


def _errored(workflow: EtlWorkflow, construct_id: str = "CheckManifestErrored") -> sfn.Pass:
    return sfn.Pass(
        workflow,
        construct_id,
        comment="the manifest check failed: record that, not the raw cause",
        parameters={
            "step": contract.STEPS[0],
            "code": contract.CODE_INVALID_WITHOUT_REASON
            if construct_id == "ManifestUnexplained"
            else sfn.JsonPath.string_at("$.error.Error"),
            "message": sfn.JsonPath.format(
                "The manifest check failed; the execution history of {} holds the details.",
                sfn.JsonPath.execution_id,
            ),
        },
        result_path="$.failure",
    )


__all__ = ["ManifestPolicy"]
