"""Find the jobs that need a human, publish their counts, write a report.

Through the ``TimestampIndex`` GSI (status + time of the last status change):

* failed: FAILED within the window (default the last 24 hours);
* stuck: PENDING / VALIDATING / TRANSFORMING / ENRICHING whose last status change is older
  than ``stuck_after`` (default 60 minutes), however long ago: a job stuck for a week is
  still stuck;
* unreconciled: SUCCEEDED within the window whose recorded rows and totals do not add up.

The report (``reports/YYYY-MM-DD.json``, the UTC date of the run) lists each job with what
a person needs to follow up; a rerun on the same day overwrites it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from etl_handlers import contract as env
from etl_handlers.app.steps import reconcile_job
from etl_handlers.aws.jobs import ACTIVE_STATUSES, FAILED, SUCCEEDED, JobStore, iso
from etl_handlers.aws.observability import (
    METRIC_FAILED_JOBS,
    METRIC_STUCK_JOBS,
    METRIC_UNRECONCILED_JOBS,
    add_count,
    transient_aws_errors,
)
from etl_handlers.aws.s3io import MultipartWriter
from etl_handlers.core import keys
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.masking import scrub

DEFAULT_WINDOW_HOURS = float(env.DEFAULT_QUALITY_WINDOW_HOURS)
DEFAULT_STUCK_AFTER_MINUTES = float(env.DEFAULT_STUCK_AFTER_MINUTES)
REPORT_VERSION = 1

__all__ = ["QualitySettings", "run_quality_check", "settings_from"]


@dataclass(frozen=True)
class QualitySettings:
    """How far back to look for failures, and when an unfinished job counts as stuck."""

    window: timedelta
    stuck_after: timedelta


def _positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise ConfigurationError(f"{name}={value!r} must be a positive number")
    return number


def settings_from(event: Mapping[str, Any] | None) -> QualitySettings:
    """Settings from the event (``windowHours``, ``stuckAfterMinutes``, at the top level or
    in ``detail``), else ``ETL_QUALITY_WINDOW_HOURS`` / ``ETL_STUCK_AFTER_MINUTES``, else
    24 hours and 60 minutes. A value that is not a positive number is a ConfigurationError.
    """
    event = event if isinstance(event, Mapping) else {}
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}

    def pick(field: str, variable: str, default: float) -> float:
        for source, name in ((event, field), (detail, field)):
            if source.get(name) is not None:
                return _positive(source[name], name)
        raw = os.environ.get(variable)
        return _positive(raw, variable) if raw else default

    return QualitySettings(
        window=timedelta(hours=pick("windowHours", env.QUALITY_WINDOW_HOURS, DEFAULT_WINDOW_HOURS)),
        stuck_after=timedelta(
            minutes=pick("stuckAfterMinutes", env.STUCK_AFTER_MINUTES, DEFAULT_STUCK_AFTER_MINUTES)
        ),
    )


def _entry(job: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    entry = {
        "jobId": job.get("jobId"),
        "fileName": job.get("fileName"),
        "status": job.get("status"),
        "createdAt": job.get("createdAt"),
        "updatedAt": job.get("updatedAt"),
        "executionArn": job.get("executionArn"),
    }
    error = job.get("error")
    if isinstance(error, Mapping):
        entry["error"] = {k: scrub(str(v)) for k, v in error.items()}
    entry.update(extra)
    return entry


def run_quality_check(
    *,
    store: JobStore,
    s3: Any,
    bucket: str,
    settings: QualitySettings,
    metrics: Any = None,
) -> dict[str, Any]:
    """Run the check at ``store.now()``, write the report, publish the metrics.

    Returns ``{"reportKey", "windowStart", "generatedAt", "failedJobs", "stuckJobs",
    "unreconciledJobs"}`` (the counts).
    """
    now = store.now()
    since = now - settings.window
    stuck_before = now - settings.stuck_after
    with transient_aws_errors("quality check query"):
        failed = [_entry(job) for job in store.iter_by_status(FAILED, since=since)]
        stuck = [
            _entry(job, stuckForMinutes=int((now.timestamp() - job["timestamp"]) // 60))
            for status in ACTIVE_STATUSES
            for job in store.iter_by_status(status, until=stuck_before)
        ]
        unreconciled = []
        for job in store.iter_by_status(SUCCEEDED, since=since):
            problems = reconcile_job(job)
            if problems:
                unreconciled.append(_entry(job, problems=[scrub(p) for p in problems]))
    report = {
        "reportVersion": REPORT_VERSION,
        "generatedAt": iso(now),
        "windowStart": iso(since),
        "windowHours": settings.window.total_seconds() / 3600,
        "stuckAfterMinutes": settings.stuck_after.total_seconds() / 60,
        "counts": {"failed": len(failed), "stuck": len(stuck), "unreconciled": len(unreconciled)},
        "failed": failed,
        "stuck": stuck,
        "unreconciled": unreconciled,
    }
    report_key = keys.report_key(now)
    with (
        transient_aws_errors("write report"),
        MultipartWriter(bucket, report_key, client=s3, content_type="application/json") as sink,
    ):
        sink.write(json.dumps(report, indent=2, sort_keys=False).encode("utf-8"))
    if metrics is not None:
        add_count(metrics, METRIC_FAILED_JOBS, len(failed))
        add_count(metrics, METRIC_STUCK_JOBS, len(stuck))
        add_count(metrics, METRIC_UNRECONCILED_JOBS, len(unreconciled))
    return {
        "reportKey": report_key,
        "generatedAt": report["generatedAt"],
        "windowStart": report["windowStart"],
        "failedJobs": len(failed),
        "stuckJobs": len(stuck),
        "unreconciledJobs": len(unreconciled),
    }
