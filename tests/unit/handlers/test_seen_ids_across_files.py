"""Duplicates across files (issue 19): an id accepted by one job is rejected in another
job's file with DUPLICATE_ACROSS_FILES, exactly once under retries and races."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from typing import Any

import boto3
import pytest
from etl_handlers.app.seen_ids import recode_seen_ids, staged_keys, unique_id_column
from etl_handlers.aws.jobs import SUCCEEDED, JobStore
from etl_handlers.aws.seen_ids import Claim, SeenIdStore, id_digest, seen_id_store_from_env
from etl_handlers.core.errors import ConfigurationError
from etl_handlers.core.schema import load_schema
from etl_handlers.enricher import handler as enricher
from etl_handlers.transformer import handler as transformer
from etl_handlers.validator import handler as validator
from etl_handlers.validator.logic import validate

from .handlers_testkit import (
    BUCKET,
    REGION,
    Clock,
    FakeContext,
    all_keys,
    csv_bytes,
    put_source,
    read,
    row,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

SEEN = "etl-seen-ids-test"


@pytest.fixture
def seen_table(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The seen-ids table as the workflow creates it, and the validator's setting."""
    ddb.create_table(
        TableName=SEEN,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "idHash", "AttributeType": "B"}],
        KeySchema=[{"AttributeName": "idHash", "KeyType": "HASH"}],
    )
    monkeypatch.setenv("ETL_SEEN_IDS_TABLE", SEEN)
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "1")
    return SEEN


def seen_store(store: JobStore, clock: Clock, **kw: Any) -> SeenIdStore:
    client = kw.pop("client", None) or boto3.client("dynamodb", region_name=REGION)
    return SeenIdStore(SEEN, jobs=store, client=client, clock=clock, **kw)


def run_job(state: dict[str, Any]) -> dict[str, Any]:
    """The three tasks through their handlers, as the state machine runs them."""
    state["validation"] = validator.lambda_handler(dict(state), FakeContext())
    state["transform"] = transformer.lambda_handler(dict(state), FakeContext())
    state["enrich"] = enricher.lambda_handler(dict(state), FakeContext())
    return state


def rejects(s3: Any, key: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(s3, key).splitlines()] if key else []


def test_an_id_accepted_in_an_earlier_file_is_rejected_naming_that_job(
    s3: Any, store: JobStore, seen_table: str
) -> None:
    first = run_job(put_source(s3, store, "raw/a.csv", csv_bytes(row(1), row(2), row(3))))
    assert store.require(first["jobId"])["status"] == SUCCEEDED

    # The second file repeats t-2 and t-3, between a row of its own and a row bad in itself.
    second = put_source(
        s3,
        store,
        "raw/b.csv",
        csv_bytes(row(2, amount="7.00"), row(4), row(5, amount="x"), row(3, kind="CREDIT")),
    )
    run_job(second)

    job = store.require(second["jobId"])
    assert job["status"] == SUCCEEDED  # reconciled: input = valid + rejected, totals carried
    assert job["rows"]["input"] == 4
    assert (job["rows"]["valid"], job["rows"]["rejected"]) == (1, 3)
    assert job["totals"]["validate"] == {"EUR": {"count": 1, "debit": "10.00", "credit": "0.00"}}
    lines = rejects(s3, second["validation"]["outputs"]["rejected"])
    assert [(line["row"], line["code"]) for line in lines] == [
        (1, "DUPLICATE_ACROSS_FILES"),
        (3, "INVALID_AMOUNT"),
        (4, "DUPLICATE_ACROSS_FILES"),
    ]
    assert first["jobId"] in lines[0]["message"]
    assert lines[0]["column"] == "transaction_id"
    assert lines[0]["fields"]["card_number"] == "************1111"
    assert lines[0]["fields"]["amount"] == "7.00"
    enriched = read(s3, second["enrich"]["outputs"]["enriched"]).decode()
    assert '"t-4"' in enriched and '"t-2"' not in enriched
    # Nothing of the staging is left, and the first job's outputs are untouched.
    assert not [key for key in all_keys(s3) if "/seen-ids/" in key]
    assert store.require(first["jobId"])["rows"]["valid"] == 3


