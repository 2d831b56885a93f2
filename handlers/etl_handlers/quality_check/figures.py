"""The quality report's figures over the window, computed here and nowhere else.

The JSON report carries them and the HTML page (:mod:`.page`) only shows what the JSON
holds, so the two can never disagree:

* ``jobsByStatus``: jobs whose last status change falls in the window, by their status now
  (every status, zeros included); a job stuck since before the window is in ``stuck`` only;
* ``days``: per UTC day of the window, the jobs that SUCCEEDED that day and their rows
  (``rowsInput``, ``rowsValid``, ``rowsRejected`` from the job records);
* ``rejectsByCode``: the rejected rows of those jobs by reject code, read from their
  ``rejected/`` outputs (one line per row); ``rejectsUnread``: jobs whose reject lines could
  not be read, so their rows are missing from ``rejectsByCode``;
* ``currencies``: the delivered (enrich) control totals of those jobs added up per currency,
  exact decimal strings as on the job records.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from etl_handlers import contract
from etl_handlers.aws import s3io
from etl_handlers.core.totals import Totals

__all__ = ["age_minutes", "currency_volumes", "daily_rows", "reject_codes", "status_counts"]

DELIVERED_TOTALS = contract.STEPS[-1]
"""The step whose totals a SUCCEEDED job delivered (enrich)."""
_REJECT_LINE = re.compile(rb'\{"row": \d+, "code": "([A-Z0-9_]+)"[,}]')
_ROW_FIGURES = (("rowsInput", "input"), ("rowsValid", "valid"), ("rowsRejected", "rejected"))


def age_minutes(job: Mapping[str, Any], now: datetime) -> int:
    """Whole minutes since the job's last status change (its ``timestamp``)."""
    return int((now.timestamp() - float(job["timestamp"])) // 60)


def status_counts(jobs: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Jobs per status, every status of the contract present (in its order), zeros included."""
    counts = dict.fromkeys(contract.STATUSES, 0)
    for job in jobs:
        counts[str(job["status"])] = counts.get(str(job["status"]), 0) + 1
    return counts


def _day(job: Mapping[str, Any]) -> date:
    return datetime.fromtimestamp(float(job["timestamp"]), UTC).date()


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def daily_rows(
    succeeded: Iterable[Mapping[str, Any]], *, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One entry per UTC day from ``start`` to ``end`` (both included), oldest first:
    ``{"date", "jobs", "rowsInput", "rowsValid", "rowsRejected"}`` of the SUCCEEDED jobs
    that succeeded that day. Days without any are there with zeros."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    days: dict[date, dict[str, Any]] = {}
    day = first
    while day <= last:
        days[day] = {"date": day.isoformat(), "jobs": 0} | {name: 0 for name, _ in _ROW_FIGURES}
        day += timedelta(days=1)
    for job in succeeded:
        entry = days.get(_day(job))
        if entry is None:  # changed after `end` (a clock step between queries): not this report's
            continue
        rows = job.get("rows") or {}
        entry["jobs"] += 1
        for name, recorded in _ROW_FIGURES:
            entry[name] += _count(rows.get(recorded))
    return list(days.values())


def currency_volumes(succeeded: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The delivered totals of ``succeeded`` added up: ``{currency: {"count", "debit",
    "credit"}}``, sorted by currency. A job whose totals cannot be read adds nothing (the
    report lists it as unreconciled)."""
    volumes = Totals()
    for job in succeeded:
        recorded = (job.get("totals") or {}).get(DELIVERED_TOTALS)
        try:
            totals = Totals.from_json(recorded)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        for currency in totals.currencies():
            count, debit, credit = totals.figures(currency)
            volumes.add_many(currency, True, count, debit)
            volumes.add_many(currency, False, 0, credit)
    return volumes.to_json()


def reject_codes(
    succeeded: Iterable[Mapping[str, Any]], *, s3: Any, bucket: str
) -> tuple[dict[str, int], list[str]]:
    """Rejected rows of ``succeeded`` by code, sorted by code, and the ids of the jobs whose
    reject lines could not be read (object gone, not JSON Lines): those add nothing.

    A job's ``outputs.rejected`` names one object, or for a big file the prefix of its parts'
    reject files. Jobs that recorded no rejected rows are not read.
    """
    codes: Counter[str] = Counter()
    unread: list[str] = []
    for job in succeeded:
        rejected = _count((job.get("rows") or {}).get("rejected"))
        location = (job.get("outputs") or {}).get("rejected")
        if not rejected:
            continue
        try:
            if not isinstance(location, str) or not location:
                raise ValueError("no rejected output recorded")
            found = _codes_in(s3, bucket, location)
        except (s3io.ObjectNotFound, ValueError, UnicodeDecodeError, KeyError, TypeError):
            unread.append(str(job["jobId"]))
            continue
        codes.update(found)
    return dict(sorted(codes.items())), unread


def _codes_in(s3: Any, bucket: str, location: str) -> Counter[str]:
    keys = [location]
    if location.endswith("/"):
        keys = sorted(
            key for key in s3io.list_keys(bucket, location, client=s3) if key.endswith(".jsonl")
        )
    found: Counter[str] = Counter()
    for key in keys:
        with s3io.open_object(bucket, key, client=s3) as body:
            for line in body:
                if not line.strip():
                    continue
                # the reject writers' own layout, read without parsing the line (5x faster);
                # any other line is parsed as the JSON it must be
                known = _REJECT_LINE.match(line)
                found[known[1].decode() if known else str(json.loads(line)["code"])] += 1
    return found
