"""How long an execution can take at worst: the arithmetic behind its timeout, in one place.

An execution timeout cannot be caught: a job whose execution times out stays in its running
status unless something outside the execution records it. So the timeout must not fire
while the state machine is still working through its own budgets. The worst case of a
definition is its longest path, where a path is a walk from ``StartAt`` to an end through
``Next``, every ``Choice`` branch and every ``Catch``, and each state costs:

* a ``Task``: ``TimeoutSeconds`` for each attempt that can run that long (the first and
  every retry of a retrier), plus each retry's wait (``IntervalSeconds * BackoffRate**n``,
  capped by ``MaxDelaySeconds``; jitter only shortens it). A retrier for throttling only
  (:data:`FAST_ERRORS`) adds its waits but no attempt time: a throttled attempt is refused
  at once. A task without ``TimeoutSeconds`` has no worst case, and is refused;
* a ``Map``: one pass of its item processor (a Distributed Map's children run in parallel;
  how many rounds a big file needs depends on its size, which no definition knows), times
  the Map's own attempts when it has retriers;
* a ``Parallel``: its longest branch; a ``Wait``: its ``Seconds``; anything else: nothing.

The functions read plain ASL (``dict``), so they hold for any definition; :func:`of_chain`
renders a CDK chain's states first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_stepfunctions as sfn

#: Errors an attempt ends with at once: Lambda refuses a throttled invocation before running it.
FAST_ERRORS = frozenset({"Lambda.TooManyRequestsException"})
# The ASL defaults of a retrier's fields.
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_RATE = 2.0


class UnboundedState(ValueError):
    """A state whose worst case cannot be known from the definition."""


def retry_waits(retrier: Mapping[str, Any]) -> float:
    """The seconds one retrier can wait in all, between its attempts."""
    interval = float(retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS))
    rate = float(retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE))
    cap = retrier.get("MaxDelaySeconds")
    waits = 0.0
    for attempt in range(int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))):
        wait = interval * rate**attempt
        waits += min(wait, float(cap)) if cap is not None else wait
    return waits


def attempts_and_waits(state: Mapping[str, Any]) -> tuple[int, float]:
    """How many attempts of a state can each run their full length, and the seconds its
    retriers can wait in all."""
    attempts, waits = 1, 0.0
    for retrier in state.get("Retry", []):
        waits += retry_waits(retrier)
        if not set(retrier.get("ErrorEquals", [])) <= FAST_ERRORS:
            attempts += int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))
    return attempts, waits


def state_seconds(name: str, state: Mapping[str, Any]) -> float:
    """The worst case of one state on its own (not what follows it)."""
    kind = state.get("Type")
    if kind == "Task":
        if "TimeoutSeconds" not in state:
            raise UnboundedState(
                f"task {name} has no TimeoutSeconds: its worst case, and so the execution "
                "timeout, cannot be computed"
            )
        once = float(state["TimeoutSeconds"])
    elif kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        once = longest_seconds(processor["States"], processor["StartAt"])
    elif kind == "Parallel":
        once = max(
            (longest_seconds(b["States"], b["StartAt"]) for b in state.get("Branches", [])),
            default=0.0,
        )
    elif kind == "Wait":
        if "Seconds" not in state:
            raise UnboundedState(f"wait {name} waits for a time only known at run time")
        return float(state["Seconds"])
    else:
        return 0.0
    attempts, waits = attempts_and_waits(state)
    return attempts * once + waits


def _next_states(state: Mapping[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        found.append(state["Default"])
    found += [catcher["Next"] for catcher in state.get("Catch", [])]
    return found


def longest_seconds(states: Mapping[str, Mapping[str, Any]], start: str) -> float:
    """The worst case of the longest path from ``start`` through ``states``."""
    memo: dict[str, float] = {}
    on_path: set[str] = set()

    def cost(name: str) -> float:
        if name in memo:
            return memo[name]
        if name in on_path:
            raise UnboundedState(f"state {name} is on a loop: the definition has no worst case")
        on_path.add(name)
        state = states[name]
        after = max((cost(n) for n in _next_states(state)), default=0.0)
        on_path.discard(name)
        memo[name] = state_seconds(name, state) + after
        return memo[name]

    return cost(start)


def of_chain(chain: sfn.IChainable) -> float:
    """The worst case of a CDK chain: its reachable states (error handlers too), rendered."""
    start = chain.start_state
    states = {
        state.state_id: state.to_state_json()
        for state in sfn.State.find_reachable_states(start, include_error_handlers=True)
    }
    return longest_seconds(states, start.state_id)


__all__ = [
    "FAST_ERRORS",
    "UnboundedState",
    "attempts_and_waits",
    "longest_seconds",
    "of_chain",
    "retry_waits",
    "state_seconds",
]
