"""Adversarial review of 8de4881: a file whose object key holds a card number is refused
(FAILED ``CARD_NUMBER_IN_NAME`` under the masked key, no execution, object left as it is).

The promises attacked (README "CARD_NUMBER_IN_NAME", docs/pipeline-contract.md, CHANGELOG):
no card number of a key, as a person reads one, reaches any output, job record, log line,
lineage event, API answer or CLI output; the record names the file masked as
``mask_pan`` masks a number (``statement-************1111.csv``: the last 4 digits only);
ordinary names (dates, times, batch and account numbers) are never refused; a refused job
says what to do. Each test asserts what a user relies on; each failed before its fix (the
review's nine findings: separators beyond one ASCII mark, non-ASCII digits, a folder
boundary, Troy's prefix, eight digits left in the masked name, dates and batch numbers
refused, a pre-upgrade record reprocessed, the progress line, the CLI reprocess's advice).

Trigger tests drive ``trigger.logic.handle_event`` against moto, as
tests/unit/handlers/test_trigger_handler.py does; CLI tests run ``etl-pipeline`` in a
process of its own (one LocalPipeline per process).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from etl_handlers.app import reprocess as app_reprocess
from etl_handlers.aws.jobs import JobStore
from etl_handlers.core import keys
from etl_handlers.trigger.logic import handle_event
from moto import mock_aws

from tests.unit.handlers.handlers_testkit import (
    BUCKET,
    PIPELINE_ENV,
    REGION,
    TABLE,
    create_table,
    event_for_upload,
)

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,"
    "category,card_number,country"
)
BODY = (HEADER + "\nt1,ACC1,2026-11-19T10:00:00Z,10.00,EUR,DEBIT,Shop,food,,DE\n").encode()


# -- moto, shaped like the deployed pipeline ---------------------------------------------------


class Aws:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb)
        self.store = JobStore(TABLE, client=ddb)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.arn = self.sfn.create_state_machine(
            name="etl-workflow-review",
            definition=json.dumps(
                {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
            ),
            roleArn="arn:aws:iam::123456789012:role/etl-workflow-review",
        )["stateMachineArn"]
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def upload(self, key: str) -> dict[str, Any]:
        """Put ``key`` and hand its S3 event to the trigger, as EventBridge does."""
        response = self.s3.put_object(Bucket=BUCKET, Key=key, Body=BODY)
        return handle_event(
            event_for_upload(response, key, len(BODY)),
            store=self.store,
            sfn=self.sfn,
            s3=self.s3,
            state_machine_arn=self.arn,
            data_bucket=BUCKET,
            log=lambda message, **fields: self.lines.append((message, fields)),
        )

    def executions(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.arn)["executions"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in PIPELINE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield Aws()


# --- 1. Card numbers written with separators people use are processed, number and all ---------


@pytest.mark.parametrize(
    "key",
    [
        "raw/statement-4111 - 1111 - 1111 - 1111.csv",
        "raw/statement-4111  1111  1111  1111.csv",
        "raw/statement-4111\u00a01111\u00a01111\u00a01111.csv",
        "raw/statement-4111\u20131111\u20131111\u20131111.csv",
        "raw/statement-4111\u200b1111\u200b1111\u200b1111.csv",
    ],
    ids=["space-dash-space", "two-spaces", "nbsp", "en-dash", "zero-width-space"],
)
def test_a_card_number_with_common_separators_in_the_name_is_refused(aws: Aws, key: str) -> None:
    """Expected: refused CARD_NUMBER_IN_NAME, no execution, the record masked. Observed: the
    job starts with the key as sent (``etl-pipeline run`` of such a file SUCCEEDS and writes
    ``enriched/<job>/statement-4111 - 1111 - 1111 - 1111.jsonl``, lineage events and
    pipeline.log lines naming it)."""
    result = aws.upload(key)
    assert result["status"] == "refused", result
    assert aws.executions() == []
    record = aws.store.require(result["jobId"])
    assert "1111" * 2 not in re.sub(r"\D", "", record["fileName"])


@pytest.mark.parametrize(
    "key",
    [
        "raw/statement-\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"
        "\uff11\uff11\uff11\uff11\uff11.csv",
        "raw/statement-\u0664" + "\u0661" * 15 + ".csv",
    ],
    ids=["full-width", "arabic-indic"],
)
def test_a_card_number_in_non_ascii_digits_in_the_name_is_refused(aws: Aws, key: str) -> None:
    result = aws.upload(key)
    assert result["status"] == "refused", result
    assert aws.executions() == []


def test_a_card_number_across_a_folder_boundary_is_refused(aws: Aws) -> None:
    result = aws.upload("raw/cards/4111-1111/1111-1111.csv")
    assert result["status"] == "refused", result
    assert aws.executions() == []


def test_a_troy_card_number_in_the_name_is_refused(aws: Aws) -> None:
    result = aws.upload("raw/statement-9792030000000000.csv")
    assert result["status"] == "refused", result
    assert aws.executions() == []


# --- 2. The masked name shows 8 digits of the card --------------------------------------------


@pytest.mark.parametrize(
    ("key", "card"),
    [
        ("raw/statement-4519-9619-8391-4549.csv", "4519961983914549"),
        ("raw/statement 4761 3963 4101 9084.csv", "4761396341019084"),
        ("raw/page-5-4317-1735-4866-5715.csv", "4317173548665715"),
    ],
    ids=["dashes", "spaces", "after-a-page-number"],
)
def test_the_refused_name_shows_no_more_than_the_last_four_digits(
    aws: Aws, key: str, card: str
) -> None:
    result = aws.upload(key)
    assert result["status"] == "refused", result
    shown = aws.store.require(result["jobId"])["fileName"]
    logged = [fields["key"] for _, fields in aws.lines]
    for name in [shown, *logged]:
        assert card[-8:-4] not in re.sub(r"\D", "", name), name  # digits 9-12 of the card


# --- 3. Ordinary names refused ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "raw/batch_4_20260106_101530.csv",
        "raw/export-5-2026-01-05-101530.csv",
        "raw/store6_20260104_101530.csv",
        "raw/kontoauszug_26.01.2026_101530.csv",
        "raw/statement 22.01.2026 10.15.30.csv",
        "raw/26-01-2026_101530.csv",
        "raw/statement_40-47-84_70872490.csv",
    ],
)
def test_ordinary_names_with_dates_times_and_batch_numbers_are_processed(
    aws: Aws, key: str
) -> None:
    result = aws.upload(key)
    assert result["status"] == "started", result
    assert aws.store.require(result["jobId"])["fileName"] == key
    assert len(aws.executions()) == 1


# --- 4. A job recorded before the upgrade is reprocessed with the number ----------------------


def test_a_job_recorded_before_the_upgrade_is_not_run_again_with_its_card_number(
    aws: Aws,
) -> None:
    key = "raw/statement-4111111111111111.csv"
    response = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=BODY)
    version = response["VersionId"]
    job_id = keys.job_id(BUCKET, key, version)
    aws.store.create(  # as the trigger recorded it before the change
        job_id=job_id,
        file_name=key,
        bucket=BUCKET,
        version_id=version,
        etag=response["ETag"].strip('"'),
        size_bytes=len(BODY),
    )
    aws.store.fail(job_id, key, step=None, code="EXECUTION_FAILED", message="an old failure")
    started = None
    try:
        started = app_reprocess.reprocess(
            job_id, store=aws.store, s3=aws.s3, sfn=aws.sfn, state_machine_arn=aws.arn
        )
    except app_reprocess.ReprocessRefused as refused:
        assert "rename" in str(refused)
    assert started is None, "reprocessed"
    assert aws.executions() == []


# --- 5. etl-pipeline run / reprocess -----------------------------------------------------------

CARD_FILE = "statement-4111111111111111.csv"


def etl_pipeline(*argv: str) -> subprocess.CompletedProcess[str]:
    """``etl-pipeline ARGV`` in a process of its own, this checkout's library and handlers
    first (stderr not a terminal: the progress is a line per file, as in CI)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "handlers"), env.get("PYTHONPATH", "")]
    )
    code = "import sys; from etl_constructs.local import cli; sys.exit(cli.main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def card_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """``etl-pipeline run statement-4111111111111111.csv`` without --json."""
    folder = tmp_path_factory.mktemp("cards")
    (folder / CARD_FILE).write_bytes(BODY)
    out = folder / "out"
    done = etl_pipeline(
        "run", str(folder / CARD_FILE), "--out", str(out), "--project", str(ROOT),
        "--timeout", "300",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the FAILED job
    return out, done


def test_run_prints_the_refused_name_masked_everywhere(card_run: tuple[Path, Any]) -> None:
    _, done = card_run
    assert "statement-************1111.csv" in done.stdout
    assert "4111111111111111" not in done.stdout
    assert "4111111111111111" not in done.stderr


def test_reprocess_of_a_refused_job_says_to_rename_the_file(card_run: tuple[Path, Any]) -> None:
    out, _ = card_run
    job_id = json.loads((out / "jobs.json").read_text())[0]["jobId"]
    done = etl_pipeline("reprocess", job_id, "--out", str(out))
    assert done.returncode != 0
    assert "rename the file" in done.stderr + done.stdout
    assert "is gone" not in done.stderr + done.stdout
