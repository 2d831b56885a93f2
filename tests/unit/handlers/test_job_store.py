"""The job store against moto DynamoDB: forward-only, conditional status changes."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from etl_handlers.aws import jobs
from etl_handlers.aws.jobs import (
    DUPLICATE,
    ENRICHING,
    FAILED,
    PENDING,
    STATUSES,
    SUCCEEDED,
    TRANSFORMING,
    VALIDATING,
    InvalidCursor,
    JobNotFound,
    JobStore,
    TransitionRefused,
)

from .handlers_testkit import TABLE

FILE = "raw/2026/tx.csv"
PATH = {  # how to walk a fresh job into each status
    PENDING: [],
    VALIDATING: [VALIDATING],
    TRANSFORMING: [VALIDATING, TRANSFORMING],
    ENRICHING: [VALIDATING, TRANSFORMING, ENRICHING],
    SUCCEEDED: [VALIDATING, TRANSFORMING, ENRICHING, SUCCEEDED],
    FAILED: [FAILED],
    DUPLICATE: [VALIDATING, DUPLICATE],
}
ALLOWED = {
    (PENDING, VALIDATING),
    (VALIDATING, VALIDATING),
    (VALIDATING, TRANSFORMING),
    (TRANSFORMING, TRANSFORMING),
    (TRANSFORMING, ENRICHING),
    (ENRICHING, ENRICHING),
    (ENRICHING, SUCCEEDED),
    (PENDING, FAILED),
    (VALIDATING, FAILED),
    (TRANSFORMING, FAILED),
    (ENRICHING, FAILED),
    (VALIDATING, DUPLICATE),
}


def new_job(store: JobStore, job_id: str = "a" * 32, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "job_id": job_id,
        "file_name": FILE,
        "bucket": "bucket",
        "version_id": "v1",
        "etag": "etag1",
        "size_bytes": 123,
    }
    params.update(overrides)
    record, created = store.create(**params)
    assert created
    return record


def walk(store: JobStore, job_id: str, status: str) -> None:
    for target in PATH[status]:
        if target == FAILED:
            store.fail(job_id, FILE, step=None, code="X", message="boom")
        else:
            store.transition(job_id, FILE, target)


def test_create_writes_a_pending_record_with_plain_numbers(store: JobStore) -> None:
    record = new_job(store)
    stored = store.require("a" * 32)
    assert stored == record
    assert stored["status"] == PENDING
    assert stored["sizeBytes"] == 123 and type(stored["sizeBytes"]) is int
    assert stored["timestamp"] == int(store.now().timestamp())
    assert stored["createdAt"] == "2026-11-20T12:00:00.000Z"
    assert stored["versionId"] == "v1" and stored["etag"] == "etag1"
    assert stored["steps"] == stored["rows"] == stored["totals"] == stored["outputs"] == {}


def test_create_twice_returns_the_existing_record_and_overwrites_nothing(
    store: JobStore,
) -> None:
    new_job(store)
    store.transition("a" * 32, FILE, VALIDATING)
    again, created = store.create(
        job_id="a" * 32,
        file_name=FILE,
        bucket="bucket",
        version_id="v1",
        etag="e",
        size_bytes=999,
    )
    assert created is False
    assert again["status"] == VALIDATING
    assert again["sizeBytes"] == 123


def test_unversioned_source_has_no_version_id(store: JobStore) -> None:
    record = new_job(store, version_id=None)
    assert "versionId" not in store.require(record["jobId"])


def test_unknown_job(store: JobStore) -> None:
    assert store.get("f" * 32) is None
    with pytest.raises(JobNotFound):
        store.require("f" * 32)
    with pytest.raises(JobNotFound):
        store.transition("f" * 32, FILE, VALIDATING)
    assert store.get("f" * 32) is None  # a refused write creates nothing


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move(store: JobStore, current: str, target: str) -> None:
    """Each (status, target) pair: allowed moves apply, all others are refused untouched."""
    job_id = "b" * 32
    new_job(store, job_id)
    walk(store, job_id, current)
    before = store.require(job_id)
    if target == PENDING:
        with pytest.raises(ValueError, match="create"):
            store.transition(job_id, FILE, target)
    elif (current, target) in ALLOWED:
        after = store.transition(job_id, FILE, target)
        assert after["status"] == target
        assert store.require(job_id)["status"] == target
    else:
        with pytest.raises(TransitionRefused) as refused:
            store.transition(job_id, FILE, target)
        assert refused.value.current == current
        assert refused.value.target == target
        assert store.require(job_id) == before


def test_status_never_moves_backwards(store: JobStore) -> None:
    job_id = "c" * 32
    new_job(store, job_id)
    walk(store, job_id, ENRICHING)
    for earlier in (VALIDATING, TRANSFORMING):
        with pytest.raises(TransitionRefused):
            store.transition(job_id, FILE, earlier)
    assert store.require(job_id)["status"] == ENRICHING


def test_steps_cannot_be_skipped(store: JobStore) -> None:
    job_id = "c" * 32
    new_job(store, job_id)
    for skipped in (TRANSFORMING, ENRICHING, SUCCEEDED):
        with pytest.raises(TransitionRefused):
            store.transition(job_id, FILE, skipped)


def test_unknown_status_or_step(store: JobStore) -> None:
    new_job(store)
    with pytest.raises(ValueError, match="unknown status"):
        store.transition("a" * 32, FILE, "DONE")
    with pytest.raises(ValueError, match="unknown step"):
        store.start_step("a" * 32, FILE, "load")


def test_failed_is_final_and_keeps_the_first_error(store: JobStore, clock: Any) -> None:
    job_id = "d" * 32
    new_job(store, job_id)
    store.transition(job_id, FILE, VALIDATING)
    failed = store.fail(job_id, FILE, step="validate", code="MISSING_COLUMN", message="no id")
    assert failed["status"] == FAILED
    assert failed["error"] == {"step": "validate", "code": "MISSING_COLUMN", "message": "no id"}
    assert failed["failedAt"] == "2026-11-20T12:00:00.000Z"
    with pytest.raises(TransitionRefused) as refused:
        store.fail(job_id, FILE, step="transform", code="OTHER", message="later")
    assert refused.value.current == FAILED
    assert store.require(job_id)["error"]["code"] == "MISSING_COLUMN"


def test_step_lifecycle_records_timings_rows_totals_outputs(store: JobStore, clock: Any) -> None:
    job_id = "e" * 32
    new_job(store, job_id)
    started = clock()
    record = store.start_step(job_id, FILE, "validate")
    assert record["status"] == VALIDATING
    assert record["steps"]["validate"] == {"startedAt": "2026-11-20T12:00:00.000Z"}
    clock.advance(seconds=1.5)
    totals = {"EUR": {"count": 2, "debit": "10.50", "credit": "0.00"}}
    record = store.finish_step(
        job_id,
        FILE,
        "validate",
        started_at=started,
        rows={"input": 3, "valid": 2, "rejected": 1},
        totals=totals,
        outputs={"validated": "validated/x.csv", "rejected": None},
        extra_columns=["note"],
    )
    assert record["status"] == VALIDATING
    assert record["steps"]["validate"] == {
        "startedAt": "2026-11-20T12:00:00.000Z",
        "finishedAt": "2026-11-20T12:00:01.500Z",
        "durationMs": 1500,
    }
    assert record["rows"] == {"input": 3, "valid": 2, "rejected": 1}
    assert record["totals"] == {"validate": totals}
    assert record["outputs"] == {"validated": "validated/x.csv"}
    assert record["extraColumns"] == ["note"]
    assert store.require(job_id) == record


def test_timestamp_follows_status_changes(store: JobStore, clock: Any) -> None:
    job_id = "e" * 32
    new_job(store, job_id)
    clock.advance(minutes=5)
    record = store.start_step(job_id, FILE, "validate")
    assert record["timestamp"] == int(clock().timestamp())
    assert record["updatedAt"] == "2026-11-20T12:05:00.000Z"
    assert record["createdAt"] == "2026-11-20T12:00:00.000Z"


def test_finish_with_succeed_moves_to_succeeded(store: JobStore) -> None:
    job_id = "e" * 32
    new_job(store, job_id)
    walk(store, job_id, ENRICHING)
    record = store.finish_step(
        job_id, FILE, "enrich", started_at=store.now(), rows={"enriched": 2}, succeed=True
    )
    assert record["status"] == SUCCEEDED
    assert record["rows"] == {"enriched": 2}


def test_finish_after_failed_records_nothing(store: JobStore) -> None:
    job_id = "e" * 32
    new_job(store, job_id)
    store.start_step(job_id, FILE, "validate")
    store.fail(job_id, FILE, step=None, code="States.Timeout", message="see execution")
    before = store.require(job_id)
    with pytest.raises(TransitionRefused) as refused:
        store.finish_step(
            job_id,
            FILE,
            "validate",
            started_at=store.now(),
            rows={"input": 1},
            outputs={"validated": "validated/x.csv"},
        )
    assert refused.value.current == FAILED
    with pytest.raises(TransitionRefused):
        store.finish_step(job_id, FILE, "enrich", started_at=store.now(), succeed=True)
    assert store.require(job_id) == before


def test_error_messages_never_keep_a_card_number(store: JobStore) -> None:
    job_id = "e" * 32
    new_job(store, job_id)
    record = store.fail(
        job_id,
        FILE,
        step="validate",
        code="X",
        message="bad row 4111111111111111 " + "x" * 2000,
    )
    message = record["error"]["message"]
    assert "4111111111111111" not in message
    assert len(message) <= jobs.MAX_ERROR_MESSAGE


def test_set_execution(store: JobStore) -> None:
    new_job(store)
    store.set_execution("a" * 32, FILE, "arn:aws:states:us-east-1:1:execution:sm:x")
    assert store.require("a" * 32)["executionArn"].endswith(":x")
    with pytest.raises(JobNotFound):
        store.set_execution("f" * 32, FILE, "arn")


def test_floats_are_refused_not_rounded(store: JobStore) -> None:
    new_job(store)
    store.start_step("a" * 32, FILE, "validate")
    with pytest.raises(TypeError, match="float"):
        store.finish_step(
            "a" * 32, FILE, "validate", started_at=store.now(), totals={"EUR": {"debit": 0.1}}
        )


def test_non_integral_numbers_come_back_as_exact_strings() -> None:
    assert jobs._plain({"a": Decimal("1.10"), "b": [Decimal(2)], "c": {Decimal(3)}}) == {
        "a": "1.10",
        "b": [2],
        "c": [3],
    }


def make_jobs(store: JobStore, clock: Any, count: int, status: str = FAILED) -> list[str]:
    ids = []
    for n in range(count):
        job_id = f"{n:032x}"
        new_job(store, job_id)
        clock.advance(minutes=1)
        walk(store, job_id, status)
        ids.append(job_id)
    return ids


def test_list_by_status_newest_first_within_the_window(store: JobStore, clock: Any) -> None:
    start = clock()
    ids = make_jobs(store, clock, 5)
    page = store.list_by_status(FAILED)
    assert [j["jobId"] for j in page.items] == ids[::-1]
    assert page.cursor is None or store.list_by_status(FAILED, cursor=page.cursor).items == []
    since = store.list_by_status(FAILED, since=start + timedelta(minutes=3))
    assert [j["jobId"] for j in since.items] == ids[:1:-1]
    until = store.list_by_status(FAILED, until=start + timedelta(minutes=2))
    assert [j["jobId"] for j in until.items] == ids[1::-1]
    both = store.list_by_status(
        FAILED,
        since=(start + timedelta(minutes=2)).replace(tzinfo=None),
        until=(start + timedelta(minutes=3)).timestamp(),
    )
    assert [j["jobId"] for j in both.items] == ids[2:0:-1]
    oldest_first = store.list_by_status(FAILED, newest_first=False)
    assert [j["jobId"] for j in oldest_first.items] == ids
    assert store.list_by_status(SUCCEEDED).items == []


def test_pagination_walks_every_job_exactly_once(store: JobStore, clock: Any) -> None:
    ids = make_jobs(store, clock, 7)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = store.list_by_status(FAILED, limit=3, cursor=cursor)
        assert len(page.items) <= 3
        seen += [j["jobId"] for j in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert [j["jobId"] for j in store.iter_by_status(FAILED)] == ids[::-1]


def test_limit_is_capped(store: JobStore, clock: Any) -> None:
    make_jobs(store, clock, 2)
    assert len(store.list_by_status(FAILED, limit=10_000).items) == 2
    assert len(store.list_by_status(FAILED, limit=0).items) == 1


@pytest.mark.parametrize("cursor", ["!!!", "e30", "bm90IGpzb24", "W10"])
def test_invalid_cursor(store: JobStore, clock: Any, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        store.list_by_status(FAILED, cursor=cursor)


def test_cursor_is_bound_to_its_status(store: JobStore, clock: Any) -> None:
    make_jobs(store, clock, 3)
    cursor = store.list_by_status(FAILED, limit=1).cursor
    assert cursor
    with pytest.raises(InvalidCursor):
        store.list_by_status(PENDING, cursor=cursor)
    with pytest.raises(ValueError, match="unknown status"):
        store.list_by_status("NOPE")


def test_table_name_from_environment(ddb: Any) -> None:
    assert JobStore().table_name == TABLE
    assert JobStore().index_name == "TimestampIndex"


def test_table_name_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_JOB_TABLE")
    with pytest.raises(ValueError, match="ETL_JOB_TABLE"):
        JobStore()


def test_storable_values() -> None:
    assert jobs._storable(True) is True
    assert jobs._storable(None) is None
    assert jobs._storable(Decimal("1.5")) == Decimal("1.5")
    assert jobs._storable({"a": [1, "x"]}) == {"a": [Decimal(1), "x"]}


def test_create_errors_other_than_exists_propagate(ddb: Any) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        JobStore("no-such-table", client=ddb).create(
            job_id="a" * 32, file_name=FILE, bucket="b", version_id=None, etag="e", size_bytes=1
        )


def test_iteration_follows_every_page(
    store: JobStore, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_jobs(store, clock, 5)
    monkeypatch.setattr(jobs, "MAX_PAGE_SIZE", 2)
    assert [j["jobId"] for j in store.iter_by_status(FAILED)] == ids[::-1]


def test_a_failed_job_reports_the_rows_read_and_no_valid_rows_or_totals(
    store: JobStore, clock: Any
) -> None:
    """Validation recorded 3 rows, 2 valid, with totals; then the job failed: nothing was
    published, so the record keeps the rows read and drops the valid counts and totals a
    reader would take for delivered figures."""
    job_id = "f" * 32
    new_job(store, job_id)
    started = store.start_step(job_id, FILE, "validate") and store.now()
    store.finish_step(
        job_id,
        FILE,
        "validate",
        started_at=started,
        rows={"input": 3, "valid": 2, "rejected": 1},
        totals={"EUR": {"count": 2, "debit": "10.50", "credit": "0.00"}},
        outputs={"validated": "validated/x.csv"},
    )
    failed = store.fail(job_id, FILE, step="transform", code="TransientError", message="x")
    assert failed["rows"] == {"read": 3}
    assert "totals" not in failed
    assert failed["outputs"] == {"validated": "validated/x.csv"}  # what exists stays named
    assert store.require(job_id) == failed
    assert jobs.as_reported(failed) == failed


def test_a_job_failed_before_validation_recorded_read_nothing(store: JobStore) -> None:
    job_id = "f" * 32
    new_job(store, job_id)
    failed = store.fail(job_id, FILE, step="validate", code="Sandbox.Timedout", message="x")
    assert failed["rows"] == {"read": 0} and "totals" not in failed


def test_records_are_reported_with_the_failed_figures_also_when_written_before() -> None:
    earlier = {
        "status": FAILED,
        "rows": {"input": 5, "valid": 4, "rejected": 1},
        "totals": {"validate": {}},
    }
    assert jobs.as_reported(earlier) == {"status": FAILED, "rows": {"read": 5}}
    assert jobs.as_reported({"status": FAILED}) == {"status": FAILED, "rows": {"read": 0}}
    succeeded = {"status": SUCCEEDED, "rows": {"input": 5, "valid": 5}, "totals": {"enrich": {}}}
    assert jobs.as_reported(succeeded) == succeeded


def test_a_job_posted_nothing_only_when_it_failed_without_a_successful_attempt() -> None:
    """The rule the seen-ids and duplicate-file checks share: a FAILED reprocess leaves its
    earlier SUCCEEDED attempt's outputs published, so its claims still count."""
    from etl_handlers.aws.jobs import posted_nothing

    assert posted_nothing(None)  # the record is gone
    assert posted_nothing({"status": "FAILED"})
    assert posted_nothing({"status": "FAILED", "attempts": [{"attempt": 1, "status": "FAILED"}]})
    assert not posted_nothing(
        {"status": "FAILED", "attempts": [{"attempt": 1, "status": "SUCCEEDED"}]}
    )
    for status in ("PENDING", "VALIDATING", "SUCCEEDED", "DUPLICATE"):
        assert not posted_nothing({"status": status})
