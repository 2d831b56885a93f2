"""Review of issue 19: construct settings that synthesize but cannot work on AWS."""

from __future__ import annotations

import aws_cdk as cdk

from etl_constructs.manifests import ManifestPolicy

#: Step Functions quota: a Standard execution's history holds at most 25,000 events
HISTORY_EVENTS = 25_000
#: events one manifest check adds at least: the Lambda task (entered, scheduled, started,
#: succeeded, exited), the Choice (entered, exited) and the Wait (entered, exited)
EVENTS_PER_CHECK = 9


def test_a_manifest_wait_longer_than_the_execution_history_can_hold_is_refused():
    """`ManifestPolicy(wait=59 min, poll=1 s)` with the default stuck_after (60 min) is
    accepted today. The wait is a loop of states (CheckManifest -> ManifestArrived ->
    WaitForManifest), about 9 history events per check: 3,541 checks need ~31,900 events,
    more than a Standard execution may have (25,000), so a file whose manifest comes late
    (or never) ends in an execution failure (the trigger records EXECUTION_FAILED) instead of
    MANIFEST_MISSING, and moto (no history limit) cannot show it offline. Expected: the
    construct refuses the setting, naming the limit."""
    policy = ManifestPolicy(wait=cdk.Duration.minutes(59), poll=cdk.Duration.seconds(1))
    assert policy.checks * EVENTS_PER_CHECK > HISTORY_EVENTS
    problems = policy.problems(stuck_after=cdk.Duration.minutes(60))
    assert any("history" in problem for problem in problems), problems
