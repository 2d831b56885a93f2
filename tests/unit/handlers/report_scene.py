"""Two days of jobs for the quality report's tests: real steps on real files (so rejects and
totals are what the pipeline writes), a failed, a stuck and an unreconciled job, and file
names a person chose."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from etl_handlers.aws.jobs import VALIDATING, JobStore
from etl_handlers.core.schema import load_schema
from etl_handlers.enricher.logic import enrich
from etl_handlers.quality_check.logic import QualitySettings, run_quality_check
from etl_handlers.transformer.logic import transform
from etl_handlers.validator.logic import validate

from .handlers_testkit import BUCKET, csv_bytes, put_source, read, row

TWO_DAYS = QualitySettings(window=timedelta(hours=48), stuck_after=timedelta(minutes=60))
SCRIPT_NAME = "raw/<script>alert(1)</script>.csv"
PAN = "4111111111111111"
PAN_NAME = f"raw/card {PAN}.csv"


@dataclass
class Scene:
    """The jobs made, by role, and the report the check wrote about them."""

    ids: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    page: str = ""
    summary: dict[str, Any] = field(default_factory=dict)


def run_job(s3: Any, store: JobStore, key: str, body: bytes) -> str:
    """The three steps of one file, as the state machine runs them; returns the job id."""
    schema = load_schema()
    state = put_source(s3, store, key, body)
    state["validation"] = validate(
        state, store=store, s3=s3, schema=schema, max_reject_rate=Decimal("0.5")
    )
    assert state["validation"]["outcome"] == "VALID", state["validation"]
    state["transform"] = transform(state, store=store, s3=s3, schema=schema, output_format="jsonl")
    state["enrich"] = enrich(
        state, store=store, s3=s3, schema=schema, output_format="jsonl", pipeline_version="t"
    )
    assert state["enrich"]["outcome"] == "VALID", state["enrich"]
    return str(state["jobId"])


def build(s3: Any, store: JobStore, clock: Any) -> Scene:
    """Day 1 (2026-11-20): one file with EUR and JPY rows and two rejects. Day 2: a file of
    USD and EUR rows with three rejects of two codes, a failed file whose name holds a card
    number, a stuck job whose file is named like a script tag, an unreconciled job; the check
    runs that evening."""
    scene = Scene()
    scene.ids["day1"] = run_job(
        s3,
        store,
        "raw/day1.csv",
        csv_bytes(
            row(1, amount="1234567.89"),
            row(2, amount="0.10", kind="CREDIT"),
            row(3, amount="1500", currency="JPY"),
            row(4, currency="ZZZ"),
            row(5, amount="x"),
        ),
    )
    clock.advance(hours=20)  # 2026-11-21 08:00
    scene.ids["day2"] = run_job(
        s3,
        store,
        "raw/day2.csv",
        csv_bytes(
            row(6, amount="20.05", currency="USD"),
            row(7, amount="3.00", currency="USD", kind="CREDIT"),
            row(8, amount="7.50"),
            row(9, currency="ZZZ"),
            row(10, currency="QQQ"),
            row(11, amount="-1"),
        ),
    )
    failed = put_source(s3, store, PAN_NAME, csv_bytes(row(12)))
    scene.ids["failed"] = failed["jobId"]
    store.fail(failed["jobId"], PAN_NAME, step="validate", code="MISSING_COLUMN", message="x")
    stuck = put_source(s3, store, SCRIPT_NAME, csv_bytes(row(13)))
    scene.ids["stuck"] = stuck["jobId"]
    store.transition(stuck["jobId"], SCRIPT_NAME, VALIDATING)
    clock.advance(hours=2)
    scene.ids["unreconciled"] = run_job(s3, store, "raw/unreconciled.csv", csv_bytes(row(14)))
    store.client.update_item(  # a record that no longer adds up (a bug, or a hand edit)
        TableName=store.table_name,
        Key={"jobId": {"S": scene.ids["unreconciled"]}, "fileName": {"S": "raw/unreconciled.csv"}},
        UpdateExpression="SET #r.#e = :n",
        ExpressionAttributeNames={"#r": "rows", "#e": "enriched"},
        ExpressionAttributeValues={":n": {"N": "2"}},
    )
    clock.advance(hours=8)  # 2026-11-21 18:00
    scene.summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=TWO_DAYS)
    scene.report = json.loads(read(s3, scene.summary["reportKey"]))
    scene.page = read(s3, scene.summary["pageKey"]).decode("utf-8")
    return scene
