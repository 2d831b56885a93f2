"""A user's app with its own account and region (`cdk.Environment`), in the standard and the
strict profile (`-c compliance=...`): clean under the profile's packs, one file run offline."""

from __future__ import annotations

import pytest

from .harness import ConsumerEnv, ConsumerRun, app_source, run_app, transactions_csv

pytestmark = pytest.mark.slow


# One xdist group per profile: each profile's tests share one run.
PROFILES = [
    pytest.param(profile, marks=pytest.mark.xdist_group(f"consumer-env-{profile}"), id=profile)
    for profile in ("standard", "strict")
]


@pytest.fixture(scope="module", params=PROFILES)
def profile_run(request, consumer_env: ConsumerEnv, consumer_root) -> tuple[str, ConsumerRun]:
    profile = request.param
    run = run_app(
        consumer_env,
        consumer_root,
        f"concrete-{profile}",
        source=app_source("concrete_env"),
        files={"transactions.csv": transactions_csv()},
        context=[f"compliance={profile}"],
    )
    return profile, run


def test_synthesizes_clean_for_its_own_account_and_region(profile_run):
    profile, run = profile_run
    run.assert_synthesized_clean()
    (stack,) = [a for a in run.manifest()["artifacts"].values() if a["type"].endswith(":stack")]
    assert stack["environment"] == "aws://123456789012/eu-west-1"
    # the profile reached the constructs: only strict builds a VPC and a web ACL
    types = {r["Type"] for r in run.templates()["Payments"]["Resources"].values()}
    assert ({"AWS::EC2::VPC", "AWS::WAFv2::WebACL"} <= types) is (profile == "strict")


def test_runs_a_file_offline(profile_run):
    _, run = profile_run
    job = run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    assert job["totals"]["USD"] == {"count": 10, "debit": "102.50", "credit": "0.00"}
