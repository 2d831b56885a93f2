"""The execution timeout covers the longest path's budgets (an execution timeout cannot be
caught: one that fires while a step still retries leaves its job running)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from etl_constructs import EtlWorkflow, LargeFiles, PropsError, budget
from etl_constructs.etl_workflow import STRICT_RESERVED_CONCURRENCY

from .test_etl_workflow import _definition, _workflow_stack

TRANSIENT = {
    "ErrorEquals": ["TransientError"],
    "IntervalSeconds": 2,
    "MaxAttempts": 3,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
}
THROTTLED = {
    "ErrorEquals": ["Lambda.TooManyRequestsException"],
    "IntervalSeconds": 10,
    "MaxAttempts": 8,
    "BackoffRate": 1.5,
    "MaxDelaySeconds": 120,
}


def task(timeout: int, *retry: dict, **more) -> dict:
    return {"Type": "Task", "TimeoutSeconds": timeout, "Retry": list(retry), **more}


def test_a_task_costs_its_timeout_per_attempt_plus_the_waits():
    assert budget.retry_waits(TRANSIENT) == 2 + 4 + 8
    # waits capped at MaxDelaySeconds: 10, 15, 22.5, 33.75, 50.625, 75.9375, 113.90625, 120
    assert budget.retry_waits(THROTTLED) == pytest.approx(441.71875)
    assert budget.retry_waits({}) == 1 + 2 + 4  # the ASL defaults: 1 s, 3 attempts, x2
    assert budget.state_seconds("T", task(630, TRANSIENT)) == 4 * 630 + 14
    # a throttled attempt is refused at once: only its waits count
    assert budget.state_seconds("T", task(630, THROTTLED, TRANSIENT)) == pytest.approx(
        4 * 630 + 14 + 441.71875
    )
    assert budget.state_seconds("P", {"Type": "Pass"}) == 0
    assert budget.state_seconds("W", {"Type": "Wait", "Seconds": 5}) == 5


def test_the_longest_path_runs_through_choices_and_catches():
    states = {
        "A": task(10, Next="C", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Slow"}]),
        "C": {"Type": "Choice", "Choices": [{"Next": "B"}], "Default": "Done"},
        "B": task(20, End=True),
        "Slow": task(100, Next="Done"),
        "Done": {"Type": "Succeed"},
    }
    assert budget.longest_seconds(states, "A") == 10 + 100
    parallel = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "X", "States": {"X": task(7, End=True)}},
            {"StartAt": "Y", "States": {"Y": task(9, End=True)}},
        ],
        "End": True,
    }
    mapped = {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "X",
            "States": {"X": task(7, Next="Y"), "Y": task(9, End=True)},
        },
        "End": True,
    }
    assert budget.longest_seconds({"P": parallel}, "P") == 9
    assert budget.longest_seconds({"M": mapped}, "M") == 16  # one round of its items


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ({"A": {"Type": "Task", "End": True}}, "task A has no TimeoutSeconds"),
        ({"A": task(1, Next="B"), "B": task(1, Next="A")}, "loop"),
        ({"A": {"Type": "Wait", "SecondsPath": "$.x", "End": True}}, "run time"),
    ],
)
def test_a_definition_without_a_worst_case_is_refused(states, message):
    with pytest.raises(budget.UnboundedState, match=message):
        budget.longest_seconds(states, "A")


# -- the pipeline's own definition ------------------------------------------------------------

STEP = 4 * 630 + 2 + 4 + 8  # a Lambda step: 4 attempts of 600 s + 30 s, and the waits
COPY = 3 * 120 + 1 + 2  # the failure branch's CopyObject: 3 attempts of 120 s
RECORD = 6 * 30 + 1 + 2 + 4 + 8 + 16  # its DynamoDB update: 6 attempts of 30 s
FAILURE = COPY + STEP + RECORD  # CopyObject fails -> the validator copies -> record


def test_the_default_timeout_covers_the_longest_path():
    """The big-file path is the longest: Preflight, one round of ValidateBatch,
    ReduceValidation, one round of TransformPart + EnrichPart, ReduceEnrich (six Lambda
    steps), then the failure branch after the last of them."""
    stack, workflow = _workflow_stack()
    longest = 6 * STEP + FAILURE
    assert longest == 18312
    minutes = -(-longest // 60)
    assert workflow.execution_budget.to_seconds() == minutes * 60 == 18360
    from aws_cdk.assertions import Template

    definition = _definition(Template.from_stack(stack))
    assert definition["TimeoutSeconds"] == 18360
    assert budget.longest_seconds(definition["States"], definition["StartAt"]) == longest


def test_without_big_files_the_three_steps_and_the_failure_branch():
    _, workflow = _workflow_stack(large_files=LargeFiles.off())
    assert workflow.execution_budget.to_seconds() == -(-(3 * STEP + FAILURE) // 60) * 60


def test_strict_adds_the_throttling_waits_of_every_reserved_function():
    from etl_constructs import Compliance

    _, workflow = _workflow_stack(compliance=Compliance.STRICT)
    assert set(STRICT_RESERVED_CONCURRENCY) >= {"validator", "transformer", "enricher"}
    throttled = 441.71875  # 8 waits from 10 s, x1.5, at most 120 s
    longest = 6 * (STEP + throttled) + COPY + STEP + throttled + RECORD
    assert workflow.execution_budget.to_seconds() == -(-longest // 60) * 60


def test_longer_steps_make_a_longer_timeout():
    from etl_constructs import FunctionSettings, StepRetry

    _, workflow = _workflow_stack(
        large_files=LargeFiles.off(),
        function_settings={
            "enricher": FunctionSettings(memory_size=1024, timeout=cdk.Duration.minutes(15))
        },
        step_retry=StepRetry(max_attempts=1),
    )
    step = 2 * 630 + 2
    enrich = 2 * 930 + 2
    copy_in_parts = step
    assert (
        workflow.execution_budget.to_seconds()
        == -(-(2 * step + enrich + COPY + copy_in_parts + RECORD) // 60) * 60
    )


def test_a_timeout_shorter_than_the_longest_path_is_a_props_problem():
    with pytest.raises(PropsError) as raised:
        _workflow_stack(state_machine_timeout=cdk.Duration.minutes(30))
    message = str(raised.value)
    assert "state_machine_timeout is 30 minutes, shorter than the longest path" in message
    assert "5 hours 6 minutes" in message
    # as long as the longest path, or longer, is fine
    _, workflow = _workflow_stack(state_machine_timeout=cdk.Duration.minutes(306))
    assert isinstance(workflow, EtlWorkflow)
