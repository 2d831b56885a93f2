"""A user's app with its own schema (the default without `country`, plus a required 4-digit
`merchant_category_code`): clean under the packs; the run validates the new column."""

from __future__ import annotations

import pytest
from etl_handlers.core import codes

from .harness import DEFAULT_HEADER, ConsumerEnv, ConsumerRun, app_source, run_app

# One group per app: its tests share one run (harness.run_app makes it once per session
# in any case, whatever the scheduling).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-schema")]
HEADER = DEFAULT_HEADER.removesuffix(",country") + ",merchant_category_code"


def _csv() -> str:
    """20 rows with a 4-digit code, then one with a 3-digit code (row 21)."""
    rows = [HEADER]
    for n in range(1, 21):
        rows.append(
            f"TX-{n:04},ACC001,2024-03-01T09:{n:02}:00Z,{n}.00,USD,DEBIT,Shop {n},retail,,"
            f"{5800 + n}"
        )
    rows.append("TX-0021,ACC001,2024-03-01T10:00:00Z,1.00,USD,DEBIT,Books,books,,594")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def schema_run(consumer_env: ConsumerEnv, consumer_root) -> ConsumerRun:
    return run_app(
        consumer_env,
        consumer_root,
        "schema",
        source=app_source("custom_schema"),
        files={"card-payments.csv": _csv()},
    )


def test_synthesizes_clean(schema_run):
    schema_run.assert_synthesized_clean()


def test_runs_a_file_offline_checking_the_added_column(schema_run):
    job = schema_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    (rejected,) = job["outputs"]["rejected"]
    (reject,) = schema_run.lines(rejected)
    assert (reject["row"], reject["code"], reject["column"]) == (
        21,
        codes.INVALID_FORMAT,
        "merchant_category_code",
    )
    (enriched,) = job["outputs"]["enriched"]
    rows = schema_run.lines(enriched)
    assert [row["merchant_category_code"] for row in rows] == [str(5800 + n) for n in range(1, 21)]
    assert not [row for row in rows if "country" in row]
