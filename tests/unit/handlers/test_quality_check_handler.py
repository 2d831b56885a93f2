"""The daily quality check: which jobs it reports, the report, the metrics."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from etl_handlers.aws.jobs import ENRICHING, PENDING, SUCCEEDED, TRANSFORMING, VALIDATING, JobStore
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.quality_check import handler
from etl_handlers.quality_check.logic import QualitySettings, run_quality_check, settings_from

from .handlers_testkit import BUCKET, FakeContext, emf_metrics, read

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

TOTALS = {"EUR": {"count": 2, "debit": "10.00", "credit": "5.00"}}
DAY = QualitySettings(window=timedelta(hours=24), stuck_after=timedelta(minutes=60))


def job(store: JobStore, n: int) -> str:
    job_id = f"{n:032x}"
    store.create(
        job_id=job_id,
        file_name=f"raw/{n}.csv",
        bucket=BUCKET,
        version_id=None,
        etag="e",
        size_bytes=1,
    )
    return job_id


def succeed(
    store: JobStore, job_id: str, *, enrich_totals: Any = TOTALS, rows: dict[str, int] | None = None
) -> None:
    name = store.require(job_id)["fileName"]
    for step in ("validate", "transform", "enrich"):
        store.start_step(job_id, name, step)
        totals = enrich_totals if step == "enrich" else TOTALS
        store.finish_step(
            job_id,
            name,
            step,
            started_at=store.now(),
            totals=totals,
            rows={
                "validate": {"input": 3, "valid": 2, "rejected": 1},
                "transform": {"transformed": 2},
                "enrich": {"enriched": 2},
            }[step]
            | (rows or {}),
            succeed=step == "enrich",
        )


@pytest.fixture
def scene(s3: Any, store: JobStore, clock: Any) -> dict[str, str]:
    """Jobs of every kind, spread over three days before the check runs."""
    ids: dict[str, str] = {}
    ids["old_failed"] = job(store, 1)
    store.fail(ids["old_failed"], "raw/1.csv", step="validate", code="X", message="old")
    ids["old_stuck"] = job(store, 2)
    store.transition(ids["old_stuck"], "raw/2.csv", VALIDATING)
    clock.advance(days=2)
    ids["failed"] = job(store, 3)
    store.transition(ids["failed"], "raw/3.csv", VALIDATING)
    store.fail(
        ids["failed"],
        "raw/3.csv",
        step="validate",
        code="MISSING_COLUMN",
        message="amount missing near 4111111111111111",
    )
    ids["ok"] = job(store, 4)
    succeed(store, ids["ok"])
    ids["unreconciled"] = job(store, 5)
    succeed(
        store,
        ids["unreconciled"],
        enrich_totals={"EUR": {"count": 2, "debit": "10.01", "credit": "5.00"}},
    )
    ids["stuck_pending"] = job(store, 6)
    ids["stuck_transforming"] = job(store, 7)
    for status in (VALIDATING, TRANSFORMING):
        store.transition(ids["stuck_transforming"], "raw/7.csv", status)
    clock.advance(minutes=50)
    ids["running"] = job(store, 8)  # recent: not stuck yet
    for status in (VALIDATING, TRANSFORMING, ENRICHING):
        store.transition(ids["running"], "raw/8.csv", status)
    clock.advance(minutes=20)
    return ids


def test_the_report_lists_what_needs_a_human(
    s3: Any, store: JobStore, clock: Any, scene: dict[str, str]
) -> None:
    metrics = Recorder()
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=DAY, metrics=metrics)
    assert summary["reportKey"] == "reports/2026-11-22.json"
    assert (summary["failedJobs"], summary["stuckJobs"], summary["unreconciledJobs"]) == (1, 3, 1)
    assert metrics.metrics == {"FailedJobs": 1, "StuckJobs": 3, "UnreconciledJobs": 1}

    report = json.loads(read(s3, summary["reportKey"]))
    assert report["counts"] == {"failed": 1, "stuck": 3, "unreconciled": 1}
    assert report["windowHours"] == 24 and report["stuckAfterMinutes"] == 60
    [failed] = report["failed"]
    assert failed["jobId"] == scene["failed"] and failed["fileName"] == "raw/3.csv"
    assert failed["error"]["code"] == "MISSING_COLUMN"
    assert "4111111111111111" not in json.dumps(report)
    stuck = {entry["jobId"]: entry for entry in report["stuck"]}
    assert set(stuck) == {scene["old_stuck"], scene["stuck_pending"], scene["stuck_transforming"]}
    assert stuck[scene["old_stuck"]]["stuckForMinutes"] == 2 * 24 * 60 + 70
    assert stuck[scene["stuck_pending"]]["status"] == PENDING
    assert stuck[scene["stuck_transforming"]]["stuckForMinutes"] == 70
    [unreconciled] = report["unreconciled"]
    assert unreconciled["jobId"] == scene["unreconciled"]
    assert unreconciled["status"] == SUCCEEDED
    assert any("EUR totals differ" in p for p in unreconciled["problems"])


def test_a_wider_window_from_the_event_finds_older_failures(
    s3: Any, store: JobStore, scene: dict[str, str]
) -> None:
    settings = settings_from({"windowHours": 72})
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=settings)
    assert summary["failedJobs"] == 2
    assert json.loads(read(s3, summary["reportKey"]))["windowHours"] == 72


def test_a_rerun_overwrites_the_days_report(
    s3: Any, store: JobStore, scene: dict[str, str]
) -> None:
    first = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=DAY)
    store.fail(scene["stuck_pending"], "raw/6.csv", step=None, code="Y", message="z")
    second = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=DAY)
    assert first["reportKey"] == second["reportKey"]
    report = json.loads(read(s3, second["reportKey"]))
    assert report["counts"] == {"failed": 2, "stuck": 2, "unreconciled": 1}


def test_a_quiet_day_reports_zeros(s3: Any, store: JobStore) -> None:
    metrics = Recorder()
    summary = run_quality_check(store=store, s3=s3, bucket=BUCKET, settings=DAY, metrics=metrics)
    assert metrics.metrics == {"FailedJobs": 0, "StuckJobs": 0, "UnreconciledJobs": 0}
    report = json.loads(read(s3, summary["reportKey"]))
    assert report["failed"] == report["stuck"] == report["unreconciled"] == []


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_from(None) == DAY
    assert settings_from({"detail": {"windowHours": 6}}).window == timedelta(hours=6)
    assert settings_from({"stuckAfterMinutes": 5}).stuck_after == timedelta(minutes=5)
    monkeypatch.setenv("ETL_QUALITY_WINDOW_HOURS", "48")
    monkeypatch.setenv("ETL_STUCK_AFTER_MINUTES", "30")
    assert settings_from({}) == QualitySettings(timedelta(hours=48), timedelta(minutes=30))
    assert settings_from({"windowHours": "12"}).window == timedelta(hours=12)
    for bad in (
        {"windowHours": 0},
        {"windowHours": "x"},
        {"windowHours": True},
        {"stuckAfterMinutes": -1},
        {"windowHours": float("inf")},
    ):
        with pytest.raises(ConfigurationError):
            settings_from(bad)
    monkeypatch.setenv("ETL_QUALITY_WINDOW_HOURS", "soon")
    with pytest.raises(ConfigurationError, match="ETL_QUALITY_WINDOW_HOURS"):
        settings_from({})


def test_lambda_handler_publishes_metrics_and_returns_the_summary(
    s3: Any, ddb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled = {
        "version": "0",
        "id": "e-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-20T02:00:00Z",
        "detail": {},
    }
    summary = handler.lambda_handler(scheduled, FakeContext())
    assert summary["reportKey"].startswith("reports/")
    assert emf_metrics(capsys.readouterr().out) == {
        "FailedJobs": 0,
        "StuckJobs": 0,
        "UnreconciledJobs": 0,
    }
    assert json.loads(read(s3, summary["reportKey"]))["counts"]["failed"] == 0


class Recorder:
    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + value