def test_two_jobs_racing_for_the_same_ids_accept_each_exactly_once(
    s3: Any, store: JobStore, seen_table: str
) -> None:
    shared = [row(n) for n in range(1, 301)]
    states = [
        put_source(s3, store, "raw/left.csv", csv_bytes(*shared, row(1001))),
        put_source(s3, store, "raw/right.csv", csv_bytes(row(2001), *reversed(shared))),
    ]
    results: dict[int, dict[str, Any]] = {}
    start = threading.Barrier(2)

    def run(index: int) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        start.wait()
        results[index] = validate(
            states[index],
            store=store,
            s3=s3,
            schema=load_schema(),
            max_reject_rate=1,  # type: ignore[arg-type]
            seen_ids=SeenIdStore(SEEN, jobs=store, client=Serialized(client), workers=8),
        )

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = []
    for index in (0, 1):
        assert results[index]["outcome"] == "VALID"
        lines = rejects(s3, results[index]["outputs"]["rejected"])
        refused = {line["fields"]["transaction_id"] for line in lines}
        assert {line["code"] for line in lines} <= {"DUPLICATE_ACROSS_FILES"}
        valid = read(s3, results[index]["outputs"]["validated"]).decode().splitlines()[1:]
        ids = {line.split(",")[0] for line in valid}
        assert not ids & refused
        accepted.append(ids)
        assert results[index]["rows"]["valid"] + len(refused) == 301
    assert not accepted[0] & accepted[1]  # never both
    assert accepted[0] | accepted[1] == {f"t-{n}" for n in range(1, 301)} | {"t-1001", "t-2001"}
    # The table agrees: each id is held by the job that accepted it.
    owners = {states[i]["jobId"]: accepted[i] for i in (0, 1)}
    for job_id, ids in owners.items():
        for value in list(ids)[:20]:
            item = store.client.get_item(
                TableName=SEEN, Key={"idHash": {"B": id_digest(value, salt=SEEN)}}
            )["Item"]
            assert item["jobId"]["S"] == job_id


class Serialized:
    """A DynamoDB client whose requests take effect one at a time, as DynamoDB applies the
    writes to one item (moto itself does not lock between threads)."""

    lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)

        def serialized(**kwargs: Any) -> Any:
            with Serialized.lock:
                return call(**kwargs)

        return serialized


