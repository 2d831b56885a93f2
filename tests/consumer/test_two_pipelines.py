"""Two pipelines in one app, both `prod`, told apart by their name prefix (issue 17; the
`name_prefix` prop comes from branch i13-constructs, see apps/two_pipelines.py)."""

from __future__ import annotations

import json

import pytest

from .harness import ConsumerEnv, ConsumerRun, app_source, run_app, transactions_csv

# One group per app: its tests share one run (harness.run_app makes it once per session
# in any case, whatever the scheduling).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-two-pipelines")]
STACKS = {"CardsPipeline": "cards", "PayoutsPipeline": "payouts"}
#: Properties that hold a resource's physical name.
NAME_PROPERTIES = (
    "BucketName",
    "TableName",
    "FunctionName",
    "StateMachineName",
    "QueueName",
    "TopicName",
    "LogGroupName",
    "AliasName",
    "Name",
)


@pytest.fixture(scope="module")
def two_run(consumer_env: ConsumerEnv, consumer_root) -> ConsumerRun:
    return run_app(
        consumer_env,
        consumer_root,
        "two",
        source=app_source("two_pipelines"),
        files={"transactions.csv": transactions_csv()},
    )


def _physical_names(template: dict) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        for prop in NAME_PROPERTIES:
            value = resource.get("Properties", {}).get(prop)
            if isinstance(value, str):
                names.setdefault(resource["Type"], set()).add(value)
    return names


def test_synthesizes_clean_with_physical_names_apart(two_run):
    two_run.assert_synthesized_clean()
    templates = two_run.templates()
    assert set(templates) == set(STACKS)
    names = {stack: _physical_names(templates[stack]) for stack in STACKS}
    for stack, prefix in STACKS.items():
        for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::StepFunctions::StateMachine"):
            assert names[stack][kind], (stack, kind)
            assert all(prefix in name for name in names[stack][kind]), names[stack][kind]
    cards, payouts = (set().union(*names[stack].values()) for stack in STACKS)
    assert cards & payouts == set()


def test_runs_a_file_offline_through_one_of_them(two_run):
    job = two_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    (record,) = json.loads((two_run.folder / "etl-out" / "jobs.json").read_text())
    data_buckets = two_run.data_buckets()
    assert len(data_buckets) == 2 and record["bucket"] in data_buckets
