"""Find the jobs that need a human, publish their counts, write a report.

Through the ``TimestampIndex`` GSI (status + time of the last status change):

* failed: FAILED within the window (default the last 24 hours);
* stuck: PENDING / VALIDATING / TRANSFORMING / ENRICHING whose last status change is older
  than ``stuck_after`` (default 60 minutes), however long ago: a job stuck for a week is
  still stuck;
* unreconciled: SUCCEEDED within the window whose recorded rows and totals do not add up.

The report (``reports/YYYY-MM-DD.json``, the UTC date of the run) lists each job with what
a person needs to follow up, and the window's figures (:mod:`.figures`); the same report as
a page people read (``reports/YYYY-MM-DD.html``, :mod:`.page`) goes beside it. A rerun on the
same day overwrites both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from etl_handlers.quality_check import figures
from etl_handlers.quality_check.page import CONTENT_TYPE as PAGE_CONTENT_TYPE
from etl_handlers.quality_check.page import render_page

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


def _entry(job: Mapping[str, Any], now: datetime, **extra: Any) -> dict[str, Any]:
    file_name = job.get("fileName")
    entry = {
        "jobId": job.get("jobId"),
        # the uploader chose the name: it may hold a card number
        "fileName": None if file_name is None else scrub(str(file_name)),
        "status": job.get("status"),
        "createdAt": job.get("createdAt"),
        "updatedAt": job.get("updatedAt"),
        "executionArn": job.get("executionArn"),
        "ageMinutes": figures.age_minutes(job, now),
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
    """Run the check at ``store.now()``, write the report and its page, publish the metrics.

    Returns ``{"reportKey", "pageKey", "windowStart", "generatedAt", "failedJobs",
    "stuckJobs", "unreconciledJobs"}`` (the counts).
    """
    now = store.now()
    since = now - settings.window
    stuck_before = now - settings.stuck_after
    with transient_aws_errors("quality check query"):
        in_window = {
            status: list(store.iter_by_status(status, since=since)) for status in env.STATUSES
        }
        failed = [_entry(job, now) for job in in_window[FAILED]]
        stuck = [
            _entry(job, now, stuckForMinutes=figures.age_minutes(job, now))
            for status in ACTIVE_STATUSES
            for job in store.iter_by_status(status, until=stuck_before)
        ]
        unreconciled = []
        for job in in_window[SUCCEEDED]:
            problems = reconcile_job(job)
            if problems:
                unreconciled.append(_entry(job, now, problems=[scrub(p) for p in problems]))
    with transient_aws_errors("quality check: read rejects"):
        rejects_by_code, rejects_unread = figures.reject_codes(
            in_window[SUCCEEDED], s3=s3, bucket=bucket
        )
    report = {
        "reportVersion": REPORT_VERSION,
        "generatedAt": iso(now),
        "windowStart": iso(since),
        "windowHours": settings.window.total_seconds() / 3600,
        "stuckAfterMinutes": settings.stuck_after.total_seconds() / 60,
        "counts": {"failed": len(failed), "stuck": len(stuck), "unreconciled": len(unreconciled)},
        "jobsByStatus": figures.status_counts(j for jobs in in_window.values() for j in jobs),
        "days": figures.daily_rows(in_window[SUCCEEDED], start=since, end=now),
        "rejectsByCode": rejects_by_code,
        "rejectsUnread": rejects_unread,
        "currencies": figures.currency_volumes(in_window[SUCCEEDED]),
        "failed": failed,
        "stuck": stuck,
        "unreconciled": unreconciled,
    }
    report_key, page_key = keys.report_key(now), keys.report_page_key(now)
    # the page is made from the JSON as written, so both hold the same figures
    document = json.dumps(report, indent=2, sort_keys=False)
    for key, body, content_type in (
        (report_key, document, "application/json"),
        (page_key, render_page(json.loads(document)), PAGE_CONTENT_TYPE),
    ):
        with (
            transient_aws_errors("write report"),
            MultipartWriter(bucket, key, client=s3, content_type=content_type) as sink,
        ):
            sink.write(body.encode("utf-8"))
    if metrics is not None:
        add_count(metrics, METRIC_FAILED_JOBS, len(failed))
        add_count(metrics, METRIC_STUCK_JOBS, len(stuck))
        add_count(metrics, METRIC_UNRECONCILED_JOBS, len(unreconciled))
    return {
        "reportKey": report_key,
        "pageKey": page_key,
        "generatedAt": report["generatedAt"],
        "windowStart": report["windowStart"],
        "failedJobs": len(failed),
        "stuckJobs": len(stuck),
        "unreconciledJobs": len(unreconciled),
    }
