"""A user's app with its own schema (the default without `country`, plus a required 4-digit
`merchant_category_code`): clean under the packs; the run validates the new column. The app
and its file: apps/custom_schema.py and harness.mcc_csv."""

from __future__ import annotations

import pytest
from etl_handlers.core import codes

# One group per app: its tests share one run (harness.run_app makes it once per session
# in any case, whatever the scheduling).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer-schema")]


def test_synthesizes_clean(custom_schema_run):
    custom_schema_run.assert_synthesized_clean()


def test_runs_a_file_offline_checking_the_added_column(custom_schema_run):
    job = custom_schema_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    (rejected,) = job["outputs"]["rejected"]
    (reject,) = custom_schema_run.lines(rejected)
    assert (reject["row"], reject["code"], reject["column"]) == (
        21,
        codes.INVALID_FORMAT,
        "merchant_category_code",
    )
    (enriched,) = job["outputs"]["enriched"]
    rows = custom_schema_run.lines(enriched)
    assert [row["merchant_category_code"] for row in rows] == [str(5800 + n) for n in range(1, 21)]
    assert not [row for row in rows if "country" in row]