def test_claim_pass_race_between_two_stores(store: JobStore, seen_table: str, clock: Clock) -> None:
    """The claim passes alone, many ids, many writers each: a partition of the ids."""
    for job_id in ("a" * 32, "b" * 32):
        store.create(
            job_id=job_id, file_name=job_id, bucket=BUCKET, version_id="v", etag="e", size_bytes=1
        )
    ids = [f"id-{n}" for n in range(2000)]
    refused: dict[str, dict[int, Claim]] = {}
    start = threading.Barrier(2)

    def run(job_id: str, order: list[str]) -> None:
        client = Serialized(boto3.client("dynamodb", region_name=REGION))
        seen = seen_store(store, clock, client=client, workers=16)
        start.wait()
        refused[job_id] = seen.claim(job_id, order)

    left, right = ids, list(reversed(ids))
    threads = [
        threading.Thread(target=run, args=("a" * 32, left)),
        threading.Thread(target=run, args=("b" * 32, right)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lost_by_a = {left[p] for p in refused["a" * 32]}
    lost_by_b = {right[p] for p in refused["b" * 32]}
    assert not lost_by_a & lost_by_b
    assert lost_by_a | lost_by_b == set(ids)
    assert all(c.job_id == "b" * 32 for c in refused["a" * 32].values())


def test_a_retry_or_reprocess_of_the_same_job_keeps_its_own_ids(
    store: JobStore, seen_table: str, clock: Clock
) -> None:
    seen = seen_store(store, clock)
    store.create(
        job_id="a" * 32, file_name="a", bucket=BUCKET, version_id="v", etag="e", size_bytes=1
    )
    assert seen.claim("a" * 32, ["x", "y"]) == {}
    clock.advance(hours=1)
    assert seen.claim("a" * 32, ["y", "x", "z"]) == {}
    held = seen.claim("b" * 32, ["z", "new"])
    assert list(held) == [0] and held[0].job_id == "a" * 32


def test_the_claims_of_a_failed_job_are_released(
    store: JobStore, seen_table: str, clock: Clock
) -> None:
    seen = seen_store(store, clock)
    store.create(
        job_id="a" * 32, file_name="a", bucket=BUCKET, version_id="v", etag="e", size_bytes=1
    )
    store.create(
        job_id="b" * 32, file_name="b", bucket=BUCKET, version_id="v", etag="e", size_bytes=1
    )
    assert seen.claim("a" * 32, ["x"]) == {}
    assert seen.claim("b" * 32, ["x"])[0].job_id == "a" * 32  # a is still running
    store.fail("a" * 32, "a", step="transform", code="X", message="fault")
    assert seen.claim("b" * 32, ["x"]) == {}  # taken over from the failed job
    # The failed job, reprocessed, now meets b's claim.
    assert seen.claim("a" * 32, ["x"])[0].job_id == "b" * 32
    # A job record that is gone holds nothing either.
    assert seen.claim("c" * 32, ["only-gone"]) == {}
    store.client.delete_item(
        TableName=store.table_name, Key={"jobId": {"S": "c" * 32}, "fileName": {"S": "c"}}
    )
    assert seen.claim("d" * 32, ["only-gone"]) == {}


def test_a_claim_counts_for_the_window_only(store: JobStore, seen_table: str, clock: Clock) -> None:
    seen = seen_store(store, clock, window_days=90)
    store.create(
        job_id="a" * 32, file_name="a", bucket=BUCKET, version_id="v", etag="e", size_bytes=1
    )
    assert seen.claim("a" * 32, ["x"]) == {}
    clock.advance(days=89)
    assert seen.claim("b" * 32, ["x"])[0].claimed_at == clock.moment - timedelta(days=89)
    clock.advance(days=1)
    assert seen.claim("b" * 32, ["x"]) == {}


def test_the_table_holds_digests_never_the_ids(
    store: JobStore, seen_table: str, clock: Clock
) -> None:
    pan_like = "4111111111111111"
    seen_store(store, clock).claim("a" * 32, [pan_like, "t-1"])
    items = store.client.scan(TableName=SEEN)["Items"]
    assert len(items) == 2
    for item in items:
        assert len(item["idHash"]["B"]) == 16
        assert pan_like.encode() not in json.dumps(item, default=repr).encode()
        assert set(item) == {"idHash", "jobId", "claimedAt", "expiresAt", "token"}
    # Keyed by the table name: the same id in another pipeline's table has another digest.
    assert id_digest("t-1", salt=SEEN) != id_digest("t-1", salt="etl-seen-ids-other")


def test_an_invalid_file_claims_nothing_and_keeps_its_rejects(
    s3: Any, store: JobStore, seen_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_MAX_REJECT_RATE", "0.1")
    state = put_source(s3, store, "raw/bad.csv", csv_bytes(row(1), row(2, amount="x")))
    result = validator.lambda_handler(dict(state), FakeContext())
    assert result["error"]["code"] == "REJECT_RATE_EXCEEDED"
    assert result["outputs"]["validated"] is None
    assert [line["code"] for line in rejects(s3, result["outputs"]["rejected"])] == [
        "INVALID_AMOUNT"
    ]
    assert store.client.scan(TableName=SEEN)["Items"] == []
    assert not [key for key in all_keys(s3) if "/seen-ids/" in key]


def test_off_by_default(s3: Any, store: JobStore, ddb: Any) -> None:
    assert seen_id_store_from_env(store) is None
    state = put_source(s3, store, "raw/a.csv", csv_bytes(row(1)))
    validator.lambda_handler(dict(state), FakeContext())
    assert not [key for key in all_keys(s3) if "/seen-ids/" in key]


@pytest.mark.parametrize(
    ("name", "value"), [("ETL_SEEN_IDS_WINDOW_DAYS", "0"), ("ETL_SEEN_IDS_WORKERS", "many")]
)
def test_a_bad_setting_is_a_configuration_error(
    store: JobStore, seen_table: str, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        seen_id_store_from_env(store)


def test_the_check_needs_exactly_one_unique_column() -> None:
    document = json.loads(json.dumps(_schema_document()))
    for column in document["columns"]:
        column.pop("unique", None)
    with pytest.raises(ConfigurationError, match="exactly one unique column"):
        unique_id_column(load_schema(json.dumps(document)))
    assert unique_id_column(load_schema()) == "transaction_id"


def _schema_document() -> dict[str, Any]:
    from importlib import resources

    return json.loads(
        resources.files("etl_handlers.core").joinpath("default_schema.json").read_text()
    )


def test_the_pass_keeps_rows_byte_for_byte_and_merges_rejects_in_row_order() -> None:
    schema = load_schema()
    header = ",".join(schema.column_names)
    kept_rows = [
        '\'-a,ACC1,2026-11-19T10:00:00Z,1.50,eur,debit,"Shop, ""big""",food,,DE',
        "t-3,ACC3,2026-11-19T10:00:00Z,2.00,USD,CREDIT,'=x,food,************1111,DE",
        "t-4,ACC4,2026-11-19T10:00:00Z,3,JPY,DEBIT,,,,",
    ]
    # rows 1 ("-a"), 3 and 5 (t-3, t-4) valid after rows 2 and 4 were rejected; t-9 row 6
    valid_in = (
        header + "\r\n" + "\r\n".join([*kept_rows, kept_rows[1].replace("t-3", "t-9")]) + "\r\n"
    ).encode()
    rejects_in = b'{"row": 2, "code": "REQUIRED"}\n{"row": 4, "code": "REQUIRED"}\n'
    out, rejected = io.BytesIO(), io.BytesIO()
    asked: list[list[str]] = []

    def claim(ids: list[str]) -> dict[int, Claim]:
        asked.append(ids)
        from datetime import UTC, datetime

        return {
            i: Claim("j" * 32, datetime(2026, 1, 2, tzinfo=UTC))
            for i, v in enumerate(ids)
            if v == "t-3"
        }

    found = recode_seen_ids(
        valid_in=io.BytesIO(valid_in),
        rejects_in=io.BytesIO(rejects_in),
        valid_out=out,
        rejects_out=rejected,
        schema=schema,
        claim=claim,
        batch_rows=2,
    )
    assert asked == [["-a", "t-3"], ["t-4", "t-9"]]  # the formula quote is not part of the id
    assert (
        out.getvalue()
        == (
            header
            + "\r\n"
            + "\r\n".join([kept_rows[0], kept_rows[2], kept_rows[1].replace("t-3", "t-9")])
            + "\r\n"
        ).encode()
    )
    lines = [json.loads(line) for line in rejected.getvalue().splitlines()]
    assert [(line["row"], line["code"]) for line in lines] == [
        (2, "REQUIRED"),
        (3, "DUPLICATE_ACROSS_FILES"),
        (4, "REQUIRED"),
    ]
    assert lines[1]["message"] == f"transaction_id already accepted by job {'j' * 32} on 2026-01-02"
    assert lines[1]["fields"]["merchant"] == "=x"
    assert (found.rows_valid, found.rows_recoded) == (3, 1)
    assert found.totals.to_json() == {
        "EUR": {"count": 1, "debit": "1.50", "credit": "0.00"},
        "JPY": {"count": 1, "debit": "3", "credit": "0"},
        "USD": {"count": 1, "debit": "0.00", "credit": "2.00"},
    }


def test_staging_keys_sit_under_the_job_s_validated_folder() -> None:
    assert staged_keys("j" * 32, "raw/x/a.csv") == (
        f"validated/{'j' * 32}/seen-ids/a.csv",
        f"validated/{'j' * 32}/seen-ids/a.rejected.jsonl",
    )


def test_a_failed_job_reprocessed_while_another_takes_its_claim_over_keeps_one_owner(
    store: JobStore, seen_table: str, clock: Clock
) -> None:
    """B reads the claim of A (FAILED) and is about to take it over; A's reprocess re-claims
    first. B's takeover must not overwrite A's fresh claim: exactly one of them holds the id."""
    a, b = "a" * 32, "b" * 32
    store.create(job_id=a, file_name="a", bucket=BUCKET, version_id="v", etag="e", size_bytes=1)
    seen_a = seen_store(store, clock)
    assert seen_a.claim(a, ["x"]) == {}
    store.fail(a, "a", step="transform", code="X", message="fault")
    client = boto3.client("dynamodb", region_name=REGION)

    class ReprocessFirst:
        """B's client: just before B's takeover write, A is reprocessed and re-claims."""

        fired = False

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def put_item(self, **kwargs: Any) -> Any:
            if "#token" in kwargs["ConditionExpression"] and not ReprocessFirst.fired:
                ReprocessFirst.fired = True
                client.update_item(  # the reprocess moves A out of FAILED (issue 19)
                    TableName=store.table_name,
                    Key={"jobId": {"S": a}, "fileName": {"S": "a"}},
                    UpdateExpression="SET #s = :v",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":v": {"S": "VALIDATING"}},
                )
                assert seen_store(store, clock).claim(a, ["x"]) == {}
            return client.put_item(**kwargs)

    held = seen_store(store, clock, client=ReprocessFirst()).claim(b, ["x"])
    assert ReprocessFirst.fired
    assert held[0].job_id == a  # B lost: A holds the id again
    item = client.get_item(TableName=SEEN, Key={"idHash": {"B": id_digest("x", salt=SEEN)}})
    assert item["Item"]["jobId"]["S"] == a


# -- the big-file path: claims per part, decided by the reduce -------------------------------


def test_a_part_claims_only_its_accepted_ids_and_marks_those_other_jobs_hold() -> None:
    from datetime import UTC, datetime

    from etl_handlers.app.seen_ids import claim_part_ids

    index = b"".join(
        json.dumps(entry).encode() + b"\n"
        for entry in (
            ["", 7, 6, "EUR", True, 100],  # an empty id: no claim
            ["t-1", 3, 2, "EUR", True, 1000],
            ["t-2", 4, -1, "", False, 0],  # rejected by the part for a later column
            ["t-3", 5, 4, "USD", False, 250],
            ["t-4", 6, 5, "EUR", False, 1],
        )
    )
    asked: list[list[str]] = []
    monday = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)

    def claim(ids: list[str]) -> dict[int, Claim]:
        asked.append(list(ids))
        return {
            i: Claim(job_id="job-monday", claimed_at=monday)
            for i, v in enumerate(ids)
            if v == "t-3"
        }

    lines = claim_part_ids(index, claim=claim, batch_rows=2)
    assert asked == [["t-1", "t-3"], ["t-4"]]  # in batches, accepted non-empty ids only
    entries = [json.loads(line) for line in lines.splitlines()]
    assert entries[3] == ["t-3", 5, 4, "USD", False, 250, ["job-monday", monday.isoformat()]]
    assert all(len(entry) == 6 for i, entry in enumerate(entries) if i != 3)


def test_the_reduce_rejects_the_first_row_of_a_held_id_and_checks_the_manifest_as_sent() -> None:
    from etl_handlers.app import large

    held = ["job-monday", "2026-12-01T08:30:00+00:00"]
    part_a = [["t-1", 1, 0, "EUR", True, 1000, held], ["t-2", 2, 1, "EUR", False, 500]]
    part_b = [["t-1", 3, 0, "EUR", True, 1000], ["t-5", 4, 1, "EUR", True, 200]]
    summaries = [
        {"part": "part-a", "rows": {"input": 2, "valid": 2, "rejected": 0}},
        {"part": "part-b", "rows": {"input": 2, "valid": 2, "rejected": 0}},
    ]
    reduced = large.reduce_validation(
        summaries,
        [iter([(e, "part-a") for e in part_a]), iter([(e, "part-b") for e in part_b])],
        unique="transaction_id",
    )
    assert reduced.duplicates == {"part-a": [[0, 1, *held]], "part-b": [[0, 3]]}
    assert (reduced.rows_valid, reduced.rows_rejected, reduced.rows_across_files) == (2, 2, 1)
    assert reduced.totals.to_json() == {"EUR": {"count": 2, "debit": "2.00", "credit": "5.00"}}
    # the sender declared the file as sent: row 1 counted, its repeat (row 3) not
    assert reduced.totals_as_sent.to_json() == {
        "EUR": {"count": 3, "debit": "12.00", "credit": "5.00"}
    }
